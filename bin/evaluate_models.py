#!/usr/bin/env python3
"""Evaluate and compare the models' predictions; write the tables and the MultiQC report content.

Give every `predictions.tsv` after `--predictions` (`--predictions a.tsv b.tsv` or repeated
flags). Files that name the same model are runs of it with different seeds and are averaged.
With `--dataset`, the training-mean and GC/CpG baselines are added, and the promoter CpG class
(HCP / ICP / LCP) and expressed strata and the on/off AUROC become available; with `--groups`
(gene_groups.tsv), the intervals resample gene groups and the `unseen` stratum appears (where it is
not every test gene). Cross-fitted predictions (a file per fold,
repeat and seed) are pooled into one out-of-fold prediction per gene and repeat. The report leads
with the model ladder: the primary model (`--primary-model`, fixed before the data) against each
rung; `--compute` files add compute.tsv and a table.
`--synthetic-data` (the test profiles) makes the report open by saying that it ran on synthetic data.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import command, ensure_outdir, outdir_option, seed_option, setup_logging, verbose_option
from seq2expr.evaluation.step import DEFAULT_RESAMPLES, EvaluationOptions, run
from seq2expr.io.multiqc import write_report_files
from seq2expr.io.tables import write_tsv
from seq2expr.report.build import MAX_SCATTER_POINTS, report_files

log = logging.getLogger("evaluate_models")
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@command()
@click.option(
    "--predictions",
    "predictions",
    multiple=True,
    type=EXISTING_FILE,
    help="predictions.tsv of a model (gene_id, split, observed, predicted, model); more files may follow.",
)
@click.argument("more_predictions", nargs=-1, type=EXISTING_FILE)
@click.option(
    "--dataset",
    type=EXISTING_FILE,
    help="dataset.tsv.gz the models were trained on: adds the mean and GC/CpG baselines, the promoter CpG "
    "class and expressed strata and the on/off AUROC.",
)
@click.option(
    "--groups",
    type=EXISTING_FILE,
    help="gene_groups.tsv of the dataset: intervals resample whole groups, and the unseen stratum is added "
    "where it differs from all [default: every gene its own group].",
)
@click.option(
    "--tss-index",
    type=click.IntRange(min=0),
    help="0-based TSS position in the dataset's windows, for the promoter CpG classes "
    "[default: the centre of odd windows].",
)
@click.option(
    "--bootstrap",
    default=DEFAULT_RESAMPLES,
    show_default=True,
    type=click.IntRange(min=100),
    help="Bootstrap resamples.",
)
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
    type=EXISTING_FILE,
    help="compute.tsv of a model run (repeatable): device, wall time, peak memory, GPU-hours.",
)
@click.option(
    "--fit",
    "fit_files",
    multiple=True,
    type=EXISTING_FILE,
    help="fit.json of a CNN or DNABERT-2 run (repeatable): says what its predicting weights were fitted on "
    "(--refit: train+val) [default: train, val for early stopping].",
)
@click.option(
    "--control",
    "control_files",
    multiple=True,
    type=EXISTING_FILE,
    help="control.tsv of a model run (repeatable): its test genes predicted on real and on shuffled windows "
    "(the composition control).",
)
@click.option(
    "--shuffled",
    type=EXISTING_FILE,
    help="The shuffled windows (shuffled_windows.fa) the --control files were predicted on: adds the GC/CpG "
    "baseline's own control (needs --dataset).",
)
@click.option(
    "--attribution",
    "attribution_files",
    multiple=True,
    type=EXISTING_FILE,
    help="attribution_*.tsv of an attributed model (repeatable): the report's 'What the models learned'.",
)
@click.option(
    "--primary-model",
    default=None,
    help="The model of the primary family, tested against each simple rung (DExTER, CNN, GC/CpG) on all genes "
    "with Holm's adjustment over those tests only; fixed before the data [default: DNABERT-2 when given, else "
    "the first gLM of --predictions].",
)
@click.option(
    "--synthetic-data",
    is_flag=True,
    help="The inputs are the bundled synthetic test data (set by -profile test): the report opens by saying that "
    "its numbers check the pipeline, not biology.",
)
@outdir_option
@verbose_option
def main(
    predictions: tuple[Path, ...],
    more_predictions: tuple[Path, ...],
    dataset: Path | None,
    groups: Path | None,
    tss_index: int | None,
    bootstrap: int,
    seed: int,
    max_scatter_points: int,
    compute_files: tuple[Path, ...],
    fit_files: tuple[Path, ...],
    control_files: tuple[Path, ...],
    shuffled: Path | None,
    attribution_files: tuple[Path, ...],
    primary_model: str | None,
    synthetic_data: bool,
    outdir: Path,
    verbose: bool,
) -> None:
    """Metrics per stratum with cluster-bootstrap intervals, paired model comparisons and MultiQC content."""
    setup_logging(verbose)
    result = run(
        EvaluationOptions(
            predictions=predictions + more_predictions,
            dataset=dataset,
            groups=groups,
            tss_index=tss_index,
            compute=compute_files,
            fits=fit_files,
            controls=control_files,
            shuffled=shuffled,
            attribution=attribution_files,
            primary_model=primary_model,
            bootstrap=bootstrap,
            seed=seed,
        )
    )
    report = report_files(result, max_scatter_points, synthetic_data)
    ensure_outdir(outdir)
    for name, table in result.tables.items():
        write_tsv(table, outdir / name)
    write_report_files(report, outdir)
    log.info("wrote %s and %d report file(s) to %s", ", ".join(result.tables), len(report), outdir)


if __name__ == "__main__":
    main()
