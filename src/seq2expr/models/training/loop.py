"""The training loop of the training core (`seq2expr.models.training.core`), shared by DNABERT-2 and the CNN.

`Trainer` drives a `TrainingTask` (the model-specific part: its batches, the gradient of one
step, its val metrics) through its epochs: each step clips the gradient norm and steps the
optimiser and the schedule; val is evaluated every `eval_steps` and at each epoch end; the
weights with the lowest val MSE are kept and `patience` evaluations without a lower one stop the
run (early stopping, written once for both models); a non-finite loss stops it with a hint.
`Checkpoints` make a killed or planned-stopped run resume exactly: weights, optimiser,
scheduler, RNG, batch position, best-so-far and the log, written atomically, and refused when
they belong to a run with other settings. A resumed early-stopped run trains no further.
A refit (`LoopSettings.total_steps`, `refit_settings`) trains exactly a given number of steps
without evaluating, from the initial weights and seed (`initial_weights`, `restart_from`); its
checkpoints live in a `refit/` folder inside the run's (`Checkpoints.refit`).

Why one file of ~440 lines: the loop, its checkpoints and the refit share one state (step, best
weights, RNG, log); split apart, an exact resume would have to pass that state across modules.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_model, save_model
from torch import nn

from seq2expr.errors import InputError
from seq2expr.io.tables import honour_umask
from seq2expr.models.training.core import Schedule, check_finite

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "last.pt"
BEST_FILE = "best.safetensors"
REFIT_FOLDER = "refit"


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

    @property
    def refit(self) -> Checkpoints:
        """The checkpoints of this run's refit on train + val (a folder inside this one)."""
        return Checkpoints(self.directory / REFIT_FOLDER)

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
        """Delete this run's files and its refit's (and the folder if nothing else is in it) after the outputs."""
        if self.directory.name != REFIT_FOLDER:
            self.refit.remove()
        for path in (self.last, self.best):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.directory.rmdir()

    def load(self, fingerprint: dict[str, Any]) -> dict[str, Any]:
        """The checkpoint's payload; refuses an unreadable one and one written by a different run."""
        try:
            payload: dict[str, Any] = torch.load(self.last, map_location="cpu", weights_only=True)
        except Exception as error:  # truncated, or not ours; torch's own message spans many lines
            raise InputError(
                f"cannot read the training checkpoint ({type(error).__name__}: not a complete checkpoint of this "
                "command); delete it to start afresh",
                self.last,
            ) from None
        theirs = payload.get("fingerprint") or {}
        if theirs != fingerprint:
            differing = sorted(k for k in set(theirs) | set(fingerprint) if theirs.get(k) != fingerprint.get(k))
            raise InputError(
                "the checkpoint belongs to a run with different "
                + ", ".join(differing)
                + "; use another --outdir/--checkpoint-dir or delete it to start afresh",
                self.last,
            )
        return payload


@contextlib.contextmanager
def checkpoint_folder(directory: Path | None) -> Iterator[Checkpoints]:
    """`directory`'s checkpoints, or a temporary folder's for a run that is not meant to resume."""
    if directory is not None:
        yield Checkpoints(directory)
        return
    with tempfile.TemporaryDirectory(prefix="seq2expr_training_") as temporary:
        yield Checkpoints(Path(temporary))


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


class TrainingTask(Protocol):
    """What a model brings to the loop: its batches, its gradient for one step, its val metrics."""

    @property
    def model(self) -> nn.Module:
        """The module being trained."""
        ...

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """Indices of every optimiser step's examples in epoch `epoch` (from 0), a pure function of it."""
        ...

    def backward(self, indices: np.ndarray) -> tuple[float, int]:
        """Forward and backward pass of one step's examples: its mean loss and how many items it read."""
        ...

    def evaluate(self) -> tuple[float, float]:
        """Val MSE and Pearson r of the model as it is now."""
        ...


@dataclass(frozen=True)
class LoopSettings:
    """When the loop evaluates, logs and stops; `None` steps mean: at the end of each epoch only."""

    epochs: int
    patience: int
    max_grad_norm: float
    eval_steps: int | None = None
    logging_steps: int | None = None
    stop_after_steps: int | None = None
    #: name of the log column of items read per second (e.g. tokens_per_s), or None for no such column
    throughput: str | None = None
    #: train exactly this many steps and never evaluate (a refit on train + val); None: `epochs` epochs
    total_steps: int | None = None


def refit_settings(settings: LoopSettings, steps: int) -> LoopSettings:
    """The loop of a refit: exactly `steps` optimiser steps, no evaluation, no early stopping, not interrupted."""
    if steps < 1:
        raise InputError(f"a refit needs at least one optimiser step, got {steps}")
    return dataclasses.replace(settings, total_steps=steps, patience=0, eval_steps=None, stop_after_steps=None)


def initial_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the model's weights before training, for a refit that starts from the same ones."""
    return {name: value.detach().to("cpu", copy=True) for name, value in model.state_dict().items()}


def restart_from(model: nn.Module, weights: dict[str, torch.Tensor], seed: int) -> None:
    """Put the initial weights back and reseed torch (dropout, any draw) as at the first run's start."""
    model.load_state_dict(weights)
    torch.manual_seed(seed)


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
    stopped_early: bool = False
    stop_reason: str = ""
    # running sums since the last training_log row
    loss_sum: float = 0.0
    loss_steps: int = 0
    items: int = 0
    seconds: float = 0.0
    log: list[dict[str, float]] = field(default_factory=list)


def _every(step: int, period: int | None) -> bool:
    return period is not None and step % period == 0


class Trainer:
    """One run of a `TrainingTask`: call `run()`, then `load_best()` before predicting.

    Each step accumulates the task's gradient, clips its norm, steps the optimiser and the
    schedule. Val is evaluated every `eval_steps` and at each epoch end; the weights with the
    lowest val MSE are kept, and `patience` evaluations without a lower one stop the run.
    """

    def __init__(
        self,
        task: TrainingTask,
        optimizer: torch.optim.Optimizer,
        schedule: Schedule,
        settings: LoopSettings,
        checkpoints: Checkpoints,
        fingerprint: dict[str, Any],
    ) -> None:
        self.task, self.model, self.optimizer, self.settings = task, task.model, optimizer, settings
        self.checkpoints, self.fingerprint = checkpoints, fingerprint
        self.steps_per_epoch = len(task.epoch_batches(0))
        if self.steps_per_epoch == 0:
            raise InputError("too few training examples for one optimiser step")
        if settings.total_steps is None:
            self.epochs, self.total_steps = settings.epochs, self.steps_per_epoch * settings.epochs
        else:
            self.epochs, self.total_steps = math.ceil(settings.total_steps / self.steps_per_epoch), settings.total_steps
        self.validates = settings.total_steps is None
        self.scheduler = schedule(optimizer, self.total_steps)
        self.state = TrainState()

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
        """Continue from the checkpoint when there is one (refusing one written by a different run)."""
        if not self.checkpoints.exists():
            return False
        payload = self.checkpoints.load(self.fingerprint)
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

    # ---- one step, one evaluation

    def train_step(self, indices: np.ndarray) -> tuple[float, int]:
        self.model.train()
        loss, items = self.task.backward(indices)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss, items

    def log_row(self, learning_rate: float, val: tuple[float, float] | None) -> None:
        """Append a training_log row with the mean training loss since the previous row."""
        state = self.state
        row: dict[str, float] = {
            "step": state.step,
            "epoch": round(state.step / self.steps_per_epoch, 4),
            "train_loss": state.loss_sum / state.loss_steps if state.loss_steps else math.nan,
            "val_loss": val[0] if val else math.nan,
            "val_pearson": val[1] if val else math.nan,
            "learning_rate": learning_rate,
        }
        if self.settings.throughput:
            row[self.settings.throughput] = state.items / state.seconds if state.seconds > 0 else math.nan
        state.log.append(row)
        state.loss_sum, state.loss_steps, state.items, state.seconds = 0.0, 0, 0, 0.0

    def after_evaluation(self, val_loss: float) -> None:
        """Keep the best weights by val MSE; stop after `patience` evaluations without a better one."""
        state = self.state
        if val_loss < state.best_val_loss:
            state.best_val_loss, state.best_step, state.evals_without_improvement = val_loss, state.step, 0
            self.checkpoints.save_best(self.model)
            return
        state.evals_without_improvement += 1
        if self.settings.patience and state.evals_without_improvement >= self.settings.patience:
            state.finished, state.stopped_early = True, True
            state.stop_reason = (
                f"early stopping: val MSE did not improve for {state.evals_without_improvement} evaluations"
            )

    def batches_to_run(self) -> Iterator[tuple[np.ndarray, bool]]:
        """The remaining steps' batches, each with whether it closes its epoch."""
        while self.state.epoch < self.epochs:
            batches = self.task.epoch_batches(self.state.epoch)
            for number in range(self.state.batches_done, len(batches)):
                yield batches[number], number == len(batches) - 1

    def progress_line(self, started: float, steps_at_start: int, learning_rate: float) -> None:
        state = self.state
        done = state.step - steps_at_start
        eta = (time.perf_counter() - started) / done * (self.total_steps - state.step) if done else math.nan
        logger.info(
            "step %d/%d (epoch %.2f): train loss %.4g, lr %.3g, ETA %s",
            state.step,
            self.total_steps,
            state.step / self.steps_per_epoch,
            state.log[-1]["train_loss"] if state.log else math.nan,
            learning_rate,
            format_duration(eta),
        )

    def run(self) -> TrainState:
        """Train until the epochs are done, early stopping, or `stop_after_steps` (a planned interruption)."""
        state, settings = self.state, self.settings
        if state.finished:
            logger.info("The checkpoint is of a finished run (%s); nothing left to train", state.stop_reason)
            return state
        if settings.stop_after_steps is not None and state.step >= settings.stop_after_steps:
            logger.info(
                "Already at step %d, --stop-after-steps %d: nothing to do", state.step, settings.stop_after_steps
            )
            return state
        logger.info(
            "Training %d steps (%s epochs of %d)%s",
            self.total_steps,
            f"{self.total_steps / self.steps_per_epoch:.3g}" if settings.total_steps else settings.epochs,
            self.steps_per_epoch,
            "" if self.validates else ", no evaluation (refit)",
        )
        started, steps_at_start = time.perf_counter(), state.step
        for indices, closes_epoch in self.batches_to_run():
            step_started = time.perf_counter()
            learning_rate = float(self.scheduler.get_last_lr()[0])
            loss, items = self.train_step(indices)
            state.step += 1
            check_finite(loss, "training loss", state.step, learning_rate)
            state.batches_done += 1
            if closes_epoch:
                state.epoch, state.batches_done = state.epoch + 1, 0
            state.loss_sum, state.loss_steps = state.loss_sum + loss, state.loss_steps + 1
            state.items, state.seconds = state.items + items, state.seconds + time.perf_counter() - step_started
            evaluate = self.validates and (closes_epoch or _every(state.step, settings.eval_steps))
            if evaluate:
                val_loss, val_pearson = self.task.evaluate()
                check_finite(val_loss, "validation loss", state.step, learning_rate)
                self.log_row(learning_rate, (val_loss, val_pearson))
                logger.info("step %d: val MSE %.4g, val Pearson r %.3f", state.step, val_loss, val_pearson)
                self.after_evaluation(val_loss)
            elif _every(state.step, settings.logging_steps) or (not self.validates and closes_epoch):
                self.log_row(learning_rate, None)
            if evaluate or _every(state.step, settings.logging_steps):
                self.progress_line(started, steps_at_start, learning_rate)
            if state.step == self.total_steps and not state.finished:
                state.finished = True
                state.stop_reason = (
                    f"all {settings.epochs} epochs done" if self.validates else f"all {state.step} steps done"
                )
                if not self.validates and state.loss_steps:
                    self.log_row(learning_rate, None)
            stop_now = settings.stop_after_steps is not None and state.step >= settings.stop_after_steps
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


@dataclass(frozen=True)
class EarlyStopped:
    """An early-stopped run, and the refit's log when the predictions come from a refit."""

    state: TrainState
    #: the run's training log (`training_log_table`)
    log: pd.DataFrame
    #: the refit's own log, None without a refit (or while the run is unfinished)
    refit_log: pd.DataFrame | None


def fit_early_stopped(
    trainer: Trainer,
    model: nn.Module,
    initial: dict[str, torch.Tensor],
    seed: int,
    columns: list[str],
    refit: Callable[[int], Trainer] | None = None,
) -> EarlyStopped:
    """The rule every gradient-trained model follows: train on train, stop on val; then either keep the
    best weights, or (`refit`) restart from the same initial weights and seed and train for exactly the
    best number of steps with the trainer `refit(best_step)` builds (on train + val), whose weights
    then predict. An unfinished run (a planned stop) returns as it is, its checkpoint kept.
    """
    trainer.resume()
    state = trainer.run()
    log = training_log_table(state, columns)
    if not state.finished:
        return EarlyStopped(state, log, None)
    if refit is None:
        trainer.load_best()
        return EarlyStopped(state, log, None)
    restart_from(model, initial, seed)
    again = refit(state.best_step)
    again.resume()
    return EarlyStopped(state, log, training_log_table(again.run(), columns))


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def checkpoint_files(checkpoints: Checkpoints, outdir: Path) -> list[str]:
    """The checkpoint files left after a run, relative to `outdir` when inside it (for a command's file list)."""
    candidates = (checkpoints.last, checkpoints.best, checkpoints.refit.last, checkpoints.refit.best)
    present = [path for path in candidates if path.is_file()]
    return [str(path.relative_to(outdir)) if path.is_relative_to(outdir) else str(path) for path in present]


def training_log_table(state: TrainState, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(state.log, columns=columns)
