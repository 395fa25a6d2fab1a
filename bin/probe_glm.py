#!/usr/bin/env python3
"""Probe any frozen genome language model (Hugging Face Hub id or local folder): every layer's pooled
embeddings, then a ridge regression whose layer and penalty are chosen by grouped cross-validation on
train+val (seq2expr.models.glm.probe).

Architectures transformers implements load natively; a checkpoint with its own modelling code runs
only with --trust-remote-code. Windows longer than the model takes are cut into pieces and averaged.
Writes into --outdir: predictions.tsv (model `probe:<name>`, every split), embeddings.safetensors,
readout.safetensors (the fitted read-out, for bin/attribute.py), probe.json and compute.tsv (with
--control, control.tsv); re-runs give the same bytes.
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
from seq2expr.models.probe.options import ProbeOptions

logger = logging.getLogger("probe_glm")


@command(context_settings={"show_default": True})
@dataset_option("train+val fit the ridge (train only under cross-fitting), test is held out")
@fold_options
@model_option("any genome language model (owner/name)")
@click.option(
    "--trust-remote-code",
    is_flag=True,
    help="Run modelling code shipped with the checkpoint (its config.json auto_map); read that code first.",
)
@click.option(
    "--name",
    help="Short name in the predictions' model column, probe:NAME [default: the folder's or repository's name].",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=2),
    help="Tokens per forward pass, specials included; longer windows are cut into pieces [default: the model's].",
)
@groups_option("the cross-validation folds keep each group whole [default: by chromosome]")
@dataclass_options(ProbeOptions)
@control_option
@step_options("embed")
def main(
    dataset: Path,
    model_name: str,
    trust_remote_code: bool,
    name: str | None,
    max_tokens: int | None,
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
    from seq2expr.models.glm.probe import run

    options = options_from(ProbeOptions, values)
    run(
        dataset,
        model_name,
        outdir,
        options,
        trust_remote_code,
        max_tokens,
        name,
        groups,
        device,
        threads,
        fold,
        repeat,
        control,
    )


if __name__ == "__main__":
    main()
