"""Fine-tune a DNABERT-2 regressor on a dataset split: the study's recipe as a plain training loop.

The recipe (spec: the study's `train.py` and logged TrainingArguments): MSE on the pooled `[CLS]`,
AdamW (β 0.9/0.999, ε 1e-8, weight decay 0.01 except biases and LayerNorm weights), gradient
norm clipped at 1.0, linear decay after 50 warm-up steps, 32 sequences per optimiser step,
evaluation on val every 200 steps and at each epoch end, the checkpoint with the lowest val
MSE kept. Added here: bf16 autocast on CUDA, length-bucketed batches, gradient accumulation,
early stopping and an exact resume after a kill (model, optimizer, scheduler, RNG, batch
position and best-so-far are checkpointed atomically).

The loop works with any module whose forward takes (input_ids, attention_mask, labels) and
returns an object with `loss` and `logits`, so it does not depend on how the model is built.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_model, save_model
from torch import nn
from transformers import PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from seq2expr.dnabert2.batching import (
    EncodedSplit,
    collate,
    encode_split,
    epoch_batches,
    micro_batches,
    ordered_batches,
)
from seq2expr.dnabert2.options import FinetuneOptions
from seq2expr.dnabert2.tokenizer import check_sequences
from seq2expr.errors import InputError
from seq2expr.predictions import make_predictions
from seq2expr.tables import honour_umask

logger = logging.getLogger(__name__)

MODEL_NAME = "DNABERT-2"
LOG_COLUMNS = ["step", "epoch", "train_loss", "val_loss", "val_pearson", "learning_rate", "tokens_per_s"]
CURVES_ID = "dnabert2_training_curves"
CHECKPOINT_FILE = "last.pt"
BEST_FILE = "best.safetensors"


@dataclass
class TrainState:
    """Where a run stands: all of it goes into the checkpoint so that a resumed run continues exactly."""

    step: int = 0
    epoch: int = 0
    batches_done: int = 0
    best_val_loss: float = math.inf
    best_step: int = -1
    evals_without_improvement: int = 0
    finished: bool = False
    stop_reason: str = ""
    # running sums since the last training_log row
    loss_sum: float = 0.0
    loss_steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    log: list[dict[str, float]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# data


def checked_table(table: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """The table with upper-cased sequences, or InputError naming the gene and line of a bad one.

    DNABERT-2's vocabulary is ACGT (N becomes [UNK]); anything else would silently be [UNK].
    """
    names = [f"gene {gene} (line {row + 2})" for row, gene in enumerate(table["gene_id"])]
    return table.assign(sequence=check_sequences(table["sequence"], names, path))


def carve_validation(table: pd.DataFrame, fraction: float, seed: int, path: Path | str) -> tuple[pd.DataFrame, int]:
    """Give the run a val split: the dataset's own, else a seeded random `fraction` of train.

    Returns the table (with carved genes relabelled `val`, since the model never trains on
    them) and how many genes were carved (0 when the dataset has a val split).
    """
    n_train = int((table["split"] == "train").sum())
    if n_train == 0:
        raise InputError("the train split is empty; DNABERT-2 needs training genes", path)
    if (table["split"] == "val").any():
        return table, 0
    if n_train < 2:
        raise InputError("the dataset has no val split and too few train genes (1) to carve one", path)
    n_val = min(max(1, round(fraction * n_train)), n_train - 1)
    train_rows = np.flatnonzero((table["split"] == "train").to_numpy())
    chosen = np.random.default_rng(seed).choice(train_rows, size=n_val, replace=False)
    split = table["split"].to_numpy(copy=True)
    split[chosen] = "val"
    return table.assign(split=split), n_val


# --------------------------------------------------------------------------------------------
# model, optimiser, device


def resolve_device(choice: str) -> torch.device:
    """`auto` takes the GPU when there is one; asking for CUDA without one is an input error."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was requested but PyTorch sees no CUDA device; use --device cpu or auto")
    if choice not in ("cpu", "cuda"):
        raise InputError(f"--device must be auto, cpu or cuda, got {choice!r}")
    return torch.device(choice)


def autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 mixed precision on CUDA (no loss scaling needed); plain float32 on the CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def build_optimizer(model: nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with weight decay on weight matrices and embeddings only, as transformers' Trainer does.

    Biases and LayerNorm parameters are exempt (found by module type, so the model's
    lower-case `mlp.layernorm` is covered as well as `LayerNorm`).
    """
    exempt: set[int] = set()
    for module in model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            if isinstance(module, nn.LayerNorm) or name == "bias":
                exempt.add(id(parameter))
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in trainable if id(p) not in exempt], "weight_decay": weight_decay},
        {"params": [p for p in trainable if id(p) in exempt], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)


def enable_gradient_checkpointing(model: nn.Module) -> None:
    """Trade compute for memory on long inputs; the model must support it."""
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise InputError(f"{type(model).__name__} does not support --gradient-checkpointing")
    model.gradient_checkpointing_enable()  # type: ignore[operator]


# --------------------------------------------------------------------------------------------
# prediction and metrics


@torch.no_grad()
def predict(model: nn.Module, split: EncodedSplit, batch_size: int, device: torch.device, pad_id: int) -> np.ndarray:
    """Predictions in the split's own order (computed in length order to minimise padding)."""
    model.eval()
    predictions = np.empty(len(split), dtype=np.float64)
    for indices in ordered_batches(split.lengths, batch_size):
        batch = collate(split, indices, pad_id).to(device)
        with autocast(device):
            output = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        predictions[indices] = output.logits.float().reshape(-1).cpu().numpy()
    return predictions


def regression_metrics(observed: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """MSE and Pearson r (NaN when either side is constant, as an untrained head can be)."""
    mse = float(np.mean((predicted - observed) ** 2))
    if len(observed) < 2 or np.std(observed) == 0 or np.std(predicted) == 0:
        return mse, math.nan
    return mse, float(np.corrcoef(observed, predicted)[0, 1])


# --------------------------------------------------------------------------------------------
# checkpoints


class Checkpoints:
    """The resumable state (`last.pt`) and the best weights so far (`best.safetensors`) of one run.

    Each file is written under a temporary name and renamed into place, so a kill leaves the
    previous complete file. The best weights are written before the state that refers to them.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def last(self) -> Path:
        return self.directory / CHECKPOINT_FILE

    @property
    def best(self) -> Path:
        return self.directory / BEST_FILE

    def exists(self) -> bool:
        return self.last.is_file()

    def save_best(self, model: nn.Module) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.best.with_name(self.best.name + ".tmp")
        save_model(model, str(temporary))
        honour_umask(temporary)
        os.replace(temporary, self.best)

    def load_best(self, model: nn.Module) -> None:
        if not self.best.is_file():
            raise InputError("no best checkpoint was saved (no evaluation ran)", self.best)
        load_model(model, str(self.best), device=str(next(model.parameters()).device))

    def save(self, payload: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.last.with_name(self.last.name + ".tmp")
        torch.save(payload, temporary)
        os.replace(temporary, self.last)

    def remove(self) -> None:
        """Delete this run's files (and the folder if nothing else is in it) once the outputs are written."""
        for path in (self.last, self.best):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.directory.rmdir()

    def load(self) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = torch.load(self.last, map_location="cpu", weights_only=True)
        except Exception as error:  # truncated, or not ours; torch's own message spans many lines
            raise InputError(
                f"cannot read the training checkpoint ({type(error).__name__}: not a complete checkpoint of this "
                "command); delete it to start afresh",
                self.last,
            ) from None
        return payload


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------------------------
# the loop


@dataclass
class TrainingRun:
    """One fine-tuning run: call `run()`, then `load_best()` before predicting."""

    model: nn.Module
    train: EncodedSplit
    val: EncodedSplit
    options: FinetuneOptions
    device: torch.device
    pad_id: int
    checkpoints: Checkpoints
    fingerprint: dict[str, Any]
    state: TrainState = field(default_factory=TrainState)

    def __post_init__(self) -> None:
        self.model.to(self.device)
        if self.options.gradient_checkpointing:
            enable_gradient_checkpointing(self.model)
        self.steps_per_epoch = math.ceil(len(self.train) / self.options.global_batch_size)
        self.total_steps = self.steps_per_epoch * self.options.epochs
        self.optimizer = build_optimizer(self.model, self.options.learning_rate, self.options.weight_decay)
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, self.options.warmup_steps, self.total_steps)

    # ---- checkpoint round trip

    def save_checkpoint(self) -> None:
        self.checkpoints.save(
            {
                "fingerprint": self.fingerprint,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": _rng_state(),
                "state": dataclasses.asdict(self.state),
            }
        )

    def resume(self) -> bool:
        """Continue from the checkpoint when there is one; refuse one written by a different run."""
        if not self.checkpoints.exists():
            return False
        payload = self.checkpoints.load()
        if payload.get("fingerprint") != self.fingerprint:
            theirs = payload.get("fingerprint") or {}
            differing = sorted(
                k for k in set(theirs) | set(self.fingerprint) if theirs.get(k) != self.fingerprint.get(k)
            )
            raise InputError(
                "the checkpoint belongs to a run with different "
                + ", ".join(differing)
                + "; use another --outdir/--checkpoint-dir or delete it to start afresh",
                self.checkpoints.last,
            )
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        _set_rng_state(payload["rng"])
        self.state = TrainState(**payload["state"])
        logger.info(
            "Resumed from %s at step %d (epoch %d, %d batches into it); best val MSE so far %.4g at step %d",
            self.checkpoints.last,
            self.state.step,
            self.state.epoch,
            self.state.batches_done,
            self.state.best_val_loss,
            self.state.best_step,
        )
        return True

    # ---- one optimiser step

    def train_step(self, indices: np.ndarray) -> tuple[float, int]:
        """Accumulate the gradient of one global batch over micro-batches and take one step.

        Each micro-batch's mean loss is weighted by its share of the global batch, so the
        gradient is that of the global batch's mean loss whatever the micro-batch size.
        """
        self.model.train()
        total_loss = 0.0
        n_tokens = 0
        for part in micro_batches(indices, self.options.batch_size):
            batch = collate(self.train, part, self.pad_id).to(self.device)
            with autocast(self.device):
                output = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels)
            share = len(part) / len(indices)
            (output.loss.float() * share).backward()
            total_loss += float(output.loss.detach().float()) * share
            n_tokens += batch.n_tokens
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.options.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total_loss, n_tokens

    # ---- evaluation, logging, stopping

    def evaluate(self) -> tuple[float, float]:
        predicted = predict(self.model, self.val, self.options.eval_batch_size, self.device, self.pad_id)
        return regression_metrics(self.val.labels.astype(np.float64), predicted)

    def log_row(self, learning_rate: float, val: tuple[float, float] | None) -> None:
        """Append a training_log row with the mean training loss since the previous row."""
        state = self.state
        state.log.append(
            {
                "step": state.step,
                "epoch": round(state.step / self.steps_per_epoch, 4),
                "train_loss": state.loss_sum / state.loss_steps if state.loss_steps else math.nan,
                "val_loss": val[0] if val else math.nan,
                "val_pearson": val[1] if val else math.nan,
                "learning_rate": learning_rate,
                "tokens_per_s": state.tokens / state.seconds if state.seconds > 0 else math.nan,
            }
        )
        state.loss_sum, state.loss_steps, state.tokens, state.seconds = 0.0, 0, 0, 0.0

    def after_evaluation(self, val_loss: float) -> None:
        """Keep the best weights by val MSE and count evaluations without improvement."""
        state = self.state
        if val_loss < state.best_val_loss:
            state.best_val_loss, state.best_step, state.evals_without_improvement = val_loss, state.step, 0
            self.checkpoints.save_best(self.model)
        else:
            state.evals_without_improvement += 1
            if self.options.patience and state.evals_without_improvement >= self.options.patience:
                state.finished = True
                state.stop_reason = (
                    f"early stopping: val MSE did not improve for {state.evals_without_improvement} evaluations"
                )

    def progress_line(self, started: float, steps_at_start: int, learning_rate: float) -> None:
        state = self.state
        done = state.step - steps_at_start
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (self.total_steps - state.step) if done else math.nan
        last = state.log[-1] if state.log else {}
        logger.info(
            "step %d/%d (epoch %.2f): train loss %.4g, lr %.3g, %.0f tokens/s, ETA %s",
            state.step,
            self.total_steps,
            state.step / self.steps_per_epoch,
            last.get("train_loss", math.nan),
            learning_rate,
            last.get("tokens_per_s", math.nan),
            format_duration(eta),
        )

    def batches_to_run(self) -> Iterator[tuple[np.ndarray, bool]]:
        """The remaining global batches of the run, each with whether it closes its epoch."""
        while self.state.epoch < self.options.epochs:
            batches = epoch_batches(
                self.train.lengths, self.options.global_batch_size, self.options.seed, self.state.epoch
            )
            for number in range(self.state.batches_done, len(batches)):
                yield batches[number], number == len(batches) - 1

    def run(self) -> TrainState:
        """Train until the epochs are done, early stopping, or `stop_after_steps` (a planned interruption)."""
        if self.state.finished:
            logger.info("The checkpoint is of a finished run (%s); nothing left to train", self.state.stop_reason)
            return self.state
        state, options = self.state, self.options
        if options.stop_after_steps is not None and state.step >= options.stop_after_steps:
            logger.info(
                "Already at step %d, --stop-after-steps %d: nothing to do", state.step, options.stop_after_steps
            )
            return state
        logger.info(
            "Training %d steps (%d epochs of %d steps; %d sequences per step = %d × %d accumulated), %d val sequences",
            self.total_steps,
            options.epochs,
            self.steps_per_epoch,
            options.global_batch_size,
            options.batch_size,
            options.grad_accum,
            len(self.val),
        )
        started, steps_at_start = time.perf_counter(), state.step
        for indices, closes_epoch in self.batches_to_run():
            step_started = time.perf_counter()
            learning_rate = self.scheduler.get_last_lr()[0]
            loss, n_tokens = self.train_step(indices)
            if not math.isfinite(loss):
                raise RuntimeError(f"training loss became {loss} at step {state.step + 1}; lower --learning-rate")
            state.step += 1
            state.batches_done += 1
            if closes_epoch:
                state.epoch, state.batches_done = state.epoch + 1, 0
            state.loss_sum, state.loss_steps = state.loss_sum + loss, state.loss_steps + 1
            state.tokens, state.seconds = state.tokens + n_tokens, state.seconds + time.perf_counter() - step_started
            evaluate = closes_epoch or state.step % options.eval_steps == 0
            if evaluate:
                val_loss, val_pearson = self.evaluate()
                self.log_row(learning_rate, (val_loss, val_pearson))
                logger.info("step %d: val MSE %.4g, val Pearson r %.3f", state.step, val_loss, val_pearson)
                self.after_evaluation(val_loss)
            elif state.step % options.logging_steps == 0:
                self.log_row(learning_rate, None)
            if evaluate or state.step % options.logging_steps == 0:
                self.progress_line(started, steps_at_start, learning_rate)
            if state.step == self.total_steps:
                state.finished, state.stop_reason = True, f"all {options.epochs} epochs done"
            stop_now = options.stop_after_steps is not None and state.step >= options.stop_after_steps
            if evaluate or state.finished or stop_now:
                self.save_checkpoint()
            if state.finished:
                break
            if stop_now:
                logger.info("Stopped at step %d as asked; run again with the same options to continue", state.step)
                return state
        logger.info("Training finished at step %d: %s", state.step, state.stop_reason)
        return state

    def load_best(self) -> None:
        """Put the best weights (lowest val MSE) into the model."""
        self.checkpoints.load_best(self.model)
        logger.info("Best checkpoint: step %d, val MSE %.4g", self.state.best_step, self.state.best_val_loss)


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


# --------------------------------------------------------------------------------------------
# outputs


def training_log_table(state: TrainState) -> pd.DataFrame:
    return pd.DataFrame(state.log, columns=LOG_COLUMNS)


def _significant(value: float) -> float:
    """The 9 significant digits that training_log.tsv carries, so both files show the same numbers."""
    return float(f"{value:.9g}")


def training_curves(log: pd.DataFrame, curves_id: str = CURVES_ID, model: str = MODEL_NAME) -> dict[str, Any]:
    """MultiQC custom content: train and val loss against the optimiser step, one line graph.

    Any model whose log has step, train_loss and val_loss columns (the CNN's too) draws its curves here.
    """
    train = log.dropna(subset=["train_loss"])
    val = log.dropna(subset=["val_loss"])
    return {
        "id": curves_id,
        "section_name": f"{model} training curves",
        "description": f"Mean-squared error of the {model} regressor on the training batches (dropout on) and on "
        "the validation genes, by optimiser step. The predictions come from the step with the lowest "
        "validation loss.",
        "plot_type": "linegraph",
        "pconfig": {
            "id": f"{curves_id}_plot",
            "title": f"{model}: training and validation loss",
            "xlab": "optimiser step",
            "ylab": "MSE",
            "showlegend": True,  # which line is validation
        },
        "data": {
            "train loss": {int(s): _significant(v) for s, v in zip(train["step"], train["train_loss"], strict=True)},
            "val loss": {int(s): _significant(v) for s, v in zip(val["step"], val["val_loss"], strict=True)},
        },
    }


# --------------------------------------------------------------------------------------------
# a whole run


@dataclass(frozen=True)
class FinetuneResult:
    """What a run produced: predictions are None until training has finished."""

    state: TrainState
    log: pd.DataFrame
    predictions: pd.DataFrame | None


def run_fingerprint(options: FinetuneOptions, model_name: str, dataset_sha256: str) -> dict[str, Any]:
    """Identify a run so that a checkpoint is never resumed into a different one."""
    return {**options.trajectory(), "model": model_name, "dataset_sha256": dataset_sha256}


def encode_table(table: pd.DataFrame, tokenizer: PreTrainedTokenizerBase, max_tokens: int) -> EncodedSplit:
    """Tokenise a table's sequences with its targets as labels, saying how many were truncated."""
    encoded = encode_split(tokenizer, table["sequence"].tolist(), table["target"].tolist(), max_tokens)
    if encoded.n_truncated:
        logger.info(
            "%d of %d sequences are longer than %d tokens and were truncated at their 3' end",
            encoded.n_truncated,
            len(encoded),
            max_tokens,
        )
    return encoded


def finetune(
    table: pd.DataFrame,
    dataset_path: Path | str,
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    options: FinetuneOptions,
    device: torch.device,
    checkpoints: Checkpoints,
    fingerprint: dict[str, Any],
) -> FinetuneResult:
    """Fine-tune `model` on the dataset's train split, resuming from `checkpoints` when they exist.

    When training finishes (all epochs or early stopping), the best weights are loaded into
    `model` and it predicts every gene of the dataset; carved val genes are reported as `val`.
    """
    options.check()
    table = checked_table(table, dataset_path)
    table, n_carved = carve_validation(table, options.val_fraction, options.seed, dataset_path)
    if n_carved:
        logger.info(
            "The dataset has no val split: %d of %d train genes (--val-fraction %g, seed %d) are held out as val "
            "and reported as val in predictions.tsv",
            n_carved,
            n_carved + int((table["split"] == "train").sum()),
            options.val_fraction,
            options.seed,
        )
    if not (table["split"] == "test").any():
        logger.warning("The dataset has no test genes: predictions cover train and val only")
    if tokenizer.pad_token_id is None:
        raise InputError("the tokenizer has no [PAD] token")
    pad_id = int(tokenizer.pad_token_id)
    everything = encode_table(table, tokenizer, options.max_tokens)
    split = table["split"].to_numpy()
    train = everything.subset(np.flatnonzero(split == "train"))
    val = everything.subset(np.flatnonzero(split == "val"))
    training = TrainingRun(model, train, val, options, device, pad_id, checkpoints, fingerprint)
    training.resume()
    state = training.run()
    log = training_log_table(state)
    if not state.finished:
        return FinetuneResult(state, log, None)
    training.load_best()
    predicted = predict(model, everything, options.eval_batch_size, device, pad_id)
    predictions = make_predictions(table["gene_id"], table["split"], table["target"], predicted, MODEL_NAME)
    return FinetuneResult(state, log, predictions)
