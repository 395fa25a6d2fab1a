"""`bin/finetune_dnabert2.py` end to end on the tiny DNABERT-2 and the synthetic dataset: the files of the
command contract, byte-identical re-runs, a stop-and-resume through the command, one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from click.testing import CliRunner, Result
from conftest import assert_one_line_error, invoke, load_command

from seq2expr.data.dataset import read_dataset, write_dataset
from seq2expr.io.compute import read_compute
from seq2expr.io.predictions import read_predictions
from seq2expr.models.dnabert2.finetune import CURVES, LOG_COLUMNS, encode_table, predict
from seq2expr.models.dnabert2.finetune import run as finetune_run
from seq2expr.models.dnabert2.model import Dnabert2ForRegression
from seq2expr.models.dnabert2.options import FinetuneOptions
from seq2expr.models.dnabert2.tokenizer import load_tokenizer
from seq2expr.models.training.options import ResumeOptions
from seq2expr.models.training.refit import read_fit

#: One pytest-xdist worker runs this module (--dist loadgroup):
#: its module-scoped `finished` fine-tuning is trained once, not once per worker.
pytestmark = pytest.mark.xdist_group("finetune_cli")

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "assets" / "test_data" / "tiny_dnabert2"
#: 259 train genes → 9 steps of 32 (2 × 16 accumulated) in one epoch; evaluations at steps 4, 8 and 9.
QUICK = [
    "--model", str(TINY), "--epochs", "1", "--batch-size", "16", "--global-batch-size", "32",
    "--learning-rate", "1e-3", "--warmup-steps", "2", "--max-tokens", "128", "--eval-steps", "4",
    "--logging-steps", "2", "--seed", "5", "--device", "cpu", "--threads", "1",
]  # fmt: skip


COMMAND = load_command("finetune_dnabert2.py")


def run(*args: str | Path) -> Result:
    """The command in this process; its --threads (process-wide in torch) must not outlive it."""
    threads = torch.get_num_threads()
    result = CliRunner().invoke(COMMAND, [str(arg) for arg in args], catch_exceptions=False)
    assert torch.get_num_threads() == threads
    return result


def one_line_error(result: Result) -> str:
    """The command failed with exactly one `Error:` line and no traceback; return that line."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0]), result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def finished(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("finetune")
    result = run("--dataset", synthetic_dataset, *QUICK, "--outdir", outdir)
    assert result.exit_code == 0, result.output
    return outdir


def test_writes_the_contract_files(finished: Path, synthetic_dataset: Path):
    dataset = read_dataset(synthetic_dataset)
    assert sorted(p.name for p in finished.iterdir()) == [
        "compute.tsv",
        "fit.json",
        "model",
        "predictions.tsv",
        "training_curves_mqc.yaml",
        "training_log.tsv",
    ]  # the checkpoints are gone once the outputs are written
    fit = read_fit(finished / "fit.json")  # no --refit: fitted on train, val was the early-stopping set
    assert (fit.refit, fit.fitted_on, fit.val_use) == (False, "train", "early stopping")
    assert (
        fit.genes_fitted == (dataset["split"] == "train").sum() and fit.val_genes == (dataset["split"] == "val").sum()
    )

    predictions = read_predictions(finished / "predictions.tsv")
    assert predictions["gene_id"].tolist() == dataset["gene_id"].tolist()
    assert predictions["split"].tolist() == dataset["split"].tolist()
    assert np.array_equal(predictions["observed"].to_numpy(), dataset["target"].to_numpy())
    assert set(predictions["model"]) == {"DNABERT-2"}
    assert predictions["predicted"].std() > 0

    log = pd.read_csv(finished / "training_log.tsv", sep="\t")
    assert log.columns.tolist() == LOG_COLUMNS
    assert log["step"].tolist() == [2, 4, 6, 8, 9]
    assert log.dropna(subset=["val_loss"])["step"].tolist() == [4, 8, 9]
    assert (log["tokens_per_s"] > 0).all() and log["train_loss"].notna().all()
    # the tiny checkpoint's random weights are marked, so the report can say its accuracy means nothing
    assert read_compute(finished / "compute.tsv")["random_init"].tolist() == [True]

    curves = yaml.safe_load((finished / "training_curves_mqc.yaml").read_text())
    assert curves["id"] == CURVES.section and curves["plot_type"] == "linegraph"
    assert curves["data"]["train loss"] == dict(zip(log["step"], log["train_loss"], strict=True))
    assert list(curves["data"]["val loss"]) == [4, 8, 9]

    # model/ is the best checkpoint with its tokenizer: it gives predictions.tsv back
    model = Dnabert2ForRegression.from_pretrained(finished / "model")
    tokenizer = load_tokenizer(finished / "model")
    test = dataset[dataset["split"] == "test"]
    again = predict(model, encode_table(test, tokenizer, 128), 64, torch.device("cpu"), tokenizer.pad_token_id)
    expected = predictions.loc[predictions["split"] == "test", "predicted"].to_numpy()
    np.testing.assert_allclose(again, expected, rtol=1e-6, atol=1e-7)


def test_a_rerun_is_byte_identical_and_group_readable(finished: Path, synthetic_dataset: Path, tmp_path: Path):
    """Same options, same bytes; and every output honours the umask (shared cluster folders), the
    weights included, which safetensors on its own writes owner-only."""
    umask = os.umask(0o002)
    try:
        assert run("--dataset", synthetic_dataset, *QUICK, "--outdir", tmp_path).exit_code == 0
    finally:
        os.umask(umask)
    modes = {str(path.relative_to(tmp_path)): path.stat().st_mode & 0o777 for path in tmp_path.rglob("*")}
    assert modes["model/model.safetensors"] == 0o664
    assert set(modes.values()) <= {0o664, 0o775}, modes
    for name in ("predictions.tsv", "training_curves_mqc.yaml", "model/model.safetensors", "model/tokenizer.json"):
        assert (tmp_path / name).read_bytes() == (finished / name).read_bytes(), name
    wall_clock = ["tokens_per_s"]
    before = pd.read_csv(finished / "training_log.tsv", sep="\t").drop(columns=wall_clock)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "training_log.tsv", sep="\t").drop(columns=wall_clock), before)


def test_stop_and_resume_through_the_command(finished: Path, synthetic_dataset: Path, tmp_path: Path):
    stopped = run("--dataset", synthetic_dataset, *QUICK, "--outdir", tmp_path, "--stop-after-steps", "3")
    assert stopped.exit_code == 0, stopped.output
    assert not (tmp_path / "predictions.tsv").exists() and (tmp_path / "checkpoints" / "last.pt").is_file()
    assert pd.read_csv(tmp_path / "training_log.tsv", sep="\t")["step"].tolist() == [2]
    again = run("--dataset", synthetic_dataset, *QUICK, "--outdir", tmp_path, "--stop-after-steps", "3")
    assert again.exit_code == 0 and "Already at step 3" in again.stderr

    # a kill in the middle of writing the next checkpoint leaves only half-written temporary files behind
    (tmp_path / "checkpoints" / "last.pt.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / "checkpoints" / "best.safetensors.tmp").write_bytes(b"half the weights")

    resumed = run("--dataset", synthetic_dataset, *QUICK, "--outdir", tmp_path)
    assert resumed.exit_code == 0, resumed.output
    assert "Resumed from" in resumed.stderr and "at step 3" in resumed.stderr
    assert (tmp_path / "predictions.tsv").read_bytes() == (finished / "predictions.tsv").read_bytes()
    assert pd.read_csv(tmp_path / "training_log.tsv", sep="\t")["step"].tolist() == [2, 4, 6, 8, 9]
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.slow
def test_multiqc_draws_the_training_curves(finished: Path, tmp_path: Path):
    shutil.copy(finished / "training_curves_mqc.yaml", tmp_path)
    command = [sys.executable, "-m", "multiqc", str(tmp_path), "-o", str(tmp_path / "report"), "--no-ansi"]
    subprocess.run(command, check=True, capture_output=True)
    table = pd.read_csv(
        tmp_path / "report" / "multiqc_data" / f"multiqc_{CURVES.section}_plot.txt", sep="\t", index_col=0
    )
    assert table.index.tolist() == ["train loss", "val loss"] and table.shape[1] == 5


def test_unreadable_checkpoint(synthetic_dataset: Path, tmp_path: Path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    message = one_line_error(run("--dataset", synthetic_dataset, *QUICK, "--outdir", tmp_path))
    assert "last.pt" in message and "cannot read the training checkpoint" in message


def test_missing_tokenizer(synthetic_dataset: Path, tmp_path: Path):
    model = tmp_path / "model"
    shutil.copytree(TINY, model)
    (model / "tokenizer.json").unlink()
    args = [a if a != str(TINY) else str(model) for a in QUICK]
    message = one_line_error(run("--dataset", synthetic_dataset, *args, "--outdir", tmp_path / "out"))
    assert "tokenizer.json" in message


def edited_dataset(synthetic_dataset: Path, path: Path, edit) -> Path:
    table = read_dataset(synthetic_dataset)
    write_dataset(edit(table), path)
    return path


def test_sequence_outside_acgtn(synthetic_dataset: Path, tmp_path: Path):
    def corrupt(table: pd.DataFrame) -> pd.DataFrame:
        table.iloc[6, table.columns.get_loc("sequence")] = "ACGTRACGT"
        return table

    dataset = edited_dataset(synthetic_dataset, tmp_path / "bad.tsv.gz", corrupt)
    message = one_line_error(run("--dataset", dataset, *QUICK, "--outdir", tmp_path / "out"))
    assert str(dataset) in message and "(line 8)" in message and "'R'" in message


def test_empty_train_split(synthetic_dataset: Path, tmp_path: Path):
    dataset = edited_dataset(synthetic_dataset, tmp_path / "test_only.tsv.gz", lambda t: t.assign(split="test"))
    message = one_line_error(run("--dataset", dataset, *QUICK, "--outdir", tmp_path / "out"))
    assert str(dataset) in message and "train split is empty" in message


def test_inconsistent_batch_sizes(synthetic_dataset: Path, tmp_path: Path):
    result = run("--dataset", synthetic_dataset, *QUICK, "--global-batch-size", "24", "--outdir", tmp_path)
    assert "multiple of --batch-size 16" in one_line_error(result)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_a_gpu(synthetic_dataset: Path, tmp_path: Path):
    result = run("--dataset", synthetic_dataset, *QUICK, "--device", "cuda", "--outdir", tmp_path)
    assert "no CUDA device" in one_line_error(result)


def test_run_returns_every_file_it_writes(synthetic_dataset: Path, tmp_path: Path):
    """`run()` is the command without click: what it returns names exactly what it wrote."""
    options = FinetuneOptions(
        epochs=1, batch_size=16, global_batch_size=32, learning_rate=1e-3, warmup_steps=2, max_tokens=64, seed=5
    )
    stopped = finetune_run(synthetic_dataset, str(TINY), options, tmp_path, "cpu", 1, ResumeOptions(stop_after_steps=2))
    assert stopped.result.predictions is None and stopped.result.state.step == 2
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert sorted(stopped.files) == written == ["checkpoints/last.pt", "training_log.tsv"]  # no evaluation yet
    done = finetune_run(synthetic_dataset, str(TINY), options, tmp_path, "cpu", 1)
    assert done.result.predictions is not None and done.result.state.finished
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert sorted(done.files) == written and "model/model.safetensors" in written and "compute.tsv" in written


def test_an_early_stopped_run_started_again_trains_no_further(synthetic_dataset: Path, tmp_path: Path):
    """Early stopping through the command; with --keep-checkpoints a second start finds the finished run
    and writes the same outputs without a step of training."""
    early = [*QUICK, "--learning-rate", "2e-2", "--warmup-steps", "0", "--eval-steps", "1", "--patience", "1"]
    first = run("--dataset", synthetic_dataset, *early, "--keep-checkpoints", "--outdir", tmp_path)
    assert first.exit_code == 0, first.output
    assert "early stopping: val MSE did not improve for 1 evaluations" in first.stderr
    log = pd.read_csv(tmp_path / "training_log.tsv", sep="\t")
    assert log["step"].max() < 9  # before the epoch's last step
    predictions = (tmp_path / "predictions.tsv").read_bytes()
    again = run("--dataset", synthetic_dataset, *early, "--keep-checkpoints", "--outdir", tmp_path)
    assert again.exit_code == 0, again.output
    assert "finished run" in again.stderr and "nothing left to train" in again.stderr
    assert (tmp_path / "predictions.tsv").read_bytes() == predictions
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "training_log.tsv", sep="\t"), log)


def test_the_learning_rate_search_is_refused_on_a_cpu_in_one_line(synthetic_dataset: Path, tmp_path: Path) -> None:
    args = [*QUICK, "--search-learning-rate", "--outdir", tmp_path]
    result = invoke("finetune_dnabert2.py", "--dataset", synthetic_dataset, *args)
    assert_one_line_error(result, "runs only on a GPU (--device cuda)")
    assert not any(tmp_path.iterdir())  # refused before any fine-tuning


def test_the_learning_rate_search_trains_its_choice(
    monkeypatch: pytest.MonkeyPatch, synthetic_dataset: Path, tmp_path: Path
) -> None:
    """The GPU path on the CPU (the device check passed as if on CUDA): two rates scored on val, the winner trained."""
    import seq2expr.models.dnabert2.finetune as finetune_module

    real = finetune_module.search_learning_rate

    def as_on_a_gpu(
        model: str, rates: object, epochs: int, table: pd.DataFrame, fit: Callable[..., Any], device: torch.device
    ) -> Any:
        assert device.type == "cpu"
        return real(model, (1e-3, 1e-6), epochs, table, fit, torch.device("cuda"))

    monkeypatch.setattr(finetune_module, "search_learning_rate", as_on_a_gpu)
    options = FinetuneOptions(
        epochs=2, global_batch_size=32, batch_size=32, learning_rate=1e-4, max_tokens=32, eval_steps=2, seed=3
    )
    done = finetune_run(synthetic_dataset, str(TINY), options, tmp_path, "cpu", 1, search_rate=True)
    scores = pd.read_csv(tmp_path / "learning_rate_search.tsv", sep="\t")
    assert scores["candidate"].tolist() == ["lr=0.001", "lr=1e-06"] and scores["chosen"].sum() == 1
    assert done.search is not None
    chosen = scores.loc[scores["chosen"]]
    assert chosen["val_mse"].item() == scores["val_mse"].min()
    assert done.result.log["val_loss"].min() == pytest.approx(chosen["val_mse"].item(), rel=1e-6)
    assert "learning_rate_search.tsv" in done.files
