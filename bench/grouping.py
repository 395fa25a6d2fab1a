#!/usr/bin/env python3
"""Benchmark: grouping similar genes at study size (22,000 windows of 4,001 bp) in the dataset step.

Generates the study-size set with `seq2expr.data.synthetic.similarity_set`: random windows, planted
paralogs (1-5 % diverged copies, whole or most of a window, half reverse-complemented), planted
overlapping windows, and one 600 bp soft-masked repeat in half of the promoters; writes it as
windows.fa / windows.tsv with a one-tissue expression table, then runs `bin/build_dataset.py
--split grouped` on it as a separate process and prints its wall time, its peak memory (max RSS
of one process of the step) and how many planted groups came out whole and alone. Target: grouping <= 60 s and
<= 2 GB on 2 cores; the whole step's wall time and CPU time are printed too.

    nice python bench/grouping.py [--genes 22000] [--threads 2]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import pandas as pd

from seq2expr.data.similarity import read_gene_groups
from seq2expr.data.synthetic import similarity_set

REPO = Path(__file__).resolve().parents[1]
#: Log lines of the step that open and close the grouping.
MARKERS = {"aligning": "aligning", "grouped": "grouped:"}


def clock(line: str) -> int:
    """Seconds since midnight of a log line's HH:MM:SS stamp."""
    hours, minutes, seconds = (int(part) for part in line[:8].split(":"))
    return 3600 * hours + 60 * minutes + seconds


@click.command()
@click.option("--genes", default=22_000, show_default=True, type=click.IntRange(min=100), help="Windows.")
@click.option("--length", default=4_001, show_default=True, type=click.IntRange(min=1_000), help="Window length.")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(min=1), help="Threads of the step.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), help="Keep the files here.")
def main(genes: int, length: int, threads: int, workdir: Path | None) -> None:
    """Group a study-size set and print the figures."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="grouping_"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    planted = similarity_set(
        genes, length, n_paralogs=genes // 40, n_overlaps=genes // 80, n_repeat_carriers=genes // 2, seed=11
    )
    with open(workdir / "windows.fa", "w", encoding="ascii") as handle:
        handle.writelines(f">{gene}\n{sequence}\n" for gene, sequence in planted.sequences.items())
    planted.coordinates.to_csv(workdir / "windows.tsv", sep="\t", index=False)
    expression = pd.DataFrame({"gene": list(planted.sequences), "Pituitary": 1.0})
    expression.to_csv(workdir / "expression.tsv", sep="\t", index=False)
    print(f"generated {genes} x {length} bp in {time.perf_counter() - started:.1f} s ({workdir})")

    command = [
        sys.executable, str(REPO / "bin" / "build_dataset.py"),
        "--sequences", str(workdir / "windows.fa"),
        "--windows", str(workdir / "windows.tsv"),
        "--expression", str(workdir / "expression.tsv"),
        "--tissue", "Pituitary",
        "--split", "grouped",
        "--threads", str(threads),
        "--outdir", str(workdir / "dataset"),
    ]  # fmt: skip
    started = time.perf_counter()
    step = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_gb = usage.ru_maxrss / 1024**2
    log = [line for line in step.stderr.splitlines() if "INFO" in line]
    print("".join(line + "\n" for line in log), end="")
    stamps = {name: clock(next(line for line in log if marker in line)) for name, marker in MARKERS.items()}
    grouping = stamps["grouped"] - stamps["aligning"]

    groups = read_gene_groups(workdir / "dataset" / "gene_groups.tsv")
    found = {frozenset(members) for _, members in groups.groupby("group")["gene_id"] if len(members) > 1}
    expected = {frozenset(members) for members in planted.planted}
    pairs = sum(len(members) - 1 for members in expected)
    whole = sum(any(members <= group for group in found) for members in expected)
    false_merges = len(found - expected)
    print(f"load average before/after: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs visible")
    print(
        f"build_dataset --split grouped, {threads} processes: {wall:.1f} s wall (grouping {grouping} s of it, "
        f"from the log), {usage.ru_utime + usage.ru_stime:.1f} s CPU, {peak_gb:.2f} GB peak RSS"
    )
    print(f"planted groups recovered whole: {whole}/{len(expected)} ({pairs} planted links)")
    print(
        f"groups found: {len(found)} multi-gene; exactly planted: {len(found & expected)}; false merges: {false_merges}"
    )
    print(f"largest group: {groups['group'].value_counts().max()} genes")
    met = {True: "met", False: "MISSED"}
    print(f"targets: grouping <= 60 s {met[grouping <= 60]}, peak <= 2 GB {met[peak_gb <= 2]} (max RSS of one process;")
    print("  the alignment workers share the parent's index copy-on-write)")


if __name__ == "__main__":
    main()
