#!/usr/bin/env python3
"""Regenerate the bundled synthetic test data (genome, annotation, expression)."""

from __future__ import annotations

from pathlib import Path

import click

from seq2expr.cli import command, setup_logging, verbose_option
from seq2expr.data.synthetic import run


@command()
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("assets/test_data"),
    show_default=True,
    help="Folder to write genome.fa.gz, annotation.gtf.gz and expression.gct.gz into.",
)
@click.option(
    "--seed",
    default=1,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seed of the generator (1 regenerates the bundled files byte for byte; not the pipeline's --seed).",
)
@verbose_option
def main(outdir: Path, seed: int, verbose: bool) -> None:
    """Write a small synthetic genome whose Pituitary expression is driven by the density of a
    planted k-mer in a planted region around the TSS."""
    setup_logging(verbose)
    run(outdir, seed)


if __name__ == "__main__":
    main()
