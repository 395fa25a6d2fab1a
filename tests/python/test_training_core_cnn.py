"""The CNN on the shared training core: early stopping is triggered and an early-stopped run started
again trains no further, an interrupted run resumes to exactly the uninterrupted result, a diverging
loss is one clear line, `run()` returns exactly the files it writes, and `search=True` runs the declared
search first and trains its choice."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import assert_one_line_error, run_script

from seq2expr.io.compute import read_compute
from seq2expr.models.cnn.options import CnnConfig, CnnOptions
from seq2expr.models.cnn.run import run
from seq2expr.models.cnn.search import CANDIDATES, CnnSetting
from seq2expr.models.training.options import ResumeOptions
from seq2expr.models.training.search import Candidate

#: One pytest-xdist worker runs this module (--dist loadgroup):
#: its module-scoped `early` CNN run is trained once, not once per worker.
pytestmark = pytest.mark.xdist_group("training_core_cnn")

#: Few epochs of small batches; patience 1 so that the first evaluation without a better val MSE stops the run.
QUICK = CnnOptions(epochs=8, batch_size=64, patience=1)
OUTPUTS = ("predictions.tsv", "training_log.tsv", "cnn_training_curves_mqc.yaml", "model/model.safetensors")


def written(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def early(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    outdir = tmp_path_factory.mktemp("cnn_early")
    return run(synthetic_dataset, CnnConfig(), QUICK, outdir, "cpu", 1, ResumeOptions(keep_checkpoints=True))


def test_early_stopping_triggers_and_run_returns_what_it_wrote(early) -> None:
    result = early.result
    assert result.stopped_early and "did not improve for 1 evaluations" in result.stop_reason
    log = result.log
    assert len(log) < QUICK.epochs and log["epoch"].tolist() == list(range(1, len(log) + 1))
    assert (
        log["val_loss"].iloc[-1]
        >= log["val_loss"].min()
        == log.loc[log["epoch"] == result.best_epoch, "val_loss"].item()
    )
    assert sorted(early.files) == written(early.outdir)
    assert {"checkpoints/last.pt", "checkpoints/best.safetensors", "compute.tsv"} <= set(early.files)
    assert read_compute(early.outdir / "compute.tsv")["random_init"].tolist() == [False]


def test_an_early_stopped_run_started_again_trains_no_further(early, synthetic_dataset: Path, tmp_path: Path) -> None:
    before = {name: (early.outdir / name).read_bytes() for name in OUTPUTS}
    args = ["--epochs", QUICK.epochs, "--batch-size", QUICK.batch_size, "--patience", QUICK.patience]
    again = run_script(
        "train_cnn.py", "--dataset", synthetic_dataset, *args, "--threads", "1", "--device", "cpu",
        "--keep-checkpoints", "--outdir", early.outdir,
    )  # fmt: skip
    assert "finished run" in again.stderr and "nothing left to train" in again.stderr
    assert "Training " not in again.stderr and "val Pearson r" not in again.stderr  # no step, no evaluation
    for name, data in before.items():
        assert (early.outdir / name).read_bytes() == data, name


def test_an_interrupted_run_resumes_to_exactly_the_uninterrupted_result(
    synthetic_dataset: Path, tmp_path: Path
) -> None:
    options = replace(QUICK, epochs=2, patience=0)
    whole = run(synthetic_dataset, CnnConfig(), options, tmp_path / "whole", "cpu", 1)
    steps_per_epoch = int(whole.result.log["step"].iloc[0])
    stop = ResumeOptions(stop_after_steps=steps_per_epoch + 1)  # mid-epoch 2, after epoch 1's evaluation
    part = run(synthetic_dataset, CnnConfig(), options, tmp_path / "part", "cpu", 1, stop)
    assert part.result.predictions is None and sorted(part.files) == written(tmp_path / "part")
    torch.manual_seed(12345)  # a different global RNG state, which the checkpoint must override
    resumed = run(synthetic_dataset, CnnConfig(), options, tmp_path / "part", "cpu", 1)
    for name in OUTPUTS:
        assert (tmp_path / "part" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert not (tmp_path / "part" / "checkpoints").exists() and resumed.result.predictions is not None
    pd.testing.assert_frame_equal(resumed.result.log, whole.result.log)


def test_a_diverging_loss_is_one_line_with_the_hint(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = run_script(
        "train_cnn.py", "--dataset", synthetic_dataset, "--epochs", "1", "--learning-rate", "1e30",
        "--threads", "1", "--device", "cpu", "--outdir", tmp_path, check=False,
    )  # fmt: skip
    assert_one_line_error(result, "training diverged")
    assert "lower --learning-rate (now 1e+30)" in result.stderr
    assert not (tmp_path / "predictions.tsv").exists() and not (tmp_path / "compute.tsv").exists()


def shrunk(candidate: Candidate[CnnSetting]) -> Candidate[CnnSetting]:
    """A declared candidate at a test's budget: 8 channels and, where the setting carries its own, 2 epochs."""
    setting = candidate.settings
    config = replace(setting.config, motif_filters=8, filters=8, hidden=8)
    budget = {name: value for name, value in (("epochs", 2), ("patience", 0)) if hasattr(setting, name)}
    return Candidate(candidate.name, replace(setting, config=config, **budget), candidate.description)


def test_the_search_runs_before_training_and_writes_its_table(synthetic_dataset: Path, tmp_path: Path) -> None:
    """The declared candidates (shrunk to seconds) are scored on val, the chosen one trains, cnn_search.tsv says so."""
    candidates = tuple(shrunk(candidate) for candidate in CANDIDATES[:2])
    options = replace(QUICK, epochs=2, patience=0)
    done = run(synthetic_dataset, CnnConfig(), options, tmp_path, "cpu", 1, search=True, candidates=candidates)
    table = pd.read_csv(tmp_path / "cnn_search.tsv", sep="\t")
    assert table["candidate"].tolist() == [candidate.name for candidate in candidates]
    assert table["chosen"].sum() == 1 and done.search is not None
    chosen = next(c for c in candidates if c.name == done.search.chosen.name)
    assert table.loc[table["chosen"], "val_mse"].item() == pytest.approx(table["val_mse"].min())
    # the chosen recipe is the one trained: its architecture in model/, its best val MSE the search's
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert all(saved[key] == value for key, value in chosen.settings.config.to_dict().items())
    assert done.result.log["val_loss"].min() == pytest.approx(table.loc[table["chosen"], "val_mse"].item(), abs=1e-6)
    assert "cnn_search.tsv" in done.files and sorted(done.files) == written(tmp_path)
    assert "hyper-parameter search" in done.search.methods()
