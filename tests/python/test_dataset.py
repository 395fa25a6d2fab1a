"""Dataset building: id matching, target, DExTER's split (against the reference run) and the
chromosome split."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path

from seq2expr.data.dataset import TargetSpec, chromosome_split, dexter_split, match_genes
from seq2expr.errors import InputError
from seq2expr.io.expression import read_expression
from seq2expr.io.genome import read_sequences


def expression(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"gene_id": [row[0] for row in rows], "Pituitary": [row[1] for row in rows]})


def test_ids_match_without_version_and_par_y_copies_are_ledgered() -> None:
    sequences = {"ENSG3.1": "ACGT", "ENSG1.4": "CCCC", "ENSG9.1": "GGGG", "ENSG5.2_PAR_Y": "TTTT"}
    table = expression([("ENSG1.5", 2.0), ("ENSG3.1", 0.0), ("ENSG7.1", 1.0), ("ENSG5.2_PAR_Y", 3.0)])
    matched = match_genes(sequences, {"ENSG1.4": "chr2"}, table, "Pituitary")
    # Expression-file order, ids as in the windows, chrom from the windows table when known.
    assert matched.table[["gene_id", "chrom", "tpm"]].values.tolist() == [
        ["ENSG1.4", "chr2", 2.0],
        ["ENSG3.1", ".", 0.0],
    ]
    reasons = sorted((gene, source, reason) for gene, source, reason, _ in matched.ledger)
    assert reasons == [
        ("ENSG5.2_PAR_Y", "expression", "par_y_copy"),
        ("ENSG5.2_PAR_Y", "windows", "par_y_copy"),
        ("ENSG7.1", "expression", "no_window"),
        ("ENSG9.1", "windows", "no_expression"),
    ]


def test_duplicated_and_missing_expression_go_to_the_ledger() -> None:
    sequences = {"A.1": "ACGT", "B.1": "ACGT", "C.1": "ACGT", "D.1": "ACGT"}
    table = expression([("A.1", 1.0), ("A.2", 2.0), ("B.1", float("nan")), ("C.1", 1.0), ("D.1", 3.0)])
    matched = match_genes(sequences, {}, table, "Pituitary")
    assert matched.table["gene_id"].tolist() == ["C.1", "D.1"]
    assert sorted((gene, reason) for gene, _, reason, _ in matched.ledger) == [
        ("A.1", "duplicated_gene_id"),
        ("A.1", "no_expression"),
        ("A.2", "duplicated_gene_id"),
        ("B.1", "missing_expression"),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("A.1", float("nan")), ("B.1", 2.0), ("C.1", 1.0)], "only 1 gene of the windows has a Pituitary value in the expression "
         "table: 1 missing_expression, 1 no_window"),
        ([("A.1", 0.0), ("C.1", 0.0)], "no gene of the windows is expressed in Pituitary in the expression table: "
         "all 2 have the value 0; a constant target"),
        ([("A.1", 4.0), ("C.1", 4.0)], "all 2 genes of the windows have the same Pituitary value in the expression "
         "table (4); a constant target"),
    ],
)  # fmt: skip
def test_fewer_than_two_genes_or_a_constant_value_is_an_error(rows: list[tuple[str, float]], message: str) -> None:
    with pytest.raises(InputError) as raised:
        match_genes({"A.1": "ACGT", "C.1": "ACGT"}, {}, expression(rows), "Pituitary")
    assert str(raised.value).startswith(message)


def test_negative_tpm_is_an_error() -> None:
    with pytest.raises(InputError, match="negative expression value"):
        match_genes({"A": "ACGT"}, {}, expression([("A", -1.0)]), "Pituitary")


def test_target_floor_and_pseudocount() -> None:
    tpm = np.array([0.0, 0.0005, 9.0, 99.0])
    assert TargetSpec().transform(tpm).tolist() == pytest.approx([-3.0, -3.0, np.log10(9.0), np.log10(99.0)])
    assert TargetSpec(floor=0.0, pseudocount=1.0).transform(tpm).tolist() == pytest.approx(
        [0.0, np.log10(1.0005), 1.0, 2.0]
    )
    with pytest.raises(InputError):
        TargetSpec(floor=0.0, pseudocount=0.0)


def test_dexter_split_is_cpython_random_sample_of_two_thirds() -> None:
    labels = dexter_split(10, seed=5)
    sampled = random.Random(5).sample(range(10), 6)
    assert [index for index, label in enumerate(labels) if label == "train"] == sorted(sampled)
    assert labels.count("test") == 4


def test_val_part_is_carved_from_the_dexter_training_set() -> None:
    plain = dexter_split(300, seed=7)
    with_val = dexter_split(300, seed=7, val_fraction=0.1)
    assert with_val.count("val") == 20
    assert [label != "test" for label in plain] == [label != "test" for label in with_val]


def test_dexter_split_reproduces_the_reference_run() -> None:
    """The original DExTER's training_set.log on the real pituitary development set."""
    data = shared_path("data", "real_pituitary_2kb")
    reference = shared_path("spec", "dexter_reference_dev")
    sequences = read_sequences(data / "windows.fa")
    table = read_expression(data / "GTEx_v7_gene_median_tpm_7tissues.tsv")
    matched = match_genes(sequences, {}, table, "Pituitary")
    labels = dexter_split(len(matched.table))
    genes = matched.table["gene_id"]
    train = [gene for gene, label in zip(genes, labels, strict=True) if label == "train"]
    test = [gene for gene, label in zip(genes, labels, strict=True) if label == "test"]
    assert set(train) == set((reference / "training_set.log").read_text().split())
    assert set(test) == set((reference / "testing_set.log").read_text().split())
    assert (len(train), len(test)) == (882, 441)


def test_chromosome_split_holds_out_whole_chromosomes() -> None:
    labels = chromosome_split(["chr1", "chr2", "8", "chr8", "chrX"], ["chr8"], ["X"])
    assert labels == ["train", "train", "test", "test", "val"]


@pytest.mark.parametrize(
    ("chroms", "test", "val", "message"),
    [
        (["chr1", "."], ["chr1"], [], "needs the chromosome of every gene"),
        (["chr1"], [], [], "at least one --test-chromosomes"),
        (["chr1", "chr2"], ["chr2"], ["2"], "both test and val"),
        (["chr1"], ["chr5"], [], "no gene of the dataset is on chromosome"),
    ],
)
def test_chromosome_split_errors(chroms: list[str], test: list[str], val: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        chromosome_split(chroms, test, val)
