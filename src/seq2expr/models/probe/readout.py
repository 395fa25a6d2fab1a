"""The probe's fitted read-out, kept: what turns a window's pooled hidden states into a prediction.

`run_probe` writes it as `readout.safetensors` (`READOUT_FILE`) beside probe.json: the chosen
layer's feature standardisation (`mean`, `scale`: the fitted `StandardScaler`'s, a constant feature
keeping scale 1) and the ridge's `coefficients` and `intercept` (one value), all float64; its metadata holds
probe.json's summary (the frozen `model`, `layer`, `poolings`, `max_tokens`, `name`, …), so the
file alone says how a window must be embedded before it is read out. With the frozen checkpoint
it makes the probe a prediction function again (`readout_predictor`), which in-silico mutagenesis
needs (`seq2expr.interpret.predictors`). Re-runs give the same bytes: safetensors orders its
tensors, and the metadata is one entry of sorted JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file
from sklearn.pipeline import Pipeline
from torch import nn

from seq2expr.errors import InputError
from seq2expr.io.files import HUB_ID
from seq2expr.io.tables import honour_umask
from seq2expr.models.probe.embeddings import METADATA_KEY, Chunks, embed_layers, feature_matrix, read_safetensors
from seq2expr.models.probe.options import ProbeOptions

READOUT_FILE = "readout.safetensors"
TENSORS = ("mean", "scale", "coefficients", "intercept")
#: Windows (or window pieces) per forward pass when the read-out predicts: the probe's default.
BATCH_SIZE = ProbeOptions().batch_size


@dataclass(frozen=True)
class Readout:
    """Feature standardisation and ridge of one probe, with probe.json's summary (`about`)."""

    mean: np.ndarray
    scale: np.ndarray
    coefficients: np.ndarray
    intercept: float
    about: dict[str, Any]

    @property
    def name(self) -> str:
        """The probe's model name in predictions.tsv."""
        return str(self.about["name"])

    @property
    def model(self) -> str:
        """The frozen checkpoint (folder or Hub id) as the probe command was given it."""
        return str(self.about["model"])

    @property
    def layer(self) -> int:
        return int(self.about["layer"])

    @property
    def poolings(self) -> list[str]:
        return [str(name) for name in self.about["poolings"]]

    def base(self, base_model: str | None) -> str:
        """The frozen checkpoint to embed with: `base_model`, else the probe's own (`model`) where that is a folder
        here or a Hub id (a folder relative to where the probe ran, or staged for its task, may not be)."""
        if base_model is not None:
            return base_model
        if not Path(self.model).is_dir() and not HUB_ID.match(self.model):
            raise InputError(
                f"the probe embedded with {self.model}, not a folder here: give the checkpoint with --base-model"
            )
        return self.model

    def check_base(self, n_states: int, source: str | Path) -> None:
        """The checkpoint `source` has the hidden state the read-out reads (its width is checked by `predict`)."""
        if not 0 <= self.layer < n_states:
            raise InputError(
                f"the read-out of {self.name} reads hidden state {self.layer}, this model has {n_states}: "
                "not the checkpoint the probe embedded with",
                source,
            )

    def predict(self, features: np.ndarray) -> np.ndarray:
        """What the fitted StandardScaler + Ridge predict for these (windows × features) features."""
        if features.shape[1] != len(self.coefficients):
            raise InputError(
                f"the base model gives {features.shape[1]} features per window, the read-out of {self.name} "
                f"reads {len(self.coefficients)}: not the checkpoint the probe embedded with"
            )
        predicted: np.ndarray = ((features - self.mean) / self.scale) @ self.coefficients + self.intercept
        return predicted


def readout_of(pipeline: Pipeline, about: dict[str, Any]) -> Readout:
    """The read-out of a fitted `make_pipeline(StandardScaler(), Ridge(alpha))` (`seq2expr.models.probe.ridge`)."""
    scaler, ridge = pipeline[0], pipeline[-1]
    return Readout(
        np.asarray(scaler.mean_), np.asarray(scaler.scale_), np.asarray(ridge.coef_), float(ridge.intercept_), about
    )


def save_readout(path: Path, readout: Readout) -> None:
    """One safetensors file: the four float64 tensors, `about` (JSON, sorted keys) in its metadata."""
    tensors = {
        "mean": readout.mean,
        "scale": readout.scale,
        "coefficients": readout.coefficients,
        "intercept": np.asarray([readout.intercept]),
    }
    # One metadata entry: safetensors keeps metadata in a hash map, so several keys come out in any order.
    metadata = {METADATA_KEY: json.dumps(readout.about, sort_keys=True)}
    save_file(
        {name: np.ascontiguousarray(values, dtype=np.float64) for name, values in tensors.items()}, str(path), metadata
    )
    honour_umask(path)


def load_readout(path: Path) -> Readout:
    """The read-out in `path`: a probe command's output folder or its `readout.safetensors`."""
    file = path / READOUT_FILE if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"no {READOUT_FILE}: expected a probe command's output folder or its read-out", path)
    expected = f"not a probe read-out; expected the {READOUT_FILE} a probe command writes"
    metadata, tensors = read_safetensors(file, expected)
    try:
        about = json.loads(metadata[METADATA_KEY])
        (intercept,) = tensors["intercept"]
        readout = Readout(tensors["mean"], tensors["scale"], tensors["coefficients"], float(intercept), about)
        _ = readout.name, readout.model, readout.layer, readout.poolings  # what the predictors read is there
    except (KeyError, ValueError, TypeError):
        raise InputError(expected, file) from None
    widths = {len(readout.mean), len(readout.scale), len(readout.coefficients)}
    if len(widths) != 1 or readout.coefficients.ndim != 1:
        raise InputError(f"{expected} (mean, scale and coefficients of different shapes)", file)
    return readout


def readout_predictor(
    readout: Readout,
    model: nn.Module,
    chunks_of: Callable[[list[str]], Chunks],
    pad_id: int,
    device: torch.device,
) -> Callable[[Sequence[str]], np.ndarray]:
    """The probe as a prediction function: windows cut into chunks by `chunks_of` (as the probe command cut
    them), the frozen `model`'s chosen layer pooled as the probe pooled it, then the read-out."""

    def predict(windows: Sequence[str]) -> np.ndarray:
        chunks = chunks_of(list(windows))
        pools = embed_layers(model, chunks, [readout.layer], readout.poolings, BATCH_SIZE, device, pad_id)
        return readout.predict(feature_matrix(pools[readout.layer], readout.poolings))

    return predict
