"""Paired model comparisons on the same test genes, within each stratum (comparison.tsv), and the families.

Two models evaluated on the same genes are not independent samples, so they are compared with
paired statistics: Δr = r(a) − r(b) and ΔMSE = MSE(b) − MSE(a) (positive: a is better in both),
each with the protocol's interval and an analytic two-sided p (`seq2expr.stats`): under
cross-fitting the corrected resampled t on the per-fold differences (Nadeau & Bengio 2003); on a
single split the paired cluster bootstrap (both models on the same group resamples, runs held
fixed) plus the between-run variance, with a t of Welch–Satterthwaite df. Run i of one model is
paired with run i of the other (runs are exchangeable seeds); a model with one run is paired with
each run of the other. Fewer than `MIN_INTERVAL_GENES` shared genes: no interval. On a single
split, Williams' t for dependent correlations sharing the observed variable (Steiger 1980, eq. 7)
and Zou's (2007) interval stay as secondary columns: they assume independent, homoscedastic genes,
which expression with a floor of silent genes and similar genes is not.

**One question fixed before the data.** The primary family is the primary model (`--primary-model`;
by default DNABERT-2 when it is evaluated, else the first gLM of `--predictions`, by the roster's
roles) against each simple rung present (DExTER, the CNN, the GC/CpG baseline: the roster's
SIMPLE_MODELS without the training mean) on all test genes; its p's are Holm-adjusted over those
hypotheses only. Every other pair, stratum and model is exploratory, Holm-adjusted within its own
family (`exploratory:<stratum>`; the strata interaction: `exploratory:interaction`). Each
hypothesis has one row and one adjusted p across all tables: the ladder reads its rows from here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.evaluation.metrics import (
    RowStatistic,
    Statistic,
    block_values,
    mse_rows,
    no_interval,
    per_run_resampled,
    resample_weights,
    test_train_ratio,
    weighted_mse,
)
from seq2expr.evaluation.runs import MIN_GENES, MIN_INTERVAL_GENES, ModelRuns, model_splits
from seq2expr.evaluation.strata import ALL, GeneStrata, gene_strata
from seq2expr.io.predictions import is_near_constant
from seq2expr.models.roster import DNABERT2, MEAN_BASELINE, SIMPLE_MODELS, is_glm
from seq2expr.stats import (
    Estimate,
    corrected_resampled_t,
    holm_adjust,
    pearson_rows,
    runs_fixed_t,
    weighted_pearson,
    williams_test,
    zou_interval,
)

log = logging.getLogger(__name__)

PRIMARY = "primary"
EXPLORATORY = "exploratory"
PRIMARY_RUNGS = tuple(name for name in SIMPLE_MODELS if name != MEAN_BASELINE)
"""The simple rungs the primary model is tested against (the training mean is a floor, not a rung)."""

TEST_COLUMNS = ["p", "p_holm", "family", "ci_method", "ci_df", "dropped_resamples"]
"""What every tested difference carries (comparison, ladder, interaction): its p, the p adjusted within its family,
and how the interval was made."""
DELTA_MSE_COLUMNS = ["delta_mse", "delta_mse_ci_low", "delta_mse_ci_high", "delta_mse_p"]

COMPARISON_COLUMNS = [
    "model_a",
    "model_b",
    "stratum",
    "n",
    "pearson_a",
    "pearson_b",
    "r_ab",
    "delta_r",
    "delta_r_folds",
    "delta_r_ci_low",
    "delta_r_ci_high",
    "mse_a",
    "mse_b",
    *DELTA_MSE_COLUMNS,
    *TEST_COLUMNS,
    "zou_ci_low",
    "zou_ci_high",
    "williams_t",
    "p_williams",
    "near_constant",
]


# --- the primary model and its family ----------------------------------------------------------


def primary_model(names: Sequence[str], requested: str | None = None) -> str | None:
    """The primary model, fixed by parameter before any result: `requested`, else DNABERT-2 when among
    `names`, else the first gLM of `names` (in the order of --predictions); None without a gLM."""
    if requested is not None:
        if requested not in names:
            raise InputError(f"--primary-model {requested!r} is not among the models evaluated: {', '.join(names)}")
        return requested
    if DNABERT2 in names:
        return DNABERT2
    return next((name for name in names if is_glm(name)), None)


def family(model_a: str, model_b: str, stratum: str, primary: str | None) -> str:
    """The Holm family of the hypothesis Δr(a, b) = 0 in `stratum`."""
    if primary is not None and model_a == primary and model_b in PRIMARY_RUNGS and stratum == ALL:
        return PRIMARY
    return f"{EXPLORATORY}:{stratum}"


# --- paired statistics ---------------------------------------------------------------------------


def mean_r(model: ModelRuns, observed: np.ndarray) -> float:
    """Run-averaged Pearson r (NaN for a constant model)."""
    if model.is_constant:
        return float("nan")
    return float(np.mean(pearson_rows(observed, model.predicted.T)))


def williams(a: ModelRuns, b: ModelRuns, observed: np.ndarray) -> tuple[float, float, float]:
    """(r_ab, Williams' t, p) of two models on the same genes."""
    r_ab = float(np.mean(pearson_rows(a.predicted.T[:, None, :], b.predicted.T[None, :, :])))
    t, p = williams_test(mean_r(a, observed), mean_r(b, observed), r_ab, len(observed))
    return r_ab, t, p


def paired_runs(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per-run differences along the last axis: run i with run i; a single run against every run of the other.

    Two models with different numbers of runs, both above one, are paired over the first min(R_a, R_b)
    runs of each (runs are exchangeable seeds), with a warning.
    """
    n_left, n_right = left.shape[-1], right.shape[-1]
    if n_left == n_right or 1 in (n_left, n_right):
        return left - right
    runs = min(n_left, n_right)
    log.warning("%d runs against %d: the difference pairs the first %d of each", n_left, n_right, runs)
    return left[..., :runs] - right[..., :runs]


def zero_rows(observed: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """r of a constant prediction taken as 0 (the ladder's floor: does the other model correlate at all?)."""
    del observed
    return np.zeros(np.asarray(predicted).shape[0])


def zero_weighted(observed: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    del observed, predicted
    return np.zeros(weights.shape[0])


def r_statistics(model: ModelRuns) -> tuple[RowStatistic, Statistic]:
    """Pearson r per run and per resample; 0 for a constant model."""
    return (zero_rows, zero_weighted) if model.is_constant else (pearson_rows, weighted_pearson)


def delta_estimate(
    a: ModelRuns,
    b: ModelRuns,
    genes: pd.Index,
    weights: np.ndarray | None,
    statistics: tuple[tuple[RowStatistic, Statistic], tuple[RowStatistic, Statistic]],
) -> tuple[float, Estimate]:
    """statistic(a) − statistic(b) on `genes` (the pooled, run-mean difference) and the protocol's interval
    and p (`weights`: a single split's resamples of these genes; None under cross-fitting or below
    MIN_INTERVAL_GENES). Under cross-fitting the interval is centred on the mean per-fold difference."""
    (rows_a, weighted_a), (rows_b, weighted_b) = statistics
    part_a, part_b = a.subset(genes), b.subset(genes)
    observed = part_a.genes["observed"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        value = float(np.mean(rows_a(observed, part_a.predicted.T)) - np.mean(rows_b(observed, part_b.predicted.T)))
    if len(genes) < MIN_INTERVAL_GENES:
        method = f"none (n = {len(genes)} < {MIN_INTERVAL_GENES}: no interval for a difference)"
        return value, no_interval(value, method)
    if a.cross_fitted:
        per_block = block_values(a, genes, rows_a) - block_values(b, genes, rows_b)
        return value, corrected_resampled_t(per_block, test_train_ratio(a))
    assert weights is not None
    per_run = paired_runs(rows_a(observed, part_a.predicted.T), rows_b(observed, part_b.predicted.T))
    resampled = paired_runs(
        per_run_resampled(weighted_a, part_a.predicted, observed, weights),
        per_run_resampled(weighted_b, part_b.predicted, observed, weights),
    )
    return value, runs_fixed_t(per_run, resampled)


def shared_genes(left: ModelRuns, right: ModelRuns, stratum: str, strata: GeneStrata) -> pd.Index:
    """The test genes of `stratum` that both models predict (all of them, after `check_complete`)."""
    shared = strata.genes(stratum, left.test_genes().intersection(right.test_genes()))
    if len(shared) < MIN_GENES:
        raise InputError(
            f"models {left.name!r} ({left.sources[0]}) and {right.name!r} ({right.sources[0]}) share {len(shared)} "
            f"test gene(s) in stratum {stratum}; a paired comparison needs at least {MIN_GENES}"
        )
    return shared


def single_split_weights(
    model: ModelRuns, genes: pd.Index, strata: GeneStrata, resamples: int, seed: int
) -> np.ndarray | None:
    """A single split's cluster-bootstrap weights of these genes (None where no resampling is needed)."""
    if model.cross_fitted or len(genes) < MIN_INTERVAL_GENES:
        return None
    return resample_weights(strata, genes, resamples, seed)


def compare_pair(
    left: ModelRuns,
    right: ModelRuns,
    stratum: str,
    strata: GeneStrata,
    resamples: int,
    seed: int,
    primary: str | None = None,
) -> dict[str, object]:
    """Paired comparison of two models on the test genes of one stratum (Δr, ΔMSE; p of Δr)."""
    shared = shared_genes(left, right, stratum, strata)
    a, b = left.subset(shared), right.subset(shared)
    observed = a.genes["observed"].to_numpy(dtype=float)
    weights = single_split_weights(left, shared, strata, resamples, seed)
    r_left, r_right = r_statistics(left), r_statistics(right)
    delta_r_value, delta_r = delta_estimate(left, right, shared, weights, (r_left, r_right))
    mse = (mse_rows, weighted_mse)
    delta_mse_value, delta_mse = delta_estimate(right, left, shared, weights, (mse, mse))
    r_a, r_b = mean_r(a, observed), mean_r(b, observed)
    r_ab = t = p_williams = zou_low = zou_high = float("nan")
    if not (left.cross_fitted or a.is_constant or b.is_constant):
        r_ab, t, p_williams = williams(a, b, observed)
        zou_low, zou_high = zou_interval(r_a, r_b, r_ab, len(shared))
    elif not (a.is_constant or b.is_constant):
        r_ab = float(np.mean(pearson_rows(a.predicted.T[:, None, :], b.predicted.T[None, :, :])))
    differences = block_values(left, shared, r_left[0]) - block_values(right, shared, r_right[0])
    finite = differences[np.isfinite(differences)]
    per_fold = float(finite.mean()) if finite.size else float("nan")
    mse_a, mse_b = (float(np.mean(mse_rows(observed, m.predicted.T))) for m in (a, b))
    return {
        "model_a": a.name,
        "model_b": b.name,
        "stratum": stratum,
        "n": len(shared),
        "pearson_a": r_a,
        "pearson_b": r_b,
        "r_ab": r_ab,
        "delta_r": delta_r_value,
        "delta_r_folds": per_fold,
        "delta_r_ci_low": delta_r.low,
        "delta_r_ci_high": delta_r.high,
        "mse_a": mse_a,
        "mse_b": mse_b,
        "delta_mse": delta_mse_value,
        "delta_mse_ci_low": delta_mse.low,
        "delta_mse_ci_high": delta_mse.high,
        "delta_mse_p": delta_mse.p,
        "p": delta_r.p,
        "p_holm": float("nan"),
        "family": family(a.name, b.name, stratum, primary),
        "ci_method": delta_r.method,
        "ci_df": delta_r.df,
        "dropped_resamples": delta_r.dropped,
        "zou_ci_low": zou_low,
        "zou_ci_high": zou_high,
        "williams_t": t,
        "p_williams": p_williams,
        # the test then compares noise
        "near_constant": any(is_near_constant(observed, model.predicted.mean(axis=1)) for model in (a, b)),
    }


def holm_within_families(table: pd.DataFrame) -> pd.DataFrame:
    """`p_holm`: Holm's adjustment of `p` within each `family`."""
    table = table.copy()
    for _, rows in table.groupby("family", sort=False):
        table.loc[rows.index, "p_holm"] = holm_adjust(rows["p"].to_numpy(dtype=float))
    return table


def _oriented(left: ModelRuns, right: ModelRuns, primary: str | None) -> tuple[ModelRuns, ModelRuns]:
    """The primary model always on side a (its Δr is primary − other)."""
    return (right, left) if right.name == primary else (left, right)


def hypotheses(
    models: list[ModelRuns],
    resamples: int,
    seed: int,
    strata: GeneStrata | None = None,
    primary: str | None = None,
) -> pd.DataFrame:
    """Every paired hypothesis, once, with its family and Holm-adjusted p.

    Every pair of non-constant models in every test stratum (comparison.tsv), and the primary model
    against each constant model (the ladder's floor: r taken as 0, so Δr asks whether it correlates at all).
    Column `in_comparison` says which rows comparison.tsv shows.
    """
    strata = strata or gene_strata(model_splits(models))
    comparable = [model for model in models if not model.is_constant]
    for model in models:
        if model.is_constant:
            log.info("model %s predicts a constant: it has no correlation to compare", model.name)
    rows = []
    for stratum in strata.strata:
        for left, right in combinations(comparable, 2):
            if len(strata.genes(stratum, left.test_genes())) >= MIN_GENES:
                a, b = _oriented(left, right, primary)
                rows.append({**compare_pair(a, b, stratum, strata, resamples, seed, primary), "in_comparison": True})
        by_name = {model.name: model for model in comparable}
        if primary in by_name and len(strata.genes(stratum, by_name[primary].test_genes())) >= MIN_GENES:
            for model in models:
                if model.is_constant:
                    row = compare_pair(by_name[primary], model, stratum, strata, resamples, seed, primary)
                    rows.append({**row, "in_comparison": False})
    table = pd.DataFrame(rows, columns=[*COMPARISON_COLUMNS, "in_comparison"])
    return holm_within_families(table)


def comparison_table(
    models: list[ModelRuns],
    resamples: int,
    seed: int,
    strata: GeneStrata | None = None,
    primary: str | None = None,
    pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """comparison.tsv: every pair of non-constant models in every test stratum (without `strata`: `all`).

    `pairs`: the `hypotheses` table when already computed (the step computes it once for all tables).
    """
    if pairs is None:
        pairs = hypotheses(models, resamples, seed, strata, primary)
    shown = pairs[pairs["in_comparison"].astype(bool)]
    return shown[COMPARISON_COLUMNS].reset_index(drop=True)
