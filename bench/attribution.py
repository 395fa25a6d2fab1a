#!/usr/bin/env python3
"""Benchmark: the cost of in-silico mutagenesis (ISM) per model, projected to the defaults at study size.

ISM asks 3 × (2 × flank + 1) predictions per gene; its cost is that many forward passes, whatever
the weights, so the CNN runs with seeded random weights of the default architecture on random
4,001 bp windows. The time of a few genes is measured and projected linearly to the defaults
(100 genes, ±250 bp). DNABERT-2-117M has no weights here: its cost is projected from its FLOP
count (forward ≈ 1/3 of the ≈ 623 GFLOP per training pass on a 4 kb window) at an effective
throughput you give (default 200 TFLOP/s, bf16 on an H200), and measured on a GPU by
`bash bench/gpu_check.sh` when one is available.

    python bench/attribution.py --threads 2 [--genes 2 --device cpu]
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import click
import numpy as np
import torch

from seq2expr.interpret.ism import DEFAULT_FLANK, DEFAULT_GENES, IsmSpec, ism
from seq2expr.models.cnn.model import BASES, build_cnn, encode
from seq2expr.models.cnn.options import CnnConfig
from seq2expr.models.cnn.training import predict

WINDOW = 4001
FORWARD_GFLOP_4KB = 623 / 3
"""Forward pass of DNABERT-2-117M on a 4 kb window (~810 tokens): a third of forward + backward."""


@click.command()
@click.option("--genes", default=2, show_default=True, help="Genes measured (the projection scales linearly).")
@click.option("--threads", default=2, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--tflops", default=200.0, show_default=True, help="Assumed TFLOP/s of DNABERT-2.")
def main(genes: int, threads: int, device: str, tflops: float) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    target = torch.device(device)
    model = build_cnn(CnnConfig()).to(target).eval()
    rng = np.random.default_rng(0)
    windows = ["".join(rng.choice(list(BASES), size=WINDOW)) for _ in range(genes)]

    def cnn(batch: Sequence[str]) -> np.ndarray:
        return predict(model, encode(batch), len(batch), target)

    spec = IsmSpec(tss_index=WINDOW // 2, genes=genes, batch=512)
    start = time.perf_counter()
    ism([f"g{index}" for index in range(genes)], windows, cnn, spec)
    seconds = time.perf_counter() - start
    per_gene = 3 * (2 * DEFAULT_FLANK + 1)
    projected = seconds / genes * DEFAULT_GENES
    dnabert2 = DEFAULT_GENES * per_gene * FORWARD_GFLOP_4KB * 1e9 / (tflops * 1e12)
    print(f"ISM defaults: {DEFAULT_GENES} genes x ±{DEFAULT_FLANK} bp = {DEFAULT_GENES * per_gene:,} predictions")
    print(f"CNN (default architecture, {WINDOW} bp, {device}, {threads} threads): {seconds:.1f} s for {genes} gene(s);"
          f" projected {projected / 60:.1f} min for the defaults")  # fmt: skip
    print(f"DNABERT-2-117M (projection at {tflops:.0f} TFLOP/s, not measured): {dnabert2 / 60:.1f} GPU-minutes")


if __name__ == "__main__":
    main()
