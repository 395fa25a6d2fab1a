"""The one-hot promoter CNNs, the rung a gLM must beat: a basic three-block network and a dilated residual tower.

Why two. Benchmarks of genome language models (Tang & Koo 2024; DART-Eval, Patel et al. 2024)
find that a well-built one-hot CNN trained from scratch is the baseline that matters; the strong
ones are dilated residual towers (Basenji, Kelley et al. 2018; Enformer, Avsec et al. 2021) or
searched networks (Xpresso, Agarwal & Shendure 2020). Both shapes are here, and the declared
search (`seq2expr.models.cnn.search`) chooses between them on validation genes; `CnnConfig.architecture`
names the one built (`build_cnn`). Both begin the same way:

**Motif scanners on both strands.** The first convolution (`motif_filters` filters of
`motif_width` bp) scans the window and its reverse complement in one pass and keeps the maximum
in the window's coordinates (`StrandSymmetricConv`): a TATA box, CCAAT box or SP1 site is found in
either orientation by the same weights. Only this layer is strand-symmetric: the windows are
oriented (upstream left, transcription to the right), and what a motif means depends on which
side of the TSS it sits, so the rest of the network keeps the orientation. Then BN, ReLU and a
max-pooling by `stem_pool`.

`basic` (`BasicCnn`, seq2expr's first CNN, kept byte for byte): two convolution blocks (BN,
ReLU, max-pooling by `block_pool` then `final_pool`) widen the receptive field to 318 bp; an
adaptive average pool cuts the window into `position_bins` equal regions, read by a
dropout-regularised two-layer head. 94,657 parameters at the defaults.

`tower` (`TowerCnn`): `tower_layers` convolution blocks (BN, GELU, 2-fold max-pooling) to one
position per `resolution` bp, then `dilated_blocks` Basenji residual blocks with dilations 1, 2,
4, … (a receptive field of ~2.1 kb with 5 blocks at stem pool 4, width 5), read out around the
TSS (`TssReadout`): a central region of ±`tss_bin_bp` bp, then rings of doubling width on each
side, the last ring holding everything farther; fine near the core promoter, fixed relative to
the TSS whatever the window's length. 153,761 parameters as the search's tower candidates set it.

The target is standardised by the training loop (`seq2expr.models.cnn.training`), which undoes it for the predictions.
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

from seq2expr.errors import InputError
from seq2expr.models.cnn.options import ARCHITECTURE_FIELDS, CNN_VERSION, CnnConfig

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


class DilatedResidual(nn.Module):
    """Basenji's dilated residual block: BN, GELU, a width-3 convolution at `dilation` to half the channels,
    BN, GELU, a 1×1 convolution back, dropout, added to the input (so a block starts near the identity)."""

    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        half = max(channels // 2, 1)
        self.body = nn.Sequential(
            nn.BatchNorm1d(channels),
            nn.GELU(),
            nn.Conv1d(channels, half, 3, padding=dilation, dilation=dilation),
            nn.BatchNorm1d(half),
            nn.GELU(),
            nn.Conv1d(half, channels, 1),
            nn.Dropout(dropout),
        )

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.body(hidden)


def tss_regions(config: CnnConfig, window: int) -> np.ndarray:
    """Region of each tower position: (positions,) ints in 0..2 × tss_rings, the TSS's own region in the middle.

    The central region holds the positions whose centre lies within `tss_bin_bp` of the TSS; ring k on
    each side covers `tss_bin_bp` × [2^k, 2^(k+1)) bp, the outermost ring everything beyond. Regions are
    counted from upstream (index 0, the farthest) to downstream, so a region's index always means the
    same stretch relative to the TSS, whatever the window's length.
    """
    resolution = config.resolution
    positions = -(-window // config.stem_pool)
    for _ in range(config.tower_layers):
        positions = -(-positions // 2)
    tss = config.tss_index if config.tss_index >= 0 else window // 2
    if tss >= window:
        raise ValueError(f"the TSS index {tss} lies outside windows of {window} bp")
    centres = np.arange(positions) * resolution + (resolution - 1) / 2
    offsets = centres - tss
    distance = np.abs(offsets) / config.tss_bin_bp
    ring = np.zeros(positions, dtype=np.int64)
    far = distance >= 1
    ring[far] = np.minimum(np.floor(np.log2(distance[far])).astype(np.int64), config.tss_rings - 1) + 1
    return np.where(offsets < 0, config.tss_rings - ring, config.tss_rings + ring)


class TssReadout(nn.Module):
    """Mean of the tower's channels within each region around the TSS: (batch, channels, positions) →
    (batch, channels × regions); a region the window does not reach reads as zeros.

    Fine regions near the TSS, where the core promoter sits, and coarser ones far away (DExTER's
    insight, at finer resolution than its 13 equal bins). The pooling matrix depends only on the
    window's length and is built once per length, so the weights stay the same for any window.
    """

    def __init__(self, config: CnnConfig) -> None:
        super().__init__()
        self.config = config
        self.regions = 2 * config.tss_rings + 1
        self._matrices: dict[tuple[int, str], torch.Tensor] = {}

    def matrix(self, window: int, device: torch.device) -> torch.Tensor:
        key = (window, str(device))
        if key not in self._matrices:
            region = tss_regions(self.config, window)
            indicator = np.zeros((len(region), self.regions), dtype=np.float32)
            indicator[np.arange(len(region)), region] = 1.0
            indicator /= np.maximum(indicator.sum(axis=0, keepdims=True), 1.0)
            self._matrices[key] = torch.from_numpy(indicator).to(device)
        return self._matrices[key]

    def forward(self, hidden: torch.Tensor, window: int) -> torch.Tensor:
        pooled = hidden @ self.matrix(window, hidden.device).to(hidden.dtype)
        return pooled.flatten(1)


class PromoterCnn(nn.Module):
    """One-hot window (batch, 4, length) → predicted expression target (batch,): the architectures' common type.

    `PromoterCnn(config)` builds the architecture `config.architecture` names (as `build_cnn` does), so callers
    that construct the model need not know which one the configuration holds.
    """

    config: CnnConfig

    def __new__(cls, *args: Any, **kwargs: Any) -> PromoterCnn:
        if cls is PromoterCnn:
            config = args[0] if args else kwargs["config"]
            cls = _NETWORKS[config.architecture]
        return super().__new__(cls)


def _stem(config: CnnConfig) -> tuple[StrandSymmetricConv, nn.Sequential]:
    """The motif scanners and their BN, ReLU and max-pooling (dropout after it for `basic` only)."""
    motifs = StrandSymmetricConv(len(BASES), config.motif_filters, config.motif_width)
    tail: list[nn.Module] = [
        nn.BatchNorm1d(config.motif_filters),
        nn.ReLU(),
        nn.MaxPool1d(config.stem_pool, ceil_mode=True),
    ]
    if config.architecture == "basic":
        tail.append(nn.Dropout(config.dropout / 3))
    return motifs, nn.Sequential(*tail)


def _basic_block(channels: int, filters: int, width: int, pool: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(channels, filters, width, padding=width // 2),
        nn.BatchNorm1d(filters),
        nn.ReLU(),
        nn.MaxPool1d(pool, ceil_mode=True),
        nn.Dropout(dropout / 3),
    )


class BasicCnn(PromoterCnn):
    """Architecture `basic`: motif scanners, two convolution blocks, equal position bins, a two-layer head."""

    def __init__(self, config: CnnConfig) -> None:
        super().__init__()
        self.config = config
        self.motifs, self.motif_tail = _stem(config)
        self.tower = nn.Sequential(
            _basic_block(config.motif_filters, config.filters, config.width, config.block_pool, config.dropout),
            _basic_block(config.filters, config.filters, config.width, config.final_pool, config.dropout),
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


class TowerCnn(PromoterCnn):
    """Architecture `tower`: motif scanners, a convolution tower, dilated residual blocks, the TSS read-out."""

    def __init__(self, config: CnnConfig) -> None:
        super().__init__()
        self.config = config
        light = config.dropout / 6
        self.motifs, self.stem = _stem(config)
        layers: list[nn.Module] = []
        channels = config.motif_filters
        for _ in range(config.tower_layers):
            layers += [
                nn.Conv1d(channels, config.filters, config.width, padding=config.width // 2),
                nn.BatchNorm1d(config.filters),
                nn.GELU(),
                nn.MaxPool1d(2, ceil_mode=True),
                nn.Dropout(light),
            ]
            channels = config.filters
        layers += [DilatedResidual(config.filters, 2**block, light) for block in range(config.dilated_blocks)]
        layers += [nn.BatchNorm1d(config.filters), nn.GELU()]
        self.tower = nn.Sequential(*layers)
        self.readout = TssReadout(config)
        self.head = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(config.filters * self.readout.regions, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 1),
        )

    def forward(self, encoded: torch.Tensor) -> torch.Tensor:
        hidden = self.tower(self.stem(self.motifs(encoded)))
        return self.head(self.readout(hidden, encoded.shape[-1])).squeeze(-1)


_NETWORKS: dict[str, type[PromoterCnn]] = {"basic": BasicCnn, "tower": TowerCnn}


def build_cnn(config: CnnConfig) -> PromoterCnn:
    """The network `config.architecture` names, freshly initialised from torch's current random state."""
    return _NETWORKS[config.architecture](config)


CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def save_cnn(model: PromoterCnn, folder: Path, target_mean: float, target_sd: float, window: int) -> None:
    """Write `config.json` (architecture and its version, target scaling, window length) and `model.safetensors`."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        **model.config.to_dict(),
        "cnn_version": CNN_VERSION,
        "target_mean": target_mean,
        "target_sd": target_sd,
        "window": window,
    }
    (folder / CONFIG_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    save_model(model, str(folder / WEIGHTS_FILE))


def folder_config(settings: dict[str, Any]) -> CnnConfig:
    """The configuration a folder's config.json describes, whatever seq2expr version wrote it.

    Version 1 (no `cnn_version`; seq2expr's first CNN) held the basic network, with its poolings as
    `pools`; version 2 the dilated tower; from version 3 the folder names its `architecture`. Each
    architecture's own fields must be there (the rest keep their defaults, which it does not read);
    a newer version is refused rather than guessed.
    """
    version = settings.get("cnn_version", 1)
    if version not in (1, 2, CNN_VERSION):
        raise ValueError(f"architecture version {version} is newer than this seq2expr's {CNN_VERSION}")
    known = dict(settings)
    if version == 1:
        known.update(zip(("stem_pool", "block_pool", "final_pool"), known.pop("pools"), strict=True))
    architecture = {1: "basic", 2: "tower"}.get(version) or known["architecture"]
    fields = {name: known[name] for name in ARCHITECTURE_FIELDS[architecture]}
    return CnnConfig(architecture=architecture, **fields)


def load_cnn(folder: Path) -> tuple[PromoterCnn, dict[str, Any]]:
    """The model in eval mode and its settings; a missing or foreign folder is an InputError.

    Folders of every earlier version load (`folder_config`): the basic network of version 1 and the
    tower of version 2 rebuild exactly as they were trained.
    """
    try:
        settings = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        model = build_cnn(folder_config(settings))
        load_model(model, str(folder / WEIGHTS_FILE))
    except FileNotFoundError as error:
        raise InputError(f"not a CNN model folder: {Path(str(error.filename)).name} is missing", folder) from None
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError, SafetensorError) as error:
        raise InputError(f"not a CNN model folder written by train_cnn.py ({error})", folder) from None
    model.eval()
    return model, settings
