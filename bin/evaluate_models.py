#!/usr/bin/env python3
"""Evaluate and compare the models' predictions; write the tables and the MultiQC report content.

Give every `predictions.tsv` after `--predictions` (`--predictions a.tsv b.tsv` or repeated
flags). Files that name the same model are runs of it with different seeds and are averaged.
With `--dataset`, the training-mean and GC/CpG baselines are added for context. The report leads
with the model ladder (test r of every model, sorted; the gLM named by `--glm` against each rung);
`--compute` files (each model step's compute.tsv) add compute.tsv and a compute table.
"""

from __future__ import annotations

import hashlib
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click
import pandas as pd

import seq2expr
from seq2expr.cli import command, ensure_outdir, outdir_option, seed_option, setup_logging, verbose_option
from seq2expr.compute import compute_summary, read_compute
from seq2expr.dataset import read_dataset
from seq2expr.errors import InputError
from seq2expr.evaluate import (
    BASELINES,
    baseline_models,
    check_against_dataset,
    comparison_table,
    group_models,
    mean_prediction,
    metrics_table,
)
from seq2expr.ladder import GLM, ladder_table
from seq2expr.ladder_report import compute_section, ladder_comparison_section, ladder_section
from seq2expr.mqc import write_report_files
from seq2expr.predictions import read_predictions
from seq2expr.report import (
    MAX_SCATTER_POINTS,
    MethodsInput,
    comparison_section,
    distribution_section,
    methods_section,
    metrics_section,
    observed_vs_predicted_section,
    pearson_by_split_section,
)
from seq2expr.tables import write_tsv

log = logging.getLogger("evaluate_models")

SOFTWARE = ("numpy", "scipy", "pandas", "scikit-learn")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    # The package's own version from the code that runs (a task runs the staged checkout, which
    # is not an installed distribution)
    versions = {"seq2expr": seq2expr.__version__}
    for name in SOFTWARE:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "unknown"
    return versions


@command()
@click.option(
    "--predictions",
    "predictions",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="predictions.tsv of a model (gene_id, split, observed, predicted, model); more files may follow.",
)
@click.argument("more_predictions", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dataset",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="dataset.tsv.gz the models were trained on: adds the mean and GC/CpG baselines.",
)
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(min=100), help="Bootstrap resamples.")
@seed_option("the bootstrap resamples")
@click.option(
    "--max-scatter-points",
    default=MAX_SCATTER_POINTS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Above this many test genes, observed vs predicted is a PNG density plot instead of a MultiQC scatter.",
)
@click.option(
    "--compute",
    "compute_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="compute.tsv of a model run (repeatable): device, wall time, peak memory, GPU-hours.",
)
@click.option(
    "--glm",
    default=GLM,
    show_default=True,
    help="Model compared with every other rung of the ladder (skipped when absent).",
)
@outdir_option
@verbose_option
def main(
    predictions: tuple[Path, ...],
    more_predictions: tuple[Path, ...],
    dataset: Path | None,
    bootstrap: int,
    seed: int,
    max_scatter_points: int,
    compute_files: tuple[Path, ...],
    glm: str,
    outdir: Path,
    verbose: bool,
) -> None:
    """Metrics with confidence intervals, paired model comparisons and MultiQC custom content."""
    setup_logging(verbose)
    paths = list(predictions) + list(more_predictions)
    if not paths:
        raise InputError("no predictions given; pass --predictions FILE [FILE...]")
    models = group_models([(str(path), read_predictions(path)) for path in paths])
    log.info("%d model(s) from %d file(s): %s", len(models), len(paths), ", ".join(m.name for m in models))
    learned = {model.name: mean_prediction(model) for model in models}
    inputs = [
        MethodsInput(path.name, f"predictions of {model.name}", _sha256(path), len(model.genes))
        for model in models
        for path in paths
        if str(path) in model.sources
    ]
    if dataset is not None:
        table = read_dataset(dataset)
        check_against_dataset(models, table, str(dataset))
        models += baseline_models(table, str(dataset))
        inputs.append(MethodsInput(dataset.name, "dataset (baselines)", _sha256(dataset), len(table)))

    metrics = metrics_table(models, bootstrap, seed)
    comparison = comparison_table(models, bootstrap, seed)
    ladder = ladder_table(models, glm, bootstrap, seed)
    compute = compute_summary([read_compute(path) for path in compute_files])
    splits = pd.concat([model.genes["split"] for model in models if model.name not in BASELINES])
    split_counts = splits[~splits.index.duplicated()].value_counts().to_dict()

    ensure_outdir(outdir)
    write_tsv(metrics, outdir / "metrics.tsv")
    write_tsv(comparison, outdir / "comparison.tsv")
    write_tsv(ladder, outdir / "ladder.tsv")
    if compute_files:
        write_tsv(compute, outdir / "compute.tsv")
    sections = [
        ladder_section(metrics),
        metrics_section(metrics),
        observed_vs_predicted_section(learned, max_scatter_points),
        distribution_section(learned),
        pearson_by_split_section(metrics),
        methods_section(
            inputs,
            split_counts,
            {model.name: model.n_runs for model in models if model.name not in BASELINES},
            _versions(),
            seed,
            bootstrap,
            dataset is not None,
        ),
    ]
    if not comparison.empty:
        sections.append(comparison_section(comparison))
    if not ladder.empty:
        sections.append(ladder_comparison_section(ladder))
    if compute_files:
        sections.append(compute_section(compute))
    write_report_files(sections, outdir)
    log.info("wrote metrics.tsv, comparison.tsv and %d report file(s) to %s", len(sections), outdir)


if __name__ == "__main__":
    main()
