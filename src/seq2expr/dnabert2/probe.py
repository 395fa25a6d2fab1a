"""The frozen-embedding probe: how much expression signal the *pretrained* DNABERT-2 already holds.

Fine-tuning changes 117 M weights on a few thousand genes; if a linear read-out of the frozen
model does as well, the pre-training (not the fine-tuning) carries the signal, and if a one-hot
CNN does better still, the gLM adds little (Tang & Koo 2024). The probe is the fair version of that
read-out: each window's last hidden layer is pooled once, as the mean over its real tokens
(padding, `[CLS]` and `[SEP]` excluded) and as the `[CLS]` state, and a ridge regression on the
standardised features, with its penalty chosen by efficient leave-one-out cross-validation
(`RidgeCV`), is fitted on train + val and predicts every gene.

Tokenisation, batching (length-bucketed, right-padded) and bf16 autocast on CUDA are the
fine-tuning's own, so the probe sees exactly the inputs the fine-tuned model sees.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from seq2expr.dnabert2.batching import EncodedSplit, collate, ordered_batches
from seq2expr.dnabert2.finetune import autocast
from seq2expr.errors import InputError
from seq2expr.predictions import make_predictions

logger = logging.getLogger(__name__)

MODEL_NAME = "DNABERT-2_probe"
POOLINGS = ("mean", "cls")
METADATA_KEY = "seq2expr"
#: Ridge penalties tried; on standardised features of a 768-wide model the best lies well inside.
DEFAULT_ALPHAS = tuple(float(alpha) for alpha in np.logspace(-2, 6, 17))


def pooled(hidden: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean over real tokens without `[CLS]` (first) and `[SEP]` (last real), and the `[CLS]` state.

    A window of only `[CLS] [SEP]` has no real token; its mean is zero.
    """
    mask = attention_mask.to(hidden.dtype).clone()
    last = attention_mask.sum(dim=1).long() - 1
    mask[:, 0] = 0
    mask[torch.arange(len(mask), device=mask.device), last] = 0
    counts = mask.sum(dim=1, keepdim=True).clamp(min=1)
    return {"mean": (hidden * mask[..., None]).sum(dim=1) / counts, "cls": hidden[:, 0]}


@torch.no_grad()
def embed(
    model: nn.Module, split: EncodedSplit, batch_size: int, device: torch.device, pad_id: int
) -> dict[str, np.ndarray]:
    """Every pooling of every window's last hidden layer, float32, in the split's order."""
    model.eval()
    features: dict[str, np.ndarray] = {}
    for indices in ordered_batches(split.lengths, batch_size):
        batch = collate(split, indices, pad_id).to(device)
        with autocast(device):
            hidden = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        for name, values in pooled(hidden.float(), batch.attention_mask).items():
            if name not in features:
                features[name] = np.empty((len(split), values.shape[1]), dtype=np.float32)
            features[name][indices] = values.cpu().numpy()
    return features


def check_poolings(poolings: Sequence[str]) -> None:
    """Known pooling names, at least one (checked before the model is loaded)."""
    unknown = [name for name in poolings if name not in POOLINGS]
    if unknown or not poolings:
        raise InputError(f"--pooling must name one or more of {', '.join(POOLINGS)}, got {', '.join(poolings)!r}")


def feature_matrix(embeddings: dict[str, np.ndarray], poolings: Sequence[str]) -> np.ndarray:
    """The chosen poolings side by side (e.g. mean then cls: 2 × hidden size columns)."""
    check_poolings(poolings)
    return np.concatenate([embeddings[name] for name in poolings], axis=1).astype(np.float64)


@dataclass(frozen=True)
class ProbeResult:
    predictions: pd.DataFrame
    alpha: float
    n_features: int
    n_fit: int


def fit_probe(
    table: pd.DataFrame, features: np.ndarray, alphas: Sequence[float] = DEFAULT_ALPHAS
) -> tuple[ProbeResult, Pipeline]:
    """Standardise, fit ridge with a leave-one-out-chosen penalty on train + val, predict every gene."""
    fit = table["split"].isin(["train", "val"]).to_numpy()
    if fit.sum() < 3:
        raise InputError(f"only {int(fit.sum())} train/val gene(s); the probe needs at least 3")
    target = table["target"].to_numpy(dtype=np.float64)
    probe = make_pipeline(StandardScaler(), RidgeCV(alphas=list(alphas)))
    probe.fit(features[fit], target[fit])
    alpha = float(probe[-1].alpha_)
    if alpha in (min(alphas), max(alphas)):
        logger.warning("the chosen ridge penalty %g is at the edge of the grid; widen --alphas", alpha)
    predicted = probe.predict(features)
    predictions = make_predictions(table["gene_id"], table["split"], target, predicted, MODEL_NAME)
    return ProbeResult(predictions, alpha, features.shape[1], int(fit.sum())), probe


def save_embeddings(path: Path, gene_ids: Sequence[str], embeddings: dict[str, np.ndarray], model: str) -> None:
    """One safetensors file: a (genes, hidden) float32 tensor per pooling; gene ids and source (JSON) in its metadata.

    safetensors (unlike `np.savez`, whose zip entries carry the time) gives byte-identical re-runs.
    """
    # One metadata entry: safetensors keeps metadata in a hash map, so several keys come out in any order.
    about = {"gene_ids": list(gene_ids), "model": model, "poolings": list(embeddings)}
    metadata = {METADATA_KEY: json.dumps(about, sort_keys=True)}
    save_file({name: np.ascontiguousarray(values) for name, values in embeddings.items()}, str(path), metadata)


def load_embeddings(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Gene ids and the pooled embeddings written by `save_embeddings`."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise InputError(f"not an embeddings file ({error})", path) from None
    try:
        gene_ids = json.loads(metadata[METADATA_KEY])["gene_ids"]
    except (KeyError, ValueError, TypeError):
        expected = "no gene ids in the file's metadata; expected embeddings written by probe_dnabert2.py"
        raise InputError(expected, path) from None
    return list(gene_ids), tensors
