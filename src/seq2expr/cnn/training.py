"""Train the promoter CNN from scratch on a dataset's train split, early-stopped on its val split.

Recipe: MSE on the standardised target (mean and SD of the training genes, undone for the
predictions), AdamW with weight decay, gradient norm clipped at 1.0, one evaluation on val per
epoch, the epoch with the lowest val MSE kept, stop after `patience` epochs without a better one.
bf16 autocast on CUDA; on the CPU, deterministic kernels and a seeded batch order make re-runs
with the same seed and thread count byte-identical. The val split is the dataset's own, or a
seeded share of train carved the same way as for DNABERT-2 (`carve_validation`), so both models
stop on the same kind of evidence.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional

from seq2expr.cnn.model import PromoterCnn, encode, one_hot
from seq2expr.cnn.options import CnnConfig, CnnOptions
from seq2expr.dnabert2.finetune import autocast, carve_validation, checked_table, regression_metrics
from seq2expr.errors import InputError
from seq2expr.predictions import make_predictions

logger = logging.getLogger(__name__)

MODEL_NAME = "CNN"
CURVES_ID = "cnn_training_curves"
LOG_COLUMNS = ["step", "epoch", "train_loss", "val_loss", "val_pearson", "learning_rate"]


@dataclass(frozen=True)
class CnnResult:
    """The trained model (best epoch's weights), its log, predictions and target scaling."""

    model: PromoterCnn
    log: pd.DataFrame
    predictions: pd.DataFrame
    target_mean: float
    target_sd: float
    best_epoch: int
    stop_reason: str


def window_codes(table: pd.DataFrame, path: str) -> np.ndarray:
    """Base codes of every window; all windows must be as long as the first (the model's positions)."""
    lengths = table["sequence"].str.len().to_numpy()
    odd = np.flatnonzero(lengths != lengths[0])
    if odd.size:
        row = int(odd[0])
        raise InputError(
            f"gene {table['gene_id'].iloc[row]}: window of {lengths[row]} bp, but the first is {lengths[0]} bp; "
            "the CNN needs windows of one length",
            path,
            row + 2,
        )
    return encode(table["sequence"].tolist())


def make_deterministic(seed: int, device: torch.device) -> None:
    """Seed torch and, on the CPU, ask for deterministic kernels (re-runs give the same bytes)."""
    torch.manual_seed(seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
        # Filling every new tensor with NaN (the default under determinism) costs an eighth of a step and
        # changes no result: each buffer the model reads is written first.
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]


@torch.no_grad()
def predict(model: PromoterCnn, codes: np.ndarray, batch_size: int, device: torch.device) -> np.ndarray:
    """Model output (standardised scale) for every window, in order."""
    model.eval()
    out = np.empty(len(codes), dtype=np.float64)
    for start in range(0, len(codes), batch_size):
        batch = one_hot(torch.from_numpy(codes[start : start + batch_size]).to(device))
        with autocast(device):
            out[start : start + batch_size] = model(batch).float().cpu().numpy()
    return out


def _train_epoch(
    model: PromoterCnn,
    optimizer: torch.optim.Optimizer,
    codes: np.ndarray,
    labels: np.ndarray,
    options: CnnOptions,
    epoch: int,
    device: torch.device,
) -> tuple[float, int]:
    """One pass over the training windows in a seeded order; returns the mean loss and the steps taken."""
    model.train()
    order = np.random.default_rng([options.seed, epoch]).permutation(len(codes))
    total, steps = 0.0, 0
    for start in range(0, len(order), options.batch_size):
        chosen = np.sort(order[start : start + options.batch_size])
        if len(chosen) < 2:  # batch norm needs two windows; one leftover window is seen next epoch
            continue
        batch = one_hot(torch.from_numpy(codes[chosen]).to(device))
        target = torch.from_numpy(labels[chosen]).to(device)
        with autocast(device):
            output = model(batch)
        loss = functional.mse_loss(output.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), options.max_grad_norm)
        optimizer.step()
        total, steps = total + float(loss.detach()), steps + 1
    return total / max(steps, 1), steps


def train_cnn(
    table: pd.DataFrame, path: str, config: CnnConfig, options: CnnOptions, device: torch.device
) -> CnnResult:
    """Train on train, stop on val, predict every gene of the dataset (carved val genes reported as val)."""
    options.check()
    table = checked_table(table, path)
    table, n_carved = carve_validation(table, options.val_fraction, options.seed, path)
    if n_carved:
        logger.info(
            "The dataset has no val split: %d train genes (--val-fraction %g) are held out as val",
            n_carved,
            options.val_fraction,
        )
    codes = window_codes(table, path)
    split = table["split"].to_numpy()
    train, val = np.flatnonzero(split == "train"), np.flatnonzero(split == "val")
    if len(train) < 2:
        raise InputError(f"the train split has {len(train)} gene(s); the CNN needs at least 2", path)
    target = table["target"].to_numpy(dtype=np.float64)
    mean, sd = float(target[train].mean()), float(target[train].std()) or 1.0
    labels = ((target - mean) / sd).astype(np.float32)

    make_deterministic(options.seed, device)
    model = PromoterCnn(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=options.weight_decay)
    logger.info(
        "CNN: %d parameters, %d train / %d val windows of %d bp, up to %d epochs on %s",
        sum(p.numel() for p in model.parameters()),
        len(train),
        len(val),
        codes.shape[1],
        options.epochs,
        device,
    )
    rows: list[dict[str, float]] = []
    best_loss, best_epoch, best_state, waited, step = math.inf, 0, copy.deepcopy(model.state_dict()), 0, 0
    stop_reason = f"all {options.epochs} epochs done"
    for epoch in range(1, options.epochs + 1):
        started = time.perf_counter()
        train_loss, steps = _train_epoch(model, optimizer, codes[train], labels[train], options, epoch, device)
        step += steps
        val_predicted = predict(model, codes[val], options.eval_batch_size, device)
        val_loss, val_pearson = regression_metrics(labels[val].astype(np.float64), val_predicted)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "step": step,
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_pearson": val_pearson,
                "learning_rate": options.learning_rate,
            }
        )
        logger.info(
            "epoch %d: train MSE %.4f, val MSE %.4f, val r %.3f (%.1f s)",
            epoch,
            train_loss,
            val_loss,
            val_pearson,
            seconds,
        )
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if options.patience and waited >= options.patience:
                stop_reason = f"val MSE did not improve for {options.patience} epochs"
                break
    logger.info("Training stopped after epoch %d (%s); best epoch %d", epoch, stop_reason, best_epoch)
    model.load_state_dict(best_state)
    predicted = predict(model, codes, options.eval_batch_size, device) * sd + mean
    predictions = make_predictions(table["gene_id"], table["split"], target, predicted, MODEL_NAME)
    log = pd.DataFrame(rows, columns=LOG_COLUMNS)
    return CnnResult(model, log, predictions, mean, sd, best_epoch, stop_reason)
