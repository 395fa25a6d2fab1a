"""The report sections that lead the numbers: the ladder figure, the gLM against each rung, compute.

The ladder is a forest plot: one point per model with its bootstrap interval as a whisker, models
as rows (highest test r on all genes at the top) and one panel per gene stratum sharing that row
order and the r axis, so a reader sees at once where the genome language model stands and
whether its place holds within each promoter CpG class, on unseen genes and among expressed genes; a last
panel gives the on/off AUROC. MultiQC has no dot plot with error bars (its line graph would join
unrelated models), so the figure is a small PNG drawn with matplotlib.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from seq2expr.io.multiqc import ReportFile, interval_cells, number_cells, png_file, table_section
from seq2expr.models.roster import is_glm
from seq2expr.report.style import (
    best_first,
    by_model,
    caveat,
    model_colours,
    ranked_test_rows,
    strata_in,
    stratum_label,
)
from seq2expr.report.tables import GENES, LEVEL, THREE, p_headers
from seq2expr.stats import format_signed

LADDER_ID = "model_ladder"
LADDER_COMPARISON_ID = "model_ladder_comparison"
COMPUTE_ID = "model_compute"
PANEL_WIDTH = 3.2
ROW_HEIGHT = 0.34
LABEL_WIDTH = 1.8
PANELS_PER_ROW = 3
"""Panels per line of the report's multi-panel figures (readable at the report's width)."""


def _panel(
    axis: Axes, rows: pd.DataFrame, models: list[str], value: str, low: str, high: str, colours: dict[str, str]
) -> None:
    """Points with whiskers for the models (row i = models[i], top first) and their value beside each."""
    centres, lows, highs = (by_model(rows, column) for column in (value, low, high))
    flagged = set(rows.loc[rows["near_constant"].astype(bool), "model"].astype(str))
    for position, model in enumerate(models):
        centre, lo, hi = centres.get(model, np.nan), lows.get(model, np.nan), highs.get(model, np.nan)
        if not np.isfinite(centre):
            continue
        axis.errorbar(
            centre,
            position,
            xerr=[[max(centre - lo, 0)], [max(hi - centre, 0)]] if np.isfinite(lo) and np.isfinite(hi) else None,
            fmt="o",
            color=colours[model],
            markerfacecolor="white" if model in flagged else colours[model],
            markersize=6,
            capsize=3,
            linewidth=1.5,
        )
        axis.annotate(
            format_signed(centre, 2),
            (hi if np.isfinite(hi) else centre, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color="#444444",
        )
    axis.set_ylim(len(models) - 0.5, -0.5)
    axis.grid(axis="x", color="#E5E5E5", linewidth=0.8)
    axis.set_axisbelow(True)
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)


def ladder_figure(metrics: pd.DataFrame, random_init: Collection[str] = ()) -> Figure:
    """The forest plot of test r per model, one panel per stratum (all genes first), then on/off AUROC."""
    test = metrics[metrics["split"] == "test"]
    strata = strata_in(test)
    first = ranked_test_rows(metrics)
    r = by_model(first, "pearson")
    models = [model for model in best_first(metrics) if np.isfinite(r[model])]
    auroc = first[np.isfinite(first["auroc_on_off"].astype(float))]
    panels = len(strata) + (1 if len(auroc) else 0)
    columns = min(panels, PANELS_PER_ROW)
    lines = -(-panels // columns)
    height = 0.9 + ROW_HEIGHT * max(len(models), 2)
    figure = Figure(figsize=(LABEL_WIDTH + PANEL_WIDTH * columns, height * lines), layout="constrained")
    grid = figure.subplots(lines, columns, sharey=True, squeeze=False)
    axes = list(grid.ravel()[:panels])
    for unused in grid.ravel()[panels:]:
        unused.set_visible(False)
    colours = model_colours(list(test["model"].astype(str).unique()))
    bounds = test.loc[test["model"].isin(models), ["pearson_ci_low", "pearson_ci_high", "pearson"]].to_numpy(float)
    finite = bounds[np.isfinite(bounds)]
    low = min(0.0, float(finite.min()) if finite.size else 0.0)
    high = max(0.1, float(finite.max()) if finite.size else 1.0)
    pad = 0.08 * (high - low)
    for axis, stratum in zip(axes, strata, strict=False):
        rows = ranked_test_rows(metrics, stratum)
        _panel(axis, rows, models, "pearson", "pearson_ci_low", "pearson_ci_high", colours)
        axis.axvline(0, color="#999999", linewidth=0.8, linestyle="--")
        axis.set_xlim(low - pad, high + 2.5 * pad)
        axis.set_xlabel(f"test Pearson r ({LEVEL} CI)", fontsize=8)
        axis.set_title(f"{stratum_label(stratum)}\nn = {int(rows['n'].max()):,}", fontsize=9)
    if len(auroc):
        axis = axes[-1]
        _panel(axis, auroc, models, "auroc_on_off", "auroc_ci_low", "auroc_ci_high", colours)
        axis.axvline(0.5, color="#999999", linewidth=0.8, linestyle="--")
        axis.set_xlim(0.4, 1.05)
        axis.set_xlabel(f"AUROC ({LEVEL} CI), 0.5 = chance", fontsize=8)
        axis.set_title(f"on/off: TPM ≥ 1 vs below\nn = {int(auroc['n'].max()):,}", fontsize=9)
    near_constant = set(first.loc[first["near_constant"].astype(bool), "model"].astype(str))
    labels = []
    for model in models:
        note = caveat(model, model in near_constant, random_init)
        labels.append(f"{model}\n{note}" if note else model)
    axes[0].set_yticks(range(len(models)), labels, fontsize=9)
    for first_panel in grid[:, 0]:  # the first panel of every line names the models
        first_panel.tick_params(axis="y", labelleft=True)
        for tick, model in zip(first_panel.get_yticklabels(), models, strict=True):
            if is_glm(model):
                tick.set_fontweight("bold")
            if caveat(model, model in near_constant, random_init):
                tick.set_color("#B35900")
    for axis in axes:
        axis.tick_params(axis="x", labelsize=8)
    return figure


def ladder_section(metrics: pd.DataFrame, random_init: Collection[str] = ()) -> ReportFile:
    """The ladder figure as the report's `model_ladder` section (a PNG)."""
    return png_file(f"{LADDER_ID}_mqc.png", ladder_figure(metrics, random_init))


def ladder_comparison_section(ladder: pd.DataFrame) -> ReportFile:
    """The gLM against each rung in each stratum: Δr and ΔMSE with paired intervals, p (Holm)."""
    order = {stratum: rank for rank, stratum in enumerate(strata_in(ladder))}
    rows = ladder.assign(_stratum=ladder["stratum"].map(order)).sort_values(["_stratum", "rung"], kind="stable")
    glm = ", ".join(dict.fromkeys(rows["glm"].astype(str)))
    table = pd.DataFrame(
        {
            "Comparison": [
                f"{stratum_label(str(stratum))} · vs {rung}"
                for stratum, rung in zip(rows["stratum"], rows["rung"], strict=True)
            ],
            "n": rows["n"].to_numpy(),
            "pearson_glm": number_cells(rows["pearson_glm"]),
            "pearson_rung": number_cells(rows["pearson_rung"]),
            "delta_r": number_cells(rows["delta_r"]),
            "delta_r_ci": interval_cells(rows, "delta_r_ci_low", "delta_r_ci_high"),
            "delta_mse": number_cells(rows["delta_mse"]),
            "delta_mse_ci": interval_cells(rows, "delta_mse_ci_low", "delta_mse_ci_high"),
            "p_holm": number_cells(rows["p_holm"]),
            "p_williams": number_cells(rows["p_williams"]),
        }
    )
    headers = {
        "n": {**GENES, "description": "Test genes of the stratum"},
        "pearson_glm": {"title": f"r {glm}", "description": "Pearson r of the genome language model", **THREE},
        "pearson_rung": {"title": "r rung", "description": "Pearson r of the rung (empty: constant)", **THREE},
        "delta_r": {"title": "Δr", "description": "r(gLM) − r(rung); a constant rung counts as r = 0", **THREE},
        "delta_r_ci": {
            "title": f"Δr {LEVEL} CI",
            "description": "Paired interval of the protocol (ci_method in ladder.tsv)",
        },
        "delta_mse": {"title": "ΔMSE", "description": "MSE(rung) − MSE(gLM); positive: the gLM errs less", **THREE},
        "delta_mse_ci": {
            "title": f"ΔMSE {LEVEL} CI",
            "description": "Paired interval of the protocol (ci_method in ladder.tsv)",
            "hidden": True,  # under 'Configure columns': the table must fit the page
        },
        **p_headers(rows),
    }
    return table_section(LADDER_COMPARISON_ID, table, f"Stratum · {glm} against", headers)


def compute_section(summary: pd.DataFrame, random_init: Collection[str] = ()) -> ReportFile:
    """Device, wall time, peak memory and GPU-hours per model (from the models' compute.tsv files)."""
    rows = pd.DataFrame(
        {
            "Model": [f"{model} {caveat(model, False, random_init)}".strip() for model in summary["model"]],
            "runs": summary["n_runs"].to_numpy(),
            "device": (summary["device"] + " (" + summary["device_name"] + ")").to_numpy(),
            "wall_minutes": (summary["wall_seconds"] / 60).to_numpy(),
            "peak_host_memory_gib": summary["peak_host_memory_gib"].to_numpy(),
            "peak_gpu_memory_gib": summary["peak_gpu_memory_gib"].to_numpy(),
            "gpu_hours": summary["gpu_hours"].to_numpy(),
        }
    )
    headers = {
        "runs": {**GENES, "title": "Runs", "description": "Runs (seeds) recorded"},
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
    return table_section(COMPUTE_ID, rows, "Model", headers)
