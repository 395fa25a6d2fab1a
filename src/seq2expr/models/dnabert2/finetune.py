"""Fine-tune a DNABERT-2 regressor on a dataset split: the study's recipe on the shared training core.

The recipe (spec: the study's `train.py` and logged TrainingArguments): MSE on the pooled `[CLS]`,
AdamW (β 0.9/0.999, ε 1e-8, weight decay 0.01 except biases and LayerNorm weights), gradient
norm clipped at 1.0, linear decay after 50 warm-up steps, 32 sequences per optimiser step,
evaluation on val every 200 steps and at each epoch end, the checkpoint with the lowest val
MSE kept. Added here: bf16 autocast on CUDA, length-bucketed batches, gradient accumulation,
early stopping and an exact resume after a kill (`seq2expr.models.training.core`, shared with the CNN).
With `refit`, the early-stopped run only chooses the number of optimiser steps N (its best step
on val); a second run from the same initial weights (the pretrained encoder and the seeded head)
and seed trains on train + val for exactly N steps, the schedule scaled to N steps (warm-up the
same share of the run, linear decay to 0 at step N), and predicts (`seq2expr.models.training.refit`).

What is DNABERT-2's lives here: tokenised, length-bucketed batches (`Dnabert2Task`), gradient
accumulation over micro-batches, prediction in length order, and the command's `run()`. The
loop works with any module whose forward takes (input_ids, attention_mask, labels) and returns
an object with `loss` and `logits`, so it does not depend on how the model is built. (About 400
lines: the learning-rate choice and the refit are the command's two extra paths through `run()`.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

from seq2expr.errors import InputError
from seq2expr.io.compute import COMPUTE_FILE, is_random_init
from seq2expr.io.files import file_sha256
from seq2expr.io.predictions import CONTROL_FILE, control_from_predictions, make_predictions, write_control
from seq2expr.io.tables import honour_umask, write_tsv
from seq2expr.models.dnabert2.batching import (
    EncodedSplit,
    collate,
    encode_split,
    epoch_batches,
    micro_batches,
)
from seq2expr.models.dnabert2.options import LEARNING_RATES, FinetuneOptions
from seq2expr.models.dnabert2.tokenizer import pad_token_id
from seq2expr.models.roster import DNABERT2
from seq2expr.models.training.core import LOG_COLUMNS as CORE_LOG_COLUMNS
from seq2expr.models.training.core import (
    autocast,
    build_optimizer,
    carve_validation,
    checked_table,
    control_windows,
    linear_warmup_decay,
    ordered_batches,
    regression_metrics,
    scaled_warmup,
    training_session,
)
from seq2expr.models.training.loop import (
    Checkpoints,
    LoopSettings,
    Trainer,
    TrainState,
    checkpoint_files,
    checkpoint_folder,
    fit_early_stopped,
    initial_weights,
    refit_settings,
)
from seq2expr.models.training.options import ResumeOptions
from seq2expr.models.training.outputs import Curves, TrainingRun, write_training_files
from seq2expr.models.training.refit import FitRecord, RefitOptions
from seq2expr.models.training.search import (
    ValidationScore,
    score_from_log,
    search_learning_rate,
)

logger = logging.getLogger(__name__)

MODEL_NAME = DNABERT2
THROUGHPUT = "tokens_per_s"
LOG_COLUMNS = [*CORE_LOG_COLUMNS, THROUGHPUT]
CURVES = Curves("dnabert2_training_curves", MODEL_NAME, "training_curves_mqc.yaml", "MSE, (log10 TPM)²")
SEARCH_FILE = "learning_rate_search.tsv"


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


def enable_gradient_checkpointing(model: nn.Module) -> None:
    """Trade compute for memory on long inputs; the model must support it."""
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise InputError(f"{type(model).__name__} does not support --gradient-checkpointing")
    model.gradient_checkpointing_enable()  # type: ignore[operator]


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


@dataclass
class Dnabert2Task:
    """DNABERT-2's part of the training loop: token batches, accumulated gradients, val metrics."""

    model: nn.Module
    train: EncodedSplit
    val: EncodedSplit
    options: FinetuneOptions
    device: torch.device
    pad_id: int

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        return epoch_batches(self.train.lengths, self.options.global_batch_size, self.options.seed, epoch)

    def backward(self, indices: np.ndarray) -> tuple[float, int]:
        """Accumulate the gradient of one global batch over micro-batches; its mean loss and real tokens.

        Each micro-batch's mean loss is weighted by its share of the global batch, so the
        gradient is that of the global batch's mean loss whatever the micro-batch size.
        """
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
        return total_loss, n_tokens

    def evaluate(self) -> tuple[float, float]:
        predicted = predict(self.model, self.val, self.options.eval_batch_size, self.device, self.pad_id)
        return regression_metrics(self.val.labels.astype(np.float64), predicted)


def new_trainer(
    model: nn.Module,
    train: EncodedSplit,
    val: EncodedSplit,
    options: FinetuneOptions,
    device: torch.device,
    pad_id: int,
    checkpoints: Checkpoints,
    fingerprint: dict[str, Any],
    stop_after_steps: int | None = None,
    refit_of: Trainer | None = None,
) -> Trainer:
    """The shared loop set up with the study's recipe for `model` (moved to `device`).

    `refit_of`: a finished early-stopped run; this one trains exactly its best number of steps on
    `train` (then train + val) without evaluating, the warm-up scaled to that length.
    """
    model.to(device)
    if options.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    settings = LoopSettings(
        epochs=options.epochs,
        patience=options.patience,
        max_grad_norm=options.max_grad_norm,
        eval_steps=options.eval_steps,
        logging_steps=options.logging_steps,
        stop_after_steps=stop_after_steps,
        throughput=THROUGHPUT,
    )
    warmup = options.warmup_steps
    if refit_of is not None:
        steps = refit_of.state.best_step
        settings = refit_settings(settings, steps)
        warmup = scaled_warmup(warmup, steps, refit_of.total_steps)
        fingerprint = {**fingerprint, "refit_steps": steps}
    task = Dnabert2Task(model, train, val, options, device, pad_id)
    optimizer = build_optimizer(model, options.learning_rate, options.weight_decay)
    return Trainer(task, optimizer, linear_warmup_decay(warmup), settings, checkpoints, fingerprint)


def run_fingerprint(options: FinetuneOptions, model_name: str, dataset_sha256: str) -> dict[str, Any]:
    """Identify a run so that a checkpoint is never resumed into a different one."""
    return {**options.trajectory(), "model": model_name, "dataset_sha256": dataset_sha256}


@dataclass(frozen=True)
class FinetuneResult:
    """What a training run produced: predictions and `fit` are None until training has finished."""

    state: TrainState
    log: pd.DataFrame
    predictions: pd.DataFrame | None
    fit: FitRecord | None = None
    #: the refit's own log (train loss by step), None without a refit
    refit_log: pd.DataFrame | None = None


def finetune(
    table: pd.DataFrame,
    dataset_path: Path | str,
    model: nn.Module,
    pad_id: int,
    tokenizer: PreTrainedTokenizerBase,
    options: FinetuneOptions,
    device: torch.device,
    checkpoints: Checkpoints,
    fingerprint: dict[str, Any],
    stop_after_steps: int | None = None,
    refit: bool = False,
    fold: int = 0,
    repeat: int = 0,
) -> FinetuneResult:
    """Fine-tune `model` on the dataset's train split, resuming from `checkpoints` when they exist.

    `table` is one fold's view of the dataset (`seq2expr.data.folds`); `fold` and `repeat` go into the
    predictions and fit.json.

    When training finishes (all epochs or early stopping), the best weights are loaded into
    `model` and it predicts every gene of the dataset; carved val genes are reported as `val`.
    With `refit`, `model` is instead trained again from its initial weights on train + val for the
    best number of steps (checkpoints in `checkpoints.refit`), and that model predicts.
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
    everything = encode_table(table, tokenizer, options.max_tokens)
    split = table["split"].to_numpy()
    train = everything.subset(np.flatnonzero(split == "train"))
    val = everything.subset(np.flatnonzero(split == "val"))
    trainer = new_trainer(model, train, val, options, device, pad_id, checkpoints, fingerprint, stop_after_steps)
    initial = initial_weights(model)  # before a resume overwrites them: the refit starts where this run started
    fitted = everything.subset(np.flatnonzero(split != "test"))

    def refit_trainer(_steps: int) -> Trainer:  # new_trainer reads the best step from the finished run
        return new_trainer(model, fitted, val, options, device, pad_id, checkpoints.refit, fingerprint, None, trainer)

    stopped = fit_early_stopped(trainer, model, initial, options.seed, LOG_COLUMNS, refit_trainer if refit else None)
    state = stopped.state
    if not state.finished:
        return FinetuneResult(state, stopped.log, None)
    schedule = f"linear warm-up {options.warmup_steps} steps, linear decay to 0 at step {trainer.total_steps}"
    fit = FitRecord(MODEL_NAME, False, state.best_step, len(train), len(val), state.best_step, schedule, fold, repeat)
    if refit:
        warmup = scaled_warmup(options.warmup_steps, state.best_step, trainer.total_steps)
        schedule = f"linear warm-up {warmup} steps, linear decay to 0 at step {state.best_step} (scaled to the refit)"
        fit = FitRecord(
            MODEL_NAME, True, state.best_step, len(fitted), len(val), state.best_step, schedule, fold, repeat
        )
        logger.info("Refit on %d train + val genes for %d steps; its predictions are written", len(fitted), fit.steps)
    predicted = predict(model, everything, options.eval_batch_size, device, pad_id)
    predictions = make_predictions(
        table["gene_id"], table["split"], table["target"], predicted, MODEL_NAME, fold, repeat
    )
    return FinetuneResult(state, stopped.log, predictions, fit, stopped.refit_log)


# --------------------------------------------------------------------------------------------
# the command


def run(
    dataset: Path,
    model_name: str,
    options: FinetuneOptions,
    outdir: Path,
    device: str = "auto",
    threads: int = 1,
    resume: ResumeOptions | None = None,
    refit: RefitOptions | None = None,
    search_rate: bool = False,
    fold: int = 0,
    repeat: int = 0,
    control: Path | None = None,
) -> TrainingRun[FinetuneResult]:
    """Fine-tune on one fold's view of the dataset (`read_fold`), predict every gene and write the outputs
    into `outdir` (created).

    With `search_rate` (a GPU only: refused before any model is loaded on a CPU), the learning rate
    is first chosen among `LEARNING_RATES` on the val genes (`seq2expr.models.training.search`; one
    fine-tuning per rate, test rows removed; learning_rate_search.tsv), then the run is made at the
    chosen rate (its search run exactly: same seed, same genes).

    Files: training_log.tsv always; once training has finished also predictions.tsv,
    training_curves_mqc.yaml, model/ (weights, config with the fine-tuning's --max-tokens,
    tokenizer), fit.json (which genes the predicting weights saw; with `refit.refit` also
    refit_log.tsv) and compute.tsv (of this invocation: a resumed run's since its resume). With `control`
    (shuffled windows, `seq2expr.data.shuffle`; read and checked before any model is loaded), the predicting
    model also predicts the test genes' shuffled windows, tokenised, cut and batched as the real ones:
    control.tsv, the composition control.
    """
    # imported here: the model module is DNABERT-2's native architecture (seconds of torch set-up)
    from transformers import set_seed

    from seq2expr.data.dataset import read_fold
    from seq2expr.data.folds import is_cross_fitted
    from seq2expr.models.dnabert2.loading import resolve_source
    from seq2expr.models.dnabert2.model import Dnabert2ForRegression
    from seq2expr.models.dnabert2.tokenizer import load_tokenizer

    resume, refit = resume or ResumeOptions(), refit or RefitOptions()
    options.check()
    outdir.mkdir(parents=True, exist_ok=True)
    with training_session(threads, device, MODEL_NAME) as (target, compute):
        table = read_fold(dataset, fold, repeat)
        shuffled = None if control is None else control_windows(control, table, dataset)
        cross_fitted = is_cross_fitted(table)
        fit_id = {"fold": fold, "repeat": repeat} if cross_fitted else {}  # one dataset file serves every fold
        tokenizer = load_tokenizer(model_name)
        pad_id = pad_token_id(tokenizer, model_name)
        searched, searched_files = None, []
        if search_rate:

            def fit(rate: float, visible: pd.DataFrame) -> ValidationScore:
                candidate = replace(options, learning_rate=rate)
                set_seed(candidate.seed)
                fresh = Dnabert2ForRegression.from_pretrained(model_name)
                with checkpoint_folder(None) as scratch:
                    its = run_fingerprint(candidate, model_name, file_sha256(dataset)) | fit_id
                    done = finetune(visible, dataset, fresh, pad_id, tokenizer, candidate, target, scratch, its)
                return score_from_log(done.log)

            carved, _ = carve_validation(checked_table(table, dataset), options.val_fraction, options.seed, dataset)
            searched = search_learning_rate(MODEL_NAME, LEARNING_RATES, options.epochs, carved, fit, target)
            write_tsv(searched.scores, outdir / SEARCH_FILE)
            logger.info("%s", searched.methods())
            options = replace(options, learning_rate=searched.chosen.settings)
            searched_files = [SEARCH_FILE]
        set_seed(options.seed)  # before the model: the regression head is initialised at random
        model = Dnabert2ForRegression.from_pretrained(model_name)
        random_init = compute.random_init = is_random_init(resolve_source(model_name))
        logger.info(
            "%s%s: %d genes; model %s (%.1f M parameters%s) on %s%s",
            dataset,
            f" fold {fold} of repeat {repeat}" if cross_fitted else "",
            len(table),
            model_name,
            sum(p.numel() for p in model.parameters()) / 1e6,
            ", random-weight test checkpoint" if random_init else "",
            target,
            ", bf16 autocast" if target.type == "cuda" else ", float32",
        )
        checkpoints = Checkpoints(resume.checkpoint_dir or outdir / "checkpoints")
        fingerprint = run_fingerprint(options, model_name, file_sha256(dataset)) | fit_id
        result = finetune(
            table,
            dataset,
            model,
            pad_id,
            tokenizer,
            options,
            target,
            checkpoints,
            fingerprint,
            resume.stop_after_steps,
            refit.refit,
            fold,
            repeat,
        )
        files = searched_files + write_training_files(
            outdir, result.log, result.predictions, result.fit, result.refit_log, CURVES
        )
        if result.predictions is None:
            return TrainingRun(result, outdir, files + checkpoint_files(checkpoints, outdir), searched)
        if shuffled is not None:
            encoded = encode_split(tokenizer, shuffled, [0.0] * len(shuffled), options.max_tokens)
            values = predict(model, encoded, options.eval_batch_size, target, pad_id)
            write_control(control_from_predictions(result.predictions, values), outdir / CONTROL_FILE)
            files.append(CONTROL_FILE)
        model.config.finetune_max_tokens = options.max_tokens  # predict_dnabert2.py cuts new windows the same way
        model.save_pretrained(outdir / "model", safe_serialization=True)
        tokenizer.save_pretrained(outdir / "model")
        honour_umask(outdir / "model")
        if not resume.keep_checkpoints:
            checkpoints.remove()
        compute.write(outdir / COMPUTE_FILE)
    files += [COMPUTE_FILE]
    files += sorted(str(path.relative_to(outdir)) for path in (outdir / "model").rglob("*") if path.is_file())
    return TrainingRun(result, outdir, files + checkpoint_files(checkpoints, outdir), searched)
