"""The DNABERT-2 tokenizer (BPE over DNA, `[CLS] … [SEP]`) and the check of what it is fed.

The published `tokenizer.json` has no normaliser: a lower-case letter or any other unexpected
character silently becomes `[UNK]`. `check_sequences` (the training core's, re-exported here as part
of the DNABERT-2 API) therefore upper-cases and refuses anything outside ACGTN before tokenising
(N is allowed: the published tokenizer maps it to `[UNK]`, as the study did).
"""

from __future__ import annotations

from pathlib import Path

from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from seq2expr.errors import InputError
from seq2expr.models.dnabert2.loading import resolve_source
from seq2expr.models.training.core import check_sequences as check_sequences  # the DNABERT-2 API names it

SPECIAL_TOKENS = {
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "mask_token": "[MASK]",
}


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


def pad_token_id(tokenizer: PreTrainedTokenizerBase, source: str | Path) -> int:
    """The tokenizer's `[PAD]` id, which right-padded batches need; InputError naming the model without one.

    The one check of it: the fine-tuning, the prediction and the probe all pad with this id.
    """
    if tokenizer.pad_token_id is None:
        raise InputError("the tokenizer has no [PAD] token", source)
    return int(tokenizer.pad_token_id)
