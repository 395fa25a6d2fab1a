"""Length-bucketed batching: tokenise once, right-pad per batch, same batches for the same seed and epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seq2expr.models.dnabert2.batching import collate, encode_split, epoch_batches, micro_batches
from seq2expr.models.dnabert2.tokenizer import load_tokenizer
from seq2expr.models.training.core import ordered_batches

TINY = Path(__file__).resolve().parents[2] / "assets" / "test_data" / "tiny_dnabert2"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(TINY)


def random_dna(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list("ACGT"), size=length))


def test_encode_split_wraps_in_cls_sep_and_truncates_the_3prime_end(tokenizer):
    rng = np.random.default_rng(1)
    sequences = [random_dna(rng, n) for n in (30, 300, 1001)]
    full = encode_split(tokenizer, sequences, [0.0, 1.0, 2.0], max_tokens=10_000)
    assert full.n_truncated == 0
    for ids, sequence in zip(full.input_ids, sequences, strict=True):
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
        assert list(ids) == tokenizer(sequence)["input_ids"]

    cap = int(full.lengths[1]) - 1  # the shortest stays whole, the two longer ones are cut
    cut = encode_split(tokenizer, sequences, [0.0, 1.0, 2.0], max_tokens=cap)
    assert cut.n_truncated == 2
    assert list(cut.input_ids[0]) == list(full.input_ids[0])
    for ids, whole in zip(cut.input_ids[1:], full.input_ids[1:], strict=True):
        assert len(ids) == cap
        assert list(ids[:-1]) == list(whole[: cap - 1])  # [CLS] + the 5' tokens
        assert ids[-1] == tokenizer.sep_token_id
    assert cut.labels.dtype == np.float32 and list(cut.labels) == [0.0, 1.0, 2.0]


def test_epoch_batches_cover_every_sequence_once_and_are_reproducible():
    lengths = np.random.default_rng(0).integers(50, 1000, size=2_345)
    batches = epoch_batches(lengths, 32, seed=7, epoch=0)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    sizes = [len(b) for b in batches]
    assert sizes.count(32) == len(sizes) - 1 and min(sizes) == len(lengths) % 32
    again = epoch_batches(lengths, 32, seed=7, epoch=0)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    next_epoch = epoch_batches(lengths, 32, seed=7, epoch=1)
    other_seed = epoch_batches(lengths, 32, seed=8, epoch=0)
    assert not np.array_equal(flat, np.concatenate(next_epoch))
    assert not np.array_equal(flat, np.concatenate(other_seed))
    # bucketing: the batches of successive epochs are different groups of sequences, not a reshuffle
    assert {tuple(sorted(b)) for b in batches} != {tuple(sorted(b)) for b in next_epoch}


def test_epoch_batches_pad_much_less_than_random_batches():
    lengths = np.random.default_rng(0).integers(50, 1000, size=3_200)

    def padded_tokens(batches: list[np.ndarray]) -> int:
        return sum(int(lengths[b].max()) * len(b) for b in batches)

    bucketed = padded_tokens(epoch_batches(lengths, 32, seed=1, epoch=0))
    shuffled = np.random.default_rng(1).permutation(len(lengths))
    random_batches = padded_tokens([shuffled[i : i + 32] for i in range(0, len(shuffled), 32)])
    real = int(lengths.sum())
    assert bucketed - real < 0.05 * real  # under 5% padding
    assert random_batches - real > 0.5 * real  # random batching pads ~90% here


def test_ordered_and_micro_batches():
    lengths = np.array([5, 3, 9, 1, 7])
    batches = ordered_batches(lengths, 2)
    assert [b.tolist() for b in batches] == [[3, 1], [0, 4], [2]]
    assert [m.tolist() for m in micro_batches(np.arange(7), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError):
        ordered_batches(lengths, 0)


def test_collate_pads_on_the_right_with_the_pad_token(tokenizer):
    rng = np.random.default_rng(2)
    split = encode_split(tokenizer, [random_dna(rng, n) for n in (40, 200, 90)], [1.5, -2.0, 0.25], max_tokens=1000)
    indices = np.array([2, 0, 1])
    batch = collate(split, indices, tokenizer.pad_token_id)
    lengths = split.lengths[indices]
    assert batch.input_ids.shape == (3, lengths.max())
    assert batch.input_ids.dtype == torch.int64
    for row, index in enumerate(indices):
        n = lengths[row]
        assert batch.input_ids[row, :n].tolist() == split.input_ids[index].tolist()
        assert (batch.input_ids[row, n:] == tokenizer.pad_token_id).all()
        assert batch.attention_mask[row].tolist() == [1] * n + [0] * (lengths.max() - n)
    assert batch.n_tokens == int(lengths.sum())
    assert batch.labels.tolist() == [0.25, 1.5, -2.0]


def test_subset_keeps_ids_labels_and_truncation_flags(tokenizer):
    rng = np.random.default_rng(3)
    split = encode_split(tokenizer, [random_dna(rng, n) for n in (20, 600, 40, 700)], [0.0, 1.0, 2.0, 3.0], 100)
    assert split.truncated.tolist() == [False, True, False, True] and split.n_truncated == 2
    part = split.subset(np.array([3, 0]))
    assert [ids.tolist() for ids in part.input_ids] == [split.input_ids[3].tolist(), split.input_ids[0].tolist()]
    assert part.labels.tolist() == [3.0, 0.0] and part.truncated.tolist() == [True, False] and len(part) == 2
