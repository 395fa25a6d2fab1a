#!/usr/bin/env python3
"""Predict the expression target of new windows with a fine-tuned DNABERT-2 folder.

Reads a FASTA of windows (header = gene id; cut like the training windows, e.g. by
extract_tss_windows.py) and writes predictions.tsv (gene_id, predicted, model) into --outdir.
Windows are tokenised, truncated and batched exactly as in the fine-tuning (its --max-tokens is
read from the folder's config.json), so on the fine-tuning's own genes the predictions are the
fine-tuning's own. The work is `seq2expr.models.dnabert2.predict.run`.
"""

from __future__ import annotations

from pathlib import Path

import click

from seq2expr.cli import (
    command,
    setup_logging,
    step_options,
)


@command(context_settings={"show_default": True})
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="model/ folder written by finetune_dnabert2.py (config.json, model.safetensors, tokenizer).",
)
@click.option(
    "--sequences",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="FASTA of windows (plain or gzip); the header's first word is the gene id.",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=3),
    default=None,
    help="Tokens per window, [CLS]/[SEP] included [default: the fine-tuning's, from config.json, else 1000].",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, help="Windows per forward pass.")
@step_options("predict")
def main(
    model_dir: Path,
    sequences: Path,
    max_tokens: int | None,
    batch_size: int,
    device: str,
    threads: int,
    outdir: Path,
    verbose: bool,
) -> None:
    """Write predictions.tsv (gene_id, predicted, model) for every window of the FASTA."""
    setup_logging(verbose)
    # torch and transformers take seconds to import: only here, so that --help answers at once.
    from seq2expr.models.dnabert2.predict import run

    run(model_dir, sequences, outdir, max_tokens, batch_size, device, threads)


if __name__ == "__main__":
    main()
