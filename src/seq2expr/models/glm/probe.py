"""The frozen probe of any genome language model (`bin/probe_glm.py`): one rung of the ladder per model.

Every check that needs no weights runs first (options, dataset, groups, model config, tokenizer,
layers, maximum length), so a bad Hub id, an unsupported architecture or remote code without
`--trust-remote-code` is one line before anything heavy. The predictions' model name is
`probe:<name>` (the folder's or Hub repository's own name unless `name` is given); like every
probe it is fitted on train + val. `probe_predictor` makes a probe's saved read-out a prediction
function again, its windows cut into pieces as the probe's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from seq2expr.errors import InputError
from seq2expr.models.glm.chunking import chunk_windows, padding_id
from seq2expr.models.glm.loading import inspect_model, load_encoder
from seq2expr.models.probe.options import ProbeOptions, resolve_layers
from seq2expr.models.probe.readout import load_readout, readout_predictor
from seq2expr.models.probe.run import ProbeRun, read_probe_data, run_probe
from seq2expr.models.training.core import control_windows, resolve_device

NAME_PREFIX = "probe:"


def run(
    dataset: Path,
    model: str,
    outdir: Path,
    options: ProbeOptions | None = None,
    trust_remote_code: bool = False,
    max_tokens: int | None = None,
    name: str | None = None,
    groups: Path | None = None,
    device: str = "auto",
    threads: int = 1,
    fold: int = 0,
    repeat: int = 0,
    control: Path | None = None,
) -> ProbeRun:
    """Probe `model` (Hub id or folder) on `dataset`; `max_tokens` below the model's own maximum trades
    context per piece for speed (None: the model's maximum, the whole window when it has none). With `control`
    (shuffled windows), also the test genes' shuffled windows, tokenised and cut into pieces as the real ones."""
    options = options or ProbeOptions()
    options.check()
    data = read_probe_data(dataset, groups, fold, repeat)
    spec = inspect_model(model, trust_remote_code)
    layers = resolve_layers(options.layers, spec.n_states)
    limit = spec.max_tokens
    if max_tokens is not None and limit is not None and max_tokens > limit:
        raise InputError(f"--max-tokens {max_tokens} exceeds the model's maximum of {limit} tokens", model)
    tokens = max_tokens or limit
    chunks = chunk_windows(spec.tokenizer, data.table["sequence"].tolist(), tokens)
    shuffled = None
    if control is not None:
        shuffled = chunk_windows(spec.tokenizer, control_windows(control, data.table, dataset), tokens)
    about = {
        "name": NAME_PREFIX + (name or spec.short_name),
        "model": model,
        "architecture": spec.config.model_type,
        "max_tokens": tokens,
        "remote_code": spec.remote_code,
        "random_init": spec.random_init,
    }
    return run_probe(
        data,
        chunks,
        lambda target: load_encoder(spec, target),
        layers,
        padding_id(spec.tokenizer),
        about,
        options,
        outdir,
        device,
        threads,
        shuffled,
    )


def probe_predictor(
    path: Path, base_model: str | None = None, device: str = "cpu", trust_remote_code: bool = False
) -> Callable[[Sequence[str]], np.ndarray]:
    """The gLM probe saved in `path` (its output folder or read-out) as a prediction function: the frozen
    checkpoint `base_model` (folder or Hub id; None: the one the probe was given), checked as the probe
    checks it (remote code only with `trust_remote_code`), embeds windows cut into pieces of the probe's
    `max_tokens`, and the read-out reads the chosen layer's poolings."""
    readout = load_readout(path)
    if not readout.name.startswith(NAME_PREFIX):
        raise InputError(f"a read-out of {readout.name}, not of a gLM probe {NAME_PREFIX}<name> (probe_glm.py)", path)
    spec = inspect_model(readout.base(base_model), trust_remote_code)
    readout.check_base(spec.n_states, spec.source)
    tokens = readout.about["max_tokens"]  # None: whole windows (a model without a maximum length)
    target = resolve_device(device)
    model = load_encoder(spec, target)
    return readout_predictor(
        readout,
        model,
        lambda windows: chunk_windows(spec.tokenizer, windows, tokens),
        padding_id(spec.tokenizer),
        target,
    )
