"""A window as the model's input: its own tokenizer, its own special tokens, chunked when too long.

The strategy for windows longer than the model takes (a 4 kb window is ~670 six-mer tokens, ~800
DNABERT-2 tokens, 4,000 single-nucleotide tokens) follows the DNABERT-2 maintainers' advice
(MAGICS-LAB/DNABERT_2 issue #2; DNABERT_S issue #16): embed the whole sequence at once when the
model takes it, otherwise cut it into pieces, embed each and average. Here:

- the window is tokenised once, without special tokens, so a k-mer tokenizer keeps its reading
  frame and no piece is tokenised differently from the whole;
- when the tokens do not fit `max_tokens` (specials included), they are cut into the fewest
  consecutive, non-overlapping pieces of near-equal length that do (no short tail piece), and each
  piece gets the special tokens the tokenizer adds to any input;
- the probe's mean is then over every sequence token of every piece (`seq2expr.models.probe.embeddings`).

Nothing is truncated, so the TSS and both flanks always contribute; the cost is that a piece
sees only its own context.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from transformers import PreTrainedTokenizerBase

from seq2expr.errors import InputError
from seq2expr.models.probe.embeddings import Chunks

# A sequence whose tokens are unambiguous for k-mer and single-letter tokenizers alike.
LAYOUT_PROBE = "ACGTACGTACGTACGTACGTACGT"


def special_layout(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The special token ids the tokenizer puts before and after a sequence (e.g. [CLS] … [SEP])."""
    bare = list(tokenizer(LAYOUT_PROBE, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(LAYOUT_PROBE, add_special_tokens=True)["input_ids"])
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return full[:start], full[start + len(bare) :]
    raise InputError("the tokenizer puts special tokens inside a sequence; cannot cut windows into pieces")


def padding_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The id right-padded batches are filled with: the tokenizer's pad token; the attention mask keeps padding
    out, so any id serves a model without one."""
    return int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)


def pieces(n_tokens: int, budget: int) -> list[tuple[int, int]]:
    """[start, stop) of the fewest near-equal consecutive pieces of at most `budget` tokens."""
    count = max(1, -(-n_tokens // budget))
    bounds = np.linspace(0, n_tokens, count + 1).round().astype(int)
    return [(int(start), int(stop)) for start, stop in itertools.pairwise(bounds)]


def chunk_windows(tokenizer: PreTrainedTokenizerBase, sequences: Sequence[str], max_tokens: int | None) -> Chunks:
    """Every window's token pieces with the model's special tokens, ready for `embed_layers`."""
    prefix, suffix = special_layout(tokenizer)
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    has_cls = bool(prefix) and cls_id is not None and prefix[0] == cls_id
    budget = None if max_tokens is None else max_tokens - len(prefix) - len(suffix)
    if budget is not None and budget < 1:
        raise InputError(
            f"--max-tokens {max_tokens} leaves no room beside the {len(prefix) + len(suffix)} special tokens"
        )
    # verbose=False: the pieces, not the whole window, must fit the model (no "longer than" warning)
    encoded = tokenizer(list(sequences), add_special_tokens=False, return_attention_mask=False, verbose=False)[
        "input_ids"
    ]
    rows: list[np.ndarray] = []
    windows: list[int] = []
    for window, ids in enumerate(encoded):
        if not ids:
            raise InputError(f"sequence {window + 1} gives no tokens")
        for start, stop in pieces(len(ids), budget or len(ids)):
            rows.append(np.asarray([*prefix, *ids[start:stop], *suffix], dtype=np.int64))
            windows.append(window)
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    return Chunks(
        rows,
        np.asarray(windows, dtype=np.int64),
        np.full(len(rows), len(prefix), dtype=np.int64),
        lengths - len(suffix),
        len(encoded),
        has_cls,
    )
