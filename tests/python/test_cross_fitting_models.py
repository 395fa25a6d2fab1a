"""Every training command under cross-fitting: `--fold N` tests exactly fold N's genes and says so in the
predictions' fold and repeat columns; DExTER and the probes never fit on the inner val genes (the genes
the early-stopped models stop on), so every model of a fold fits on the same genes; DExTER's LassoCV
folds keep gene groups whole; a cross-fitted dataset without --fold is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA, assert_one_line_error, invoke, run_script
from sklearn.model_selection import KFold

from seq2expr.data.dataset import read_dataset, write_dataset
from seq2expr.data.folds import fit_genes, fitted_on, fold_column, fold_view
from seq2expr.data.similarity import read_gene_groups
from seq2expr.errors import InputError
from seq2expr.io.predictions import read_predictions
from seq2expr.models.dexter.model import CV_FOLDS, lasso_folds
from seq2expr.models.probe.ridge import fit_probe
from seq2expr.models.training.refit import read_fit

TINY_DNABERT2 = TEST_DATA / "tiny_dnabert2"
TINY_GLM = TEST_DATA / "tiny_glms" / "esm_6mer"
FOLD = 2


def assert_fold_predictions(path: Path, dataset: Path, model: str, fold: int = FOLD) -> pd.DataFrame:
    """Every gene once, in dataset order; test = exactly the fold's genes; fold and repeat columns right."""
    predictions = read_predictions(path)
    table = read_dataset(dataset)
    assert predictions["gene_id"].tolist() == table["gene_id"].tolist()
    tested = set(table.loc[table[fold_column(0)] == fold, "gene_id"])
    assert set(predictions.loc[predictions["split"] == "test", "gene_id"]) == tested and tested
    outside = predictions["split"] != "test"
    assert (predictions.loc[outside, "split"].to_numpy() == table.loc[outside.to_numpy(), "split"].to_numpy()).all()
    assert set(predictions["fold"]) == {fold} and set(predictions["repeat"]) == {0}
    assert set(predictions["model"]) == {model}
    header = path.read_text().splitlines()[0].split("\t")
    assert header[-2:] == ["fold", "repeat"]
    return predictions


# --------------------------------------------------------------------------------------------
# the genes each model fits on


def tiny_table(cross_fitted: bool) -> pd.DataFrame:
    genes = [f"G{i}" for i in range(12)]
    table = pd.DataFrame({"gene_id": genes, "split": ["train"] * 6 + ["val"] * 3 + ["test"] * 3})
    if cross_fitted:
        table["split"] = ["train"] * 9 + ["val"] * 3
        table["fold"] = [1, 2, 3] * 4
        return fold_view(table, 1, 0)
    return table


def test_fit_genes_are_train_and_val_on_a_single_split_and_train_only_under_cross_fitting() -> None:
    single, crossed = tiny_table(False), tiny_table(True)
    assert fit_genes(single).tolist() == [True] * 9 + [False] * 3 and fitted_on(single) == "train+val"
    expected = (crossed["split"] == "train").to_numpy()
    assert fit_genes(crossed).tolist() == expected.tolist() and fitted_on(crossed) == "train"
    assert not fit_genes(crossed)[(crossed["split"] == "val").to_numpy()].any()


def probe_table(cross_fitted: bool, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    n = 120
    table = pd.DataFrame({"gene_id": [f"G{i}" for i in range(n)], "target": rng.normal(size=n)})
    table["split"] = np.where(np.arange(n) % 10 == 0, "val", "train")
    if cross_fitted:
        table["fold"] = np.arange(n) % 3 + 1
        table = fold_view(table, FOLD, 0)
    else:
        table.loc[table.index % 3 == 1, "split"] = "test"
    features = {0: rng.normal(size=(n, 5)), 1: rng.normal(size=(n, 5))}
    return table, features


@pytest.mark.parametrize("cross_fitted", [True, False])
def test_the_probe_fits_on_inner_val_genes_only_on_a_single_split(cross_fitted: bool) -> None:
    """Changing the val genes' targets changes nothing under cross-fitting; on a single split it does."""
    rng = np.random.default_rng(3)
    table, features = probe_table(cross_fitted, rng)
    groups = table["gene_id"].to_numpy()
    val = (table["split"] == "val").to_numpy()
    assert val.any()
    before = fit_probe(table, features, groups, "probe", (1.0, 10.0), FOLD if cross_fitted else 0)
    changed = table.assign(target=np.where(val, table["target"] + 50.0, table["target"]))
    after = fit_probe(changed, features, groups, "probe", (1.0, 10.0), FOLD if cross_fitted else 0)
    same = np.allclose(before.predictions["predicted"], after.predictions["predicted"], rtol=0, atol=0)
    assert same == cross_fitted
    assert before.n_fit == int((table["split"] == "train").sum()) + (0 if cross_fitted else int(val.sum()))
    assert set(before.predictions["fold"]) == {FOLD if cross_fitted else 0}


# --------------------------------------------------------------------------------------------
# DExTER's LassoCV folds


def test_lasso_folds_keep_every_group_whole_and_stay_contiguous_without_groups() -> None:
    rng = np.random.default_rng(0)
    groups = np.array([f"g{value}" for value in rng.integers(0, 60, size=300)])
    folds = lasso_folds(groups)
    assert isinstance(folds, list) and len(folds) == CV_FOLDS
    held = np.concatenate([held_out for _, held_out in folds])
    assert sorted(held.tolist()) == list(range(len(groups)))  # every gene held out exactly once
    for fit, held_out in folds:
        assert not set(groups[fit]) & set(groups[held_out])
    contiguous = lasso_folds(None)
    assert isinstance(contiguous, KFold) and contiguous.n_splits == CV_FOLDS and not contiguous.shuffle


# --------------------------------------------------------------------------------------------
# the commands, fold 2 of a 3-fold cross-fitted dataset


@pytest.fixture(scope="module")
def dexter_fold(cross_fitted_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("dexter_fold")
    groups = cross_fitted_dataset.parent / "gene_groups.tsv"
    run_script("dexter.py", "--dataset", cross_fitted_dataset, "--fold", str(FOLD), "--groups", groups,
               "--outdir", outdir)  # fmt: skip
    return outdir


def test_dexter_tests_fold_2_and_fits_on_its_train_genes(dexter_fold: Path, cross_fitted_dataset: Path) -> None:
    assert_fold_predictions(dexter_fold / "predictions.tsv", cross_fitted_dataset, "DExTER")
    model = json.loads((dexter_fold / "model.json").read_text())
    view = fold_view(read_dataset(cross_fitted_dataset), FOLD, 0)
    assert model["fold"] == FOLD and model["repeat"] == 0 and model["fitted_on"] == "train"
    assert model["lasso_cv"] == "gene groups"
    assert model["training_genes"] == int((view["split"] == "train").sum())


def test_dexter_never_fits_on_an_inner_val_gene(dexter_fold: Path, cross_fitted_dataset: Path, tmp_path: Path) -> None:
    """The val genes' targets changed: every prediction is the same (their observed column changes)."""
    table = read_dataset(cross_fitted_dataset)
    val = (table["split"] == "val").to_numpy()
    assert val.any()
    write_dataset(table.assign(target=np.where(val, -table["target"] + 7.0, table["target"])), tmp_path / "d.tsv.gz")
    groups = cross_fitted_dataset.parent / "gene_groups.tsv"
    run_script("dexter.py", "--dataset", tmp_path / "d.tsv.gz", "--fold", str(FOLD), "--groups", groups,
               "--outdir", tmp_path / "out")  # fmt: skip
    before = read_predictions(dexter_fold / "predictions.tsv")
    after = read_predictions(tmp_path / "out" / "predictions.tsv")
    assert before["predicted"].tolist() == after["predicted"].tolist()
    assert before["observed"].tolist() != after["observed"].tolist()


def test_dexter_predict_labels_the_fold(dexter_fold: Path, cross_fitted_dataset: Path, tmp_path: Path) -> None:
    run_script("dexter_predict.py", "--model", dexter_fold / "model.json", "--dataset", cross_fitted_dataset,
               "--fold", str(FOLD), "--outdir", tmp_path)  # fmt: skip
    predictions = assert_fold_predictions(tmp_path / "predictions.tsv", cross_fitted_dataset, "DExTER")
    fitted = read_predictions(dexter_fold / "predictions.tsv")
    assert np.allclose(predictions["predicted"], fitted["predicted"])


def test_dexter_groups_missing_a_fit_gene_name_both_files(cross_fitted_dataset: Path, tmp_path: Path) -> None:
    groups = read_gene_groups(cross_fitted_dataset.parent / "gene_groups.tsv")
    view = fold_view(read_dataset(cross_fitted_dataset), FOLD, 0)
    first_fit = view.loc[view["split"] == "train", "gene_id"].iloc[0]
    lonely = groups[(groups["gene_id"] != first_fit) & (groups["reason"] == "singleton")]
    lonely.to_csv(tmp_path / "groups.tsv", sep="\t", index=False)
    result = invoke("dexter.py", "--dataset", cross_fitted_dataset, "--fold", str(FOLD),
                    "--groups", tmp_path / "groups.tsv", "--outdir", tmp_path / "out")  # fmt: skip
    assert_one_line_error(result, "have no group here")
    assert str(cross_fitted_dataset) in result.stderr and str(tmp_path / "groups.tsv") in result.stderr
    assert first_fit in result.stderr


@pytest.mark.parametrize("script", ["dexter.py", "train_cnn.py", "probe_glm.py"])
def test_a_cross_fitted_dataset_needs_a_fold(script: str, cross_fitted_dataset: Path, tmp_path: Path) -> None:
    extra = ["--model", TINY_GLM] if script == "probe_glm.py" else []
    result = invoke(script, "--dataset", cross_fitted_dataset, *extra, "--fold", "0", "--outdir", tmp_path)
    assert_one_line_error(result, "the dataset is cross-fitted with folds 1..3")


def test_train_cnn_tests_fold_2(cross_fitted_dataset: Path, tmp_path: Path) -> None:
    run_script("train_cnn.py", "--dataset", cross_fitted_dataset, "--fold", str(FOLD), "--epochs", "1",
               "--threads", "1", "--outdir", tmp_path)  # fmt: skip
    assert_fold_predictions(tmp_path / "predictions.tsv", cross_fitted_dataset, "CNN")
    fit = read_fit(tmp_path / "fit.json")
    view = fold_view(read_dataset(cross_fitted_dataset), FOLD, 0)
    assert (fit.fold, fit.repeat, fit.fitted_on) == (FOLD, 0, "train")
    assert fit.genes_fitted == int((view["split"] == "train").sum())
    assert fit.val_genes == int((view["split"] == "val").sum())


def test_finetune_dnabert2_tests_fold_2(cross_fitted_dataset: Path, tmp_path: Path) -> None:
    run_script(
        "finetune_dnabert2.py", "--dataset", cross_fitted_dataset, "--fold", str(FOLD), "--model", TINY_DNABERT2,
        "--epochs", "1", "--batch-size", "32", "--global-batch-size", "64", "--max-tokens", "64",
        "--eval-steps", "2", "--logging-steps", "2", "--warmup-steps", "1", "--device", "cpu", "--threads", "1",
        "--outdir", tmp_path,
    )  # fmt: skip
    assert_fold_predictions(tmp_path / "predictions.tsv", cross_fitted_dataset, "DNABERT-2")
    fit = json.loads((tmp_path / "fit.json").read_text())
    assert fit["fold"] == FOLD and fit["repeat"] == 0 and fit["fitted_on"] == "train"


@pytest.mark.parametrize("script", ["probe_dnabert2.py", "probe_glm.py"])
def test_the_probes_test_fold_2_and_fit_on_its_train_genes(
    script: str, cross_fitted_dataset: Path, tmp_path: Path
) -> None:
    model, name = (TINY_DNABERT2, "DNABERT-2_probe") if script == "probe_dnabert2.py" else (TINY_GLM, "probe:esm_6mer")
    run_script(script, "--dataset", cross_fitted_dataset, "--fold", str(FOLD), "--model", model,
               "--groups", cross_fitted_dataset.parent / "gene_groups.tsv", "--layers", "-1", "--max-tokens", "64",
               "--threads", "1", "--outdir", tmp_path)  # fmt: skip
    assert_fold_predictions(tmp_path / "predictions.tsv", cross_fitted_dataset, name)
    summary = json.loads((tmp_path / "probe.json").read_text())
    view = fold_view(read_dataset(cross_fitted_dataset), FOLD, 0)
    assert summary["fitted_on"] == "train" and (summary["fold"], summary["repeat"]) == (FOLD, 0)
    assert summary["n_fit_genes"] == int((view["split"] == "train").sum())


def test_a_single_split_probe_says_it_fitted_on_train_and_val() -> None:
    table, features = probe_table(False, np.random.default_rng(1))
    fitted = fit_probe(table, features, table["gene_id"].to_numpy(), "probe", (1.0,))
    assert fitted.n_fit == int(table["split"].isin(["train", "val"]).sum())
    with pytest.raises(InputError, match="train/val"):
        fit_probe(table.assign(split="test"), features, table["gene_id"].to_numpy(), "probe", (1.0,))
