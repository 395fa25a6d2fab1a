#!/usr/bin/env python3
"""Join TSS windows with a tissue's expression, compute the target, group similar genes and draw the split."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from seq2expr.cli import (
    comma_list,
    command,
    dataclass_options,
    options_from,
    outdir_option,
    seed_option,
    setup_logging,
    val_fraction_option,
    verbose_option,
)
from seq2expr.data.dataset import SPLIT_MODES, TARGET_KINDS, DatasetOptions, TargetSpec, run
from seq2expr.data.similarity import GroupingSpec

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
DEFAULT_SPLIT = next(spec for spec in fields(DatasetOptions) if spec.name == "split")


@command(context_settings={"show_default": True})
@click.option(
    "--sequences",
    required=True,
    type=EXISTING_FILE,
    help="TSS windows FASTA (tss_windows.fa); soft-masked repeats (lower case) are left out of the similarity search.",
)
@click.option(
    "--expression",
    required=True,
    type=EXISTING_FILE,
    help="GTEx GCT or plain TSV (gene id, then one column per tissue); gzip read transparently.",
)
@click.option("--tissue", required=True, help="Tissue column to predict (case and punctuation ignored).")
@click.option(
    "--windows",
    type=EXISTING_FILE,
    help="tss_windows.tsv (gene_id, chrom, start, end): chromosomes and overlapping windows; needed by the "
    "grouped and chromosome splits.",
)
@click.option(
    "--split",
    "split_mode",
    type=click.Choice(SPLIT_MODES),
    default=DEFAULT_SPLIT.default,
    show_default=True,
    help=DEFAULT_SPLIT.metadata["help"],
)
@seed_option("the split's draw")
@click.option(
    "--folds",
    default=DatasetOptions.folds,
    show_default=True,
    type=click.IntRange(min=1),
    help="--split grouped: K folds of whole gene groups, each gene tested in one (1: one grouped 2/3 : 1/3 draw).",
)
@click.option(
    "--cv-repeats",
    default=DatasetOptions.cv_repeats,
    show_default=True,
    type=click.IntRange(min=1),
    help="--split grouped: independent fold draws (columns fold, fold_1, ...).",
)
@val_fraction_option("carved from the train genes of the grouped (by groups) or dexter split (0: no val split)")
@click.option("--test-chromosomes", multiple=True, help="Chromosome split: test chromosomes (comma list).")
@click.option("--val-chromosomes", multiple=True, help="Chromosome split: validation chromosomes (comma list).")
@click.option(
    "--tpm-floor",
    default=TargetSpec.floor,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="target = log10(max(TPM + pseudocount, floor)).",
)
@click.option(
    "--pseudocount",
    default=TargetSpec.pseudocount,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Added to TPM.",
)
@click.option(
    "--target",
    "target_kind",
    type=click.Choice(TARGET_KINDS),
    default=TargetSpec.kind,
    show_default=True,
    help="median: the tissue's level, log10(max(TPM + pseudocount, floor)); specificity: that level minus the "
    "mean of the same level over the background tissues (what is specific to the tissue).",
)
@click.option(
    "--background-tissues",
    multiple=True,
    help="--target specificity: the tissues whose mean level is subtracted (comma list) [default: every tissue "
    "column of --expression].",
)
@dataclass_options(GroupingSpec)
@outdir_option
@verbose_option
def main(
    sequences: Path,
    expression: Path,
    tissue: str,
    windows: Path | None,
    split_mode: str,
    seed: int,
    folds: int,
    cv_repeats: int,
    val_fraction: float,
    test_chromosomes: tuple[str, ...],
    val_chromosomes: tuple[str, ...],
    tpm_floor: float,
    pseudocount: float,
    target_kind: str,
    background_tissues: tuple[str, ...],
    outdir: Path,
    verbose: bool,
    **grouping: Any,
) -> None:
    """Write dataset.tsv.gz (gene_id, chrom, split, tpm, target, sequence and, cross-fitted, fold columns;
    expression-file order),
    dataset_ledger.tsv (every gene left out, with the reason), gene_groups.tsv (gene_id, group,
    reason, partner, identity: genes with overlapping or homologous windows share a group) and
    dataset_summary_mqc.tsv / gene_groups_mqc.tsv (the counts, for the report)."""
    setup_logging(verbose)
    options = DatasetOptions(
        tissue=tissue,
        split=split_mode,
        seed=seed,
        folds=folds,
        cv_repeats=cv_repeats,
        val_fraction=val_fraction,
        test_chromosomes=tuple(comma_list(test_chromosomes)),
        val_chromosomes=tuple(comma_list(val_chromosomes)),
        target=TargetSpec(tpm_floor, pseudocount, target_kind, tuple(comma_list(background_tissues))),
        grouping=options_from(GroupingSpec, grouping),
    )
    run(sequences, expression, windows, outdir, options)


if __name__ == "__main__":
    main()
