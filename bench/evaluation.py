#!/usr/bin/env python3
"""Benchmark: the evaluation step at study size under cross-fitting.

Writes a cross-fitted dataset.tsv.gz (22,000 genes, 2,001 bp windows, folds 1..5, a tenth inner
val) and real predictions.tsv files of 6 models × 5 folds × 3 seeds (random but realistic: each
model's prediction is skill × target + noise, each seed its own noise), then runs
`bin/evaluate_models.py` on them with the dataset (so both baselines are cross-fitted too) as a
separate process and prints its wall time and peak memory (max RSS of the child process). Under
cross-fitting the intervals are per fold (corrected resampled t): no bootstrap resample is drawn.
Target: <= 120 s and <= 4 GB on 2 cores.

    nice python bench/evaluation.py [--genes 22000] [--folds 5] [--seeds 3]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

from seq2expr.data.dataset import write_dataset
from seq2expr.data.folds import fold_view
from seq2expr.io.predictions import make_predictions, write_predictions
from seq2expr.models.roster import CNN, DEXTER, DNABERT2, DNABERT2_PROBE, PROBE_PREFIX

REPO = Path(__file__).resolve().parents[1]
MODELS = {DNABERT2: 0.7, CNN: 0.6, DEXTER: 0.55, DNABERT2_PROBE: 0.5, f"{PROBE_PREFIX}a": 0.45, f"{PROBE_PREFIX}b": 0.4}
WINDOW = 2001


def study_dataset(genes: int, folds: int, rng: np.random.Generator) -> pd.DataFrame:
    gc = rng.uniform(0.35, 0.65, genes)
    bases = np.array(list("ACGT"))
    sequences = ["".join(bases[rng.choice(4, WINDOW, p=[(1 - g) / 2, g / 2, g / 2, (1 - g) / 2])]) for g in gc]
    target = 3 * gc + rng.normal(scale=0.8, size=genes)
    return pd.DataFrame(
        {
            "gene_id": [f"ENSG{i:011d}" for i in range(genes)],
            "chrom": "chr1",
            "split": np.where(rng.random(genes) < 0.1, "val", "train"),
            "tpm": 10**target,
            "target": target,
            "sequence": sequences,
            "fold": rng.permutation(np.arange(genes) % folds + 1),
        }
    )


@click.command()
@click.option("--genes", default=22000, show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--seeds", default=3, show_default=True)
def main(genes: int, folds: int, seeds: int) -> None:
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        dataset = study_dataset(genes, folds, rng)
        write_dataset(dataset, work / "dataset.tsv.gz")
        paths = []
        for name, skill in MODELS.items():
            truth = skill * dataset["target"].to_numpy()
            for fold in range(1, folds + 1):
                view = fold_view(dataset, fold, 0)
                for seed in range(seeds):
                    predicted = truth + rng.normal(scale=0.8, size=genes) + rng.normal(scale=0.05)
                    path = work / f"{name.replace(':', '_')}_f{fold}_s{seed}.tsv"
                    write_predictions(
                        make_predictions(view["gene_id"], view["split"], view["target"], predicted, name, fold=fold),
                        path,
                    )
                    paths.append(path)
        print(f"{genes} genes, {folds} folds, {len(MODELS)} models x {seeds} seeds: {len(paths)} prediction files")
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(REPO / "bin" / "evaluate_models.py"), "--predictions", *map(str, paths),
             "--dataset", str(work / "dataset.tsv.gz"), "--outdir", str(work / "out")],
            check=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        ladder = pd.read_csv(work / "out" / "ladder.tsv", sep="\t")
        primary = ladder[ladder["family"] == "primary"]
        print(primary[["glm", "rung", "delta_r", "delta_r_ci_low", "delta_r_ci_high", "p_holm"]].to_string(index=False))
        print(f"evaluation step: wall {wall:.1f} s, peak RSS {peak:.2f} GB (targets: <= 120 s, <= 4 GB)")


if __name__ == "__main__":
    main()
