"""How well each model predicts expression: the baselines and the metrics per split and stratum.

The models arrive checked and gathered into runs (`seq2expr.evaluation.runs`). Baselines computed
from the dataset (the training mean, a linear model on GC and CpG content) give every report its
floor. A model with several runs (seeds) is reported as the mean over runs, the SD across runs
beside it.

metrics.tsv has a row per model × split (stratum `all`) and, on the test split, per stratum
(`seq2expr.evaluation.strata`). Each correlation comes with a 95 % cluster-bootstrap interval over the gene
groups (`seq2expr.stats`; seeds resampled too when a model has several runs) and, as a second
opinion, the Fisher z interval; the on/off AUROC with its interval. Each row says what the
model was fitted on and, on val rows, what val was used for (`fitted_on`, `val_use`, from
`bookkeeping`, the one table of how each model uses its genes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from seq2expr.errors import InputError
from seq2expr.evaluation.runs import MIN_GENES, ModelRuns, model_splits
from seq2expr.evaluation.strata import ALL, GeneStrata, gene_strata, sequence_composition
from seq2expr.io.predictions import NEAR_CONSTANT_SPREAD, SPLITS, is_near_constant
from seq2expr.models.roster import BASELINES, EARLY_STOPPED, GC_CPG_BASELINE, MEAN_BASELINE, MODELS, is_probe
from seq2expr.models.training.refit import EARLY_STOPPING, FITTED_ON, TRAIN, TRAIN_VAL, FitRecord
from seq2expr.stats import (
    auroc,
    cluster_weights,
    fisher_interval,
    group_codes,
    pearson_rows,
    percentile_interval,
    seed_average,
    spearman_rows,
    weighted_auroc,
    weighted_pearson,
    weighted_spearman,
)

log = logging.getLogger(__name__)


METRIC_COLUMNS = [
    "model",
    "split",
    "stratum",
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
    "auroc_on_off",
    "auroc_ci_low",
    "auroc_ci_high",
    "fitted_on",
    "val_use",
]


def bookkeeping(model: str) -> tuple[str, str]:
    """(fitted_on, val_use) of a model, by name: the one place that knows how each model uses val.

    The roster says which models stop early on val (they fit on train); the others, the baselines
    and the frozen-embedding probes fit on train + val together, so their val row is not held out
    ("fitted on"). A model not in the roster gets empty cells rather than a guess.
    """
    fitted_together = {model.name for model in MODELS if not model.early_stopped}
    if model in fitted_together or model in BASELINES or is_probe(model):
        return TRAIN_VAL, FITTED_ON
    if model in EARLY_STOPPED:
        return TRAIN, EARLY_STOPPING
    return "", ""


Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def resampled(statistic: Statistic, model: ModelRuns, target: np.ndarray, weights: np.ndarray, seed: int) -> np.ndarray:
    """`statistic(target, prediction, weights)` per resample, averaged over (resampled) runs."""
    per_run = np.column_stack([statistic(target, model.predicted[:, run], weights) for run in range(model.n_runs)])
    return seed_average(per_run, seed, model.stream)


def resample_weights(strata: GeneStrata, gene_ids: pd.Index, resamples: int, seed: int) -> np.ndarray:
    """Cluster-bootstrap weights of these genes (their groups, or one group per gene)."""
    return cluster_weights(group_codes(gene_ids, strata.groups), resamples, seed)


# --- baselines from the dataset ---------------------------------------------------------------


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


# --- metrics -----------------------------------------------------------------------------------


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Mean over runs and their standard deviation (NaN for a single run)."""
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    return mean, sd


def stratum_metrics(
    model: ModelRuns,
    split: str,
    stratum: str,
    strata: GeneStrata,
    resamples: int,
    seed: int,
    fit: FitRecord | None = None,
) -> dict[str, object]:
    """One row of metrics.tsv: the model on the genes of one split and stratum.

    `fit` is the model's fit.json when given: it, not the model's name, then says what the predicting
    weights were fitted on (a refit CNN or DNABERT-2 was fitted on val too).
    """
    in_split = model.genes.index[(model.genes["split"] == split).to_numpy()]
    genes = strata.genes(stratum, in_split)
    part = model.subset(genes)
    observed = part.genes["observed"].to_numpy(dtype=float)
    n = len(genes)
    per_run = part.predicted.T  # (runs, genes)
    residual = per_run - observed
    total = float(np.sum((observed - observed.mean()) ** 2)) if n else float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1 - np.sum(residual**2, axis=1) / total
        mse = np.mean(residual**2, axis=1)
        mae = np.mean(np.abs(residual), axis=1)
    pearson_mean, pearson_sd = _mean_sd(pearson_rows(observed, per_run))
    spearman_mean, spearman_sd = _mean_sd(spearman_rows(observed, per_run))

    weights = resample_weights(strata, genes, resamples, seed)
    pearson_low, pearson_high = percentile_interval(resampled(weighted_pearson, part, observed, weights, seed))
    spearman_low, spearman_high = percentile_interval(resampled(weighted_spearman, part, observed, weights, seed))
    on_off, auroc_low, auroc_high = float("nan"), float("nan"), float("nan")
    if strata.expressed is not None and n:
        labels = strata.expressed.reindex(genes).to_numpy(dtype=bool)
        on_off = float(np.mean([auroc(per_run[run], labels) for run in range(part.n_runs)]))

        def on_off_statistic(_: np.ndarray, predicted: np.ndarray, w: np.ndarray) -> np.ndarray:
            return weighted_auroc(predicted, labels, w)

        auroc_low, auroc_high = percentile_interval(resampled(on_off_statistic, part, observed, weights, seed))
    fitted_on, val_use = (fit.fitted_on, fit.val_use) if fit else bookkeeping(model.name)
    r2_mean, r2_sd = _mean_sd(r2)
    mse_mean, mse_sd = _mean_sd(mse)
    mae_mean, mae_sd = _mean_sd(mae)
    fisher_low, fisher_high = fisher_interval(pearson_mean, n)
    return {
        "model": model.name,
        "split": split,
        "stratum": stratum,
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
        "near_constant": bool(n) and is_near_constant(observed, part.predicted.mean(axis=1)),
        "auroc_on_off": on_off,
        "auroc_ci_low": auroc_low,
        "auroc_ci_high": auroc_high,
        "fitted_on": fitted_on,
        "val_use": val_use if split == "val" else "",
    }


def metrics_table(
    models: list[ModelRuns],
    resamples: int,
    seed: int,
    strata: GeneStrata | None = None,
    fits: Mapping[str, FitRecord] | None = None,
) -> pd.DataFrame:
    """metrics.tsv: per model (in the order given), each split with genes, then the test strata.

    Without `strata`, only `all`, every gene its own group. `fits`: fit.json records by model name.
    """
    fits = fits or {}
    strata = strata or gene_strata(model_splits(models))
    rows = []
    for model in models:
        for split in SPLITS:
            n = int((model.genes["split"] == split).sum())
            if n == 0:
                continue
            in_split = model.genes.index[(model.genes["split"] == split).to_numpy()]
            for stratum in strata.strata if split == "test" else [ALL]:
                if len(strata.genes(stratum, in_split)) == 0:
                    log.info("model %s: no %s gene in stratum %s", model.name, split, stratum)
                    continue
                row = stratum_metrics(model, split, stratum, strata, resamples, seed, fits.get(model.name))
                if int(row["n"]) < MIN_GENES:  # type: ignore[call-overload]
                    log.warning(
                        "model %s has only %d %s gene(s) in stratum %s: its correlations there are undefined",
                        model.name, row["n"], split, stratum,
                    )  # fmt: skip
                rows.append(row)
    table = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    flagged = table[table["near_constant"] & (table["stratum"] == ALL)]
    for model_name, splits in flagged.groupby("model", sort=False)["split"]:
        if model_name != MEAN_BASELINE:  # constant by design
            log.warning(
                "model %s predicts a near-constant value on %s (SD under %g of the observed SD): its correlations "
                "there measure noise, not skill",
                model_name,
                ", ".join(splits),
                NEAR_CONSTANT_SPREAD,
            )
    return table
