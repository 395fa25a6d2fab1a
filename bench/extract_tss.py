#!/usr/bin/env python3
"""Benchmark: TSS-window extraction on a generated genome the size of GRCh38.

Writes a random, partly soft-masked genome with GRCh38's chromosome sizes (3.1 Gb, 60-column
lines) and a GTF of 60,000 genes (20,000 protein-coding), once plain and once gzip-compressed,
then runs `bin/extract_tss_windows.py` on each as a separate process and prints its wall time
and peak memory (max RSS of the child). Targets: ≤ 60 s plain, ≤ 120 s gzip, ≤ 2 GB.

    python bench/extract_tss.py --workdir /path/with/10GB/free [--scale 0.1]
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: GRCh38 primary chromosome lengths (chr1..22, X, Y, M), in bases.
GRCH38 = {
    **{
        f"chr{index}": length
        for index, length in enumerate(
            [
                248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
                138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
                83257441, 80373285, 58617616, 64444167, 46709983, 50818468,
            ],
            start=1,
        )
    },
    "chrX": 156040895,
    "chrY": 57227415,
    "chrM": 16569,
}  # fmt: skip
LINE = 60
LETTERS = np.frombuffer(b"ACGTacgt", dtype=np.uint8)


def chromosome_bytes(rng: np.random.Generator, length: int) -> bytes:
    """Random bases, half of them in soft-masked (lower-case) blocks, as 60-column FASTA lines."""
    codes = rng.integers(0, 4, size=length, dtype=np.uint8)
    masked = np.repeat(rng.random(length // 1000 + 1) < 0.5, 1000)[:length]
    letters = LETTERS[codes + 4 * masked]
    full = length // LINE
    newline = np.full((full, 1), ord("\n"), dtype=np.uint8)
    body = np.concatenate([letters[: full * LINE].reshape(full, LINE), newline], axis=1).tobytes()
    rest = letters[full * LINE :].tobytes()
    return body + (rest + b"\n" if rest else b"")


def write_inputs(workdir: Path, scale: float, seed: int = 1) -> tuple[Path, Path, Path, int]:
    """Plain genome, gzip genome, GTF; returns their paths and the genome size in bases."""
    rng = np.random.default_rng(seed)
    sizes = {name: max(10_000, int(length * scale)) for name, length in GRCH38.items()}
    plain, packed, gtf = workdir / "genome.fa", workdir / "genome.fa.gz", workdir / "annotation.gtf"
    with open(plain, "wb") as out, gzip.open(packed, "wb", compresslevel=1) as out_gz:
        for name, length in sizes.items():
            record = f">{name} generated\n".encode() + chromosome_bytes(rng, length)
            out.write(record)
            out_gz.write(record)
    total = sum(sizes.values())
    n_genes = int(60_000 * min(1.0, scale * 10))
    names = list(sizes)
    weights = np.array([sizes[name] for name in names], dtype=float)
    chroms = rng.choice(len(names), size=n_genes, p=weights / weights.sum())
    with open(gtf, "w") as out:
        for number, chrom_index in enumerate(chroms):
            name = names[chrom_index]
            start = int(rng.integers(1, sizes[name] - 3_000))
            biotype = "protein_coding" if number % 3 == 0 else "lncRNA"
            strand = "+" if rng.random() < 0.5 else "-"
            out.write(
                f"{name}\tBENCH\tgene\t{start}\t{start + 2_000}\t.\t{strand}\t.\t"
                f'gene_id "ENSG{number:011d}.1"; gene_type "{biotype}"; gene_name "G{number}";\n'
            )
    return plain, packed, gtf, total


def run_extract(genome: Path, gtf: Path, outdir: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of one extraction, measured by a fresh wrapper process so
    that the peak is this run's alone."""
    command = [sys.executable, str(REPO / "bin" / "extract_tss_windows.py"), "--genome", str(genome)]
    command += ["--annotation", str(gtf), "--outdir", str(outdir)]
    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = subprocess.run([sys.executable, "-c", wrapper, *command], check=True, capture_output=True, text=True)
    wall, peak_kb = result.stdout.split()
    return float(wall), int(peak_kb) / 1024**2


@click.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Scratch folder.")
@click.option("--scale", default=1.0, show_default=True, help="Fraction of GRCh38's size to generate.")
def main(workdir: Path, scale: float) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    plain, packed, gtf, total = write_inputs(workdir, scale)
    print(f"generated {total / 1e9:.2f} Gb genome + GTF in {time.perf_counter() - start:.0f} s")
    for label, genome in (("plain", plain), ("gzip", packed)):
        wall, peak = run_extract(genome, gtf, workdir / f"out_{label}")
        windows = len((workdir / f"out_{label}" / "tss_windows.tsv").read_text().splitlines()) - 1
        print(f"{label:5s}: {wall:6.1f} s wall, peak RSS {peak:.2f} GB, {windows} windows")


if __name__ == "__main__":
    main()
