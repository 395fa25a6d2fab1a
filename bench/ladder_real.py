#!/usr/bin/env python3
"""Benchmark: the model ladder on the shared real pituitary set (1,323 human genes, 2 kb windows,
DExTER's own split), each model run through its bin/ command with the CPU recipe of the tests.

Prints, per model: test Pearson r with its 95 % bootstrap interval, wall time and peak host
memory (from the model's compute.tsv), then the fine-tuned DNABERT-2 against every rung, the mean
baseline included (ladder.tsv: Δr and ΔMSE with paired-bootstrap intervals). That the CNN and the
probe each beat the mean is asserted by tests/python/test_ladder_real.py. The models are DExTER, the bundled tiny
DNABERT-2 (random weights) fine-tuned, the one-hot CNN and the frozen probe of the tiny model;
the GC/CpG and mean baselines come from the evaluation.

    python bench/ladder_real.py --threads 2 [--shared ../shared --workdir /tmp/ladder]
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "bin"
TINY = REPO / "assets" / "test_data" / "tiny_dnabert2"


def run(script: str, *args: object) -> float:
    """Run one step; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, str(BIN / script), *map(str, args)], check=True)
    return time.perf_counter() - start


def model_runs(dataset: Path, workdir: Path, threads: int) -> dict[str, tuple[Path, float]]:
    """Every model's output folder and wall time, with the recipes of tests/python/test_ladder_real.py."""
    recipes: dict[str, tuple[str, list[object]]] = {
        "dexter": ("dexter.py", ["--tss-index", 1024]),
        "dnabert2": (
            "finetune_dnabert2.py",
            [
                "--model",
                TINY,
                "--epochs",
                8,
                "--learning-rate",
                "1e-3",
                "--batch-size",
                16,
                "--global-batch-size",
                16,
                "--warmup-steps",
                20,
                "--max-tokens",
                512,
            ],
        ),
        "cnn": ("train_cnn.py", ["--epochs", 6, "--patience", 0]),
        "dnabert2_probe": ("probe_dnabert2.py", ["--model", TINY, "--max-tokens", 512]),
    }
    runs = {}
    for name, (script, options) in recipes.items():
        outdir = workdir / name
        seconds = run(script, "--dataset", dataset, *options, "--threads", threads, "--outdir", outdir)
        runs[name] = (outdir, seconds)
    return runs


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option(
    "--shared",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=REPO.parent / "shared",
    help="The shared development folder (data/real_pituitary_2kb).",
)
@click.option("--threads", default=2, type=click.IntRange(min=1), help="CPU threads per model.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), help="Keep the outputs here.")
def main(shared: Path, threads: int, workdir: Path | None) -> None:
    """Run the ladder on the real set and print its figures."""
    data = shared / "data" / "real_pituitary_2kb"
    workdir = workdir or Path(tempfile.mkdtemp(prefix="ladder_real_"))
    run(
        "build_dataset.py",
        "--sequences", data / "windows.fa",
        "--expression", data / "GTEx_v7_gene_median_tpm_7tissues.tsv",
        "--tissue", "Pituitary", "--split", "dexter", "--outdir", workdir / "dataset",
    )  # fmt: skip
    dataset = workdir / "dataset" / "dataset.tsv.gz"
    runs = model_runs(dataset, workdir, threads)
    evaluation = workdir / "evaluation"
    arguments: list[object] = ["--dataset", dataset, "--outdir", evaluation, "--predictions"]
    arguments += [outdir / "predictions.tsv" for outdir, _ in runs.values()]
    for outdir, _ in runs.values():
        arguments += ["--compute", outdir / "compute.tsv"]
    run("evaluate_models.py", *arguments)

    metrics = pd.read_csv(evaluation / "metrics.tsv", sep="\t")
    test = metrics[metrics["split"] == "test"].set_index("model")
    compute = pd.read_csv(evaluation / "compute.tsv", sep="\t").set_index("model")
    print(f"machine: {platform.machine()}, {threads} thread(s) per model; outputs in {workdir}")
    print(f"genes: {int(test['n'].max())} test; the 95 % intervals are gene-level bootstraps")
    print(f"{'model':<18}{'test r':>8}  {'95 % CI':<18}{'wall s':>8}{'peak GiB':>10}")
    for model, row in test.sort_values("pearson").iterrows():
        measured = compute.loc[str(model)] if model in compute.index else None  # baselines have no record
        wall = f"{measured['wall_seconds']:.0f}" if measured is not None else ""
        memory = f"{measured['peak_host_memory_gib']:.2f}" if measured is not None else ""
        interval = f"[{row['pearson_ci_low']:.3f}, {row['pearson_ci_high']:.3f}]"
        print(f"{model:<18}{row['pearson']:>8.3f}  {interval:<18}{wall:>8}{memory:>10}")
    ladder = pd.read_csv(evaluation / "ladder.tsv", sep="\t")
    print("fine-tuned DNABERT-2 against each rung: Δr and ΔMSE [paired-bootstrap 95 % CI]:")
    for _, row in ladder.iterrows():
        print(
            f"  vs {row['rung']:<16} Δr {row['delta_r']:+.3f} [{row['delta_r_ci_low']:+.3f}, "
            f"{row['delta_r_ci_high']:+.3f}]   ΔMSE {row['delta_mse']:+.3f} [{row['delta_mse_ci_low']:+.3f}, "
            f"{row['delta_mse_ci_high']:+.3f}]"
        )


if __name__ == "__main__":
    main()
