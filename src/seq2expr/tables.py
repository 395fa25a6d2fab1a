"""Reading and writing the pipeline's text tables reproducibly.

Outputs must be byte-identical across re-runs, so gzip headers carry no time stamp or file name
and floats are written with a fixed format.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO, BinaryIO, cast

import numpy as np
import pandas as pd

from seq2expr.errors import InputError

FLOAT_FORMAT = "%.9g"


def open_binary(path: Path) -> BinaryIO:
    """Open a plain, gzip or bgzip file for binary reading, chosen by its magic bytes (bgzip is
    multi-member gzip, which the gzip module reads)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


def open_text(path: Path) -> IO[str]:
    """Open a plain or gzip-compressed (also bgzip) text file."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", newline="")


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


def write_tsv(table: pd.DataFrame, path: Path) -> None:
    """Write a TSV (gzip-compressed when the name ends in `.gz`)."""
    write_bytes(table_bytes(table), path)


def read_table(path: Path, columns: list[str], text_columns: list[str], what: str) -> pd.DataFrame:
    """Read a TSV of the pipeline's contracts: it must exist, not be empty, and hold `columns`."""
    try:
        table = pd.read_csv(path, sep="\t", dtype=dict.fromkeys(text_columns, str), keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"empty file; expected {what} with columns {', '.join(columns)}", path) from None
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; expected {', '.join(columns)}", path)
    return table


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
        raise InputError(f"{column} value {table[column].iloc[row]!r} is not {kind}", path, row + 2)
    return values.astype(float)
