"""The verdict: sentences written from hand-made metrics and comparison tables (the contract of
`metrics.tsv` and `comparison.tsv`), which must say what the numbers support and nothing more."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from seq2expr.evaluation.comparison import COMPARISON_COLUMNS
from seq2expr.evaluation.metrics import METRIC_COLUMNS
from seq2expr.report.verdict import VERDICT_ID, paired_delta, verdict_section, write_verdict

Interval = tuple[float, float, float]
"""(value, low, high)."""

GENES = {"all": 441, "unseen": 57, "hcp": 220, "lcp": 221, "expressed": 180}


def contract_metrics(
    test: Mapping[str, Mapping[str, Interval]],
    near_constant: frozenset[str] = frozenset(),
    auroc: Mapping[str, Interval] | None = None,
) -> pd.DataFrame:
    """metrics.tsv rows: `test[model][stratum]` = test r with its interval; train and val rows on all genes."""
    rows = []
    for model, strata in test.items():
        fitted_on, val_use = (
            ("train", "early stopping") if model in ("CNN", "DNABERT-2") else ("train+val", "fitted on")
        )
        r_all = strata["all"][0]
        cells = [("train", "all", (r_all + 0.2, r_all + 0.15, r_all + 0.25)), ("val", "all", strata["all"])]
        cells += [("test", stratum, value) for stratum, value in strata.items()]
        for split, stratum, (r, low, high) in cells:
            on_off = (
                (auroc or {}).get(model, (np.nan, np.nan, np.nan)) if split == "test" and stratum == "all" else None
            )
            rows.append(
                {
                    "model": model,
                    "split": split,
                    "stratum": stratum,
                    "n": GENES[stratum] if split == "test" else 800,
                    "n_runs": 1,
                    "pearson": r,
                    "pearson_ci_low": low,
                    "pearson_ci_high": high,
                    "pearson_fisher_low": low,
                    "pearson_fisher_high": high,
                    "spearman": r,
                    "spearman_ci_low": low,
                    "spearman_ci_high": high,
                    "r2": r * r if np.isfinite(r) else -0.01,
                    "mse": 1 - r * r if np.isfinite(r) else 1.0,
                    "mae": 0.8,
                    "pearson_sd": np.nan,
                    "spearman_sd": np.nan,
                    "r2_sd": np.nan,
                    "mse_sd": np.nan,
                    "mae_sd": np.nan,
                    "near_constant": model in near_constant,
                    "auroc_on_off": on_off[0] if on_off else np.nan,
                    "auroc_ci_low": on_off[1] if on_off else np.nan,
                    "auroc_ci_high": on_off[2] if on_off else np.nan,
                    "fitted_on": fitted_on,
                    "val_use": val_use if split == "val" else "",
                }
            )
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def contract_comparison(
    deltas: Mapping[tuple[str, str, str], Interval], primary: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """comparison.tsv rows: `deltas[(a, b, stratum)]` = r(a) − r(b) with its paired interval; `primary[b]` = the Holm
    p of the primary row (a, b, all), whose family is then `primary`."""
    primary = primary or {}
    rows = []
    for (a, b, stratum), (delta, low, high) in deltas.items():
        p = 0.001 if low > 0 or high < 0 else 0.4
        in_primary = stratum == "all" and b in primary
        rows.append(
            {
                "model_a": a,
                "model_b": b,
                "stratum": stratum,
                "n": GENES[stratum],
                "pearson_a": 0.5 + delta,
                "pearson_b": 0.5,
                "r_ab": 0.7,
                "delta_r": delta,
                "delta_r_ci_low": low,
                "delta_r_ci_high": high,
                "p": p,
                "p_holm": primary[b] if in_primary else min(1.0, 3 * p),
                "zou_ci_low": low,
                "zou_ci_high": high,
                "williams_t": 2.0,
                "p_williams": p,
                "family": "primary" if in_primary else f"exploratory:{stratum}",
                "near_constant": False,
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


LADDER_RUN = {
    "DNABERT-2": {"all": (0.70, 0.65, 0.75), "hcp": (0.05, -0.08, 0.18), "unseen": (0.60, 0.45, 0.72)},
    "DExTER": {"all": (0.64, 0.58, 0.70), "hcp": (0.01, -0.12, 0.14), "unseen": (0.62, 0.48, 0.73)},
    "CNN": {"all": (0.60, 0.54, 0.66), "hcp": (0.09, -0.04, 0.22), "unseen": (0.50, 0.33, 0.64)},
    "gc_cpg_baseline": {"all": (0.55, 0.48, 0.61), "hcp": (0.02, -0.11, 0.15), "unseen": (0.52, 0.35, 0.66)},
    "mean_baseline": {"all": (np.nan, np.nan, np.nan), "hcp": (np.nan,) * 3, "unseen": (np.nan,) * 3},
}


PRIMARY_RUN = {
    ("DNABERT-2", "DExTER", "all"): (0.06, 0.02, 0.10),
    ("DNABERT-2", "CNN", "all"): (0.10, 0.05, 0.15),
    ("DNABERT-2", "gc_cpg_baseline", "all"): (0.15, 0.09, 0.21),
}


def test_the_headline_is_the_primary_family_and_cites_its_adjusted_p():
    metrics = contract_metrics(LADDER_RUN, auroc={"DNABERT-2": (0.86, 0.82, 0.9), "DExTER": (0.84, 0.8, 0.88)})
    comparison = contract_comparison(
        {
            **PRIMARY_RUN,
            ("CNN", "DNABERT-2", "hcp"): (0.04, -0.05, 0.13),
            ("DExTER", "DNABERT-2", "unseen"): (0.02, -0.06, 0.10),
        },
        primary={"DExTER": 0.003, "CNN": 0.0004, "gc_cpg_baseline": 0.0002},
    )
    verdict = write_verdict(metrics, comparison)
    assert verdict.caveats == ()
    assert verdict.headline == (
        "On these test genes, DNABERT-2 against each simple rung: better than DExTER (Δr = +0.060 [0.020, 0.100], Holm "
        "p = 0.003); better than CNN (Δr = +0.100 [0.050, 0.150], Holm p < 0.001); better than gc_cpg_baseline "
        "(Δr = +0.150 [0.090, 0.210], Holm p < 0.001) (3 comparisons fixed before the data, Holm-adjusted)."
    )
    best, *strata, on_off = verdict.findings
    assert best == (
        "Highest test r on all 441 test genes: DNABERT-2, r = 0.700 [0.650, 0.750]. Against the runner-up, "
        "DExTER (r = 0.640 [0.580, 0.700]): Δr = +0.060 [0.020, 0.100], DNABERT-2 ahead."
    )
    # everything after the bottom line is exploratory and says so; strata in report order, each against the
    # best simple model of that stratum (the CNN in high-CpG promoters)
    assert strata == [
        "Exploratory: Unseen genes, n = 57: DNABERT-2 0.600 [0.450, 0.720] vs DExTER 0.620 [0.480, 0.730]; "
        "Δr = \u22120.020 [\u22120.100, 0.060], not distinguishable.",
        "Exploratory: High-CpG promoters (HCP), n = 220: DNABERT-2 0.050 [\u22120.080, 0.180] vs CNN 0.090 "
        "[\u22120.040, 0.220]; Δr = \u22120.040 [\u22120.130, 0.050], not distinguishable.",
    ]
    assert on_off.startswith("Expressed (TPM ≥ 1) vs silent test genes, AUROC (0.5 = chance): DNABERT-2 0.860")


def test_only_the_adjusted_p_makes_a_claim():
    """A raw interval that excludes 0 is not a finding when the family's adjusted p is above the level."""
    metrics = contract_metrics({key: {"all": LADDER_RUN[key]["all"]} for key in ("DNABERT-2", "DExTER", "CNN")})
    comparison = contract_comparison(
        {("DNABERT-2", "DExTER", "all"): (0.06, 0.001, 0.12), ("DNABERT-2", "CNN", "all"): (-0.07, -0.12, -0.02)},
        primary={"DExTER": 0.09, "CNN": 0.01},
    )
    headline = write_verdict(metrics, comparison).headline
    assert headline == (
        "On these test genes, DNABERT-2 against each simple rung: not distinguishable from DExTER (Δr = +0.060 "
        "[0.001, 0.120], Holm p = 0.090); worse than CNN (Δr = \u22120.070 [\u22120.120, \u22120.020], Holm "
        "p = 0.010) (2 comparisons fixed before the data, Holm-adjusted)."
    )
    assert "better" not in headline


def test_a_random_weight_or_near_constant_primary_makes_no_finding():
    metrics = contract_metrics({key: {"all": LADDER_RUN[key]["all"]} for key in ("DNABERT-2", "DExTER", "CNN")})
    comparison = contract_comparison(
        {("DNABERT-2", "DExTER", "all"): (0.06, 0.02, 0.10), ("CNN", "DExTER", "all"): (-0.04, -0.08, 0.0)},
        primary={"DExTER": 0.001},
    )
    verdict = write_verdict(metrics, comparison, random_init={"DNABERT-2"})
    assert verdict.caveats == (
        "DNABERT-2 has random weights (a test checkpoint): its numbers check the pipeline, not the model.",
    )
    assert verdict.headline == (
        "The primary model, DNABERT-2, has random weights (a test checkpoint): this run checks the pipeline and "
        "makes no finding."
    )
    assert verdict.findings[0].startswith("Highest test r on all 441 test genes: DExTER, r = 0.640")
    html = verdict_section(verdict).content.decode()
    assert 'class="alert alert-warning"' in html and "DNABERT-2 has random weights" in html
    # the bottom line, then the warnings box, then the findings
    assert html.index("The primary model, DNABERT-2") < html.index("alert-warning") < html.index("Highest test r")
    flat = contract_metrics({key: {"all": LADDER_RUN[key]["all"]} for key in ("DNABERT-2", "DExTER")},
                            near_constant=frozenset({"DNABERT-2"}))  # fmt: skip
    assert write_verdict(flat, comparison).headline.startswith("The primary model, DNABERT-2, predicts a near-constant")


def test_control_and_interaction_are_exploratory_sentences():
    metrics = contract_metrics({key: {"all": LADDER_RUN[key]["all"]} for key in ("DNABERT-2", "DExTER")})
    comparison = contract_comparison({("DNABERT-2", "DExTER", "all"): (0.06, 0.02, 0.10)}, primary={"DExTER": 0.01})
    control = pd.DataFrame(
        {
            "model": ["DNABERT-2", "DExTER", "gc_cpg_baseline"],
            "pearson_real": [0.70, 0.64, 0.55],
            "pearson_shuffled": [0.60, 0.60, 0.55],
            "delta_r": [0.10, 0.04, 0.0],
            "delta_r_ci_low": [0.05, -0.01, 0.0],
            "delta_r_ci_high": [0.15, 0.09, 0.0],
        }
    )
    interaction = pd.DataFrame(
        {"glm": ["DNABERT-2"], "rung": ["DExTER"], "stratum_a": ["hcp"], "stratum_b": ["lcp"],
         "interaction": [0.05], "interaction_ci_low": [-0.02], "interaction_ci_high": [0.12]}
    )  # fmt: skip
    findings = write_verdict(metrics, comparison, control=control, interaction=interaction).findings
    assert (
        "Exploratory: Δr(DNABERT-2 − DExTER) in high-CpG promoters (HCP) minus in low-CpG promoters (LCP) = 0.050 "
        "[\u22120.020, 0.120]: the difference is not shown to differ between them." in findings
    )
    (sentence,) = [finding for finding in findings if "composition control" in finding]
    assert sentence == (
        "Exploratory, composition control (windows shuffled with every dinucleotide kept per tile): DNABERT-2 r = "
        "0.700 on real windows, 0.600 on shuffled ones (Δr = 0.100 [0.050, 0.150]: its skill needs sequence order); "
        "DExTER r = 0.640 on real windows, 0.600 on shuffled ones (Δr = 0.040 [\u22120.010, 0.090]: its skill is not "
        "shown to need sequence order)."
    )


def test_a_near_constant_model_is_flagged_and_skipped():
    run = {"flat": {"all": (0.9, 0.8, 0.95)}, "DExTER": LADDER_RUN["DExTER"]}
    verdict = write_verdict(contract_metrics(run, near_constant=frozenset({"flat"})), contract_comparison({}))
    assert verdict.caveats == (
        "flat's test predictions are near-constant (spread at most 1% of the target's): its r measures noise, "
        "not a signal.",
    )
    assert verdict.findings[0] == "Highest test r on all 441 test genes: DExTER, r = 0.640 [0.580, 0.700]."
    assert "No genome language model was evaluated" in verdict.findings[1]
    assert verdict.headline == "No genome language model in this run; DExTER has the highest test r."
    # without a gLM the strata still say what holds: the highest r within each
    run["DExTER"] = {**run["DExTER"], "hcp": (0.01, -0.12, 0.14)}
    run["flat"] = {**run["flat"], "hcp": (0.5, 0.4, 0.6)}
    metrics = contract_metrics(run, near_constant=frozenset({"flat"}))
    assert write_verdict(metrics, contract_comparison({})).findings[2:] == (
        "Unseen genes, n = 57: highest r DExTER 0.620 [0.480, 0.730].",
        "High-CpG promoters (HCP), n = 220: highest r DExTER 0.010 [\u22120.120, 0.140].",  # not the near-constant model
    )


def test_a_near_constant_glm_is_named_with_its_warning_wherever_it_appears():
    run = {"DNABERT-2": {"all": (0.3, 0.1, 0.5), "hcp": (0.2, 0.0, 0.4)}, "DExTER": LADDER_RUN["DExTER"]}
    verdict = write_verdict(contract_metrics(run, near_constant=frozenset({"DNABERT-2"})), contract_comparison({}))
    assert verdict.findings[0].startswith("Highest test r on all 441 test genes: DExTER")
    assert any(finding.startswith("Exploratory: High-CpG promoters (HCP), n = 220: DNABERT-2 (⚠ near-constant")
               for finding in verdict.findings)  # fmt: skip
    assert len(verdict.caveats) == 1 and verdict.caveats[0].startswith("DNABERT-2's test predictions are near-constant")


def test_other_glms_meet_the_best_simple_rung_as_exploratory_findings():
    run = {
        "probe:NT-v2": {"all": (0.58, 0.5, 0.65)},
        "DNABERT-2_probe": {"all": (0.50, 0.42, 0.57)},
        "gc_cpg_baseline": LADDER_RUN["gc_cpg_baseline"],
    }
    comparison = contract_comparison(
        {("DNABERT-2_probe", "gc_cpg_baseline", "all"): (-0.05, -0.1, 0.0),
         ("probe:NT-v2", "gc_cpg_baseline", "all"): (0.03, -0.02, 0.08)},
        primary={"gc_cpg_baseline": 0.2},
    )  # fmt: skip
    verdict = write_verdict(contract_metrics(run), comparison)
    assert verdict.headline.startswith(
        "On these test genes, DNABERT-2_probe against each simple rung: not distinguishable"
    )
    assert verdict.findings[1].startswith(
        "Exploratory: probe:NT-v2 r = 0.580 [0.500, 0.650] against the best simple model, gc_cpg_baseline"
    )
    assert verdict.findings[1].endswith("not distinguishable.")


def test_models_that_share_a_caveat_share_one_line():
    run = {
        "DNABERT-2": LADDER_RUN["DNABERT-2"],
        "probe:NT-v2": {"all": (0.3, 0.2, 0.4)},
        "DNABERT-2_probe": {"all": (0.2, 0.1, 0.3)},
        "flat": {"all": (0.1, 0.0, 0.2)},
        "flatter": {"all": (0.05, -0.05, 0.15)},
        "DExTER": LADDER_RUN["DExTER"],
    }
    metrics = contract_metrics(run, near_constant=frozenset({"flat", "flatter"}))
    verdict = write_verdict(
        metrics, contract_comparison({}), random_init={"DNABERT-2_probe", "DNABERT-2", "probe:NT-v2"}
    )
    assert verdict.caveats == (  # one line per kind of caveat, the models in the ladder's order
        "DNABERT-2, probe:NT-v2 and DNABERT-2_probe have random weights (test checkpoints): their numbers check the "
        "pipeline, not the models.",
        "The test predictions of flat and flatter are near-constant (spread at most 1% of the target's): their r "
        "measures noise, not a signal.",
    )
    html = verdict_section(verdict).content.decode()
    assert html.count("<li>") == len(verdict.findings) + 2


def test_paired_delta_reads_either_order_and_html_is_escaped():
    comparison = contract_comparison({("a", "b", "all"): (0.1, 0.02, 0.2)})
    assert paired_delta(comparison, "a", "b", "all") == (0.1, 0.02, 0.2)
    assert paired_delta(comparison, "b", "a", "all") == (-0.1, -0.2, -0.02)
    assert paired_delta(comparison, "a", "b", "hcp") is None
    metrics = contract_metrics({"<b>x</b>": {"all": (0.5, 0.4, 0.6)}})
    section = verdict_section(write_verdict(metrics, comparison))
    assert section.name == f"{VERDICT_ID}_mqc.html"
    assert "&lt;b&gt;x&lt;/b&gt;" in section.content.decode() and "<b>x</b>" not in section.content.decode()


def test_five_equally_good_glms_make_no_more_headline_claims_than_the_nominal_rate():
    """(c) of issue 22: five gLMs and one simple model of equal true skill, cross-fitted. The headline reads the
    primary family only (DNABERT-2, fixed before the data, against the one simple rung), never the gLM that
    happened to score highest, so its claims stay at or under the nominal 5 %."""
    from test_evaluate_crossfit import crossfit_dataset, fold_tables

    from seq2expr.evaluation.comparison import hypotheses
    from seq2expr.evaluation.runs import group_models

    glms = ["DNABERT-2", "DNABERT-2_probe", "probe:a", "probe:b", "probe:c"]
    simulations, claims = 60, 0
    for simulation in range(simulations):
        dataset = crossfit_dataset(n=200, seed=simulation)
        tables = [table for index, name in enumerate([*glms, "DExTER"])
                  for table in fold_tables(dataset, name, 0.5, seeds=1, seed=1000 * simulation + index)]  # fmt: skip
        pairs = hypotheses(group_models(tables), 0, 1, None, "DNABERT-2")
        comparison = pairs[pairs["in_comparison"]].drop(columns="in_comparison")
        r = {**dict(zip(comparison["model_a"], comparison["pearson_a"], strict=True)),
             **dict(zip(comparison["model_b"], comparison["pearson_b"], strict=True))}  # fmt: skip
        metrics = contract_metrics({model: {"all": (value, value - 0.05, value + 0.05)} for model, value in r.items()})
        headline = write_verdict(metrics, comparison).headline
        assert headline.startswith("On these test genes, DNABERT-2 against each simple rung: ")
        assert not any(other in headline for other in glms[1:])  # the best-scoring gLM is never the question
        claims += "better than" in headline or "worse than" in headline
    assert claims / simulations <= 0.05, claims
