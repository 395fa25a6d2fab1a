"""The `predictions.tsv` contract that every model writes and the evaluation reads.

Columns: gene_id, split, observed, predicted, model. One row per gene of the dataset, every
split, so that a new model joins the comparison by writing this one file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError

PREDICTION_COLUMNS = ["gene_id", "split", "observed", "predicted", "model"]
SPLITS = ("train", "val", "test")


def make_predictions(
    gene_ids: pd.Series | list[str],
    splits: pd.Series | list[str],
    observed: np.ndarray | pd.Series,
    predicted: np.ndarray | pd.Series,
    model: str,
) -> pd.DataFrame:
    """Assemble a predictions table in the contract's column order."""
    table = pd.DataFrame(
        {
            "gene_id": list(gene_ids),
            "split": list(splits),
            "observed": np.asarray(observed, dtype=float),
            "predicted": np.asarray(predicted, dtype=float),
            "model": model,
        }
    )
    return table[PREDICTION_COLUMNS]


def write_predictions(table: pd.DataFrame, path: Path) -> None:
    """Write with a fixed float format so re-runs are byte-identical."""
    table[PREDICTION_COLUMNS].to_csv(path, sep="\t", index=False, float_format="%.9g", lineterminator="\n")


def read_predictions(path: Path) -> pd.DataFrame:
    """Read and check one predictions file; every problem names the file."""
    try:
        table = pd.read_csv(path, sep="\t", dtype={"gene_id": str, "split": str, "model": str})
    except pd.errors.EmptyDataError:
        raise InputError("empty file; expected a predictions table", path) from None
    missing = [column for column in PREDICTION_COLUMNS if column not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; expected {', '.join(PREDICTION_COLUMNS)}", path)
    bad_split = ~table["split"].isin(SPLITS)
    if bad_split.any():
        row = int(np.flatnonzero(bad_split.to_numpy())[0])
        raise InputError(f"split {table['split'].iloc[row]!r} is not one of {', '.join(SPLITS)}", path, row + 2)
    for column in ("observed", "predicted"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{column} value {table[column].iloc[row]!r} is not a finite number", path, row + 2)
        table[column] = values.astype(float)
    return table[PREDICTION_COLUMNS]
