#!/usr/bin/env python3
"""Write a tiny DNABERT-2-shaped model (random weights + BPE tokenizer trained on a FASTA)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import command, setup_logging, verbose_option
from seq2expr.io.genome import iter_fasta
from seq2expr.models.dnabert2.tiny import TinySize, write_tiny_model

log = logging.getLogger("make_tiny_dnabert2")
DEFAULT = TinySize()


@command()
@click.option(
    "--sequences",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="FASTA (plain or gzip) to train the tokenizer on, e.g. the bundled genome.",
)
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("assets/test_data/tiny_dnabert2"),
    show_default=True,
    help="Model folder to write (config.json, model.safetensors, tokenizer.json, tokenizer_config.json).",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seed of the random weights (0 regenerates the bundled model; not the pipeline's --seed).",
)
@click.option("--vocab-size", default=DEFAULT.vocab_size, show_default=True, type=click.IntRange(min=16))
@click.option("--hidden-size", default=DEFAULT.hidden_size, show_default=True, type=click.IntRange(min=1))
@click.option("--layers", default=DEFAULT.num_hidden_layers, show_default=True, type=click.IntRange(min=1))
@click.option("--heads", default=DEFAULT.num_attention_heads, show_default=True, type=click.IntRange(min=1))
@click.option("--intermediate-size", default=DEFAULT.intermediate_size, show_default=True, type=click.IntRange(min=1))
@verbose_option
def main(
    sequences: Path,
    outdir: Path,
    seed: int,
    vocab_size: int,
    hidden_size: int,
    layers: int,
    heads: int,
    intermediate_size: int,
    verbose: bool,
) -> None:
    """Train a BPE tokenizer with DNABERT-2's special tokens on SEQUENCES and write it with random
    weights at a tiny configuration, in the published DNABERT-2 layout (deterministic)."""
    setup_logging(verbose)
    if hidden_size % heads:
        raise click.BadParameter(f"--hidden-size {hidden_size} is not a multiple of --heads {heads}")
    size = TinySize(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
    )
    records = [record.sequence.decode("ascii") for record in iter_fasta(sequences)]
    log.info("training the tokenizer on %d records (%d bp)", len(records), sum(map(len, records)))
    for path in write_tiny_model(records, outdir, seed=seed, size=size):
        log.info("wrote %s", path)


if __name__ == "__main__":
    main()
