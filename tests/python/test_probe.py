"""The frozen probe: pooling without specials or padding, the ridge path against scikit-learn, the layer
and penalty chosen by grouped cross-validation (a planted near-duplicate leak that leave-one-out falls for,
a planted layer found, test genes never read), and the DNABERT-2 command's outputs, byte-identical re-runs
and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TEST_DATA, assert_one_line_error, invoke, load_command, probe_command
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from seq2expr.data.dataset import read_dataset
from seq2expr.errors import InputError
from seq2expr.io.predictions import read_predictions
from seq2expr.models.dnabert2.finetune import encode_table
from seq2expr.models.dnabert2.model import Dnabert2Model
from seq2expr.models.dnabert2.probe import MODEL_NAME, single_chunks
from seq2expr.models.dnabert2.tokenizer import load_tokenizer
from seq2expr.models.probe.embeddings import Chunks, embed_layers, load_embeddings
from seq2expr.models.probe.options import ProbeOptions, resolve_layers
from seq2expr.models.probe.readout import load_readout
from seq2expr.models.probe.ridge import (
    ALPHA_GRID,
    DEFAULT_ALPHAS,
    choose,
    cv_groups,
    fit_probe,
    grouped_folds,
    parse_alphas,
    ridge_path,
)
from seq2expr.models.training.core import torch_threads

TINY = TEST_DATA / "tiny_dnabert2"
OUTPUTS = ("predictions.tsv", "embeddings.safetensors", "readout.safetensors", "probe.json")


class TokenValues(nn.Module):
    """A stand-in encoder whose hidden state at every layer is the token id itself (layer k: id × (k + 1))."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, output_hidden_states: bool) -> Any:
        base = input_ids.float()[..., None]
        return SimpleNamespace(hidden_states=(base, 2 * base))


def test_pooling_leaves_out_specials_and_padding_and_averages_pieces() -> None:
    # window 0 in one chunk: [CLS]=9, tokens 1 2, [SEP]=8; window 1 in two chunks: 9 3 4 5 8 and 9 6 8
    rows = [np.array([9, 1, 2, 8]), np.array([9, 3, 4, 5, 8]), np.array([9, 6, 8])]
    chunks = Chunks(rows, np.array([0, 1, 1]), np.array([1, 1, 1]), np.array([3, 4, 2]), 2, True)
    for batch_size in (1, 3):  # padding (id 0) must not count
        pools = embed_layers(TokenValues(), chunks, [0, 1], ["mean", "cls"], batch_size, torch.device("cpu"), 0)
        assert pools[0]["mean"].ravel().tolist() == [1.5, 4.5]  # window 1: mean of 3, 4, 5, 6 (token-weighted)
        assert pools[1]["mean"].ravel().tolist() == [3.0, 9.0]
        assert pools[0]["cls"].ravel().tolist() == [9.0, 9.0]


def test_cls_pooling_needs_a_cls_token() -> None:
    chunks = Chunks([np.array([1, 2])], np.array([0]), np.array([0]), np.array([2]), 1, False)
    with pytest.raises(InputError, match="no \\[CLS\\] token first"):
        embed_layers(TokenValues(), chunks, [0], ["mean", "cls"], 1, torch.device("cpu"), 0)


@pytest.mark.parametrize("genes", [40, 9])  # more genes than features (Gram matrix), fewer (SVD)
def test_ridge_path_is_scikit_learns_ridge_on_standardised_features(genes: int) -> None:
    rng = np.random.default_rng(0)
    x, y, x_new = rng.normal(size=(genes, 12)) * 3 + 1, rng.normal(size=genes), rng.normal(size=(7, 12))
    x[:, 3] = 2.0  # a constant column keeps scale 1, as StandardScaler does
    alphas = [0.1, 10.0, 1000.0]
    path = ridge_path(x, y, x_new, alphas)
    for column, alpha in enumerate(alphas):
        expected = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x, y).predict(x_new)
        np.testing.assert_allclose(path[:, column], expected, rtol=1e-7, atol=1e-9)


def test_grouped_folds_never_split_a_group() -> None:
    groups = np.repeat(np.array(["a", "b", "c", "d", "e", "f", "g"]), [1, 2, 3, 1, 4, 2, 2])
    folds = grouped_folds(groups)
    assert len(folds) == 5
    for fit, held_out in folds:
        assert not set(groups[fit]) & set(groups[held_out])
    assert sorted(np.concatenate([held for _, held in folds]).tolist()) == list(range(len(groups)))


def test_leave_one_out_falls_for_planted_near_duplicates_and_grouped_folds_do_not() -> None:
    """Pairs of near-identical windows with one target and no real signal: leave-one-out sees the twin
    and shrinks little; folds that keep each pair together see no signal and shrink hard."""
    rng = np.random.default_rng(1)
    n_pairs, width = 60, 100  # more features than pairs: a twin can be memorised
    base, target = rng.normal(size=(n_pairs, width)), rng.normal(size=n_pairs)
    features = np.vstack([base, base + 0.01 * rng.normal(size=base.shape)])
    y, groups = np.concatenate([target, target]), np.tile(np.arange(n_pairs), 2)
    alphas = list(DEFAULT_ALPHAS)
    loo = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas)).fit(features, y)[-1].alpha_
    grouped = choose({0: features}, y, grouped_folds(groups), alphas).alpha
    assert loo <= 1.0 and grouped >= 1e4 * loo


def planted_table(n: int = 120, seed: int = 2) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Genes whose target is a linear function of layer 1's features only (layers 0 and 2 are noise)."""
    rng = np.random.default_rng(seed)
    layers = {layer: rng.normal(size=(n, 8)) for layer in range(3)}
    target = layers[1] @ rng.normal(size=8) + 0.3 * rng.normal(size=n)
    split = np.array(["train"] * (n - 40) + ["val"] * 10 + ["test"] * 30)
    chrom = np.array([f"chr{i % 6 + 1}" for i in range(n)])
    table = pd.DataFrame({"gene_id": [f"G{i}" for i in range(n)], "chrom": chrom, "split": split, "target": target})
    return table, layers


def test_the_planted_layer_is_chosen_and_predicts_the_test_genes() -> None:
    table, layers = planted_table()
    groups, source = cv_groups(table, None)
    fit = fit_probe(table, layers, groups, "probe:x")
    assert source == "chromosome" and fit.choice.layer == 1 and fit.n_fit == 90
    test = fit.predictions[fit.predictions["split"] == "test"]
    assert np.corrcoef(test["observed"], test["predicted"])[0, 1] > 0.9


def test_the_choice_never_reads_test_genes() -> None:
    table, layers = planted_table()
    groups, _ = cv_groups(table, None)
    before = fit_probe(table, layers, groups, "probe:x")
    test = (table["split"] == "test").to_numpy()
    rng = np.random.default_rng(3)
    shuffled = table.assign(target=np.where(test, rng.permutation(table["target"].to_numpy()), table["target"]))
    noisy = {layer: np.where(test[:, None], rng.normal(size=matrix.shape), matrix) for layer, matrix in layers.items()}
    after = fit_probe(shuffled, noisy, groups, "probe:x")
    assert (after.choice.layer, after.choice.alpha) == (before.choice.layer, before.choice.alpha)
    pd.testing.assert_frame_equal(after.choice.scores, before.choice.scores)
    fitted = ~test
    np.testing.assert_array_equal(after.predictions["predicted"][fitted], before.predictions["predicted"][fitted])


def test_cv_groups_take_the_gene_groups_and_name_both_files_when_genes_are_missing() -> None:
    table, _ = planted_table()
    gene_groups = pd.DataFrame({"gene_id": table["gene_id"], "group": [f"g{i // 2}" for i in range(len(table))]})
    labels, source = cv_groups(table, gene_groups, "gene_groups.tsv", "dataset.tsv.gz")
    assert source == "gene_groups" and labels[0] == labels[1] == "g0"
    with pytest.raises(InputError, match=r"gene_groups.tsv: 1 gene\(s\) of the dataset dataset.tsv.gz have no group"):
        cv_groups(table, gene_groups.iloc[1:], "gene_groups.tsv", "dataset.tsv.gz")
    one_chromosome = table.assign(chrom=".")
    labels, source = cv_groups(one_chromosome, None)
    assert source == "gene" and len(set(labels)) == len(table)


def test_one_alpha_grid_for_the_package_and_both_commands() -> None:
    assert DEFAULT_ALPHAS == parse_alphas(ALPHA_GRID) == ProbeOptions().penalties
    assert len(DEFAULT_ALPHAS) == 21 and DEFAULT_ALPHAS[0] == 1e-2 and DEFAULT_ALPHAS[-1] == pytest.approx(1e8)
    for script in ("probe_dnabert2.py", "probe_glm.py"):
        defaults = {param.name: param.default for param in load_command(script).params}
        assert defaults["alphas"] == ALPHA_GRID, script
    assert parse_alphas("1,10") == (1.0, 10.0) and parse_alphas("1:100:3") == pytest.approx((1.0, 10.0, 100.0))


def test_layers_resolve_against_the_model() -> None:
    assert resolve_layers("all", 3) == [0, 1, 2]
    assert resolve_layers("-1,0,2", 3) == [0, 2]
    with pytest.raises(InputError, match="the model has 3 hidden states"):
        resolve_layers("3", 3)


def test_dnabert2_embeddings_do_not_depend_on_the_batch(synthetic_dataset: Path) -> None:
    """Padding to a longer neighbour must not move a window's embedding (masking works end to end)."""
    table = read_dataset(synthetic_dataset).head(12)
    tokenizer = load_tokenizer(TINY)
    chunks = single_chunks(encode_table(table, tokenizer, 128))
    model = Dnabert2Model.from_pretrained(TINY)
    with torch_threads(1):
        alone = embed_layers(model, chunks, [0, 2], ["mean", "cls"], 1, torch.device("cpu"), 3)
        together = embed_layers(model, chunks, [0, 2], ["mean", "cls"], 12, torch.device("cpu"), 3)
    for layer in (0, 2):
        for name in ("mean", "cls"):
            np.testing.assert_allclose(alone[layer][name], together[layer][name], atol=1e-5)


@pytest.mark.xdist_group("probe_outputs")
def test_the_command_writes_reusable_embeddings_byte_identically(
    synthetic_dataset: Path, probe_outputs: Callable[[str], Path], tmp_path: Path
) -> None:
    first = probe_outputs("dnabert2")
    assert invoke(*probe_command("dnabert2", synthetic_dataset), "--outdir", tmp_path).returncode == 0
    for name in OUTPUTS:
        assert (first / name).read_bytes() == (tmp_path / name).read_bytes(), name
    dataset = read_dataset(synthetic_dataset)
    predictions = read_predictions(first / "predictions.tsv")
    assert set(predictions["model"]) == {MODEL_NAME} and predictions["gene_id"].tolist() == dataset["gene_id"].tolist()
    genes, embeddings = load_embeddings(first / "embeddings.safetensors")
    assert genes == dataset["gene_id"].tolist()
    assert embeddings["mean"].shape == embeddings["cls"].shape == (len(dataset), 64)
    summary = json.loads((first / "probe.json").read_text())
    assert summary["n_features"] == 128 and summary["poolings"] == ["mean", "cls"] and summary["layers"] == [0, 1, 2]
    assert summary["layer"] in summary["layers"] and summary["alpha"] in summary["alphas"]
    assert summary["cv"]["groups"] == "gene_groups" and summary["fitted_on"] == "train+val"
    assert summary["n_fit_genes"] == int((dataset["split"] != "test").sum())
    readout = load_readout(first)
    assert readout.about == summary and readout.coefficients.shape == readout.mean.shape == (128,)
    assert (first / "compute.tsv").is_file()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--pooling", "max"), "--pooling must name one or more of mean, cls"),
        (("--alphas", "1,ten"), "--alphas '1,ten': expected comma-separated positive numbers"),
        (("--alphas", "0,1"), "expected comma-separated positive numbers"),
        (("--layers", "x"), "--layers 'x': expected all or comma-separated integers"),
        (("--layers", "5"), "--layers '5': the model has 3 hidden states"),
    ],
)
def test_bad_options_are_one_line(
    synthetic_dataset: Path, tmp_path: Path, option: tuple[str, str], message: str
) -> None:
    result = invoke("probe_dnabert2.py", "--dataset", synthetic_dataset, "--model", TINY, *option, "--outdir", tmp_path)
    assert_one_line_error(result, message)
    assert not (tmp_path / "predictions.tsv").exists()


def test_a_missing_model_is_one_line(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = invoke(
        "probe_dnabert2.py", "--dataset", synthetic_dataset, "--model", tmp_path / "none", "--outdir", tmp_path
    )
    assert_one_line_error(result, "no such model folder")


def test_a_file_that_is_not_embeddings_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "x.safetensors").write_text("not safetensors")
    with pytest.raises(InputError, match="not an embeddings file"):
        load_embeddings(tmp_path / "x.safetensors")
