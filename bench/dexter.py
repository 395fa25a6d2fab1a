#!/usr/bin/env python3
"""Benchmark the DExTER step: wall time and peak memory of `bin/dexter.py` as a user runs it.

(a) `real`: the shared real pituitary set (1,323 genes, 2,048 bp, TSS at 1024), dataset built by
    `bin/build_dataset.py --split dexter`; compared with the original DExTER's 137 s on 2 cores
    (spec §11) and with its reference variables and test r.
(b) `study`: a generated set of the study's size (22,000 genes × 4,001 bp, TSS at 2000, DExTER
    split) with promoter-like composition and an expression driven by several k-mer/region
    signals plus noise, so the exploration does a realistic amount of work. Target: ≤ 120 s
    wall and ≤ 2 GB peak memory on 2 cores.

Peak memory is the maximum resident set size of the `dexter.py` process (getrusage of the
waited child). Prints one line per figure; `--json FILE` also writes them.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

from seq2expr.data.dataset import DEFAULT_SEED, dexter_split, write_dataset

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ORIGINAL_SECONDS = 137.0
REFERENCE_R = 0.45827401958109926
STUDY_GENES = 22_000
STUDY_LENGTH = 4_001
STUDY_TSS = 2_000


def run_step(script: str, *args: str | Path) -> tuple[float, float]:
    """Run a bin/ command; return (wall seconds, peak RSS in MiB of that very process)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(REPO / "bin" / script), *map(str, args)])
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise click.ClickException(f"{script} failed with exit status {process.returncode}")
    return wall, usage.ru_maxrss / 1024  # kilobytes on Linux


def bench_real(workdir: Path, threads: int) -> dict[str, float]:
    data = SHARED / "data" / "real_pituitary_2kb"
    reference = SHARED / "spec" / "dexter_reference_dev"
    if not data.exists():
        raise click.ClickException("the shared real pituitary set is not available next to the repository")
    built = workdir / "real"
    subprocess.run(
        [
            sys.executable, str(REPO / "bin" / "build_dataset.py"),
            "--sequences", str(data / "windows.fa"),
            "--expression", str(data / "GTEx_v7_gene_median_tpm_7tissues.tsv"),
            "--tissue", "Pituitary", "--split", "dexter", "--outdir", str(built),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    outdir = built / "dexter"
    wall, peak = run_step(
        "dexter.py", "--dataset", built / "dataset.tsv.gz", "--tss-index", "1024", "--threads", str(threads),
        "--outdir", outdir,
    )  # fmt: skip
    model = json.loads((outdir / "model.json").read_text())
    variables = pd.read_csv(outdir / "dexter_variables.tsv", sep="\t")
    ours = {f"{k} {s} {e}" for k, s, e in zip(variables["kmer"], variables["start"], variables["end"], strict=True)}
    theirs = {line.strip() for line in (reference / "all_domains.dat").read_text().splitlines() if line.strip()}
    return {
        "real_wall_s": wall,
        "real_peak_mib": peak,
        "real_speedup_vs_original": ORIGINAL_SECONDS / wall,
        "real_test_pearson": model["test_metrics"]["pearson"],
        "real_test_pearson_minus_reference": model["test_metrics"]["pearson"] - REFERENCE_R,
        "real_variables": len(ours),
        "real_reference_variables": len(theirs),
        "real_variables_shared": len(ours & theirs),
    }


def _count(window: np.ndarray, kmer: bytes) -> np.ndarray:
    """Overlapping occurrences of `kmer` in each row of a uint8 letter matrix."""
    k = len(kmer)
    hits = np.ones((window.shape[0], window.shape[1] - k + 1), dtype=bool)
    for offset, letter in enumerate(kmer):
        hits &= window[:, offset : offset + hits.shape[1]] == letter
    return hits.sum(axis=1)


def generate_study_set(path: Path, seed: int = 1) -> None:
    """22,000 promoter-like windows and an expression with real structure, as a dataset table.

    About 60 % of genes get a CpG-rich island around the TSS (as human promoters); the target
    is log10 TPM driven by CpG in −300..+300, TATA in −40..−20, an AT-rich downstream region
    and noise, floored at 0.001 TPM like the study's data.
    """
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    at_rich = rng.uniform(0.5, 0.65, size=STUDY_GENES)
    sequences = np.empty((STUDY_GENES, STUDY_LENGTH), dtype=np.uint8)
    for first in range(0, STUDY_GENES, 1000):  # in blocks: the uniform draws are float64
        block = slice(first, first + 1000)
        draws = rng.random((len(at_rich[block]), STUDY_LENGTH))
        weak = at_rich[block, None] / 2
        codes = (draws > weak).astype(np.uint8) + (draws > 0.5) + (draws > 1 - weak)
        sequences[block] = letters[codes]
    island = rng.random(STUDY_GENES) < 0.6
    low, high = STUDY_TSS - 400, STUDY_TSS + 400
    cg_sites = rng.integers(low, high - 1, size=(STUDY_GENES, 60))
    for column in range(cg_sites.shape[1]):
        rows = np.flatnonzero(island & (rng.random(STUDY_GENES) < 0.7))
        sequences[rows, cg_sites[rows, column]] = ord("C")
        sequences[rows, cg_sites[rows, column] + 1] = ord("G")
    tata = rng.random(STUDY_GENES) < 0.15
    start = rng.integers(STUDY_TSS - 40, STUDY_TSS - 24, size=STUDY_GENES)
    for offset, letter in enumerate(b"TATAAA"):
        sequences[tata, start[tata] + offset] = letter
    cpg = _count(sequences[:, STUDY_TSS - 300 : STUDY_TSS + 301], b"CG")
    tata_count = _count(sequences[:, STUDY_TSS - 40 : STUDY_TSS - 19], b"TATA")
    downstream_at = _count(sequences[:, STUDY_TSS + 200 : STUDY_TSS + 1200], b"AT")
    signal = 0.05 * cpg + 0.6 * tata_count - 0.004 * downstream_at
    signal = (signal - signal.mean()) / signal.std()
    log_tpm = 0.5 + 1.0 * signal + rng.normal(scale=1.0, size=STUDY_GENES)
    tpm = np.where(rng.random(STUDY_GENES) < 0.1, 0.0, np.round(10**log_tpm, 4))
    table = pd.DataFrame(
        {
            "gene_id": [f"ENSGSYN{i:011d}" for i in range(STUDY_GENES)],
            "chrom": [f"chr{1 + i * 22 // STUDY_GENES}" for i in range(STUDY_GENES)],
            "split": dexter_split(STUDY_GENES, DEFAULT_SEED),
            "tpm": tpm,
            "target": [math.log10(max(value, 0.001)) for value in tpm],
            "sequence": [row.tobytes().decode("ascii") for row in sequences],
        }
    )
    write_dataset(table, path)


def bench_study(workdir: Path, threads: int) -> dict[str, float]:
    dataset = workdir / "study" / "dataset.tsv.gz"
    if not dataset.exists():
        dataset.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {STUDY_GENES} × {STUDY_LENGTH} bp windows in {dataset} (once) …", file=sys.stderr)
        generate_study_set(dataset)
    outdir = workdir / "study" / "dexter"
    wall, peak = run_step("dexter.py", "--dataset", dataset, "--threads", str(threads), "--outdir", outdir)
    model = json.loads((outdir / "model.json").read_text())
    return {
        "study_wall_s": wall,
        "study_peak_mib": peak,
        "study_variables": len(model["variables"]),
        "study_test_pearson": model["test_metrics"]["pearson"],
    }


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("work/bench_dexter"), show_default=True
)
@click.option("--case", "cases", type=click.Choice(["real", "study"]), multiple=True, default=("real", "study"))
@click.option(
    "--threads", default=2, show_default=True, type=int, help="--threads for dexter.py (the target: 2 cores)."
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the figures.")
def main(workdir: Path, cases: tuple[str, ...], threads: int, json_path: Path | None) -> None:
    """Time DExTER on the real development set and on a study-size generated set."""
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    if "real" in cases:
        figures |= bench_real(workdir, threads)
    if "study" in cases:
        figures |= bench_study(workdir, threads)
    for name, value in figures.items():
        print(f"{name}\t{value:.4g}")
    if json_path is not None:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
