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

The default (off) was chosen by measurement: on the development set every paired refit-minus-
early-stopped interval of test r held 0 (docs/decisions.md, "no refit on train + val by default").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seq2expr.errors import InputError

FIT_FILE = "fit.json"
#: metrics.tsv's words (`seq2expr.evaluation.metrics`): what the predicting weights were fitted on,
#: and what val was for.
TRAIN, TRAIN_VAL = "train", "train+val"
EARLY_STOPPING, FITTED_ON = "early stopping", "fitted on"


@dataclass(frozen=True)
class RefitOptions:
    """Whether the written predictions come from a refit on train + val (the default: docs/decisions.md)."""

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
    #: which fit of a cross-fitted dataset (`seq2expr.data.folds`); 0, 0 for a single split, where fit.json
    #: leaves them out (its bytes as before the cross-fitting) and a file without them reads as 0, 0
    fold: int = 0
    repeat: int = 0

    @property
    def fitted_on(self) -> str:
        return TRAIN_VAL if self.refit else TRAIN

    @property
    def val_use(self) -> str:
        return FITTED_ON if self.refit else EARLY_STOPPING

    def to_dict(self) -> dict[str, Any]:
        fields = {**asdict(self), "fitted_on": self.fitted_on, "val_use": self.val_use}
        if self.fold == 0 and self.repeat == 0:
            del fields["fold"], fields["repeat"]
        return fields


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
    optional = ("fold", "repeat")
    missing = [name for name in names if name not in fields and name not in optional]
    if missing:
        raise InputError(f"missing field(s) {', '.join(missing)}", path)
    if not isinstance(fields["refit"], bool) or not isinstance(fields["steps"], int):
        raise InputError("'refit' must be true or false and 'steps' an integer", path)
    if any(not isinstance(fields.get(name, 0), int) or fields.get(name, 0) < 0 for name in optional):
        raise InputError("'fold' and 'repeat' must be whole numbers >= 0", path)
    return FitRecord(**{name: fields[name] for name in names if name in fields})
