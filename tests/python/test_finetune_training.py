"""The fine-tuning loop on the tiny DNABERT-2 and the synthetic dataset: it learns, it resumes exactly,
it keeps the study's weight-decay exemptions, and it refuses bad input in one line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seq2expr.data.dataset import read_dataset
from seq2expr.errors import InputError
from seq2expr.models.dnabert2.finetune import encode_table, new_trainer, predict, run_fingerprint
from seq2expr.models.dnabert2.model import Dnabert2ForRegression
from seq2expr.models.dnabert2.options import FinetuneOptions
from seq2expr.models.dnabert2.tokenizer import load_tokenizer
from seq2expr.models.training.core import (
    TrainingDiverged,
    build_optimizer,
    carve_validation,
    checked_table,
    regression_metrics,
    torch_threads,
)
from seq2expr.models.training.loop import Checkpoints, Trainer

TINY = Path(__file__).resolve().parents[2] / "assets" / "test_data" / "tiny_dnabert2"
#: Small but real: 64 train genes, 4 steps of 16 sequences (2 × 8 accumulated) per epoch, evaluation every 3
#: steps and at each epoch end; sequences cut to 128 tokens to keep each test to seconds.
FAST = FinetuneOptions(
    epochs=3,
    global_batch_size=16,
    batch_size=8,
    eval_batch_size=64,
    learning_rate=1e-3,
    warmup_steps=3,
    max_tokens=128,
    eval_steps=3,
    logging_steps=1,
    patience=0,
    seed=3,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One CPU thread: on a shared 2-core runner, two spinning threads are several times slower."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def table(synthetic_dataset: Path) -> pd.DataFrame:
    return read_dataset(synthetic_dataset)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(TINY)


@pytest.fixture(scope="module")
def splits(table, tokenizer):
    train = table[table["split"] == "train"].head(64)
    val = table[table["split"] == "val"]
    return {
        "train": encode_table(train, tokenizer, FAST.max_tokens),
        "val": encode_table(val, tokenizer, FAST.max_tokens),
    }


def trainer_for(
    splits, tokenizer, checkpoint_dir: Path, options: FinetuneOptions, init_seed: int, stop_after: int | None = None
) -> Trainer:
    torch.manual_seed(init_seed)
    model = Dnabert2ForRegression.from_pretrained(TINY)
    fingerprint = run_fingerprint(options, "tiny", "sha")
    cpu, pad = torch.device("cpu"), tokenizer.pad_token_id
    return new_trainer(
        model, splits["train"], splits["val"], options, cpu, pad, Checkpoints(checkpoint_dir), fingerprint, stop_after
    )


def mse(model: nn.Module, split, pad_id: int) -> float:
    return regression_metrics(split.labels.astype(float), predict(model, split, 64, torch.device("cpu"), pad_id))[0]


def test_training_lowers_the_loss_and_keeps_the_best_checkpoint(splits, tokenizer, tmp_path):
    pad = tokenizer.pad_token_id
    trainer = trainer_for(splits, tokenizer, tmp_path, FAST, init_seed=3)
    train_before, val_before = mse(trainer.model, splits["train"], pad), mse(trainer.model, splits["val"], pad)
    state = trainer.run()
    assert state.finished and state.step == trainer.total_steps == 3 * 4
    log = pd.DataFrame(state.log)
    assert log["step"].tolist() == list(range(1, 13))  # a row every step (--logging-steps 1)
    # the loss falls: on the whole train split (eval mode) and in the logged batch losses
    assert mse(trainer.model, splits["train"], pad) < 0.8 * train_before
    assert log["train_loss"].iloc[-4:].mean() < log["train_loss"].iloc[:4].mean()
    evaluated = log.dropna(subset=["val_loss"])
    assert evaluated["step"].tolist() == [3, 4, 6, 8, 9, 12]  # every 3 steps and at each epoch end
    assert state.best_val_loss == evaluated["val_loss"].min() < val_before
    assert state.best_step == int(evaluated.loc[evaluated["val_loss"].idxmin(), "step"])
    # linear warm-up to the peak over 3 steps, then linear decay to 0 at the last step
    lr = log["learning_rate"].to_numpy()
    assert lr[:3] == pytest.approx([0, FAST.learning_rate / 3, 2 * FAST.learning_rate / 3])
    assert lr[3] == pytest.approx(FAST.learning_rate) and np.all(np.diff(lr[3:]) < 0)
    assert trainer.scheduler.get_last_lr()[0] == 0.0
    # the kept weights are the best evaluation's: they give its val MSE again
    trainer.load_best()
    assert mse(trainer.model, splits["val"], pad) == pytest.approx(state.best_val_loss, rel=1e-6)


def test_an_interrupted_run_resumes_to_exactly_the_uninterrupted_result(splits, tokenizer, tmp_path):
    whole = trainer_for(splits, tokenizer, tmp_path / "whole", FAST, init_seed=3)
    whole_state = whole.run()

    # stop mid-epoch and between evaluations (step 5), as a kill right after a checkpoint would
    stopped = trainer_for(splits, tokenizer, tmp_path / "split", FAST, init_seed=3, stop_after=5)
    stopped_state = stopped.run()
    assert stopped_state.step == 5 and not stopped_state.finished
    assert (stopped_state.epoch, stopped_state.batches_done) == (1, 1)

    # a fresh process with another initialisation, which the checkpoint must override entirely
    resumed = trainer_for(splits, tokenizer, tmp_path / "split", FAST, init_seed=99)
    assert resumed.resume() and resumed.state.step == 5
    resumed_state = resumed.run()

    assert resumed_state.finished and resumed_state.step == whole_state.step == 12
    wall_clock = ["tokens_per_s"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(resumed_state.log).drop(columns=wall_clock), pd.DataFrame(whole_state.log).drop(columns=wall_clock)
    )
    assert (resumed_state.best_step, resumed_state.best_val_loss) == (whole_state.best_step, whole_state.best_val_loss)
    for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert (tmp_path / "whole" / "best.safetensors").read_bytes() == (
        tmp_path / "split" / "best.safetensors"
    ).read_bytes()


def test_a_checkpoint_of_another_run_is_refused(splits, tokenizer, tmp_path):
    trainer_for(splits, tokenizer, tmp_path, FAST, init_seed=3, stop_after=1).run()
    other = trainer_for(splits, tokenizer, tmp_path, replace(FAST, learning_rate=5e-4), init_seed=3)
    with pytest.raises(InputError, match="different learning_rate"):
        other.resume()


def test_weight_decay_spares_biases_and_layernorms(tokenizer):
    model = Dnabert2ForRegression.from_pretrained(TINY)
    decayed, exempt = build_optimizer(model, 3e-5, 0.01).param_groups
    assert decayed["weight_decay"] == 0.01 and exempt["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    decayed_names = {names[id(p)] for p in decayed["params"]}
    exempt_names = {names[id(p)] for p in exempt["params"]}
    assert decayed_names | exempt_names == set(names.values()) and not decayed_names & exempt_names
    layer_norms = {
        f"{m}.{p}" for m, mod in model.named_modules() if isinstance(mod, nn.LayerNorm) for p in ("weight", "bias")
    }
    assert any("mlp.layernorm" in n for n in layer_norms)  # the lower-case one is found by type
    assert exempt_names == layer_norms | {n for n in names.values() if n.endswith(".bias")}
    assert "bert.embeddings.word_embeddings.weight" in decayed_names and "classifier.weight" in decayed_names


def test_val_is_carved_from_train_only_when_missing(table):
    assert carve_validation(table, 0.1, 1, "d")[1] == 0
    no_val = table[table["split"] != "val"]
    carved, n = carve_validation(no_val, 0.1, 1, "d")
    n_train = int((no_val["split"] == "train").sum())
    assert n == round(0.1 * n_train) and (carved["split"] == "val").sum() == n
    assert set(carved.loc[carved["split"] == "val", "gene_id"]) <= set(
        no_val.loc[no_val["split"] == "train", "gene_id"]
    )
    assert (carved["split"] == "test").sum() == (no_val["split"] == "test").sum()
    again, _ = carve_validation(no_val, 0.1, 1, "d")
    other, _ = carve_validation(no_val, 0.1, 2, "d")
    assert again["split"].tolist() == carved["split"].tolist() != other["split"].tolist()
    with pytest.raises(InputError, match="train split is empty"):
        carve_validation(table[table["split"] == "test"], 0.1, 1, "d")


@pytest.mark.parametrize(
    ("sequence", "message"), [("ACGTXACGT", "character 'X' at position 5"), ("", "empty sequence")]
)
def test_sequences_outside_acgtn_are_refused_with_their_gene_and_line(table, sequence, message):
    bad = table.head(5).copy()
    bad.iloc[3, bad.columns.get_loc("sequence")] = sequence
    gene = bad["gene_id"].iloc[3]
    with pytest.raises(InputError, match=message) as caught:
        checked_table(bad, "dataset.tsv.gz")
    assert str(caught.value).startswith(f"dataset.tsv.gz: gene {gene} (line 5): ")


def test_lower_case_and_n_are_accepted(table):
    soft = table.head(3).assign(sequence=["acgtn", "ACGTN", "NNNAc"])
    assert checked_table(soft, "d")["sequence"].tolist() == ["ACGTN", "ACGTN", "NNNAC"]


def test_gradient_checkpointing_changes_memory_not_results(splits, tokenizer, tmp_path):
    results = []
    for checkpointing in (False, True):
        options = replace(FAST, gradient_checkpointing=checkpointing)
        run = trainer_for(splits, tokenizer, tmp_path / str(checkpointing), options, init_seed=3)
        assert run.model.is_gradient_checkpointing == checkpointing
        losses = [run.train_step(np.arange(16 * i, 16 * (i + 1)))[0] for i in range(2)]
        results.append((losses, [p.detach().clone() for p in run.model.parameters()]))
    (plain_losses, plain), (checkpointed_losses, checkpointed) = results
    assert plain_losses == checkpointed_losses  # dropout masks are replayed in the recomputation
    assert all(torch.equal(a, b) for a, b in zip(plain, checkpointed, strict=True))


def test_early_stopping_triggers_and_an_early_stopped_run_resumes_as_finished(splits, tokenizer, tmp_path):
    """Evaluated every step at a learning rate that overshoots, val MSE soon fails to improve: the run stops
    there, keeps the best step's weights, and a fresh process on its checkpoint trains no further."""
    options = replace(FAST, learning_rate=2e-2, warmup_steps=0, eval_steps=1, patience=2)
    first = trainer_for(splits, tokenizer, tmp_path, options, init_seed=3)
    state = first.run()
    assert state.finished and state.stopped_early and state.step < first.total_steps
    val = [row["val_loss"] for row in state.log]
    assert len(val) == state.step and min(val[-2:]) >= state.best_val_loss == min(val)
    first.load_best()
    assert mse(first.model, splits["val"], tokenizer.pad_token_id) == pytest.approx(state.best_val_loss, rel=1e-6)

    second = trainer_for(splits, tokenizer, tmp_path, options, init_seed=99)
    assert second.resume()
    assert second.run() == state  # nothing trained: the same state, log included
    second.load_best()
    for (name, a), b in zip(first.model.state_dict().items(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_a_diverging_run_says_to_lower_the_learning_rate(splits, tokenizer, tmp_path):
    trainer = trainer_for(splits, tokenizer, tmp_path, replace(FAST, learning_rate=1e30, warmup_steps=0), init_seed=3)
    with pytest.raises(TrainingDiverged, match=r"training diverged: the (training|validation) loss became .* lower "):
        trainer.run()
