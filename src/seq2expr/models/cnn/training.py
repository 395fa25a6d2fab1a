"""Train the promoter CNN from scratch on a dataset's train split, early-stopped on its val split.

Recipe: MSE on the standardised target (mean and SD of the training genes, undone for the
predictions), AdamW with weight decay on the weight matrices only (biases and batch-norm
parameters exempt), gradient norm clipped at 1.0, one evaluation on val per epoch, the epoch
with the lowest val MSE kept, stop after `patience` epochs without a better one. bf16 autocast
on CUDA; on the CPU, deterministic kernels and a seeded batch order make re-runs with the same
seed and thread count byte-identical. The loop, the early stopping, the checkpoints for an
exact resume and the carving of a val split are the training core's (`seq2expr.models.training.core`), the
same as DNABERT-2's, so both models stop on the same kind of evidence.

With `refit`, the early-stopped run only chooses the number of steps N (its best step on val); a
second run from the same initial weights and seed trains on train + val for exactly N steps (the
learning rate is constant, so the schedule is the same) and predicts (`seq2expr.models.training.refit`). With
`search`, the declared search of `seq2expr.models.cnn.search` chooses the recipe on val first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional

from seq2expr.errors import InputError
from seq2expr.io.predictions import make_predictions
from seq2expr.io.tables import table_bytes
from seq2expr.models.cnn.model import PromoterCnn, encode, one_hot
from seq2expr.models.cnn.options import CnnConfig, CnnOptions
from seq2expr.models.roster import CNN
from seq2expr.models.training.core import (
    LOG_COLUMNS,
    autocast,
    build_optimizer,
    carve_validation,
    checked_table,
    constant_schedule,
    regression_metrics,
)
from seq2expr.models.training.loop import (
    LoopSettings,
    Trainer,
    checkpoint_folder,
    fit_early_stopped,
    initial_weights,
    refit_settings,
)
from seq2expr.models.training.outputs import Curves
from seq2expr.models.training.refit import FitRecord

logger = logging.getLogger(__name__)

CURVES = Curves(
    "cnn_training_curves", CNN, "cnn_training_curves_mqc.yaml", "MSE, standardised target (SD²)", standardised=True
)


@dataclass(frozen=True)
class CnnResult:
    """The trained model (best epoch's weights), its log, predictions and target scaling.

    `predictions` is None when the run stopped before its end as asked (`stop_after_steps`); `fit`
    says which weights predicted (the early-stopped run's best, or a refit on train + val).
    """

    model: PromoterCnn
    log: pd.DataFrame
    predictions: pd.DataFrame | None
    target_mean: float
    target_sd: float
    best_epoch: int
    stop_reason: str
    stopped_early: bool
    fit: FitRecord | None = None
    #: the refit's own log (train loss by step), None without a refit
    refit_log: pd.DataFrame | None = None


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


@dataclass
class CnnTask:
    """The CNN's part of the training loop: seeded window batches, the MSE gradient, val metrics."""

    model: PromoterCnn
    codes: np.ndarray  # train windows
    labels: np.ndarray  # their standardised targets
    val_codes: np.ndarray
    val_labels: np.ndarray
    options: CnnOptions
    device: torch.device

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """One pass over the training windows in a seeded order, each batch sorted.

        Batch norm needs two windows: a leftover single window is dropped (it is seen in other epochs).
        """
        order = np.random.default_rng([self.options.seed, epoch + 1]).permutation(len(self.codes))
        size = self.options.batch_size
        batches = [np.sort(order[start : start + size]) for start in range(0, len(order), size)]
        return [batch for batch in batches if len(batch) >= 2]

    def backward(self, indices: np.ndarray) -> tuple[float, int]:
        batch = one_hot(torch.from_numpy(self.codes[indices]).to(self.device))
        target = torch.from_numpy(self.labels[indices]).to(self.device)
        with autocast(self.device):
            output = self.model(batch)
        loss = functional.mse_loss(output.float(), target)
        loss.backward()
        return float(loss.detach()), len(indices)

    def evaluate(self) -> tuple[float, float]:
        predicted = predict(self.model, self.val_codes, self.options.eval_batch_size, self.device)
        return regression_metrics(self.val_labels.astype(np.float64), predicted)


def table_fingerprint(table: pd.DataFrame) -> str:
    """SHA-256 of what the CNN learns from (genes, splits, targets, windows): a checkpoint resumes only on the same."""
    return hashlib.sha256(table_bytes(table[["gene_id", "split", "target", "sequence"]])).hexdigest()


def train_cnn(
    table: pd.DataFrame,
    path: str,
    config: CnnConfig,
    options: CnnOptions,
    device: torch.device,
    checkpoint_dir: Path | None = None,
    stop_after_steps: int | None = None,
    refit: bool = False,
    fold: int = 0,
    repeat: int = 0,
) -> CnnResult:
    """Train on train, stop on val, predict every gene of the dataset (carved val genes reported as val).
    `table` is one fold's view of the dataset; `fold` and `repeat` go into the predictions and fit.json.

    With `refit`, a second run from the same initial weights and seed trains on train + val for the
    first run's best number of steps, and predicts instead (never a test gene in either run).

    With `checkpoint_dir`, the run resumes from the checkpoint there (after a kill, or a planned stop
    after `stop_after_steps`) and leaves it there; without, it keeps its best weights in a
    temporary folder.
    """
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
    initial = initial_weights(model)
    optimizer = build_optimizer(model, options.learning_rate, options.weight_decay)
    logger.info(
        "CNN: %d parameters, %d train / %d val windows of %d bp, up to %d epochs on %s",
        sum(p.numel() for p in model.parameters()),
        len(train),
        len(val),
        codes.shape[1],
        options.epochs,
        device,
    )
    task = CnnTask(model, codes[train], labels[train], codes[val], labels[val], options, device)
    settings = LoopSettings(options.epochs, options.patience, options.max_grad_norm, stop_after_steps=stop_after_steps)
    fingerprint: dict[str, Any] = {
        "options": dataclasses.asdict(options),
        "config": config.to_dict(),
        "table_sha256": table_fingerprint(table),
    }
    fitted = np.concatenate([train, val])

    def refit_trainer(steps: int) -> Trainer:
        refit_task = CnnTask(model, codes[fitted], labels[fitted], codes[val], labels[val], options, device)
        optimizer = build_optimizer(model, options.learning_rate, options.weight_decay)
        fingerprinted = {**fingerprint, "refit_steps": steps}
        return Trainer(
            refit_task, optimizer, constant_schedule, refit_settings(settings, steps), checkpoints.refit, fingerprinted
        )

    with checkpoint_folder(checkpoint_dir) as checkpoints:
        trainer = Trainer(task, optimizer, constant_schedule, settings, checkpoints, fingerprint)
        stopped = fit_early_stopped(
            trainer, model, initial, options.seed, LOG_COLUMNS, refit_trainer if refit else None
        )
    state = stopped.state
    best_epoch = round(state.best_step / trainer.steps_per_epoch) if state.best_step > 0 else 0
    if not state.finished:
        return CnnResult(model, stopped.log, None, mean, sd, best_epoch, "stopped as asked", False)
    schedule = f"constant learning rate {options.learning_rate:g}"
    fit = FitRecord(
        CNN,
        refit,
        state.best_step,
        len(fitted) if refit else len(train),
        len(val),
        state.best_step,
        schedule,
        fold,
        repeat,
    )
    if refit:
        logger.info("Refit on %d train + val genes for %d steps: its predictions are written", len(fitted), fit.steps)
    predicted = predict(model, codes, options.eval_batch_size, device) * sd + mean
    predictions = make_predictions(table["gene_id"], table["split"], target, predicted, CNN, fold, repeat)
    return CnnResult(
        model,
        stopped.log,
        predictions,
        mean,
        sd,
        best_epoch,
        state.stop_reason,
        state.stopped_early,
        fit,
        stopped.refit_log,
    )


# --------------------------------------------------------------------------------------------
# the command
