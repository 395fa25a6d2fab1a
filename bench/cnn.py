#!/usr/bin/env python3
"""Benchmark: the promoter CNN's training time at the study's size (22,000 genes × 4,001 bp) on CPU cores.

Generates random windows (seeded; the content does not change the cost of a convolution), then
times whole training epochs of the real loop (`seq2expr.cnn.training`: batch size, deterministic
CPU kernels and the evaluation on val as in `train_cnn.py`) on `--genes` windows, and scales the
time per epoch linearly to 22,000 genes (each epoch visits each window once). That is an upper
bound: the study trains on its 2/3 train split. Prints seconds per epoch, windows per second and
the projected time of a run of `--epochs-expected` epochs (early stopping: best epoch + patience).

    python bench/cnn.py --threads 2 [--genes 2000 --epochs 1 --device cpu]
"""

from __future__ import annotations

import resource
import time

import click
import numpy as np
import pandas as pd
import torch

from seq2expr.cnn.model import PromoterCnn
from seq2expr.cnn.options import CnnConfig, CnnOptions
from seq2expr.cnn.training import _train_epoch, make_deterministic, predict

STUDY_GENES, STUDY_WINDOW = 22_000, 4001


def random_windows(genes: int, length: int, seed: int) -> np.ndarray:
    """Base codes (A,C,G,T as 0..3) of random windows."""
    return np.random.default_rng(seed).integers(0, 4, size=(genes, length), dtype=np.uint8)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--genes", default=2000, type=click.IntRange(min=64), help="Windows trained on per epoch.")
@click.option("--window", default=STUDY_WINDOW, type=click.IntRange(min=64), help="Window length (bp).")
@click.option("--epochs", default=1, type=click.IntRange(min=1), help="Epochs timed.")
@click.option("--epochs-expected", default=15, type=click.IntRange(min=1), help="Epochs of a projected run.")
@click.option("--threads", default=2, type=click.IntRange(min=1), help="CPU threads.")
@click.option("--device", default="cpu", type=click.Choice(["cpu", "cuda"]), help="Where to train.")
def main(genes: int, window: int, epochs: int, epochs_expected: int, threads: int, device: str) -> None:
    """Time CNN training epochs and project them to the study's 22,000 × 4,001 bp."""
    torch.set_num_threads(threads)
    target = torch.device(device)
    options = CnnOptions()
    codes = random_windows(genes, window, 1)
    labels = np.random.default_rng(2).normal(size=genes).astype(np.float32)
    val = random_windows(max(genes // 10, 2), window, 3)
    make_deterministic(options.seed, target)
    model = PromoterCnn(CnnConfig()).to(target)
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=options.weight_decay)
    seconds = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        _train_epoch(model, optimizer, codes, labels, options, epoch, target)
        predict(model, val, options.eval_batch_size, target)
        seconds.append(time.perf_counter() - started)
    per_epoch = float(np.median(seconds))
    # All 22,000 windows trained on per epoch (plus a tenth predicted as val): an upper bound, since the study
    # trains on its 2/3 train split.
    study_epoch = per_epoch * STUDY_GENES / genes
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    row = {
        "device": device,
        "threads": threads,
        "window_bp": window,
        "genes_timed": genes,
        "s_per_epoch_timed": round(per_epoch, 1),
        "windows_per_s": round(genes / per_epoch, 1),
        "study_s_per_epoch": round(study_epoch, 0),
        "study_run_minutes": round(study_epoch * epochs_expected / 60, 1),
        "epochs_expected": epochs_expected,
        "peak_host_gib": round(peak, 2),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    click.echo(pd.Series(row).to_string())


if __name__ == "__main__":
    main()
