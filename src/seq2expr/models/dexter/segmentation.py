"""DExTER's segmentation: the bins of a window and the lattice of contiguous bin ranges.

The bins are the elementary intervals around the TSS; every DExTER region is a union of
contiguous bins (a lattice node), so a region's count is a sum of bin counts. The generators
reproduce the original's outputs exactly, quirks included (even counts bumped, fewer bins than
asked, degenerate overshoot intervals), because the region bounds name the variables; inputs
on which the original crashed or looped forever raise an `InputError` instead.

All bounds are relative to the TSS (position − tss_index) and inclusive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from seq2expr.errors import InputError

Bin = tuple[int, int]
Node = tuple[int, int]
"""A lattice node: (rank r, index c) = the union of bins c … c + r."""

_CUBE = 3
_MAX_GROWTH_STEPS = 10_000


def _grow_sides(
    length: int, tss_index: int, widths: Sequence[int]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Half-open intervals growing away from the TSS on both sides, one width per step.

    The interval that reaches a side's span is clamped to the window end; a side that overshot
    keeps adding degenerate intervals while the other side still grows (the original tests the
    remaining span for being non-zero, not positive). Both lists start with the central (0, 0).
    """
    left_limit, right_limit = -tss_index, length - tss_index - 1
    left: list[tuple[int, int]] = [(0, 0)]
    right: list[tuple[int, int]] = [(0, 0)]
    left_remaining, right_remaining = tss_index, length - tss_index
    step = 0
    while left_remaining > 0 or right_remaining > 0:
        if step >= len(widths):
            raise InputError(f"cannot segment a {length} bp window with TSS index {tss_index}: bins do not cover it")
        width = widths[step]
        step += 1
        if left_remaining:
            end = left[-1][0]
            left.append((end - width, end))
            left_remaining -= width
            if left_remaining <= 0:
                left[-1] = (left_limit, end)
        if right_remaining:
            start = right[-1][1]
            right.append((start, start + width))
            right_remaining -= width
            if right_remaining <= 0:
                right[-1] = (start, right_limit)
    return left, right


def _to_bins(left: list[tuple[int, int]], right: list[tuple[int, int]], length: int, tss_index: int) -> list[Bin]:
    """Turn the grown intervals into sorted, non-empty, inclusive bins around the 1-bp TSS bin."""
    left, right = left[1:], right[1:]
    if len(right) >= 2 and right[-2][1] == length - tss_index - 1:
        right = right[:-1]
    bins = [(a, b - 1) for a, b in left] + [(0, 0)] + [(a + 1, b) for a, b in right]
    return sorted(b for b in bins if b[0] <= b[1])


def _check_window(length: int, tss_index: int) -> None:
    if length < 3:
        raise InputError(f"windows of {length} bp are too short to segment (need at least 3 bp)")
    if not 0 < tss_index < length - 1:
        raise InputError(f"TSS index {tss_index} must leave at least one base on each side of a {length} bp window")


def polynomial_bins(requested: int, length: int, tss_index: int) -> list[Bin]:
    """DExTER's default bins: widths grow as cubes away from the TSS (finer near the TSS).

    For s = 1, 2, … both sides grow by (s+1)³, (s+2)³, … until the window is covered; the first
    s that gives at most `requested` bins (an even request is bumped to the next odd number)
    wins, so the result can hold fewer bins than asked.
    """
    _check_window(length, tss_index)
    if requested < 5:
        raise InputError(f"--bins {requested}: the polynomial segmentation needs at least 5 bins")
    limit = requested + 1 if requested % 2 == 0 else requested
    largest = max(tss_index, length - tss_index)
    for first in range(1, _MAX_GROWTH_STEPS):
        # Enough cubes to cover the larger side even if every width were the first one.
        widths = [k**_CUBE for k in range(first + 1, first + 2 + math.ceil(largest / (first + 1) ** _CUBE))]
        left, right = _grow_sides(length, tss_index, widths)
        if len(left) + len(right) - 1 <= limit:
            bins = _to_bins(left, right, length, tss_index)
            if len(bins) < 3:
                raise InputError(f"--bins {requested} gives fewer than 3 bins for a {length} bp window")
            return bins
    raise InputError(f"--bins {requested}: no polynomial segmentation found for a {length} bp window")


def uniform_bins(requested: int, length: int, tss_index: int) -> list[Bin]:
    """Bins of equal width floor(length / (n − 1)) from the TSS outwards (DExTER's `-uniform_bins`).

    The count is not honoured either (13 requested → 15 bins for 4000 bp); the caller reports
    the bins actually used. (The original's retry loop, which could only spin forever, is not
    needed: with w ≤ L/(n−1) the intervals always number at least n.)
    """
    _check_window(length, tss_index)
    if requested < 3:
        raise InputError(f"--bins {requested}: the uniform segmentation needs at least 3 bins")
    limit = requested + 1 if requested % 2 == 0 else requested
    width = length // (limit - 1)
    if width < 1:
        raise InputError(f"--bins {requested} is more than a {length} bp window can hold")
    steps = math.ceil(max(tss_index, length - tss_index) / width) + 1
    left, right = _grow_sides(length, tss_index, [width] * steps)
    return _to_bins(left, right, length, tss_index)


def explicit_bins(cut_points: Sequence[int], length: int, tss_index: int) -> list[Bin]:
    """Bins [b_i, b_(i+1) − 1] between sorted cut points relative to the TSS (`-set_bins`)."""
    cuts = sorted(cut_points)
    if len(cuts) < 2:
        raise InputError("--bin-edges needs at least two cut points")
    if len(set(cuts)) != len(cuts):
        raise InputError(f"--bin-edges {','.join(map(str, cut_points))}: cut points must be distinct")
    low, high = -tss_index, length - tss_index
    if cuts[0] < low or cuts[-1] > high:
        raise InputError(
            f"--bin-edges {','.join(map(str, cut_points))}: cut points must lie within {low}..{high} "
            f"for a {length} bp window with TSS index {tss_index}"
        )
    return [(a, b - 1) for a, b in pairwise(cuts)]


@dataclass(frozen=True)
class Lattice:
    """The bins and every contiguous range of them (nb·(nb+1)/2 nodes), ordered by rank then index.

    Node ids index the flat per-k-mer score vectors; `starts`/`ends` hold each node's
    relative bounds, `first_bin`/`last_bin` its bin range.
    """

    bins: tuple[Bin, ...]
    nodes: tuple[Node, ...] = field(init=False)
    first_bin: np.ndarray = field(init=False, repr=False)
    last_bin: np.ndarray = field(init=False, repr=False)
    starts: np.ndarray = field(init=False, repr=False)
    ends: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        nb = len(self.bins)
        nodes = tuple((rank, index) for rank in range(nb) for index in range(nb - rank))
        first = np.array([index for _, index in nodes], dtype=np.int64)
        last = np.array([index + rank for rank, index in nodes], dtype=np.int64)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "first_bin", first)
        object.__setattr__(self, "last_bin", last)
        object.__setattr__(self, "starts", np.array([self.bins[i][0] for i in first], dtype=np.int64))
        object.__setattr__(self, "ends", np.array([self.bins[i][1] for i in last], dtype=np.int64))

    @property
    def n_bins(self) -> int:
        return len(self.bins)

    @property
    def root(self) -> int:
        """Id of the whole-window node (rank nb − 1, index 0), where exploration starts."""
        return len(self.nodes) - 1

    def node_id(self, rank: int, index: int) -> int:
        """Flat id of node (rank, index): ranks are stored one after the other."""
        nb = self.n_bins
        return rank * nb - rank * (rank - 1) // 2 + index

    def bounds(self, node: int) -> Bin:
        return int(self.starts[node]), int(self.ends[node])

    def overlaps(self, a: int, b: int) -> bool:
        """Two nodes overlap when their bin ranges share a bin."""
        return bool(self.first_bin[a] <= self.last_bin[b] and self.first_bin[b] <= self.last_bin[a])

    def position_bins(self, length: int, tss_index: int) -> np.ndarray:
        """Bin index of every window position (n_bins where a position lies in no bin)."""
        relative = np.arange(length) - tss_index
        lookup = np.full(length, self.n_bins, dtype=np.int64)
        for b, (start, end) in enumerate(self.bins):
            lookup[(relative >= start) & (relative <= end)] = b
        return lookup

    def rows(self) -> list[list[str]]:
        """`start:end` of every node, one list per rank (the spec's lattice tables)."""
        return [
            [
                f"{self.starts[self.node_id(rank, index)]}:{self.ends[self.node_id(rank, index)]}"
                for index in range(self.n_bins - rank)
            ]
            for rank in range(self.n_bins)
        ]


def make_bins(
    mode: str, requested: int, length: int, tss_index: int, cut_points: Sequence[int] | None = None
) -> list[Bin]:
    """Bins for one of the three segmentation modes: polynomial (default), uniform or explicit."""
    if cut_points:
        return explicit_bins(cut_points, length, tss_index)
    if mode == "polynomial":
        return polynomial_bins(requested, length, tss_index)
    if mode == "uniform":
        return uniform_bins(requested, length, tss_index)
    raise InputError(f"unknown bin mode {mode!r}; expected polynomial or uniform")
