#!/usr/bin/env python3
"""Benchmark: motif discovery from a model's attributions with TF-MoDISco-lite, on planted data.

ATTRIBUTE writes the sampled genes' one-hot windows and ISM hypothetical contributions in the layout
TF-MoDISco-lite reads (`attribution_onehot.npz`, `attribution_hypothetical.npz`; Shrikumar et al.
2018). This runs that route end to end where the answer is known: a CNN trained on random windows of
which half carry CRE (TGACGTCA) 60 bp upstream of the TSS (the set of the science test (a), larger),
`attribute.py` on every test gene, then `modisco motifs` on its two files. It prints, per pattern,
the seqlets it holds, its consensus (the most probable base where that base's probability is at
least 0.5) and the known element the consensus contains (`seq2expr.interpret.motifs`), with the wall
time of each stage. modisco-lite is not a dependency of seq2expr (it brings numba, llvmlite, igraph,
leidenalg and h5py): install it first, `pip install modisco-lite`.

    python bench/modisco.py --genes 900 --threads 2 --outdir /tmp/modisco [--modisco modisco]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

from seq2expr.data.dataset import write_dataset
from seq2expr.data.synthetic import planted_motif_windows
from seq2expr.interpret.motifs import MOTIFS, matches

REPO = Path(__file__).resolve().parents[1]
LENGTH, MOTIF, OFFSET, FLANK = 301, "TGACGTCA", -60, 100
CNN_RECIPE = ("--epochs", "25", "--patience", "6", "--batch-size", "32", "--learning-rate", "3e-3")


def run(command: list[str]) -> float:
    """One command; its error ends the benchmark with its own message. Returns its wall time."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{' '.join(command[:2])} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def planted_dataset(genes: int, outdir: Path) -> Path:
    """The planted windows as a single-split dataset: 60 % train, 6.7 % val, the last third test."""
    table = planted_motif_windows(genes, LENGTH, MOTIF, OFFSET, seed=3)
    order = np.arange(len(table))
    split = np.where(order < 0.6 * len(table), "train", np.where(order < 2 * len(table) / 3, "val", "test"))
    dataset = table.assign(chrom="chr1", split=split, tpm=10 ** table["target"])
    path = outdir / "dataset.tsv.gz"
    write_dataset(dataset[["gene_id", "chrom", "split", "tpm", "target", "sequence"]], path)
    return path


def consensus(ppm: np.ndarray) -> str:
    """The most probable base at each position of a (positions, 4) PPM, N where none reaches 0.5."""
    return "".join("ACGT"[int(row.argmax())] if row.max() >= 0.5 else "N" for row in ppm)


def patterns(results: Path) -> pd.DataFrame:
    """Every pattern modisco-lite found: sign, name, seqlets, consensus, the known element it contains."""
    import h5py

    rows = []
    with h5py.File(results, "r") as handle:
        for group in ("pos_patterns", "neg_patterns"):
            for name in handle.get(group, {}):
                pattern = handle[group][name]
                text = consensus(np.asarray(pattern["sequence"]))
                known = [motif.name for motif in MOTIFS if any(matches(text, motif.consensus))]
                seqlets = int(pattern["seqlets"]["n_seqlets"][0])
                rows.append({"sign": group.split("_")[0], "pattern": name, "seqlets": seqlets,
                             "consensus": text.strip("N"), "known": ", ".join(known) or "-"})  # fmt: skip
    return pd.DataFrame(rows, columns=["sign", "pattern", "seqlets", "consensus", "known"])


@click.command()
@click.option("--genes", default=900, show_default=True, help="Planted windows; the last third are attributed.")
@click.option("--threads", default=2, show_default=True)
@click.option("--modisco", "modisco", default="modisco", show_default=True, help="modisco-lite's command.")
@click.option("--outdir", type=click.Path(path_type=Path), required=True)
def main(genes: int, threads: int, modisco: str, outdir: Path) -> None:
    command = shutil.which(modisco)
    if command is None:
        raise SystemExit(f"{modisco}: not found; install modisco-lite first (pip install modisco-lite)")
    outdir.mkdir(parents=True, exist_ok=True)
    dataset = planted_dataset(genes, outdir)
    first_test = int(np.ceil(2 * genes / 3))
    train = run([sys.executable, str(REPO / "bin" / "train_cnn.py"), "--dataset", str(dataset), *CNN_RECIPE,
                 "--threads", str(threads), "--outdir", str(outdir / "cnn")])  # fmt: skip
    ism = run([sys.executable, str(REPO / "bin" / "attribute.py"), "--model-kind", "cnn", "--model",
               str(outdir / "cnn" / "model"), "--name", "CNN", "--dataset", str(dataset), "--tss-index",
               str(LENGTH // 2), "--genes", str(genes), "--flank", str(FLANK), "--threads", str(threads),
               "--outdir", str(outdir / "ism")])  # fmt: skip
    found = run([command, "motifs", "-s", str(outdir / "ism" / "attribution_onehot.npz"), "-a",
                 str(outdir / "ism" / "attribution_hypothetical.npz"), "-n", "2000", "-w", str(2 * FLANK),
                 "-o", str(outdir / "modisco.h5")])  # fmt: skip
    table = patterns(outdir / "modisco.h5")
    carriers = len(range(first_test + first_test % 2, genes, 2))  # every even-numbered window carries the motif
    attributed = genes - first_test
    print(f"planted: {MOTIF} at {OFFSET:+d} bp in {carriers} of {attributed} attributed test genes (TSS ± {FLANK} bp)")
    print(f"CNN training {train:.0f} s; ISM {ism:.0f} s; modisco motifs {found:.0f} s")
    print(table.to_string(index=False) if not table.empty else "no pattern found")


if __name__ == "__main__":
    main()
