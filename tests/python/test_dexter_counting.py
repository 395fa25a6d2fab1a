"""k-mer counting: the original's rules (overlaps, one strand, N never matches, the last-window quirk)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from seq2expr.errors import InputError
from seq2expr.models.dexter import counting
from seq2expr.models.dexter.counting import BinCounts, count_bins, encode_sequences, kmer_code


def naive_starts(sequence: str, kmer: str, compat: bool) -> list[int]:
    """Occurrence starts the slow obvious way (upper-cased; compat drops the start L − k)."""
    sequence = sequence.upper()
    last = len(sequence) - len(kmer) - (1 if compat else 0)
    return [p for p in range(last + 1) if sequence[p : p + len(kmer)] == kmer]


def starts_from_counts(sequence: str, kmer: str, compat: bool) -> list[int]:
    """Occurrence starts recovered from per-position bins (one bin per base)."""
    encoded = encode_sequences([sequence])
    length = len(sequence)
    counts = count_bins(encoded, [kmer], np.arange(length), length, compat)
    return [int(p) for p in np.flatnonzero(counts[0, 0])]


def test_original_parser_example() -> None:
    """Spec §4: in AAAACGTNAAGGAA the original reports AA at 0, 1, 2, 8 (not 12), AAGG at 8, no GGAA."""
    sequence = "AAAACGTNAAGGAA"
    assert starts_from_counts(sequence, "AA", compat=True) == [0, 1, 2, 8]
    assert starts_from_counts(sequence, "AAGG", compat=True) == [8]
    assert starts_from_counts(sequence, "GGAA", compat=True) == []
    assert starts_from_counts(sequence, "AA", compat=False) == [0, 1, 2, 8, 12]
    assert starts_from_counts(sequence, "GGAA", compat=False) == [10]
    with pytest.raises(InputError, match="other than A, C, G, T"):
        starts_from_counts(sequence, "GTNA", compat=False)


def test_fourteen_as() -> None:
    assert len(starts_from_counts("A" * 14, "AA", compat=True)) == 12
    assert len(starts_from_counts("A" * 14, "AA", compat=False)) == 13


def test_lower_case_counts_and_other_letters_never_match() -> None:
    assert starts_from_counts("acgtACGT", "GTAC", compat=False) == [2]
    assert starts_from_counts("ACRTACGT", "ACGT", compat=False) == [4]
    assert encode_sequences(["ACGTNn-R"]).tolist() == [[0, 1, 2, 3, 4, 4, 4, 4]]


def test_unequal_lengths_are_an_error() -> None:
    with pytest.raises(InputError, match="sequence 2 is 3 bp long, expected 4 bp"):
        encode_sequences(["ACGT", "ACG"])


def test_kmer_codes() -> None:
    assert kmer_code("AA") == 0 and kmer_code("AC") == 1 and kmer_code("TT") == 15 and kmer_code("CA") == 4
    with pytest.raises(InputError):
        kmer_code("ANA")


@pytest.mark.parametrize("compat", [True, False])
@pytest.mark.parametrize("k", [2, 3, 5, 13])
def test_bin_counts_equal_naive_counts(k: int, compat: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random sequences with N runs, uneven bins, a gap outside every bin, several chunks."""
    monkeypatch.setattr(counting, "CHUNK_POSITIONS", 300)  # force many small chunks
    rng = random.Random(k)
    length = 120
    sequences = ["".join(rng.choice("AACGTTN" if g % 5 == 0 else "ACGT") for _ in range(length)) for g in range(23)]
    kmers = sorted({s[p : p + k] for s in sequences for p in range(0, length - k, 7)} - {""})
    kmers = [*[w for w in kmers if "N" not in w][:40], "A" * k]
    kmers = sorted(set(kmers))
    bins = [(0, 9), (10, 49), (50, 50), (51, 99), (110, 119)]  # positions 100–109 lie in no bin
    position_bins = np.full(length, len(bins))
    for b, (start, end) in enumerate(bins):
        position_bins[start : end + 1] = b
    counts = count_bins(encode_sequences(sequences), kmers, position_bins, len(bins), compat)
    expected = np.zeros((len(kmers), len(sequences), len(bins)), dtype=int)
    for i, kmer in enumerate(kmers):
        for g, sequence in enumerate(sequences):
            for p in naive_starts(sequence, kmer, compat):
                if position_bins[p] < len(bins):
                    expected[i, g, position_bins[p]] += 1
    np.testing.assert_array_equal(counts, expected)
    assert expected.sum() > 0


def test_bin_counts_cache_counts_each_length_once() -> None:
    sequences = ["ACGTACGTAA", "TTTTACGTAC"]
    store = BinCounts(encode_sequences(sequences), np.zeros(10, dtype=np.int64), 1, compat=True)
    store.prefetch(["AC", "GT", "ACG", "CGT", "AC"])
    assert store.passes == 2
    assert store.get("AC")[:, 0].tolist() == [2, 1]  # compat: the AC ending on the last base is skipped
    assert store.get("ACG")[:, 0].tolist() == [2, 1]
    assert store.passes == 2
    store.get("TTTT")
    assert store.passes == 3 and store.get("TTTT")[:, 0].tolist() == [0, 1]
