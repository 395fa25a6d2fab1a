"""predict_dnabert2.py: a fine-tuned folder predicts new windows, and on the fine-tuning's own genes it gives
the fine-tuning's own predictions back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA, assert_one_line_error, invoke, run_script

from seq2expr.data.dataset import read_dataset
from seq2expr.io.genome import write_fasta
from seq2expr.io.predictions import read_predictions

#: One pytest-xdist worker runs this module (--dist loadgroup):
#: its module-scoped `finetuned` model is trained once, not once per worker.
pytestmark = pytest.mark.xdist_group("predict_dnabert2")

TINY = TEST_DATA / "tiny_dnabert2"


@pytest.fixture(scope="module")
def finetuned(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model fine-tuned briefly (2 epochs, 128 tokens) on the bundled data; a high learning rate so
    that its predictions spread out (a gentler one leaves them at the mean, where agreement proves little)."""
    outdir = tmp_path_factory.mktemp("finetuned")
    run_script(
        "finetune_dnabert2.py",
        "--dataset", synthetic_dataset,
        "--model", TINY,
        "--epochs", "2",
        "--batch-size", "16",
        "--global-batch-size", "16",
        "--learning-rate", "3e-3",
        "--warmup-steps", "4",
        "--max-tokens", "128",
        "--eval-steps", "6",
        "--outdir", outdir,
    )  # fmt: skip
    return outdir


@pytest.fixture(scope="module")
def windows(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = read_dataset(synthetic_dataset)
    path = tmp_path_factory.mktemp("windows") / "windows.fa"
    write_fasta(list(zip(table["gene_id"], table["sequence"], strict=True)), path)
    return path


def test_reproduces_the_finetunings_predictions(finetuned: Path, windows: Path, tmp_path: Path) -> None:
    for run in ("a", "b"):
        run_script(
            "predict_dnabert2.py",
            "--model",
            finetuned / "model",
            "--sequences",
            windows,
            "--batch-size",
            "7",
            "--outdir",
            tmp_path / run,
        )
    assert (tmp_path / "a" / "predictions.tsv").read_bytes() == (tmp_path / "b" / "predictions.tsv").read_bytes()
    new = pd.read_csv(tmp_path / "a" / "predictions.tsv", sep="\t").set_index("gene_id")
    assert list(new.columns) == ["predicted", "model"]
    old = read_predictions(finetuned / "predictions.tsv").set_index("gene_id")
    assert np.std(old["predicted"]) > 1e-3, "the fine-tuning did not learn; the comparison would be empty"
    np.testing.assert_allclose(new.loc[old.index, "predicted"], old["predicted"], rtol=0, atol=1e-5)


def test_duplicated_windows_are_one_line(finetuned: Path, tmp_path: Path) -> None:
    fasta = tmp_path / "dup.fa"
    fasta.write_text(">g1\nACGTACGTAC\n>g2\nACGTTTGCA\n>g1\nACGT\n")
    result = invoke("predict_dnabert2.py", "--model", finetuned / "model", "--sequences", fasta, "--outdir", tmp_path)
    assert_one_line_error(result, "line 5: sequence name 'g1' appears more than once")


def test_letters_outside_acgtn_are_one_line(finetuned: Path, tmp_path: Path) -> None:
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">g1\nACGT-ACGT\n")
    result = invoke("predict_dnabert2.py", "--model", finetuned / "model", "--sequences", fasta, "--outdir", tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("Error:")]) == 1
