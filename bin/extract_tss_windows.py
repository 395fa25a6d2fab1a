#!/usr/bin/env python3
"""Cut one window around the TSS of every gene of the chosen biotype(s) out of a genome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from seq2expr.cli import (
    comma_list,
    command,
    dataclass_options,
    options_from,
    outdir_option,
    setup_logging,
    verbose_option,
)
from seq2expr.data.tss import DEFAULT_BIOTYPES, WindowSpec, run


@command(context_settings={"show_default": True})
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
@dataclass_options(WindowSpec)
@click.option(
    "--biotype",
    "biotypes",
    multiple=True,
    default=DEFAULT_BIOTYPES,
    show_default=True,
    help="Gene biotype(s) to keep; repeat or separate with commas.",
)
@outdir_option
@verbose_option
def main(
    genome: Path,
    annotation: Path,
    biotypes: tuple[str, ...],
    outdir: Path,
    verbose: bool,
    **window: Any,
) -> None:
    """Write tss_windows.fa (header = gene id; the genome's soft-masking kept; TSS at index UPSTREAM,
    minus-strand windows reverse-complemented), tss_windows.tsv, extract_ledger.tsv (every gene not
    kept, with the reason) and tss_windows_summary_mqc.tsv (the counts, for the report)."""
    setup_logging(verbose)
    run(genome, annotation, outdir, options_from(WindowSpec, window), comma_list(biotypes))


if __name__ == "__main__":
    main()
