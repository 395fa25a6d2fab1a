"""The evaluation's MultiQC custom content: every section of the report, returned as file contents.

`evaluation_report` is the one entry point: from the evaluation's tables it returns the verdict
(`seq2expr.report.verdict`), the ladder (`seq2expr.report.ladder`), the number tables
(`seq2expr.report.tables`) and the plots and methods text written here. Section titles,
descriptions and order live in `assets/multiqc_config.yml` (one place); each file carries only
its section id, plot type and plot settings. Interactive MultiQC plots are used where MultiQC has
the plot; observed-vs-predicted falls back to a small PNG density plot only when there are too
many genes for one trace per point. Per-model figures put the model with the highest test r
first. Every axis that shows the target says what it is, because a first-time reader meets the
column of silent genes at log10(0.001) = −3 without knowing why.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from seq2expr.evaluation.step import EvaluationResult, Methods
from seq2expr.evaluation.strata import (
    ALL,
    CPG_STEP,
    CPG_WINDOW,
    EXPRESSED_TPM,
    HCP_MIN_CPG_OE,
    HCP_MIN_GC,
    LCP_MAX_CPG_OE,
    PROMOTER_DOWNSTREAM,
    PROMOTER_UPSTREAM,
)
from seq2expr.interpret.attribute import Attribution
from seq2expr.io.multiqc import ReportFile, html_file, png_file, yaml_file
from seq2expr.io.predictions import SPLITS
from seq2expr.report.ladder import PANELS_PER_ROW, compute_section, ladder_comparison_section, ladder_section
from seq2expr.report.learned import attribution_sections, control_sections
from seq2expr.report.style import (
    TARGET,
    best_first,
    caveat,
    flagged_name,
    model_colours,
    near_constant_models,
    ordered,
    random_init_models,
    strata_in,
    stratum_label,
)
from seq2expr.report.tables import comparison_section, metrics_section, strata_section
from seq2expr.report.verdict import verdict_section, write_verdict
from seq2expr.stats import CONFIDENCE, format_interval, format_signed

SCATTER_ID = "observed_vs_predicted"
DISTRIBUTION_ID = "prediction_distribution"
PEARSON_BY_SPLIT_ID = "pearson_by_split"
METHODS_ID = "evaluation_methods"

MAX_SCATTER_POINTS = 500
"""MultiQC draws one trace per scatter point: beyond a few hundred genes a PNG is lighter and clearer."""
IDENTITY_POINTS = 41
"""MultiQC's scatter has no line: the y = x diagonal is drawn as this many small grey points."""
DENSITY_GRID = 200
OBSERVED_COLOUR = "#222222"
SPLIT_COLOURS = {"train": "#9ECAE1", "val": "#4292C6", "test": "#08519C"}


def _test_genes(predictions: Mapping[str, pd.DataFrame], metrics: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each model's test genes, the model with the highest test r first."""
    models = ordered(list(predictions), best_first(metrics))
    return {model: predictions[model][predictions[model]["split"] == "test"] for model in models}


def _test_r(metrics: pd.DataFrame) -> dict[str, float]:
    """Test r on all genes per model, as `metrics.tsv` has it (the report computes no statistic itself)."""
    rows = metrics[(metrics["split"] == "test") & (metrics["stratum"] == ALL)]
    return {str(model): float(r) for model, r in zip(rows["model"], rows["pearson"], strict=True)}


def observed_vs_predicted_section(
    predictions: Mapping[str, pd.DataFrame],
    metrics: pd.DataFrame,
    max_points: int = MAX_SCATTER_POINTS,
    random_init: Collection[str] = (),
) -> ReportFile:
    """Observed vs predicted target on the test genes with the y = x line: a MultiQC scatter per
    model (best first), or a PNG of density panels if large.

    `predictions` maps a model to its run-averaged predictions (gene_id index; split, observed,
    predicted columns).
    """
    tests = _test_genes(predictions, metrics)
    flat = near_constant_models(metrics)
    r = {
        model: f"r = {format_signed(value)} {caveat(model, model in flat, random_init)}".strip()
        for model, value in _test_r(metrics).items()
    }
    colours = model_colours(list(tests))
    if max(len(table) for table in tests.values()) > max_points:
        return png_file(f"{SCATTER_ID}_mqc.png", _density_panels(tests, r, colours))
    values = np.concatenate([np.r_[table["observed"], table["predicted"]] for table in tests.values()])
    diagonal = {
        f"y = x ({index})": {"x": value, "y": value, "color": "#AAAAAA", "marker_size": 2, "hide_in_legend": True}
        for index, value in enumerate(np.linspace(values.min(), values.max(), IDENTITY_POINTS).round(4).tolist())
    }
    datasets = []
    labels = []
    for model, table in tests.items():
        colour = colours[model]  # on each point: MultiQC takes a dataset's colour only when it has several
        points: dict[str, dict[str, object]] = {
            str(gene): {"x": round(float(x), 4), "y": round(float(y), 4), "color": colour, "hide_in_legend": True}
            for gene, x, y in zip(table.index, table["observed"], table["predicted"], strict=True)
        }
        datasets.append(points | diagonal)
        label = f"Predicted by {model} ({r[model]})"
        # MultiQC would count the y = x dots as points: the title counts the genes, and no subtitle counts points
        title = f"Observed vs predicted expression, {len(table):,} test genes (grey dots: y = x)"
        tab = f"{model} ⚠" if caveat(model, model in flat, random_init) else model
        labels.append({"name": tab, "ylab": label, "title": title, "color": colour})
    document = {
        "id": SCATTER_ID,
        "plot_type": "scatter",
        "pconfig": {
            "id": f"{SCATTER_ID}_plot",
            "title": "Observed vs predicted expression (test genes; grey dots: y = x)",
            "series_label": False,
            "xlab": f"Observed target, {TARGET}",
            "ylab": f"Predicted target, {TARGET}",
            "data_labels": labels,
            "marker_size": 5,
            "opacity": 0.6,
        },
        "data": datasets,
    }
    return yaml_file(f"{SCATTER_ID}_mqc.yaml", document)


def _density_panels(tests: Mapping[str, pd.DataFrame], r: Mapping[str, str], colours: Mapping[str, str]) -> Figure:
    """One hexbin panel per model (best first, at most three a row), sharing axes, with y = x and r."""
    values = np.concatenate([np.r_[table["observed"], table["predicted"]] for table in tests.values()])
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.03 or 1.0
    limits = (low - pad, high + pad)
    columns = min(len(tests), PANELS_PER_ROW)
    lines = -(-len(tests) // columns)
    figure = Figure(figsize=(4.2 * columns, 4.2 * lines), layout="constrained")
    axes = figure.subplots(lines, columns, squeeze=False).ravel()
    for axis, (model, table) in zip(axes, tests.items(), strict=False):
        cells = axis.hexbin(
            table["observed"], table["predicted"], gridsize=40, extent=(*limits, *limits), mincnt=1, cmap="viridis"
        )
        axis.plot(limits, limits, color=colours[model], linewidth=1, linestyle="--", label="y = x")
        axis.set(xlim=limits, ylim=limits, xlabel=f"Observed, {TARGET}", ylabel=f"Predicted, {TARGET}", aspect="equal")
        axis.set_title(f"{model}: {r[model]}, n = {len(table):,}", fontsize=10)
        axis.legend(loc="upper left", fontsize=8, frameon=False)
        figure.colorbar(cells, ax=axis, label="genes", shrink=0.8)
    for axis in axes[len(tests) :]:
        axis.set_visible(False)
    return figure


def distribution_section(
    predictions: Mapping[str, pd.DataFrame], metrics: pd.DataFrame, random_init: Collection[str] = ()
) -> ReportFile:
    """Density of the observed target and of each model's predictions on the test genes.

    The study's poster showed this: a regressor can correlate well and still squeeze its
    predictions into a narrow band around the mean. Each density is scaled to its own peak, so
    that one model's spike (a near-constant predictor) does not flatten every other curve. The models'
    curves carry their rank in the ladder and its ⚠ flags; the observed target's comes last.
    """
    tests = _test_genes(predictions, metrics)
    flat = near_constant_models(metrics)
    # MultiQC sorts a line graph's legend by name: the ladder's rank leads each name to keep its order
    names = {model: f"{rank}. {flagged_name(model, flat, random_init)}" for rank, model in enumerate(tests, 1)}
    first = next(iter(tests.values()))
    series = {names[model]: table["predicted"].to_numpy(dtype=float) for model, table in tests.items()}
    series["observed"] = first["observed"].to_numpy(dtype=float)
    values = np.concatenate(list(series.values()))
    spread = float(values.max() - values.min()) or 1.0
    grid = np.linspace(values.min() - 0.1 * spread, values.max() + 0.1 * spread, DENSITY_GRID)
    data = {name: _density(sample, grid) for name, sample in series.items()}
    colours = {names[model]: colour for model, colour in model_colours(list(tests)).items()}
    colours["observed"] = OBSERVED_COLOUR
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


def pearson_by_split_section(metrics: pd.DataFrame, random_init: Collection[str] = ()) -> ReportFile:
    """Grouped bars of Pearson r per model and split on all genes (MultiQC bar graph: hover for the value).

    MultiQC bars have no error bars, so each model's label carries its test interval and the table
    has all of them; models without r (constant predictions) are left out. Models follow the ladder's
    order (MultiQC would sort them by name) with its ⚠ flags.
    """
    flat = near_constant_models(metrics)
    everything = metrics[metrics["stratum"] == ALL]
    table = everything[np.isfinite(everything["pearson"].astype(float))]
    splits = [split for split in SPLITS if split in set(table["split"])]
    data: dict[str, dict[str, float]] = {}
    for model in ordered(list(dict.fromkeys(table["model"].astype(str))), best_first(metrics)):
        rows = table[table["model"] == model]
        r = dict(zip(rows["split"].astype(str), rows["pearson"].to_numpy(dtype=float).tolist(), strict=True))
        label = flagged_name(model, flat, random_init)
        test = rows[rows["split"] == "test"]
        if len(test):
            low, high = test[["pearson_ci_low", "pearson_ci_high"]].to_numpy(dtype=float)[0]
            label += f" (test {CONFIDENCE:.0%} CI {format_interval(low, high)})"
        data[label] = {split: round(r[split], 4) for split in splits if split in r}
    document = {
        "id": PEARSON_BY_SPLIT_ID,
        "plot_type": "bargraph",
        "pconfig": {
            "id": f"{PEARSON_BY_SPLIT_ID}_plot",
            "title": "Pearson r by model and split (all genes)",
            "ylab": "Pearson r",
            "stacking": "group",
            "cpswitch": False,
            "sort_samples": False,
            "tt_decimals": 3,
            "ymin": min(0.0, float(table["pearson"].min()) if len(table) else 0.0),
            "ymax": 1,
        },
        "categories": {split: {"name": split, "color": SPLIT_COLOURS[split]} for split in splits},
        "data": data,
    }
    return yaml_file(f"{PEARSON_BY_SPLIT_ID}_mqc.yaml", document)


def methods_section(methods: Methods, strata: Sequence[str] = (), synthetic: bool = False) -> ReportFile:
    """The methods paragraph a reader needs to reproduce or judge the numbers."""
    data = (
        "<p><strong>Data.</strong> The bundled synthetic test data (<code>assets/test_data</code>: a random genome "
        "with a planted TATA and CpG-island signal): these numbers check the pipeline, not biology.</p>\n"
        if synthetic
        else ""
    )
    level = f"{CONFIDENCE:.0%}"
    items = "".join(
        f"<li><code>{html.escape(item.name)}</code>: {html.escape(item.role)}, {item.genes:,} genes, "
        f"SHA-256 <code>{item.sha256[:16]}…</code></li>"
        for item in methods.inputs
    )
    counts = ", ".join(f"{split} {methods.split_counts.get(split, 0):,}" for split in SPLITS)
    replicate = "; ".join(f"{html.escape(model)}: {count}" for model, count in methods.runs.items())
    software = ", ".join(f"{html.escape(name)} {html.escape(version)}" for name, version in methods.versions.items())
    fitted = (
        "fitted per fold, as the models, on each fold's training genes (the inner validation genes held out)"
        if methods.folds
        else "fitted on the train and validation genes"
    )
    baselines = (
        "Two baselines were computed from the dataset: the mean training target predicted for every gene, and an "
        "ordinary least-squares fit of the target on the GC fraction, CpG observed/expected ratio and CpG density "
        f"of each window, both {fitted}."
        if methods.dataset_given
        else "No dataset was given, so no baselines were computed."
    )
    named = ", ".join(html.escape(stratum_label(stratum)) for stratum in strata) or "all genes"
    protocol, statistics = _protocol_text(methods, counts, level)
    shares = "".join(
        f"{' Test genes per promoter CpG class: ' if index == 0 else ', '}{html.escape(stratum_label(stratum))} "
        f"{n:,} ({share:.1%})"
        for index, (stratum, (n, share)) in enumerate(methods.classes.items())
    ) + ("." if methods.classes else "")
    primary = (
        f"The primary family, fixed before the data, is {html.escape(methods.primary)} against each simple rung "
        "(DExTER, the CNN, the GC/CpG baseline) on all genes, Holm-adjusted over those tests only (Holm 1979); every "
        "other comparison, stratum, interaction and the composition control is exploratory, Holm-adjusted within "
        "its own family. The composition control predicts each test gene's window shuffled within 100-bp tiles "
        "with every dinucleotide count kept (Altschul &amp; Erickson 1985)."
        if methods.primary
        else "No genome language model was evaluated, so there is no primary family; every comparison is exploratory."
    )
    body = f"""{data}<p><strong>Inputs.</strong></p>
<ul>{items}</ul>
{protocol}
<p><strong>Strata.</strong> Test genes reported: {named}.{shares} Unseen genes: test genes whose group (genes with
overlapping windows or homologous sequence, <code>gene_groups.tsv</code>) holds no train or validation gene
(shown only where they are not all the test genes, as they are under a grouped split). Promoter CpG classes
(Weber et al. 2007): {CPG_WINDOW}-bp windows, in steps of {CPG_STEP} bp from {PROMOTER_UPSTREAM:,} bp upstream to
{PROMOTER_DOWNSTREAM:,} bp downstream of the TSS (clipped to the sequence window); a high-CpG promoter (HCP) has a
window with CpG observed/expected ratio above {HCP_MIN_CPG_OE:g} and GC fraction above {HCP_MIN_GC:g}, a low-CpG
promoter (LCP) no window with a ratio above {LCP_MAX_CPG_OE:g}, an intermediate one (ICP) neither.
Expressed: TPM ≥ {EXPRESSED_TPM:g}. On/off: the area under the ROC curve of the prediction for TPM ≥
{EXPRESSED_TPM:g} against below.</p>
<p><strong>Runs.</strong> Prediction files per model (fits × seeds): {replicate}.</p>
<p><strong>Statistics.</strong> Pearson and Spearman correlations, R² against the training mean (1 − SS<sub>res</sub>
/ Σ(observed − mean of the fit genes)²), the calibration slope and intercept (observed on predicted) and the MSE.
{statistics} {primary} {baselines}</p>
<p><strong>Software.</strong> {software}.</p>
"""
    return html_file(METHODS_ID, body)


def _protocol_text(methods: Methods, counts: str, level: str) -> tuple[str, str]:
    """The protocol paragraph and the sentences on intervals and tests, for cross-fitting or a single split."""
    if methods.folds:
        protocol = (
            f"<p><strong>Protocol.</strong> Grouped {methods.folds}-fold cross-fitting"
            f"{f', {methods.repeats} fold draws' if methods.repeats > 1 else ''}: every model was fitted once per fold "
            "(and seed) on the other folds, whole groups of similar genes per fold, and predicted the fold it never "
            "saw; every gene has one out-of-fold prediction per draw, and the metrics are those of the pooled "
            "out-of-fold predictions of all genes. Every model of a fold was fitted on the same genes.</p>"
        )
        statistics = (
            f"{level} intervals and analytic p values by the corrected repeated k-fold t (Nadeau &amp; Bengio "
            f"2003; Bouckaert &amp; Frank 2004) on the per-fold statistics: variance (1/J + 1/(K − 1)) s² over the "
            "J folds, t with J − 1 degrees of freedom, Pearson r on Fisher's z; it carries the training "
            "variability of each fold's fit (seeds and training genes) into the interval. Fewer than 40 genes: a "
            "Fisher-z interval for r, none for a difference."
        )
        return protocol, statistics
    protocol = (
        f"<p><strong>Split.</strong> Genes per split (union over the inputs): {counts}. Every model predicts every "
        "test gene; model comparisons use the same test genes for both models. The performance table says which "
        "genes each model was fitted on, and what a validation split was used for (fitting, or choosing the epoch "
        "to stop at).</p>"
    )
    statistics = (
        f"{level} intervals and analytic p values: the cluster bootstrap ({methods.resamples:,} resamples, seed "
        f"{methods.seed}) that draws whole gene groups with every run (seed) held fixed gives the gene-sampling "
        "variance; the variance across runs over their number is added, with Welch–Satterthwaite degrees of "
        "freedom for the t (Satterthwaite 1946). A model with one run has no training variability in its "
        "interval. Two models are compared on the same genes by the paired difference (Δr, ΔMSE), the same "
        "resamples for both; Williams' t (Steiger 1980, eq. 7) is shown as secondary."
    )
    return protocol, statistics


def evaluation_report(
    metrics: pd.DataFrame,
    comparison: pd.DataFrame,
    ladder: pd.DataFrame,
    compute: pd.DataFrame,
    predictions: Mapping[str, pd.DataFrame],
    methods: Methods,
    max_scatter_points: int = MAX_SCATTER_POINTS,
    synthetic: bool = False,
    control: pd.DataFrame | None = None,
    interaction: pd.DataFrame | None = None,
    attribution: Attribution | None = None,
) -> list[ReportFile]:
    """Every report file of the evaluation, from its tables.

    `metrics`, `comparison` and `ladder` are the evaluation's tables (with a `stratum` column),
    `compute` the compute summary (may be empty; its `random_init` column names the models with
    random test weights), `predictions` the run-averaged predictions of the learned models;
    `synthetic`: the inputs are the bundled synthetic test data (the report opens by saying so); `control`,
    `interaction` and `attribution`: the composition control, the strata interaction and the attribution
    tables, when the evaluation made them ("What the models learned").
    """
    random_init = random_init_models(compute)
    files = [
        verdict_section(write_verdict(metrics, comparison, random_init, synthetic, control, interaction)),
        ladder_section(metrics, random_init),
        metrics_section(metrics, random_init),
        observed_vs_predicted_section(predictions, metrics, max_scatter_points, random_init),
        distribution_section(predictions, metrics, random_init),
        pearson_by_split_section(metrics, random_init),
        methods_section(methods, strata_in(metrics), synthetic),
    ]
    strata_table = strata_section(metrics, random_init)
    if strata_table is not None:
        files.append(strata_table)
    if not comparison.empty:
        files.append(comparison_section(comparison))
    if not ladder.empty:
        files.append(ladder_comparison_section(ladder))
    if not compute.empty:
        files.append(compute_section(compute, random_init))
    if control is not None:
        files += control_sections(control)
    if attribution is not None:
        files += attribution_sections(attribution.profiles, attribution.motifs, attribution.kmers, attribution.regions)
    return files


def report_files(
    result: EvaluationResult, max_scatter_points: int = MAX_SCATTER_POINTS, synthetic: bool = False
) -> list[ReportFile]:
    """The MultiQC content of one evaluation step's result (what `bin/evaluate_models.py` writes beside its tables);
    `synthetic`: the inputs are the bundled synthetic test data."""
    tables = result.tables
    return evaluation_report(
        tables["metrics.tsv"],
        tables["comparison.tsv"],
        tables["ladder.tsv"],
        result.compute,
        result.predictions,
        result.methods,
        max_scatter_points,
        synthetic,
        tables.get("control.tsv"),
        tables.get("interaction.tsv"),
        result.attribution,
    )
