#!/usr/bin/env python3
"""Join TSS windows with a tissue's expression, compute the target and draw the split."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import (
    comma_list,
    command,
    ensure_outdir,
    outdir_option,
    seed_option,
    setup_logging,
    val_fraction_option,
    verbose_option,
)
from seq2expr.dataset import (
    SPLITS,
    TargetSpec,
    assemble,
    chromosome_split,
    dexter_split,
    ledger_table,
    match_genes,
    read_window_chromosomes,
    write_dataset,
)
from seq2expr.errors import InputError
from seq2expr.expression import read_expression, select_tissue
from seq2expr.genome import read_sequences
from seq2expr.mqc import counts_table, ledger_counts, write_report_files
from seq2expr.tables import write_tsv

log = logging.getLogger("build_dataset")
SUMMARY_FILE = "dataset_summary_mqc.tsv"
SUMMARY_ID = "dataset_summary"
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@command()
@click.option("--sequences", required=True, type=EXISTING_FILE, help="TSS windows FASTA (tss_windows.fa).")
@click.option(
    "--expression",
    required=True,
    type=EXISTING_FILE,
    help="GTEx GCT or plain TSV (gene id, then one column per tissue); gzip read transparently.",
)
@click.option("--tissue", required=True, help="Tissue column to predict (case and punctuation ignored).")
@click.option("--windows", type=EXISTING_FILE, help="tss_windows.tsv (gene_id, chrom): fills the chrom column.")
@click.option(
    "--split",
    "split_mode",
    type=click.Choice(["dexter", "chromosome"]),
    default="dexter",
    show_default=True,
    help="dexter: DExTER's own random 2/3 train draw; chromosome: hold out whole chromosomes.",
)
@seed_option("the dexter draw")
@val_fraction_option("carved from the dexter split's train genes (0: no val split)")
@click.option("--test-chromosomes", multiple=True, help="Chromosome split: test chromosomes (comma list).")
@click.option("--val-chromosomes", multiple=True, help="Chromosome split: validation chromosomes (comma list).")
@click.option(
    "--tpm-floor",
    default=0.001,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="target = log10(max(TPM + pseudocount, floor)).",
)
@click.option("--pseudocount", default=0.0, show_default=True, type=click.FloatRange(min=0.0), help="Added to TPM.")
@outdir_option
@verbose_option
def main(
    sequences: Path,
    expression: Path,
    tissue: str,
    windows: Path | None,
    split_mode: str,
    seed: int,
    val_fraction: float,
    test_chromosomes: tuple[str, ...],
    val_chromosomes: tuple[str, ...],
    tpm_floor: float,
    pseudocount: float,
    outdir: Path,
    verbose: bool,
) -> None:
    """Write dataset.tsv.gz (gene_id, chrom, split, tpm, target, sequence; expression-file order),
    dataset_ledger.tsv (every gene left out, with the reason) and dataset_summary_mqc.tsv (the
    counts, for the report)."""
    setup_logging(verbose)
    target = TargetSpec(tpm_floor, pseudocount)
    table = read_expression(expression)
    column = select_tissue(table, tissue, expression)
    windows_by_id = read_sequences(sequences)
    chroms = read_window_chromosomes(windows) if windows is not None else {}
    matched = match_genes(windows_by_id, chroms, table, column, expression)
    if matched.table.empty:
        raise InputError(f"no gene of {sequences} has a {column} value in {expression}")
    if split_mode == "dexter":
        labels = dexter_split(len(matched.table), seed, val_fraction)
    else:
        labels = chromosome_split(
            matched.table["chrom"].tolist(), comma_list(test_chromosomes), comma_list(val_chromosomes)
        )
    dataset = assemble(matched, labels, target)
    ensure_outdir(outdir)
    write_dataset(dataset, outdir / "dataset.tsv.gz")
    ledger = ledger_table(matched.ledger)
    write_tsv(ledger, outdir / "dataset_ledger.tsv")
    splits = {name: int((dataset["split"] == name).sum()) for name in SPLITS}
    reasons = ledger_counts(ledger)
    summary = {"genes": len(dataset), **splits, **reasons}
    write_report_files([counts_table(SUMMARY_FILE, SUMMARY_ID, column, summary)], outdir)
    log.info("tissue %s: %d genes; %s", column, len(dataset), ", ".join(f"{n} {s}" for s, n in splits.items()))
    for reason, count in reasons.items():
        log.info("ledger: %d %s", count, reason)


if __name__ == "__main__":
    main()
