"""The grouped split keeps every group of similar genes on one side; the dexter and chromosome
splits stay byte-identical to the code before groups existed (commit 071dc1f)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import assert_one_line_error, build_bundled_dataset, run_script, shared_path

from seq2expr.data.dataset import DatasetOptions, dexter_split, grouped_split, read_dataset, run
from seq2expr.data.similarity import GroupingSpec, group_genes, read_gene_groups, unseen_test_genes
from seq2expr.data.synthetic import similarity_set
from seq2expr.errors import InputError
from seq2expr.io.files import file_sha256

#: sha256 of the outputs of commit 071dc1f on the bundled test data (500 + 1 + 500 bp windows) and on
#: the shared real set (`--split dexter`, no --windows), produced from a worktree of that commit.
BASELINE = {
    "dexter": {
        "dataset.tsv.gz": "b9d83d07854030029c2cad8819a47c825786e3dfe85e3b73a9fcbc6b837974a6",
        "dataset_ledger.tsv": "b0a5e71b817b585011a9809b310b02a5b195285e864bf5a34df632ebd6026e52",
        "dataset_summary_mqc.tsv": "02c379d2ee54e6080df2664765ca936e4f09435e1eb60b080c8b4f85441a5c87",
    },
    "chromosome": {
        "dataset.tsv.gz": "91e2b88c60d27043b84ae27d82581af4dfedb9a627ae66d8de0de28f636fdc9b",
        "dataset_ledger.tsv": "b0a5e71b817b585011a9809b310b02a5b195285e864bf5a34df632ebd6026e52",
        "dataset_summary_mqc.tsv": "0f0dfbd12c2a96ef9390f102660be6b660f661c4af0a47fc7f8ae55d5c731ef2",
    },
    "real": {
        "dataset.tsv.gz": "7a9bb08a4f8befcfe42ee42ff5e22164b61bcc7afbc90c6a442cc4c5e7ffe792",
        "dataset_ledger.tsv": "7b253e48b37bd737f4354add9c04cb8a6b6e545150e99ca01d2cbd10d3b3f83b",
        "dataset_summary_mqc.tsv": "bec051c5b155bc2fa944a8374a451e2366d074b6d914766da7e4a70504ae22e5",
    },
}
SPLIT_ARGS = {
    "dexter": ["--split", "dexter", "--val-fraction", "0.1"],
    "chromosome": ["--split", "chromosome", "--test-chromosomes", "chr3", "--val-chromosomes", "chrX"],
}


@pytest.mark.parametrize("seed", [1, 7, 42, 2024, 686185200])
def test_grouped_never_separates_a_group_and_keeps_the_shares(seed: int) -> None:
    planted = similarity_set(300, 1001, n_paralogs=40, n_overlaps=20, n_repeat_carriers=30, seed=seed % 1000)
    groups = group_genes(list(planted.sequences), planted.sequences, planted.coordinates, GroupingSpec())
    labels = grouped_split(groups["group"].tolist(), seed, val_fraction=0.1)
    table = groups.assign(split=labels)
    assert (table.groupby("group")["split"].nunique() == 1).all()
    largest = int(table["group"].value_counts().max())
    n_test = 300 - (2 * 300) // 3
    assert n_test - largest < (table["split"] == "test").sum() <= n_test
    n_kept = int((table["split"] != "test").sum())
    assert abs((table["split"] == "val").sum() - round(0.1 * n_kept)) < largest
    # every planted group is whole, so every test gene is unseen; a dexter draw of the same genes is not.
    assert unseen_test_genes(table, table.set_index("gene_id")["split"]).sum() == (table["split"] == "test").sum()
    dexter = groups.assign(split=dexter_split(300, seed, 0.1))
    seen = (dexter["split"] == "test").sum() - unseen_test_genes(dexter, dexter.set_index("gene_id")["split"]).sum()
    assert seen > 0


def test_grouped_is_seeded_and_deterministic() -> None:
    groups = [f"g{index // 2}" for index in range(200)]
    assert grouped_split(groups, 5, 0.1) == grouped_split(groups, 5, 0.1)
    assert grouped_split(groups, 5, 0.1) != grouped_split(groups, 6, 0.1)
    singletons = [str(index) for index in range(90)]
    labels = grouped_split(singletons, 3, 0.0)
    assert labels.count("test") == 30 and labels.count("train") == 60
    assert [index for index, label in enumerate(labels) if label == "test"] != list(range(30))
    with pytest.raises(InputError, match="--val-fraction"):
        grouped_split(singletons, 3, 1.0)


@pytest.mark.parametrize("split", ["dexter", "chromosome"])
def test_dexter_and_chromosome_splits_are_byte_identical_to_before(
    test_windows: Path, tmp_path: Path, split: str
) -> None:
    build_bundled_dataset(test_windows, tmp_path, *SPLIT_ARGS[split])
    assert {name: file_sha256(tmp_path / name) for name in BASELINE[split]} == BASELINE[split]
    groups = read_gene_groups(tmp_path / "gene_groups.tsv")
    assert groups["gene_id"].tolist() == read_dataset(tmp_path / "dataset.tsv.gz")["gene_id"].tolist()


def test_real_dexter_dataset_is_byte_identical_to_before(tmp_path: Path) -> None:
    data = shared_path("data", "real_pituitary_2kb")
    options = DatasetOptions(tissue="Pituitary", split="dexter")
    result = run(data / "windows.fa", data / "GTEx_v7_gene_median_tpm_7tissues.tsv", None, tmp_path, options)
    assert {name: file_sha256(tmp_path / name) for name in BASELINE["real"]} == BASELINE["real"]
    assert result.groups["gene_id"].tolist() == result.dataset["gene_id"].tolist()
    assert result.group_summary["genes_overlap"] == 0  # no coordinates: homology alone


def test_grouped_is_the_default_and_writes_whole_groups(test_windows: Path, tmp_path: Path) -> None:
    planted = similarity_set(90, 1001, n_paralogs=10, n_overlaps=6, n_repeat_carriers=10, seed=3)
    fasta = tmp_path / "windows.fa"
    fasta.write_text("".join(f">{gene}\n{sequence}\n" for gene, sequence in planted.sequences.items()))
    windows = tmp_path / "windows.tsv"
    planted.coordinates.to_csv(windows, sep="\t", index=False)
    expression = tmp_path / "expression.tsv"
    pd.DataFrame({"gene": list(planted.sequences), "Pituitary": range(90)}).to_csv(expression, sep="\t", index=False)
    common = ["--sequences", fasta, "--expression", expression, "--tissue", "Pituitary"]
    run_script("build_dataset.py", *common, "--windows", windows, "--outdir", tmp_path / "out")
    dataset = read_dataset(tmp_path / "out" / "dataset.tsv.gz")
    assert dataset["sequence"].str.fullmatch("[ACGTN]+").all()  # the models see upper case
    groups = read_gene_groups(tmp_path / "out" / "gene_groups.tsv").merge(dataset[["gene_id", "split"]])
    assert len(groups) == 90 and (groups.groupby("group")["split"].nunique() == 1).all()
    assert groups["group"].nunique() == 90 - sum(len(group) - 1 for group in planted.planted)
    assert "gene_groups" in (tmp_path / "out" / "gene_groups_mqc.tsv").read_text()
    outcome = run_script("build_dataset.py", *common, "--outdir", tmp_path / "bare", check=False)
    assert_one_line_error(outcome, "--split grouped needs the windows' coordinates")


def test_a_group_larger_than_the_test_share_stays_whole_on_the_train_side() -> None:
    groups = ["big"] * 50 + [f"s{index}" for index in range(10)]
    labels = grouped_split(groups, 1, 0.0)
    assert set(labels[:50]) == {"train"} and labels[50:] == ["test"] * 10
