"""The files a trained model's command writes, the same for the CNN and the fine-tuned DNABERT-2.

Both commands train with the core of `seq2expr.models.training.loop`, may be stopped and resumed, and end with the
same outputs: training_log.tsv always; once training has finished, predictions.tsv, the MultiQC
training curves, fit.json (which genes the predicting weights were fitted on) and, after a refit,
refit_log.tsv. Written here once, so the two file lists cannot drift apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from seq2expr.io.multiqc import write_report_files, yaml_file
from seq2expr.io.predictions import warn_if_near_constant, write_predictions
from seq2expr.io.tables import write_tsv
from seq2expr.models.training.core import training_curves
from seq2expr.models.training.refit import FIT_FILE, FitRecord, write_fit
from seq2expr.models.training.search import SearchResult

logger = logging.getLogger(__name__)

TRAINING_LOG = "training_log.tsv"
REFIT_LOG = "refit_log.tsv"
PREDICTIONS = "predictions.tsv"

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class TrainingRun(Generic[ResultT]):
    """What a training command produced: its result and every file it wrote (relative to outdir)."""

    result: ResultT
    outdir: Path
    files: list[str]
    #: the declared search's outcome when the command ran one first
    search: SearchResult[Any] | None = None


@dataclass(frozen=True)
class Curves:
    """Where a model's MultiQC training curves go: the section id, the model's name and the file; the
    scale of their y axis (the loss with the unit of the target the model is trained on), and whether
    the loss is on the target standardised by the training genes' mean and SD."""

    section: str
    model: str
    file: str
    scale: str = "MSE"
    standardised: bool = False


def mean_losses(predictions: pd.DataFrame, standardised: bool) -> dict[str, float]:
    """Per split (train, val), the MSE of predicting the split's mean: the variance of its target, in the
    loss's units (divided by the training genes' variance where the loss is on the standardised target)."""
    variance = predictions.groupby("split")["observed"].var(ddof=0)
    unit = float(variance.get("train", 1.0)) if standardised else 1.0
    return {
        split: float(variance[split]) / unit
        for split in ("train", "val")
        if split in variance.index and np.isfinite(variance[split]) and unit > 0
    }


def write_training_files(
    outdir: Path,
    log: pd.DataFrame,
    predictions: pd.DataFrame | None,
    fit: FitRecord | None,
    refit_log: pd.DataFrame | None,
    curves: Curves,
) -> list[str]:
    """Write the log, and once the run has finished (predictions and fit given) what it predicts; the files.

    An unfinished run (stopped to be resumed) writes only training_log.tsv: predictions come when the
    run ends, so that no half-trained model's numbers can reach the evaluation.
    """
    write_tsv(log, outdir / TRAINING_LOG)
    if predictions is None or fit is None:
        logger.info("Not finished: %s written; predictions and model/ come when the run ends", TRAINING_LOG)
        return [TRAINING_LOG]
    warn_if_near_constant(predictions)
    write_predictions(predictions, outdir / PREDICTIONS)
    refit_steps = fit.steps if fit.refit else None
    losses = mean_losses(predictions, curves.standardised)
    content = training_curves(log, curves.section, curves.model, refit_steps, curves.scale, losses)
    write_report_files([yaml_file(curves.file, content)], outdir)
    write_fit(fit, outdir / FIT_FILE)
    files = [TRAINING_LOG, PREDICTIONS, curves.file, FIT_FILE]
    if refit_log is not None:
        write_tsv(refit_log, outdir / REFIT_LOG)
        files.append(REFIT_LOG)
    return files
