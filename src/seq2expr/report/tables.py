"""The report's number tables: performance on all genes, performance per stratum, paired comparisons.

Readable first: test rows lead (highest r first) and the train/val rows follow in the same model
order; a val row says what it was used for; intervals are '[low, high]' text; only the columns a
reader compares are shown (every other number is in `metrics.tsv` and `comparison.tsv`), so
that the table fits the page instead of being cut off.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from seq2expr.evaluation.strata import ALL
from seq2expr.io.multiqc import ReportFile, interval_cells, number_cells, table_section
from seq2expr.report.style import best_first, ranked_test_rows, row_labels, strata_in
from seq2expr.stats import CONFIDENCE

METRICS_ID = "model_metrics"
STRATA_ID = "model_metrics_strata"
COMPARISON_ID = "model_comparison"
LEVEL = f"{CONFIDENCE:.0%}"
CORRELATION = {"format": "{:,.3f}", "min": 0, "max": 1, "scale": "RdYlGn"}
THREE = {"format": "{:,.3f}", "scale": False}
GENES = {"title": "Genes", "format": "{:,.0f}", "scale": False}
SPLIT_ORDER = ("test", "val", "train")
BOOTSTRAP = "cluster bootstrap over gene groups (similar genes resample together)"


def holm_words(table: pd.DataFrame) -> str:
    """How the header of a Holm-adjusted p column names its family (`family` of the rows shown)."""
    names = list(dict.fromkeys(table["family"].astype(str)))
    one_per_stratum = len(names) > 1 and bool((table.groupby("stratum")["family"].nunique() == 1).all())
    scope = "the rows of the same stratum" if one_per_stratum else "the rows shown"
    return f"Holm-adjusted within {scope} (famil{'y' if len(names) == 1 else 'ies'} {', '.join(names)})"


def p_headers(table: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The two p columns of a paired comparison: the p of Δr = 0 (the protocol's test, Holm-adjusted in its
    family) shown, Williams' p (secondary, single splits only, unadjusted) under 'Configure columns'."""
    family = holm_words(table)
    p_format = {"format": "{:.2e}", "scale": False}
    return {
        "p_holm": {
            "title": "p (Holm)",
            "description": f"Analytic p of Δr = 0 (the protocol's test), {family}",
            **p_format,
        },
        "p_williams": {
            "title": "Williams p",
            "description": "Williams' t test for dependent correlations (secondary, single split, not adjusted)",
            "hidden": True,
            **p_format,
        },
    }


def _performance_rows(rows: pd.DataFrame, random_init: Collection[str], with_stratum: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": row_labels(rows, random_init, with_stratum),
            "n": rows["n"].to_numpy(),
            "fitted_on": rows["fitted_on"].fillna("").astype(str).to_numpy(),
            "runs": rows["n_runs"].to_numpy(),
            "pearson": number_cells(rows["pearson"]),
            "pearson_ci": interval_cells(rows, "pearson_ci_low", "pearson_ci_high"),
            "pearson_sd": number_cells(rows["pearson_sd"]),
            "spearman": number_cells(rows["spearman"]),
            "r2": number_cells(rows["r2"]),
            "auroc": number_cells(rows["auroc_on_off"]),
            "auroc_ci": interval_cells(rows, "auroc_ci_low", "auroc_ci_high"),
        }
    )


def _performance_headers(rows: pd.DataFrame, genes: str, fitted_on: bool) -> dict[str, dict[str, object]]:
    """`fitted_on`: show the column (the strata table leaves it to the performance table above it)."""
    single_runs = bool((rows["n_runs"] == 1).all())
    return {
        "n": {**GENES, "description": genes},
        "fitted_on": {
            "title": "Fitted on",
            "description": "The genes the model was fitted on",
            "hidden": not fitted_on,
        },
        "runs": {**GENES, "title": "Runs", "description": "Prediction files (seeds) averaged", "hidden": single_runs},
        "pearson": {"title": "Pearson r", "description": "Pearson correlation, mean over runs", **CORRELATION},
        "pearson_ci": {"title": f"r {LEVEL} CI", "description": "The protocol's interval (ci_method in metrics.tsv)"},
        "pearson_sd": {"title": "r SD", "description": "SD of r across runs", "hidden": single_runs, **THREE},
        "spearman": {
            "title": "Spearman ρ",
            "description": "Spearman correlation, mean over runs",
            "hidden": True,  # under 'Configure columns': the table must fit the page
            **CORRELATION,
        },
        "r2": {"title": "R²", "description": "Coefficient of determination, 1 − SSres/SStot", **THREE},
        "auroc": {
            "title": "AUROC",
            "description": "Area under the ROC curve of the prediction for TPM ≥ 1 vs below (0.5 = chance)",
            **CORRELATION,
            "min": 0.5,
        },
        "auroc_ci": {"title": "AUROC CI", "description": f"AUROC {LEVEL} interval: percentile {BOOTSTRAP}"},
    }


def metrics_section(metrics: pd.DataFrame, random_init: Collection[str] = ()) -> ReportFile:
    """Every model on all genes of each split: test rows first (highest r first), then val and train."""
    everything = metrics[metrics["stratum"] == ALL]
    order = {model: rank for rank, model in enumerate(best_first(metrics))}
    splits = [split for split in SPLIT_ORDER if split in set(everything["split"])]
    rows = everything.assign(
        _split=everything["split"].map({split: rank for rank, split in enumerate(splits)}),
        _model=everything["model"].map(lambda model: order.get(model, len(order))),
    ).sort_values(["_split", "_model", "model"], kind="stable")
    headers = _performance_headers(rows, "Genes of the model in this split", fitted_on=True)
    return table_section(METRICS_ID, _performance_rows(rows, random_init, False), "Model · split", headers)


def strata_section(metrics: pd.DataFrame, random_init: Collection[str] = ()) -> ReportFile | None:
    """Every model on the test genes of each stratum other than all genes (None when there is none)."""
    strata = [stratum for stratum in strata_in(metrics) if stratum != ALL]
    if not strata:
        return None
    rows = pd.concat([ranked_test_rows(metrics, stratum) for stratum in strata])
    headers = _performance_headers(rows, "Test genes of the stratum", fitted_on=False)
    return table_section(STRATA_ID, _performance_rows(rows, random_init, True), "Stratum · model", headers)


def comparison_section(comparison: pd.DataFrame) -> ReportFile:
    """Every pair of models on the test genes they share (all genes; the strata are in comparison.tsv)."""
    pairs = comparison[comparison["stratum"] == ALL]
    rows = pd.DataFrame(
        {
            "Comparison": [
                f"{a} vs {b}" + (" ⚠ near-constant predictions" if flat else "")
                for a, b, flat in zip(pairs["model_a"], pairs["model_b"], pairs["near_constant"], strict=True)
            ],
            "n": pairs["n"].to_numpy(),
            "pearson_a": number_cells(pairs["pearson_a"]),
            "pearson_b": number_cells(pairs["pearson_b"]),
            "delta_r": number_cells(pairs["delta_r"]),
            "delta_ci": interval_cells(pairs, "delta_r_ci_low", "delta_r_ci_high"),
            "p_holm": number_cells(pairs["p_holm"]),
            "p_williams": number_cells(pairs["p_williams"]),
        }
    )
    headers = {
        "n": {**GENES, "description": "Test genes both models predict"},
        "pearson_a": {"title": "r first", "description": "Pearson r of the first model", **THREE},
        "pearson_b": {"title": "r second", "description": "Pearson r of the second model", **THREE},
        "delta_r": {"title": "Δr", "description": "r(first) − r(second)", "format": "{:,.3f}", "scale": "RdBu"},
        "delta_ci": {
            "title": f"Δr {LEVEL} CI",
            "description": "Paired interval of the protocol (ci_method in comparison.tsv)",
        },
        **p_headers(pairs),
    }
    return table_section(COMPARISON_ID, rows, "Models", headers)
