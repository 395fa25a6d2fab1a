#!/usr/bin/env python3
"""DExTER on a dataset: k-mer/region exploration on the training genes, then LASSO."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import (
    command,
    control_option,
    dataset_option,
    ensure_outdir,
    fold_options,
    groups_option,
    outdir_option,
    progress,
    setup_logging,
    threads_option,
    verbose_option,
)
from seq2expr.errors import InputError
from seq2expr.io.compute import COMPUTE_FILE
from seq2expr.io.multiqc import write_report_files
from seq2expr.io.predictions import CONTROL_FILE, write_control, write_predictions
from seq2expr.io.tables import write_tsv
from seq2expr.models.dexter import DexterConfig, ExplorationParams
from seq2expr.models.dexter.commands import run
from seq2expr.models.dexter.report import DEFAULT_TOP

log = logging.getLogger("dexter")


def _cut_points(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(value) for value in text.split(","))
    except ValueError:
        raise InputError(
            f"--bin-edges {text!r}: expected comma-separated integers (e.g. -2000,-500,0,1,500,2001)"
        ) from None


@command()
@dataset_option("train+val are trained on (train only under cross-fitting), test is held out")
@fold_options
@groups_option("the LassoCV folds keep each group whole [default: contiguous blocks, as the study's DExTER]")
@click.option(
    "--tss-index",
    type=click.IntRange(min=0),
    help="0-based index of the TSS in every window [default: the centre of odd-length windows].",
)
@click.option("--bins", default=13, show_default=True, type=int, help="Number of bins requested (DExTER's -nb_bins).")
@click.option(
    "--bin-mode",
    type=click.Choice(["polynomial", "uniform"]),
    default="polynomial",
    show_default=True,
    help="polynomial: widths grow as cubes away from the TSS (DExTER's default); uniform: equal widths.",
)
@click.option("--bin-edges", help="Explicit bin cut points relative to the TSS, comma-separated (overrides --bins).")
@click.option(
    "--correlation-increase",
    default=0.01,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Minimal absolute gain in |rho|.",
)
@click.option(
    "--correlation-increase-ratio",
    default=0.10,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Minimal relative gain in |rho|.",
)
@click.option(
    "--correlation-min",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Do not expand domains below this |rho|.",
)
@click.option(
    "--kmer-max-length", default=0, show_default=True, type=click.IntRange(min=0), help="Longest k-mer (0 = no limit)."
)
@click.option(
    "--counting",
    type=click.Choice(["compat", "full"]),
    default="compat",
    show_default=True,
    help="compat: skip the k-mer ending on the last base, as the original DExTER; full: count it.",
)
@control_option
@threads_option
@click.option(
    "--top", default=DEFAULT_TOP, show_default=True, type=click.IntRange(min=1), help="Rows of the MultiQC table."
)
@outdir_option
@verbose_option
def main(
    dataset: Path,
    fold: int,
    repeat: int,
    groups: Path | None,
    tss_index: int | None,
    bins: int,
    bin_mode: str,
    bin_edges: str | None,
    correlation_increase: float,
    correlation_increase_ratio: float,
    correlation_min: float,
    kmer_max_length: int,
    counting: str,
    control: Path | None,
    threads: int,
    top: int,
    outdir: Path,
    verbose: bool,
) -> None:
    """Write dexter_variables.tsv, predictions.tsv (every gene), model.json and dexter_variables_mqc.tsv (with
    --control also control.tsv)."""
    setup_logging(verbose)
    config = DexterConfig(
        tss_index=tss_index,
        bins=bins,
        bin_mode=bin_mode,
        bin_edges=_cut_points(bin_edges),
        exploration=ExplorationParams(
            correlation_increase=correlation_increase,
            correlation_increase_ratio=correlation_increase_ratio,
            correlation_min=correlation_min,
            kmer_max_length=kmer_max_length,
        ),
        compat_counting=counting == "compat",
        threads=threads,
    )
    done = run(
        dataset,
        config,
        top,
        track=lambda steps: progress(steps, desc="DExTER exploration", unit="domain"),
        fold=fold,
        repeat=repeat,
        groups=groups,
        control=control,
    )
    ensure_outdir(outdir)
    write_tsv(done.result.variables, outdir / "dexter_variables.tsv")
    write_predictions(done.result.predictions, outdir / "predictions.tsv")
    (outdir / "model.json").write_text(done.result.model.to_json(), encoding="utf-8")
    write_report_files(done.report, outdir)
    write_tsv(done.compute, outdir / COMPUTE_FILE)
    if done.control is not None:
        write_control(done.control, outdir / CONTROL_FILE)
    log.info(
        "wrote %d variables and %d predictions to %s", len(done.result.variables), len(done.result.predictions), outdir
    )


if __name__ == "__main__":
    main()
