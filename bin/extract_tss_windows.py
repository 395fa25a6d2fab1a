#!/usr/bin/env python3
"""Cut one window around the TSS of every gene of the chosen biotype(s) out of a genome."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.annotation import read_genes
from seq2expr.cli import comma_list, command, ensure_outdir, outdir_option, setup_logging, verbose_option
from seq2expr.genome import iter_fasta, write_fasta
from seq2expr.mqc import counts_table, ledger_counts, write_report_files
from seq2expr.tables import write_tsv
from seq2expr.tss import WindowSpec, extract_windows, ledger_table, windows_table

log = logging.getLogger("extract_tss_windows")
SUMMARY_FILE = "tss_windows_summary_mqc.tsv"
SUMMARY_ID = "tss_windows_summary"


@command()
@click.option(
    "--genome",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Genome FASTA, plain, gzip or bgzip; soft-masked lower case allowed.",
)
@click.option(
    "--annotation",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="GTF with gene lines (GENCODE gene_type or Ensembl gene_biotype), plain or gzip.",
)
@click.option("--upstream", default=2000, show_default=True, type=click.IntRange(min=0), help="Bases before the TSS.")
@click.option("--downstream", default=2000, show_default=True, type=click.IntRange(min=0), help="Bases after the TSS.")
@click.option(
    "--biotype",
    "biotypes",
    multiple=True,
    default=("protein_coding",),
    show_default=True,
    help="Gene biotype(s) to keep; repeat or separate with commas.",
)
@click.option(
    "--max-n-fraction",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Windows with a larger fraction of N (or other non-ACGT letters) go to the ledger.",
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
    """Write tss_windows.fa (header = gene id; upper case; TSS at index UPSTREAM, minus-strand
    windows reverse-complemented), tss_windows.tsv, extract_ledger.tsv (every gene not kept,
    with the reason) and tss_windows_summary_mqc.tsv (the counts, for the report)."""
    setup_logging(verbose)
    spec = WindowSpec(upstream, downstream, max_n_fraction)
    wanted = comma_list(biotypes)
    genes = read_genes(annotation)
    log.info("%s: %d gene lines; keeping biotype(s) %s", annotation, len(genes), ", ".join(wanted))
    result = extract_windows(iter_fasta(genome), genes, spec, wanted)
    ensure_outdir(outdir)
    write_fasta([(gene.gene_id, sequence) for gene, _, _, sequence in result.windows], outdir / "tss_windows.fa")
    write_tsv(windows_table(result), outdir / "tss_windows.tsv")
    ledger = ledger_table(result)
    write_tsv(ledger, outdir / "extract_ledger.tsv")
    reasons = ledger_counts(ledger)
    summary = {"gtf_genes": len(genes), "windows": len(result.windows), **reasons}
    write_report_files([counts_table(SUMMARY_FILE, SUMMARY_ID, f"{spec.length} bp windows", summary)], outdir)
    log.info("windows: %d of %d genes (%d bp each)", len(result.windows), len(genes), spec.length)
    for reason, count in reasons.items():
        log.info("ledger: %d %s", count, reason)


if __name__ == "__main__":
    main()
