"""Predict new windows with a fine-tuned DNABERT-2 folder, cut and batched as in the fine-tuning.

The windows are tokenised and truncated exactly as in the fine-tuning (its --max-tokens is read
from the folder's config.json), so on the fine-tuning's own genes the predictions are its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seq2expr.errors import InputError
from seq2expr.io.genome import iter_fasta
from seq2expr.io.tables import write_tsv
from seq2expr.models.dnabert2.batching import encode_split
from seq2expr.models.dnabert2.finetune import MODEL_NAME, predict
from seq2expr.models.dnabert2.model import Dnabert2ForRegression
from seq2expr.models.dnabert2.options import FinetuneOptions
from seq2expr.models.dnabert2.tokenizer import load_tokenizer, pad_token_id
from seq2expr.models.training.core import check_sequences, resolve_device, torch_threads

logger = logging.getLogger(__name__)

PREDICT_COLUMNS = ["gene_id", "predicted", "model"]
PREDICTIONS_FILE = "predictions.tsv"


def read_windows(path: Path) -> tuple[list[str], list[str]]:
    """Names and upper-cased ACGTN sequences of a FASTA of windows (one clear line for a bad record)."""
    names: list[str] = []
    windows: list[str] = []
    for record in iter_fasta(path):  # refuses duplicated names, naming the line
        names.append(record.name)
        windows.append(record.sequence.decode("ascii"))
    if not names:
        raise InputError("no FASTA records; expected one window per gene (>gene_id, then its sequence)", path)
    return names, check_sequences(windows, [f"window {name}" for name in names], path)


@dataclass(frozen=True)
class PredictRun:
    """What `bin/predict_dnabert2.py` produced: the predictions, the token length used and the files written."""

    predictions: pd.DataFrame
    max_tokens: int
    n_truncated: int
    files: list[str]


def run(
    model_dir: Path,
    sequences: Path,
    outdir: Path,
    max_tokens: int | None = None,
    batch_size: int = 32,
    device: str = "auto",
    threads: int = 1,
) -> PredictRun:
    """Write predictions.tsv (gene_id, predicted, model) for every window of the FASTA into `outdir`."""
    with torch_threads(threads):
        target = resolve_device(device)
        names, windows = read_windows(sequences)
        tokenizer = load_tokenizer(model_dir)
        pad_id = pad_token_id(tokenizer, model_dir)
        model = Dnabert2ForRegression.from_pretrained(model_dir).to(target)
        tokens = max_tokens or int(getattr(model.config, "finetune_max_tokens", FinetuneOptions().max_tokens))
        encoded = encode_split(tokenizer, windows, [0.0] * len(windows), tokens)
        if encoded.n_truncated:
            logger.info(
                "%d of %d windows are longer than %d tokens: cut at their 3' end",
                encoded.n_truncated,
                len(names),
                tokens,
            )
        predicted = predict(model, encoded, batch_size, target, pad_id)
    table = pd.DataFrame({"gene_id": names, "predicted": predicted, "model": MODEL_NAME}, columns=PREDICT_COLUMNS)
    outdir.mkdir(parents=True, exist_ok=True)
    write_tsv(table, outdir / PREDICTIONS_FILE)
    logger.info("Predicted %d windows with %s (%d tokens at most) into %s", len(names), model_dir, tokens, outdir)
    return PredictRun(table, tokens, encoded.n_truncated, [PREDICTIONS_FILE])
