"""Region counts by prefix sums over bins and |Spearman ρ| of all regions by one matrix product."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata, spearmanr

from seq2expr.models.dexter.counting import BinCounts, encode_sequences
from seq2expr.models.dexter.scoring import Scorer, abs_spearman, centred_ranks, node_counts
from seq2expr.models.dexter.segmentation import Lattice


def test_centred_ranks_are_twice_the_average_ranks() -> None:
    rng = np.random.default_rng(1)
    for values in (rng.integers(0, 4, size=50), rng.normal(size=50).round(1), np.zeros(5)):
        np.testing.assert_array_equal(centred_ranks(values), 2 * rankdata(values) - (len(values) + 1))


def test_abs_spearman_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    target = rng.normal(size=300)
    target[:40] = -3.0  # the expression floor: many ties
    counts = rng.poisson(lam=rng.uniform(0.1, 5, size=12), size=(300, 12))
    counts[:, 3] = 0  # constant column: undefined ρ counts as 0
    counts[:, 4] = counts[:, 5] + 0
    scores = abs_spearman(counts, centred_ranks(target))
    expected = [abs(spearmanr(counts[:, j], target)[0]) if j != 3 else 0.0 for j in range(12)]
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-15)
    assert scores[4] == scores[5]


def test_equal_rank_vectors_give_bit_identical_scores() -> None:
    """Tie-breaking among regions must not depend on summation order: equal ranks, equal bits."""
    rng = np.random.default_rng(3)
    column = rng.integers(0, 9, size=1001)
    counts = np.column_stack([column, rng.integers(0, 9, size=1001), column * 3 + 1, column])
    scores = abs_spearman(counts, centred_ranks(rng.normal(size=1001)))
    assert scores[0] == scores[2] == scores[3]


def test_node_counts_sum_the_bins_of_each_region() -> None:
    lattice = Lattice(((-3, -2), (-1, -1), (0, 0), (1, 4)))
    bins = np.array([[1, 2, 3, 4], [0, 5, 0, 7]], dtype=np.uint16)
    counts = node_counts(bins, lattice)
    for node, (rank, index) in enumerate(lattice.nodes):
        np.testing.assert_array_equal(counts[:, node], bins[:, index : index + rank + 1].sum(axis=1))


def test_scorer_uses_training_genes_only_and_short_kmers_score_zero() -> None:
    rng = np.random.default_rng(4)
    sequences = ["".join(rng.choice(list("ACGT"), size=40)) for _ in range(60)]
    lattice = Lattice(((-20, -1), (0, 0), (1, 19)))
    store = BinCounts(encode_sequences(sequences), lattice.position_bins(40, 20), lattice.n_bins, compat=True)
    training = np.arange(0, 60, 2)
    target = rng.normal(size=60)
    scorer = Scorer(store, training, target[training], lattice)
    whole = [s[:-1].count("CG") for s in sequences]  # compat: the CG ending on the last base is not counted
    expected = abs(spearmanr(np.array(whole)[training], target[training])[0])
    assert np.isclose(scorer.scores("CG")[lattice.root], expected)
    assert not scorer.scores("A").any()
    assert scorer.n_scored == 2
