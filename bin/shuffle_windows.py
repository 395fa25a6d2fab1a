#!/usr/bin/env python3
"""Shuffle TSS windows so that every dinucleotide count of each tile is kept: the composition control.

Writes shuffled_windows.fa: the same names and lengths as --sequences, each window upper-cased and
shuffled tile by tile (Altschul & Erickson's dinucleotide shuffle, drawn uniformly; see
`seq2expr.data.shuffle`). A model's predictions on it show how much of its skill composition
alone explains.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import command, ensure_outdir, outdir_option, seed_option, setup_logging, verbose_option
from seq2expr.data.shuffle import DEFAULT_TILE, run

log = logging.getLogger("shuffle_windows")


@command()
@click.option(
    "--sequences",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="FASTA of TSS windows (tss_windows.fa, or any FASTA).",
)
@click.option(
    "--tile",
    default=DEFAULT_TILE,
    show_default=True,
    type=click.IntRange(min=2),
    help="bp per tile: dinucleotide counts are kept within each tile, so the GC/CpG profile along the window stays.",
)
@seed_option("the shuffles (each window's own stream, from the seed and its name)")
@outdir_option
@verbose_option
def main(sequences: Path, tile: int, seed: int, outdir: Path, verbose: bool) -> None:
    """Write shuffled_windows.fa: every window shuffled within tiles, dinucleotide counts kept exactly."""
    setup_logging(verbose)
    ensure_outdir(outdir)
    result = run(sequences, outdir, tile, seed)
    log.info("wrote %s: %d windows, %d bp", result.path, result.windows, result.bases)


if __name__ == "__main__":
    main()
