#!/usr/bin/env python3
"""Probe the frozen, pretrained DNABERT-2: pooled embeddings of every window, then a ridge regression.

Writes into --outdir: predictions.tsv (model `DNABERT-2_probe`, every split), embeddings.safetensors
(one float32 tensor per pooling, gene ids in the metadata, for reuse), probe.json (chosen penalty,
features, genes) and compute.tsv. Nothing in the probe is random: there is no --seed, and re-runs
give the same bytes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from seq2expr.cli import (
    comma_list,
    command,
    device_option,
    ensure_outdir,
    outdir_option,
    setup_logging,
    threads_option,
    verbose_option,
)
from seq2expr.dnabert2.options import FinetuneOptions

logger = logging.getLogger("probe_dnabert2")
DEFAULT_MAX_TOKENS = FinetuneOptions().max_tokens  # the fine-tuning's, so both read the same tokens
DEFAULT_ALPHAS = "1e-2,1e-1,1,10,100,1e3,1e4,1e5,1e6"


def _alphas(text: str) -> list[float]:
    from seq2expr.errors import InputError

    try:
        alphas = [float(value) for value in comma_list([text])]
    except ValueError:
        raise InputError(f"--alphas {text!r}: expected comma-separated positive numbers (e.g. 1,10,100)") from None
    if not alphas or min(alphas) <= 0:
        raise InputError(f"--alphas {text!r}: expected comma-separated positive numbers (e.g. 1,10,100)")
    return alphas


@command(context_settings={"show_default": True})
@click.option(
    "--dataset",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="dataset.tsv.gz (gene_id, chrom, split, tpm, target, sequence); train+val fit the ridge, test is held out.",
)
@click.option("--model", "model_name", required=True, help="Hugging Face hub id or folder of a DNABERT-2 checkpoint.")
@click.option(
    "--pooling",
    default="mean,cls",
    help="Features, comma-separated and concatenated in this order: mean (over tokens, no specials), cls.",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=3),
    default=DEFAULT_MAX_TOKENS,
    help="Tokens per window, [CLS]/[SEP] included (the fine-tuning's default).",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, help="Windows per forward pass.")
@click.option("--alphas", default=DEFAULT_ALPHAS, help="Ridge penalties to choose from by leave-one-out CV.")
@device_option("embed")
@threads_option
@outdir_option
@verbose_option
def main(
    dataset: Path,
    model_name: str,
    pooling: str,
    max_tokens: int,
    batch_size: int,
    alphas: str,
    device: str,
    threads: int,
    outdir: Path,
    verbose: bool,
) -> None:
    """Embed every window with the frozen model, fit a cross-validated ridge and predict every gene."""
    setup_logging(verbose)
    # torch and transformers take seconds to import: only here, so that --help answers at once.
    import torch
    from threadpoolctl import threadpool_limits

    from seq2expr.compute import COMPUTE_FILE, record_compute
    from seq2expr.dataset import read_dataset
    from seq2expr.dnabert2.finetune import checked_table, encode_table, resolve_device
    from seq2expr.dnabert2.model import Dnabert2Model
    from seq2expr.dnabert2.probe import (
        MODEL_NAME,
        check_poolings,
        embed,
        feature_matrix,
        fit_probe,
        save_embeddings,
    )
    from seq2expr.dnabert2.tokenizer import load_tokenizer
    from seq2expr.errors import InputError
    from seq2expr.predictions import write_predictions
    from seq2expr.tables import honour_umask

    poolings = comma_list([pooling])
    check_poolings(poolings)
    penalties = _alphas(alphas)
    outdir = ensure_outdir(outdir)
    with record_compute(outdir / COMPUTE_FILE, MODEL_NAME) as compute:
        torch.set_num_threads(threads)
        target = resolve_device(device)
        compute.use_device(target)
        table = checked_table(read_dataset(dataset), dataset)
        tokenizer = load_tokenizer(model_name)
        if tokenizer.pad_token_id is None:
            raise InputError("the tokenizer has no [PAD] token", model_name)
        model = Dnabert2Model.from_pretrained(model_name).to(target)
        logger.info("%s: %d genes; frozen %s on %s", dataset, len(table), model_name, target)
        encoded = encode_table(table, tokenizer, max_tokens)
        embeddings = embed(model, encoded, batch_size, target, int(tokenizer.pad_token_id))
        with threadpool_limits(limits=threads):
            result, _ = fit_probe(table, feature_matrix(embeddings, poolings), penalties)
        write_predictions(result.predictions, outdir / "predictions.tsv")
        save_embeddings(outdir / "embeddings.safetensors", table["gene_id"].tolist(), embeddings, model_name)
        honour_umask(outdir / "embeddings.safetensors")
        summary = {
            "model": model_name,
            "poolings": poolings,
            "max_tokens": max_tokens,
            "truncated": encoded.n_truncated,
            "alpha": result.alpha,
            "alphas": penalties,
            "n_features": result.n_features,
            "n_fit_genes": result.n_fit,
        }
        (outdir / "probe.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "ridge penalty %g on %d features; wrote predictions.tsv, embeddings.safetensors, probe.json",
        result.alpha,
        result.n_features,
    )


if __name__ == "__main__":
    main()
