"""A compact one-hot convolutional network for promoter windows: the rung a gLM must beat.

Why this shape. Benchmarks of genome language models (Tang & Koo 2024; DART-Eval 2024) find that
a well-tuned one-hot CNN trained from scratch is the baseline that matters; promoter-expression
CNNs (Xpresso, Agarwal & Shendure 2020; Basenji, Kelley et al. 2018) share a pattern that is
reproduced here at laptop size:

1. **Motif scanners on both strands.** The first convolution (`motif_filters` filters of
   `motif_width` bp) is applied to the window and to its reverse complement, the second result
   is flipped back to the window's coordinates and the two are combined by a maximum. A motif
   (TATA box, CCAAT box, an SP1 site) is thus found in either orientation with the same
   weights, while the window keeps its orientation relative to the TSS (windows are
   strand-oriented, so a plain reverse-complement augmentation would throw that away).
2. **Convolution + max-pooling tower.** Two more convolution blocks (batch norm, ReLU, pooling)
   widen the receptive field to a few hundred bp and shrink the length 64-fold in all.
3. **Position-aware head.** An adaptive average pool cuts the window into `position_bins` equal
   regions (so windows of any length give the same head), flattened into a dropout-regularised
   two-layer regressor: what a motif means depends on where it sits relative to the TSS.

At the study's 4,001 bp this is ~0.2 M parameters and ~0.2 GFLOP per window and pass.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn
from torch.nn import functional

from seq2expr.cnn.options import CnnConfig
from seq2expr.errors import InputError

#: Code of each base; A,C,G,T so that the complement is the reversed row order of the one-hot matrix.
BASES = "ACGT"
N_CODE = len(BASES)
_LOOKUP = np.full(256, 255, dtype=np.uint8)
for _index, _base in enumerate(BASES + "N"):
    _LOOKUP[ord(_base)] = _index
    _LOOKUP[ord(_base.lower())] = _index


def encode(sequences: Sequence[str]) -> np.ndarray:
    """(n, length) uint8 base codes (A 0, C 1, G 2, T 3, N 4) of equal-length ACGTN sequences, any case.

    Codes take a sixteenth of the memory of a float one-hot (22k windows of 4 kb: 90 MB, not
    1.4 GB); batches are one-hot encoded on the fly by `one_hot`. The caller checks letters and
    lengths (naming file and line); any other letter here is a programming error.
    """
    length = len(sequences[0])
    codes = _LOOKUP[np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8)].reshape(len(sequences), length)
    if (codes == 255).any():
        raise ValueError("sequences must hold only A, C, G, T or N")
    return codes


def one_hot(codes: torch.Tensor) -> torch.Tensor:
    """(batch, 4, length) float one-hot of base codes; N is a column of zeros."""
    return functional.one_hot(codes.long(), N_CODE + 1)[..., :N_CODE].transpose(1, 2).float()


def reverse_complement(encoded: torch.Tensor) -> torch.Tensor:
    """Reverse complement of a (batch, 4, length) ACGT one-hot: flip both the base and the position axis."""
    return encoded.flip(dims=(1, 2))


class StrandSymmetricConv(nn.Module):
    """A 'same'-padded convolution scanned on both strands, reported in the window's coordinates (max).

    Scanning the reverse complement with a filter and mirroring the result equals scanning the window
    itself with the filter's reverse complement (bases and positions flipped), so both strands are one
    convolution with the filters and their reverse complements stacked: the same result as two
    passes, at the cost of one.
    """

    def __init__(self, channels: int, filters: int, width: int) -> None:
        super().__init__()
        if width % 2 == 0:
            raise ValueError(f"motif width must be odd so both strands align, got {width}")
        self.conv = nn.Conv1d(channels, filters, width, padding=width // 2)

    def forward(self, encoded: torch.Tensor) -> torch.Tensor:
        weight = torch.cat([self.conv.weight, self.conv.weight.flip(dims=(1, 2))])
        bias = torch.cat([self.conv.bias, self.conv.bias]) if self.conv.bias is not None else None
        both = functional.conv1d(encoded, weight, bias, padding=self.conv.padding)
        return both.unflatten(1, (2, -1)).amax(dim=1)


def _block(channels: int, filters: int, width: int, pool: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(channels, filters, width, padding=width // 2),
        nn.BatchNorm1d(filters),
        nn.ReLU(),
        nn.MaxPool1d(pool, ceil_mode=True),
        nn.Dropout(dropout / 3),
    )


class PromoterCnn(nn.Module):
    """One-hot window (batch, 4, length) → predicted expression target (batch,)."""

    def __init__(self, config: CnnConfig) -> None:
        super().__init__()
        self.config = config
        self.motifs = StrandSymmetricConv(len(BASES), config.motif_filters, config.motif_width)
        self.motif_tail = nn.Sequential(
            nn.BatchNorm1d(config.motif_filters),
            nn.ReLU(),
            nn.MaxPool1d(config.pools[0], ceil_mode=True),
            nn.Dropout(config.dropout / 3),
        )
        self.tower = nn.Sequential(
            _block(config.motif_filters, config.filters, config.width, config.pools[1], config.dropout),
            _block(config.filters, config.filters, config.width, config.pools[2], config.dropout),
        )
        self.positions = nn.AdaptiveAvgPool1d(config.position_bins)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(config.filters * config.position_bins, config.hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 1),
        )

    def forward(self, encoded: torch.Tensor) -> torch.Tensor:
        hidden = self.motif_tail(self.motifs(encoded))
        return self.head(self.positions(self.tower(hidden))).squeeze(-1)


CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def save_cnn(model: PromoterCnn, folder: Path, target_mean: float, target_sd: float, window: int) -> None:
    """Write `config.json` (architecture, target scaling, window length) and `model.safetensors`."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = {**model.config.to_dict(), "target_mean": target_mean, "target_sd": target_sd, "window": window}
    (folder / CONFIG_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    save_model(model, str(folder / WEIGHTS_FILE))


def load_cnn(folder: Path) -> tuple[PromoterCnn, dict[str, Any]]:
    """The model in eval mode and its settings; a missing or foreign folder is an InputError."""
    try:
        settings = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        architecture = {key: settings[key] for key in CnnConfig.__dataclass_fields__}
        model = PromoterCnn(CnnConfig.from_dict(architecture))
        load_model(model, str(folder / WEIGHTS_FILE))
    except FileNotFoundError as error:
        raise InputError(f"not a CNN model folder: {Path(str(error.filename)).name} is missing", folder) from None
    except (json.JSONDecodeError, KeyError, TypeError, RuntimeError, SafetensorError) as error:
        raise InputError(f"not a CNN model folder written by train_cnn.py ({error})", folder) from None
    model.eval()
    return model, settings
