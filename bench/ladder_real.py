#!/usr/bin/env python3
"""Benchmark: the model ladder on the shared real pituitary set (1,323 human genes, 2 kb windows),
under each split asked for (`--split dexter`: DExTER's own draw; `--split grouped`: whole groups
of similar genes), each model run through its bin/ command with the CPU recipe of the tests.

Prints, per split and model: test Pearson r with its 95 % cluster-bootstrap interval (over the
dataset's gene_groups.tsv) on all genes and in each stratum (unseen, HCP, ICP, LCP, expressed),
the on/off AUROC, wall time and peak host memory (from the model's compute.tsv); then the
fine-tuned DNABERT-2 against every rung on all genes (ladder.tsv: Δr and ΔMSE with paired
intervals, Holm-adjusted p). That the CNN and the probe each beat the mean is asserted by
tests/python/test_ladder_real.py. The models are DExTER, the bundled tiny DNABERT-2 (random
weights) fine-tuned, the one-hot CNN and the frozen probe of the tiny model; the GC/CpG and
mean baselines come from the evaluation. With `--workdir` and `--reuse`, a model whose
predictions.tsv is already there is not run again (the evaluation always is).

    python bench/ladder_real.py --threads 2 --split dexter --split grouped [--workdir /tmp/ladder --reuse]
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "bin"
TINY = REPO / "assets" / "test_data" / "tiny_dnabert2"


def run(script: str, *args: object) -> float:
    """Run one step; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, str(BIN / script), *map(str, args)], check=True)
    return time.perf_counter() - start


STRATA = ("all", "unseen", "hcp", "icp", "lcp", "expressed")
MODELS = ("dexter", "dnabert2", "cnn", "dnabert2_probe")
TSS_INDEX = 1024


def model_runs(
    dataset: Path, workdir: Path, threads: int, reuse: bool, models: tuple[str, ...]
) -> dict[str, tuple[Path, float]]:
    """Every model's output folder and wall time, with the recipes of tests/python/test_ladder_real.py."""
    recipes: dict[str, tuple[str, list[object]]] = {
        "dexter": ("dexter.py", ["--tss-index", TSS_INDEX]),
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
        # folds of whole gene groups, as the pipeline's PROBE_DNABERT2 has them
        "dnabert2_probe": (
            "probe_dnabert2.py",
            ["--model", TINY, "--max-tokens", 512, "--groups", dataset.parent / "gene_groups.tsv"],
        ),
    }
    runs = {}
    for name, (script, options) in recipes.items():
        if name not in models:
            continue
        outdir = workdir / name
        if reuse and (outdir / "predictions.tsv").exists():
            runs[name] = (outdir, float("nan"))
            continue
        seconds = run(script, "--dataset", dataset, *options, "--threads", threads, "--outdir", outdir)
        runs[name] = (outdir, seconds)
    return runs


def cell(row: pd.Series | None, value: str, low: str, high: str) -> str:
    """'r [low, high]' or empty where the stratum has no row or r is undefined."""
    if row is None or not np.isfinite(row[value]):
        return ""
    return f"{row[value]:.3f} [{row[low]:.2f}, {row[high]:.2f}]"


def print_split(split: str, evaluation: Path, threads: int) -> None:
    """The per-stratum table of one split and the gLM against each rung."""
    metrics = pd.read_csv(evaluation / "metrics.tsv", sep="\t", keep_default_na=False, na_values=[""])
    test = metrics[metrics["split"] == "test"]
    compute = pd.read_csv(evaluation / "compute.tsv", sep="\t").set_index("model")
    counts = test.drop_duplicates("stratum").set_index("stratum")["n"]
    print(f"--split {split}: test genes per stratum: " + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in STRATA))
    print(
        f"machine: {platform.machine()}, {threads} thread(s) per model; 95 % intervals: cluster bootstrap over groups"
    )
    header = f"{'model':<17}" + "".join(f"{s:<22}" for s in STRATA) + f"{'on/off AUROC':<22}{'wall s':>7}{'GiB':>6}"
    print(header)
    everything = test[test["stratum"] == "all"].sort_values("pearson", na_position="first")
    for model in everything["model"]:
        rows = test[test["model"] == model].set_index("stratum")
        line = f"{model:<17}"
        for stratum in STRATA:
            row = rows.loc[stratum] if stratum in rows.index else None
            line += f"{cell(row, 'pearson', 'pearson_ci_low', 'pearson_ci_high'):<22}"
        line += f"{cell(rows.loc['all'], 'auroc_on_off', 'auroc_ci_low', 'auroc_ci_high'):<22}"
        measured = compute.loc[model] if model in compute.index else None  # baselines have no record
        line += (
            f"{measured['wall_seconds']:>7.0f}{measured['peak_host_memory_gib']:>6.2f}" if measured is not None else ""
        )
        print(line)
    ladder = pd.read_csv(evaluation / "ladder.tsv", sep="\t")
    ladder = ladder[ladder["stratum"] == "all"]
    print("fine-tuned DNABERT-2 against each rung, all genes: Δr and ΔMSE [paired cluster-bootstrap 95 % CI], Holm p:")
    for _, row in ladder.iterrows():
        print(
            f"  vs {row['rung']:<16} Δr {row['delta_r']:+.3f} [{row['delta_r_ci_low']:+.3f}, "
            f"{row['delta_r_ci_high']:+.3f}] p (Holm) {row['p_holm']:.3g}   ΔMSE {row['delta_mse']:+.3f} "
            f"[{row['delta_mse_ci_low']:+.3f}, {row['delta_mse_ci_high']:+.3f}]"
        )


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option(
    "--shared",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=REPO.parent / "shared",
    help="The shared development folder (data/real_pituitary_2kb).",
)
@click.option("--threads", default=2, type=click.IntRange(min=1), help="CPU threads per model.")
@click.option(
    "--split",
    "splits",
    multiple=True,
    default=("dexter", "grouped"),
    type=click.Choice(["dexter", "grouped"]),
    help="Splits to measure (repeatable).",
)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), help="Keep the outputs here.")
@click.option("--reuse", is_flag=True, help="Keep a model's predictions already in --workdir.")
@click.option(
    "--model", "models", multiple=True, default=MODELS, type=click.Choice(MODELS), help="Models to run (repeatable)."
)
def main(
    shared: Path, threads: int, splits: tuple[str, ...], workdir: Path | None, reuse: bool, models: tuple[str, ...]
) -> None:
    """Run the ladder on the real set under each split and print its figures."""
    data = shared / "data" / "real_pituitary_2kb"
    workdir = workdir or Path(tempfile.mkdtemp(prefix="ladder_real_"))
    print(f"outputs in {workdir}")
    for split in splits:
        folder = workdir / split
        dataset_dir = folder / "dataset"
        if not (reuse and (dataset_dir / "dataset.tsv.gz").exists()):
            run(
                "build_dataset.py",
                "--sequences", data / "windows.fa",
                "--windows", data / "windows.tsv",
                "--expression", data / "GTEx_v7_gene_median_tpm_7tissues.tsv",
                "--tissue", "Pituitary", "--split", split, "--outdir", dataset_dir,
            )  # fmt: skip
        dataset = dataset_dir / "dataset.tsv.gz"
        runs = model_runs(dataset, folder, threads, reuse, models)
        evaluation = folder / "evaluation"
        arguments: list[object] = ["--dataset", dataset, "--groups", dataset_dir / "gene_groups.tsv"]
        arguments += ["--tss-index", TSS_INDEX, "--outdir", evaluation, "--predictions"]
        arguments += [outdir / "predictions.tsv" for outdir, _ in runs.values()]
        for outdir, _ in runs.values():
            arguments += ["--compute", outdir / "compute.tsv"]
        run("evaluate_models.py", *arguments)
        print_split(split, evaluation, threads)


if __name__ == "__main__":
    main()
