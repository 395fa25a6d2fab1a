"""Science test (b) of issue 15: the `unseen` stratum detects a model that memorises sequence.

A synthetic set with planted near-copies: 200 families of three genes (a random 600 bp window and
two copies with 3 % of bases mutated; the family shares its expression up to small noise) and 200
unrelated singletons. Under a random gene-level split (DExTER's draw) most families straddle
train and test. A memorising model, the nearest training gene by 4-mer profile, then scores high
on all test genes, but only because of the near-copies: on the unseen test genes (no train or val
gene in their group) it is near zero. The groups come from `seq2expr.data.similarity.group_genes`, the
step that makes `gene_groups.tsv`, and must recover the planted families.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest

from seq2expr.data.dataset import dexter_split, grouped_split
from seq2expr.data.similarity import GroupingSpec, group_genes
from seq2expr.evaluation.metrics import metrics_table
from seq2expr.evaluation.runs import group_models
from seq2expr.evaluation.strata import gene_strata
from seq2expr.io.predictions import make_predictions

#: One pytest-xdist worker runs this module (--dist loadgroup):
#: its module-scoped `planted` grouping is computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("leakage")

FAMILIES, COPIES, SINGLETONS, LENGTH, MUTATION = 200, 3, 200, 600, 0.03
KMERS = {"".join(kmer): index for index, kmer in enumerate(product("ACGT", repeat=4))}


def planted_set(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str]]:
    """gene_id, sequence, target and the planted family of each gene (in a shuffled gene order)."""
    rows = []
    for family in range(FAMILIES):
        original = rng.choice(list("ACGT"), LENGTH)
        level = rng.normal()
        for copy in range(COPIES):
            sequence = original.copy()
            if copy:
                mutated = rng.random(LENGTH) < MUTATION
                sequence[mutated] = rng.choice(list("ACGT"), int(mutated.sum()))
            rows.append(("".join(sequence), level + rng.normal(scale=0.2), f"F{family}"))
    for single in range(SINGLETONS):
        rows.append(("".join(rng.choice(list("ACGT"), LENGTH)), rng.normal(), f"S{single}"))
    order = rng.permutation(len(rows))
    table = pd.DataFrame(
        [rows[i] for i in order],
        columns=["sequence", "target", "family"],
        index=[f"g{i:04d}" for i in range(len(rows))],
    )
    return table.rename_axis("gene_id"), dict(zip(table.index, table.pop("family"), strict=True))


def kmer_profiles(sequences: pd.Series) -> np.ndarray:
    """Normalised 4-mer counts of each sequence."""
    profiles = np.zeros((len(sequences), len(KMERS)))
    for row, sequence in enumerate(sequences):
        for start in range(len(sequence) - 3):
            profiles[row, KMERS[sequence[start : start + 4]]] += 1
    return profiles / np.linalg.norm(profiles, axis=1, keepdims=True)


def memorise(table: pd.DataFrame, splits: pd.Series) -> np.ndarray:
    """Each gene's prediction: the target of the most similar train/val gene by 4-mer profile (not itself)."""
    profiles = kmer_profiles(table["sequence"])
    similarity = profiles @ profiles.T
    np.fill_diagonal(similarity, -np.inf)
    similarity[:, ~splits.isin(["train", "val"]).to_numpy()] = -np.inf
    return table["target"].to_numpy()[np.argmax(similarity, axis=1)]


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, dict[str, str], pd.Series]:
    table, families = planted_set(np.random.default_rng(15))
    groups = group_genes(list(table.index), table["sequence"].to_dict(), None, GroupingSpec(threads=1))
    return table, families, groups.set_index("gene_id")["group"]


def test_the_groups_recover_the_planted_families(planted) -> None:
    _, families, groups = planted
    planted_groups = pd.Series(families).groupby(groups).nunique()
    assert (planted_groups == 1).all(), "a group joins two planted families"
    assert pd.Series(groups).groupby(pd.Series(families)).nunique().max() == 1, "a family is split across groups"


def evaluate(table: pd.DataFrame, splits: pd.Series, groups: pd.Series) -> pd.DataFrame:
    predictions = make_predictions(table.index, splits, table["target"], memorise(table, splits), "memoriser")
    models = group_models([("memoriser.tsv", predictions)])
    strata = gene_strata(splits, groups=groups)
    return metrics_table(models, 1000, seed=1, strata=strata).set_index(["split", "stratum"])


def test_a_memorising_model_scores_on_all_test_genes_but_not_on_unseen_ones(planted) -> None:
    table, _, groups = planted
    splits = pd.Series(dexter_split(len(table)), index=table.index)
    metrics = evaluate(table, splits, groups)
    everything, unseen = metrics.loc[("test", "all")], metrics.loc[("test", "unseen")]
    # Most test genes have a near-copy in training: the memoriser looks good...
    assert everything["pearson"] > 0.5 and everything["pearson_ci_low"] > 0.3
    # ...but on the test genes without one it has learnt nothing.
    assert unseen["n"] >= 50
    assert abs(unseen["pearson"]) < 0.2
    assert unseen["pearson_ci_low"] < 0 < unseen["pearson_ci_high"]


def test_a_grouped_split_leaves_the_memoriser_nothing_to_recall(planted) -> None:
    table, _, groups = planted
    splits = pd.Series(grouped_split(groups.reindex(table.index).tolist()), index=table.index)
    metrics = evaluate(table, splits, groups)
    everything = metrics.loc[("test", "all")]
    assert ("test", "unseen") not in metrics.index  # every test gene is unseen: the stratum would repeat all
    assert everything["pearson_ci_low"] < 0 < everything["pearson_ci_high"]
