"""The one-hot promoter CNN: encoding, strand symmetry of its motif scanners, the command's outputs,
byte-identical re-runs, one-line errors, and recovery of the planted TATA signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import assert_one_line_error, run_script

from seq2expr.cnn.model import PromoterCnn, encode, load_cnn, one_hot, reverse_complement
from seq2expr.cnn.options import CnnConfig
from seq2expr.cnn.training import CURVES_ID, LOG_COLUMNS, MODEL_NAME
from seq2expr.compute import read_compute
from seq2expr.dataset import read_dataset, write_dataset
from seq2expr.predictions import read_predictions

OUTPUTS = (
    "predictions.tsv",
    "training_log.tsv",
    f"{CURVES_ID}_mqc.yaml",
    "model/config.json",
    "model/model.safetensors",
)
#: The CPU recipe of the synthetic check: small batches, because 259 training genes make few steps per epoch.
TATA_RECIPE = ("--batch-size", "16", "--epochs", "40", "--patience", "10", "--threads", "1")


def test_one_hot_codes_bases_in_either_case_and_n_as_zeros() -> None:
    codes = encode(["ACGTN", "acgtn"])
    assert codes.tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    matrix = one_hot(torch.from_numpy(codes))[0]
    assert matrix.shape == (4, 5)
    assert torch.equal(matrix[:, :4], torch.eye(4)) and torch.equal(matrix[:, 4], torch.zeros(4))


def test_reverse_complement_of_a_one_hot_window() -> None:
    forward = one_hot(torch.from_numpy(encode(["AACGT"])))
    expected = one_hot(torch.from_numpy(encode(["ACGTT"])))
    assert torch.equal(reverse_complement(forward), expected)


def test_motif_scanners_see_both_strands_in_the_windows_coordinates() -> None:
    """Scanning a window's reverse complement gives the same motif map, mirrored: a motif counts in either
    orientation, while positions still run along the window."""
    torch.manual_seed(0)
    model = PromoterCnn(CnnConfig(motif_filters=8, motif_width=7))
    window = one_hot(torch.randint(0, 4, (3, 101)))
    forward = model.motifs(window)
    backward = model.motifs(reverse_complement(window))
    torch.testing.assert_close(backward, forward.flip(dims=(2,)))


@pytest.mark.parametrize("length", [1001, 4001])
def test_any_window_length_gives_one_prediction_per_window(length: int) -> None:
    model = PromoterCnn(CnnConfig()).eval()
    with torch.no_grad():
        out = model(one_hot(torch.randint(0, 5, (2, length))))
    assert out.shape == (2,) and torch.isfinite(out).all()


def test_the_command_is_byte_identical_on_a_rerun(synthetic_dataset: Path, tmp_path: Path) -> None:
    for run in ("a", "b"):
        run_script(
            "train_cnn.py",
            "--dataset",
            synthetic_dataset,
            "--epochs",
            "2",
            "--threads",
            "1",
            "--outdir",
            tmp_path / run,
        )
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    log = pd.read_csv(tmp_path / "a" / "training_log.tsv", sep="\t")
    assert list(log.columns) == LOG_COLUMNS and log["epoch"].tolist() == [1, 2]
    compute = read_compute(tmp_path / "a" / "compute.tsv")
    assert compute["model"].tolist() == [MODEL_NAME] and compute["device"].tolist() == ["cpu"]


@pytest.mark.slow  # ~1 min on one thread: 40 epochs at most of 259 windows
def test_recovers_the_planted_tata_signal(synthetic_dataset: Path, tmp_path: Path) -> None:
    """The synthetic target is 0.4 × (TATA count in −200..−50) + noise: a CNN that reads sequence must find it."""
    run_script("train_cnn.py", "--dataset", synthetic_dataset, *TATA_RECIPE, "--outdir", tmp_path)
    predictions = read_predictions(tmp_path / "predictions.tsv")
    assert set(predictions["model"]) == {MODEL_NAME}
    dataset = read_dataset(synthetic_dataset)
    assert sorted(predictions["gene_id"]) == sorted(dataset["gene_id"])
    test = predictions[predictions["split"] == "test"]
    r = float(np.corrcoef(test["observed"], test["predicted"])[0, 1])
    assert r >= 0.5, r
    model, settings = load_cnn(tmp_path / "model")
    assert settings["window"] == len(dataset["sequence"].iloc[0])
    curves = yaml.safe_load((tmp_path / f"{CURVES_ID}_mqc.yaml").read_text())
    assert curves["id"] == CURVES_ID and curves["data"]["val loss"]
    # the saved weights give the written predictions back
    codes = torch.from_numpy(encode(dataset["sequence"].tolist()))
    with torch.no_grad():
        again = model(one_hot(codes)).numpy() * settings["target_sd"] + settings["target_mean"]
    written = predictions.set_index("gene_id").loc[dataset["gene_id"], "predicted"].to_numpy()
    np.testing.assert_allclose(again, written, atol=1e-5)


def test_windows_of_different_lengths_are_one_line(synthetic_dataset: Path, tmp_path: Path) -> None:
    table = read_dataset(synthetic_dataset)
    table.loc[5, "sequence"] = table.loc[5, "sequence"][:-10]
    write_dataset(table, tmp_path / "ragged.tsv.gz")
    result = run_script("train_cnn.py", "--dataset", tmp_path / "ragged.tsv.gz", "--outdir", tmp_path, check=False)
    assert_one_line_error(result, f"line 7: gene {table.loc[5, 'gene_id']}: window of 991 bp")
    assert not (tmp_path / "predictions.tsv").exists() and not (tmp_path / "compute.tsv").exists()


def test_an_even_motif_width_is_one_line(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = run_script(
        "train_cnn.py", "--dataset", synthetic_dataset, "--motif-width", "8", "--outdir", tmp_path, check=False
    )
    assert_one_line_error(result, "--motif-width must be odd")


def test_a_foreign_model_folder_is_an_input_error(tmp_path: Path) -> None:
    from seq2expr.errors import InputError

    with pytest.raises(InputError, match=r"config\.json is missing"):
        load_cnn(tmp_path)
