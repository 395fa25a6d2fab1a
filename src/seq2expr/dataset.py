"""The dataset contract: one row per gene with its split, expression and window sequence.

`dataset.tsv.gz` columns: gene_id, chrom, split (train/val/test), tpm, target, sequence.
Every model reads it through `read_dataset`, so they all see the same genes and split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.tables import write_tsv

DATASET_COLUMNS = ["gene_id", "chrom", "split", "tpm", "target", "sequence"]
SPLITS = ("train", "val", "test")


def read_dataset(path: Path) -> pd.DataFrame:
    """Read `dataset.tsv.gz` and check the contract; every problem names the file and line."""
    try:
        table = pd.read_csv(
            path, sep="\t", dtype={"gene_id": str, "chrom": str, "split": str, "sequence": str}, keep_default_na=False
        )
    except pd.errors.EmptyDataError:
        raise InputError("empty file; expected a dataset table with columns " + ", ".join(DATASET_COLUMNS), path) from None
    missing = [column for column in DATASET_COLUMNS if column not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; expected {', '.join(DATASET_COLUMNS)}", path)
    if table.empty:
        raise InputError("the dataset has no genes", path)
    bad_split = ~table["split"].isin(SPLITS)
    if bad_split.any():
        row = int(np.flatnonzero(bad_split.to_numpy())[0])
        raise InputError(f"split {table['split'].iloc[row]!r} is not one of {', '.join(SPLITS)}", path, row + 2)
    duplicated = table["gene_id"].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(f"gene {table['gene_id'].iloc[row]} appears more than once", path, row + 2)
    for column in ("tpm", "target"):
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise InputError(f"{column} value {table[column].iloc[row]!r} is not a number", path, row + 2)
        table[column] = values.astype(float)
    return table[DATASET_COLUMNS]


def write_dataset(table: pd.DataFrame, path: Path) -> None:
    """Write the dataset in the contract's column order, byte-identical across re-runs."""
    write_tsv(table[DATASET_COLUMNS], path)
