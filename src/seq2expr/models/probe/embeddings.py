"""Pooled hidden states of every window at every chosen layer, and the file that keeps them.

A window reaches the model as one or more *chunks* (token ids with the model's own special tokens):
one when it fits the model's maximum length, else several consecutive pieces of its token sequence
(see `seq2expr.models.glm.chunking`). Each layer is pooled two ways:

- `mean`: the mean over the window's sequence tokens of all its chunks (padding and the special
  tokens the tokenizer adds excluded), i.e. the token-weighted average of the chunk means;
- `cls`: the first token's state, averaged over the window's chunks, where the model has a `[CLS]`.

Batches are sorted by length and right-padded; the attention mask keeps padding out, so a window's
embedding does not depend on its batch neighbours.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file
from torch import nn

from seq2expr.errors import InputError
from seq2expr.models.training.core import autocast, ordered_batches

POOLINGS = ("mean", "cls")
METADATA_KEY = "seq2expr"


@dataclass(frozen=True)
class Chunks:
    """Model inputs of `n_windows` windows: chunk rows (specials included) and, per row, its window
    and the [start, stop) positions of its sequence tokens."""

    input_ids: list[np.ndarray]
    window: np.ndarray
    content_start: np.ndarray
    content_stop: np.ndarray
    n_windows: int
    has_cls: bool

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self.input_ids))

    @property
    def n_chunked(self) -> int:
        """Windows cut into more than one chunk."""
        return int((np.bincount(self.window, minlength=self.n_windows) > 1).sum())


def check_poolings(poolings: Sequence[str]) -> None:
    """Known pooling names, at least one (checked before the model is loaded)."""
    unknown = [name for name in poolings if name not in POOLINGS]
    if unknown or not poolings:
        raise InputError(f"--pooling must name one or more of {', '.join(POOLINGS)}, got {', '.join(poolings)!r}")


def _pad(chunks: Chunks, indices: np.ndarray, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids, attention mask and sequence-token mask of the chosen chunks."""
    width = int(max(len(chunks.input_ids[i]) for i in indices))
    ids = np.full((len(indices), width), pad_id, dtype=np.int64)
    attention = np.zeros((len(indices), width), dtype=np.int64)
    content = np.zeros((len(indices), width), dtype=np.float32)
    for row, index in enumerate(indices):
        length = len(chunks.input_ids[index])
        ids[row, :length] = chunks.input_ids[index]
        attention[row, :length] = 1
        content[row, chunks.content_start[index] : chunks.content_stop[index]] = 1.0
    return torch.from_numpy(ids), torch.from_numpy(attention), torch.from_numpy(content)


@torch.no_grad()
def embed_layers(
    model: nn.Module,
    chunks: Chunks,
    layers: Sequence[int],
    poolings: Sequence[str],
    batch_size: int,
    device: torch.device,
    pad_id: int,
) -> dict[int, dict[str, np.ndarray]]:
    """layer → pooling → (windows × hidden) float32, in the windows' order.

    `layers` index the model's `hidden_states` (0: the embedding output, then one per block).
    """
    check_poolings(poolings)
    if "cls" in poolings and not chunks.has_cls:
        raise InputError("--pooling cls: this model's tokenizer puts no [CLS] token first; use --pooling mean")
    model.eval()
    sums: dict[tuple[int, str], np.ndarray] = {}
    tokens = np.zeros(chunks.n_windows)
    pieces = np.zeros(chunks.n_windows)
    for indices in ordered_batches(chunks.lengths, batch_size):
        ids, attention, content = (tensor.to(device) for tensor in _pad(chunks, indices, pad_id))
        with autocast(device):
            states = model(input_ids=ids, attention_mask=attention, output_hidden_states=True).hidden_states
        windows = chunks.window[indices]
        for layer in layers:
            hidden = states[layer].float()
            pooled = {"mean": (hidden * content[..., None]).sum(dim=1), "cls": hidden[:, 0]}
            for name in poolings:
                values = pooled[name].cpu().numpy().astype(np.float64)
                total = sums.setdefault((layer, name), np.zeros((chunks.n_windows, values.shape[1])))
                np.add.at(total, windows, values)
        np.add.at(tokens, windows, content.sum(dim=1).cpu().numpy())
        np.add.at(pieces, windows, 1.0)
    divisor = {"mean": np.maximum(tokens, 1.0), "cls": np.maximum(pieces, 1.0)}
    return {
        layer: {name: (sums[(layer, name)] / divisor[name][:, None]).astype(np.float32) for name in poolings}
        for layer in layers
    }


def feature_matrix(pools: dict[str, np.ndarray], poolings: Sequence[str]) -> np.ndarray:
    """The chosen poolings of one layer side by side (e.g. mean then cls: 2 × hidden size columns)."""
    check_poolings(poolings)
    return np.concatenate([pools[name] for name in poolings], axis=1).astype(np.float64)


def save_embeddings(path: Path, gene_ids: Sequence[str], pools: dict[str, np.ndarray], about: dict[str, Any]) -> None:
    """One safetensors file: a (genes, hidden) float32 tensor per pooling; gene ids and `about` (JSON) in its metadata.

    safetensors (unlike `np.savez`, whose zip entries carry the time) gives byte-identical re-runs.
    """
    # One metadata entry: safetensors keeps metadata in a hash map, so several keys come out in any order.
    metadata = {
        METADATA_KEY: json.dumps({**about, "gene_ids": list(gene_ids), "poolings": list(pools)}, sort_keys=True)
    }
    save_file({name: np.ascontiguousarray(values) for name, values in pools.items()}, str(path), metadata)


def read_safetensors(path: Path, expected: str) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """A safetensors file's metadata and tensors; a file that is not one is an InputError saying `expected`."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
        return metadata, load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise InputError(f"{expected} ({error})", path) from None


def load_embeddings(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Gene ids and the pooled embeddings written by `save_embeddings`."""
    metadata, tensors = read_safetensors(path, "not an embeddings file")
    try:
        gene_ids = json.loads(metadata[METADATA_KEY])["gene_ids"]
    except (KeyError, ValueError, TypeError):
        expected = "no gene ids in the file's metadata; expected embeddings written by a probe command"
        raise InputError(expected, path) from None
    return list(gene_ids), tensors
