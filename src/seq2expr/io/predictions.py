"""The `predictions.tsv` contract that every model writes and the evaluation reads.

Columns: gene_id, split, observed, predicted, model, fold, repeat. One row per gene of the dataset,
every split, so that a new model joins the comparison by writing this one file. `fold` and
`repeat` say which fit of a cross-fitted dataset wrote it (`seq2expr.data.folds`; its test genes
are that fold's); a single split is fold 0, repeat 0, and a file without the two columns is read so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.io.tables import check_allowed, check_unique_genes, numeric_column, read_table, write_tsv

SPLITS = ("train", "val", "test")
"""A gene's role in a dataset and in every predictions file."""

PREDICTION_COLUMNS = ["gene_id", "split", "observed", "predicted", "model", "fold", "repeat"]
CONTROL_FILE = "control.tsv"
CONTROL_COLUMNS = ["gene_id", "observed", "predicted", "predicted_shuffled", "model", "fold", "repeat"]
"""The composition control of one model run: its test genes, predicted on their real and on their shuffled
windows (`seq2expr.data.shuffle`), so the evaluation pairs the two without matching files."""
FIT_COLUMNS = ("fold", "repeat")
NEAR_CONSTANT_SPREAD = 0.01
"""Predictions whose SD is below this share of the observed SD are near-constant: their r, CI and test
measure rounding noise (an untrained or collapsed regressor), however significant they look."""

log = logging.getLogger(__name__)


def is_near_constant(observed: np.ndarray, predicted: np.ndarray) -> bool:
    """Whether the predictions barely vary compared with the observed target (see NEAR_CONSTANT_SPREAD)."""
    return bool(np.std(predicted) <= NEAR_CONSTANT_SPREAD * np.std(observed))


def warn_if_near_constant(table: pd.DataFrame) -> bool:
    """One WARNING line when a model's predictions (test genes, else all) are near-constant: a model that
    has not learnt must not pass silently into the comparison. Returns whether it warned."""
    genes = table[table["split"] == "test"] if (table["split"] == "test").any() else table
    observed, predicted = genes["observed"].to_numpy(dtype=float), genes["predicted"].to_numpy(dtype=float)
    if not is_near_constant(observed, predicted):
        return False
    log.warning(
        "%s predicts a near-constant value (SD %.3g against an observed SD of %.3g on %d genes): it has not "
        "learnt; more steps, a higher --learning-rate or longer --max-tokens may help",
        ", ".join(map(str, table["model"].unique())),
        np.std(predicted),
        np.std(observed),
        len(genes),
    )
    return True


def make_predictions(
    gene_ids: pd.Series | list[str],
    splits: pd.Series | list[str],
    observed: np.ndarray | pd.Series,
    predicted: np.ndarray | pd.Series,
    model: str,
    fold: int = 0,
    repeat: int = 0,
) -> pd.DataFrame:
    """Assemble a predictions table in the contract's column order (fold 0, repeat 0: a single split)."""
    table = pd.DataFrame(
        {
            "gene_id": list(gene_ids),
            "split": list(splits),
            "observed": np.asarray(observed, dtype=float),
            "predicted": np.asarray(predicted, dtype=float),
            "model": model,
            "fold": fold,
            "repeat": repeat,
        }
    )
    return table[PREDICTION_COLUMNS]


def write_predictions(table: pd.DataFrame, path: Path) -> None:
    """Write with a fixed float format so re-runs are byte-identical."""
    write_tsv(table[PREDICTION_COLUMNS], path)


def read_predictions(path: Path) -> pd.DataFrame:
    """Read and check one predictions file; every problem names the file and line."""
    table = read_table(path, PREDICTION_COLUMNS[:5], ["gene_id", "split", "model"], "a predictions table")
    if table.empty:
        raise InputError("no predictions after the header line", path)
    check_allowed(table, "split", SPLITS, path)
    for column in ("observed", "predicted"):
        table[column] = numeric_column(table, column, path, finite=True)
    for column in FIT_COLUMNS:
        if column not in table.columns:
            table[column] = 0
            continue
        values = numeric_column(table, column, path, finite=True)
        bad = (values != values.round()) | (values < 0) | (values != values.iloc[0])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            what = f"{column} {table[column].iloc[row]!r}; expected one whole number >= 0 for the whole file"
            raise InputError(what, path, row + 2)
        table[column] = values.astype(int)
    return table[PREDICTION_COLUMNS]


def make_control(
    gene_ids: pd.Series | list[str],
    observed: np.ndarray | pd.Series,
    predicted: np.ndarray | pd.Series,
    shuffled: np.ndarray | pd.Series,
    model: str,
    fold: int = 0,
    repeat: int = 0,
) -> pd.DataFrame:
    """A control table in the contract's column order."""
    return pd.DataFrame(
        {
            "gene_id": list(gene_ids),
            "observed": np.asarray(observed, dtype=float),
            "predicted": np.asarray(predicted, dtype=float),
            "predicted_shuffled": np.asarray(shuffled, dtype=float),
            "model": model,
            "fold": fold,
            "repeat": repeat,
        }
    )[CONTROL_COLUMNS]


def control_from_predictions(predictions: pd.DataFrame, shuffled: np.ndarray | pd.Series) -> pd.DataFrame:
    """The control table of a model run: the test rows of its predictions table (same genes, observed and
    predicted values, in its order) beside `shuffled`, the same model's predictions of their shuffled windows."""
    test = predictions[(predictions["split"] == "test").to_numpy()]
    if len(test) != len(shuffled):
        raise ValueError(f"{len(shuffled)} shuffled predictions for {len(test)} test genes")
    return make_control(
        test["gene_id"],
        test["observed"],
        test["predicted"],
        shuffled,
        str(test["model"].iloc[0]),
        int(test["fold"].iloc[0]),
        int(test["repeat"].iloc[0]),
    )


def write_control(table: pd.DataFrame, path: Path) -> None:
    write_tsv(table[CONTROL_COLUMNS], path)


def read_control(path: Path) -> pd.DataFrame:
    """Read and check one control table; every problem names the file and line."""
    table = read_table(path, CONTROL_COLUMNS, ["gene_id", "model"], "a composition-control table")
    if table.empty:
        raise InputError("no genes after the header line", path)
    check_unique_genes(table, path)
    for column in ("observed", "predicted", "predicted_shuffled"):
        table[column] = numeric_column(table, column, path, finite=True)
    for column in ("fold", "repeat"):
        table[column] = numeric_column(table, column, path, finite=True).astype(int)
    if table["model"].nunique() != 1 or table[["fold", "repeat"]].drop_duplicates().shape[0] != 1:
        raise InputError("expected the test genes of one model run (one model, fold and repeat)", path)
    return table[CONTROL_COLUMNS]
