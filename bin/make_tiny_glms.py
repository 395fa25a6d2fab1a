#!/usr/bin/env python3
"""Write the tiny random-weight genome language models of the tests (seq2expr.models.glm.tiny): an ESM with a
six-mer vocabulary (Nucleotide-Transformer-like) and a single-nucleotide BERT, deterministic."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import command, setup_logging, verbose_option
from seq2expr.models.glm.tiny import FAMILIES, write_tiny_glm

log = logging.getLogger("make_tiny_glms")


@command()
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("assets/test_data/tiny_glms"),
    show_default=True,
    help="Folder to write one model folder per family into.",
)
@click.option(
    "--family",
    "families",
    multiple=True,
    type=click.Choice(sorted(FAMILIES)),
    help="Families to write (repeatable) [default: all].",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seed of the random weights (0 regenerates the bundled models; not the pipeline's --seed).",
)
@verbose_option
def main(outdir: Path, families: tuple[str, ...], seed: int, verbose: bool) -> None:
    """Write OUTDIR/<family>/ (config.json, model.safetensors, tokenizer files) for each family."""
    setup_logging(verbose)
    for family in families or sorted(FAMILIES):
        for path in write_tiny_glm(family, outdir / family, seed=seed):
            log.info("wrote %s (%d bytes)", path, path.stat().st_size)


if __name__ == "__main__":
    main()
