#!/usr/bin/env python3
"""Predict expression of new TSS windows with a DExTER model.json written by dexter.py."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import command, ensure_outdir, fold_options, outdir_option, setup_logging, verbose_option
from seq2expr.io.predictions import write_predictions
from seq2expr.io.tables import write_tsv
from seq2expr.models.dexter.commands import run_predict

log = logging.getLogger("dexter_predict")
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@command()
@click.option("--model", "model_path", required=True, type=EXISTING_FILE, help="model.json written by dexter.py.")
@click.option("--sequences", type=EXISTING_FILE, help="FASTA of windows (same length and TSS index as the model's).")
@click.option("--dataset", type=EXISTING_FILE, help="A dataset.tsv.gz instead: predictions.tsv with observed values.")
@fold_options
@outdir_option
@verbose_option
def main(
    model_path: Path, sequences: Path | None, dataset: Path | None, fold: int, repeat: int, outdir: Path, verbose: bool
) -> None:
    """Write dexter_predictions.tsv (gene_id, predicted, model) for --sequences, or predictions.tsv for --dataset."""
    setup_logging(verbose)
    done = run_predict(model_path, sequences, dataset, fold, repeat)
    ensure_outdir(outdir)
    if done.name == "predictions.tsv":
        write_predictions(done.table, outdir / done.name)
    else:
        write_tsv(done.table, outdir / done.name)
    log.info("predicted %d windows with %d variables", len(done.table), done.variables)


if __name__ == "__main__":
    main()
