"""Each model's saved output folder or file as a prediction function, for ISM and the composition control.

The functions call the same code as each model's prediction command (`dexter_predict.py`,
`predict_dnabert2.py`, the CNN's own prediction after training, the probes' read-out), so an
attribution explains the predictions the evaluation scored. Keys are the roster's `--models` keys,
and `probe_glm` for the probes of `--probe_models`. A probe keeps only its read-out
(`readout.safetensors`): its predictor also needs the frozen checkpoint the probe embedded with
(`PredictorOptions.base_model`), and tokenises and cuts windows as that probe command did
(`seq2expr.models.dnabert2.probe`, `seq2expr.models.glm.probe`). Each loader imports its model's
code when called, so attributing DExTER does not load PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seq2expr.errors import InputError
from seq2expr.interpret.ism import Predict
from seq2expr.io.files import read_text

DNABERT2_PROBE_KIND = "dnabert2_probe"
GLM_PROBE_KIND = "probe_glm"
PROBE_KINDS = (DNABERT2_PROBE_KIND, GLM_PROBE_KIND)
"""The kinds that are frozen-model probes: their saved file is a read-out, the model is `base_model`."""


@dataclass(frozen=True)
class PredictorOptions:
    """How a saved model is loaded: the device and, for a probe only, its frozen checkpoint."""

    device: str = "cpu"
    base_model: str | None = None
    """A probe's frozen checkpoint (folder or Hub id); None: the one the probe command was given."""
    trust_remote_code: bool = False
    """A gLM probe only: let the checkpoint run the modelling code it ships, as the probe's own flag."""


def dexter_predictor(path: Path, options: PredictorOptions) -> Predict:
    """DExTER's `model.json`: region frequencies of its selected variables through its LASSO (CPU only)."""
    from seq2expr.models.dexter.model import FittedModel
    from seq2expr.models.dexter.training import predict_sequences

    model = FittedModel.from_json(read_text(path), str(path))

    def predict(windows: Sequence[str]) -> np.ndarray:
        return predict_sequences(model, list(windows), path)

    return predict


def cnn_predictor(folder: Path, options: PredictorOptions) -> Predict:
    """The CNN's model folder, its output put back on the target's scale."""
    from seq2expr.models.cnn.model import encode, load_cnn
    from seq2expr.models.cnn.training import predict as cnn_predict
    from seq2expr.models.training.core import resolve_device

    model, settings = load_cnn(folder)
    target = resolve_device(options.device)
    model.to(target)

    def predict(windows: Sequence[str]) -> np.ndarray:
        scaled = cnn_predict(model, encode(windows), len(windows), target)
        return scaled * float(settings["target_sd"]) + float(settings["target_mean"])

    return predict


def dnabert2_predictor(folder: Path, options: PredictorOptions) -> Predict:
    """A fine-tuned DNABERT-2 folder, windows tokenised and cut as in its fine-tuning."""
    from seq2expr.models.dnabert2.batching import encode_split
    from seq2expr.models.dnabert2.finetune import predict as dnabert2_predict
    from seq2expr.models.dnabert2.model import Dnabert2ForRegression
    from seq2expr.models.dnabert2.options import FinetuneOptions
    from seq2expr.models.dnabert2.tokenizer import load_tokenizer, pad_token_id
    from seq2expr.models.training.core import resolve_device

    target = resolve_device(options.device)
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


def dnabert2_probe_predictor(path: Path, options: PredictorOptions) -> Predict:
    """The DNABERT-2 probe's read-out on the frozen DNABERT-2, windows tokenised and cut as in the probe."""
    from seq2expr.models.dnabert2.probe import probe_predictor

    return probe_predictor(path, options.base_model, options.device)


def glm_probe_predictor(path: Path, options: PredictorOptions) -> Predict:
    """A `--probe_models` gLM probe's read-out on its frozen gLM, windows cut into pieces as in the probe."""
    from seq2expr.models.glm.probe import probe_predictor

    return probe_predictor(path, options.base_model, options.device, options.trust_remote_code)


PREDICTORS: dict[str, Callable[[Path, PredictorOptions], Predict]] = {
    "dexter": dexter_predictor,
    "cnn": cnn_predictor,
    "dnabert2": dnabert2_predictor,
    DNABERT2_PROBE_KIND: dnabert2_probe_predictor,
    GLM_PROBE_KIND: glm_probe_predictor,
}
"""The kinds whose saved model or read-out this module can load."""


def load_predictor(key: str, path: Path, options: PredictorOptions | None = None) -> Predict:
    """The prediction function of a saved model of kind `key`, or one error naming the choices; the
    options only a probe reads are refused for the other kinds rather than ignored."""
    options = options or PredictorOptions()
    if key not in PREDICTORS:
        raise InputError(f"--model-kind {key!r}: attribution loads {', '.join(PREDICTORS)}")
    if options.base_model is not None and key not in PROBE_KINDS:
        raise InputError(f"--base-model is the frozen checkpoint of a probe ({', '.join(PROBE_KINDS)}), not of {key}")
    if options.trust_remote_code and key != GLM_PROBE_KIND:
        raise InputError(f"--trust-remote-code is for the gLM probes ({GLM_PROBE_KIND}), not {key}")
    if not path.exists():
        raise InputError(f"no saved {key} model here", path)
    return PREDICTORS[key](path, options)
