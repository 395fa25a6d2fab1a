"""The CNN's architecture sizes and training knobs, free of torch so that `--help` can show the defaults at once.

Every tunable field is declared once, with its help text, as `field(default=..., metadata={"help": ...})`;
the command's options are built from these (`seq2expr.cli.dataclass_options`). The defaults are the
recipe chosen on validation genes by `seq2expr.models.cnn.search` (see its docstring for the budget and the
scores that chose it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from seq2expr.errors import InputError

#: Version of a model folder's config.json: 1 (no `cnn_version`) held the basic network only, 2 the dilated
#: tower only; from 3 the folder names its `architecture`.
CNN_VERSION = 3
#: The networks `architecture` can name (seq2expr.models.cnn.model builds them).
ARCHITECTURES = ("basic", "tower")
#: The fields each architecture reads beyond the shared ones (a folder must carry them to be rebuilt).
SHARED_FIELDS = ("motif_filters", "motif_width", "filters", "width", "stem_pool", "hidden", "dropout")
ARCHITECTURE_FIELDS = {
    "basic": (*SHARED_FIELDS, "block_pool", "final_pool", "position_bins"),
    "tower": (*SHARED_FIELDS, "tower_layers", "dilated_blocks", "tss_bin_bp", "tss_rings", "tss_index"),
}


@dataclass(frozen=True)
class CnnConfig:
    """The architecture and its sizes; saved next to the weights so a model folder rebuilds itself.

    One default per field, the val winner's (`seq2expr.models.cnn.search`): the basic network at its own sizes. The
    tower's candidates in the search declare the sizes they differ in (width 5, stem pool 4, dropout 0.3).
    """

    architecture: str = field(
        default="basic",
        metadata={
            "help": "basic: three convolution blocks read out in equal position bins; tower: dilated residual "
            "tower read out in rings around the TSS.",
            "choices": list(ARCHITECTURES),
        },
    )
    motif_filters: int = field(default=64, metadata={"help": "First-layer motif filters, scanned on both strands."})
    motif_width: int = field(default=15, metadata={"help": "Width (bp, odd) of the first-layer motif filters."})
    filters: int = field(default=64, metadata={"help": "Channels of the convolutions after the motif scanners."})
    width: int = field(default=7, metadata={"help": "Width (odd, in positions) of the convolutions after the motifs."})
    stem_pool: int = field(default=8, metadata={"help": "Max-pooling (bp) right after the motif scanners."})
    block_pool: int = field(default=4, metadata={"help": "basic: max-pooling after its first convolution block."})
    final_pool: int = field(default=2, metadata={"help": "basic: max-pooling after its second convolution block."})
    position_bins: int = field(
        default=8, metadata={"help": "basic: equal regions of the window averaged for the head."}
    )
    tower_layers: int = field(
        default=3, metadata={"help": "tower: convolutions, each followed by a 2-fold max-pooling."}
    )
    dilated_blocks: int = field(
        default=5, metadata={"help": "tower: dilated residual blocks (dilation 1, 2, 4, ...) widening the view."}
    )
    tss_bin_bp: int = field(
        default=64, metadata={"help": "tower: half-width (bp) of the read-out's central region around the TSS."}
    )
    tss_rings: int = field(
        default=5, metadata={"help": "tower: read-out regions on each side of the TSS, each twice the last's width."}
    )
    tss_index: int = field(
        default=-1, metadata={"help": "tower: 0-based TSS position in the windows; -1: the centre (length // 2)."}
    )
    hidden: int = field(default=64, metadata={"help": "Units of the regression head's hidden layer."})
    dropout: float = field(
        default=0.5, metadata={"help": "Dropout of the head (basic: a third of it in the blocks; tower: a sixth)."}
    )

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise InputError(f"--architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}")
        positive = ("motif_filters", "filters", "stem_pool", "block_pool", "final_pool", "position_bins", "hidden")
        for name in (*positive, "tss_bin_bp", "tss_rings"):
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
        """bp per position of the tower's output (architecture `tower`)."""
        return int(self.stem_pool * 2**self.tower_layers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> CnnConfig:
        return cls(**fields)


@dataclass(frozen=True)
class CnnOptions:
    """Every knob of a training run."""

    epochs: int = field(default=40, metadata={"help": "Most passes over the train genes."})
    batch_size: int = field(default=32, metadata={"help": "Windows per optimiser step."})
    eval_batch_size: int = field(default=256, metadata={"help": "Windows per prediction."})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW's peak learning rate."})
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW's decoupled weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient norm clipped to this value."})
    patience: int = field(default=8, metadata={"help": "Stop after this many epochs without a better val MSE (0: no)."})
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
