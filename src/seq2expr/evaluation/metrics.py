"""How well each model predicts expression: the baselines and the metrics per split and stratum.

The models arrive checked and gathered into blocks of runs (`seq2expr.evaluation.runs`). Baselines
computed from the dataset (the training mean, a linear model on GC and CpG content) give every
report its floor; under cross-fitting they are fitted per fold like the models. A model with
several runs (seeds) is reported as the mean over runs, the SD across runs beside it, and the r
of the run-mean prediction (`pearson_ensemble`).

metrics.tsv has a row per model × split (stratum `all`) and, on the test split, per stratum
(`seq2expr.evaluation.strata`). Under cross-fitting the test rows hold the pooled out-of-fold
predictions of every gene (`pearson`: the mean over runs and repeats of the pooled r), the mean of
the per-fold r beside it (`pearson_folds`, per fold in folds.tsv); the train and val rows are
left out (each gene is a training gene of K − 1 fits). The interval of r is the protocol's
(`seq2expr.stats`): cross-fitted, the corrected resampled t on the per-fold r (Nadeau & Bengio
2003); a single split, the cluster bootstrap over gene groups with the runs held fixed plus the
between-run variance (t with Welch–Satterthwaite df); both on Fisher's z scale. Fewer than
`MIN_INTERVAL_GENES` genes: Fisher's z interval only. `ci_method`, `ci_df` and
`dropped_resamples` say which was used. Spearman and the on/off AUROC keep percentile intervals
of the run-mean statistic on a single split (runs held fixed), the corrected t per fold under
cross-fitting. R² is out-of-sample: against the training mean (the mean target of the genes each
fit was fitted on), not the test mean; the calibration slope and intercept are the least-squares
line of observed on predicted. Each row says what the model was fitted on and, on val rows, what
val was used for (`fitted_on`, `val_use`, from `bookkeeping`, the one table of how each model uses
its genes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from seq2expr.data.folds import fit_split_names, fold_view, n_folds, n_repeats
from seq2expr.errors import InputError
from seq2expr.evaluation.runs import MIN_GENES, MIN_INTERVAL_GENES, Block, ModelRuns, assemble, model_splits
from seq2expr.evaluation.strata import ALL, GeneStrata, gene_strata, sequence_composition
from seq2expr.io.predictions import NEAR_CONSTANT_SPREAD, SPLITS, is_near_constant
from seq2expr.models.roster import BASELINES, EARLY_STOPPED, GC_CPG_BASELINE, MEAN_BASELINE, MODELS, is_probe
from seq2expr.models.training.refit import EARLY_STOPPING, FITTED_ON, TRAIN, TRAIN_VAL, FitRecord
from seq2expr.stats import (
    Estimate,
    auroc,
    cluster_weights,
    corrected_resampled_t,
    fisher_interval,
    group_codes,
    pearson_rows,
    percentile_interval,
    runs_fixed_t,
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
    "pearson_ensemble",
    "pearson_folds",
    "ci_method",
    "ci_df",
    "dropped_resamples",
    "pearson_fisher_low",
    "pearson_fisher_high",
    "spearman",
    "spearman_ci_low",
    "spearman_ci_high",
    "r2",
    "mse",
    "mae",
    "calibration_slope",
    "calibration_intercept",
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
FOLD_COLUMNS = ["model", "repeat", "fold", "n", "n_runs", "pearson", "spearman", "mse"]


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
"""statistic(observed (genes,), prediction (genes,), weights (resamples, genes)) -> (resamples,)"""
RowStatistic = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""statistic(observed (genes,), predictions (runs, genes)) -> (runs,)"""


def per_run_resampled(
    statistic: Statistic, predicted: np.ndarray, target: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """`statistic(target, run, weights)` of every run on every resample, shape (resamples, runs): the runs
    are held fixed (each resample evaluates every run on the same genes)."""
    return np.column_stack([statistic(target, predicted[:, run], weights) for run in range(predicted.shape[1])])


def resampled(statistic: Statistic, model: ModelRuns, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The run-mean statistic per resample, runs held fixed."""
    return per_run_resampled(statistic, model.predicted, target, weights).mean(axis=1)


def resample_weights(strata: GeneStrata, gene_ids: pd.Index, resamples: int, seed: int) -> np.ndarray:
    """Cluster-bootstrap weights of these genes (their groups, or one group per gene)."""
    return cluster_weights(group_codes(gene_ids, strata.groups), resamples, seed)


def mse_rows(observed: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Mean squared error along the last axis."""
    return np.mean((np.asarray(predicted, dtype=float) - observed) ** 2, axis=-1)


def weighted_mse(observed: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (weights * (predicted - observed) ** 2).sum(axis=-1) / weights.sum(axis=-1)


def test_train_ratio(model: ModelRuns) -> float:
    """n_test / n_train of a cross-fitted fit: 1 / (K − 1)."""
    return 1.0 / (model.folds - 1) if model.folds > 1 else float("nan")


def block_values(model: ModelRuns, genes: pd.Index, statistic: RowStatistic) -> np.ndarray:
    """Per block (in (repeat, fold) order): the mean over its runs of `statistic` on its test genes among `genes`."""
    values = []
    for block in model.fits:
        part = block.subset(block.test_genes().intersection(genes))
        observed = part.genes["observed"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            values.append(float(np.mean(statistic(observed, part.predicted.T))) if len(observed) else float("nan"))
    return np.asarray(values)


def no_interval(value: float, method: str) -> Estimate:
    nan = float("nan")
    return Estimate(value, nan, nan, nan, nan, nan, method)


def fisher_estimate(r: float, n: int) -> Estimate:
    """Fisher's z interval of r from n genes, for strata too small for a resampled interval."""
    low, high = fisher_interval(r, n)
    return Estimate(r, low, high, float("nan"), float("nan"), float("inf"),
                    f"Fisher z (n = {n} < {MIN_INTERVAL_GENES}: no resampled interval)")  # fmt: skip


def pearson_estimate(model: ModelRuns, genes: pd.Index, strata: GeneStrata, resamples: int, seed: int) -> Estimate:
    """The protocol's interval of the model's r on these test genes (see the module docstring)."""
    part = model.subset(genes)
    observed = part.genes["observed"].to_numpy(dtype=float)
    per_run = pearson_rows(observed, part.predicted.T)
    if len(genes) < MIN_INTERVAL_GENES:
        return fisher_estimate(float(np.mean(per_run)), len(genes))
    if model.cross_fitted:
        return corrected_resampled_t(block_values(model, genes, pearson_rows), test_train_ratio(model), fisher_z=True)
    weights = resample_weights(strata, genes, resamples, seed)
    return runs_fixed_t(per_run, per_run_resampled(weighted_pearson, part.predicted, observed, weights), fisher_z=True)


def fit_genes_mean(genes: pd.DataFrame, cross_fitted: bool) -> float:
    """The mean target of the genes a fit was fitted on (NaN without any)."""
    fitted = genes["split"].isin(fit_split_names(cross_fitted)).to_numpy()
    return float(genes["observed"].to_numpy(dtype=float)[fitted].mean()) if fitted.any() else float("nan")


def training_means(model: ModelRuns) -> np.ndarray:
    """Per gene and pooled column: the training mean of the fit that predicted it, shape (genes, runs × repeats)."""
    if not model.cross_fitted:
        return np.full(model.predicted.shape, fit_genes_mean(model.genes, False))
    means = np.full(model.predicted.shape, np.nan)
    for block in model.fits:
        rows = model.genes.index.get_indexer(block.test_genes())
        columns = model.repeat_columns()[block.repeat]
        means[np.ix_(rows, columns)] = fit_genes_mean(block.genes, True)
    return means


def calibration(observed: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of the least-squares line observed ~ predicted, per run (predicted: (runs, genes))."""
    centred = predicted - predicted.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (centred * (observed - observed.mean())).sum(axis=-1) / (centred * centred).sum(axis=-1)
    slope = np.where(np.ptp(predicted, axis=-1) == 0, np.nan, slope)
    return slope, observed.mean() - slope * predicted.mean(axis=-1)


# --- baselines from the dataset ---------------------------------------------------------------


def baseline_models(dataset: pd.DataFrame, source: str) -> list[ModelRuns]:
    """The training-mean predictor and a GC/CpG linear model.

    A single split: both fitted on train + val, predicting every gene. Cross-fitted: fitted per fold and
    repeat on that fit's genes (`train` outside the fold, the inner val held out as by every model) and
    predicting the fold's test genes, pooled like the models' out-of-fold predictions.
    """
    table = dataset.set_index("gene_id").sort_index()
    features = sequence_composition(table["sequence"])
    folds = n_folds(table)
    if folds == 0:
        if not (table["split"] == "test").any():
            raise InputError("no gene in the test split", source)
        blocks = [_baseline_blocks(table, features, 0, 0, False, source)]
    else:
        blocks = [
            _baseline_blocks(fold_view(table, fold, repeat, source), features, fold, repeat, True, source)
            for repeat in range(n_repeats(table))
            for fold in range(1, folds + 1)
        ]
    return [
        assemble(name, [pair[index] for pair in blocks]) for index, name in enumerate((GC_CPG_BASELINE, MEAN_BASELINE))
    ]


def _baseline_blocks(
    view: pd.DataFrame, features: np.ndarray, fold: int, repeat: int, cross_fitted: bool, source: str
) -> tuple[Block, Block]:
    """The GC/CpG and the mean baseline of one fit: fitted on its fit genes, predicting every gene."""
    fit = view["split"].isin(fit_split_names(cross_fitted)).to_numpy()
    if fit.sum() < MIN_GENES:
        raise InputError(f"only {int(fit.sum())} fit gene(s) in fold {fold}; too few to fit the baselines", source)
    target = view["target"].to_numpy(dtype=float)
    regression = LinearRegression().fit(features[fit], target[fit])
    genes = view[["split"]].assign(observed=target)
    mean = np.full(len(view), target[fit].mean())
    return (
        Block(fold, repeat, genes, regression.predict(features)[:, None], (source,)),
        Block(fold, repeat, genes, mean[:, None], (source,)),
    )


# --- metrics -----------------------------------------------------------------------------------


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Mean over runs and their standard deviation (NaN for a single run)."""
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    return mean, sd


def _column_estimate(
    model: ModelRuns, genes: pd.Index, rows: RowStatistic, weighted: Statistic, weights: np.ndarray | None, **kw: bool
) -> tuple[float, float]:
    """A secondary interval (Spearman, AUROC): per fold (corrected t) or percentile of the run-mean statistic."""
    if len(genes) < MIN_INTERVAL_GENES:
        return float("nan"), float("nan")
    if model.cross_fitted:
        estimate = corrected_resampled_t(block_values(model, genes, rows), test_train_ratio(model), **kw)
        return estimate.low, estimate.high
    assert weights is not None
    part = model.subset(genes)
    return percentile_interval(resampled(weighted, part, part.genes["observed"].to_numpy(dtype=float), weights))


def auroc_blocks(model: ModelRuns, genes: pd.Index, expressed: pd.Series) -> np.ndarray:
    """The on/off AUROC per block (mean over its runs) on its test genes among `genes`."""
    values = []
    for block in model.fits:
        part = block.subset(block.test_genes().intersection(genes))
        labels = expressed.reindex(part.genes.index).to_numpy(dtype=bool)
        values.append(float(np.mean([auroc(run, labels) for run in part.predicted.T])) if len(labels) else np.nan)
    return np.asarray(values)


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
    positions = model.genes.index.get_indexer(genes)
    part = model.subset(genes)
    observed = part.genes["observed"].to_numpy(dtype=float)
    n = len(genes)
    per_run = part.predicted.T  # (runs × repeats, genes)
    residual = per_run - observed
    baseline = training_means(model)[positions].T
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1 - np.sum(residual**2, axis=1) / np.sum((observed - baseline) ** 2, axis=1)
        mse = np.mean(residual**2, axis=1)
        mae = np.mean(np.abs(residual), axis=1)
    pearsons = pearson_rows(observed, per_run)
    if model.is_constant:
        pearsons = np.full_like(pearsons, np.nan)  # a cross-fitted constant differs between folds only
    pearson_mean, pearson_sd = _mean_sd(pearsons)
    spearman_mean, spearman_sd = _mean_sd(spearman_rows(observed, per_run))
    ensemble = float(np.mean([pearson_rows(observed, per_run[columns].mean(axis=0)) for columns in
                              model.repeat_columns()]))  # fmt: skip
    slope, intercept = calibration(observed, per_run)
    if model.is_constant:
        estimate = no_interval(float("nan"), "none (constant prediction: no correlation)")
    elif n < MIN_GENES:
        estimate = no_interval(float("nan"), f"none (n = {n} < {MIN_GENES})")
    else:
        estimate = pearson_estimate(model, genes, strata, resamples, seed)
    weights = None
    if not model.cross_fitted and n >= MIN_INTERVAL_GENES:
        weights = resample_weights(strata, genes, resamples, seed)
    spearman_low, spearman_high = _column_estimate(
        model, genes, spearman_rows, weighted_spearman, weights, fisher_z=True
    )
    on_off, auroc_low, auroc_high = float("nan"), float("nan"), float("nan")
    if strata.expressed is not None and n:
        labels = strata.expressed.reindex(genes).to_numpy(dtype=bool)
        on_off = float(np.mean([auroc(run, labels) for run in per_run]))
        if model.cross_fitted and n >= MIN_INTERVAL_GENES:
            interval = corrected_resampled_t(auroc_blocks(model, genes, strata.expressed), test_train_ratio(model))
            auroc_low, auroc_high = interval.low, interval.high
        elif weights is not None:

            def on_off_statistic(_: np.ndarray, predicted: np.ndarray, w: np.ndarray) -> np.ndarray:
                return weighted_auroc(predicted, labels, w)

            auroc_low, auroc_high = percentile_interval(resampled(on_off_statistic, part, observed, weights))
    fitted_on, val_use = (fit.fitted_on, fit.val_use) if fit else bookkeeping(model.name)
    r2_mean, r2_sd = _mean_sd(r2)
    mse_mean, mse_sd = _mean_sd(mse)
    mae_mean, mae_sd = _mean_sd(mae)
    fisher_low, fisher_high = fisher_interval(pearson_mean, n)
    folds_mean = float("nan")
    if split == "test" and not model.is_constant:
        per_fold = block_values(model, genes, pearson_rows)
        folds_mean = float(per_fold[np.isfinite(per_fold)].mean()) if np.isfinite(per_fold).any() else folds_mean
    return {
        "model": model.name,
        "split": split,
        "stratum": stratum,
        "n": n,
        "n_runs": model.n_runs,
        "pearson": pearson_mean,
        "pearson_ci_low": estimate.low,
        "pearson_ci_high": estimate.high,
        "pearson_ensemble": float("nan") if model.is_constant else ensemble,
        "pearson_folds": folds_mean,
        "ci_method": estimate.method,
        "ci_df": estimate.df,
        "dropped_resamples": estimate.dropped,
        "pearson_fisher_low": fisher_low,
        "pearson_fisher_high": fisher_high,
        "spearman": spearman_mean,
        "spearman_ci_low": spearman_low,
        "spearman_ci_high": spearman_high,
        "r2": r2_mean,
        "mse": mse_mean,
        "mae": mae_mean,
        "calibration_slope": float(np.mean(slope)) if n else float("nan"),
        "calibration_intercept": float(np.mean(intercept)) if n else float("nan"),
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


def folds_table(models: list[ModelRuns]) -> pd.DataFrame:
    """folds.tsv: each model's r, Spearman and MSE per fit (fold of a repeat) on the fold's test genes, mean
    over its runs; a single split is the one row (repeat 0, fold 0)."""
    rows = []
    for model in models:
        for block in model.fits:
            tested = block.subset(block.test_genes())
            observed = tested.genes["observed"].to_numpy(dtype=float)
            runs = tested.predicted.T
            with np.errstate(invalid="ignore"):
                rows.append({
                    "model": model.name,
                    "repeat": block.repeat,
                    "fold": block.fold,
                    "n": len(observed),
                    "n_runs": block.n_runs,
                    "pearson": float(np.mean(pearson_rows(observed, runs))),
                    "spearman": float(np.mean(spearman_rows(observed, runs))),
                    "mse": float(np.mean(mse_rows(observed, runs))),
                })  # fmt: skip
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


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
        for split in ("test",) if model.cross_fitted else SPLITS:
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
