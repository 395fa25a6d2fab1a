#!/usr/bin/env python3
"""Benchmark: the cost of the CNN's default recipe at the study's size (22,000 genes × 4,001 bp, 2/3 train).

Builds a dataset table of seeded random windows (the content does not change the cost of a
convolution) with the study's 2/3 train and 1/3 test (train_cnn carves its val from train, as on
real data), then runs the real `seq2expr.models.cnn.training.train_cnn` with the default recipe
(`CnnConfig()`, `CnnOptions()`) twice, for one and for two epochs: the difference is the cost of an
epoch (training on the train windows and predicting val), the rest is the fixed cost (setup and
the final prediction of every gene). Both scale linearly with the number of genes, so they are
projected to 22,000 genes; a run of the recipe costs at most its `epochs` (early stopping ends
most runs sooner). The search (`seq2expr.models.cnn.search`) runs each candidate once within its own
declared epoch budget; `--architecture tower` (with the search's tower sizes) times a tower
candidate's epoch the same way, so the search's cost is the sum of its candidates' runs.

    python bench/cnn.py --threads 2 [--genes 600 --device cpu] [--architecture tower]
    python bench/cnn.py --device cuda --genes 3000      # on a GPU: bf16 autocast, peak GPU memory

On the CPU the figures include deterministic kernels, as `train_cnn` uses them there.
"""

from __future__ import annotations

import resource
import time
from dataclasses import replace

import click
import numpy as np
import pandas as pd
import torch

from seq2expr.models.cnn.model import BASES, build_cnn
from seq2expr.models.cnn.options import ARCHITECTURES, CnnConfig, CnnOptions
from seq2expr.models.cnn.search import CANDIDATES
from seq2expr.models.cnn.training import train_cnn

STUDY_GENES, STUDY_WINDOW = 22_000, 4001


def random_table(genes: int, length: int, seed: int) -> pd.DataFrame:
    """A dataset table of random ACGT windows: 2/3 train, 1/3 test, random targets."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(BASES.encode("ascii"), dtype=np.uint8)
    codes = letters[rng.integers(0, 4, size=(genes, length))]
    sequences = [row.tobytes().decode("ascii") for row in codes]
    split = np.where(np.arange(genes) < round(genes * 2 / 3), "train", "test")
    return pd.DataFrame(
        {
            "gene_id": [f"G{index:05d}" for index in range(genes)],
            "chrom": "chr1",
            "split": split,
            "tpm": 1.0,
            "target": rng.normal(size=genes),
            "sequence": sequences,
        }
    )


def timed_run(table: pd.DataFrame, config: CnnConfig, options: CnnOptions, device: torch.device) -> float:
    """Wall seconds of one train_cnn call (the GPU's queue drained before the clock stops)."""
    started = time.perf_counter()
    train_cnn(table, "benchmark", config, options, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--genes", default=600, type=click.IntRange(min=30), help="Genes of the timed table (2/3 train).")
@click.option("--window", default=STUDY_WINDOW, type=click.IntRange(min=64), help="Window length (bp).")
@click.option("--threads", default=2, type=click.IntRange(min=1), help="CPU threads.")
@click.option("--device", default="cpu", type=click.Choice(["cpu", "cuda"]), help="Where to train.")
@click.option(
    "--architecture",
    default=CnnConfig().architecture,
    type=click.Choice(ARCHITECTURES),
    help="The default recipe, or the search's first candidate of this architecture (its sizes and budget).",
)
def main(genes: int, window: int, threads: int, device: str, architecture: str) -> None:
    """Time a recipe's epochs and fixed cost and project them to the study's 22,000 × 4,001 bp."""
    torch.set_num_threads(threads)
    target = torch.device(device)
    setting = next(c.settings for c in CANDIDATES if c.settings.config.architecture == architecture)
    config = setting.config
    recipe = CnnOptions(learning_rate=setting.learning_rate, epochs=setting.epochs, patience=setting.patience)
    table = random_table(genes, window, 1)
    if target.type == "cuda":
        torch.cuda.reset_peak_memory_stats(target)
    one = timed_run(table, config, replace(recipe, epochs=1, patience=0), target)
    two = timed_run(table, config, replace(recipe, epochs=2, patience=0), target)
    per_epoch, fixed = max(two - one, 0.0), max(2 * one - two, 0.0)
    scale = STUDY_GENES / genes
    study_epoch, study_fixed = per_epoch * scale, fixed * scale
    recipe_minutes = (study_epoch * recipe.epochs + study_fixed) / 60
    train_genes = int((table["split"] == "train").sum())
    row = {
        "device": device if target.type == "cuda" else f"cpu ({threads} threads)",
        "architecture": architecture,
        "window_bp": window,
        "genes_timed": genes,
        "train_windows_per_s": round(train_genes * (1 - recipe.val_fraction) / per_epoch, 1) if per_epoch else None,
        "s_per_epoch_timed": round(per_epoch, 1),
        "study_s_per_epoch": round(study_epoch),
        "study_fixed_s": round(study_fixed),
        "recipe_epochs_at_most": recipe.epochs,
        "study_recipe_minutes_at_most": round(recipe_minutes, 1),
        "peak_host_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "parameters": sum(p.numel() for p in build_cnn(config).parameters()),
    }
    if target.type == "cuda":
        row["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated(target) / 1024**3, 2)
    click.echo(pd.Series(row).to_string())


if __name__ == "__main__":
    main()
