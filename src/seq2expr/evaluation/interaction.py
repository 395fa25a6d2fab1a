"""Does the primary model's advantage hold within a promoter class? The paired interaction test (interaction.tsv).

"Significant in one class, not in the other" is not a test of a difference between classes (the
classes differ in size and in the target's spread). The interaction is the difference itself:
(Δr in class A) − (Δr in class B), Δr = r(primary) − r(rung) against the same rung in both, with
the protocol's interval and analytic p (`seq2expr.stats`): under cross-fitting the corrected
resampled t on the per-fold interactions (each fold's genes of A and of B); on a single split the
cluster bootstrap in which one resample draws the genes of both classes at once (the same
weights), runs held fixed and paired, plus the between-run variance. Fewer than
`MIN_INTERVAL_GENES` genes in either class: no interval. Rows are exploratory, Holm-adjusted
within their own family (`exploratory:interaction`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2expr.evaluation.comparison import EXPLORATORY, TEST_COLUMNS, paired_runs, r_statistics
from seq2expr.evaluation.metrics import block_values, no_interval, per_run_resampled, resample_weights, test_train_ratio
from seq2expr.evaluation.runs import MIN_GENES, MIN_INTERVAL_GENES, ModelRuns
from seq2expr.evaluation.strata import HCP, ICP, LCP, GeneStrata
from seq2expr.stats import Estimate, corrected_resampled_t, holm_adjust, runs_fixed_t

COMPLEMENTARY = ((HCP, LCP), (HCP, ICP))
"""The promoter classes whose interaction is tested (class A, class B): high-CpG against low- and intermediate-CpG."""
FAMILY = f"{EXPLORATORY}:interaction"
INTERACTION_COLUMNS = [
    "glm",
    "rung",
    "stratum_a",
    "stratum_b",
    "n_a",
    "n_b",
    "delta_r_a",
    "delta_r_b",
    "interaction",
    "interaction_ci_low",
    "interaction_ci_high",
    *TEST_COLUMNS,
]


def _delta(primary: ModelRuns, rung: ModelRuns, genes: pd.Index) -> float:
    observed = primary.subset(genes).genes["observed"].to_numpy(dtype=float)
    values = [np.mean(r_statistics(m)[0](observed, m.subset(genes).predicted.T)) for m in (primary, rung)]
    return float(values[0] - values[1])


def interaction_estimate(
    primary: ModelRuns, rung: ModelRuns, class_a: pd.Index, class_b: pd.Index, strata: GeneStrata, resamples: int,
    seed: int,
) -> Estimate:  # fmt: skip
    """(Δr in A − Δr in B) with the protocol's interval and p."""
    value = _delta(primary, rung, class_a) - _delta(primary, rung, class_b)
    smaller = min(len(class_a), len(class_b))
    if smaller < MIN_INTERVAL_GENES:
        return no_interval(value, f"none (a class has {smaller} < {MIN_INTERVAL_GENES} genes: no interval)")
    rows_p, weighted_p = r_statistics(primary)
    rows_r, weighted_r = r_statistics(rung)
    if primary.cross_fitted:
        per_block = [
            block_values(primary, genes, rows_p) - block_values(rung, genes, rows_r) for genes in (class_a, class_b)
        ]
        return corrected_resampled_t(per_block[0] - per_block[1], test_train_ratio(primary))
    genes = class_a.union(class_b)
    weights = resample_weights(strata, genes, resamples, seed)
    observed = primary.subset(genes).genes["observed"].to_numpy(dtype=float)
    per_run, resampled = [], []
    for members in (class_a, class_b):
        mask = genes.isin(members)
        inside = weights * mask
        a, b = primary.subset(genes), rung.subset(genes)
        per_run.append(
            paired_runs(rows_p(observed[mask], a.predicted[mask].T), rows_r(observed[mask], b.predicted[mask].T))
        )
        resampled.append(paired_runs(per_run_resampled(weighted_p, a.predicted, observed, inside),
                                     per_run_resampled(weighted_r, b.predicted, observed, inside)))  # fmt: skip
    return runs_fixed_t(per_run[0] - per_run[1], resampled[0] - resampled[1])


def interaction_table(
    models: list[ModelRuns],
    primary: str | None,
    strata: GeneStrata,
    resamples: int,
    seed: int,
    pairs: tuple[tuple[str, str], ...] = COMPLEMENTARY,
) -> pd.DataFrame:
    """The primary model against every other non-constant model, for each pair of complementary strata present."""
    by_name = {model.name: model for model in models}
    if primary not in by_name or by_name[primary].is_constant:
        return pd.DataFrame(columns=INTERACTION_COLUMNS)
    lead = by_name[primary]
    rows = []
    for stratum_a, stratum_b in pairs:
        if stratum_a not in strata.strata or stratum_b not in strata.strata:
            continue
        class_a, class_b = (strata.genes(stratum, lead.test_genes()) for stratum in (stratum_a, stratum_b))
        if min(len(class_a), len(class_b)) < MIN_GENES:
            continue
        for rung in models:
            if rung.name == primary or rung.is_constant:
                continue
            estimate = interaction_estimate(lead, rung, class_a, class_b, strata, resamples, seed)
            delta_a, delta_b = _delta(lead, rung, class_a), _delta(lead, rung, class_b)
            rows.append({
                "glm": primary,
                "rung": rung.name,
                "stratum_a": stratum_a,
                "stratum_b": stratum_b,
                "n_a": len(class_a),
                "n_b": len(class_b),
                "delta_r_a": delta_a,
                "delta_r_b": delta_b,
                "interaction": delta_a - delta_b,
                "interaction_ci_low": estimate.low,
                "interaction_ci_high": estimate.high,
                "p": estimate.p,
                "p_holm": float("nan"),
                "family": FAMILY,
                "ci_method": estimate.method,
                "ci_df": estimate.df,
                "dropped_resamples": estimate.dropped,
            })  # fmt: skip
    table = pd.DataFrame(rows, columns=INTERACTION_COLUMNS)
    table["p_holm"] = holm_adjust(table["p"].to_numpy(dtype=float))
    return table
