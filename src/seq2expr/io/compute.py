"""What a model cost to train: device, wall time, peak memory and GPU-hours, one row per run.

A model that is 0.02 r better but needs a GPU-day is not the same answer as one that runs in ten
minutes on a laptop, so every model step records its compute in `compute.tsv` (columns
`COMPUTE_COLUMNS`), and the evaluation gathers these files next to the accuracy. Wall time and
memory differ between re-runs by nature; that is why they live in their own file and never in the
byte-identical outputs (predictions, weights).

`random_init` is true when the model's weights came from a random-weight test checkpoint (its
config.json says `"seq2expr_random_init": true`, as the project's tiny checkpoint generators
write): its accuracy says nothing about the real model, and the report says so.

torch is imported only when the run is on a GPU, so CPU-only steps (DExTER) do not pay for it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.io.tables import check_allowed, numeric_column, read_table, write_tsv

COMPUTE_FILE = "compute.tsv"
COMPUTE_COLUMNS = [
    "model",
    "device",
    "device_name",
    "cpu_threads",
    "wall_seconds",
    "peak_host_memory_gib",
    "peak_gpu_memory_gib",
    "gpu_hours",
    "random_init",
]
DEVICES = ("cpu", "cuda")
GIB = 1024**3
#: The config.json key of a random-weight test checkpoint (written by `seq2expr.models.dnabert2.tiny` and its kin).
RANDOM_INIT_KEY = "seq2expr_random_init"


def is_random_init(model_folder: Path) -> bool:
    """Whether the model folder is a random-weight test checkpoint (see `RANDOM_INIT_KEY`).

    A folder without config.json, or one that is not a JSON object, is not marked: the loader that
    needs the file reports it.
    """
    try:
        fields = json.loads((model_folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(fields, dict) and fields.get(RANDOM_INIT_KEY) is True


def _own_peak_kib() -> int | None:
    """This program's own peak resident memory on Linux (VmHWM), or None where /proc has no such line.

    getrusage's ru_maxrss survives exec: a command started by a large process (a test runner that
    loaded torch, say) would report its parent's size. VmHWM belongs to the program's own address
    space, which exec makes anew.
    """
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def peak_host_memory_bytes() -> int:
    """Peak resident memory of this process or of any child it waited for (Linux reports KiB, macOS bytes)."""
    scale = 1 if platform.system() == "Darwin" else 1024
    own = _own_peak_kib()
    if own is None:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * scale


def cpu_threads() -> int:
    """Threads PyTorch uses when it is loaded, else the CPUs this process may run on."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class ComputeRecorder:
    """Collects one run's figures; the step tells it the device once it has chosen one."""

    model: str
    random_init: bool = False
    device: str = "cpu"
    device_name: str = field(default_factory=platform.processor)
    started: float = field(default_factory=time.perf_counter)

    def use_device(self, device: Any) -> None:
        """Record the device (a `torch.device` or its name); on CUDA, reset the GPU peak so it is this run's."""
        name = getattr(device, "type", str(device))
        if name not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {name!r}")
        self.device = name
        if name == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
            self.device_name = torch.cuda.get_device_name()

    def row(self) -> dict[str, object]:
        """The figures so far; GPU-hours are the wall time of a run that held one GPU."""
        wall = time.perf_counter() - self.started
        gpu_peak = 0.0
        if self.device == "cuda":
            import torch

            gpu_peak = torch.cuda.max_memory_allocated() / GIB
        return {
            "model": self.model,
            "device": self.device,
            "device_name": self.device_name or platform.machine(),
            "cpu_threads": cpu_threads(),
            "wall_seconds": round(wall, 3),
            "peak_host_memory_gib": round(peak_host_memory_bytes() / GIB, 4),
            "peak_gpu_memory_gib": round(gpu_peak, 4),
            "gpu_hours": round(wall / 3600, 6) if self.device == "cuda" else 0.0,
            "random_init": "true" if self.random_init else "false",
        }

    def write(self, path: Path) -> None:
        """Write the figures so far as a one-row compute table (for steps that cannot wrap their body)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_tsv(pd.DataFrame([self.row()], columns=COMPUTE_COLUMNS), path)


@contextmanager
def record_compute(path: Path, model: str, random_init: bool = False) -> Iterator[ComputeRecorder]:
    """Measure the body and write `path` (a one-row compute table) when it finishes without error.

    A failed run writes nothing: its cost is not that of a model anyone can evaluate.
    """
    recorder = ComputeRecorder(model, random_init=random_init)
    yield recorder
    recorder.write(path)


def read_compute(path: Path) -> pd.DataFrame:
    """Read one compute table, checking its columns, devices and numbers (errors name file and line)."""
    text = ["model", "device", "device_name", "random_init"]
    table = read_table(path, COMPUTE_COLUMNS, text, "a compute table")
    if table.empty:
        raise InputError("no rows; expected one row per run", path)
    check_allowed(table, "device", DEVICES, path)
    check_allowed(table, "random_init", ("true", "false"), path)
    table["random_init"] = table["random_init"] == "true"
    for column in ("cpu_threads", "wall_seconds", "peak_host_memory_gib", "peak_gpu_memory_gib", "gpu_hours"):
        table[column] = numeric_column(table, column, path, finite=True)
        if (table[column] < 0).any():
            row = int(np.flatnonzero((table[column] < 0).to_numpy())[0])
            raise InputError(f"{column} must not be negative", path, row + 2)
    return table[COMPUTE_COLUMNS]


SUMMARY_COLUMNS = [
    "model",
    "n_runs",
    "device",
    "device_name",
    "wall_seconds",
    "wall_seconds_total",
    "peak_host_memory_gib",
    "peak_gpu_memory_gib",
    "gpu_hours",
    "random_init",
]


def compute_summary(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per model: mean wall time per run and in total, the highest peaks, GPU-hours summed over runs."""
    if not tables:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    runs = pd.concat(tables, ignore_index=True)
    rows = []
    for model, group in runs.groupby("model", sort=True):
        rows.append(
            {
                "model": model,
                "n_runs": len(group),
                "device": ",".join(sorted(set(group["device"]))),
                "device_name": ",".join(sorted(set(group["device_name"].astype(str)))),
                "wall_seconds": float(group["wall_seconds"].mean()),
                "wall_seconds_total": float(group["wall_seconds"].sum()),
                "peak_host_memory_gib": float(group["peak_host_memory_gib"].max()),
                "peak_gpu_memory_gib": float(group["peak_gpu_memory_gib"].max()),
                "gpu_hours": float(group["gpu_hours"].sum()),
                "random_init": bool(group["random_init"].astype(bool).any()),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
