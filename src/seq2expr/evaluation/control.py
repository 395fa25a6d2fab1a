"""The composition control: how much of each model's skill needs sequence order beyond base composition.

Every model also predicts its test windows shuffled tile by tile with every dinucleotide count
kept (`seq2expr.data.shuffle`): the GC and CpG profile along the window survives, motifs and their
arrangement do not. The control's statistic is Δr = r(real windows) − r(shuffled windows) on the
same genes and observed values, paired within each run: "the part of the model's skill that
needs sequence order". It is tested with the protocol's own method, as every other difference
(`seq2expr.stats`): the corrected resampled t over the cross-fitting blocks, or on a single split
the cluster bootstrap with the runs held fixed plus their variance. The GC/CpG baseline reads only
composition, which the shuffle keeps exactly, so its Δr is 0: the control's sanity check. A
model whose predictions on shuffled windows are constant found nothing there: its shuffled r is
taken as 0 (no correlation), as the ladder takes a constant rung's, so Δr is its real r.

Each model run writes `control.tsv` (`seq2expr.io.predictions`) when its command is given the
shuffled windows (`--control FASTA`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from seq2expr.data.folds import fit_genes, fold_view, n_folds, n_repeats
from seq2expr.errors import InputError
from seq2expr.evaluation.strata import sequence_composition
from seq2expr.io.predictions import make_control
from seq2expr.models.roster import GC_CPG_BASELINE
from seq2expr.stats import (
    Estimate,
    cluster_weights,
    corrected_resampled_t,
    group_codes,
    pearson_rows,
    runs_fixed_t,
    weighted_pearson,
)

CONTROL_TABLE_COLUMNS = [
    "model",
    "n",
    "n_runs",
    "pearson_real",
    "pearson_shuffled",
    "delta_r",
    "delta_r_ci_low",
    "delta_r_ci_high",
    "p",
    "ci_method",
    "share_kept",
]


def _shuffled_r(observed: np.ndarray, shuffled: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """r on the shuffled windows (per resample with `weights`); 0 where those predictions are constant."""
    if np.ptp(shuffled) == 0:
        return np.zeros(1 if weights is None else len(weights))
    if weights is None:
        return np.atleast_1d(pearson_rows(observed, shuffled))
    return weighted_pearson(observed, shuffled, weights)


def _difference(table: pd.DataFrame) -> tuple[float, float, float]:
    """(r real, r shuffled, Δr) of one run."""
    observed = table["observed"].to_numpy(dtype=float)
    real = float(pearson_rows(observed, table["predicted"].to_numpy(dtype=float)))
    shuffled = float(_shuffled_r(observed, table["predicted_shuffled"].to_numpy(dtype=float))[0])
    return real, shuffled, real - shuffled


def _row(model: str, n: int, runs: int, real: float, shuffled: float, estimate: Estimate) -> dict[str, object]:
    return {
        "model": model,
        "n": n,
        "n_runs": runs,
        "pearson_real": real,
        "pearson_shuffled": shuffled,
        "delta_r": estimate.value,
        "delta_r_ci_low": estimate.low,
        "delta_r_ci_high": estimate.high,
        "p": estimate.p,
        "ci_method": estimate.method,
        "share_kept": shuffled / real if real > 0 else float("nan"),
    }


def model_control(
    model: str, runs: list[pd.DataFrame], groups: pd.Series | None, resamples: int, seed: int
) -> dict[str, object]:
    """One model's row: cross-fitted (fold > 0) blocks by the corrected t, else the runs-fixed bootstrap t."""
    blocks: dict[tuple[int, int], list[pd.DataFrame]] = {}
    for table in runs:
        blocks.setdefault((int(table["fold"].iloc[0]), int(table["repeat"].iloc[0])), []).append(table)
    genes = pd.concat(runs)["gene_id"].nunique()
    if any(fold > 0 for fold, _ in blocks):
        folds = max(fold for fold, _ in blocks)
        per_block = np.array([[np.mean(values) for values in zip(*map(_difference, tables), strict=True)]
                              for tables in blocks.values()])  # fmt: skip
        estimate = corrected_resampled_t(per_block[:, 2], 1 / max(folds - 1, 1))
        n_runs = max(len(tables) for tables in blocks.values())
        return _row(model, genes, n_runs, float(per_block[:, 0].mean()), float(per_block[:, 1].mean()), estimate)
    ordered = [table.sort_values("gene_id", kind="stable") for table in runs]
    gene_ids = ordered[0]["gene_id"]
    if any(not table["gene_id"].reset_index(drop=True).equals(gene_ids.reset_index(drop=True)) for table in ordered):
        raise InputError(f"the control runs of model {model!r} hold different genes")
    observed = ordered[0]["observed"].to_numpy(dtype=float)
    weights = cluster_weights(group_codes(gene_ids.tolist(), groups), resamples, seed)
    per_run = np.array([_difference(table) for table in ordered])
    resampled = np.column_stack(
        [
            weighted_pearson(observed, table["predicted"].to_numpy(dtype=float), weights)
            - _shuffled_r(observed, table["predicted_shuffled"].to_numpy(dtype=float), weights)
            for table in ordered
        ]
    )
    estimate = runs_fixed_t(per_run[:, 2], resampled)
    return _row(model, len(gene_ids), len(ordered), float(per_run[:, 0].mean()), float(per_run[:, 1].mean()), estimate)


def baseline_controls(dataset: pd.DataFrame, shuffled: dict[str, str]) -> list[pd.DataFrame]:
    """The GC/CpG baseline's control runs, one per fit, fitted as the evaluation fits it (`fit_genes`: train +
    val on a single split, train outside the fold under cross-fitting), predicting each test gene's real and
    shuffled window."""
    missing = sorted(set(dataset["gene_id"]) - set(shuffled))
    if missing:
        raise InputError(f"{len(missing)} dataset gene(s) have no shuffled window, e.g. {missing[0]}")
    folds = n_folds(dataset)
    fits = [(fold, repeat) for repeat in range(n_repeats(dataset)) for fold in range(1, folds + 1)] or [(0, 0)]
    features = sequence_composition(dataset["sequence"])
    scrambled = sequence_composition(pd.Series([shuffled[gene] for gene in dataset["gene_id"]]))
    target = dataset["target"].to_numpy(dtype=float)
    tables = []
    for fold, repeat in fits:
        view = fold_view(dataset, fold, repeat)
        fit, test = fit_genes(view), (view["split"] == "test").to_numpy()
        regression = LinearRegression().fit(features[fit], target[fit])
        tables.append(
            make_control(
                view["gene_id"][test],
                target[test],
                regression.predict(features[test]),
                regression.predict(scrambled[test]),
                GC_CPG_BASELINE,
                fold,
                repeat,
            )
        )
    return tables


def control_table(controls: list[pd.DataFrame], groups: pd.Series | None, resamples: int, seed: int) -> pd.DataFrame:
    """control.tsv of the evaluation: a row per model (in the order first given)."""
    by_model: dict[str, list[pd.DataFrame]] = {}
    for table in controls:
        by_model.setdefault(str(table["model"].iloc[0]), []).append(table)
    rows = [model_control(model, runs, groups, resamples, seed) for model, runs in by_model.items()]
    return pd.DataFrame(rows, columns=CONTROL_TABLE_COLUMNS)
