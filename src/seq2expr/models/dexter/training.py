"""One DExTER run on a dataset table: checks, exploration on training genes, LASSO, predictions.

Training genes are the dataset's train rows plus its val rows (DExTER has no validation
step), in dataset order, which is the expression file's order: the LassoCV folds are
contiguous blocks of that order, as in the original. Under cross-fitting (one fold's view of the
dataset, `seq2expr.data.folds`) the training genes are the fold's train rows only, the inner val
genes being held out from every model (`seq2expr.data.folds.fit_genes`), and with gene groups the
LassoCV folds keep each group whole. Test genes are never seen before the final predictions.
Every gene of every split gets a prediction.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import sklearn

import seq2expr
from seq2expr.data.folds import fit_genes, fitted_on, is_cross_fitted
from seq2expr.errors import InputError
from seq2expr.io.predictions import make_predictions
from seq2expr.models.dexter.counting import BinCounts, encode_sequences
from seq2expr.models.dexter.exploration import Exploration, ExplorationParams, Step, Variable
from seq2expr.models.dexter.model import (
    CV_FOLDS,
    MODEL_NAME,
    FittedModel,
    Region,
    fit_lasso,
    region_frequencies,
    sort_by_name,
)
from seq2expr.models.dexter.model import variable_name as name_of
from seq2expr.models.dexter.scoring import Scorer
from seq2expr.models.dexter.segmentation import Lattice, make_bins
from seq2expr.stats import pearson

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DexterConfig:
    """The options of one run (see `bin/dexter.py`)."""

    tss_index: int | None = None
    """None: the centre of odd-length windows."""
    bins: int = 13
    bin_mode: str = "polynomial"
    bin_edges: tuple[int, ...] = ()
    exploration: ExplorationParams = field(default_factory=ExplorationParams)
    compat_counting: bool = True
    threads: int = 1


@dataclass(frozen=True)
class DexterResult:
    model: FittedModel
    variables: pd.DataFrame
    predictions: pd.DataFrame


def window_length(table: pd.DataFrame, source: str | Path | None = None) -> int:
    """The common window length; a gene whose window differs is an error naming its line."""
    lengths = table["sequence"].str.len().to_numpy()
    if len(lengths) == 0:
        raise InputError("the dataset has no genes", source)
    odd = np.flatnonzero(lengths != lengths[0])
    if len(odd):
        row = int(odd[0])
        raise InputError(
            f"gene {table['gene_id'].iloc[row]} has a {lengths[row]} bp window, expected {lengths[0]} bp "
            f"like gene {table['gene_id'].iloc[0]}: all windows must have the same length",
            source,
            row + 2,
        )
    return int(lengths[0])


def resolve_tss_index(tss_index: int | None, length: int) -> int:
    """The TSS index given, or the centre of an odd window; it must lie inside the window."""
    if tss_index is None:
        if length % 2 == 0:
            raise InputError(f"windows are {length} bp (even length, no centre): give --tss-index")
        return (length - 1) // 2
    if not 0 <= tss_index < length:
        raise InputError(f"--tss-index {tss_index} is outside the {length} bp windows (0..{length - 1})")
    return tss_index


def split_rows(table: pd.DataFrame, source: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the training (`seq2expr.data.folds.fit_genes`) and test genes, in dataset order."""
    split = table["split"].to_numpy()
    training = np.flatnonzero(fit_genes(table))
    test = np.flatnonzero(split == "test")
    if len(training) == 0:
        raise InputError("the dataset has no train genes; DExTER needs a train and a test part", source)
    if len(test) == 0:
        raise InputError("the dataset has no test genes; DExTER needs a train and a test part", source)
    if len(training) < CV_FOLDS:
        raise InputError(
            f"the dataset has {len(training)} training genes, fewer than the {CV_FOLDS} cross-validation folds", source
        )
    return training, test


def test_metrics(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """The original's report on the test set: Pearson r, R² (test mean) and MSE (divided by n).

    r follows the project's policy (`seq2expr.stats`): undefined for constant predictions, which
    JSON writes as null.
    """
    residual = observed - predicted
    total = float(np.sum((observed - observed.mean()) ** 2))
    r = pearson(observed, predicted)
    return {
        "n": len(observed),
        "pearson": r if np.isfinite(r) else None,
        "r2": 1.0 - float(np.sum(residual**2)) / total if total > 0 else 0.0,
        "mse": float(np.mean(residual**2)),
    }


def versions() -> dict[str, str]:
    return {
        "seq2expr": seq2expr.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def variables_table(variables: list[Variable], lattice: Lattice, coefficients: dict[str, float]) -> pd.DataFrame:
    """One row per selected variable: k-mer, region, |ρ|, the domain it came from, LASSO coefficient."""
    rows = []
    for variable in variables:
        start, end = lattice.bounds(variable.node)
        parent = "."
        if variable.parent is not None:
            parent = name_of(variable.parent[0], *lattice.bounds(variable.parent[1]))
        rows.append(
            {
                "kmer": variable.kmer,
                "start": start,
                "end": end,
                "correlation": variable.correlation,
                "parent": parent,
                "origin": variable.origin,
                "coefficient": coefficients[name_of(variable.kmer, start, end)] + 0.0,  # no "-0" in the table
            }
        )
    return pd.DataFrame(rows, columns=["kmer", "start", "end", "correlation", "parent", "origin", "coefficient"])


def fit_dexter(
    table: pd.DataFrame,
    config: DexterConfig,
    source: str | Path | None = None,
    track: Callable[[Iterator[Step]], Iterable[Step]] | None = None,
    fold: int = 0,
    repeat: int = 0,
    groups: np.ndarray | None = None,
) -> DexterResult:
    """Explore on the training genes, fit the LASSO, predict every gene.

    `track` wraps the exploration's steps (e.g. in a progress bar). `table` is one fold's view of the
    dataset (`fold`, `repeat` go into the predictions); `groups` (one gene group per row of the table)
    makes the LassoCV folds grouped.
    """
    length = window_length(table, source)
    tss_index = resolve_tss_index(config.tss_index, length)
    training, test = split_rows(table, source)
    bins = make_bins(config.bin_mode, config.bins, length, tss_index, config.bin_edges)
    lattice = Lattice(tuple(bins))
    log.info(
        "%s%d genes (%d training on %s, %d test), %d bp windows, TSS index %d, %d bins, %d regions",
        f"fold {fold} of repeat {repeat}: " if is_cross_fitted(table) else "",
        len(table),
        len(training),
        fitted_on(table),
        len(test),
        length,
        tss_index,
        lattice.n_bins,
        len(lattice.nodes),
    )
    for rank, row in enumerate(lattice.rows()):
        log.debug("lattice rank %d: %s", rank, " ".join(row))
    target = table["target"].to_numpy(dtype=np.float64)
    encoded = encode_sequences(table["sequence"].tolist())
    counts = BinCounts(encoded, lattice.position_bins(length, tss_index), lattice.n_bins, config.compat_counting)
    scorer = Scorer(counts, training, target[training], lattice)

    exploration = Exploration(scorer, lattice, config.exploration)
    for _ in exploration.steps() if track is None else track(exploration.steps()):
        pass
    variables = exploration.variables()
    log.info(
        "exploration done: %d domains, %d variables from %d k-mers scored (%d counting passes)",
        exploration.n_done,
        len(variables),
        scorer.n_scored,
        counts.passes,
    )

    regions = sort_by_name([Region(v.kmer, *lattice.bounds(v.node)) for v in variables])
    every_row = np.arange(len(table))
    features = region_frequencies(counts, lattice, regions, every_row)
    fold_groups = None if groups is None else groups[training]
    scaler, lasso = fit_lasso(features[training], target[training], config.threads, fold_groups)
    model = FittedModel(
        bins=bins,
        tss_index=tss_index,
        window_length=length,
        compat_counting=config.compat_counting,
        regions=regions,
        coefficients=[float(c) for c in lasso.coef_],
        mean=[float(m) for m in scaler.mean_],
        scale=[float(s) for s in scaler.scale_],
        intercept=float(lasso.intercept_),
        alpha=float(lasso.alpha_),
        n_iter=int(lasso.n_iter_),
    )
    predicted = model.predict(features)
    metrics = test_metrics(target[test], predicted[test])
    log.info(
        "LassoCV: alpha %.6g, %d non-zero of %d coefficients, %d iterations; test Pearson r %s, R2 %.4f, MSE %.4f",
        model.alpha,
        int(np.count_nonzero(lasso.coef_)),
        len(regions),
        model.n_iter,
        "undefined" if metrics["pearson"] is None else f"{metrics['pearson']:.4f}",
        metrics["r2"],
        metrics["mse"],
    )
    extra: dict[str, object] = {"test_metrics": metrics, "training_genes": len(training)}
    if is_cross_fitted(table):
        extra |= {"fold": fold, "repeat": repeat, "fitted_on": fitted_on(table)}
        extra["lasso_cv"] = "contiguous" if groups is None else "gene groups"
    model = replace(model, extra={**extra, "versions": versions()})
    coefficients = {region.name: coefficient for region, coefficient in zip(regions, model.coefficients, strict=True)}
    predictions = make_predictions(table["gene_id"], table["split"], target, predicted, MODEL_NAME, fold, repeat)
    return DexterResult(model, variables_table(variables, lattice, coefficients), predictions)


def predict_sequences(model: FittedModel, sequences: list[str], source: str | Path | None = None) -> np.ndarray:
    """Apply a saved model to new windows of the model's length and TSS position."""
    encoded = encode_sequences(sequences, source)
    if encoded.shape[1] != model.window_length:
        raise InputError(
            f"windows are {encoded.shape[1]} bp but the model was trained on {model.window_length} bp windows "
            f"(TSS index {model.tss_index})",
            source,
        )
    lattice = Lattice(tuple(model.bins))
    counts = BinCounts(
        encoded, lattice.position_bins(model.window_length, model.tss_index), lattice.n_bins, model.compat_counting
    )
    return model.predict(region_frequencies(counts, lattice, model.regions, np.arange(len(sequences))))
