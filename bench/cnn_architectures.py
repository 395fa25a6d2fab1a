#!/usr/bin/env python3
"""Benchmark: the CNN's two architectures on the shared real pituitary set (1,323 genes, 2 kb windows).

Builds the dataset (`--split dexter`, the study's draw, 10 % of train as val) and trains
`bin/train_cnn.py --architecture basic` and `--architecture tower` with the default recipe
(40 epochs, early stopping on val, patience 8), then evaluates both with the GC/CpG baseline.
Prints, per architecture: the best val MSE (standardised target, the quantity the declared search
and early stopping compare), val and test Pearson r with 95 % cluster-bootstrap intervals over the
dataset's gene groups, and the paired test Δr of basic against tower and of each against GC/CpG.
The default architecture is the one with the lower val MSE (`seq2expr.models.cnn.search`), never the test r.

    python bench/cnn_architectures.py --threads 2 [--workdir /tmp/cnn_arch]
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "bin"
ARCHITECTURES = ("basic", "tower")
TSS_INDEX = 1024


def run(script: str, *args: object) -> None:
    subprocess.run([sys.executable, str(BIN / script), *map(str, args)], check=True)


def interval(row: pd.Series, value: str, low: str, high: str) -> str:
    return f"{row[value]:+.3f} [{row[low]:+.3f}, {row[high]:+.3f}]"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option(
    "--shared",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=REPO.parent / "shared",
    help="The shared development folder (data/real_pituitary_2kb).",
)
@click.option("--threads", default=2, type=click.IntRange(min=1), help="CPU threads per training.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), help="Keep the outputs here.")
def main(shared: Path, threads: int, workdir: Path | None) -> None:
    """Train both architectures on the real set and print their validation and test figures."""
    data = shared / "data" / "real_pituitary_2kb"
    workdir = workdir or Path(tempfile.mkdtemp(prefix="cnn_architectures_"))
    dataset_dir = workdir / "dataset"
    run(
        "build_dataset.py",
        "--sequences", data / "windows.fa",
        "--windows", data / "windows.tsv",
        "--expression", data / "GTEx_v7_gene_median_tpm_7tissues.tsv",
        "--tissue", "Pituitary", "--split", "dexter", "--outdir", dataset_dir,
    )  # fmt: skip
    dataset = dataset_dir / "dataset.tsv.gz"
    best_val_mse = {}
    predictions = []
    for architecture in ARCHITECTURES:
        outdir = workdir / architecture
        run("train_cnn.py", "--dataset", dataset, "--architecture", architecture,
            "--threads", threads, "--outdir", outdir)  # fmt: skip
        log = pd.read_csv(outdir / "training_log.tsv", sep="\t")
        best_val_mse[architecture] = float(log["val_loss"].min())
        table = pd.read_csv(outdir / "predictions.tsv", sep="\t", dtype=str, keep_default_na=False)
        table["model"] = f"CNN_{architecture}"  # two rungs of one model, told apart in the evaluation
        renamed = workdir / f"predictions_{architecture}.tsv"
        table.to_csv(renamed, sep="\t", index=False)
        predictions.append(renamed)
    evaluation = workdir / "evaluation"
    run(
        "evaluate_models.py", *predictions, "--dataset", dataset, "--groups", dataset_dir / "gene_groups.tsv",
        "--tss-index", TSS_INDEX, "--primary-model", "CNN_basic", "--outdir", evaluation,
    )  # fmt: skip
    metrics = pd.read_csv(evaluation / "metrics.tsv", sep="\t")
    metrics = metrics[metrics["stratum"] == "all"]
    comparison = pd.read_csv(evaluation / "comparison.tsv", sep="\t")
    comparison = comparison[comparison["stratum"] == "all"]
    print(f"outputs in {workdir}")
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {threads} thread(s); 95 % cluster bootstrap")
    print(f"{'architecture':<14}{'best val MSE':>13}  {'val r':<26}{'test r':<26}")
    for architecture in ARCHITECTURES:
        name = f"CNN_{architecture}"
        val, test = (
            metrics[(metrics["model"] == name) & (metrics["split"] == split)].iloc[0] for split in ("val", "test")
        )
        print(
            f"{architecture:<14}{best_val_mse[architecture]:>13.4f}  "
            f"{interval(val, 'pearson', 'pearson_ci_low', 'pearson_ci_high'):<26}"
            f"{interval(test, 'pearson', 'pearson_ci_low', 'pearson_ci_high'):<26}"
        )
    print(f"chosen by val MSE: {min(best_val_mse, key=best_val_mse.__getitem__)}")
    print("paired test Δr [95 % CI], Holm p:")
    for _, row in comparison.iterrows():
        print(
            f"  {row['model_a']} − {row['model_b']}: "
            f"{interval(row, 'delta_r', 'delta_r_ci_low', 'delta_r_ci_high')}  p {row['p_holm']:.3g}"
        )


if __name__ == "__main__":
    main()
