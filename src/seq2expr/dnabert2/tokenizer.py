"""The DNABERT-2 tokenizer (BPE over DNA, `[CLS] … [SEP]`) and the check of what it is fed.

The published `tokenizer.json` has no normaliser: a lower-case letter or any other unexpected
character silently becomes `[UNK]`. `check_sequences` therefore upper-cases and refuses anything
outside ACGTN before tokenising (N is allowed: the published tokenizer maps it to `[UNK]`, as the
study did).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from seq2expr.dnabert2.loading import resolve_source
from seq2expr.errors import InputError

SPECIAL_TOKENS = {
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "mask_token": "[MASK]",
}
NOT_ACGTN = re.compile(r"[^ACGTN]")


def load_tokenizer(
    source: str | Path, max_length: int | None = None, revision: str | None = None
) -> PreTrainedTokenizerFast:
    """A fast tokenizer from the folder's (or Hub model's) `tokenizer.json`, padding on the right.

    `max_length` becomes `model_max_length` (the published files store none), so that
    `truncation=True` keeps `[CLS]` and `[SEP]` within that many tokens.
    """
    folder = resolve_source(source, revision)
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise InputError("missing tokenizer.json (a DNABERT-2 folder needs its tokenizer)", folder)
    try:
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(path), padding_side="right", **SPECIAL_TOKENS)
    except Exception as error:  # tokenizers raises plain Exception subclasses for unreadable files
        raise InputError(f"cannot read the tokenizer ({error})", path) from None
    vocab = tokenizer.get_vocab()
    absent = [token for token in SPECIAL_TOKENS.values() if token not in vocab]
    if absent:
        raise InputError(f"tokenizer lacks the special token(s) {', '.join(absent)}", path)
    probe = tokenizer("A")["input_ids"]
    if probe[0] != tokenizer.cls_token_id or probe[-1] != tokenizer.sep_token_id:
        raise InputError("tokenizer does not wrap sequences in [CLS] … [SEP] (post-processor missing)", path)
    if max_length is not None:
        tokenizer.model_max_length = max_length
    return tokenizer


def check_sequences(
    sequences: Iterable[str], names: Iterable[str] | None = None, path: str | Path | None = None
) -> list[str]:
    """Upper-cased sequences, or InputError naming the first one that is empty or has a non-ACGTN character.

    `names` (e.g. gene ids, same order) make the message point at the record; `path` at the file.
    """
    sequences = list(sequences)
    labels = [f"sequence {index + 1}" for index in range(len(sequences))] if names is None else list(names)
    if len(labels) != len(sequences):
        raise ValueError(f"{len(labels)} names for {len(sequences)} sequences")
    checked = []
    for label, sequence in zip(labels, sequences, strict=True):
        upper = sequence.upper()
        if not upper:
            raise InputError(f"{label}: empty sequence", path)
        bad = NOT_ACGTN.search(upper)
        if bad:
            raise InputError(
                f"{label}: character {sequence[bad.start()]!r} at position {bad.start() + 1}; "
                "expected only A, C, G, T or N",
                path,
            )
        checked.append(upper)
    return checked
