"""The declared searches choose on validation genes only: test rows never reach training, and changing the
test genes' targets or sequences changes no score and no choice; the CNN's defaults are the declared winner."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seq2expr.data.dataset import read_dataset
from seq2expr.errors import InputError
from seq2expr.models.cnn import search as cnn_search
from seq2expr.models.cnn.options import CnnConfig, CnnOptions
from seq2expr.models.training.search import (
    Candidate,
    ValidationScore,
    score_from_log,
    search_learning_rate,
    select_on_validation,
)

CPU = torch.device("cpu")


def tiny_candidates() -> tuple[Candidate[cnn_search.CnnSetting], ...]:
    """Two small, fast candidates that differ in learning rate and width: the choice is between real runs."""
    small = CnnConfig(motif_filters=8, filters=8, hidden=8)
    tower = CnnConfig(architecture="tower", motif_filters=8, filters=16, dilated_blocks=2, hidden=8, stem_pool=4)
    return (
        Candidate("slow", cnn_search.CnnSetting(small, 1e-4, 2, 0), "basic, 8 filters, learning rate 1e-4, 2 epochs"),
        Candidate("quick", cnn_search.CnnSetting(tower, 3e-3, 1, 0), "tower, 16 filters, learning rate 3e-3, 1 epoch"),
    )


def tampered(table: pd.DataFrame) -> pd.DataFrame:
    """The same table with every test gene's target shuffled-and-shifted and its sequence reversed."""
    test = (table["split"] == "test").to_numpy()
    out = table.copy()
    targets = out.loc[test, "target"].to_numpy()
    out.loc[test, "target"] = np.random.default_rng(1).permutation(targets)[::-1] * -3.0 + 5.0
    out.loc[test, "sequence"] = out.loc[test, "sequence"].str[::-1]
    return out


def test_the_cnn_search_never_reads_the_test_genes(synthetic_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = read_dataset(synthetic_dataset)
    assert (table["split"] == "test").any()
    seen: list[set[str]] = []
    real_train = cnn_search.train_cnn

    def spy(visible: pd.DataFrame, *args: object, **kwargs: object) -> object:
        seen.append(set(visible["split"]))
        return real_train(visible, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cnn_search, "train_cnn", spy)
    options = CnnOptions(batch_size=16)
    first = cnn_search.search_cnn(table, str(synthetic_dataset), options, CPU, tiny_candidates())
    second = cnn_search.search_cnn(tampered(table), str(synthetic_dataset), options, CPU, tiny_candidates())
    assert seen and all(splits == {"train", "val"} for splits in seen)
    pd.testing.assert_frame_equal(first.scores.drop(columns="seconds"), second.scores.drop(columns="seconds"))
    assert first.chosen.name == second.chosen.name
    assert first.n_val == int((table["split"] == "val").sum()) and first.epochs == (2, 1)
    assert first.scores["val_mse"].nunique() == 2  # two real runs, not one score copied
    assert first.scores["max_epochs"].tolist() == [2, 1] and first.scores["best_epoch"].max() <= 2
    text = first.methods()
    assert "2 declared candidates, each with its declared epoch budget (at most 2 epochs)" in text
    assert "up to 1 epochs" in text and f"Chosen: {first.chosen.name}." in text


def test_the_search_carves_the_same_val_genes_as_training(synthetic_dataset: Path) -> None:
    """With no val split in the dataset, the search's val genes are those train_cnn carves from the whole table."""
    from seq2expr.models.training.core import carve_validation
    from seq2expr.models.training.search import without_test

    table = read_dataset(synthetic_dataset)
    no_val = table.assign(split=table["split"].replace({"val": "train"}))
    whole, _ = carve_validation(no_val, 0.1, 7, "x")
    visible, _ = carve_validation(without_test(no_val), 0.1, 7, "x")
    whole_val = set(whole.loc[whole["split"] == "val", "gene_id"])
    assert whole_val == set(visible.loc[visible["split"] == "val", "gene_id"]) and whole_val


def test_the_lowest_val_mse_wins_and_ties_go_to_the_earlier_candidate() -> None:
    table = pd.DataFrame({"split": ["train", "val", "test"], "target": [0.0, 1.0, 2.0]})
    scores = {"a": 0.5, "b": 0.2, "c": 0.2, "d": float("nan")}
    candidates = [Candidate(name, name, name) for name in scores]
    result = select_on_validation("M", candidates, 3, table, lambda c, t: ValidationScore(scores[c.name], 0.1, 1))
    assert result.chosen.name == "b" and result.scores["chosen"].tolist() == [False, True, False, False]


def test_a_search_without_val_genes_or_with_a_repeated_name_is_refused() -> None:
    table = pd.DataFrame({"split": ["train", "test"], "target": [0.0, 1.0]})
    one = [Candidate("a", 1, "a")]
    with pytest.raises(InputError, match="needs val genes"):
        select_on_validation("M", one, 1, table, lambda c, t: ValidationScore(0.0, 0.0, 1))
    with pytest.raises(InputError, match="names a candidate twice"):
        select_on_validation("M", one * 2, 1, table, lambda c, t: ValidationScore(0.0, 0.0, 1))


def test_the_learning_rate_search_needs_a_gpu_and_sees_no_test_gene() -> None:
    table = pd.DataFrame({"split": ["train", "train", "val", "test"], "target": [0.0, 1.0, 1.0, 9.0]})
    with pytest.raises(InputError, match="GPU"):
        search_learning_rate("DNABERT-2", (1e-5, 3e-5), 2, table, lambda rate, t: ValidationScore(rate, 0.0, 1), CPU)
    calls: list[tuple[float, set[str]]] = []

    def fit(rate: float, visible: pd.DataFrame) -> ValidationScore:
        calls.append((rate, set(visible["split"])))
        return ValidationScore(abs(rate - 3e-5), 0.5, 1)

    result = search_learning_rate("DNABERT-2", (1e-5, 3e-5, 5e-5), 2, table, fit, torch.device("cuda"))
    assert result.chosen.settings == 3e-5 and [rate for rate, _ in calls] == [1e-5, 3e-5, 5e-5]
    assert all(splits == {"train", "val"} for _, splits in calls)


def test_the_default_recipe_is_the_declared_winner() -> None:
    """The defaults are written once in the dataclasses; this ties them to the candidate the dev search chose,
    and the candidates to the methods text: both architectures, each with its own epoch budget."""
    winner = {candidate.name: candidate for candidate in cnn_search.CANDIDATES}[cnn_search.DEFAULT_CANDIDATE]
    assert winner.settings.config == CnnConfig()
    recipe = CnnOptions()
    assert (winner.settings.learning_rate, winner.settings.epochs, winner.settings.patience) == (
        recipe.learning_rate,
        recipe.epochs,
        recipe.patience,
    )
    assert len(cnn_search.CANDIDATES) == 4
    assert {candidate.settings.config.architecture for candidate in cnn_search.CANDIDATES} == {"basic", "tower"}
    for candidate in cnn_search.CANDIDATES:
        assert f"{candidate.settings.epochs} epochs, patience {candidate.settings.patience}" in candidate.description
        assert f"`{candidate.name}`" in (cnn_search.__doc__ or ""), candidate.name


def test_every_option_field_declares_its_help() -> None:
    for cls in (CnnConfig, CnnOptions):
        for item in fields(cls):
            assert item.metadata.get("help"), f"{cls.__name__}.{item.name}"


def test_a_log_is_scored_by_its_first_lowest_val_mse() -> None:
    log = pd.DataFrame(
        {
            "step": [10, 20, 30, 40],
            "epoch": [1.0, 2.0, 3.0, 4.0],
            "val_loss": [0.9, 0.5, float("inf"), 0.5],
            "val_pearson": [0.1, 0.6, 0.0, 0.7],
        }
    )
    assert score_from_log(log) == ValidationScore(0.5, 0.6, 2)
    diverged = log.assign(val_loss=float("nan"))
    assert np.isnan(score_from_log(diverged).val_mse)
