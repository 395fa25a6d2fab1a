"""The report sections that lead the report: the ladder of test r, the gLM against each rung, compute.

Interactive MultiQC content like the other sections (titles, descriptions and order in
`assets/multiqc_config.yml`): the ladder is a line graph over categories (models sorted by test r)
with the bootstrap interval as two dashed lines, since MultiQC bar plots have no error bars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2expr.evaluate import CONFIDENCE
from seq2expr.mqc import ReportFile, tsv_with_header, yaml_file

LADDER_ID = "model_ladder"
LADDER_COMPARISON_ID = "model_ladder_comparison"
COMPUTE_ID = "model_compute"
R_SERIES = "test Pearson r"
LOW_SERIES = "CI low"
HIGH_SERIES = "CI high"


def _rounded(value: float) -> float:
    return round(float(value), 4)


def ladder_section(metrics: pd.DataFrame) -> ReportFile:
    """Test Pearson r of every model and baseline with its bootstrap interval, from lowest to highest.

    A constant predictor (the training mean) has no r and is left out of the figure (its MSE is
    in the metrics table and the ladder comparison).
    """
    test = metrics[(metrics["split"] == "test") & np.isfinite(metrics["pearson"])]
    test = test.sort_values(["pearson", "model"], kind="stable")
    level = f"{CONFIDENCE:.0%}"
    document = {
        "id": LADDER_ID,
        "plot_type": "linegraph",
        "pconfig": {
            "id": f"{LADDER_ID}_plot",
            "title": "Model ladder: test Pearson r, lowest to highest",
            "xlab": "model (sorted by test r)",
            # no '%' in an axis label: MultiQC would then print the axis as percentages
            "ylab": f"Pearson r, test genes ({level.replace('%', ' pct')} bootstrap CI)",
            "categories": True,
            "style": "lines+markers",
            "colors": {R_SERIES: "#0072B2", LOW_SERIES: "#8C8C8C", HIGH_SERIES: "#8C8C8C"},
            "dash_styles": {LOW_SERIES: "dash", HIGH_SERIES: "dash"},
            "showlegend": True,
        },
        "data": {
            R_SERIES: {str(m): _rounded(r) for m, r in zip(test["model"], test["pearson"], strict=True)},
            LOW_SERIES: {str(m): _rounded(r) for m, r in zip(test["model"], test["pearson_ci_low"], strict=True)},
            HIGH_SERIES: {str(m): _rounded(r) for m, r in zip(test["model"], test["pearson_ci_high"], strict=True)},
        },
    }
    return yaml_file(f"{LADDER_ID}_mqc.yaml", document)


def _interval(low: pd.Series, high: pd.Series) -> list[str]:
    pairs = zip(low, high, strict=True)
    return [f"[{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) and np.isfinite(hi) else "n/a" for lo, hi in pairs]


def ladder_comparison_section(ladder: pd.DataFrame) -> ReportFile:
    """The gLM against each rung: Δr and ΔMSE with paired bootstrap intervals, Williams' p."""
    rows = pd.DataFrame(
        {
            "Rung": ladder["glm"] + " vs " + ladder["rung"],
            "n": ladder["n"],
            "pearson_glm": ladder["pearson_glm"],
            "pearson_rung": ladder["pearson_rung"].map(lambda v: float(v) if np.isfinite(v) else ""),
            "delta_r": ladder["delta_r"],
            "delta_r_ci": _interval(ladder["delta_r_ci_low"], ladder["delta_r_ci_high"]),
            "delta_mse": ladder["delta_mse"],
            "delta_mse_ci": _interval(ladder["delta_mse_ci_low"], ladder["delta_mse_ci_high"]),
            "p_value": ladder["p_value"].map(lambda v: float(v) if np.isfinite(v) else ""),
        }
    )
    level = f"{CONFIDENCE:.0%}"
    three = {"format": "{:,.3f}"}
    headers = {
        "n": {"title": "Genes", "description": "Test genes both predict", "format": "{:,.0f}", "scale": False},
        "pearson_glm": {"title": "r gLM", "description": "Pearson r of the genome language model", **three},
        "pearson_rung": {"title": "r rung", "description": "Pearson r of the rung (empty: constant)", **three},
        "delta_r": {"title": "Δr", "description": "r(gLM) − r(rung); a constant rung counts as r = 0", **three},
        "delta_r_ci": {"title": f"Δr {level} CI", "description": "Paired gene-level bootstrap interval"},
        "delta_mse": {"title": "ΔMSE", "description": "MSE(rung) − MSE(gLM); positive: the gLM errs less", **three},
        "delta_mse_ci": {"title": f"ΔMSE {level} CI", "description": "Paired gene-level bootstrap interval"},
        "p_value": {
            "title": "p",
            "description": "Williams' t test of Δr (not for a constant rung)",
            "format": "{:.2e}",
        },
    }
    header = {
        "id": LADDER_COMPARISON_ID,
        "plot_type": "table",
        "pconfig": {"id": f"{LADDER_COMPARISON_ID}_table", "col1_header": "Comparison", "sort_rows": False},
        "headers": headers,
    }
    return tsv_with_header(f"{LADDER_COMPARISON_ID}_mqc.tsv", header, rows)


def compute_section(summary: pd.DataFrame) -> ReportFile:
    """Device, wall time, peak memory and GPU-hours per model (from the models' compute.tsv files)."""
    rows = pd.DataFrame(
        {
            "Model": summary["model"],
            "runs": summary["n_runs"],
            "device": summary["device"] + " (" + summary["device_name"] + ")",
            "wall_minutes": summary["wall_seconds"] / 60,
            "peak_host_memory_gib": summary["peak_host_memory_gib"],
            "peak_gpu_memory_gib": summary["peak_gpu_memory_gib"],
            "gpu_hours": summary["gpu_hours"],
        }
    )
    headers = {
        "runs": {"title": "Runs", "description": "Runs (seeds) recorded", "format": "{:,.0f}", "scale": False},
        "device": {"title": "Device", "description": "cpu or cuda, and the processor or GPU"},
        "wall_minutes": {"title": "Wall time (min)", "description": "Mean wall time per run", "format": "{:,.1f}"},
        "peak_host_memory_gib": {
            "title": "Host memory (GiB)",
            "description": "Peak resident memory",
            "format": "{:,.2f}",
        },
        "peak_gpu_memory_gib": {
            "title": "GPU memory (GiB)",
            "description": "Peak allocated by PyTorch",
            "format": "{:,.2f}",
        },
        "gpu_hours": {"title": "GPU-hours", "description": "Wall time on a GPU, summed over runs", "format": "{:,.3f}"},
    }
    header = {
        "id": COMPUTE_ID,
        "plot_type": "table",
        "pconfig": {"id": f"{COMPUTE_ID}_table", "col1_header": "Model", "sort_rows": False},
        "headers": headers,
    }
    return tsv_with_header(f"{COMPUTE_ID}_mqc.tsv", header, rows)
