#!/usr/bin/env python3
"""Benchmark: the cross-fitted comparison, its composition control and attribution on the shared dev set.

Issue 22 asks whether the verdict still moves with the draw: on the real pituitary dev set
(`../shared/data/real_pituitary_2kb`, 1,323 genes, 2,048 bp, TSS at 1024) this runs the
protocol by hand — build_dataset (grouped K-fold cross-fitting) for each `--seeds` value, DExTER,
the CNN and the frozen DNABERT-2 probe on every fold with the composition control, then the
evaluation with `--primary-model DNABERT-2_probe` — and prints, per seed, the primary Δr (the
probe against each simple rung) with its corrected-resampled-t interval, then the SD of Δr across
seeds beside the mean half-width of the intervals. Issue 23 asks what the models learned: for the
first seed it prints each model's r on real and on shuffled windows (Δr and interval), and
attributes DExTER, the CNN and the probe (ISM on fold 1's test genes) with the meta-profile's peaks and the
top known elements. `--target specificity` repeats it for the tissue-specific target.

The DNABERT-2 here is the bundled tiny random-weight checkpoint (no real weights can be
downloaded): its probe is a random-feature ridge, a cheap stand-in for the primary model.

    python bench/dev_set.py --seeds 5 --threads 2 --outdir /tmp/dev [--target specificity] [--cnn-epochs 6]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

from seq2expr.interpret.ism import peak_offsets

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real_pituitary_2kb"
TINY = REPO / "assets" / "test_data" / "tiny_dnabert2"
TSS = 1024
PRIMARY = "DNABERT-2_probe"


def run(script: str, *arguments: object) -> None:
    """One bin/ command; its error ends the benchmark with the command's own message."""
    command = [sys.executable, str(REPO / "bin" / script), *map(str, arguments)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{script} failed:\n{result.stderr[-2000:]}")


def one_seed(seed: int, folds: int, target: str, cnn_epochs: int, threads: int, outdir: Path) -> Path:
    """Every fit of one seed's folds, then the evaluation; returns the evaluation folder."""
    data = outdir / "dataset"
    run("build_dataset.py", "--sequences", DATA / "windows.fa", "--windows", DATA / "windows.tsv",
        "--expression", DATA / "GTEx_v7_gene_median_tpm_7tissues.tsv", "--tissue", "Pituitary",
        "--target", target, "--seed", seed, "--folds", folds, "--outdir", data)  # fmt: skip
    dataset, groups = data / "dataset.tsv.gz", data / "gene_groups.tsv"
    run("shuffle_windows.py", "--sequences", DATA / "windows.fa", "--seed", seed, "--outdir", outdir / "shuffled")
    shuffled = outdir / "shuffled" / "shuffled_windows.fa"
    files: dict[str, list[Path]] = {"predictions": [], "control": []}
    for fold in range(1, folds + 1):
        fits = {
            "dexter": ("dexter.py", "--groups", groups, "--tss-index", TSS),
            "cnn": ("train_cnn.py", "--seed", seed, "--epochs", cnn_epochs, "--patience", 0),
            "probe": ("probe_dnabert2.py", "--model", TINY, "--groups", groups, "--max-tokens", 512),
        }
        for name, (script, *options) in fits.items():
            folder = outdir / name / f"fold_{fold}"
            threads_option = () if script == "dexter.py" else ("--threads", threads)
            run(str(script), "--dataset", dataset, "--fold", fold, *options, *threads_option, "--control", shuffled,
                "--outdir", folder)  # fmt: skip
            files["predictions"].append(folder / "predictions.tsv")
            files["control"].append(folder / "control.tsv")
    evaluation = outdir / "evaluation"
    run("evaluate_models.py", "--predictions", *files["predictions"], "--dataset", dataset, "--groups", groups,
        "--tss-index", TSS, *[item for path in files["control"] for item in ("--control", path)],
        "--shuffled", shuffled, "--primary-model", PRIMARY, "--outdir", evaluation)  # fmt: skip
    return evaluation


def attribution(outdir: Path, threads: int) -> pd.DataFrame:
    """ISM of fold 1's DExTER, CNN and probe on 20 of their test genes: the meta-profile's peaks (at least
    10 bp apart) and top elements."""
    rows = []
    dataset = outdir / "dataset" / "dataset.tsv.gz"
    models = (
        ("dexter", "DExTER", "dexter/fold_1/model.json", ()),
        ("cnn", "CNN", "cnn/fold_1/model", ()),
        ("dnabert2_probe", PRIMARY, "probe/fold_1", ("--base-model", TINY)),
    )
    for kind, name, model, base in models:
        folder = outdir / "attribution" / kind
        run("attribute.py", "--model-kind", kind, "--model", outdir / model, *base, "--name", name, "--dataset",
            dataset, "--fold", 1, "--tss-index", TSS, "--genes", 20, "--flank", 200, "--threads", threads,
            "--outdir", folder)  # fmt: skip
        top = peak_offsets(pd.read_csv(folder / "attribution_profile.tsv", sep="\t"))
        motifs = pd.read_csv(folder / "attribution_motifs.tsv", sep="\t")
        motifs = motifs[motifs["matches"] >= 5]
        ratio = (motifs["mean_effect"].abs() / motifs["background_effect"].abs().clip(lower=1e-12)).rename("ratio")
        best = motifs.assign(ratio=ratio).nlargest(3, "ratio")
        named = [f"{motif} ({effect:+.3g})" for motif, effect in zip(best["motif"], best["mean_effect"], strict=True)]
        rows.append({"model": name, "peaks": top, "top_elements": named})
    return pd.DataFrame(rows)


@click.command()
@click.option("--seeds", default=5, show_default=True)
@click.option("--first-seed", default=686185200, show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--target", type=click.Choice(["median", "specificity"]), default="median", show_default=True)
@click.option("--cnn-epochs", default=6, show_default=True, help="The CNN's epochs (its best on this set is ~5).")
@click.option("--threads", default=2, show_default=True)
@click.option("--outdir", type=click.Path(path_type=Path), required=True)
def main(seeds: int, first_seed: int, folds: int, target: str, cnn_epochs: int, threads: int, outdir: Path) -> None:
    start = time.perf_counter()
    primary_rows, control = [], None
    for index in range(seeds):
        seed = first_seed + index
        evaluation = one_seed(seed, folds, target, cnn_epochs, threads, outdir / f"seed_{seed}")
        comparison = pd.read_csv(evaluation / "comparison.tsv", sep="\t")
        rows = comparison[comparison["family"] == "primary"].assign(seed=seed)
        primary_rows.append(rows[["seed", "model_b", "delta_r", "delta_r_ci_low", "delta_r_ci_high", "p_holm"]])
        if control is None:
            control = pd.read_csv(evaluation / "control.tsv", sep="\t")
            ism = attribution(outdir / f"seed_{seed}", threads)
        print(f"seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    table = pd.concat(primary_rows, ignore_index=True)
    pd.set_option("display.width", 200)
    print(f"\n== target {target}: primary Δr ({PRIMARY} − rung), {folds}-fold cross-fitting, per seed")
    print(table.to_string(index=False, float_format=lambda value: f"{value:.3f}"))
    half = (table["delta_r_ci_high"] - table["delta_r_ci_low"]) / 2
    summary = table.assign(half_width=half).groupby("model_b").agg(
        mean_delta_r=("delta_r", "mean"), sd_across_seeds=("delta_r", lambda values: float(np.std(values, ddof=1))),
        mean_half_width=("half_width", "mean"))  # fmt: skip
    print(f"\n== SD of Δr across {seeds} seeds against the intervals' mean half-width")
    print(summary.to_string(float_format=lambda value: f"{value:.3f}"))
    assert control is not None
    print(f"\n== composition control, seed {first_seed}")
    columns = ["model", "pearson_real", "pearson_shuffled", "delta_r", "delta_r_ci_low", "delta_r_ci_high"]
    print(control[columns].to_string(index=False, float_format=lambda value: f"{value:.3f}"))
    print(f"\n== attribution, seed {first_seed}, fold 1, 20 test genes, TSS ± 200 bp")
    print(ism.to_string(index=False))
    print(f"\nwall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
