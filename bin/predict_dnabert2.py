#!/usr/bin/env python3
"""Predict the expression target of new windows with a fine-tuned DNABERT-2 folder.

Reads a FASTA of windows (header = gene id; cut like the training windows, e.g. by
extract_tss_windows.py) and writes predictions.tsv (gene_id, predicted, model) into --outdir.
Windows are tokenised, truncated and batched exactly as in the fine-tuning (its --max-tokens is
read from the folder's config.json), so on the fine-tuning's own genes the predictions are the
fine-tuning's own.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import (
    command,
    device_option,
    ensure_outdir,
    outdir_option,
    setup_logging,
    threads_option,
    verbose_option,
)

logger = logging.getLogger("predict_dnabert2")
PREDICT_COLUMNS = ["gene_id", "predicted", "model"]


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
@device_option("predict")
@threads_option
@outdir_option
@verbose_option
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
    import pandas as pd
    import torch

    from seq2expr.dnabert2.batching import encode_split
    from seq2expr.dnabert2.finetune import MODEL_NAME, predict, resolve_device
    from seq2expr.dnabert2.model import Dnabert2ForRegression
    from seq2expr.dnabert2.options import FinetuneOptions
    from seq2expr.dnabert2.tokenizer import check_sequences, load_tokenizer
    from seq2expr.errors import InputError
    from seq2expr.genome import iter_fasta
    from seq2expr.tables import write_tsv

    torch.set_num_threads(threads)
    target = resolve_device(device)
    names: list[str] = []
    windows: list[str] = []
    for record in iter_fasta(sequences):  # refuses duplicated names, naming the line
        names.append(record.name)
        windows.append(record.sequence.decode("ascii"))
    if not names:
        raise InputError("no FASTA records; expected one window per gene (>gene_id, then its sequence)", sequences)
    windows = check_sequences(windows, [f"window {name}" for name in names], sequences)
    tokenizer = load_tokenizer(model_dir)
    if tokenizer.pad_token_id is None:
        raise InputError("the tokenizer has no [PAD] token", model_dir)
    model = Dnabert2ForRegression.from_pretrained(model_dir).to(target)
    tokens = max_tokens or int(getattr(model.config, "finetune_max_tokens", FinetuneOptions().max_tokens))
    encoded = encode_split(tokenizer, windows, [0.0] * len(windows), tokens)
    if encoded.n_truncated:
        logger.info(
            "%d of %d windows are longer than %d tokens: cut at their 3' end", encoded.n_truncated, len(names), tokens
        )
    predicted = predict(model, encoded, batch_size, target, int(tokenizer.pad_token_id))
    table = pd.DataFrame({"gene_id": names, "predicted": predicted, "model": MODEL_NAME}, columns=PREDICT_COLUMNS)
    outdir = ensure_outdir(outdir)
    write_tsv(table, outdir / "predictions.tsv")
    logger.info("Predicted %d windows with %s (%d tokens at most) into %s", len(names), model_dir, tokens, outdir)


if __name__ == "__main__":
    main()
