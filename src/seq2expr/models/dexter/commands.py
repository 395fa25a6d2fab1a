"""The two DExTER steps as functions: `run` (bin/dexter.py) and `run_predict` (bin/dexter_predict.py).

Each reads its inputs, does the step and returns everything the command writes; the commands
only parse options and write files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from seq2expr.data.dataset import read_fold
from seq2expr.data.folds import fit_genes
from seq2expr.data.shuffle import read_control_windows
from seq2expr.errors import InputError
from seq2expr.io.compute import COMPUTE_COLUMNS, ComputeRecorder
from seq2expr.io.files import read_text
from seq2expr.io.genome import iter_fasta, to_acgtn
from seq2expr.io.multiqc import ReportFile
from seq2expr.io.predictions import control_from_predictions, make_predictions
from seq2expr.models.dexter.exploration import Step
from seq2expr.models.dexter.model import MODEL_NAME, FittedModel
from seq2expr.models.dexter.report import DEFAULT_TOP, variables_mqc
from seq2expr.models.dexter.training import DexterConfig, DexterResult, fit_dexter, predict_sequences


@dataclass(frozen=True)
class DexterRun:
    """What bin/dexter.py writes: the fit (variables, predictions, model.json), the report table, compute.tsv,
    and with a control FASTA control.tsv (`control`, else None)."""

    result: DexterResult
    report: list[ReportFile]
    compute: pd.DataFrame
    control: pd.DataFrame | None = None


def fit_gene_groups(table: pd.DataFrame, groups: Path, dataset: Path | str) -> np.ndarray:
    """One gene group per row of the table (`gene_groups.tsv`, for grouped LassoCV folds); every gene DExTER
    fits on must have one, else a one-line error naming both files."""
    from seq2expr.data.similarity import read_gene_groups

    gene_groups = read_gene_groups(groups)
    lookup = dict(zip(gene_groups["gene_id"].astype(str), gene_groups["group"].astype(str), strict=True))
    genes = table["gene_id"].astype(str)
    missing = [gene for gene in genes[fit_genes(table)] if gene not in lookup]
    if missing:
        raise InputError(
            f"{len(missing)} training gene(s) of the dataset {dataset} have no group here (first: {missing[0]}); "
            "expected the gene_groups.tsv written with that dataset",
            groups,
        )
    return np.array([lookup.get(gene, "") for gene in genes])


def run(
    dataset: Path,
    config: DexterConfig,
    top: int = DEFAULT_TOP,
    track: Callable[[Iterator[Step]], Iterable[Step]] | None = None,
    fold: int = 0,
    repeat: int = 0,
    groups: Path | None = None,
    control: Path | None = None,
) -> DexterRun:
    """Fit DExTER on one fold's view of a dataset file (`read_fold`); BLAS/OpenMP pools stay within
    `config.threads`. With `groups` (gene_groups.tsv), the LassoCV folds keep each gene group whole. With
    `control` (shuffled windows, `seq2expr.data.shuffle`), the fitted model also predicts the test genes'
    shuffled windows, read and checked before the fit (the composition control)."""
    recorder = ComputeRecorder(MODEL_NAME)
    table = read_fold(dataset, fold, repeat)
    labels = None if groups is None else fit_gene_groups(table, groups, dataset)
    shuffled = None if control is None else read_control_windows(control, table, dataset)
    with threadpool_limits(limits=config.threads):
        result = fit_dexter(table, config, source=dataset, track=track, fold=fold, repeat=repeat, groups=labels)
        controlled = None
        if shuffled is not None:
            controlled = control_from_predictions(
                result.predictions, predict_sequences(result.model, shuffled, control)
            )
    compute = pd.DataFrame([recorder.row()], columns=COMPUTE_COLUMNS)
    return DexterRun(result, [variables_mqc(result.variables, top)], compute, controlled)


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


def run_predict(
    model_path: Path, sequences: Path | None = None, dataset: Path | None = None, fold: int = 0, repeat: int = 0
) -> DexterPrediction:
    """Predict FASTA windows (dexter_predictions.tsv) or a dataset's genes (predictions.tsv, with observed,
    split labels of the `fold` and `repeat` the model was fitted for)."""
    if (sequences is None) == (dataset is None):
        raise InputError("give exactly one of --sequences FASTA or --dataset TABLE")
    model = FittedModel.from_json(read_text(model_path), str(model_path))
    if sequences is not None:
        names, windows = read_windows(sequences, model.window_length)
        predicted = predict_sequences(model, windows, sequences)
        table = pd.DataFrame({"gene_id": names, "predicted": predicted, "model": MODEL_NAME})
        return DexterPrediction("dexter_predictions.tsv", table, len(model.regions))
    assert dataset is not None
    genes = read_fold(dataset, fold, repeat)
    predicted = predict_sequences(model, genes["sequence"].tolist(), dataset)
    table = make_predictions(genes["gene_id"], genes["split"], genes["target"], predicted, MODEL_NAME, fold, repeat)
    return DexterPrediction("predictions.tsv", table, len(model.regions))
