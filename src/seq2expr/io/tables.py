"""Reading and writing the pipeline's text tables reproducibly.

Outputs must be byte-identical across re-runs, so gzip headers carry no time stamp or file name
and floats are written with a fixed format.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.io.files import iter_lines, open_binary

FLOAT_FORMAT = "%.9g"


def table_bytes(table: pd.DataFrame) -> bytes:
    """A table as tab-separated UTF-8 text with the project's fixed float format."""
    text = table.to_csv(sep="\t", index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return text.encode("utf-8")


def write_bytes(data: bytes, path: Path) -> None:
    """Write a file, gzip-compressed when the name ends in `.gz`, with no time stamp or file name
    in the gzip header so that re-runs are byte-identical."""
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
            handle.write(data)
    else:
        path.write_bytes(data)


def honour_umask(path: Path) -> None:
    """Give files that a library wrote owner-only (safetensors writes 0600) the mode the user's umask
    asks for (0644 under umask 022, 0664 under 002), as every other output has: result folders on a
    cluster are shared with a group. `path` is a file or a folder (all files below it)."""
    umask = os.umask(0)
    os.umask(umask)
    files = [path] if path.is_file() else [file for file in path.rglob("*") if file.is_file()]
    for file in files:
        file.chmod(0o666 & ~umask)


def read_tsv(path: Path, **options: object) -> pd.DataFrame:
    """pandas' TSV reader on any input `seq2expr.io.files` opens; its failures name the file (and line)."""
    try:
        with open_binary(path) as handle:
            return pd.read_csv(handle, sep="\t", **options)  # type: ignore[call-overload]
    except UnicodeDecodeError:
        for _ in iter_lines(path):  # raises at the first undecodable line
            pass
        raise InputError("not UTF-8 text; expected a tab-separated text table", path) from None
    except pd.errors.ParserError as error:
        raise InputError(f"not a well-formed tab-separated table ({str(error).strip()})", path) from None


def write_tsv(table: pd.DataFrame, path: Path) -> None:
    """Write a TSV (gzip-compressed when the name ends in `.gz`)."""
    write_bytes(table_bytes(table), path)


def read_table(path: Path, columns: list[str], text_columns: list[str], what: str) -> pd.DataFrame:
    """Read a TSV of the pipeline's contracts: it must exist, not be empty, and hold `columns`."""
    try:
        table = read_tsv(path, dtype=dict.fromkeys(text_columns, str), keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"empty file; expected {what} with columns {', '.join(columns)}", path) from None
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; expected {', '.join(columns)}", path)
    return table


def check_unique_genes(table: pd.DataFrame, path: Path | str) -> None:
    """One row per gene: a `gene_id` given twice is an error naming the file and its first repeated line."""
    duplicated = table["gene_id"].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(f"gene {table['gene_id'].iloc[row]} appears more than once", path, row + 2)


def check_allowed(table: pd.DataFrame, column: str, allowed: tuple[str, ...], path: Path) -> None:
    """Every value of `column` is one of `allowed`; else name the first bad line."""
    bad = ~table[column].isin(allowed)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{column} {table[column].iloc[row]!r} is not one of {', '.join(allowed)}", path, row + 2)


def numeric_column(table: pd.DataFrame, column: str, path: Path, finite: bool = False) -> pd.Series:
    """`column` as floats; a value that is not a number (or not finite, when asked) names its line."""
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna()
    if finite:
        bad |= ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        kind = "a finite number" if finite else "a number"
        raise InputError(f"{column} value '{table[column].iloc[row]}' is not {kind}", path, row + 2)
    return values.astype(float)
