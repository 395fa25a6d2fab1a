#!/usr/bin/env python3
"""Predict expression of new TSS windows with a DExTER model.json written by dexter.py."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import pandas as pd

from seq2expr.cli import command, ensure_outdir, outdir_option, setup_logging, verbose_option
from seq2expr.dataset import read_dataset
from seq2expr.dexter import FittedModel, predict_sequences
from seq2expr.dexter.model import MODEL_NAME
from seq2expr.errors import InputError
from seq2expr.genome import iter_fasta, to_acgtn
from seq2expr.inputs import read_text
from seq2expr.predictions import make_predictions, write_predictions
from seq2expr.tables import write_tsv

log = logging.getLogger("dexter_predict")
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _read_windows(path: Path, length: int) -> tuple[list[str], list[str]]:
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


@command()
@click.option("--model", "model_path", required=True, type=EXISTING_FILE, help="model.json written by dexter.py.")
@click.option("--sequences", type=EXISTING_FILE, help="FASTA of windows (same length and TSS index as the model's).")
@click.option("--dataset", type=EXISTING_FILE, help="A dataset.tsv.gz instead: predictions.tsv with observed values.")
@outdir_option
@verbose_option
def main(model_path: Path, sequences: Path | None, dataset: Path | None, outdir: Path, verbose: bool) -> None:
    """Write dexter_predictions.tsv (gene_id, predicted, model) for --sequences, or predictions.tsv for --dataset."""
    setup_logging(verbose)
    if (sequences is None) == (dataset is None):
        raise InputError("give exactly one of --sequences FASTA or --dataset TABLE")
    model = FittedModel.from_json(read_text(model_path), str(model_path))
    ensure_outdir(outdir)
    if sequences is not None:
        names, windows = _read_windows(sequences, model.window_length)
        predicted = predict_sequences(model, windows, sequences)
        table = pd.DataFrame({"gene_id": names, "predicted": predicted, "model": MODEL_NAME})
        write_tsv(table, outdir / "dexter_predictions.tsv")
    else:
        assert dataset is not None
        genes = read_dataset(dataset)
        predicted = predict_sequences(model, genes["sequence"].tolist(), dataset)
        table = make_predictions(genes["gene_id"], genes["split"], genes["target"], predicted, MODEL_NAME)
        write_predictions(table, outdir / "predictions.tsv")
    log.info("predicted %d windows with %d variables", len(table), len(model.regions))


if __name__ == "__main__":
    main()
