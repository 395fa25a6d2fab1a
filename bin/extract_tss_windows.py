#!/usr/bin/env python3
"""Cut one window around the TSS of every gene of the chosen biotype(s) out of a genome."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click

from seq2expr.cli import comma_list, command, outdir_option, setup_logging, verbose_option
from seq2expr.tss import DEFAULT_BIOTYPES, WindowSpec, run

DEFAULTS = WindowSpec()
HELP = {spec.name: spec.metadata["help"] for spec in fields(WindowSpec)}


@command()
@click.option(
    "--genome",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Genome FASTA, plain, gzip or bgzip; soft-masked lower case allowed (and kept in the windows).",
)
@click.option(
    "--annotation",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="GTF with gene lines (GENCODE gene_type or Ensembl gene_biotype), plain or gzip.",
)
@click.option(
    "--upstream", default=DEFAULTS.upstream, show_default=True, type=click.IntRange(min=0), help=HELP["upstream"]
)
@click.option(
    "--downstream", default=DEFAULTS.downstream, show_default=True, type=click.IntRange(min=0), help=HELP["downstream"]
)
@click.option(
    "--biotype",
    "biotypes",
    multiple=True,
    default=DEFAULT_BIOTYPES,
    show_default=True,
    help="Gene biotype(s) to keep; repeat or separate with commas.",
)
@click.option(
    "--max-n-fraction",
    default=DEFAULTS.max_n_fraction,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help=HELP["max_n_fraction"],
)
@outdir_option
@verbose_option
def main(
    genome: Path,
    annotation: Path,
    upstream: int,
    downstream: int,
    biotypes: tuple[str, ...],
    max_n_fraction: float,
    outdir: Path,
    verbose: bool,
) -> None:
    """Write tss_windows.fa (header = gene id; the genome's soft-masking kept; TSS at index UPSTREAM,
    minus-strand windows reverse-complemented), tss_windows.tsv, extract_ledger.tsv (every gene not
    kept, with the reason) and tss_windows_summary_mqc.tsv (the counts, for the report)."""
    setup_logging(verbose)
    run(genome, annotation, outdir, WindowSpec(upstream, downstream, max_n_fraction), comma_list(biotypes))


if __name__ == "__main__":
    main()
