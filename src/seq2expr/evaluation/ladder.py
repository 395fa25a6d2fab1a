"""The model ladder: the primary model against every other rung, on the same test genes.

A gLM "predicts expression" only in comparison: with the GC/CpG baseline, the one-hot CNN,
DExTER and its own frozen embeddings on the same genes, is it better, and by how much? The ladder
is the primary model (`--primary-model`, fixed before the data: `seq2expr.evaluation.comparison`)
against each other model in every test stratum, with two differences:

- Δr = r(primary) − r(rung). A constant predictor (the training mean) has no correlation; its r is
  taken as 0 here, so Δr against it is the primary model's own r and asks whether it correlates at all.
- ΔMSE = MSE(rung) − MSE(primary), defined for every rung including the mean; positive means the
  primary model's errors are smaller.

Each row is the comparison.tsv row of the same pair and stratum (the same statistics, the same
family and Holm-adjusted p: one p per hypothesis across all tables); the rows against a constant
rung exist only here. The rows of family `primary` (stratum `all`, the simple rungs) are the
question the verdict answers; the rest is exploratory.
"""

from __future__ import annotations

import pandas as pd

from seq2expr.evaluation.comparison import DELTA_MSE_COLUMNS, TEST_COLUMNS, hypotheses
from seq2expr.evaluation.runs import ModelRuns
from seq2expr.evaluation.strata import GeneStrata

LADDER_COLUMNS = [
    "glm",
    "rung",
    "stratum",
    "n",
    "pearson_glm",
    "pearson_rung",
    "delta_r",
    "delta_r_folds",
    "delta_r_ci_low",
    "delta_r_ci_high",
    "mse_glm",
    "mse_rung",
    *DELTA_MSE_COLUMNS,
    *TEST_COLUMNS,
    "p_williams",
    "near_constant",
]
_RENAMED = {
    "model_a": "glm",
    "model_b": "rung",
    "pearson_a": "pearson_glm",
    "pearson_b": "pearson_rung",
    "mse_a": "mse_glm",
    "mse_b": "mse_rung",
}


def ladder_table(
    models: list[ModelRuns],
    primary: str | None,
    resamples: int,
    seed: int,
    strata: GeneStrata | None = None,
    pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """`primary` against every other model (rungs in the order given) in every test stratum; empty without it.

    `pairs`: the `hypotheses` table when already computed (its rows are reused, not recomputed).
    """
    names = [model.name for model in models]
    if primary is None or primary not in names:
        return pd.DataFrame(columns=LADDER_COLUMNS)
    if pairs is None:
        pairs = hypotheses(models, resamples, seed, strata, primary)
    rows = pairs[pairs["model_a"] == primary].rename(columns=_RENAMED)
    if rows.empty:
        return pd.DataFrame(columns=LADDER_COLUMNS)
    strata_order = {stratum: index for index, stratum in enumerate(dict.fromkeys(pairs["stratum"]))}
    rows = rows.assign(
        _stratum=rows["stratum"].map(strata_order), _rung=rows["rung"].map({n: i for i, n in enumerate(names)})
    )
    rows = rows.sort_values(["_stratum", "_rung"], kind="stable")
    return rows[LADDER_COLUMNS].reset_index(drop=True)
