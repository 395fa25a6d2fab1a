"""Which genes a gradient-trained model's written predictions were fitted on: the refit option and `fit.json`.

Why. The CNN and DNABERT-2 train on the train genes and stop on the val genes, so their val rows
are an early-stopping set and they fit on ~10 % fewer genes than DExTER, the probe and the
baselines (which fit on train + val). With `refit`, the early-stopped run only chooses the number
of optimiser steps N (its best step on val); a second run from the same initial weights and seed
then trains on train + val for exactly N steps, with the same schedule scaled to N steps, and its
predictions are the ones written. Its val rows are then fitted on, not held out.

Every run writes `fit.json` (`FIT_FILE`) beside its predictions saying which it was, so the
evaluation can mark the val rows: `refit`, `steps`, `fitted_on` and `val_use` (the same words as
metrics.tsv's columns). torch-free, so that the commands' `--help` answers at once.

The default (off) was measured on the shared development set (1,323 human pituitary genes,
2,048 bp windows, DExTER's split: 794 train, 88 val, 441 test genes) with the CNN's `basic`
architecture (three convolution blocks, equal position bins; last row: the dilated tower, stem
pool 4, width 5), one CPU thread per run; test Pearson r with 95 % cluster-bootstrap intervals
over the gene groups, and the paired difference:

    recipe                 seed       best step  early-stopped (train)  refit (train + val)   refit - early-stopped
    40 epochs, patience 8  686185200  475        0.501 [0.406, 0.584]   0.520 [0.434, 0.595]  +0.020 [-0.015, +0.053]
    6 epochs               686185200  100        0.521 [0.439, 0.592]   0.526 [0.449, 0.594]  +0.005 [-0.016, +0.027]
    40 or 6 (same run)     2          150        0.523 [0.438, 0.596]   0.518 [0.431, 0.591]  -0.005 [-0.028, +0.018]
    tower, 6 epochs        686185200  50         0.507 [0.425, 0.579]   0.513 [0.438, 0.580]  +0.006 [-0.017, +0.030]

Every paired interval holds 0: the refit gains nothing measurable on test, costs the best step's
length of training again, and turns the val rows from an early-stopping set into fitted genes
(val r 0.643 -> 0.846, 0.605 -> 0.689, 0.624 -> 0.756, 0.562 -> 0.730: the fit, not the model,
improved). Within noise, the choice that keeps validation honest wins: off by default, `--refit`
to ask for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seq2expr.errors import InputError

FIT_FILE = "fit.json"
#: metrics.tsv's words (`seq2expr.evaluate`): what the predicting weights were fitted on, and what val was for.
TRAIN, TRAIN_VAL = "train", "train+val"
EARLY_STOPPING, FITTED_ON = "early stopping", "fitted on"


@dataclass(frozen=True)
class RefitOptions:
    """Whether the written predictions come from a refit on train + val (the default was measured: module docstring)."""

    refit: bool = field(
        default=False,
        metadata={
            "help": "After the early-stopped run picks its best step N on val, train again from the same initial "
            "weights and seed on train + val for exactly N optimiser steps (schedule scaled to N) and write that "
            "model's predictions; val rows are then fitted on (fit.json says so)."
        },
    )


@dataclass(frozen=True)
class FitRecord:
    """What the written predictions' weights saw: `fit.json`."""

    model: str
    refit: bool
    #: optimiser steps of the weights that predicted (the refit's N, or the early-stopped run's best step)
    steps: int
    #: genes whose gradient those weights saw, and the val genes the best step was chosen on
    genes_fitted: int
    val_genes: int
    #: the early-stopped run's best step on val (equals `steps` for a refit)
    best_step: int
    schedule: str

    @property
    def fitted_on(self) -> str:
        return TRAIN_VAL if self.refit else TRAIN

    @property
    def val_use(self) -> str:
        return FITTED_ON if self.refit else EARLY_STOPPING

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fitted_on": self.fitted_on, "val_use": self.val_use}


def write_fit(record: FitRecord, path: Path) -> None:
    """fit.json, keys in a fixed order, so that a re-run writes the same bytes."""
    path.write_text(json.dumps(record.to_dict(), indent=2) + "\n", encoding="utf-8")


def read_fit(path: Path) -> FitRecord:
    """A fit.json back, or InputError naming the file and the field that is wrong."""
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read fit.json ({type(error).__name__}); expected a JSON object", path) from None
    if not isinstance(fields, dict):
        raise InputError("expected a JSON object", path)
    names = [name for name in FitRecord.__dataclass_fields__]
    missing = [name for name in names if name not in fields]
    if missing:
        raise InputError(f"missing field(s) {', '.join(missing)}", path)
    if not isinstance(fields["refit"], bool) or not isinstance(fields["steps"], int):
        raise InputError("'refit' must be true or false and 'steps' an integer", path)
    return FitRecord(**{name: fields[name] for name in names})
