"""The frozen-embedding probe of the pretrained DNABERT-2: how much expression signal it already holds.

Fine-tuning changes 117 M weights on a few thousand genes; if a linear read-out of the frozen
model does as well, the pre-training (not the fine-tuning) carries the signal, and if a one-hot
CNN does better still, the gLM adds little (Tang & Koo 2024). The read-out is the project's
generic probe (`seq2expr.models.probe`): every layer pooled (mean over real tokens without `[CLS]`/`[SEP]`,
and the `[CLS]` state), layer and ridge penalty chosen by grouped cross-validation on train + val,
then fitted there.

What is DNABERT-2's: the project's own implementation of the architecture (no remote code), its
BPE tokenizer and the fine-tuning's token budget and truncation (the 3' end beyond `max_tokens`),
so the probe sees exactly the inputs the fine-tuned model sees. `probe_predictor` makes a probe's
saved read-out a prediction function again, its windows tokenised and cut as the probe's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from transformers import PreTrainedTokenizerBase

from seq2expr.errors import InputError
from seq2expr.io.compute import is_random_init
from seq2expr.models.dnabert2.batching import EncodedSplit, encode_split
from seq2expr.models.dnabert2.finetune import encode_table
from seq2expr.models.dnabert2.loading import read_config, resolve_source
from seq2expr.models.dnabert2.model import Dnabert2Model
from seq2expr.models.dnabert2.options import FinetuneOptions
from seq2expr.models.dnabert2.tokenizer import load_tokenizer, pad_token_id
from seq2expr.models.probe.embeddings import Chunks
from seq2expr.models.probe.options import ProbeOptions, resolve_layers
from seq2expr.models.probe.readout import load_readout, readout_predictor
from seq2expr.models.probe.run import ProbeRun, read_probe_data, run_probe
from seq2expr.models.roster import DNABERT2_PROBE
from seq2expr.models.training.core import control_windows, resolve_device

MODEL_NAME = DNABERT2_PROBE
#: The fine-tuning's token budget, so both read the same tokens.
DEFAULT_MAX_TOKENS = FinetuneOptions().max_tokens


def single_chunks(encoded: EncodedSplit) -> Chunks:
    """One chunk per window, its sequence tokens between `[CLS]` (first) and `[SEP]` (last)."""
    lengths = encoded.lengths
    n = len(encoded)
    return Chunks(list(encoded.input_ids), np.arange(n), np.ones(n, dtype=np.int64), lengths - 1, n, True)


def window_chunks(tokenizer: PreTrainedTokenizerBase, windows: Sequence[str], max_tokens: int) -> Chunks:
    """Windows without a target (the control's shuffled ones, ISM's mutants) tokenised and cut as the dataset's."""
    return single_chunks(encode_split(tokenizer, windows, [0.0] * len(windows), max_tokens))


def run(
    dataset: Path,
    model: str | Path,
    outdir: Path,
    options: ProbeOptions | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    groups: Path | None = None,
    device: str = "auto",
    threads: int = 1,
    fold: int = 0,
    repeat: int = 0,
    control: Path | None = None,
) -> ProbeRun:
    """Probe the DNABERT-2 checkpoint `model` (folder or Hub id) on `dataset`, writing into `outdir`; with
    `control` (shuffled windows), also the test genes' shuffled windows, tokenised and cut as the real ones."""
    options = options or ProbeOptions()
    options.check()
    if max_tokens < 3:
        raise InputError(f"--max-tokens must be at least 3 ([CLS], one token, [SEP]), got {max_tokens}")
    data = read_probe_data(dataset, groups, fold, repeat)
    folder = resolve_source(model)
    layers = resolve_layers(options.layers, read_config(folder).num_hidden_layers + 1)
    tokenizer = load_tokenizer(folder)
    pad_id = pad_token_id(tokenizer, folder)
    encoded = encode_table(data.table, tokenizer, max_tokens)
    shuffled = None
    if control is not None:
        shuffled = window_chunks(tokenizer, control_windows(control, data.table, dataset), max_tokens)
    about = {
        "name": MODEL_NAME,
        "model": str(model),
        "architecture": "dnabert2",
        "max_tokens": max_tokens,
        "truncated": encoded.n_truncated,
        "remote_code": False,
        "random_init": is_random_init(folder),
    }
    return run_probe(
        data,
        single_chunks(encoded),
        lambda target: Dnabert2Model.from_pretrained(folder).to(target),
        layers,
        pad_id,
        about,
        options,
        outdir,
        device,
        threads,
        shuffled,
    )


def probe_predictor(
    path: Path, base_model: str | None = None, device: str = "cpu"
) -> Callable[[Sequence[str]], np.ndarray]:
    """The DNABERT-2 probe saved in `path` (its output folder or read-out) as a prediction function: the
    frozen checkpoint `base_model` (folder or Hub id; None: the one the probe was given) embeds windows
    tokenised and cut at the probe's token budget, and the read-out reads the chosen layer's poolings."""
    readout = load_readout(path)
    if readout.name != MODEL_NAME:
        raise InputError(f"a read-out of {readout.name}, not of the {MODEL_NAME} (probe_dnabert2.py)", path)
    folder = resolve_source(readout.base(base_model))
    readout.check_base(read_config(folder).num_hidden_layers + 1, folder)
    tokenizer = load_tokenizer(folder)
    pad_id = pad_token_id(tokenizer, folder)
    max_tokens = int(readout.about["max_tokens"])
    target = resolve_device(device)
    model = Dnabert2Model.from_pretrained(folder).to(target)
    return readout_predictor(
        readout, model, lambda windows: window_chunks(tokenizer, windows, max_tokens), pad_id, target
    )
