"""Exploration rules of spec §5 on hand-made score tables (a 3-bin lattice, 6 nodes).

Node ids: 0 = bin 0, 1 = bin 1, 2 = bin 2, 3 = bins 0–1, 4 = bins 1–2, 5 = all (the root).
Unlisted k-mers score 0 everywhere, like k-mers that never correlate.
"""

from __future__ import annotations

import numpy as np
import pytest

from seq2expr.models.dexter.exploration import (
    ROOTS,
    Exploration,
    ExplorationParams,
    passes_control,
    significantly_better,
)
from seq2expr.models.dexter.segmentation import Lattice

LATTICE = Lattice(((-2, -1), (0, 0), (1, 2)))
PARAMS = ExplorationParams()


class TableScorer:
    """Scores from a dict; records prefetch calls to check one counting pass per length."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = {kmer: np.array(values, dtype=float) for kmer, values in table.items()}
        self.prefetched: list[list[str]] = []

    def scores(self, kmer: str) -> np.ndarray:
        return self.table.get(kmer, np.zeros(6))

    def prefetch(self, kmers: list[str]) -> None:
        self.prefetched.append(kmers)


def explore(table: dict[str, list[float]], params: ExplorationParams = PARAMS):
    scorer = TableScorer(table)
    exploration = Exploration(scorer, LATTICE, params)
    order = [step.key for step in exploration.steps()]
    found = {(v.kmer, v.node): v for v in exploration.variables()}
    return found, order, scorer


def non_roots(found):
    return {key: v for key, v in found.items() if v.origin != "root"}


def test_margin_and_control_tests() -> None:
    assert significantly_better(0.011, 0, PARAMS) and not significantly_better(0.009, 0, PARAMS)
    assert significantly_better(0.34, 0.3, PARAMS)  # +13 %, +0.04
    assert not significantly_better(0.32, 0.3, PARAMS)  # +0.02 but only +7 %
    assert significantly_better(0.05, 0.03, PARAMS)
    assert not significantly_better(0.035, 0.03, PARAMS)  # +17 % but only +0.005
    assert passes_control(0.001, 0, PARAMS) and not passes_control(0.0, 0, PARAMS)
    assert not passes_control(0.32, 0.3, PARAMS)


def test_no_signal_keeps_only_the_roots() -> None:
    found, order, scorer = explore({})
    assert sorted(found) == sorted((root, 5) for root in ROOTS)
    assert order == [(root, 5) for root in ROOTS]  # AA AT AG AC TA … : alphabet A, T, G, C
    assert len(scorer.prefetched) == 1


def test_candidates_ties_overlap_and_sub_regions() -> None:
    """Whole-lattice candidates ≥ the domain's score, best first; ties → smaller rank, then leftmost."""
    found, _, _ = explore({"AC": [0.1, 0.3, 0.3, 0.3, 0.3, 0.1]})
    # Sorted: 1, 2 (rank 0), 3, 4 (rank 1, overlap 1 or 2), then 0 (0.1 ≥ 0.1, free), 5 (overlaps).
    assert sorted(non_roots(found)) == [("AC", 0), ("AC", 1), ("AC", 2)]
    assert all(v.origin == "region" and v.parent == ("AC", 5) for v in non_roots(found).values())
    found, _, _ = explore({"AC": [0.2] * 6})
    assert sorted(non_roots(found)) == [("AC", 0), ("AC", 1), ("AC", 2)]  # not the root (rank 2) first


def test_extensions_fifo_by_length_and_validity() -> None:
    table = {
        "AA": [0.3, 0.1, 0.25, 0.2, 0.1, 0.2],
        # AAT on bin 0 beats AA (0.3) and AT (0); its best node is bin 2, outside bin 0.
        "AAT": [0.5, 0.0, 0.6, 0.0, 0.0, 0.0],
        # TAA on bin 0 is not 10 % better than AA: invalid.
        "TAA": [0.32, 0.0, 0.0, 0.0, 0.0, 0.0],
    }
    found, order, scorer = explore(table)
    roots = [(root, 5) for root in ROOTS]
    # AA selects bins 0 and 2 (nodes 3 and 5 overlap bin 0); extensions per selected node,
    # w+A, A+w, w+T, T+w, w+G, G+w, w+C, C+w, duplicates (AAA twice) queued once.
    threes = ["AAA", "AAT", "TAA", "AAG", "GAA", "AAC", "CAA"]
    expected_3 = [(w, 0) for w in threes] + [(w, 2) for w in threes]
    assert order[:16] == roots
    assert order[16 : 16 + len(expected_3)] == expected_3
    # AAT at bin 0 selects bin 2 then bin 0 (whole lattice, best first): its 4-mers come in that order.
    fours = order[16 + len(expected_3) :]
    assert fours[:2] == [("AATA", 2), ("AAAT", 2)] and ("AATA", 0) in fours
    assert [len(kmer) for kmer, _ in order] == sorted(len(kmer) for kmer, _ in order)
    assert ("TAA", 0) not in found and ("AAA", 0) not in found
    assert found[("AAT", 0)].origin == "extension" and found[("AAT", 0)].parent == ("AA", 0)
    # (AAT, bin 2) was selected as a sub-region before its own turn came: first insertion wins,
    # it keeps that origin and parent, and it is still processed once (not queued twice).
    assert found[("AAT", 2)].origin == "region" and found[("AAT", 2)].parent == ("AAT", 0)
    assert order.count(("AAT", 2)) == 1
    assert [max(map(len, kmers)) for kmers in scorer.prefetched] == [2, 3, 4]  # one prefetch per length


def test_kmer_max_length_stops_extension() -> None:
    table = {"AA": [0.3, 0.1, 0.25, 0.2, 0.1, 0.2], "AAT": [0.5, 0.0, 0.6, 0.0, 0.0, 0.0]}
    _, order, _ = explore(table, ExplorationParams(kmer_max_length=3))
    assert max(len(kmer) for kmer, _ in order) == 3
    _, order, _ = explore(table, ExplorationParams(kmer_max_length=2))
    assert max(len(kmer) for kmer, _ in order) == 2


@pytest.mark.parametrize("minimum", [0.0, 0.25])
def test_correlation_min_stops_weak_branches(minimum: float) -> None:
    found, _, _ = explore({"AA": [0.3, 0.1, 0.25, 0.2, 0.1, 0.2]}, ExplorationParams(correlation_min=minimum))
    assert (("AA", 0) in found) == (minimum == 0.0)
