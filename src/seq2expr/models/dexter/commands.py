"""The two DExTER steps as functions: `run` (bin/dexter.py) and `run_predict` (bin/dexter_predict.py).

Each reads its inputs, does the step and returns everything the command writes; the commands
only parse options and write files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from seq2expr.data.dataset import read_dataset
from seq2expr.errors import InputError
from seq2expr.io.compute import COMPUTE_COLUMNS, ComputeRecorder
from seq2expr.io.files import read_text
from seq2expr.io.genome import iter_fasta, to_acgtn
from seq2expr.io.multiqc import ReportFile
from seq2expr.io.predictions import make_predictions
from seq2expr.models.dexter.exploration import Step
from seq2expr.models.dexter.model import MODEL_NAME, FittedModel
from seq2expr.models.dexter.report import DEFAULT_TOP, variables_mqc
from seq2expr.models.dexter.training import DexterConfig, DexterResult, fit_dexter, predict_sequences


@dataclass(frozen=True)
class DexterRun:
    """What bin/dexter.py writes: the fit (variables, predictions, model.json), the report table, compute.tsv."""

    result: DexterResult
    report: list[ReportFile]
    compute: pd.DataFrame


def run(
    dataset: Path,
    config: DexterConfig,
    top: int = DEFAULT_TOP,
    track: Callable[[Iterator[Step]], Iterable[Step]] | None = None,
) -> DexterRun:
    """Fit DExTER on a dataset file; BLAS/OpenMP pools stay within `config.threads`."""
    recorder = ComputeRecorder(MODEL_NAME)
    table = read_dataset(dataset)
    with threadpool_limits(limits=config.threads):
        result = fit_dexter(table, config, source=dataset, track=track)
    compute = pd.DataFrame([recorder.row()], columns=COMPUTE_COLUMNS)
    return DexterRun(result, [variables_mqc(result.variables, top)], compute)


@dataclass(frozen=True)
class DexterPrediction:
    """What bin/dexter_predict.py writes: `table` under `name`."""

    name: str
    table: pd.DataFrame
    variables: int


def read_windows(path: Path, length: int) -> tuple[list[str], list[str]]:
    """Names and sequences of a FASTA of windows, all of the model's length."""
    names, sequences = [], []
    for record in iter_fasta(path):
        if len(record.sequence) != length:
            raise InputError(
                f"window {record.name!r} is {len(record.sequence)} bp; the model expects {length} bp windows",
                path,
                record.line,
            )
        names.append(record.name)
        sequences.append(to_acgtn(record.sequence).decode("ascii"))
    return names, sequences


def run_predict(model_path: Path, sequences: Path | None = None, dataset: Path | None = None) -> DexterPrediction:
    """Predict FASTA windows (dexter_predictions.tsv) or a dataset's genes (predictions.tsv, with observed)."""
    if (sequences is None) == (dataset is None):
        raise InputError("give exactly one of --sequences FASTA or --dataset TABLE")
    model = FittedModel.from_json(read_text(model_path), str(model_path))
    if sequences is not None:
        names, windows = read_windows(sequences, model.window_length)
        predicted = predict_sequences(model, windows, sequences)
        table = pd.DataFrame({"gene_id": names, "predicted": predicted, "model": MODEL_NAME})
        return DexterPrediction("dexter_predictions.tsv", table, len(model.regions))
    assert dataset is not None
    genes = read_dataset(dataset)
    predicted = predict_sequences(model, genes["sequence"].tolist(), dataset)
    table = make_predictions(genes["gene_id"], genes["split"], genes["target"], predicted, MODEL_NAME)
    return DexterPrediction("predictions.tsv", table, len(model.regions))
