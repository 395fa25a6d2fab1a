"""Each model's saved output folder or file as a prediction function, for ISM and the composition control.

The functions call the same code as each model's prediction command (`dexter_predict.py`,
`predict_dnabert2.py`, the CNN's own prediction after training), so an attribution explains the
predictions the evaluation scored. Keys are the roster's `--models` keys. Each loader imports its
model's code when called, so attributing DExTER does not load PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from seq2expr.errors import InputError
from seq2expr.interpret.ism import Predict
from seq2expr.io.files import read_text


def dexter_predictor(path: Path, device: str = "cpu") -> Predict:
    """DExTER's `model.json`: region frequencies of its selected variables through its LASSO (CPU only)."""
    from seq2expr.models.dexter.model import FittedModel
    from seq2expr.models.dexter.training import predict_sequences

    model = FittedModel.from_json(read_text(path), str(path))

    def predict(windows: Sequence[str]) -> np.ndarray:
        return predict_sequences(model, list(windows), path)

    return predict


def cnn_predictor(folder: Path, device: str = "cpu") -> Predict:
    """The CNN's model folder, its output put back on the target's scale."""
    from seq2expr.models.cnn.model import encode, load_cnn
    from seq2expr.models.cnn.training import predict as cnn_predict
    from seq2expr.models.training.core import resolve_device

    model, settings = load_cnn(folder)
    target = resolve_device(device)
    model.to(target)

    def predict(windows: Sequence[str]) -> np.ndarray:
        scaled = cnn_predict(model, encode(windows), len(windows), target)
        return scaled * float(settings["target_sd"]) + float(settings["target_mean"])

    return predict


def dnabert2_predictor(folder: Path, device: str = "cpu") -> Predict:
    """A fine-tuned DNABERT-2 folder, windows tokenised and cut as in its fine-tuning."""
    from seq2expr.models.dnabert2.batching import encode_split
    from seq2expr.models.dnabert2.finetune import predict as dnabert2_predict
    from seq2expr.models.dnabert2.model import Dnabert2ForRegression
    from seq2expr.models.dnabert2.options import FinetuneOptions
    from seq2expr.models.dnabert2.tokenizer import load_tokenizer, pad_token_id
    from seq2expr.models.training.core import resolve_device

    target = resolve_device(device)
    tokenizer = load_tokenizer(folder)
    pad_id = pad_token_id(tokenizer, folder)
    model = Dnabert2ForRegression.from_pretrained(folder).to(target)
    tokens = int(getattr(model.config, "finetune_max_tokens", FinetuneOptions().max_tokens))

    def predict(windows: Sequence[str]) -> np.ndarray:
        encoded = encode_split(tokenizer, list(windows), [0.0] * len(windows), tokens)
        return np.asarray(dnabert2_predict(model, encoded, DNABERT2_BATCH, target, pad_id), dtype=float)

    return predict


DNABERT2_BATCH = 32
"""Windows per forward pass of the 117M model (the ISM step hands over larger chunks)."""

PREDICTORS: dict[str, Callable[[Path, str], Predict]] = {
    "dexter": dexter_predictor,
    "cnn": cnn_predictor,
    "dnabert2": dnabert2_predictor,
}
"""The roster keys whose saved model this module can load (the probes keep no model: see docs/output.md)."""


def load_predictor(key: str, path: Path, device: str = "cpu") -> Predict:
    """The prediction function of a saved model of roster key `key`, or one error naming the choices."""
    if key not in PREDICTORS:
        raise InputError(f"--model-kind {key!r}: attribution loads {', '.join(PREDICTORS)}")
    if not path.exists():
        raise InputError(f"no saved {key} model here", path)
    return PREDICTORS[key](path, device)
