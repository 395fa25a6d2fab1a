"""k-mer occurrences counted per gene and per bin, vectorised and in bounded memory.

Every DExTER region is a union of bins, so all a k-mer needs is its count in each bin of each
gene; a region's count is then a sum over bins (`scoring.node_counts`). Counting rules are
the original's: overlapping occurrences, one strand, a window containing anything but
A/C/G/T never matches, lower case counts as upper case, and an occurrence belongs to the bin
holding its start. In compatibility mode (the default) the original's off-by-one is kept:
the k-mer starting at L − k (ending on the last base) is never counted.

Sequences are encoded once as a uint8 matrix (A0 C1 G2 T3, other 4); k-mer codes are rolling
base-4 sums computed chunk by chunk, and one `bincount` per chunk counts every requested
k-mer of a length in every bin at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from seq2expr.errors import InputError

log = logging.getLogger(__name__)

ALPHABET = "ACGT"
INVALID = 4
CHUNK_POSITIONS = 1 << 22
"""Positions per chunk (genes × window length): bounds the int64 temporaries to ~32 MB each."""
MAX_TABLE_K = 11
"""Up to this length a k-mer's index is read from a 4^k table; longer k-mers use a binary search."""

_LOOKUP = np.full(256, INVALID, dtype=np.uint8)
for _code, _letter in enumerate(ALPHABET):
    _LOOKUP[ord(_letter)] = _code
    _LOOKUP[ord(_letter.lower())] = _code


def encode_sequences(sequences: Sequence[str], source: str | Path | None = None) -> np.ndarray:
    """Encode equal-length sequences as a genes × length uint8 matrix (A0 C1 G2 T3, other 4)."""
    if not sequences:
        return np.zeros((0, 0), dtype=np.uint8)
    length = len(sequences[0])
    for row, sequence in enumerate(sequences):
        if len(sequence) != length:
            raise InputError(
                f"sequence {row + 1} is {len(sequence)} bp long, expected {length} bp like the first one", source
            )
    raw = np.frombuffer("".join(sequences).encode("ascii", errors="replace"), dtype=np.uint8)
    return _LOOKUP[raw].reshape(len(sequences), length)


def kmer_code(kmer: str) -> int:
    """Base-4 code of a k-mer, first letter most significant (AA=0, AC=1, … TT=15)."""
    code = 0
    for letter in kmer:
        position = ALPHABET.find(letter)
        if position < 0:
            raise InputError(f"k-mer {kmer!r} has a letter other than A, C, G, T")
        code = code * 4 + position
    return code


def n_starts(length: int, k: int, compat: bool) -> int:
    """Number of scanned start positions: L − k + 1, or L − k with the original's off-by-one."""
    return max(length - k + (0 if compat else 1), 0)


def chunk_codes(encoded: np.ndarray, k: int, compat: bool) -> np.ndarray:
    """k-mer code at every scanned start of every gene of a chunk; −1 where the window is invalid."""
    genes, length = encoded.shape
    starts = n_starts(length, k, compat)
    dtype = np.int32 if k <= 15 else np.int64
    codes = np.zeros((genes, starts), dtype=dtype)
    for offset in range(k):
        codes *= 4
        codes += encoded[:, offset : offset + starts]
    bad = encoded == INVALID
    if bad.any():  # rare in real windows: only then find the windows holding a non-ACGT letter
        prefix = np.zeros((genes, length + 1), dtype=np.int32)
        np.cumsum(bad, axis=1, out=prefix[:, 1:])
        codes[prefix[:, k : k + starts] != prefix[:, :starts]] = -1
    return codes


def _kmer_slots(codes: np.ndarray, wanted: np.ndarray, k: int) -> np.ndarray:
    """Index into `wanted` of every code; len(wanted) (a sink slot) where not wanted or invalid."""
    sink = len(wanted)
    if k <= MAX_TABLE_K:
        table = np.full(4**k + 1, sink, dtype=np.int64)
        table[wanted] = np.arange(sink)
        return table[codes]  # code −1 (invalid window) reads the last entry, the sink
    order = np.argsort(wanted)
    slot = np.minimum(np.searchsorted(wanted[order], codes), sink - 1)
    return np.where(wanted[order][slot] == codes, order[slot], sink)


def count_bins(
    encoded: np.ndarray,
    kmers: Sequence[str],
    position_bins: np.ndarray,
    n_bins: int,
    compat: bool,
) -> np.ndarray:
    """Counts of each k-mer (all of one length) in each bin of each gene: k-mers × genes × bins.

    One pass over the genes in chunks; each window's k-mer is mapped to its slot (a sink slot
    for k-mers not asked for), so one `bincount` per chunk counts every requested k-mer in
    every bin at once. Positions outside every bin (possible with explicit bins) go to a spare
    bin and are not reported.
    """
    genes, length = encoded.shape
    dtype = np.uint16 if length < 1 << 16 else np.uint32
    result = np.zeros((len(kmers), genes, n_bins), dtype=dtype)
    if not kmers:
        return result
    k = len(kmers[0])
    if any(len(kmer) != k for kmer in kmers):
        raise ValueError("count_bins takes k-mers of a single length")
    starts = n_starts(length, k, compat)
    if starts == 0:
        return result
    wanted = np.array([kmer_code(kmer) for kmer in kmers], dtype=np.int64)
    stride = n_bins + 1
    chunk = max(1, CHUNK_POSITIONS // length)
    for first in range(0, genes, chunk):
        block = encoded[first : first + chunk]
        rows = block.shape[0]
        cell = np.arange(rows, dtype=np.int64)[:, None] * stride + position_bins[:starts]
        flat = _kmer_slots(chunk_codes(block, k, compat), wanted, k)
        flat *= rows * stride
        flat += cell
        counts = np.bincount(flat.ravel(), minlength=(len(kmers) + 1) * rows * stride)
        result[:, first : first + rows, :] = counts.reshape(len(kmers) + 1, rows, stride)[:-1, :, :n_bins]
    return result


class BinCounts:
    """Per-k-mer bin counts for every gene, computed on request in as few passes as possible.

    Exploration asks for many k-mers of the same length at once (`prefetch`), so each length
    costs one pass over the sequences; a k-mer asked for alone still works (`get`).
    """

    def __init__(self, encoded: np.ndarray, position_bins: np.ndarray, n_bins: int, compat: bool) -> None:
        self.encoded = encoded
        self.position_bins = position_bins
        self.n_bins = n_bins
        self.compat = compat
        self._counts: dict[str, np.ndarray] = {}
        self.passes = 0

    def prefetch(self, kmers: Iterable[str]) -> None:
        """Count every k-mer not yet counted, one pass per k-mer length."""
        missing = sorted({kmer for kmer in kmers if kmer not in self._counts})
        by_length: dict[int, list[str]] = {}
        for kmer in missing:
            by_length.setdefault(len(kmer), []).append(kmer)
        for k, group in sorted(by_length.items()):
            log.debug("counting %d %d-mers in %d sequences", len(group), k, self.encoded.shape[0])
            counts = count_bins(self.encoded, group, self.position_bins, self.n_bins, self.compat)
            self.passes += 1
            for index, kmer in enumerate(group):
                self._counts[kmer] = counts[index]

    def get(self, kmer: str) -> np.ndarray:
        """genes × bins counts of one k-mer."""
        if kmer not in self._counts:
            self.prefetch([kmer])
        return self._counts[kmer]
