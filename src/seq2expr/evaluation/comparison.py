"""Paired model comparisons on the same test genes, within each stratum (comparison.tsv).

Two models evaluated on the same genes are not independent samples, so they are compared with
paired statistics. The primary test is the paired cluster bootstrap of Δr = r(a) − r(b): both
models are resampled with the same group weights (and, with replicate runs, their seeds are
resampled too), giving Δr's percentile interval and its dual two-sided p (`p_bootstrap`).
Williams' t test for dependent correlations sharing the observed variable (Steiger 1980, eq. 7)
and Zou's (2007) interval are secondary: they assume independent, homoscedastic genes, which
expression with a floor of silent genes and similar genes is not.

Holm's adjustment runs within a family that `holm_family` names: the pairs of one stratum
(`comparison:<stratum>`), since each stratum asks its own question.
"""

from __future__ import annotations

import logging
from itertools import combinations

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.evaluation.metrics import resample_weights, resampled
from seq2expr.evaluation.runs import MIN_GENES, ModelRuns, model_splits
from seq2expr.evaluation.strata import GeneStrata, gene_strata
from seq2expr.io.predictions import is_near_constant
from seq2expr.stats import (
    bootstrap_p,
    holm_adjust,
    pearson_rows,
    percentile_interval,
    weighted_pearson,
    williams_test,
    zou_interval,
)

log = logging.getLogger(__name__)

COMPARISON_COLUMNS = [
    "model_a",
    "model_b",
    "stratum",
    "n",
    "pearson_a",
    "pearson_b",
    "r_ab",
    "delta_r",
    "delta_r_ci_low",
    "delta_r_ci_high",
    "p_bootstrap",
    "p_bootstrap_holm",
    "zou_ci_low",
    "zou_ci_high",
    "williams_t",
    "p_value",
    "p_value_holm",
    "holm_family",
    "near_constant",
]


def mean_r(model: ModelRuns, observed: np.ndarray) -> float:
    """Run-averaged Pearson r (NaN for a constant model)."""
    return float(np.mean(pearson_rows(observed, model.predicted.T)))


def resampled_r(model: ModelRuns, observed: np.ndarray, weights: np.ndarray, seed: int) -> np.ndarray:
    """Run-averaged Pearson r on every resample."""
    return resampled(weighted_pearson, model, observed, weights, seed)


def williams(a: ModelRuns, b: ModelRuns, observed: np.ndarray) -> tuple[float, float, float]:
    """(r_ab, Williams' t, p) of two models on the same genes."""
    r_ab = float(np.mean(pearson_rows(a.predicted.T[:, None, :], b.predicted.T[None, :, :])))
    t, p = williams_test(mean_r(a, observed), mean_r(b, observed), r_ab, len(observed))
    return r_ab, t, p


def shared_genes(left: ModelRuns, right: ModelRuns, stratum: str, strata: GeneStrata) -> pd.Index:
    """The test genes of `stratum` that both models predict (all of them, after `check_complete`)."""
    shared = strata.genes(stratum, left.test_genes().intersection(right.test_genes()))
    if len(shared) < MIN_GENES:
        raise InputError(
            f"models {left.name!r} ({left.sources[0]}) and {right.name!r} ({right.sources[0]}) share {len(shared)} "
            f"test gene(s) in stratum {stratum}; a paired comparison needs at least {MIN_GENES}"
        )
    return shared


def compare_pair(
    left: ModelRuns, right: ModelRuns, stratum: str, strata: GeneStrata, resamples: int, seed: int
) -> dict[str, object]:
    """Paired comparison of two models on the test genes of one stratum."""
    shared = shared_genes(left, right, stratum, strata)
    a, b = left.subset(shared), right.subset(shared)
    observed = a.genes["observed"].to_numpy(dtype=float)
    r_a, r_b = mean_r(a, observed), mean_r(b, observed)
    weights = resample_weights(strata, shared, resamples, seed)
    delta = resampled_r(a, observed, weights, seed) - resampled_r(b, observed, weights, seed)
    delta_low, delta_high = percentile_interval(delta)
    r_ab, t, p = williams(a, b, observed)
    zou_low, zou_high = zou_interval(r_a, r_b, r_ab, len(shared))
    return {
        "model_a": a.name,
        "model_b": b.name,
        "stratum": stratum,
        "n": len(shared),
        "pearson_a": r_a,
        "pearson_b": r_b,
        "r_ab": r_ab,
        "delta_r": r_a - r_b,
        "delta_r_ci_low": delta_low,
        "delta_r_ci_high": delta_high,
        "p_bootstrap": bootstrap_p(delta),
        "p_bootstrap_holm": float("nan"),
        "zou_ci_low": zou_low,
        "zou_ci_high": zou_high,
        "williams_t": t,
        "p_value": p,
        "p_value_holm": float("nan"),
        "holm_family": f"comparison:{stratum}",
        # the test then compares noise
        "near_constant": any(is_near_constant(observed, model.predicted.mean(axis=1)) for model in (a, b)),
    }


def holm_within_families(table: pd.DataFrame, columns: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """Holm-adjust each (p column -> adjusted column) within each `holm_family`."""
    table = table.copy()
    for _, rows in table.groupby("holm_family", sort=False):
        for raw, adjusted in columns:
            table.loc[rows.index, adjusted] = holm_adjust(rows[raw].to_numpy(dtype=float))
    return table


def comparison_table(
    models: list[ModelRuns], resamples: int, seed: int, strata: GeneStrata | None = None
) -> pd.DataFrame:
    """comparison.tsv: every pair of non-constant models in every test stratum (without `strata`: `all`)."""
    strata = strata or gene_strata(model_splits(models))
    comparable = [model for model in models if not model.is_constant]
    for model in models:
        if model.is_constant:
            log.info("model %s predicts a constant: it has no correlation to compare", model.name)
    rows = [
        compare_pair(left, right, stratum, strata, resamples, seed)
        for stratum in strata.strata
        for left, right in combinations(comparable, 2)
        if len(strata.genes(stratum, left.test_genes())) >= MIN_GENES
    ]
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    return holm_within_families(table, (("p_bootstrap", "p_bootstrap_holm"), ("p_value", "p_value_holm")))
