#!/usr/bin/env python3
"""Train the one-hot promoter CNN from scratch and predict every gene of the dataset.

Writes into --outdir: predictions.tsv (model `CNN`, best epoch, every split), training_log.tsv,
cnn_training_curves_mqc.yaml (MultiQC line graph), model/ (config.json + model.safetensors),
fit.json (which genes the predicting weights were fitted on, `seq2expr.models.training.refit`; with --refit also
refit_log.tsv) and compute.tsv (device, wall time, peak memory); with --search, cnn_search.tsv; with --control,
control.tsv (the test genes' predictions on their shuffled windows too, `seq2expr.io.predictions`).
A killed run started again with the same options continues from its checkpoint. The options and
their defaults are those of `seq2expr.models.cnn.options` (`CnnOptions`, `CnnConfig`); the work is
`seq2expr.models.cnn.run.run`.
torch is imported only once the options are read, so `--help` answers at once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from seq2expr.cli import (
    command,
    control_option,
    dataclass_options,
    dataset_option,
    fold_options,
    options_from,
    setup_logging,
    step_options,
)
from seq2expr.models.cnn.options import CnnConfig, CnnOptions
from seq2expr.models.training.options import ResumeOptions
from seq2expr.models.training.refit import RefitOptions

logger = logging.getLogger("train_cnn")


@command(context_settings={"show_default": True})
@dataset_option("windows of one length; train is fitted on, val stops the training early, test is held out")
@fold_options
@dataclass_options(CnnOptions)
@dataclass_options(CnnConfig)
@dataclass_options(RefitOptions)
@click.option(
    "--search/--no-search",
    default=False,
    help="Choose the recipe first by the declared search on the val genes (seq2expr.models.cnn.search; writes "
    "cnn_search.tsv); the chosen candidate's architecture and learning rate replace the options above.",
)
@control_option
@dataclass_options(ResumeOptions)
@step_options("train")
def main(
    dataset: Path,
    fold: int,
    repeat: int,
    search: bool,
    control: Path | None,
    device: str,
    threads: int,
    outdir: Path,
    verbose: bool,
    **values: Any,
) -> None:
    """Train the CNN (early stopping on val) and write its predictions, log, weights and compute record."""
    setup_logging(verbose)
    options = options_from(CnnOptions, values)
    config = options_from(CnnConfig, values)  # checks the architecture's sizes (one line on a bad one)
    resume = options_from(ResumeOptions, values)
    refit = options_from(RefitOptions, values)
    # torch takes seconds to import: only here, so that --help answers at once.
    from seq2expr.models.cnn.run import run

    done = run(
        dataset,
        config,
        options,
        outdir,
        device,
        threads,
        resume,
        refit,
        search,
        fold=fold,
        repeat=repeat,
        control=control,
    )
    logger.info("Wrote %s to %s", ", ".join(done.files), outdir)


if __name__ == "__main__":
    main()
