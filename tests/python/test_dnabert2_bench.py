"""The DNABERT-2 benchmark's arithmetic and code paths, at tiny size on the CPU."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import REPO

BENCH = REPO / "bench" / "dnabert2.py"


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_dnabert2", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, check=False)


def test_flop_count_matches_the_spec() -> None:
    """117M: 113.2 M matmul weights; a 1,000-token forward is 226.5 (dense) + 36.9 (attention) GFLOP."""
    bench = bench_module()
    config = bench.SIZES["117m"]
    assert bench.dense_weights(config) == 113_246_208
    assert bench.forward_flops(config, [1000]) == pytest.approx(263.4e9, rel=1e-3)


def test_training_throughput_path_runs_on_cpu_at_tiny_size() -> None:
    result = run_bench(
        "train", "--size", "tiny", "--device", "cpu", "--batch-size", "2", "--tokens", "40", "--steps", "2", "--warmup", "1"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "losses finite: True" in result.stdout
    assert "real tokens/s" in result.stdout and "MFU" in result.stdout and "projected fine-tune" in result.stdout


def test_forward_comparison_with_the_published_code() -> None:
    """Runs only where the published code has been staged (external/ is never committed)."""
    if not (REPO / "external" / "CS224N_DNABERT2" / "bert_layers.py").is_file():
        pytest.skip("published DNABERT-2 code not staged in external/CS224N_DNABERT2 (see bench/dnabert2.py)")
    if importlib.util.find_spec("einops") is None:
        pytest.skip("einops (needed by the published code only) is not installed")
    result = run_bench("forward", "--size", "tiny", "--tokens", "60", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    assert "outputs agree (1e-4): True" in result.stdout
