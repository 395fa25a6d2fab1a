"""Grouped K-fold cross-fitting: whole groups per fold, every gene tested once per repeat, one fold's view."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import assert_one_line_error, run_script

from seq2expr.data.dataset import read_dataset, read_fold, write_dataset
from seq2expr.data.folds import draw_folds, draw_inner_val, fold_view, n_folds, n_repeats
from seq2expr.data.similarity import GroupingSpec, group_genes
from seq2expr.data.synthetic import similarity_set
from seq2expr.errors import InputError


@pytest.mark.parametrize("seed", [1, 42, 686185200])
def test_folds_never_split_a_group_and_test_every_gene_once_per_repeat(seed: int) -> None:
    planted = similarity_set(300, 1001, n_paralogs=40, n_overlaps=20, n_repeat_carriers=30, seed=seed % 1000)
    groups = group_genes(list(planted.sequences), planted.sequences, planted.coordinates, GroupingSpec())
    names = groups["group"].tolist()
    draws = [draw_folds(names, 5, seed, repeat) for repeat in range(3)]
    largest = int(groups["group"].value_counts().max())
    for folds in draws:
        table = groups.assign(fold=folds)
        assert (table.groupby("group")["fold"].nunique() == 1).all()  # (d): no group in two folds
        sizes = table["fold"].value_counts()
        assert sorted(sizes.index) == [1, 2, 3, 4, 5] and sizes.max() - sizes.min() <= largest
        # (d): over the K fold views, every gene is a test gene exactly once
        tested = pd.concat(
            [
                fold_view(table.assign(split="train"), fold, 0).query("split == 'test'")["gene_id"]
                for fold in range(1, 6)
            ]
        )
        assert sorted(tested) == sorted(table["gene_id"])
    assert draws[0] != draws[1]  # a repeat redraws the folds
    assert draws[0] == draw_folds(names, 5, seed, 0)  # reproducibly


def test_inner_val_is_whole_groups_of_the_asked_share() -> None:
    groups = ["a"] * 30 + [f"g{index}" for index in range(170)]
    labels = draw_inner_val(groups, 0.1, 7)
    assert len(set(labels[:30])) == 1
    assert labels.count("val") == 20 or (labels[0] == "train" and abs(labels.count("val") - 20) <= 1)


def _cross_fitted(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "gene_id": [f"g{index}" for index in range(n)],
            "chrom": "chr1",
            "split": ["val" if index % 4 == 0 else "train" for index in range(n)],
            "tpm": 1.0,
            "target": 0.0,
            "sequence": "ACGT",
            "fold": [index % 3 + 1 for index in range(n)],
            "fold_1": [(index + 1) % 3 + 1 for index in range(n)],
        }
    )


def test_fold_view_relabels_the_fold_as_test_and_keeps_inner_val(tmp_path: Path) -> None:
    path = tmp_path / "dataset.tsv.gz"
    write_dataset(_cross_fitted(), path)
    table = read_dataset(path)
    assert n_folds(table) == 3 and n_repeats(table) == 2
    view = read_fold(path, 2, 1)
    assert (view["split"] == "test").tolist() == (table["fold_1"] == 2).tolist()
    outside = view[table["fold_1"] != 2]
    assert outside["split"].tolist() == table.loc[table["fold_1"] != 2, "split"].tolist()
    with pytest.raises(InputError, match=r"--fold 0 --repeat 0: the dataset is cross-fitted with folds 1\.\.3"):
        read_fold(path, 0, 0)
    with pytest.raises(InputError, match=r"repeats 0\.\.1"):
        read_fold(path, 1, 2)


def test_a_single_split_is_fold_0_only(tmp_path: Path) -> None:
    path = tmp_path / "dataset.tsv.gz"
    single = _cross_fitted().drop(columns=["fold", "fold_1"]).assign(split=["train", "test"] * 6)
    write_dataset(single, path)
    assert read_fold(path, 0, 0)["split"].tolist() == single["split"].tolist()
    with pytest.raises(InputError, match="single-split dataset"):
        read_fold(path, 1, 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fold": ["x"] + [1] * 11}, "line 2: fold value 'x' is not a fold number"),
        ({"fold": [1] * 6 + [3] * 6}, "fold holds folds \\[1, 3\\]"),
        ({"split": ["test"] + ["train"] * 11}, "line 2: split 'test' in a cross-fitted dataset"),
    ],
)
def test_bad_fold_columns_name_the_file_and_line(tmp_path: Path, change: dict[str, list[object]], message: str) -> None:
    path = tmp_path / "dataset.tsv.gz"
    write_dataset(_cross_fitted().drop(columns=["fold_1"]).assign(**change), path)
    with pytest.raises(InputError, match=message):
        read_dataset(path)


def test_build_dataset_cross_fits_by_default(tmp_path: Path) -> None:
    planted = similarity_set(60, 1001, n_paralogs=8, n_overlaps=4, n_repeat_carriers=6, seed=5)
    fasta = tmp_path / "windows.fa"
    fasta.write_text("".join(f">{gene}\n{sequence}\n" for gene, sequence in planted.sequences.items()))
    windows = tmp_path / "windows.tsv"
    planted.coordinates.to_csv(windows, sep="\t", index=False)
    expression = tmp_path / "expression.tsv"
    pd.DataFrame({"gene": list(planted.sequences), "Pituitary": range(60)}).to_csv(expression, sep="\t", index=False)
    common = ["--sequences", fasta, "--expression", expression, "--tissue", "Pituitary", "--windows", windows]
    run_script("build_dataset.py", *common, "--folds", "4", "--cv-repeats", "2", "--outdir", tmp_path / "cv")
    dataset = read_dataset(tmp_path / "cv" / "dataset.tsv.gz")
    assert sorted(dataset["fold"].unique()) == [1, 2, 3, 4] and "fold_1" in dataset.columns
    assert set(dataset["split"]) <= {"train", "val"}
    summary = (tmp_path / "cv" / "dataset_summary_mqc.tsv").read_text()
    assert "folds" in summary and "cv_repeats" in summary
    run_script("build_dataset.py", *common, "--folds", "1", "--outdir", tmp_path / "single")
    assert "test" in set(read_dataset(tmp_path / "single" / "dataset.tsv.gz")["split"])
    outcome = run_script("build_dataset.py", *common, "--folds", "80", "--outdir", tmp_path / "many", check=False)
    assert_one_line_error(outcome, "--folds 80 on the 60 genes")
    outcome = run_script("build_dataset.py", *common, "--split", "dexter", "--folds", "3", "--outdir", tmp_path / "d",
                         check=False)  # fmt: skip
    assert_one_line_error(outcome, "--folds and --cv-repeats belong to --split grouped")
