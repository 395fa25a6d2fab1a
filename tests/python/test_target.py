"""The target: the tissue's level (median) or its specificity, checked against hand computations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seq2expr.data.dataset import TargetSpec, assemble, background_levels, match_genes, read_dataset
from seq2expr.errors import InputError
from seq2expr.io.expression import read_expression

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = REPO / "assets" / "test_data"

#: TPM of four genes in three tissues; g3 has no Liver value, g4 only a Pituitary one.
TABLE = pd.DataFrame(
    {
        "gene_id": ["g1", "g2", "g3", "g4"],
        "Pituitary": [10.0, 0.0, 100.0, 5.0],
        "Liver": [10.0, 1.0, np.nan, np.nan],
        "Brain - Cortex": [10.0, 1000.0, 1.0, np.nan],
    }
)
SEQUENCES = {"g1": "ACGT", "g2": "CCGG", "g3": "TTAA", "g4": "GGCC"}


def targets(spec: TargetSpec, tissue: str = "Pituitary") -> dict[str, float]:
    background = background_levels(TABLE, tissue, spec) if spec.kind == "specificity" else None
    matched = match_genes(SEQUENCES, {}, TABLE, tissue, background=background)
    dataset = assemble(matched, ["train"] * len(matched.table), spec)
    return dict(zip(dataset["gene_id"], dataset["target"], strict=True))


def test_median_is_the_tissues_level() -> None:
    # log10(max(TPM + 0, 0.001)): 10 -> 1, 0 -> -3 (the floor), 100 -> 2, 5 -> log10(5)
    assert targets(TargetSpec()) == pytest.approx({"g1": 1.0, "g2": -3.0, "g3": 2.0, "g4": np.log10(5)})


def test_specificity_against_every_tissue_by_hand() -> None:
    # levels (Pituitary, Liver, Brain - Cortex): g1 (1, 1, 1); g2 (-3, 0, 3); g3 (2, -, 0); g4 (log10 5, -, -)
    # the mean over the tissues with a value is subtracted from the Pituitary level
    assert targets(TargetSpec(kind="specificity")) == pytest.approx(
        {"g1": 1 - 1, "g2": -3 - (-3 + 0 + 3) / 3, "g3": 2 - (2 + 0) / 2, "g4": 0.0}
    )


def test_specificity_against_a_background_list_with_a_pseudocount() -> None:
    spec = TargetSpec(floor=0.001, pseudocount=1.0, kind="specificity", background=("liver", "Brain - Cortex"))
    # levels log10(TPM + 1): g1 log10 11 everywhere; g2 (0, log10 2, log10 1001); g3 (log10 101, -, log10 2)
    # g4 has no value in either background tissue: left out, with its reason in the ledger
    expected = {
        "g1": 0.0,
        "g2": 0.0 - (np.log10(2) + np.log10(1001)) / 2,
        "g3": np.log10(101) - np.log10(2),
    }
    assert targets(spec) == pytest.approx(expected)
    background = background_levels(TABLE, "Pituitary", spec)
    ledger = match_genes(SEQUENCES, {}, TABLE, "Pituitary", background=background).ledger
    assert [(gene, reason) for gene, _, reason, _ in ledger] == [("g4", "missing_background")]


def test_a_gene_level_everywhere_has_no_specificity_whatever_its_level() -> None:
    flat = pd.DataFrame({"gene_id": ["low", "high"], "A": [0.5, 500.0], "B": [0.5, 500.0]})
    spec = TargetSpec(kind="specificity")
    assert background_levels(flat, "A", spec) == pytest.approx([np.log10(0.5), np.log10(500.0)])
    matched = match_genes({"low": "AC", "high": "GT"}, {}, flat, "A", background=background_levels(flat, "A", spec))
    assert assemble(matched, ["test", "test"], spec)["target"].tolist() == pytest.approx([0.0, 0.0])


def test_specificity_needs_another_tissue() -> None:
    with pytest.raises(InputError, match="needs a background tissue besides Pituitary"):
        background_levels(TABLE, "Pituitary", TargetSpec(kind="specificity", background=("Pituitary",)))
    with pytest.raises(InputError, match="needs a background tissue besides A"):
        background_levels(
            TABLE[["gene_id", "Pituitary"]].rename(columns={"Pituitary": "A"}), "A", TargetSpec(kind="specificity")
        )
    with pytest.raises(InputError, match="only used by --target specificity"):
        TargetSpec(background=("Liver",))
    with pytest.raises(InputError, match="--target 'tau' is not one of median, specificity"):
        TargetSpec(kind="tau")


def test_the_command_writes_specificity_on_the_bundled_data(test_windows: Path, tmp_path: Path) -> None:
    """build_dataset.py --target specificity on the bundled data: each target is the hand computation."""
    outdir = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, REPO / "bin" / "build_dataset.py", "--sequences", test_windows / "tss_windows.fa",
         "--windows", test_windows / "tss_windows.tsv", "--expression", TEST_DATA / "expression.gct.gz",
         "--tissue", "Liver", "--target", "specificity", "--outdir", outdir],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    dataset = read_dataset(outdir / "dataset.tsv.gz").set_index("gene_id")
    table = read_expression(TEST_DATA / "expression.gct.gz")
    table["gene_id"] = table["gene_id"].str.replace(r"\.\d+$", "", regex=True)
    levels = np.log10(np.maximum(table.set_index("gene_id").astype(float), 0.001))
    by_hand = levels["Liver"] - levels.mean(axis=1)
    genes = dataset.index.str.replace(r"\.\d+$", "", regex=True)
    assert len(dataset) > 100
    assert dataset["target"].to_numpy() == pytest.approx(by_hand.loc[genes].to_numpy(), abs=1e-6)
