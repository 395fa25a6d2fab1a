#!/usr/bin/env python3
"""Train the one-hot promoter CNN from scratch and predict every gene of the dataset.

Writes into --outdir: predictions.tsv (model `CNN`, best epoch, every split), training_log.tsv,
cnn_training_curves_mqc.yaml (MultiQC line graph), model/ (config.json + model.safetensors),
fit.json (which genes the predicting weights were fitted on, `seq2expr.refit`; with --refit also
refit_log.tsv) and compute.tsv (device, wall time, peak memory); with --search, cnn_search.tsv.
A killed run started again with the same options continues from its checkpoint. The options and
their defaults are those of `seq2expr.cnn.options` (`CnnOptions`, `CnnConfig`); the work is `seq2expr.cnn.training.run`.
torch is imported only once the options are read, so `--help` answers at once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from seq2expr.cli import (
    ResumeOptions,
    command,
    dataclass_options,
    device_option,
    options_from,
    outdir_option,
    setup_logging,
    threads_option,
    verbose_option,
)
from seq2expr.cnn.options import CnnConfig, CnnOptions
from seq2expr.refit import RefitOptions

logger = logging.getLogger("train_cnn")


@command(context_settings={"show_default": True})
@click.option(
    "--dataset",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="dataset.tsv.gz (gene_id, chrom, split, tpm, target, sequence); windows of one length.",
)
@dataclass_options(CnnOptions)
@dataclass_options(CnnConfig)
@dataclass_options(RefitOptions)
@click.option(
    "--search/--no-search",
    default=False,
    help="Choose the recipe first by the declared search on the val genes (seq2expr.cnn.search; writes "
    "cnn_search.tsv); the chosen candidate's architecture and learning rate replace the options above.",
)
@device_option("train")
@threads_option
@dataclass_options(ResumeOptions)
@outdir_option
@verbose_option
def main(dataset: Path, search: bool, device: str, threads: int, outdir: Path, verbose: bool, **values: Any) -> None:
    """Train the CNN (early stopping on val) and write its predictions, log, weights and compute record."""
    setup_logging(verbose)
    options = options_from(CnnOptions, values)
    config = options_from(CnnConfig, values)  # checks the architecture's sizes (one line on a bad one)
    resume = options_from(ResumeOptions, values)
    refit = options_from(RefitOptions, values)
    # torch takes seconds to import: only here, so that --help answers at once.
    from seq2expr.cnn.training import run

    done = run(dataset, config, options, outdir, device, threads, resume, refit, search)
    logger.info("Wrote %s to %s", ", ".join(done.files), outdir)


if __name__ == "__main__":
    main()
