"""DNABERT-2 as a native PyTorch model: loads the published checkpoint, needs no remote code.

Public API (used by the fine-tuning step and the benchmarks):

- `Dnabert2Model.from_pretrained(dir_or_hub_id)`: forward(input_ids, attention_mask) →
  `last_hidden_state` (B, T, H), zero at padding, and `pooler_output` (B, H).
- `Dnabert2ForRegression.from_pretrained(...)`: forward(..., labels=None) → `logits` (B, 1) and
  `loss` (MSE) when labels are given.
- `Dnabert2ForMaskedLM`: the published pre-training model, every checkpoint tensor used.
- `save_pretrained(folder)` (transformers') writes `config.json` + `model.safetensors`, which
  `from_pretrained` reads back.
- `load_tokenizer(dir_or_hub_id)` and `check_sequences(...)`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seq2expr.models.dnabert2.config import Dnabert2Config
    from seq2expr.models.dnabert2.loading import resolve_source
    from seq2expr.models.dnabert2.model import Dnabert2ForMaskedLM, Dnabert2ForRegression, Dnabert2Model, alibi_slopes
    from seq2expr.models.dnabert2.tokenizer import check_sequences, load_tokenizer

#: Where each public name lives. Imported on first use (PEP 562), so that a command's `--help`
#: or its option defaults (`seq2expr.models.dnabert2.options`) never wait seconds for torch.
_HOMES = {
    "Dnabert2Config": "config",
    "resolve_source": "loading",
    "Dnabert2ForMaskedLM": "model",
    "Dnabert2ForRegression": "model",
    "Dnabert2Model": "model",
    "alibi_slopes": "model",
    "check_sequences": "tokenizer",
    "load_tokenizer": "tokenizer",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = [
    "Dnabert2Config",
    "Dnabert2ForMaskedLM",
    "Dnabert2ForRegression",
    "Dnabert2Model",
    "alibi_slopes",
    "check_sequences",
    "load_tokenizer",
    "resolve_source",
]
