"""Gene groups: planted near-copies and overlapping windows are found, a soft-masked repeat shared by
many promoters chains nothing, and the real development set's known cases come out as measured."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import shared_path

from seq2expr.data import similarity
from seq2expr.data.similarity import (
    GROUP_COLUMNS,
    GroupingSpec,
    Link,
    check_groups_cover,
    group_genes,
    groups_table,
    homology_links,
    mask_repeats,
    overlap_links,
    read_gene_groups,
    summary_counts,
    unseen_test_genes,
)
from seq2expr.data.synthetic import similarity_set
from seq2expr.errors import InputError
from seq2expr.io.genome import read_sequences
from seq2expr.io.tables import write_tsv


def found_groups(groups: pd.DataFrame) -> list[set[str]]:
    return [set(members) for _, members in groups.groupby("group")["gene_id"] if len(members) > 1]


def canonical(groups: list[set[str]]) -> list[list[str]]:
    return sorted(sorted(group) for group in groups)


@pytest.mark.parametrize("seed", [1, 2])
def test_planted_near_copies_and_overlaps_are_grouped_and_the_masked_repeat_chains_nothing(seed: int) -> None:
    planted = similarity_set(240, 2001, n_paralogs=24, n_overlaps=12, n_repeat_carriers=50, seed=seed)
    groups = group_genes(list(planted.sequences), planted.sequences, planted.coordinates, GroupingSpec())
    assert groups["gene_id"].tolist() == list(planted.sequences)  # every gene exactly once, in order
    assert canonical(found_groups(groups)) == canonical(planted.planted)  # all recovered, no false merge
    carriers = groups.set_index("gene_id").loc[planted.repeat_carriers]
    assert (carriers["reason"] == "singleton").all()
    linked = groups[groups["reason"] != "singleton"]
    assert set(linked["reason"]) <= {"overlap", "homology", "overlap+homology"}
    assert (linked["identity"].between(0.04, 1.0)).all() and linked["partner"].ne("").all()
    assert {"overlap", "homology"} <= set(linked["reason"].str.split("+").explode())


def test_the_repeat_would_chain_its_carriers_if_it_were_not_masked() -> None:
    """The test above can fail: the same set in upper case links every repeat carrier into one group."""
    planted = similarity_set(240, 2001, n_paralogs=24, n_overlaps=12, n_repeat_carriers=50, seed=1)
    upper = {gene: sequence.upper() for gene, sequence in planted.sequences.items()}
    groups = group_genes(list(upper), upper, planted.coordinates, GroupingSpec())
    carrier_groups = groups.set_index("gene_id").loc[planted.repeat_carriers, "group"]
    assert carrier_groups.nunique() == 1


def test_divergent_copies_below_the_identity_threshold_are_not_linked() -> None:
    planted = similarity_set(60, 2001, n_paralogs=10, n_overlaps=0, n_repeat_carriers=0, seed=4)
    strict = group_genes(list(planted.sequences), planted.sequences, None, GroupingSpec(min_identity=0.999))
    assert found_groups(strict) == []


def test_one_process_and_several_find_the_same_links(monkeypatch: pytest.MonkeyPatch) -> None:
    planted = similarity_set(80, 2001, n_paralogs=12, n_overlaps=0, n_repeat_carriers=10, seed=5)
    one = homology_links(planted.sequences, GroupingSpec(threads=1))
    monkeypatch.setattr(similarity, "PARALLEL_MIN_GENES", 0)
    three = homology_links(planted.sequences, GroupingSpec(threads=3))
    assert one == three and len(one) >= 12


def test_overlap_needs_the_same_chromosome_and_an_intersection_on_either_strand() -> None:
    coordinates = pd.DataFrame(
        {
            "gene_id": ["a", "b", "c", "d", "e"],
            "chrom": ["chr1", "chr1", "chr1", "chr2", "chr1"],
            "start": [0, 900, 1000, 950, 5000],
            "end": [1000, 1900, 2000, 1950, 6000],
        }
    )
    lengths = dict.fromkeys("abcde", 1000)
    links = {(link.gene_a, link.gene_b): link.shared for link in overlap_links(coordinates, lengths)}
    # a-b share 100 bp, b-c 900 bp; a and c only touch (half-open), d is on another chromosome.
    assert links == {("a", "b"): 100, ("b", "c"): 900}


def test_groups_table_reason_partner_and_first_gene_as_group_id() -> None:
    links = [
        Link("b", "c", "homology", 800, 0.8),
        Link("c", "d", "overlap", 300, 0.3),
        Link("b", "d", "overlap", 10, 0.01),
    ]
    table = groups_table(["a", "b", "c", "d"], links).set_index("gene_id")
    assert table["group"].tolist() == ["a", "b", "b", "b"]
    assert table["reason"].tolist() == ["singleton", "overlap+homology", "overlap+homology", "overlap"]
    assert table.loc["b", "partner"] == "c" and table.loc["d", "partner"] == "c"
    assert table.loc["a", "partner"] == "" and table["identity"].isna().tolist() == [True, False, False, False]
    counts = summary_counts(table.reset_index())
    assert counts == {
        "genes": 4,
        "groups": 2,
        "multi_gene_groups": 1,
        "genes_in_multi_gene_groups": 3,
        "genes_overlap": 1,
        "genes_homology": 0,
        "genes_overlap+homology": 2,
        "largest_group": 3,
    }


def test_mask_repeats_hides_lower_case_only() -> None:
    assert mask_repeats("ACgtNnT") == "ACNNNNT"


def test_unseen_test_genes_are_those_whose_group_has_no_train_or_val_gene() -> None:
    groups = groups_table(
        ["a", "b", "c", "d", "e"], [Link("a", "b", "homology", 500, 0.5), Link("c", "d", "overlap", 9, 0.1)]
    )
    splits = pd.Series({"a": "train", "b": "test", "c": "test", "d": "test", "e": "val"})
    assert unseen_test_genes(groups, splits).tolist() == [False, False, True, True, False]


def write_groups(path: Path, rows: list[list[object]]) -> Path:
    write_tsv(pd.DataFrame(rows, columns=GROUP_COLUMNS), path)
    return path


def test_read_gene_groups_round_trip(tmp_path: Path) -> None:
    table = groups_table(["a", "b", "c"], [Link("a", "c", "homology", 500, 0.5)])
    write_tsv(table, tmp_path / "gene_groups.tsv")
    back = read_gene_groups(tmp_path / "gene_groups.tsv")
    pd.testing.assert_frame_equal(back, table)


@pytest.mark.parametrize(
    ("rows", "message", "line"),
    [
        ([["a", "a", "paralog", "", ""]], "reason 'paralog' is not one of", 2),
        ([["a", "a", "singleton", "", ""], ["a", "a", "singleton", "", ""]], "gene a appears more than once", 3),
        ([["a", "a", "homology", "b", "1.5"], ["b", "a", "homology", "a", "0.5"]], "identity '1.5' is not a number", 2),
        ([["a", "a", "homology", "b", "inf"], ["b", "a", "homology", "a", "0.5"]], "identity 'inf' is not a number", 2),
        ([["a", "a", "singleton", "b", "0.5"]], "a singleton has no partner", 2),
        ([["a", "a", "overlap", "b", "0.5"], ["b", "b", "singleton", "", ""]], "gene a is linked but alone", 2),
        ([["a", "", "singleton", "", ""]], "empty group", 2),
    ],
)
def test_read_gene_groups_names_file_and_line(
    tmp_path: Path, rows: list[list[object]], message: str, line: int
) -> None:
    path = write_groups(tmp_path / "gene_groups.tsv", rows)
    with pytest.raises(InputError, match=message) as caught:
        read_gene_groups(path)
    assert caught.value.path == str(path) and caught.value.line == line


def test_groups_that_miss_genes_of_another_file_name_both_files(tmp_path: Path) -> None:
    groups = groups_table(["a", "b"], [])
    with pytest.raises(InputError, match=r"1 gene\(s\) of predictions.tsv have no row in gene_groups.tsv: c"):
        check_groups_cover(groups, ["a", "c"], Path("gene_groups.tsv"), Path("predictions.tsv"))


def test_real_development_set_groups() -> None:
    """The figures of the issue: 28 overlapping pairs, CFHR1/CFHR2 together, the unmasked Alu of six
    promoters (ENSG00000102409 and five others, 237-283 bp) linking none of them."""
    data = shared_path("data", "real_pituitary_2kb")
    sequences = read_sequences(data / "windows.fa", keep_case=True)
    coordinates = pd.read_csv(data / "windows.tsv", sep="\t")
    lengths = {gene: len(sequence) for gene, sequence in sequences.items()}
    assert len(overlap_links(coordinates, lengths)) == 28
    groups = group_genes(list(sequences), sequences, coordinates, GroupingSpec()).set_index("gene_id")
    cfhr2, cfhr1 = "ENSG00000080910", "ENSG00000244414"
    group = groups["group"].to_dict()
    assert group[cfhr2] == group[cfhr1] and groups["partner"].to_dict()[cfhr2] == cfhr1
    alu = ["ENSG00000169136", "ENSG00000130939", "ENSG00000123473", "ENSG00000174586", "ENSG00000131187"]
    assert groups.loc["ENSG00000102409", "group"] not in set(groups.loc[alu, "group"])
    assert groups.loc[alu, "group"].nunique() == len(alu)
    sizes = groups["group"].value_counts()
    assert sizes.max() <= 5  # no chaining into a giant group
