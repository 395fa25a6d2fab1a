#!/usr/bin/env python3
"""Probe the frozen, pretrained DNABERT-2: every layer's pooled embeddings, then a ridge regression whose
layer and penalty are chosen by grouped cross-validation on train+val (seq2expr.models.dnabert2.probe).

Writes into --outdir: predictions.tsv (model `DNABERT-2_probe`, every split), embeddings.safetensors
(the chosen layer's poolings, gene ids in the metadata, for reuse), readout.safetensors (the fitted
standardisation and ridge: with the frozen model, what bin/attribute.py attributes), probe.json
(candidate and chosen layer, penalty, folds, genes) and compute.tsv; with --control, control.tsv.
Nothing in the probe is random: there is no --seed, and re-runs give the same bytes.
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
    groups_option,
    model_option,
    options_from,
    setup_logging,
    step_options,
)
from seq2expr.models.dnabert2.options import FinetuneOptions
from seq2expr.models.probe.options import ProbeOptions

logger = logging.getLogger("probe_dnabert2")


@command(context_settings={"show_default": True})
@dataset_option("train+val fit the ridge (train only under cross-fitting), test is held out")
@fold_options
@model_option("a DNABERT-2 checkpoint")
@click.option(
    "--max-tokens",
    type=click.IntRange(min=3),
    default=FinetuneOptions().max_tokens,
    help="Tokens per window, [CLS]/[SEP] included; the 3' end beyond is cut (the fine-tuning's default).",
)
@groups_option("the cross-validation folds keep each group whole [default: by chromosome]")
@dataclass_options(ProbeOptions)
@control_option
@step_options("embed")
def main(
    dataset: Path,
    model_name: str,
    max_tokens: int,
    groups: Path | None,
    fold: int,
    repeat: int,
    control: Path | None,
    device: str,
    threads: int,
    outdir: Path,
    verbose: bool,
    **values: Any,
) -> None:
    """Embed every window with the frozen model, fit a cross-validated ridge and predict every gene."""
    setup_logging(verbose)
    # torch and transformers take seconds to import: only here, so that --help answers at once.
    from seq2expr.models.dnabert2.probe import run

    options = options_from(ProbeOptions, values)
    run(dataset, model_name, outdir, options, max_tokens, groups, device, threads, fold, repeat, control)


if __name__ == "__main__":
    main()
