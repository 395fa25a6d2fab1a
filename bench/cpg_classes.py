#!/usr/bin/env python3
"""Benchmark: the promoter CpG classes (Weber et al. 2007) on the shared development set, and their cost.

On the shared real pituitary set (1,323 human genes, 2,048 bp windows, TSS at index 1024) prints the
genes per class (HCP / ICP / LCP) with the rule's default region (-0.5 to +1.5 kb, clipped here to
+1,024 bp), beside the uncited rule it replaced (one 1,001 bp window around the TSS with GC > 0.55 and
CpG o/e > 0.6, "CGI") and the cross-tabulation of the two; then the classes with other promoter
regions. Last, the wall time of classifying a study-size generated set (22,000 random windows of
4,001 bp, the TSS at the centre, so the whole region fits). Target: well under 2 s on 2 cores.

    nice python bench/cpg_classes.py [--shared ../shared]
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

from seq2expr.evaluation import strata
from seq2expr.evaluation.strata import promoter_class, sequence_composition
from seq2expr.io.genome import read_sequences

REPO = Path(__file__).resolve().parents[1]
TSS_INDEX = 1024
REGIONS = ((500, 1500), (500, 500), (1000, 1000), (1000, 0))
"""(upstream, downstream) promoter regions to compare with the default; (1000, 0) is compEpiTools' default."""


def one_window_cgi(sequences: pd.Series, tss_index: int) -> pd.Series:
    """The rule the classes replaced: the 1,001 bp around the TSS have GC > 0.55 and CpG o/e > 0.6."""
    gc, oe, _ = sequence_composition(sequences.str.slice(tss_index - 500, tss_index + 501)).T
    return pd.Series(np.where((gc > 0.55) & (oe > 0.6), "cgi", "non_cgi"), index=sequences.index)


def shares(classes: pd.Series) -> str:
    counts = classes.fillna("none").value_counts()
    return ", ".join(f"{name} {counts[name]:,} ({counts[name] / len(classes):.1%})" for name in counts.index)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option(
    "--shared",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=REPO.parent / "shared",
    help="The shared development folder (data/real_pituitary_2kb).",
)
@click.option("--genes", default=22_000, type=click.IntRange(min=1), help="Windows of the study-size timing.")
def main(shared: Path, genes: int) -> None:
    windows = shared / "data" / "real_pituitary_2kb" / "windows.fa"
    sequences = pd.Series(read_sequences(windows, keep_case=True))
    weber = promoter_class(sequences, TSS_INDEX)
    old = one_window_cgi(sequences, TSS_INDEX)
    print(f"{len(sequences):,} genes of {windows}")
    print(f"Weber et al. classes (-{strata.PROMOTER_UPSTREAM}/+{strata.PROMOTER_DOWNSTREAM} bp): {shares(weber)}")
    print(f"one-window CGI rule: {shares(old)}")
    print(pd.crosstab(weber.fillna("none"), old, margins=True, rownames=["Weber"], colnames=["old rule"]).to_string())
    default = (strata.PROMOTER_UPSTREAM, strata.PROMOTER_DOWNSTREAM)
    try:
        for upstream, downstream in REGIONS:
            strata.PROMOTER_UPSTREAM, strata.PROMOTER_DOWNSTREAM = upstream, downstream
            other = promoter_class(sequences, TSS_INDEX)
            print(f"region -{upstream}/+{downstream} bp: {shares(other)}; same class as the default: "
                  f"{(other == weber).mean():.1%}")  # fmt: skip
    finally:
        strata.PROMOTER_UPSTREAM, strata.PROMOTER_DOWNSTREAM = default
    rng = np.random.default_rng(0)
    length = 4001
    codes = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, genes * length)]
    text = codes.tobytes().decode("ascii")
    study = pd.Series([text[i * length : (i + 1) * length] for i in range(genes)])
    start = time.perf_counter()
    promoter_class(study, length // 2)
    print(f"{genes:,} windows of {length:,} bp classified in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
