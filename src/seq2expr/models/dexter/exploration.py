"""DExTER's exploration: grow k-mers and pick regions where they correlate with expression.

Starting from the 16 dinucleotides on the whole window, each processed domain (k-mer, node)
selects the best non-overlapping nodes of its k-mer's lattice, and every selected node is
extended by one letter on each side. An extension survives only if it is significantly better
than both of its (k−1)-sub-words on the same node. The rules, their order and their quirks
follow the original exactly (spec §5), since the variable list depends on them:
breadth-first by k-mer length and FIFO within a length, first insertion wins in `done`,
candidates from the whole lattice with ties broken by smaller rank then leftmost index.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from seq2expr.models.dexter.segmentation import Lattice

log = logging.getLogger(__name__)

NUCLEOTIDES = "ATGC"
"""The original's alphabet order: roots AA AT AG AC TA …, extensions w+A, A+w, w+T, T+w, …"""
ROOTS = tuple(a + b for a in NUCLEOTIDES for b in NUCLEOTIDES)

Key = tuple[str, int]
"""A domain's identity: (k-mer, flat node id)."""


class NodeScorer(Protocol):
    """What exploration needs from the data: |ρ| of every node for a k-mer."""

    def scores(self, kmer: str) -> np.ndarray: ...

    def prefetch(self, kmers: list[str]) -> None: ...


@dataclass(frozen=True)
class ExplorationParams:
    """Thresholds, as the original's options of the same names (defaults = the study's)."""

    correlation_increase: float = 0.01
    correlation_increase_ratio: float = 0.10
    correlation_min: float = 0.0
    kmer_max_length: int = 0
    """0 = no limit."""


@dataclass(frozen=True)
class Variable:
    """A selected (k-mer, region) pair with how it was found."""

    kmer: str
    node: int
    correlation: float
    parent: Key | None
    origin: str
    """`root`, `extension` (a processed, valid longer k-mer) or `region` (a selected sub-region)."""


@dataclass(frozen=True)
class Step:
    """Progress after one processed domain."""

    key: Key
    processed: int
    queued: int
    kmer_length: int
    best: float


def significantly_better(a: float, b: float, params: ExplorationParams) -> bool:
    """Margin test M(a, b): a beats b by the absolute increase and (when b > 0) the ratio."""
    if b == 0:
        return a >= params.correlation_increase
    return not ((a - b) / b < params.correlation_increase_ratio or (a - b) < params.correlation_increase)


def passes_control(a: float, b: float, params: ExplorationParams) -> bool:
    """Child control test C(a, b): against a zero control any non-zero score passes."""
    if b == 0:
        return a != 0
    return significantly_better(a, b, params)


class Exploration:
    """The exploration state; `steps()` runs it one domain at a time, `variables()` reads the result."""

    def __init__(self, scorer: NodeScorer, lattice: Lattice, params: ExplorationParams) -> None:
        self.scorer = scorer
        self.lattice = lattice
        self.params = params
        self._queues: dict[int, deque[Key]] = {}
        self._queued: dict[Key, tuple[Key | None, str]] = {}
        self._done: dict[Key, tuple[bool, Key | None, str]] = {}
        self._prefetched_length = 0
        self._best = 0.0
        for root in ROOTS:
            self._enqueue((root, lattice.root), None, "root")

    def _enqueue(self, key: Key, parent: Key | None, origin: str) -> None:
        self._queues.setdefault(len(key[0]), deque()).append(key)
        self._queued[key] = (parent, origin)

    def _mark_done(self, key: Key, valid: bool, parent: Key | None, origin: str) -> None:
        """First insertion wins: a key already done keeps its flag and its parent."""
        self._done.setdefault(key, (valid, parent, origin))

    def _score(self, kmer: str, node: int) -> float:
        return float(self.scorer.scores(kmer)[node])

    def _prefetch(self, length: int) -> None:
        """Count every k-mer of this length in the queue, and their sub-words, in one pass each."""
        kmers = {kmer for kmer, _ in self._queues[length]}
        kmers |= {kmer[1:] for kmer in kmers} | {kmer[:-1] for kmer in kmers}
        self.scorer.prefetch(sorted(kmers))
        self._prefetched_length = length

    def _is_valid(self, kmer: str, node: int, score: float) -> bool:
        """An extension must beat both (k−1)-sub-words (its parent is one of them) on its node."""
        return all(
            significantly_better(score, self._score(control, node), self.params) for control in (kmer[1:], kmer[:-1])
        )

    def _select(self, kmer: str, score: float) -> list[int]:
        """Greedy, non-overlapping choice among all nodes scoring at least `score`."""
        scores = self.scorer.scores(kmer)
        candidates = np.flatnonzero(scores >= score)
        # Stable sort: score descending, then the node order (rank, then index) breaks ties.
        candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
        controls = (self.scorer.scores(kmer[1:]), self.scorer.scores(kmer[:-1]))
        selected: list[int] = []
        for node in map(int, candidates):
            if any(self.lattice.overlaps(node, other) for other in selected):
                continue
            value = float(scores[node])
            if all(passes_control(value, float(control[node]), self.params) for control in controls):
                selected.append(node)
        return selected

    def _process(self, key: Key, origin: str) -> tuple[bool, list[tuple[Key, Key]]]:
        """Validity of one domain and the extensions it creates, as (new key, parent key) pairs."""
        kmer, node = key
        score = self._score(kmer, node)
        if origin != "root" and not self._is_valid(kmer, node, score):
            return False, []
        self._best = max(self._best, score)
        if score < self.params.correlation_min:
            return True, []
        extensions: list[tuple[Key, Key]] = []
        max_length = self.params.kmer_max_length
        for selected in self._select(kmer, score):
            if selected != node:
                self._mark_done((kmer, selected), True, key, "region")
            if max_length == 0 or len(kmer) < max_length:
                for letter in NUCLEOTIDES:
                    extensions.append(((kmer + letter, selected), (kmer, selected)))
                    extensions.append(((letter + kmer, selected), (kmer, selected)))
        return True, extensions

    def steps(self) -> Iterator[Step]:
        """Process the queue, shortest k-mers first and first-in first-out within a length."""
        processed = 0
        while self._queued:
            length = min(k for k, queue in self._queues.items() if queue)
            if length != self._prefetched_length:
                log.info(
                    "exploring %d-mers: %d domains queued, %d domains done, best |rho| so far %.4f",
                    length,
                    len(self._queues[length]),
                    len(self._done),
                    self._best,
                )
                self._prefetch(length)
            key = self._queues[length].popleft()
            parent, origin = self._queued.pop(key)
            valid, extensions = self._process(key, origin)
            self._mark_done(key, valid, parent, origin)
            for new_key, new_parent in extensions:
                if new_key not in self._queued and new_key not in self._done:
                    self._enqueue(new_key, new_parent, "extension")
            processed += 1
            yield Step(key, processed, len(self._queued), length, self._best)

    def variables(self) -> list[Variable]:
        """Every valid key in `done`, sorted by k-mer then region start then end."""
        found = [
            Variable(kmer, node, self._score(kmer, node), parent, origin)
            for (kmer, node), (valid, parent, origin) in self._done.items()
            if valid
        ]
        starts, ends = self.lattice.starts, self.lattice.ends
        return sorted(found, key=lambda v: (v.kmer, int(starts[v.node]), int(ends[v.node])))

    @property
    def n_done(self) -> int:
        return len(self._done)
