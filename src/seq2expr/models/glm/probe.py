"""The frozen probe of any genome language model (`bin/probe_glm.py`): one rung of the ladder per model.

Every check that needs no weights runs first (options, dataset, groups, model config, tokenizer,
layers, maximum length), so a bad Hub id, an unsupported architecture or remote code without
`--trust-remote-code` is one line before anything heavy. The predictions' model name is
`probe:<name>` (the folder's or Hub repository's own name unless `name` is given); like every
probe it is fitted on train + val.
"""

from __future__ import annotations

from pathlib import Path

from seq2expr.errors import InputError
from seq2expr.models.glm.chunking import chunk_windows
from seq2expr.models.glm.loading import inspect_model, load_encoder
from seq2expr.models.probe.options import ProbeOptions, resolve_layers
from seq2expr.models.probe.run import ProbeRun, read_probe_data, run_probe
from seq2expr.models.training.core import control_windows

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
    pad_id = spec.tokenizer.pad_token_id
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
        int(pad_id if pad_id is not None else 0),  # padding is masked out; any id serves a model without one
        about,
        options,
        outdir,
        device,
        threads,
        shuffled,
    )
