#!/usr/bin/env python3
"""Regenerate the bundled synthetic test data (genome, annotation, expression)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import command, setup_logging, verbose_option
from seq2expr.synthetic import PLANTED_KMER, PLANTED_REGION, write_test_data

log = logging.getLogger("make_test_data")


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
    for path in write_test_data(outdir, seed):
        log.info("wrote %s", path)
    log.info("planted signal: %s in %d..%d relative to the TSS", PLANTED_KMER, *PLANTED_REGION)


if __name__ == "__main__":
    main()
