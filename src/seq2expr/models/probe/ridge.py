"""The probe's read-out: a ridge regression whose layer and penalty are chosen by grouped cross-validation.

Why grouped: near-duplicate windows (paralogues, genes sharing a promoter) sit on both sides of a
leave-one-out split, so leave-one-out rewards memorising them and picks too little shrinkage. Folds
that keep each gene group (the similarity step's groups, else the chromosome) on one side measure
what the test split asks: prediction for genes unlike the ones fitted.

Why layer *and* penalty together, on the fitting genes (train + val): the last layer of a masked-LM
is shaped for predicting tokens, and an intermediate layer often carries more regulatory signal
(Feng et al. 2025), so every pooled layer is a candidate. The val split alone (~10 % of genes) is
too small to rank a dozen layers (the standard error of r on 100 genes is about 0.1); grouped K-fold
over train + val gives every fitting gene one held-out prediction per candidate. The test genes are
never read. The final read-out is then fitted on all train + val genes with the chosen layer and
penalty, so val is *fitted on* (as the contract of metrics.tsv calls it), not held out. Under
cross-fitting the fitting genes are the fold's train genes only: the inner val genes are held out from
every model, so the probe fits on exactly the genes the early-stopped models fit on
(`seq2expr.data.folds.fit_genes`).

One ridge path per fold: on standardised features the solutions for every penalty come from one
decomposition, `coef(alpha) = V diag(s / (s² + alpha)) Uᵀ y` (SVD of the features, or the
eigen-decomposition of their Gram matrix), which is what `StandardScaler` + `Ridge(alpha)` compute
one penalty at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from seq2expr.data.folds import fit_genes as fold_fit_genes
from seq2expr.data.folds import fit_splits
from seq2expr.data.folds import grouped_folds as shared_grouped_folds
from seq2expr.errors import InputError
from seq2expr.io.predictions import make_predictions

logger = logging.getLogger(__name__)

#: Ridge penalties tried, as START:STOP:N (N values evenly spaced in log scale: here half a decade apart).
#: On standardised features the useful penalty grows with the number of genes and features (a 768-wide
#: layer on 20,000 genes wants ~1e5-1e7), hence the span. The one definition of the grid.
ALPHA_GRID = "1e-2:1e8:21"
#: Folds of the grouped cross-validation (fewer when there are fewer groups).
N_FOLDS = 5


def parse_alphas(text: str) -> tuple[float, ...]:
    """Penalties from a comma list (`1,10,100`) or a log-spaced grid (`START:STOP:N`); all positive and finite."""
    expected = f"--alphas {text!r}: expected comma-separated positive numbers (e.g. 1,10,100) or START:STOP:N"
    try:
        if ":" in text:
            start, stop, count = (float(value) for value in text.split(":"))
            if min(start, stop) <= 0 or count < 1 or count != int(count):
                raise ValueError(text)
            alphas = np.logspace(np.log10(start), np.log10(stop), int(count))
        else:
            alphas = np.array([float(value) for value in text.split(",") if value.strip()])
    except (ValueError, FloatingPointError):
        raise InputError(expected) from None
    if not len(alphas) or not np.all(np.isfinite(alphas)) or alphas.min() <= 0:
        raise InputError(expected)
    return tuple(float(alpha) for alpha in alphas)


DEFAULT_ALPHAS = parse_alphas(ALPHA_GRID)


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every matrix by the train matrix's column means and SDs, as `StandardScaler` does
    (population SD; a constant column keeps scale 1)."""
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale == 0] = 1.0
    return [(matrix - mean) / scale for matrix in (train, *others)]


def ridge_path(x_fit: np.ndarray, y_fit: np.ndarray, x_new: np.ndarray, alphas: Sequence[float]) -> np.ndarray:
    """Predictions for `x_new` of a ridge fitted on standardised `x_fit` (free intercept), a column per alpha.

    With more genes than features (the study: ~14,000 per fold, 1,536 features) the eigen-decomposition
    of the features' Gram matrix gives the same solutions several times faster than an SVD (48 s
    against 321 s for 17,600 × 1,536 on 2 busy cores); with fewer genes, the thin SVD is the small one.
    """
    fit, new = standardise(x_fit, x_new)
    offset = float(y_fit.mean())
    centred = y_fit - offset
    penalties = np.asarray(alphas, dtype=np.float64)[None, :]
    if fit.shape[0] >= fit.shape[1]:
        eigenvalues, vectors = np.linalg.eigh(fit.T @ fit)
        projected = vectors.T @ (fit.T @ centred)
        coefficients = vectors @ (projected[:, None] / (np.clip(eigenvalues, 0.0, None)[:, None] + penalties))
    else:
        u, s, vt = np.linalg.svd(fit, full_matrices=False)
        coefficients = vt.T @ (s[:, None] / (s[:, None] ** 2 + penalties) * (u.T @ centred)[:, None])
    predicted: np.ndarray = new @ coefficients + offset
    return predicted


def grouped_folds(groups: np.ndarray, n_folds: int = N_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, held-out) row indices of a grouped K-fold: no group on both sides; deterministic
    (`seq2expr.data.folds.grouped_folds`, which DExTER's LassoCV shares)."""
    return shared_grouped_folds(groups, n_folds)


def cv_mse(
    features: np.ndarray, target: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], alphas: Sequence[float]
) -> np.ndarray:
    """Mean squared error of the out-of-fold predictions of every gene, one value per alpha."""
    predicted = np.empty((len(target), len(alphas)))
    for fit, held_out in folds:
        predicted[held_out] = ridge_path(features[fit], target[fit], features[held_out], alphas)
    mse: np.ndarray = ((predicted - target[:, None]) ** 2).mean(axis=0)
    return mse


@dataclass(frozen=True)
class Choice:
    """The chosen layer and penalty, with every candidate's cross-validated error (layers × alphas)."""

    layer: int
    alpha: float
    scores: pd.DataFrame  # rows: layer, columns: alpha; out-of-fold MSE


def choose(
    features: Mapping[int, np.ndarray],
    target: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    alphas: Sequence[float],
) -> Choice:
    """The (layer, alpha) with the lowest out-of-fold MSE; ties go to the earlier layer, then the alpha listed first."""
    layers = sorted(features)
    scores = np.vstack([cv_mse(features[layer], target, folds, alphas) for layer in layers])
    row, column = np.unravel_index(int(np.argmin(scores)), scores.shape)
    alpha = float(alphas[int(column)])
    if len(alphas) > 1 and alpha in (min(alphas), max(alphas)):
        logger.warning("the chosen ridge penalty %g is at the edge of the grid; widen --alphas", alpha)
    table = pd.DataFrame(scores, index=pd.Index(layers, name="layer"), columns=list(alphas))
    return Choice(layers[int(row)], alpha, table)


def cv_groups(
    table: pd.DataFrame, gene_groups: pd.DataFrame | None, groups_path: object = None, dataset_path: object = None
) -> tuple[np.ndarray, str]:
    """One cross-validation group per gene of the table, and what the groups are.

    The similarity step's groups (`gene_groups`, columns gene_id and group) when given, else the
    chromosome; when the fitting genes fall into fewer than two groups (e.g. no chromosome known),
    every gene is its own group, with a warning. The paths name the two files in errors.
    """
    fit = fold_fit_genes(table)
    if gene_groups is not None:
        lookup = dict(zip(gene_groups["gene_id"].astype(str), gene_groups["group"].astype(str), strict=True))
        missing = [gene for gene in table["gene_id"].astype(str) if gene not in lookup]
        if missing:
            raise InputError(
                f"{len(missing)} gene(s) of the dataset {dataset_path} have no group here (first: {missing[0]}); "
                "expected the gene_groups.tsv written with that dataset",
                str(groups_path),
            )
        labels, source = np.array([lookup[gene] for gene in table["gene_id"].astype(str)]), "gene_groups"
    else:
        labels, source = table["chrom"].astype(str).to_numpy(), "chromosome"
    if len(np.unique(labels[fit])) < 2:
        logger.warning("the fitting genes fall into fewer than two %s groups: folds by gene instead", source)
        labels, source = table["gene_id"].astype(str).to_numpy(), "gene"
    return labels, source


@dataclass(frozen=True)
class ProbeFit:
    """What the read-out chose and predicted; `pipeline` is the fitted scaler + ridge."""

    predictions: pd.DataFrame
    choice: Choice
    n_features: int
    n_fit: int
    n_folds: int
    pipeline: Pipeline


def fit_genes(table: pd.DataFrame, path: object = None) -> np.ndarray:
    """Mask of the genes the probe fits on (`seq2expr.data.folds.fit_genes`: train + val in a single split,
    train under cross-fitting); at least 3 are needed (`path` names the dataset)."""
    fit = fold_fit_genes(table)
    if fit.sum() < 3:
        where = None if path is None else str(path)
        what = "/".join(fit_splits(table))
        raise InputError(f"only {int(fit.sum())} {what} gene(s); the probe needs at least 3", where)
    return fit


def fit_probe(
    table: pd.DataFrame,
    features: Mapping[int, np.ndarray],
    groups: np.ndarray,
    model_name: str,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    fold: int = 0,
    repeat: int = 0,
) -> ProbeFit:
    """Choose layer and penalty by grouped CV on the fitting genes (`fit_genes`), refit there, predict every gene.

    `features` maps a layer index to its (genes × features) matrix in the table's order; `groups`
    holds one group label per gene of the table (only the fitting genes' labels are read).
    """
    fit = fit_genes(table)
    target = table["target"].to_numpy(dtype=np.float64)
    fitted = {layer: np.asarray(matrix, dtype=np.float64)[fit] for layer, matrix in features.items()}
    folds = grouped_folds(groups[fit])
    choice = choose(fitted, target[fit], folds, alphas)
    pipeline = make_pipeline(StandardScaler(), Ridge(alpha=choice.alpha))
    pipeline.fit(fitted[choice.layer], target[fit])
    predicted = pipeline.predict(np.asarray(features[choice.layer], dtype=np.float64))
    predictions = make_predictions(table["gene_id"], table["split"], target, predicted, model_name, fold, repeat)
    return ProbeFit(predictions, choice, int(fitted[choice.layer].shape[1]), int(fit.sum()), len(folds), pipeline)
