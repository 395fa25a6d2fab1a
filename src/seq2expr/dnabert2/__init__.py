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

from seq2expr.dnabert2.config import Dnabert2Config
from seq2expr.dnabert2.loading import resolve_source
from seq2expr.dnabert2.model import Dnabert2ForMaskedLM, Dnabert2ForRegression, Dnabert2Model, alibi_slopes
from seq2expr.dnabert2.tokenizer import check_sequences, load_tokenizer

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
