"""The exploration score: |Spearman ρ| between a k-mer's region counts and expression.

DExTER scores a (k-mer, region) pair by the absolute Spearman correlation, over all training
genes, between the raw counts of the k-mer in the region and the log expression (average
ranks for ties; undefined → 0). Here all regions of a k-mer are scored at once: region
counts come from cumulative sums over the bins, the count matrix is ranked column-wise by
counting (counts are small integers), and the correlations are one matrix product.

Ranks are kept as exact integers (twice the centred average rank), so every sum is exact in
float64 and equal rank vectors always get bit-identical scores: the exploration's
tie-breaking then depends on the data only, never on summation order.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from seq2expr.models.dexter.counting import BinCounts
from seq2expr.models.dexter.segmentation import Lattice

MIN_KMER_LENGTH = 2
"""Shorter k-mers score 0 by definition (they are the controls of the 2-mer roots)."""


def node_counts(bin_counts: np.ndarray, lattice: Lattice) -> np.ndarray:
    """genes × nodes counts: a node's count is the sum of its bins, by prefix sums over bins."""
    prefix = np.zeros((bin_counts.shape[0], lattice.n_bins + 1), dtype=np.int64)
    np.cumsum(bin_counts, axis=1, out=prefix[:, 1:])
    return prefix[:, lattice.last_bin + 1] - prefix[:, lattice.first_bin]


def centred_ranks(values: np.ndarray) -> np.ndarray:
    """Twice the centred average rank of each value, as exact integers.

    For n values, 2·rank − (n + 1) with ties averaged equals 2·(number below) + (number tied) − n.
    """
    _, inverse, tied = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(tied) - tied
    return (2 * below[inverse] + tied[inverse] - len(values)).astype(np.int64)


def abs_spearman(counts: np.ndarray, target_ranks: np.ndarray) -> np.ndarray:
    """|Spearman ρ| of every column of a non-negative integer `counts` matrix with a target.

    `target_ranks` are the target's `centred_ranks`. Works on the table of distinct values per
    column: a value's centred rank comes from the counts below and tied, the covariance is the
    sum over values of that rank times the summed target ranks of the genes holding it, and the
    variance follows from the tie sizes, Σ(2r − n − 1)² = (n³ − n − Σ(t³ − t)) / 3. Every
    quantity is an integer below 2^53, hence exact. Constant columns (or target) score 0, as the
    original's NaN → 0.
    """
    n, columns = counts.shape
    if n == 0 or columns == 0:
        return np.zeros(columns, dtype=np.float64)
    if not np.issubdtype(counts.dtype, np.integer) or counts.min() < 0:
        raise ValueError("abs_spearman takes non-negative integer counts")
    width = int(counts.max()) + 1
    keys = (counts.T.astype(np.int64) + (np.arange(columns, dtype=np.int64) * width)[:, None]).ravel()
    tied = np.bincount(keys, minlength=columns * width).reshape(columns, width)
    target = target_ranks.astype(np.float64)
    target_sums = np.bincount(keys, weights=np.tile(target, columns), minlength=columns * width)
    below = np.cumsum(tied, axis=1) - tied
    value_ranks = (2 * below + tied - n).astype(np.float64)
    covariance = np.einsum("ij,ij->i", value_ranks, target_sums.reshape(columns, width))
    tie_terms = (tied.astype(np.int64) ** 3 - tied).sum(axis=1)
    spread_counts = (n**3 - n - tie_terms) / 3
    spread_target = float(target @ target)
    scores = np.zeros(columns, dtype=np.float64)
    defined = (spread_counts > 0) & (spread_target > 0)
    scores[defined] = np.abs(covariance[defined]) / (np.sqrt(spread_counts[defined]) * np.sqrt(spread_target))
    return np.minimum(scores, 1.0)


class Scorer:
    """|ρ| of every lattice node for any k-mer, over the training genes, cached per k-mer."""

    def __init__(self, counts: BinCounts, training_rows: np.ndarray, target: np.ndarray, lattice: Lattice) -> None:
        self.counts = counts
        self.training_rows = training_rows
        self.target_ranks = centred_ranks(np.asarray(target, dtype=np.float64))
        self.lattice = lattice
        self._scores: dict[str, np.ndarray] = {}

    def prefetch(self, kmers: Iterable[str]) -> None:
        """Count all these k-mers in one pass per length before they are scored one by one."""
        self.counts.prefetch(kmer for kmer in kmers if len(kmer) >= MIN_KMER_LENGTH)

    def scores(self, kmer: str) -> np.ndarray:
        """Scores of all nodes (flat node ids) for one k-mer."""
        cached = self._scores.get(kmer)
        if cached is not None:
            return cached
        if len(kmer) < MIN_KMER_LENGTH:
            result = np.zeros(len(self.lattice.nodes), dtype=np.float64)
        else:
            bins = self.counts.get(kmer)[self.training_rows]
            result = abs_spearman(node_counts(bins, self.lattice), self.target_ranks)
        result.setflags(write=False)
        self._scores[kmer] = result
        return result

    @property
    def n_scored(self) -> int:
        return len(self._scores)
