"""Refit on train + val for the chosen number of steps (`seq2expr.models.training.refit`), for the CNN and DNABERT-2.

A refit run trains exactly the early-stopped run's best number of steps N on the train and val
genes and never on a test gene (every step's genes are recorded), is byte-identical on re-run,
and says so in fit.json; without it, fit.json says the val genes were the early-stopping set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA, run_script

from seq2expr.data.dataset import read_dataset
from seq2expr.errors import InputError
from seq2expr.models.cnn.model import encode
from seq2expr.models.cnn.options import CnnConfig, CnnOptions
from seq2expr.models.cnn.run import run as run_cnn
from seq2expr.models.cnn.training import CnnTask
from seq2expr.models.dnabert2.finetune import Dnabert2Task
from seq2expr.models.dnabert2.finetune import run as run_dnabert2
from seq2expr.models.dnabert2.options import FinetuneOptions
from seq2expr.models.training.core import scaled_warmup
from seq2expr.models.training.loop import refit_settings
from seq2expr.models.training.options import ResumeOptions
from seq2expr.models.training.refit import FIT_FILE, RefitOptions, read_fit

CNN = CnnOptions(epochs=4, batch_size=64, patience=1)
SMALL = CnnConfig(motif_filters=16, filters=16, dilated_blocks=1, hidden=16)
TINY = TEST_DATA / "tiny_dnabert2"
DNABERT2 = FinetuneOptions(
    epochs=3,
    global_batch_size=16,
    batch_size=16,
    eval_batch_size=64,
    learning_rate=1e-3,
    warmup_steps=4,
    max_tokens=64,
    eval_steps=3,
    logging_steps=1,
    patience=0,
    seed=3,
)
OUTPUTS = ("predictions.tsv", "model/model.safetensors", FIT_FILE, "refit_log.tsv", "training_log.tsv")


@dataclass
class Steps:
    """Every optimiser step's genes, per run of the loop (a new task object is a new run)."""

    runs: dict[int, list[list[str]]] = field(default_factory=dict)

    def add(self, task: object, genes: list[str]) -> None:
        self.runs.setdefault(id(task), []).append(genes)

    def phases(self) -> list[list[list[str]]]:
        return list(self.runs.values())


@pytest.fixture
def cnn_steps(monkeypatch: pytest.MonkeyPatch, synthetic_dataset: Path) -> Iterator[Steps]:
    """Record the genes of every CNN step (windows matched back to their genes by their bytes)."""
    table = read_dataset(synthetic_dataset)
    by_window = {
        row.tobytes(): gene for row, gene in zip(encode(table["sequence"].tolist()), table["gene_id"], strict=True)
    }
    steps = Steps()
    original = CnnTask.backward

    def backward(self: CnnTask, indices: np.ndarray) -> tuple[float, int]:
        steps.add(self, [by_window[row.tobytes()] for row in self.codes[indices]])
        return original(self, indices)

    monkeypatch.setattr(CnnTask, "backward", backward)
    yield steps


def genes_of(table: pd.DataFrame, *splits: str) -> set[str]:
    return set(table.loc[table["split"].isin(splits), "gene_id"])


def test_a_cnn_refit_trains_exactly_the_best_steps_on_train_and_val_and_never_a_test_gene(
    cnn_steps: Steps, synthetic_dataset: Path, tmp_path: Path
) -> None:
    table = read_dataset(synthetic_dataset)
    done = run_cnn(synthetic_dataset, SMALL, CNN, tmp_path / "a", "cpu", 1, None, RefitOptions(refit=True))
    first, refit = cnn_steps.phases()
    log = done.result.log
    best = int(log.loc[log["val_loss"].idxmin(), "step"])
    fit = read_fit(tmp_path / "a" / FIT_FILE)
    assert fit.refit and fit.steps == best == len(refit) and fit.fitted_on == "train+val" and fit.val_use == "fitted on"
    assert len(first) == int(log["step"].iloc[-1]) > best  # the early-stopped run went on past its best step
    seen_first, seen_refit = set().union(*first), set().union(*refit)
    assert seen_first == genes_of(table, "train")
    assert seen_refit <= genes_of(table, "train", "val") and seen_refit & genes_of(table, "val")
    assert not seen_refit & genes_of(table, "test")
    assert fit.genes_fitted == len(genes_of(table, "train", "val")) and fit.val_genes == len(genes_of(table, "val"))
    refit_log = pd.read_csv(tmp_path / "a" / "refit_log.tsv", sep="\t")
    assert refit_log["step"].iloc[-1] == best and refit_log["val_loss"].isna().all()
    predictions = pd.read_csv(tmp_path / "a" / "predictions.tsv", sep="\t")
    assert predictions.set_index("gene_id")["split"].to_dict() == table.set_index("gene_id")["split"].to_dict()
    assert sorted(done.files) == sorted(
        str(path.relative_to(tmp_path / "a")) for path in (tmp_path / "a").rglob("*") if path.is_file()
    )

    again = run_cnn(synthetic_dataset, SMALL, CNN, tmp_path / "b", "cpu", 1, None, RefitOptions(refit=True))
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert again.result.fit == done.result.fit

    run_cnn(synthetic_dataset, SMALL, CNN, tmp_path / "c", "cpu", 1)
    kept = read_fit(tmp_path / "c" / FIT_FILE)
    assert not kept.refit and kept.steps == best and kept.val_use == "early stopping" and kept.fitted_on == "train"
    assert not (tmp_path / "c" / "refit_log.tsv").exists()
    assert (tmp_path / "a" / "predictions.tsv").read_bytes() != (tmp_path / "c" / "predictions.tsv").read_bytes()
    assert (tmp_path / "a" / "training_log.tsv").read_bytes() == (tmp_path / "c" / "training_log.tsv").read_bytes()

    # The evaluation labels the val rows from fit.json: fitted on after a refit, early stopping without.
    for run, fitted_on, val_use in [("a", "train+val", "fitted on"), ("c", "train", "early stopping")]:
        out = tmp_path / f"evaluated_{run}"
        run_script("evaluate_models.py", "--predictions", tmp_path / run / "predictions.tsv",
                   "--fit", tmp_path / run / FIT_FILE, "--bootstrap", "100", "--outdir", out)  # fmt: skip
        metrics = pd.read_csv(out / "metrics.tsv", sep="\t", keep_default_na=False).set_index(["model", "split"])
        assert metrics.loc[("CNN", "val"), ["fitted_on", "val_use"]].tolist() == [fitted_on, val_use]
    # Runs of one model that disagree on the refit, or a fit.json of a model not given: one line naming the file.
    both = ("--fit", tmp_path / "a" / FIT_FILE, "--fit", tmp_path / "c" / FIT_FILE)
    disagree = run_script("evaluate_models.py", "--predictions", tmp_path / "a" / "predictions.tsv", *both,
                          "--outdir", tmp_path / "bad", check=False)  # fmt: skip
    assert disagree.returncode != 0 and "one fit.json says refit, another not" in disagree.stderr
    other = tmp_path / "other_fit.json"
    other.write_text((tmp_path / "a" / FIT_FILE).read_text().replace('"CNN"', '"DNABERT-2"'))
    unknown = run_script("evaluate_models.py", "--predictions", tmp_path / "a" / "predictions.tsv", "--fit", other,
                         "--outdir", tmp_path / "bad", check=False)  # fmt: skip
    assert unknown.returncode != 0 and "other_fit.json" in unknown.stderr and "'DNABERT-2'" in unknown.stderr


def test_a_dnabert2_refit_trains_the_best_steps_on_train_and_val_with_the_schedule_scaled(
    monkeypatch: pytest.MonkeyPatch, synthetic_dataset: Path, tmp_path: Path
) -> None:
    """Test genes carry a sentinel target, so any step that read one would show it in its labels."""
    table = read_dataset(synthetic_dataset)
    sentinel = 99.0
    table.loc[table["split"] == "test", "target"] = sentinel
    dataset = tmp_path / "dataset.tsv"
    table.to_csv(dataset, sep="\t", index=False)
    labels: dict[int, list[np.ndarray]] = {}
    original = Dnabert2Task.backward

    def backward(self: Dnabert2Task, indices: np.ndarray) -> tuple[float, int]:
        labels.setdefault(id(self), []).append(self.train.labels[indices])
        return original(self, indices)

    monkeypatch.setattr(Dnabert2Task, "backward", backward)
    done = run_dnabert2(dataset, str(TINY), DNABERT2, tmp_path / "ft", "cpu", 1, None, RefitOptions(refit=True))
    first, refit = labels.values()
    state = done.result.state
    fit = read_fit(tmp_path / "ft" / FIT_FILE)
    assert fit.refit and fit.steps == state.best_step == len(refit) and len(first) == state.step
    assert not any((batch == sentinel).any() for batch in [*first, *refit])
    n_train, n_val = len(genes_of(table, "train")), len(genes_of(table, "val"))
    assert fit.genes_fitted == n_train + n_val
    total = state.step  # patience 0: the run went through all its epochs
    warmup = scaled_warmup(DNABERT2.warmup_steps, fit.steps, total)
    assert f"linear warm-up {warmup} steps, linear decay to 0 at step {fit.steps}" in fit.schedule
    rates = pd.read_csv(tmp_path / "ft" / "refit_log.tsv", sep="\t")["learning_rate"].to_numpy()
    expected = [
        DNABERT2.learning_rate * (s / warmup if s < warmup else (fit.steps - s) / (fit.steps - warmup))
        for s in range(fit.steps)
    ]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)


def test_both_commands_take_refit_and_write_fit_json(synthetic_dataset: Path, tmp_path: Path) -> None:
    fast = ["--epochs", "1", "--patience", "0", "--threads", "1", "--device", "cpu"]
    small = ["--filters", "8", "--motif-filters", "8", "--dilated-blocks", "0", "--hidden", "8"]
    run_script("train_cnn.py", "--dataset", synthetic_dataset, *fast, *small, "--refit", "--outdir", tmp_path / "cnn")
    assert read_fit(tmp_path / "cnn" / FIT_FILE).refit
    dnabert2 = ["--model", TINY, "--max-tokens", "32", "--global-batch-size", "32", "--learning-rate", "1e-3"]
    run_script("finetune_dnabert2.py", "--dataset", synthetic_dataset, *fast, *dnabert2, "--outdir", tmp_path / "ft")
    assert not read_fit(tmp_path / "ft" / FIT_FILE).refit


def test_a_refit_needs_a_step_and_a_bad_fit_json_is_one_line(tmp_path: Path) -> None:
    from seq2expr.models.training.loop import LoopSettings

    with pytest.raises(InputError, match="at least one optimiser step"):
        refit_settings(LoopSettings(epochs=2, patience=1, max_grad_norm=1.0), 0)
    bad = tmp_path / FIT_FILE
    bad.write_text('{"refit": "yes"}')
    with pytest.raises(InputError, match="missing field"):
        read_fit(bad)


def test_an_interrupted_refit_run_resumes_to_the_same_bytes(synthetic_dataset: Path, tmp_path: Path) -> None:
    """Stopped during the early-stopped run, then resumed: the refit starts from the initial weights, not the resumed ones."""
    options = replace(CNN, epochs=2, patience=0)
    refit = RefitOptions(refit=True)
    run_cnn(synthetic_dataset, SMALL, options, tmp_path / "whole", "cpu", 1, None, refit)
    part = run_cnn(
        synthetic_dataset, SMALL, options, tmp_path / "part", "cpu", 1, ResumeOptions(stop_after_steps=3), refit
    )
    assert part.result.predictions is None and part.result.fit is None
    run_cnn(synthetic_dataset, SMALL, options, tmp_path / "part", "cpu", 1, None, refit)
    for name in OUTPUTS:
        assert (tmp_path / "part" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert not (tmp_path / "part" / "checkpoints").exists()
