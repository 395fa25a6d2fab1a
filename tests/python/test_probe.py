"""The frozen DNABERT-2 probe: pooling without specials or padding, embeddings independent of the batch,
the command's outputs, byte-identical re-runs and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TEST_DATA, assert_one_line_error, run_script

from seq2expr.dataset import read_dataset
from seq2expr.dnabert2.finetune import encode_table
from seq2expr.dnabert2.model import Dnabert2Model
from seq2expr.dnabert2.probe import MODEL_NAME, embed, load_embeddings, pooled
from seq2expr.dnabert2.tokenizer import load_tokenizer
from seq2expr.predictions import read_predictions

TINY = TEST_DATA / "tiny_dnabert2"
OUTPUTS = ("predictions.tsv", "embeddings.safetensors", "probe.json")


def test_mean_pooling_leaves_out_cls_sep_and_padding() -> None:
    hidden = torch.arange(2 * 5 * 1, dtype=torch.float32).reshape(2, 5, 1)  # token t of row b holds 5b + t
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    pools = pooled(hidden, mask)
    # row 0: [CLS]=0, tokens 1,2, [SEP]=3, pad 4 -> mean 1.5; row 1: [CLS]=5, tokens 6,7,8, [SEP]=9 -> 7
    assert pools["mean"].flatten().tolist() == [1.5, 7.0]
    assert pools["cls"].flatten().tolist() == [0.0, 5.0]


def test_embeddings_do_not_depend_on_the_batch(synthetic_dataset: Path) -> None:
    """Padding to a longer neighbour must not move a window's embedding (masking works end to end)."""
    torch.set_num_threads(1)
    table = read_dataset(synthetic_dataset).head(12)
    tokenizer = load_tokenizer(TINY)
    encoded = encode_table(table, tokenizer, 128)
    model = Dnabert2Model.from_pretrained(TINY)
    alone = embed(model, encoded, 1, torch.device("cpu"), int(tokenizer.pad_token_id))
    together = embed(model, encoded, 12, torch.device("cpu"), int(tokenizer.pad_token_id))
    for name in ("mean", "cls"):
        np.testing.assert_allclose(alone[name], together[name], atol=1e-5)


def test_the_command_writes_reusable_embeddings_byte_identically(synthetic_dataset: Path, tmp_path: Path) -> None:
    for run in ("a", "b"):
        run_script(
            "probe_dnabert2.py",
            "--dataset",
            synthetic_dataset,
            "--model",
            TINY,
            "--max-tokens",
            "128",
            "--outdir",
            tmp_path / run,
        )
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    dataset = read_dataset(synthetic_dataset)
    predictions = read_predictions(tmp_path / "a" / "predictions.tsv")
    assert set(predictions["model"]) == {MODEL_NAME} and predictions["gene_id"].tolist() == dataset["gene_id"].tolist()
    genes, embeddings = load_embeddings(tmp_path / "a" / "embeddings.safetensors")
    assert genes == dataset["gene_id"].tolist()
    assert embeddings["mean"].shape == embeddings["cls"].shape == (len(dataset), 64)
    summary = json.loads((tmp_path / "a" / "probe.json").read_text())
    assert summary["n_features"] == 128 and summary["poolings"] == ["mean", "cls"]
    assert summary["n_fit_genes"] == int((dataset["split"] != "test").sum())
    assert (tmp_path / "a" / "compute.tsv").is_file()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--pooling", "max"), "--pooling must name one or more of mean, cls"),
        (("--alphas", "1,ten"), "--alphas '1,ten': expected comma-separated positive numbers"),
        (("--alphas", "0,1"), "expected comma-separated positive numbers"),
    ],
)
def test_bad_options_are_one_line(
    synthetic_dataset: Path, tmp_path: Path, option: tuple[str, str], message: str
) -> None:
    result = run_script(
        "probe_dnabert2.py", "--dataset", synthetic_dataset, "--model", TINY, *option, "--outdir", tmp_path, check=False
    )
    assert_one_line_error(result, message)
    assert not (tmp_path / "predictions.tsv").exists()


def test_a_missing_model_is_one_line(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = run_script(
        "probe_dnabert2.py",
        "--dataset",
        synthetic_dataset,
        "--model",
        tmp_path / "none",
        "--outdir",
        tmp_path,
        check=False,
    )
    assert_one_line_error(result, "no such model folder")


def test_a_file_that_is_not_embeddings_is_an_input_error(tmp_path: Path) -> None:
    from seq2expr.errors import InputError

    (tmp_path / "x.safetensors").write_text("not safetensors")
    with pytest.raises(InputError, match="not an embeddings file"):
        load_embeddings(tmp_path / "x.safetensors")
