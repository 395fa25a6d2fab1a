"""The CNN's architecture sizes and training knobs, free of torch so that `--help` can show the defaults at once."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from seq2expr.errors import InputError


@dataclass(frozen=True)
class CnnConfig:
    """The architecture's sizes; saved next to the weights so a model folder rebuilds itself."""

    motif_filters: int = 64
    motif_width: int = 15
    filters: int = 64
    width: int = 7
    pools: tuple[int, int, int] = (8, 4, 2)
    position_bins: int = 8
    hidden: int = 64
    dropout: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["pools"] = list(self.pools)
        return fields

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> CnnConfig:
        return cls(**{**fields, "pools": tuple(fields["pools"])})


@dataclass(frozen=True)
class CnnOptions:
    """Every knob of a training run."""

    epochs: int = 40
    batch_size: int = 32
    eval_batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    patience: int = 8
    val_fraction: float = 0.1
    seed: int = 686185200

    def check(self) -> None:
        """Reject values that cannot run (the command's option types catch most of them first)."""
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0 or self.weight_decay < 0 or self.patience < 0:
            raise InputError("--learning-rate must be positive; --weight-decay and --patience not negative")
        if not 0 < self.val_fraction < 1:
            raise InputError(f"--val-fraction must be between 0 and 1, got {self.val_fraction}")
