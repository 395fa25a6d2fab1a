"""The CNN's architecture sizes and training knobs, free of torch so that `--help` can show the defaults at once.

Every tunable field is declared once, with its help text, as `field(default=..., metadata={"help": ...})`;
the command's options are built from these (`seq2expr.cli.dataclass_options`). The defaults are the
recipe chosen on validation genes by `seq2expr.cnn.search` (see its docstring for the budget and the
scores that chose it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from seq2expr.errors import InputError

#: Version of the architecture written into a model folder's config.json; 1 was the plain three-layer tower.
CNN_VERSION = 2


@dataclass(frozen=True)
class CnnConfig:
    """The architecture's sizes; saved next to the weights so a model folder rebuilds itself."""

    motif_filters: int = field(default=64, metadata={"help": "First-layer motif filters, scanned on both strands."})
    motif_width: int = field(default=15, metadata={"help": "Width (bp, odd) of the first-layer motif filters."})
    filters: int = field(default=64, metadata={"help": "Channels of the convolution tower and its residual blocks."})
    width: int = field(default=5, metadata={"help": "Width (odd, in positions) of the tower's convolutions."})
    stem_pool: int = field(default=4, metadata={"help": "Max-pooling (bp) right after the motif scanners."})
    tower_layers: int = field(
        default=3, metadata={"help": "Convolutions of the tower, each followed by a 2-fold max-pooling."}
    )
    dilated_blocks: int = field(
        default=5, metadata={"help": "Dilated residual blocks (dilation 1, 2, 4, ...) that widen the receptive field."}
    )
    tss_bin_bp: int = field(
        default=64, metadata={"help": "Half-width (bp) of the read-out's central region around the TSS."}
    )
    tss_rings: int = field(
        default=5, metadata={"help": "Read-out regions on each side of the TSS, each twice as wide as the last."}
    )
    tss_index: int = field(
        default=-1, metadata={"help": "0-based TSS position in the windows; -1: the centre (length // 2)."}
    )
    hidden: int = field(default=64, metadata={"help": "Units of the regression head's hidden layer."})
    dropout: float = field(default=0.3, metadata={"help": "Dropout of the head (a sixth of it in the tower)."})

    def __post_init__(self) -> None:
        for name in ("motif_filters", "filters", "stem_pool", "tss_bin_bp", "tss_rings", "hidden"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("motif_width", "width"):
            if getattr(self, name) % 2 == 0 or getattr(self, name) < 1:
                option, value = name.replace("_", "-"), getattr(self, name)
                raise InputError(f"--{option} must be odd (both strands are scanned centred), got {value}")
        if self.tower_layers < 1 or self.dilated_blocks < 0 or self.tss_index < -1:
            raise InputError("--tower-layers must be at least 1, --dilated-blocks not negative, --tss-index >= -1")
        if not 0 <= self.dropout < 1:
            raise InputError(f"--dropout must be in [0, 1), got {self.dropout}")

    @property
    def resolution(self) -> int:
        """bp per position of the tower's output."""
        return int(self.stem_pool * 2**self.tower_layers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> CnnConfig:
        return cls(**fields)


@dataclass(frozen=True)
class CnnOptions:
    """Every knob of a training run."""

    epochs: int = field(default=6, metadata={"help": "Most passes over the train genes."})
    batch_size: int = field(default=32, metadata={"help": "Windows per optimiser step."})
    eval_batch_size: int = field(default=256, metadata={"help": "Windows per prediction."})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW's peak learning rate."})
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW's decoupled weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient norm clipped to this value."})
    patience: int = field(default=2, metadata={"help": "Stop after this many epochs without a better val MSE (0: no)."})
    val_fraction: float = field(
        default=0.1, metadata={"help": "Share of train held out as val, used only when the dataset has no val split."}
    )
    seed: int = field(default=686185200, metadata={"help": "Seed of the weights, the batch order and the carved val."})

    def check(self) -> None:
        """Reject values that cannot run (the command's option types catch most of them first)."""
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0 or self.weight_decay < 0 or self.patience < 0:
            raise InputError("--learning-rate must be positive; --weight-decay and --patience not negative")
        if not 0 < self.val_fraction < 1:
            raise InputError(f"--val-fraction must be between 0 and 1, got {self.val_fraction}")
