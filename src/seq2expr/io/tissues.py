"""The tissue columns of an expression table, from its header alone, with the standard library only.

The pipeline asks whether every `--tissues` name is a column of the table before any task starts,
on its head node, whose python3 need not have the package's dependencies (numpy, pandas, click):
so this module, and what it imports, stay within the standard library, and its entry point
`python3 -m seq2expr.io.tissues --tissues 'A,B' TABLE` uses argparse. The expression reader
(`seq2expr.io.expression`) matches tissue names by the same rule, from here.
"""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import closing
from itertools import islice
from pathlib import Path

from seq2expr.errors import InputError
from seq2expr.io.files import iter_lines

#: Exit status for a table or tissue that is wrong (sysexits' EX_DATAERR): told apart from a crash (1)
#: or a usage error (2), which mean the check could not be made.
EXIT_BAD_INPUT = 65


def normalise(name: str) -> str:
    """A tissue name without case and punctuation: `Brain - Cortex` = `Brain...Cortex` = `brain_cortex`."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def match_tissue(tissues: list[str], tissue: str, path: Path | None = None) -> str:
    """The column for `tissue`: its exact name, else the one that matches ignoring case and punctuation.
    Unknown or ambiguous: an error listing the table's tissues."""
    if tissue in tissues:
        return tissue
    matches = [column for column in tissues if normalise(column) == normalise(tissue)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(f"tissue {tissue!r} matches several columns ({', '.join(matches)}); give one exactly", path)
    raise InputError(f"unknown tissue {tissue!r}; available: {', '.join(tissues)}", path)


def table_tissues(path: Path) -> list[str]:
    """The tissue columns a GCT (`#1.2`, dimensions, `Name Description <tissues>`) or TSV header names."""
    with closing(iter_lines(path)) as lines:
        rows = [line.split("\t") for _, line in islice(lines, 3)]
    if not rows or not "".join(rows[0]).strip():
        raise InputError("empty file; expected a GTEx GCT or a gene × tissue TSV table", path)
    if rows[0][0].startswith("#1."):
        if len(rows) < 3:
            raise InputError("a GCT needs a version line, a dimensions line and a header line", path)
        header, id_columns, line = rows[2], 2, 3
    else:
        header, id_columns, line = rows[0], 1, 1
    if not header[id_columns:]:
        raise InputError("the header names no tissue column", path, line)
    return header[id_columns:]


def main(argv: list[str] | None = None) -> int:
    """Print `<tissue>\\t<column>` per tissue and exit 0, or one line on stderr and exit EXIT_BAD_INPUT."""
    parser = argparse.ArgumentParser(
        prog="python3 -m seq2expr.io.tissues", description="Check tissue names against an expression table's header."
    )
    parser.add_argument("--tissues", required=True, help="comma-separated tissue names (as the pipeline's --tissues)")
    parser.add_argument("table", type=Path, help="GTEx GCT or gene × tissue TSV (plain, gzip, bzip2 or xz)")
    args = parser.parse_args(argv)
    tissues = [tissue.strip() for tissue in args.tissues.split(",") if tissue.strip()]
    try:
        columns = table_tissues(args.table)
        unknown = [tissue for tissue in tissues if not any(normalise(c) == normalise(tissue) for c in columns)]
        if unknown:
            print(
                f"Unknown tissue(s) {', '.join(unknown)} in --tissues: {args.table.name} has {', '.join(columns)}.",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        matched = {tissue: match_tissue(columns, tissue, args.table) for tissue in tissues}
    except InputError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    for tissue, column in matched.items():
        print(f"{tissue}\t{column}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
