"""The training core of the gradient-trained models (DNABERT-2 fine-tuning, the one-hot CNN).

Everything a training run needs apart from the model's own batches, forward pass and
predictions is written here once, so that both models stop, resume, decay and log the same way:

- the run's place: `resolve_device`, `autocast` (bf16 on CUDA), `torch_threads` (restored after),
  `training_session` (threads, device and compute record of one command);
- the inputs: `checked_table` (ACGTN windows, the gene and line of a bad one), `carve_validation`;
- the optimiser: `parameter_groups` / `build_optimizer` (AdamW; no weight decay on biases and on
  any normalisation layer, found by module type), `linear_warmup_decay` and `constant_schedule`;
- the loop: `Trainer` drives a `TrainingTask` (the model-specific part) through its epochs with
  evaluations on val, early stopping on val MSE, the best weights kept, a clear error when the
  loss diverges, and `Checkpoints` for an exact resume after a kill (weights, optimiser,
  scheduler, RNG, batch position and best-so-far, written atomically);
- the outputs: `regression_metrics`, `training_log_table`, `training_curves` (MultiQC line graph).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
import yaml
from safetensors.torch import load_model, save_model
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from seq2expr.compute import ComputeRecorder
from seq2expr.errors import InputError
from seq2expr.tables import honour_umask

logger = logging.getLogger(__name__)

LOG_COLUMNS = ["step", "epoch", "train_loss", "val_loss", "val_pearson", "learning_rate"]
CHECKPOINT_FILE = "last.pt"
BEST_FILE = "best.safetensors"
#: Layers whose parameters are scales and shifts of a normalisation, never decayed (as in transformers'
#: Trainer and timm): batch, instance (both `_NormBase`), layer, group and RMS norm.
NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
)


# --------------------------------------------------------------------------------------------
# device, threads, compute


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


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """PyTorch's CPU threads for the body, and the previous count again after (the setting is process-wide)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def training_session(
    threads: int, device: str, model: str, random_init: bool = False
) -> Iterator[tuple[torch.device, ComputeRecorder]]:
    """The device and the compute record of one model step, with `threads` CPU threads for its duration.

    The caller writes the record (`ComputeRecorder.write`) once its outputs are written, so a
    failed or interrupted run leaves none.
    """
    with torch_threads(threads):
        recorder = ComputeRecorder(model, random_init=random_init)
        target = resolve_device(device)
        recorder.use_device(target)
        yield target, recorder


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks (a dataset can be large)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --------------------------------------------------------------------------------------------
# inputs

NOT_ACGTN = re.compile(r"[^ACGTN]")


def check_sequences(
    sequences: Iterable[str], names: Iterable[str] | None = None, path: str | Path | None = None
) -> list[str]:
    """Upper-cased sequences, or InputError naming the first one that is empty or has a non-ACGTN character.

    Both models read A, C, G, T and N only (DNABERT-2's tokenizer would silently make anything else
    `[UNK]`, the CNN's one-hot code has no row for it). `names` (e.g. gene ids, same order) make the
    message point at the record; `path` at the file.
    """
    sequences = list(sequences)
    labels = [f"sequence {index + 1}" for index in range(len(sequences))] if names is None else list(names)
    if len(labels) != len(sequences):
        raise ValueError(f"{len(labels)} names for {len(sequences)} sequences")
    checked = []
    for label, sequence in zip(labels, sequences, strict=True):
        upper = sequence.upper()
        if not upper:
            raise InputError(f"{label}: empty sequence", path)
        bad = NOT_ACGTN.search(upper)
        if bad:
            raise InputError(
                f"{label}: character {sequence[bad.start()]!r} at position {bad.start() + 1}; "
                "expected only A, C, G, T or N",
                path,
            )
        checked.append(upper)
    return checked


def checked_table(table: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """The dataset table with upper-cased sequences, or InputError naming the gene and line of a bad one."""
    names = [f"gene {gene} (line {row + 2})" for row, gene in enumerate(table["gene_id"])]
    return table.assign(sequence=check_sequences(table["sequence"], names, path))


def carve_validation(table: pd.DataFrame, fraction: float, seed: int, path: Path | str) -> tuple[pd.DataFrame, int]:
    """Give the run a val split: the dataset's own, else a seeded random `fraction` of train.

    Returns the table (with carved genes relabelled `val`, since the model never trains on
    them) and how many genes were carved (0 when the dataset has a val split).
    """
    n_train = int((table["split"] == "train").sum())
    if n_train == 0:
        raise InputError("the train split is empty; the model needs training genes", path)
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
# optimiser and schedules


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Trainable parameters split into the decayed (weight matrices, embeddings) and the exempt.

    Biases and the parameters of every normalisation layer (`NORM_LAYERS`, found by module type so
    that a lower-case `mlp.layernorm` or a `BatchNorm1d` is covered whatever its name) are exempt:
    decaying a norm's scale towards 0 fights the normalisation itself. Model order is kept.
    """
    exempt: set[int] = set()
    for module in model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            if isinstance(module, NORM_LAYERS) or name == "bias":
                exempt.add(id(parameter))
    trainable = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in trainable if id(p) not in exempt], "weight_decay": weight_decay},
        {"params": [p for p in trainable if id(p) in exempt], "weight_decay": 0.0},
    ]


def build_optimizer(model: nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW (β 0.9/0.999, ε 1e-8) over `parameter_groups`."""
    groups = parameter_groups(model, weight_decay)
    return torch.optim.AdamW(groups, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)


Schedule = Callable[[torch.optim.Optimizer, int], LambdaLR]


def linear_warmup_decay(warmup_steps: int) -> Schedule:
    """Linear warm-up from 0 over `warmup_steps`, then linear decay to 0 at the last step (transformers' rule)."""

    def schedule(optimizer: torch.optim.Optimizer, total_steps: int) -> LambdaLR:
        def factor(step: int) -> float:
            if step < warmup_steps:
                return float(step) / float(max(1, warmup_steps))
            return max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup_steps)))

        return LambdaLR(optimizer, factor)

    return schedule


def constant_schedule(optimizer: torch.optim.Optimizer, total_steps: int) -> LambdaLR:
    """The peak learning rate throughout (a scheduler all the same, so every run checkpoints alike)."""
    return LambdaLR(optimizer, lambda step: 1.0)


# --------------------------------------------------------------------------------------------
# metrics and divergence


class TrainingDiverged(InputError):
    """The loss became infinite or NaN: a setting (most often the learning rate) the user must change."""


def check_finite(loss: float, what: str, step: int, learning_rate: float) -> None:
    """Stop a diverging run with one line saying what to change, instead of training on NaN weights."""
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"training diverged: the {what} became {loss} at step {step}; lower --learning-rate "
            f"(now {learning_rate:g}) and run again"
        )


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
        self.total_steps = self.steps_per_epoch * settings.epochs
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
        while self.state.epoch < self.settings.epochs:
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
        logger.info("Training %d steps (%d epochs of %d)", self.total_steps, settings.epochs, self.steps_per_epoch)
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
            evaluate = closes_epoch or _every(state.step, settings.eval_steps)
            if evaluate:
                val_loss, val_pearson = self.task.evaluate()
                check_finite(val_loss, "validation loss", state.step, learning_rate)
                self.log_row(learning_rate, (val_loss, val_pearson))
                logger.info("step %d: val MSE %.4g, val Pearson r %.3f", state.step, val_loss, val_pearson)
                self.after_evaluation(val_loss)
            elif _every(state.step, settings.logging_steps):
                self.log_row(learning_rate, None)
            if evaluate or _every(state.step, settings.logging_steps):
                self.progress_line(started, steps_at_start, learning_rate)
            if state.step == self.total_steps and not state.finished:
                state.finished, state.stop_reason = True, f"all {settings.epochs} epochs done"
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


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


# --------------------------------------------------------------------------------------------
# outputs


def checkpoint_files(checkpoints: Checkpoints, outdir: Path) -> list[str]:
    """The checkpoint files left after a run, relative to `outdir` when inside it (for a command's file list)."""
    present = [path for path in (checkpoints.last, checkpoints.best) if path.is_file()]
    return [str(path.relative_to(outdir)) if path.is_relative_to(outdir) else str(path) for path in present]


def write_yaml(content: dict[str, Any], path: Path) -> None:
    """MultiQC custom content as YAML, keys in their given order."""
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(content, handle, sort_keys=False)


def training_log_table(state: TrainState, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(state.log, columns=columns)


def _significant(value: float) -> float:
    """The 9 significant digits that training_log.tsv carries, so both files show the same numbers."""
    return float(f"{value:.9g}")


def training_curves(log: pd.DataFrame, curves_id: str, model: str) -> dict[str, Any]:
    """MultiQC custom content: train and val loss against the optimiser step, one line graph."""
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
