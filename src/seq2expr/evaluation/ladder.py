"""The model ladder: the genome language model against every simpler rung, on the same test genes.

A gLM "predicts expression" only in comparison: with the GC/CpG baseline, the one-hot CNN and its
own frozen embeddings on the same genes, is it better, and by how much? Each rung is compared
with the gLM in every test stratum by the paired cluster bootstrap of `seq2expr.evaluation.comparison`
(the same resamples, so the intervals agree with `comparison.tsv`) of two differences:

- Δr = r(gLM) − r(rung). A constant predictor (the training mean) has no correlation; its r is
  taken as 0 here, so Δr against it is the gLM's own r and asks whether the gLM correlates at all.
- ΔMSE = MSE(rung) − MSE(gLM), defined for every rung including the mean; positive means the
  gLM's errors are smaller.

The bootstrap p of Δr is the primary test, Williams' p (rungs that are not constant) the
secondary; both are Holm-adjusted over the rungs of one stratum, the family `ladder:<stratum>`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2expr.evaluation.comparison import holm_within_families, mean_r, resampled_r, shared_genes, williams
from seq2expr.evaluation.metrics import resample_weights, resampled
from seq2expr.evaluation.runs import MIN_GENES, ModelRuns, model_splits
from seq2expr.evaluation.strata import GeneStrata, gene_strata
from seq2expr.models.roster import DNABERT2
from seq2expr.stats import bootstrap_p, percentile_interval

GLM = DNABERT2
LADDER_COLUMNS = [
    "glm",
    "rung",
    "stratum",
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
    "p_bootstrap",
    "p_bootstrap_holm",
    "p_value",
    "p_value_holm",
    "holm_family",
]


def _r_or_zero(model: ModelRuns, observed: np.ndarray, weights: np.ndarray, seed: int) -> np.ndarray:
    """Resampled r, 0 for a constant model (no correlation to speak of)."""
    return np.zeros(len(weights)) if model.is_constant else resampled_r(model, observed, weights, seed)


def _weighted_mse(observed: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (weights * (predicted - observed) ** 2).sum(axis=-1) / weights.sum(axis=-1)


def ladder_row(
    glm: ModelRuns, rung: ModelRuns, stratum: str, strata: GeneStrata, resamples: int, seed: int
) -> dict[str, object]:
    """The gLM against one rung on the test genes of one stratum."""
    shared = shared_genes(glm, rung, stratum, strata)
    a, b = glm.subset(shared), rung.subset(shared)
    observed = a.genes["observed"].to_numpy(dtype=float)
    r_glm = mean_r(a, observed)
    r_rung = 0.0 if b.is_constant else mean_r(b, observed)
    mse_glm, mse_rung = (float(np.mean((m.predicted - observed[:, None]) ** 2)) for m in (a, b))
    weights = resample_weights(strata, shared, resamples, seed)
    delta_r = _r_or_zero(a, observed, weights, seed) - _r_or_zero(b, observed, weights, seed)
    delta_mse = resampled(_weighted_mse, b, observed, weights, seed) - resampled(
        _weighted_mse, a, observed, weights, seed
    )
    r_low, r_high = percentile_interval(delta_r)
    mse_low, mse_high = percentile_interval(delta_mse)
    p_value = float("nan") if a.is_constant or b.is_constant else williams(a, b, observed)[2]
    return {
        "glm": a.name,
        "rung": b.name,
        "stratum": stratum,
        "n": len(shared),
        "pearson_glm": r_glm,
        "pearson_rung": float("nan") if b.is_constant else r_rung,
        "delta_r": r_glm - r_rung,
        "delta_r_ci_low": r_low,
        "delta_r_ci_high": r_high,
        "mse_glm": mse_glm,
        "mse_rung": mse_rung,
        "delta_mse": mse_rung - mse_glm,
        "delta_mse_ci_low": mse_low,
        "delta_mse_ci_high": mse_high,
        "p_bootstrap": bootstrap_p(delta_r),
        "p_bootstrap_holm": float("nan"),
        "p_value": p_value,
        "p_value_holm": float("nan"),
        "holm_family": f"ladder:{stratum}",
    }


def ladder_table(
    models: list[ModelRuns], glm: str, resamples: int, seed: int, strata: GeneStrata | None = None
) -> pd.DataFrame:
    """`glm` against every other model (rungs in the order given) in every test stratum; empty without `glm`."""
    strata = strata or gene_strata(model_splits(models))
    by_name = {model.name: model for model in models}
    if glm not in by_name:
        return pd.DataFrame(columns=LADDER_COLUMNS)
    rows = [
        ladder_row(by_name[glm], model, stratum, strata, resamples, seed)
        for stratum in strata.strata
        for model in models
        if model.name != glm and len(strata.genes(stratum, by_name[glm].test_genes())) >= MIN_GENES
    ]
    table = pd.DataFrame(rows, columns=LADDER_COLUMNS)
    return holm_within_families(table, (("p_bootstrap", "p_bootstrap_holm"), ("p_value", "p_value_holm")))
