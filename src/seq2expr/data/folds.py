"""Grouped K-fold cross-fitting: which fold each gene is a test gene in, and one fold's view of the dataset.

One train/test draw puts a third of the genes in test and makes the answer depend on which third
(docs/decisions.md, "cross-fitting by default"). Cross-fitting trains each model once per fold on
the other folds, so every gene gets exactly one out-of-fold prediction per repeat and the
evaluation scores all of them. Folds hold whole gene groups (`seq2expr.data.similarity`), so a
test gene's near-copy is never trained on; a repeat redraws the folds.

In `dataset.tsv.gz` a cross-fitted dataset carries `fold` (repeat 0), `fold_1`, ... (further
repeats): the fold 1..K in which the gene is tested. Its `split` column then holds only `train`
and `val`: `val` is one draw of whole groups (the --val-fraction share of the genes) that the
early-stopped models hold out in every fold; outside the test fold, the others fit on it too.
A single split (`dexter`, `chromosome`, or `grouped` with one fold) has no fold column and is
"fold 0, repeat 0".
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError

FOLD_COLUMN = "fold"
DEFAULT_FOLDS = 5
"""Five folds: each model trains on 80 % of the genes, and 5 fits per model and seed (docs/usage.md gives the cost)."""
DEFAULT_CV_REPEATS = 1
SINGLE_SPLIT = 0
"""The fold and repeat number of a single-split protocol's one fit."""
_FOLD_NAME = re.compile(r"^fold(?:_(\d+))?$")
_FOLD_STREAM, _VAL_STREAM = 0, 1
"""The fold draws and the inner-val draw take separate random streams of one seed."""


def fold_column(repeat: int) -> str:
    """The dataset column of a repeat's folds: `fold` for repeat 0, `fold_<repeat>` after it."""
    return FOLD_COLUMN if repeat == 0 else f"{FOLD_COLUMN}_{repeat}"


def fold_columns(table: pd.DataFrame) -> list[str]:
    """The fold columns of a dataset, in repeat order (empty for a single split)."""
    return [fold_column(repeat) for repeat in range(n_repeats(table))]


def n_repeats(table: pd.DataFrame) -> int:
    """How many fold draws the dataset carries (0 for a single split)."""
    return sum(1 for column in table.columns if _FOLD_NAME.match(str(column)))


def n_folds(table: pd.DataFrame) -> int:
    """K of a cross-fitted dataset (0 for a single split)."""
    return int(table[FOLD_COLUMN].max()) if FOLD_COLUMN in table.columns else 0


def draw_folds(groups: list[str], folds: int, seed: int, repeat: int) -> list[int]:
    """The fold (1..K) of each gene: whole groups, shuffled by the seed and repeat, each to the emptiest fold.

    Groups go in a seeded random order to the fold with the fewest genes so far (ties: the lowest
    fold), so fold sizes differ by at most the largest group; most groups are single genes.
    """
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    order = list(members)
    rng = np.random.default_rng([seed, _FOLD_STREAM, repeat])
    shuffled = [order[position] for position in rng.permutation(len(order))]
    sizes = [0] * folds
    labels = [0] * len(groups)
    for group in shuffled:
        fold = min(range(folds), key=lambda candidate: (sizes[candidate], candidate))
        sizes[fold] += len(members[group])
        for index in members[group]:
            labels[index] = fold + 1
    return labels


def draw_inner_val(groups: list[str], val_fraction: float, seed: int) -> list[str]:
    """`val` for whole groups making up `val_fraction` of the genes (seeded), `train` for the rest."""
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    order = list(members)
    rng = np.random.default_rng([seed, _VAL_STREAM])
    n_val = round(val_fraction * len(groups))
    labels = ["train"] * len(groups)
    filled = 0
    for position in rng.permutation(len(order)):
        group = order[position]
        if filled + len(members[group]) <= n_val:
            filled += len(members[group])
            for index in members[group]:
                labels[index] = "val"
    return labels


def parse_fold_columns(table: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """The table with its fold columns as integers, after checking them: whole numbers 1..K, every fold
    present, the same K in every repeat, and no `test` split beside them (the folds say who is tested)."""
    table = table.copy()
    columns = fold_columns(table)
    present = [str(column) for column in table.columns if _FOLD_NAME.match(str(column))]
    if sorted(present) != sorted(columns):
        raise InputError(f"fold columns {', '.join(present)}; expected {', '.join(columns)} (one per repeat)", path)
    if not columns:
        return table
    if (table["split"] == "test").any():
        row = int(np.flatnonzero((table["split"] == "test").to_numpy())[0])
        what = "split 'test' in a cross-fitted dataset; its fold columns say which genes are tested"
        raise InputError(what, path, row + 2)
    expected = None
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | (values != values.round()) | (values < 1)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{column} value {table[column].iloc[row]!r} is not a fold number 1..K", path, row + 2)
        found = sorted(int(value) for value in values.unique())
        if found != list(range(1, len(found) + 1)) or (expected is not None and len(found) != expected):
            raise InputError(f"{column} holds folds {found}; expected every fold 1..K, the same K in each repeat", path)
        expected = len(found)
        table[column] = values.astype(int)
    return table


def fold_view(table: pd.DataFrame, fold: int, repeat: int, path: Path | str = "the dataset") -> pd.DataFrame:
    """The dataset as one fit sees it: `split` is test for the fold's genes, else the written train/val.

    Fold 0 (repeat 0) is a single split's own labels; a cross-fitted dataset needs a fold 1..K.
    """
    folds, repeats = n_folds(table), n_repeats(table)
    if folds == 0:
        if fold != SINGLE_SPLIT or repeat != SINGLE_SPLIT:
            raise InputError(
                f"--fold {fold} --repeat {repeat} on a single-split dataset (no fold column); expected --fold 0", path
            )
        return table
    if not 1 <= fold <= folds or not 0 <= repeat < repeats:
        raise InputError(
            f"--fold {fold} --repeat {repeat}: the dataset is cross-fitted with folds 1..{folds} and repeats "
            f"0..{repeats - 1}; expected a fold and repeat in those ranges",
            path,
        )
    view = table.copy()
    tested = (view[fold_column(repeat)] == fold).to_numpy()
    view["split"] = np.where(tested, "test", view["split"])
    return view


FIT_SPLITS_SINGLE = ("train", "val")
"""The splits the models without early stopping (DExTER, the probes) fit on in a single split."""
FIT_SPLITS_CROSS_FITTED = ("train",)
"""... and under cross-fitting: the inner `val` genes are held out from every model (docs/decisions.md)."""


def is_cross_fitted(table: pd.DataFrame) -> bool:
    """Whether the dataset (or one fold's view of it) carries fold columns."""
    return n_folds(table) > 0


def fit_splits(table: pd.DataFrame) -> tuple[str, ...]:
    """The splits a model without early stopping fits on, for this dataset or view (`fit_split_names`)."""
    return fit_split_names(is_cross_fitted(table))


def fit_split_names(cross_fitted: bool) -> tuple[str, ...]:
    """The splits a model without early stopping fits on: train + val in a single split, train under cross-fitting.

    Under cross-fitting the early-stopped models (CNN, DNABERT-2) hold the inner val genes out to stop on;
    DExTER and the probes leave them out too, so that every model of a fold fits on exactly the same genes
    (docs/decisions.md, 2026-12-06). A single split keeps the study's train + val, byte for byte.
    """
    return FIT_SPLITS_CROSS_FITTED if cross_fitted else FIT_SPLITS_SINGLE


def fit_genes(table: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the genes a model without early stopping fits on (`fit_splits`), in table order."""
    mask: np.ndarray = table["split"].isin(fit_splits(table)).to_numpy()
    return mask


def fitted_on(table: pd.DataFrame) -> str:
    """What `fit_genes` fitted on, in the words of fit.json and metrics.tsv: `train+val` or `train`."""
    return "+".join(fit_splits(table))


def grouped_folds(groups: np.ndarray, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, held-out) row indices of a grouped K-fold over `groups` (one label per row): no group on both
    sides; deterministic (scikit-learn's GroupKFold, K = min(n_folds, groups)). Used by the probes' ridge
    and DExTER's LassoCV under cross-fitting."""
    from sklearn.model_selection import GroupKFold  # only the fitting steps pay for scikit-learn's import

    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError("grouped cross-validation needs at least two groups")
    splitter = GroupKFold(n_splits=min(n_folds, n_groups))
    return list(splitter.split(np.zeros((len(groups), 1)), groups=groups))
