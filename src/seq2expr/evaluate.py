"""How well each model predicts expression, with the uncertainty a paper needs, and paired model tests.

Every correlation comes with a 95 % interval from a gene-level bootstrap (fixed seed, so re-runs
are byte-identical) and, as a second opinion, the Fisher z interval. Two models evaluated on the
same test genes are not independent samples, so they are compared with paired statistics: a
paired bootstrap of the difference in Pearson r, Williams' t test for dependent correlations that
share the observed variable (Steiger 1980, eq. 7) and Zou's (2007) interval for that difference.

Several prediction files of one model (runs with different seeds) are one model with replicate
runs: its numbers are the mean over runs, with the standard deviation across runs beside them, and
its bootstrap intervals describe the run-averaged correlation. Baselines computed from the dataset
(the training mean, and a linear model on GC and CpG content) give every report its floor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LinearRegression

from seq2expr.errors import InputError
from seq2expr.predictions import NEAR_CONSTANT_SPREAD, SPLITS, is_near_constant

log = logging.getLogger(__name__)

CONFIDENCE = 0.95
MIN_GENES = 4
"""Fisher's interval and Williams' test need n > 3."""
OBSERVED_TOLERANCE = 1e-6
"""Observed values are written with 9 significant digits; anything further apart is a different target."""
MEAN_BASELINE = "mean_baseline"
GC_CPG_BASELINE = "gc_cpg_baseline"
BASELINES = (MEAN_BASELINE, GC_CPG_BASELINE)

METRIC_COLUMNS = [
    "model",
    "split",
    "n",
    "n_runs",
    "pearson",
    "pearson_ci_low",
    "pearson_ci_high",
    "pearson_fisher_low",
    "pearson_fisher_high",
    "spearman",
    "spearman_ci_low",
    "spearman_ci_high",
    "r2",
    "mse",
    "mae",
    "pearson_sd",
    "spearman_sd",
    "r2_sd",
    "mse_sd",
    "mae_sd",
    "near_constant",
]
COMPARISON_COLUMNS = [
    "model_a",
    "model_b",
    "n",
    "pearson_a",
    "pearson_b",
    "r_ab",
    "delta_r",
    "delta_r_ci_low",
    "delta_r_ci_high",
    "zou_ci_low",
    "zou_ci_high",
    "williams_t",
    "p_value",
    "p_value_holm",
    "near_constant",
]


@dataclass(frozen=True)
class ModelRuns:
    """One model's predictions: a row per gene (sorted by gene id) and a column per run (seed)."""

    name: str
    genes: pd.DataFrame
    """Indexed by gene_id, columns split and observed."""
    predicted: np.ndarray
    """Shape (genes, runs)."""
    sources: tuple[str, ...]

    @property
    def n_runs(self) -> int:
        return int(self.predicted.shape[1])

    @property
    def is_constant(self) -> bool:
        """A constant prediction has no correlation with anything, so it is left out of comparisons."""
        return bool(np.all(np.ptp(self.predicted, axis=0) == 0))

    def subset(self, gene_ids: pd.Index) -> ModelRuns:
        positions = self.genes.index.get_indexer(gene_ids)
        return ModelRuns(self.name, self.genes.iloc[positions], self.predicted[positions], self.sources)


# --- checking and grouping the inputs ---------------------------------------------------------


def check_predictions(table: pd.DataFrame, source: str) -> None:
    """What one predictions file must hold for the evaluation to mean anything."""
    models = sorted(table["model"].astype(str).unique())
    if len(models) != 1:
        raise InputError(f"expected the predictions of one model, found {len(models)}: {', '.join(models)}", source)
    if models[0] in BASELINES:
        raise InputError(f"model name {models[0]!r} is reserved for the baseline computed from the dataset", source)
    duplicated = table["gene_id"].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(f"gene {table['gene_id'].iloc[row]} appears more than once", source, row + 2)
    n_test = int((table["split"] == "test").sum())
    if n_test == 0:
        raise InputError("no gene in the test split; the evaluation reports test-set performance", source)
    if n_test < MIN_GENES:
        raise InputError(f"only {n_test} test gene(s); at least {MIN_GENES} are needed for a correlation", source)
    for column in ("observed", "predicted"):
        values = table[column].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise InputError(f"{column} value {values[row]} is not a finite number", source, row + 2)


def group_models(tables: list[tuple[str, pd.DataFrame]]) -> list[ModelRuns]:
    """Gather the files of each model name into one model with one run per file.

    Files that share a model name are taken as runs of the same model with different seeds, so
    they must cover the same genes, splits and observed values; otherwise they are different
    models that were given the same name, and averaging them would be meaningless.
    """
    by_name: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for source, table in tables:
        check_predictions(table, source)
        by_name.setdefault(str(table["model"].iloc[0]), []).append((source, table.set_index("gene_id").sort_index()))
    models = [_merge_runs(name, runs) for name, runs in sorted(by_name.items())]
    _check_same_observed(models)
    return models


def _merge_runs(name: str, runs: list[tuple[str, pd.DataFrame]]) -> ModelRuns:
    first_source, first = runs[0]
    for source, table in runs[1:]:
        same = (
            table.index.equals(first.index)
            and table["split"].equals(first["split"])
            and np.allclose(table["observed"], first["observed"], rtol=0, atol=OBSERVED_TOLERANCE)
        )
        if not same:
            raise InputError(
                f"model {name!r} is also named in {first_source} but with other genes, splits or observed values; "
                "files of one model (runs with different seeds) must share them, different models need different names",
                source,
            )
    predicted = np.column_stack([table["predicted"].to_numpy(dtype=float) for _, table in runs])
    # Runs in a fixed order (by their values, not by file order, which Nextflow does not fix), so sums are reproducible.
    order = sorted(range(len(runs)), key=lambda column: predicted[:, column].tobytes())
    predicted = predicted[:, order]
    sources = [runs[column][0] for column in order]
    for column in range(len(order) - 1):
        if np.array_equal(predicted[:, column], predicted[:, column + 1]):
            raise InputError(
                f"the same predictions of model {name!r} are given twice (also in {sources[column]})",
                sources[column + 1],
            )
    return ModelRuns(
        name=name,
        genes=first[["split", "observed"]],
        predicted=predicted,
        sources=tuple(sources),
    )


def _check_same_observed(models: list[ModelRuns]) -> None:
    """Models compared on a gene must have been given the same observed value for it."""
    for left, right in combinations(models, 2):
        shared = left.genes.index.intersection(right.genes.index)
        difference = np.abs(left.genes.loc[shared, "observed"] - right.genes.loc[shared, "observed"])
        if (difference > OBSERVED_TOLERANCE).any():
            gene = difference.index[int(np.argmax(difference.to_numpy() > OBSERVED_TOLERANCE))]
            raise InputError(
                f"gene {gene} has observed {right.genes.loc[gene, 'observed']:.6g} here but "
                f"{left.genes.loc[gene, 'observed']:.6g} for model {left.name!r} ({left.sources[0]}); "
                "the models were not evaluated on the same dataset",
                right.sources[0],
            )


# --- baselines from the dataset ---------------------------------------------------------------


def sequence_composition(sequences: pd.Series) -> np.ndarray:
    """GC fraction, CpG observed/expected ratio and CpG density of each sequence (N bases ignored).

    These are the classic sequence correlates of promoter activity (CpG-island promoters are
    mostly broadly expressed), so a model must beat a fit on them to claim it read more.
    """
    upper = sequences.str.upper()
    counts = {base: upper.str.count(base).to_numpy(dtype=float) for base in "ACGT"}
    cpg = upper.str.count("CG").to_numpy(dtype=float)
    length = counts["A"] + counts["C"] + counts["G"] + counts["T"]
    with np.errstate(divide="ignore", invalid="ignore"):
        gc = (counts["C"] + counts["G"]) / length
        cpg_ratio = np.where(counts["C"] * counts["G"] > 0, cpg * length / (counts["C"] * counts["G"]), 0.0)
        cpg_density = cpg / np.maximum(length - 1, 1)
    return np.column_stack([np.nan_to_num(gc), cpg_ratio, cpg_density])


def baseline_models(dataset: pd.DataFrame, source: str) -> list[ModelRuns]:
    """The training-mean predictor and a GC/CpG linear model, both fitted on train + val."""
    table = dataset.set_index("gene_id").sort_index()
    if not (table["split"] == "test").any():
        raise InputError("no gene in the test split", source)
    fit = table["split"].isin(["train", "val"]).to_numpy()
    if fit.sum() < MIN_GENES:
        raise InputError(f"only {int(fit.sum())} train/val gene(s); too few to fit the baselines", source)
    target = table["target"].to_numpy(dtype=float)
    features = sequence_composition(table["sequence"])
    regression = LinearRegression().fit(features[fit], target[fit])
    genes = table[["split"]].assign(observed=target)
    mean = np.full(len(table), target[fit].mean())
    return [
        ModelRuns(GC_CPG_BASELINE, genes, regression.predict(features)[:, None], (source,)),
        ModelRuns(MEAN_BASELINE, genes, mean[:, None], (source,)),
    ]


def check_against_dataset(models: list[ModelRuns], dataset: pd.DataFrame, source: str) -> None:
    """Baselines only give context if the models were evaluated on this very dataset."""
    table = dataset.set_index("gene_id")
    for model in models:
        missing = model.genes.index.difference(table.index)
        if len(missing):
            raise InputError(
                f"{len(missing)} gene(s) of model {model.name!r} ({model.sources[0]}) are not in the dataset, "
                f"e.g. {missing[0]}",
                source,
            )
        genes = table.loc[model.genes.index]
        # Test genes must be the dataset's; a model may hold part of train out as its own val.
        moved = (genes["split"] == "test") != (model.genes["split"] == "test")
        if moved.any():
            gene = moved.index[int(np.argmax(moved.to_numpy()))]
            raise InputError(
                f"gene {gene} is in split {genes.loc[gene, 'split']!r} here but {model.genes.loc[gene, 'split']!r} "
                f"for model {model.name!r} ({model.sources[0]}); the models used another split",
                source,
            )
        off = (genes["target"] - model.genes["observed"]).abs() > OBSERVED_TOLERANCE
        if off.any():
            gene = off.index[int(np.argmax(off.to_numpy()))]
            raise InputError(
                f"gene {gene} has target {genes.loc[gene, 'target']:.6g} here but observed "
                f"{model.genes.loc[gene, 'observed']:.6g} for model {model.name!r} ({model.sources[0]})",
                source,
            )


# --- statistics -------------------------------------------------------------------------------


def pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis (NaN where either side is constant), vectorised over the others."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xc * yc).sum(axis=-1) / np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    # A constant side leaves rounding noise in its centred values, not exact zeros: r is undefined there.
    constant = (np.ptp(x, axis=-1) == 0) | (np.ptp(y, axis=-1) == 0)
    return np.where(constant, np.nan, np.clip(r, -1.0, 1.0))


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho along the last axis: Pearson r of average ranks."""
    return pearson_rows(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1))


def bootstrap_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """Gene-level resamples, shape (resamples, n); the same seed and n give the same resamples.

    Genes are always sorted by id before this is applied, so two models on the same genes are
    resampled identically, which is what makes the comparison bootstrap paired.
    """
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def percentile_interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval, ignoring resamples where the statistic is undefined."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def fisher_interval(r: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Fisher z interval for a Pearson r from n pairs (the normal approximation, n > 3)."""
    if not np.isfinite(r) or n <= 3:
        return float("nan"), float("nan")
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    half = stats.norm.ppf(0.5 + confidence / 2) / np.sqrt(n - 3)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def williams_test(r_jk: float, r_jh: float, r_kh: float, n: int) -> tuple[float, float]:
    """Williams' t for H0: rho_jk = rho_jh, two correlations sharing variable j (df = n - 3).

    j is the observed expression, k and h the two models' predictions and r_kh their correlation.
    Returns (t, two-sided p).
    """
    det = 1 - r_jk**2 - r_jh**2 - r_kh**2 + 2 * r_jk * r_jh * r_kh
    mean = (r_jk + r_jh) / 2
    denominator = 2 * (n - 1) / (n - 3) * det + mean**2 * (1 - r_kh) ** 3
    t = (r_jk - r_jh) * np.sqrt((n - 1) * (1 + r_kh) / denominator)
    return float(t), float(2 * stats.t.sf(abs(t), n - 3))


def zou_interval(r_jk: float, r_jh: float, r_kh: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Zou's (2007) interval for rho_jk - rho_jh from the two Fisher intervals and their correlation."""
    l1, u1 = fisher_interval(r_jk, n, confidence)
    l2, u2 = fisher_interval(r_jh, n, confidence)
    c = ((r_kh - r_jk * r_jh / 2) * (1 - r_jk**2 - r_jh**2 - r_kh**2) + r_kh**3) / ((1 - r_jk**2) * (1 - r_jh**2))
    delta = r_jk - r_jh
    low = delta - np.sqrt((r_jk - l1) ** 2 + (u2 - r_jh) ** 2 - 2 * c * (r_jk - l1) * (u2 - r_jh))
    high = delta + np.sqrt((u1 - r_jk) ** 2 + (r_jh - l2) ** 2 - 2 * c * (u1 - r_jk) * (r_jh - l2))
    return float(low), float(high)


def holm_adjust(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment for the family of pairwise comparisons (NaN stays NaN)."""
    adjusted = np.full(p_values.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p_values))
    order = finite[np.argsort(p_values[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, position in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[position]))
        adjusted[position] = running
    return adjusted


# --- metrics and comparisons -----------------------------------------------------------------


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Mean over runs and their standard deviation (NaN for a single run)."""
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    return mean, sd


def split_metrics(model: ModelRuns, split: str, resamples: int, seed: int) -> dict[str, object]:
    """One row of metrics.tsv: the model on one split's genes."""
    rows = (model.genes["split"] == split).to_numpy()
    observed = model.genes["observed"].to_numpy(dtype=float)[rows]
    predicted = model.predicted[rows]
    n = int(rows.sum())
    per_run = predicted.T  # (runs, genes)
    pearson = pearson_rows(observed, per_run)
    spearman = spearman_rows(observed, per_run)
    residual = per_run - observed
    total = float(np.sum((observed - observed.mean()) ** 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1 - np.sum(residual**2, axis=1) / total
    mse = np.mean(residual**2, axis=1)
    mae = np.mean(np.abs(residual), axis=1)

    index = bootstrap_indices(n, resamples, seed)
    boot_observed = observed[index]
    boot_pearson = np.zeros(resamples)
    boot_spearman = np.zeros(resamples)
    observed_ranks = stats.rankdata(boot_observed, axis=-1)
    for run in range(model.n_runs):
        boot_predicted = predicted[:, run][index]
        boot_pearson += pearson_rows(boot_observed, boot_predicted) / model.n_runs
        boot_spearman += pearson_rows(observed_ranks, stats.rankdata(boot_predicted, axis=-1)) / model.n_runs

    pearson_mean, pearson_sd = _mean_sd(pearson)
    spearman_mean, spearman_sd = _mean_sd(spearman)
    r2_mean, r2_sd = _mean_sd(r2)
    mse_mean, mse_sd = _mean_sd(mse)
    mae_mean, mae_sd = _mean_sd(mae)
    pearson_low, pearson_high = percentile_interval(boot_pearson)
    fisher_low, fisher_high = fisher_interval(pearson_mean, n)
    spearman_low, spearman_high = percentile_interval(boot_spearman)
    return {
        "model": model.name,
        "split": split,
        "n": n,
        "n_runs": model.n_runs,
        "pearson": pearson_mean,
        "pearson_ci_low": pearson_low,
        "pearson_ci_high": pearson_high,
        "pearson_fisher_low": fisher_low,
        "pearson_fisher_high": fisher_high,
        "spearman": spearman_mean,
        "spearman_ci_low": spearman_low,
        "spearman_ci_high": spearman_high,
        "r2": r2_mean,
        "mse": mse_mean,
        "mae": mae_mean,
        "pearson_sd": pearson_sd,
        "spearman_sd": spearman_sd,
        "r2_sd": r2_sd,
        "mse_sd": mse_sd,
        "mae_sd": mae_sd,
        "near_constant": is_near_constant(observed, predicted.mean(axis=1)),
    }


def metrics_table(models: list[ModelRuns], resamples: int, seed: int) -> pd.DataFrame:
    """metrics.tsv: a row per model and split that has genes, in the order given then train/val/test."""
    rows = []
    for model in models:
        for split in SPLITS:
            n = int((model.genes["split"] == split).sum())
            if n == 0:
                continue
            if n < MIN_GENES:
                log.warning(
                    "model %s has only %d %s gene(s): its correlations there are undefined", model.name, n, split
                )
            rows.append(split_metrics(model, split, resamples, seed))
    table = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    for model_name, splits in table[table["near_constant"]].groupby("model", sort=False)["split"]:
        if model_name != MEAN_BASELINE:  # constant by design
            log.warning(
                "model %s predicts a near-constant value on %s (SD under %g of the observed SD): its correlations "
                "there measure noise, not skill",
                model_name,
                ", ".join(splits),
                NEAR_CONSTANT_SPREAD,
            )
    return table


def compare_pair(left: ModelRuns, right: ModelRuns, resamples: int, seed: int) -> dict[str, object]:
    """Paired comparison of two models on the test genes they share."""
    shared = left.genes.index[(left.genes["split"] == "test").to_numpy()].intersection(
        right.genes.index[(right.genes["split"] == "test").to_numpy()]
    )
    n = len(shared)
    if n < MIN_GENES:
        raise InputError(
            f"models {left.name!r} ({left.sources[0]}) and {right.name!r} ({right.sources[0]}) share {n} test gene(s); "
            f"a paired comparison needs at least {MIN_GENES} (were they run on the same dataset and split?)"
        )
    a, b = left.subset(shared), right.subset(shared)
    observed = a.genes["observed"].to_numpy(dtype=float)
    r_a = float(np.mean(pearson_rows(observed, a.predicted.T)))
    r_b = float(np.mean(pearson_rows(observed, b.predicted.T)))
    r_ab = float(np.mean(pearson_rows(a.predicted.T[:, None, :], b.predicted.T[None, :, :])))

    index = bootstrap_indices(n, resamples, seed)
    boot_observed = observed[index]
    delta = np.zeros(resamples)
    for run in range(a.n_runs):
        delta += pearson_rows(boot_observed, a.predicted[:, run][index]) / a.n_runs
    for run in range(b.n_runs):
        delta -= pearson_rows(boot_observed, b.predicted[:, run][index]) / b.n_runs
    delta_low, delta_high = percentile_interval(delta)
    t, p = williams_test(r_a, r_b, r_ab, n)
    zou_low, zou_high = zou_interval(r_a, r_b, r_ab, n)
    return {
        "model_a": a.name,
        "model_b": b.name,
        "n": n,
        "pearson_a": r_a,
        "pearson_b": r_b,
        "r_ab": r_ab,
        "delta_r": r_a - r_b,
        "delta_r_ci_low": delta_low,
        "delta_r_ci_high": delta_high,
        "zou_ci_low": zou_low,
        "zou_ci_high": zou_high,
        "williams_t": t,
        "p_value": p,
        "p_value_holm": float("nan"),
        "near_constant": any(
            is_near_constant(observed, model.predicted.mean(axis=1)) for model in (a, b)
        ),  # the test then compares noise
    }


def comparison_table(models: list[ModelRuns], resamples: int, seed: int) -> pd.DataFrame:
    """comparison.tsv: every pair of non-constant models, with Holm-adjusted p-values over the pairs."""
    comparable = [model for model in models if not model.is_constant]
    for model in models:
        if model.is_constant:
            log.info("model %s predicts a constant: it has no correlation to compare", model.name)
    rows = [compare_pair(left, right, resamples, seed) for left, right in combinations(comparable, 2)]
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    if not table.empty:
        table["p_value_holm"] = holm_adjust(table["p_value"].to_numpy(dtype=float))
    return table


def mean_prediction(model: ModelRuns) -> pd.DataFrame:
    """The run-averaged prediction per gene (for plots), with split and observed."""
    return model.genes.assign(predicted=model.predicted.mean(axis=1))
