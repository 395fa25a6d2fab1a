"""The compute record every model step writes, and how the evaluation gathers it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from seq2expr.errors import InputError
from seq2expr.io.compute import (
    COMPUTE_COLUMNS,
    RANDOM_INIT_KEY,
    compute_summary,
    is_random_init,
    read_compute,
    record_compute,
)

#: A fresh interpreter that records a run holding `ballast` MiB, then prints the row's peak (GiB).
RECORD_RUN = """
import sys, time
import numpy as np
from pathlib import Path
from seq2expr.io.compute import read_compute, record_compute
path = Path(sys.argv[1])
with record_compute(path, "CNN") as compute:
    compute.use_device("cpu")
    ballast = np.ones(int(sys.argv[2]) * 1024 * 1024 // 8)  # touched: resident, so the peak must see it
    time.sleep(0.05)
    del ballast
print(read_compute(path)["peak_host_memory_gib"].item())
"""
BALLAST_MIB = 512


def recorded_peak(path: Path, ballast_mib: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", RECORD_RUN, str(path), str(ballast_mib)], capture_output=True, text=True, check=True
    )
    return float(result.stdout)


def test_a_finished_run_writes_one_row_with_its_figures(tmp_path: Path) -> None:
    path = tmp_path / "out" / "compute.tsv"
    with record_compute(path, "CNN") as compute:
        compute.use_device("cpu")
        time.sleep(0.05)
    table = read_compute(path)
    assert list(table.columns) == COMPUTE_COLUMNS and len(table) == 1
    row = table.iloc[0]
    assert row["model"] == "CNN" and row["device"] == "cpu" and not row["random_init"]
    assert 0.05 <= row["wall_seconds"] < 60
    assert row["peak_gpu_memory_gib"] == 0 and row["gpu_hours"] == 0
    assert row["cpu_threads"] >= 1


def test_the_peak_memory_is_the_runs_own(tmp_path: Path) -> None:
    """Measured in fresh interpreters, so that the threshold is one an empty run does not reach."""
    empty = recorded_peak(tmp_path / "empty.tsv", 0)
    loaded = recorded_peak(tmp_path / "loaded.tsv", BALLAST_MIB)
    assert empty < BALLAST_MIB / 1024 <= loaded
    assert loaded - empty >= 0.9 * BALLAST_MIB / 1024


def test_a_random_weight_model_is_marked(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    assert not is_random_init(folder)  # no config.json: not marked (its loader reports the missing file)
    (folder / "config.json").write_text(json.dumps({RANDOM_INIT_KEY: True, "hidden_size": 8}))
    assert is_random_init(folder)
    (folder / "config.json").write_text(json.dumps({RANDOM_INIT_KEY: "yes"}))
    assert not is_random_init(folder)  # only a JSON true marks it
    path = tmp_path / "compute.tsv"
    with record_compute(path, "DNABERT-2", random_init=True) as compute:
        compute.use_device("cpu")
    assert path.read_text().splitlines()[1].endswith("\ttrue")
    assert read_compute(path)["random_init"].tolist() == [True]


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
        ("CNN\ttpu\tx\t1\t1\t1\t0\t0\tfalse", "device 'tpu' is not one of cpu, cuda"),
        ("CNN\tcpu\tx\t1\tfast\t1\t0\t0\tfalse", "wall_seconds value 'fast' is not a finite number"),
        ("CNN\tcpu\tx\t1\t-1\t1\t0\t0\tfalse", "wall_seconds must not be negative"),
        ("CNN\tcpu\tx\t1\tinf\t1\t0\t0\tfalse", "wall_seconds value 'inf' is not a finite number"),
        ("CNN\tcpu\tx\t1\t1\t1\t0\t0\tmaybe", "random_init 'maybe' is not one of true, false"),
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
        row = [model, device, "dev", 2, wall, host, gpu, hours, model == "CNN"]
        return pd.DataFrame([row], columns=COMPUTE_COLUMNS)

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
    assert summary.loc["CNN", "random_init"] and not summary.loc["DNABERT-2", "random_init"]
