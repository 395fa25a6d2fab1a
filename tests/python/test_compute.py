"""The compute record every model step writes, and how the evaluation gathers it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seq2expr.compute import COMPUTE_COLUMNS, compute_summary, read_compute, record_compute
from seq2expr.errors import InputError


def test_a_finished_run_writes_one_row_with_its_figures(tmp_path: Path) -> None:
    path = tmp_path / "out" / "compute.tsv"
    with record_compute(path, "CNN") as compute:
        compute.use_device("cpu")
        ballast = np.ones(64 * 1024 * 1024 // 8)  # 64 MiB touched: the peak must see it
        time.sleep(0.05)
        del ballast
    table = read_compute(path)
    assert list(table.columns) == COMPUTE_COLUMNS and len(table) == 1
    row = table.iloc[0]
    assert row["model"] == "CNN" and row["device"] == "cpu"
    assert 0.05 <= row["wall_seconds"] < 60
    assert row["peak_host_memory_gib"] >= 64 / 1024
    assert row["peak_gpu_memory_gib"] == 0 and row["gpu_hours"] == 0
    assert row["cpu_threads"] >= 1


def test_a_failed_run_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "compute.tsv"
    with pytest.raises(RuntimeError), record_compute(path, "CNN"):
        raise RuntimeError("training diverged")
    assert not path.exists()


def test_unknown_device_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="device"), record_compute(tmp_path / "c.tsv", "CNN") as compute:
        compute.use_device("tpu")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("CNN\ttpu\tx\t1\t1\t1\t0\t0", "device 'tpu' is not one of cpu, cuda"),
        ("CNN\tcpu\tx\t1\tfast\t1\t0\t0", "wall_seconds value 'fast' is not a finite number"),
        ("CNN\tcpu\tx\t1\t-1\t1\t0\t0", "wall_seconds must not be negative"),
    ],
)
def test_bad_compute_files_name_the_line(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "compute.tsv"
    path.write_text("\t".join(COMPUTE_COLUMNS) + "\n" + row + "\n")
    with pytest.raises(InputError, match=message) as caught:
        read_compute(path)
    assert caught.value.line == 2


def test_summary_averages_wall_time_and_sums_gpu_hours_over_runs() -> None:
    def run(model: str, device: str, wall: float, host: float, gpu: float) -> pd.DataFrame:
        hours = wall / 3600 if device == "cuda" else 0.0
        return pd.DataFrame([[model, device, "dev", 2, wall, host, gpu, hours]], columns=COMPUTE_COLUMNS)

    summary = compute_summary(
        [
            run("DNABERT-2", "cuda", 3600, 4.0, 20.0),
            run("DNABERT-2", "cuda", 1800, 5.0, 18.0),
            run("CNN", "cpu", 60, 1.0, 0.0),
        ]
    ).set_index("model")
    assert summary.loc["DNABERT-2", "n_runs"] == 2
    assert summary.loc["DNABERT-2", "wall_seconds"] == pytest.approx(2700)
    assert summary.loc["DNABERT-2", "wall_seconds_total"] == pytest.approx(5400)
    assert summary.loc["DNABERT-2", "gpu_hours"] == pytest.approx(1.5)
    assert summary.loc["DNABERT-2", "peak_host_memory_gib"] == 5.0
    assert summary.loc["DNABERT-2", "peak_gpu_memory_gib"] == 20.0
    assert summary.loc["CNN", "gpu_hours"] == 0
