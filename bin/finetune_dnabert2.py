#!/usr/bin/env python3
"""Fine-tune DNABERT-2 to predict each gene's expression target from its TSS window.

Writes into --outdir: predictions.tsv (best checkpoint, every split), training_log.tsv,
training_curves_mqc.yaml (MultiQC line graph), model/ (weights + tokenizer), fit.json (which genes
the predicting weights were fitted on, `seq2expr.models.training.refit`; with --refit also refit_log.tsv) and
compute.tsv; with --control, control.tsv (the test genes' predictions on their shuffled windows too).
A killed run started again with the same options continues from its last checkpoint. The
options and their defaults are those of `seq2expr.models.dnabert2.options.FinetuneOptions`; the work is
`seq2expr.models.dnabert2.finetune.run`.
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
    model_option,
    options_from,
    setup_logging,
    step_options,
)
from seq2expr.models.dnabert2.options import FinetuneOptions
from seq2expr.models.training.options import ResumeOptions
from seq2expr.models.training.refit import RefitOptions

logger = logging.getLogger("finetune_dnabert2")


@command(context_settings={"show_default": True})
@dataset_option("train is fitted on, val stops the training early, test is held out")
@fold_options
@model_option("a DNABERT-2 checkpoint")
@dataclass_options(FinetuneOptions)
@dataclass_options(RefitOptions)
@click.option(
    "--search-learning-rate",
    "search_rate",
    is_flag=True,
    help="GPU only: first choose the learning rate on the val genes among the declared ones (the study's 3e-5 and one "
    "on each side; one fine-tuning each; learning_rate_search.tsv), then fine-tune at the chosen one.",
)
@control_option
@dataclass_options(ResumeOptions)
@step_options("train")
def main(
    dataset: Path,
    model_name: str,
    search_rate: bool,
    control: Path | None,
    fold: int,
    repeat: int,
    device: str,
    threads: int,
    outdir: Path,
    verbose: bool,
    **values: Any,
) -> None:
    """Fine-tune DNABERT-2 (regression on the pooled [CLS]) and predict every gene of the dataset."""
    setup_logging(verbose)
    options = options_from(FinetuneOptions, values)
    resume = options_from(ResumeOptions, values)
    refit = options_from(RefitOptions, values)
    # torch and transformers take seconds to import: only here, so that --help answers at once.
    from seq2expr.models.dnabert2.finetune import run

    done = run(dataset, model_name, options, outdir, device, threads, resume, refit, search_rate, fold, repeat, control)
    logger.info("Wrote %s to %s", ", ".join(done.files), outdir)


if __name__ == "__main__":
    main()
