"""The evaluation's MultiQC custom content: tables, plots and the methods text, returned as file contents.

Section titles, descriptions and order live in `assets/multiqc_config.yml` (one place); each file
here carries only its section id, plot type and plot settings. Interactive MultiQC plots are used
throughout; observed-vs-predicted falls back to a small PNG density plot only when there are too
many genes for one trace per point. Every axis that shows the target says what it is, because a
first-time reader meets the column of silent genes at log10(0.001) = −3 without knowing why.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from seq2expr.dexter.model import MODEL_NAME as DEXTER
from seq2expr.evaluate import BASELINES, CONFIDENCE
from seq2expr.mqc import ReportFile, tsv_with_header, yaml_file
from seq2expr.predictions import SPLITS

METRICS_ID = "model_metrics"
COMPARISON_ID = "model_comparison"
SCATTER_ID = "observed_vs_predicted"
DISTRIBUTION_ID = "prediction_distribution"
PEARSON_BY_SPLIT_ID = "pearson_by_split"
METHODS_ID = "evaluation_methods"
SECTION_IDS = (METRICS_ID, COMPARISON_ID, SCATTER_ID, DISTRIBUTION_ID, PEARSON_BY_SPLIT_ID, METHODS_ID)

MAX_SCATTER_POINTS = 500
"""MultiQC draws one trace per scatter point: beyond a few hundred genes a PNG is lighter and clearer."""
DENSITY_GRID = 200
OBSERVED_COLOUR = "#222222"
# Okabe-Ito colours (distinguishable with colour-blindness) for the models, greys for the baselines.
MODEL_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
BASELINE_COLOURS = {"gc_cpg_baseline": "#8C8C8C", "mean_baseline": "#BDBDBD"}
SPLIT_COLOURS = {"train": "#9ECAE1", "val": "#4292C6", "test": "#08519C"}
PNG_DPI = 100
TARGET = "log10 TPM (0.001 floor)"
"""What the target is (the dataset's default recipe); silent genes sit at the floor, −3."""
TRAINED_ON_VAL = (DEXTER, *BASELINES)
"""Models fitted on the train and val genes together: their val row is not held out."""
MINUS = "\u2212"


def model_colours(models: Sequence[str]) -> dict[str, str]:
    """A stable colour per model name, the same in every plot."""
    learned = [model for model in models if model not in BASELINES]
    colours = {model: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, model in enumerate(learned)}
    colours.update({model: BASELINE_COLOURS[model] for model in models if model in BASELINES})
    return colours


def _signed(value: float) -> str:
    """Three decimals with a true minus sign, which a hyphen next to a dash would not read as."""
    return f"{value:.3f}".replace("-", MINUS)


def _intervals(table: pd.DataFrame, low: str, high: str) -> list[str]:
    """Interval columns as '[low, high]' text: unambiguous with negative bounds ('−0.371 – −0.006' is not)."""
    return [
        f"[{_signed(lo)}, {_signed(hi)}]" if np.isfinite(lo) and np.isfinite(hi) else "n/a"
        for lo, hi in zip(table[low], table[high], strict=True)
    ]


def row_labels(metrics: pd.DataFrame) -> list[str]:
    """'model · split', saying when a val split was trained on and when the predictions are near-constant."""
    labels = []
    for model, split, near_constant in zip(metrics["model"], metrics["split"], metrics["near_constant"], strict=True):
        label = f"{model} · {split}"
        if split == "val" and model in TRAINED_ON_VAL:
            label += f" (in training for {model})"
        if near_constant:
            label += " ⚠ near-constant predictions"
        labels.append(label)
    return labels


def _number(value: float) -> float | str:
    """MultiQC tables show NaN as the string 'nan'; an empty cell reads better."""
    return float(value) if np.isfinite(value) else ""


def metrics_section(metrics: pd.DataFrame) -> ReportFile:
    """The metrics table: a row per model and split, correlations with their intervals."""
    rows = pd.DataFrame(
        {
            "Model and split": row_labels(metrics),
            "n": metrics["n"],
            "runs": metrics["n_runs"],
            "pearson": metrics["pearson"].map(_number),
            "pearson_ci": _intervals(metrics, "pearson_ci_low", "pearson_ci_high"),
            "pearson_fisher_ci": _intervals(metrics, "pearson_fisher_low", "pearson_fisher_high"),
            "pearson_sd": metrics["pearson_sd"].map(_number),
            "spearman": metrics["spearman"].map(_number),
            "spearman_ci": _intervals(metrics, "spearman_ci_low", "spearman_ci_high"),
            "r2": metrics["r2"].map(_number),
            "mse": metrics["mse"].map(_number),
            "mae": metrics["mae"].map(_number),
        }
    )
    level = f"{CONFIDENCE:.0%}"
    single_runs = bool((metrics["n_runs"] == 1).all())
    correlation = {"format": "{:,.3f}", "min": 0, "max": 1, "scale": "RdYlGn"}
    headers = {
        "n": {"title": "Genes", "description": "Genes in this split", "format": "{:,.0f}", "scale": False},
        "runs": {"title": "Runs", "description": "Prediction files (seeds) averaged", "hidden": single_runs},
        "pearson": {"title": "Pearson r", "description": "Pearson correlation, mean over runs", **correlation},
        "pearson_ci": {"title": f"r {level} CI", "description": "Gene-level percentile bootstrap interval"},
        "pearson_fisher_ci": {"title": f"r {level} CI (Fisher)", "description": "Fisher z interval"},
        "pearson_sd": {
            "title": "r SD",
            "description": "SD of r across runs",
            "hidden": single_runs,
            "format": "{:,.3f}",
        },
        "spearman": {"title": "Spearman ρ", "description": "Spearman correlation, mean over runs", **correlation},
        "spearman_ci": {"title": f"ρ {level} CI", "description": "Gene-level percentile bootstrap interval"},
        "r2": {"title": "R²", "description": "Coefficient of determination, 1 - SSres/SStot", "format": "{:,.3f}"},
        "mse": {"title": "MSE", "description": "Mean squared error", "format": "{:,.3f}", "scale": False},
        "mae": {"title": "MAE", "description": "Mean absolute error", "format": "{:,.3f}", "scale": False},
    }
    header = {
        "id": METRICS_ID,
        "plot_type": "table",
        "pconfig": {"id": f"{METRICS_ID}_table", "col1_header": "Model · split", "sort_rows": False},
        "headers": headers,
    }
    return tsv_with_header(f"{METRICS_ID}_mqc.tsv", header, rows)


def comparison_section(comparison: pd.DataFrame) -> ReportFile:
    """The paired comparison table: a row per pair of models on their shared test genes."""
    rows = pd.DataFrame(
        {
            "Comparison": [
                f"A {a} vs B {b}" + (" ⚠ near-constant predictions" if flat else "")
                for a, b, flat in zip(
                    comparison["model_a"], comparison["model_b"], comparison["near_constant"], strict=True
                )
            ],
            "n": comparison["n"],
            "pearson_a": comparison["pearson_a"],
            "pearson_b": comparison["pearson_b"],
            "delta_r": comparison["delta_r"],
            "delta_ci": _intervals(comparison, "delta_r_ci_low", "delta_r_ci_high"),
            "zou_ci": _intervals(comparison, "zou_ci_low", "zou_ci_high"),
            "r_ab": comparison["r_ab"],
            "p_value": comparison["p_value"],
            "p_value_holm": comparison["p_value_holm"],
        }
    )
    level = f"{CONFIDENCE:.0%}"
    p_format = {"format": "{:.2e}", "scale": False}
    headers = {
        "n": {"title": "Genes", "description": "Test genes both models predict", "format": "{:,.0f}", "scale": False},
        "pearson_a": {"title": "r A", "description": "Pearson r of the first model (A)", "format": "{:,.3f}"},
        "pearson_b": {"title": "r B", "description": "Pearson r of the second model (B)", "format": "{:,.3f}"},
        "delta_r": {"title": "Δr", "description": "r(A) - r(B)", "format": "{:,.3f}", "scale": "RdBu"},
        "delta_ci": {"title": f"Δr {level} CI", "description": "Paired gene-level bootstrap interval"},
        "zou_ci": {"title": "Zou CI", "description": f"Zou (2007) {level} interval for dependent correlations"},
        "r_ab": {"title": "r(A,B)", "description": "Correlation of the two models' predictions", "format": "{:,.3f}"},
        "p_value": {"title": "p", "description": "Williams' t test, dependent overlapping correlations", **p_format},
        "p_value_holm": {"title": "p Holm", "description": "Williams' p, Holm-adjusted over all pairs", **p_format},
    }
    header = {
        "id": COMPARISON_ID,
        "plot_type": "table",
        "pconfig": {"id": f"{COMPARISON_ID}_table", "col1_header": "Models", "sort_rows": False},
        "headers": headers,
    }
    return tsv_with_header(f"{COMPARISON_ID}_mqc.tsv", header, rows)


def _test_genes(predictions: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {model: table[table["split"] == "test"] for model, table in predictions.items()}


def observed_vs_predicted_section(
    predictions: Mapping[str, pd.DataFrame], max_points: int = MAX_SCATTER_POINTS
) -> ReportFile:
    """Observed vs predicted target on the test genes: a MultiQC scatter per model, or a PNG if large.

    `predictions` maps a model to its run-averaged predictions (gene_id index; split, observed,
    predicted columns).
    """
    tests = _test_genes(predictions)
    colours = model_colours(list(tests))
    if max(len(table) for table in tests.values()) > max_points:
        return ReportFile(f"{SCATTER_ID}_mqc.png", _density_panels(tests, colours))
    datasets = []
    labels = []
    for model, table in tests.items():
        r = float(np.corrcoef(table["observed"], table["predicted"])[0, 1])
        datasets.append(
            {
                str(gene): {"x": round(float(x), 4), "y": round(float(y), 4), "hide_in_legend": True}
                for gene, x, y in zip(table.index, table["observed"], table["predicted"], strict=True)
            }
        )
        labels.append({"name": model, "ylab": f"Predicted by {model} (r = {r:.3f})", "color": colours[model]})
    document = {
        "id": SCATTER_ID,
        "plot_type": "scatter",
        "pconfig": {
            "id": f"{SCATTER_ID}_plot",
            "title": "Observed vs predicted expression (test genes)",
            "xlab": f"Observed target, {TARGET}",
            "ylab": f"Predicted target, {TARGET}",
            "data_labels": labels,
            "marker_size": 5,
            "opacity": 0.6,
        },
        "data": datasets,
    }
    return yaml_file(f"{SCATTER_ID}_mqc.yaml", document)


def _png_bytes(figure: Figure) -> bytes:
    """PNG without the software/time metadata, so re-runs give the same bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _density_panels(tests: Mapping[str, pd.DataFrame], colours: Mapping[str, str]) -> bytes:
    """One hexbin panel per model, sharing axes, with the identity line and r in the title."""
    values = np.concatenate([np.r_[table["observed"], table["predicted"]] for table in tests.values()])
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.03 or 1.0
    limits = (low - pad, high + pad)
    figure = Figure(figsize=(4.2 * len(tests), 4.2), layout="constrained")
    axes = figure.subplots(1, len(tests), squeeze=False)
    for axis, (model, table) in zip(axes[0], tests.items(), strict=True):
        r = float(np.corrcoef(table["observed"], table["predicted"])[0, 1])
        cells = axis.hexbin(
            table["observed"], table["predicted"], gridsize=40, extent=(*limits, *limits), mincnt=1, cmap="viridis"
        )
        axis.plot(limits, limits, color=colours[model], linewidth=1, linestyle="--")
        axis.set(xlim=limits, ylim=limits, xlabel=f"Observed, {TARGET}", ylabel=f"Predicted, {TARGET}", aspect="equal")
        axis.set_title(f"{model}: r = {r:.3f}, n = {len(table):,}", fontsize=10)
        figure.colorbar(cells, ax=axis, label="genes", shrink=0.8)
    return _png_bytes(figure)


def distribution_section(predictions: Mapping[str, pd.DataFrame]) -> ReportFile:
    """Density of the observed target and of each model's predictions on the test genes.

    The study's poster showed this: a regressor can correlate well and still squeeze its
    predictions into a narrow band around the mean. Each density is scaled to its own peak, so
    that one model's spike (a near-constant predictor) does not flatten every other curve.
    """
    tests = _test_genes(predictions)
    first = next(iter(tests.values()))
    series = {"observed": first["observed"].to_numpy(dtype=float)}
    series.update({model: table["predicted"].to_numpy(dtype=float) for model, table in tests.items()})
    values = np.concatenate(list(series.values()))
    spread = float(values.max() - values.min()) or 1.0
    grid = np.linspace(values.min() - 0.1 * spread, values.max() + 0.1 * spread, DENSITY_GRID)
    data = {name: _density(sample, grid) for name, sample in series.items()}
    colours = {"observed": OBSERVED_COLOUR, **model_colours(list(tests))}
    document = {
        "id": DISTRIBUTION_ID,
        "plot_type": "linegraph",
        "pconfig": {
            "id": f"{DISTRIBUTION_ID}_plot",
            "title": "Distribution of observed and predicted expression (test genes)",
            "xlab": f"Target, {TARGET} (observed or predicted)",
            "ylab": "Density, scaled to each curve's peak",
            "ymax": 1,
            "ymin": 0,
            "colors": colours,
            "showlegend": True,
        },
        "data": data,
    }
    return yaml_file(f"{DISTRIBUTION_ID}_mqc.yaml", document)


def _density(sample: np.ndarray, grid: np.ndarray) -> dict[float, float]:
    """Gaussian kernel density (Scott's bandwidth) on the grid, divided by its peak; a spike for a
    constant sample."""
    if np.ptp(sample) == 0:
        density = np.zeros_like(grid)
        density[int(np.argmin(np.abs(grid - sample[0])))] = 1.0
    else:
        density = stats.gaussian_kde(sample)(grid)
        density /= density.max()
    return {round(float(x), 4): round(float(y), 5) for x, y in zip(grid, density, strict=True)}


def pearson_by_split_section(metrics: pd.DataFrame) -> ReportFile:
    """Grouped bars of Pearson r per model and split (MultiQC bar graph: hover for the value).

    MultiQC bars have no error bars, so each model's label carries its test interval and the table
    above has all of them; models without r (constant predictions) are left out.
    """
    table = metrics[np.isfinite(metrics["pearson"])]
    splits = [split for split in SPLITS if split in set(table["split"])]
    data: dict[str, dict[str, float]] = {}
    for model, rows in table.groupby("model", sort=False):
        by_split = rows.set_index("split")
        label = str(model)
        if "test" in by_split.index:
            test = by_split.loc["test"]
            ci = _intervals(test.to_frame().T, "pearson_ci_low", "pearson_ci_high")[0]
            label += f" (test {CONFIDENCE:.0%} CI {ci})"
        data[label] = {
            split: round(float(by_split.loc[split, "pearson"]), 4) for split in splits if split in by_split.index
        }
    document = {
        "id": PEARSON_BY_SPLIT_ID,
        "plot_type": "bargraph",
        "pconfig": {
            "id": f"{PEARSON_BY_SPLIT_ID}_plot",
            "title": "Pearson r by model and split",
            "ylab": "Pearson r",
            "stacking": "group",
            "cpswitch": False,
            "tt_decimals": 3,
            "ymin": min(0.0, float(table["pearson"].min()) if len(table) else 0.0),
            "ymax": 1,
        },
        "categories": {split: {"name": split, "color": SPLIT_COLOURS[split]} for split in splits},
        "data": data,
    }
    return yaml_file(f"{PEARSON_BY_SPLIT_ID}_mqc.yaml", document)


@dataclass(frozen=True)
class MethodsInput:
    """What the methods text says about one input file."""

    name: str
    role: str
    sha256: str
    genes: int


def methods_section(
    inputs: Sequence[MethodsInput],
    split_counts: Mapping[str, int],
    runs: Mapping[str, int],
    versions: Mapping[str, str],
    seed: int,
    resamples: int,
    dataset_given: bool,
) -> ReportFile:
    """The methods paragraph a reader needs to reproduce or judge the numbers."""
    level = f"{CONFIDENCE:.0%}"
    items = "".join(
        f"<li><code>{html.escape(item.name)}</code>: {html.escape(item.role)}, {item.genes:,} genes, "
        f"SHA-256 <code>{item.sha256[:16]}…</code></li>"
        for item in inputs
    )
    counts = ", ".join(f"{split} {split_counts.get(split, 0):,}" for split in SPLITS)
    replicate = "; ".join(f"{html.escape(model)}: {count}" for model, count in runs.items())
    software = ", ".join(f"{html.escape(name)} {html.escape(version)}" for name, version in versions.items())
    baselines = (
        "Two baselines were computed from the dataset: the mean training target predicted for every gene, and an "
        "ordinary least-squares fit of the target on the GC fraction, CpG observed/expected ratio and CpG density "
        "of each window, both fitted on the train and validation genes."
        if dataset_given
        else "No dataset was given, so no baselines were computed."
    )
    text = f"""<!--
id: {METHODS_ID}
plot_type: html
-->
<p><strong>Inputs.</strong></p>
<ul>{items}</ul>
<p><strong>Split.</strong> Genes per split (union over the inputs): {counts}. Every model is evaluated on its own
genes of each split; model comparisons use the test genes that both models share.</p>
<p><strong>Replicate runs.</strong> Prediction files per model (runs with different seeds): {replicate}. A model
with several runs is reported as the mean over runs with the standard deviation across runs; its intervals
describe the run-averaged correlation.</p>
<p><strong>Statistics.</strong> Pearson and Spearman correlations, the coefficient of determination R² =
1 − SS<sub>res</sub>/SS<sub>tot</sub>, mean squared and mean absolute error between the observed target and the
prediction. {level} intervals: percentile bootstrap over genes ({resamples:,} resamples, seed {seed}), and the
Fisher z interval for Pearson r. Each pair of models is compared on their shared test genes by the difference in
Pearson r (Δr) with a paired bootstrap interval (the same gene resamples for both models), Zou's (2007) interval,
and Williams' t test for two dependent correlations sharing the observed variable (Steiger 1980, eq. 7;
two-sided, n − 3 degrees of freedom), with Holm's adjustment over all pairs. {baselines}</p>
<p><strong>Software.</strong> {software}.</p>
"""
    return ReportFile(f"{METHODS_ID}_mqc.html", text.encode("utf-8"))
