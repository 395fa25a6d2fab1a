"""The model ladder: the genome language model against every simpler rung, on the same test genes.

A gLM "predicts expression" only in comparison: with the GC/CpG baseline, the one-hot CNN and its
own frozen embeddings on the same genes, is it better, and by how much? Each rung is compared
with the gLM by a paired gene-level bootstrap (the resamples of `seq2expr.evaluate`, so the
intervals agree with `comparison.tsv`) of two differences:

- Δr = r(gLM) − r(rung). A constant predictor (the training mean) has no correlation; its r is
  taken as 0, so Δr against it is the gLM's own r and asks whether the gLM correlates at all.
- ΔMSE = MSE(rung) − MSE(gLM), defined for every rung including the mean; positive means the
  gLM's errors are smaller.

Williams' test p (from `compare_pair`) is added for rungs that are not constant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.evaluate import MIN_GENES, ModelRuns, bootstrap_indices, compare_pair, pearson_rows, percentile_interval

GLM = "DNABERT-2"
LADDER_COLUMNS = [
    "glm",
    "rung",
    "n",
    "pearson_glm",
    "pearson_rung",
    "delta_r",
    "delta_r_ci_low",
    "delta_r_ci_high",
    "mse_glm",
    "mse_rung",
    "delta_mse",
    "delta_mse_ci_low",
    "delta_mse_ci_high",
    "p_value",
]


def _resampled_r(observed: np.ndarray, model: ModelRuns, index: np.ndarray) -> np.ndarray:
    """Run-averaged Pearson r on every resample; 0 for a constant model (no correlation to speak of)."""
    if model.is_constant:
        return np.zeros(len(index))
    total = np.zeros(len(index))
    for run in range(model.n_runs):
        total += pearson_rows(observed[index], model.predicted[:, run][index]) / model.n_runs
    return total


def _resampled_mse(observed: np.ndarray, model: ModelRuns, index: np.ndarray) -> np.ndarray:
    """Run-averaged mean squared error on every resample."""
    squared = (model.predicted - observed[:, None]) ** 2  # (genes, runs)
    return squared.mean(axis=1)[index].mean(axis=1)


def ladder_row(glm: ModelRuns, rung: ModelRuns, resamples: int, seed: int) -> dict[str, object]:
    """The gLM against one rung on the test genes they share."""
    shared = glm.genes.index[(glm.genes["split"] == "test").to_numpy()].intersection(
        rung.genes.index[(rung.genes["split"] == "test").to_numpy()]
    )
    if len(shared) < MIN_GENES:
        raise InputError(
            f"{glm.name!r} and {rung.name!r} share {len(shared)} test gene(s); the ladder needs at least {MIN_GENES}"
        )
    a, b = glm.subset(shared), rung.subset(shared)
    observed = a.genes["observed"].to_numpy(dtype=float)
    whole = np.arange(len(shared))[None, :]
    index = bootstrap_indices(len(shared), resamples, seed)
    r_glm, r_rung = _resampled_r(observed, a, whole)[0], _resampled_r(observed, b, whole)[0]
    mse_glm, mse_rung = _resampled_mse(observed, a, whole)[0], _resampled_mse(observed, b, whole)[0]
    delta_r = _resampled_r(observed, a, index) - _resampled_r(observed, b, index)
    delta_mse = _resampled_mse(observed, b, index) - _resampled_mse(observed, a, index)
    r_low, r_high = percentile_interval(delta_r)
    mse_low, mse_high = percentile_interval(delta_mse)
    p_value = float("nan") if a.is_constant or b.is_constant else compare_pair(a, b, resamples, seed)["p_value"]
    return {
        "glm": a.name,
        "rung": b.name,
        "n": len(shared),
        "pearson_glm": float(r_glm),
        "pearson_rung": float("nan") if b.is_constant else float(r_rung),
        "delta_r": float(r_glm - r_rung),
        "delta_r_ci_low": r_low,
        "delta_r_ci_high": r_high,
        "mse_glm": float(mse_glm),
        "mse_rung": float(mse_rung),
        "delta_mse": float(mse_rung - mse_glm),
        "delta_mse_ci_low": mse_low,
        "delta_mse_ci_high": mse_high,
        "p_value": p_value,
    }


def ladder_table(models: list[ModelRuns], glm: str, resamples: int, seed: int) -> pd.DataFrame:
    """`glm` against every other model (rungs by name order); empty when `glm` is not among the models."""
    by_name = {model.name: model for model in models}
    if glm not in by_name:
        return pd.DataFrame(columns=LADDER_COLUMNS)
    rows = [ladder_row(by_name[glm], model, resamples, seed) for model in models if model.name != glm]
    return pd.DataFrame(rows, columns=LADDER_COLUMNS)
