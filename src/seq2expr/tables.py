"""Reading and writing the pipeline's text tables reproducibly.

Outputs must be byte-identical across re-runs, so gzip headers carry no time stamp or file name
and floats are written with a fixed format.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO

import pandas as pd

FLOAT_FORMAT = "%.9g"


def open_text(path: Path) -> IO[str]:
    """Open a plain or gzip-compressed (also bgzip) text file, chosen by its magic bytes."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def table_bytes(table: pd.DataFrame) -> bytes:
    """A table as tab-separated UTF-8 text with the project's fixed float format."""
    text = table.to_csv(sep="\t", index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return text.encode("utf-8")


def write_tsv(table: pd.DataFrame, path: Path) -> None:
    """Write a TSV, gzip-compressed when the name ends in `.gz` (no time stamp in the header)."""
    data = table_bytes(table)
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
