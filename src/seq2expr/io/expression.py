"""Expression tables: GTEx GCT files and plain gene × tissue TSV tables (plain or gzip).

GCT (`#1.2`, a `rows<TAB>columns` line, then `Name Description <tissues…>`) is what GTEx
publishes; the plain form (`gene <tissues…>`) is what DExTER's authors distributed. Both end up
as one table: a `gene_id` column, then one numeric column per tissue, rows in file order (the
order DExTER's split draws from).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.io.files import iter_lines
from seq2expr.io.tissues import match_tissue

_VERSION = re.compile(r"\.\d+$")
PAR_Y_SUFFIX = "_PAR_Y"
MISSING_VALUES = ("", "NA", "NaN", "nan")


def base_gene_id(gene_id: str) -> str:
    """`ENSG00000182378.13_PAR_Y` → `ENSG00000182378`: ids match across annotation releases."""
    if gene_id.endswith(PAR_Y_SUFFIX):
        gene_id = gene_id[: -len(PAR_Y_SUFFIX)]
    return _VERSION.sub("", gene_id)


def _read_lines(path: Path) -> list[list[str]]:
    return [line.split("\t") for _, line in iter_lines(path)]


def read_expression(path: Path) -> pd.DataFrame:
    """Read a GCT or TSV expression table into `gene_id` + one float column per tissue."""
    rows = _read_lines(path)
    if not rows or all(not "".join(row).strip() for row in rows):
        raise InputError("empty file; expected a GTEx GCT or a gene × tissue TSV table", path)
    if rows[0][0].startswith("#1."):
        return _parse_gct(rows, path)
    return _parse_table(rows, path, first_data_line=2, id_columns=1)


def _parse_gct(rows: list[list[str]], path: Path) -> pd.DataFrame:
    if len(rows) < 3:
        raise InputError("a GCT needs a version line, a dimensions line and a header line", path)
    dims = rows[1]
    try:
        n_rows, n_columns = (int(value) for value in dims[:2])
    except ValueError:
        raise InputError(
            f"dimensions line {' '.join(dims)!r}; expected '<rows><TAB><columns>' of whole numbers", path, 2
        ) from None
    table = _parse_table(rows[2:], path, first_data_line=4, id_columns=2)
    n_tissues = table.shape[1] - 1
    if n_columns != n_tissues:
        raise InputError(f"dimensions line says {n_columns} sample columns, the header has {n_tissues}", path, 2)
    if n_rows != len(table):
        raise InputError(f"dimensions line says {n_rows} genes, the file has {len(table)}", path, 2)
    return table


def _parse_table(rows: list[list[str]], path: Path, first_data_line: int, id_columns: int) -> pd.DataFrame:
    """Rows after the header: id (+ description for GCT), then one value per tissue."""
    header = rows[0]
    tissues = header[id_columns:]
    if not tissues:
        raise InputError("the header names no tissue column", path, first_data_line - 1)
    body: list[list[str]] = []
    lines: list[int] = []
    for offset, row in enumerate(rows[1:]):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{len(row)} columns; the header has {len(header)}", path, first_data_line + offset)
        body.append(row)
        lines.append(first_data_line + offset)
    if not body:
        raise InputError("no gene rows after the header", path)
    text = pd.DataFrame([row[id_columns:] for row in body], columns=tissues)
    table = pd.DataFrame({"gene_id": [row[0] for row in body]})
    repeated = sorted({tissue for tissue in tissues if tissues.count(tissue) > 1})
    if repeated:
        raise InputError(f"tissue column(s) {', '.join(repeated)} appear more than once", path, first_data_line - 1)
    for tissue in tissues:
        values = pd.to_numeric(text[tissue], errors="coerce")
        bad = values.isna() & ~text[tissue].str.strip().isin(MISSING_VALUES)
        infinite = np.isinf(values.to_numpy(dtype=float))
        if bad.any() or infinite.any():
            row_index = int(np.flatnonzero(bad.to_numpy() | infinite)[0])
            cell = text[tissue].iloc[row_index]
            kind = "a finite number" if infinite[row_index] else "a number"
            raise InputError(
                f"value {cell!r} for {tissue} is not {kind} (missing values are empty, NA or NaN)",
                path,
                lines[row_index],
            )
        table[tissue] = values.astype(float)
    return table


def select_tissue(table: pd.DataFrame, tissue: str, path: Path | None = None) -> str:
    """The table's column for `tissue` (`seq2expr.io.tissues.match_tissue`: exact, else ignoring case and
    punctuation). Unknown → error listing all."""
    return match_tissue([column for column in table.columns if column != "gene_id"], tissue, path)
