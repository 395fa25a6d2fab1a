"""How well each model predicts expression: the inputs checked, the baselines, the metrics per stratum.

Every model is read from its `predictions.tsv`; several files of one model name are runs with
different seeds (its numbers are the mean over runs, the SD across runs beside them). Baselines
computed from the dataset (the training mean, a linear model on GC and CpG content) give every
report its floor. Every model must predict every test gene, so that all numbers are over the
same genes.

metrics.tsv has a row per model × split (stratum `all`) and, on the test split, per stratum
(`seq2expr.strata`). Each correlation comes with a 95 % cluster-bootstrap interval over the gene
groups (`seq2expr.stats`; seeds resampled too when a model has several runs) and, as a second
opinion, the Fisher z interval; the on/off AUROC with its interval. Each row says what the
model was fitted on and, on val rows, what val was used for (`fitted_on`, `val_use`, from
`bookkeeping`, the one table of how each model uses its genes).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from seq2expr.dexter.model import MODEL_NAME as DEXTER
from seq2expr.errors import InputError
from seq2expr.predictions import NEAR_CONSTANT_SPREAD, SPLITS, is_near_constant
from seq2expr.stats import (
    CONFIDENCE,
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
from seq2expr.strata import ALL, GeneStrata, gene_strata, sequence_composition

log = logging.getLogger(__name__)

__all__ = ["CONFIDENCE"]  # re-exported: the report reads the level from here

MIN_GENES = 4
"""Fisher's interval and Williams' test need n > 3."""
OBSERVED_TOLERANCE = 1e-6
"""Observed values are written with 9 significant digits; anything further apart is a different target."""
MEAN_BASELINE = "mean_baseline"
GC_CPG_BASELINE = "gc_cpg_baseline"
BASELINES = (MEAN_BASELINE, GC_CPG_BASELINE)
TRAIN_VAL = "train+val"
TRAIN = "train"
FITTED_ON_VAL = "fitted on"
EARLY_STOPPING = "early stopping"
EARLY_STOPPED = ("CNN", "DNABERT-2")
"""The gradient-trained models (bin/train_cnn.py, bin/finetune_dnabert2.py): fitted on train, val stops them."""

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

    DExTER, the baselines and the frozen-embedding probes (a name starting with `probe` or ending
    in `_probe`) fit on train + val together, so their val row is not held out ("fitted on"). The
    CNN and DNABERT-2 fit on train and use val for early stopping. A model not in this table gets
    empty cells rather than a guess.
    """
    if model in (DEXTER, *BASELINES) or model.startswith("probe") or model.endswith("_probe"):
        return TRAIN_VAL, FITTED_ON_VAL
    if model in EARLY_STOPPED:
        return TRAIN, EARLY_STOPPING
    return "", ""


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

    @property
    def stream(self) -> int:
        """A fixed number per model name: its seed resamples are drawn apart from other models'."""
        return zlib.crc32(self.name.encode("utf-8"))

    def subset(self, gene_ids: pd.Index) -> ModelRuns:
        positions = self.genes.index.get_indexer(gene_ids)
        return ModelRuns(self.name, self.genes.iloc[positions], self.predicted[positions], self.sources)

    def test_genes(self) -> pd.Index:
        return self.genes.index[(self.genes["split"] == "test").to_numpy()]


Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def resampled(statistic: Statistic, model: ModelRuns, target: np.ndarray, weights: np.ndarray, seed: int) -> np.ndarray:
    """`statistic(target, prediction, weights)` per resample, averaged over (resampled) runs."""
    per_run = np.column_stack([statistic(target, model.predicted[:, run], weights) for run in range(model.n_runs)])
    return seed_average(per_run, seed, model.stream)


def resample_weights(strata: GeneStrata, gene_ids: pd.Index, resamples: int, seed: int) -> np.ndarray:
    """Cluster-bootstrap weights of these genes (their groups, or one group per gene)."""
    return cluster_weights(group_codes(gene_ids, strata.groups), resamples, seed)


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


def check_complete(models: list[ModelRuns], test_genes: pd.Index, reference: str) -> None:
    """Every model predicts every test gene (of the dataset, else of all models), or one clear error."""
    for model in models:
        missing = test_genes.difference(model.test_genes())
        if len(missing):
            raise InputError(
                f"model {model.name!r} predicts {len(test_genes) - len(missing)} of the {len(test_genes)} test genes "
                f"of {reference}: {len(missing)} missing (e.g. {missing[0]}); every model must predict every test "
                "gene so that all are compared on the same genes",
                model.sources[0],
            )


# --- metrics -----------------------------------------------------------------------------------


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Mean over runs and their standard deviation (NaN for a single run)."""
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    return mean, sd


def stratum_metrics(
    model: ModelRuns, split: str, stratum: str, strata: GeneStrata, resamples: int, seed: int
) -> dict[str, object]:
    """One row of metrics.tsv: the model on the genes of one split and stratum."""
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
    fitted_on, val_use = bookkeeping(model.name)
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


def model_splits(models: list[ModelRuns]) -> pd.Series:
    """gene id -> split over all models (sorted by gene id)."""
    splits = pd.concat([model.genes["split"] for model in models])
    return splits[~splits.index.duplicated()].sort_index()


def metrics_table(models: list[ModelRuns], resamples: int, seed: int, strata: GeneStrata | None = None) -> pd.DataFrame:
    """metrics.tsv: per model (in the order given), each split with genes, then the test strata.

    Without `strata`, only `all`, every gene its own group.
    """
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
                row = stratum_metrics(model, split, stratum, strata, resamples, seed)
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


def mean_prediction(model: ModelRuns) -> pd.DataFrame:
    """The run-averaged prediction per gene (for plots), with split and observed."""
    return model.genes.assign(predicted=model.predicted.mean(axis=1))
