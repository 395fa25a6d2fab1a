"""Tokenise a split once and serve it as length-bucketed, dynamically padded batches.

Attention costs grow with the square of the padded length and every pad token is wasted work,
so a batch groups sequences of similar token length and is padded only to its own longest
member, on the right (the regression head reads `[CLS]` at index 0). The batch order is a pure
function of (seed, epoch): a run resumed from a checkpoint sees exactly the batches that the
interrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

# Global batches are drawn from pools of this many batches: sorting inside a pool keeps padding
# low while pools drawn at random keep the batch composition changing from epoch to epoch.
POOL_BATCHES = 50


@dataclass(frozen=True)
class EncodedSplit:
    """The token ids (with `[CLS]`/`[SEP]`, truncated) and regression labels of one split."""

    input_ids: list[np.ndarray]
    labels: np.ndarray
    truncated: np.ndarray  # bool per sequence: cut at max_tokens

    def __len__(self) -> int:
        return len(self.input_ids)

    def subset(self, indices: np.ndarray) -> EncodedSplit:
        """The chosen sequences (e.g. one split of a table tokenised as a whole)."""
        chosen = [self.input_ids[i] for i in indices]
        return EncodedSplit(chosen, self.labels[indices], self.truncated[indices])

    @property
    def n_truncated(self) -> int:
        return int(self.truncated.sum())

    @property
    def lengths(self) -> np.ndarray:
        """Token count of each sequence, specials included."""
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self.input_ids))


@dataclass(frozen=True)
class Batch:
    """A right-padded batch ready for the model; `n_tokens` counts real (non-pad) tokens."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    n_tokens: int

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def to(self, device: torch.device) -> Batch:
        return Batch(
            self.input_ids.to(device, non_blocking=True),
            self.attention_mask.to(device, non_blocking=True),
            self.labels.to(device, non_blocking=True),
            self.n_tokens,
        )


def encode_split(
    tokenizer: PreTrainedTokenizerBase, sequences: Sequence[str], labels: Sequence[float], max_tokens: int
) -> EncodedSplit:
    """Tokenise every sequence once, keeping `[CLS]` and `[SEP]` and at most `max_tokens` tokens in all.

    Truncation drops the 3' end of the window, as the study's tokenizer did; the number of
    truncated sequences is returned so the caller can report it rather than hide it.
    """
    if max_tokens < 3:
        raise ValueError(f"max_tokens must leave room for [CLS], one token and [SEP], got {max_tokens}")
    if len(sequences) != len(labels):
        raise ValueError(f"{len(sequences)} sequences but {len(labels)} labels")
    sep_id = tokenizer.sep_token_id
    if sep_id is None:
        raise ValueError("the tokenizer has no [SEP] token")
    encoded = tokenizer(list(sequences), add_special_tokens=True, return_attention_mask=False)["input_ids"]
    truncated = np.array([len(ids) > max_tokens for ids in encoded], dtype=bool)
    input_ids = [
        np.asarray([*ids[: max_tokens - 1], sep_id] if cut else ids, dtype=np.int64)
        for ids, cut in zip(encoded, truncated, strict=True)
    ]
    return EncodedSplit(input_ids, np.asarray(labels, dtype=np.float32), truncated)


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Indices of every batch of one training epoch: bucketed by length, shuffled, reproducible.

    Sequences are shuffled, cut into pools of `POOL_BATCHES` batches, sorted by length inside
    each pool and cut into batches; the batch order is then shuffled. Only the very last batch
    of the epoch can be smaller than `batch_size`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    pool = batch_size * POOL_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def micro_batches(indices: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Split one optimiser step's sequences into the forward passes that accumulate its gradient."""
    return [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]


def collate(split: EncodedSplit, indices: np.ndarray, pad_id: int) -> Batch:
    """Right-pad the chosen sequences to the longest of them and build the attention mask."""
    rows = [split.input_ids[i] for i in indices]
    width = max(len(row) for row in rows)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, row in enumerate(rows):
        input_ids[r, : len(row)] = row
        attention_mask[r, : len(row)] = 1
    return Batch(
        torch.from_numpy(input_ids),
        torch.from_numpy(attention_mask),
        torch.from_numpy(split.labels[indices].copy()),
        int(attention_mask.sum()),
    )
