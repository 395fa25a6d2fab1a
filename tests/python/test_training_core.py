"""The shared training core: weight-decay groups by module type, the schedules, early stopping and the
resume of an early-stopped run (on a scripted task, so each evaluation's outcome is known), a diverging
loss, and the thread setting that must not leak out of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from seq2expr.models.cnn.model import PromoterCnn
from seq2expr.models.cnn.options import CnnConfig
from seq2expr.models.training.core import (
    NORM_LAYERS,
    TrainingDiverged,
    build_optimizer,
    constant_schedule,
    linear_warmup_decay,
    parameter_groups,
    torch_threads,
)
from seq2expr.models.training.loop import Checkpoints, LoopSettings, Trainer


def group_names(model: nn.Module, weight_decay: float = 0.1) -> tuple[set[str], set[str]]:
    names = {id(p): n for n, p in model.named_parameters()}
    decayed, exempt = parameter_groups(model, weight_decay)
    assert decayed["weight_decay"] == weight_decay and exempt["weight_decay"] == 0.0
    return {names[id(p)] for p in decayed["params"]}, {names[id(p)] for p in exempt["params"]}


def norm_parameters(model: nn.Module) -> set[str]:
    return {
        f"{prefix}.{name}"
        for prefix, module in model.named_modules()
        if isinstance(module, NORM_LAYERS)
        for name, _ in module.named_parameters(recurse=False)
    }


def test_the_cnn_decays_its_weights_but_not_biases_or_batch_norms() -> None:
    """The bug this core fixes: the CNN's AdamW decayed every parameter, batch norm included, at 0.1."""
    model = PromoterCnn(CnnConfig())
    decayed, exempt = group_names(model)
    everything = {name for name, _ in model.named_parameters()}
    assert decayed | exempt == everything and not decayed & exempt
    batch_norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert batch_norms, "the CNN has batch norm layers"
    assert exempt == norm_parameters(model) | {name for name in everything if name.endswith(".bias")}
    weights = {
        f"{prefix}.weight" for prefix, m in model.named_modules() if isinstance(m, nn.Conv1d | nn.Linear)
    } & everything
    assert weights and weights <= decayed
    optimizer = build_optimizer(model, 1e-3, 0.1)
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.1, 0.0]


class Custom(nn.Module):
    """Norm layers under names that do not say so, and one frozen weight."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.a = nn.GroupNorm(2, 4)
        self.b = nn.LayerNorm(4)
        self.c = nn.RMSNorm(4)
        self.d = nn.InstanceNorm1d(4, affine=True)
        self.e = nn.BatchNorm1d(4)
        self.embedding = nn.Embedding(5, 4)
        self.frozen = nn.Linear(4, 4, bias=False)
        self.frozen.weight.requires_grad_(False)


def test_every_kind_of_norm_layer_is_found_by_its_type_not_its_name() -> None:
    decayed, exempt = group_names(Custom())
    assert decayed == {"proj.weight", "embedding.weight"}
    assert exempt == {"proj.bias", "a.weight", "a.bias", "b.weight", "b.bias", "c.weight", "d.weight", "d.bias"} | {
        "e.weight",
        "e.bias",
    }


def test_the_linear_schedule_is_transformers_own_to_the_last_bit() -> None:
    """DNABERT-2 re-runs must stay byte-identical to those made with transformers' scheduler."""
    ours = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=3e-5)
    theirs = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=3e-5)
    mine = linear_warmup_decay(7)(ours, 41)
    reference = get_linear_schedule_with_warmup(theirs, 7, 41)
    for _ in range(45):
        assert mine.get_last_lr() == reference.get_last_lr()
        ours.step(), theirs.step(), mine.step(), reference.step()
    constant = constant_schedule(ours, 10)
    assert constant.get_last_lr() == [3e-5]


@dataclass
class ScriptedTask:
    """A task whose val losses are given in advance: each evaluation's outcome is known to the test."""

    val_losses: list[float]
    train_loss: float = 1.0
    batches: int = 3
    model: nn.Module = field(default_factory=lambda: nn.Linear(2, 1))
    steps: int = 0
    evaluations: int = 0

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        return [np.array([index]) for index in range(self.batches)]

    def backward(self, indices: np.ndarray) -> tuple[float, int]:
        self.steps += 1
        loss = self.model(torch.ones(1, 2)).sum() * 0 + self.train_loss
        loss.backward()
        return float(loss.detach()), 1

    def evaluate(self) -> tuple[float, float]:
        self.evaluations += 1
        return self.val_losses[self.evaluations - 1], 0.5


def scripted_trainer(task: ScriptedTask, folder: Path, patience: int, epochs: int = 4, **settings) -> Trainer:
    optimizer = build_optimizer(task.model, 0.1, 0.0)
    loop = LoopSettings(epochs=epochs, patience=patience, max_grad_norm=1.0, eval_steps=1, **settings)
    return Trainer(task, optimizer, constant_schedule, loop, Checkpoints(folder), {"run": "scripted"})


def test_early_stopping_keeps_the_best_and_stops_after_patience_evaluations(tmp_path: Path) -> None:
    task = ScriptedTask([3.0, 2.0, 2.5, 2.1, 1.0, 0.5])
    trainer = scripted_trainer(task, tmp_path, patience=2)
    state = trainer.run()
    assert state.finished and state.stopped_early and "did not improve for 2 evaluations" in state.stop_reason
    assert (state.step, task.steps, task.evaluations) == (4, 4, 4)  # the 1.0 at step 5 is never reached
    assert (state.best_step, state.best_val_loss) == (2, 2.0)
    assert [row["val_loss"] for row in state.log] == [3.0, 2.0, 2.5, 2.1]
    assert (tmp_path / "best.safetensors").is_file() and (tmp_path / "last.pt").is_file()


def test_patience_0_never_stops_early(tmp_path: Path) -> None:
    task = ScriptedTask([3.0, 4.0, 5.0, 6.0, 7.0, 8.0], batches=2)
    state = scripted_trainer(task, tmp_path, patience=0, epochs=3).run()
    assert state.finished and not state.stopped_early and state.step == 6 and state.best_step == 1


def test_an_early_stopped_run_resumes_as_finished_and_trains_no_further(tmp_path: Path) -> None:
    first = scripted_trainer(ScriptedTask([3.0, 2.0, 2.5, 2.1]), tmp_path, patience=2)
    stopped = first.run()

    again = ScriptedTask([9.0] * 10)  # a second process: any further evaluation would show here
    second = scripted_trainer(again, tmp_path, patience=2)
    assert second.resume()
    state = second.run()
    assert (again.steps, again.evaluations) == (0, 0)
    assert state == stopped
    second.load_best()
    first.load_best()
    for name, value in second.model.state_dict().items():
        assert torch.equal(value, first.model.state_dict()[name]), name


def test_a_stop_after_steps_run_resumes_into_early_stopping(tmp_path: Path) -> None:
    """Interrupted before the stopping evaluation, the resumed run stops where the whole one did."""
    losses = [3.0, 2.0, 2.5, 2.1, 1.0]
    whole = scripted_trainer(ScriptedTask(losses), tmp_path / "whole", patience=2).run()
    part = scripted_trainer(ScriptedTask(losses), tmp_path / "part", patience=2, stop_after_steps=3).run()
    assert part.step == 3 and not part.finished
    rest = ScriptedTask(losses[3:])
    resumed = scripted_trainer(rest, tmp_path / "part", patience=2)
    assert resumed.resume()
    state = resumed.run()
    assert state.stopped_early and rest.steps == 1 and state.log == whole.log


@pytest.mark.parametrize(
    ("train_loss", "val_losses", "what"),
    [(float("nan"), [1.0], "training loss"), (1.0, [float("inf")], "validation loss")],
)
def test_a_diverging_loss_is_one_clear_error_with_the_hint(
    tmp_path: Path, train_loss: float, val_losses: list[float], what: str
) -> None:
    trainer = scripted_trainer(ScriptedTask(val_losses, train_loss=train_loss), tmp_path, patience=2)
    with pytest.raises(TrainingDiverged, match=rf"the {what} became (nan|inf) at step 1; lower --learning-rate"):
        trainer.run()


def test_the_thread_count_is_restored_after_a_run() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("a failed run")
    assert torch.get_num_threads() == before


def test_training_curves_have_their_scale_and_say_why_validation_can_lie_below() -> None:
    """The y axis names the loss's unit, a dashed line per split gives the loss of predicting its mean (the
    variance of its target: the scale the curves are read against), and the description says why a
    small validation split can have a lower loss than training without any leak."""
    import pandas as pd
    import yaml

    from seq2expr.io.multiqc import yaml_file
    from seq2expr.models.cnn.training import CURVES as CNN_CURVES
    from seq2expr.models.dnabert2.finetune import CURVES as DNABERT2_CURVES
    from seq2expr.models.training.core import TRAIN_VS_VAL, training_curves
    from seq2expr.models.training.outputs import mean_losses

    # train spreads from -3 (silent genes) to 3, val has no silent gene: its mean is easier to predict
    predictions = pd.DataFrame({"split": ["train"] * 4 + ["val"] * 2, "observed": [-3.0, 0.0, 1.0, 2.0, 1.0, 2.0]})
    assert mean_losses(predictions, standardised=False) == pytest.approx({"train": 3.5, "val": 0.25})
    assert mean_losses(predictions, standardised=True) == pytest.approx({"train": 1.0, "val": 0.25 / 3.5})
    log = pd.DataFrame({"step": [1, 2], "train_loss": [4.0, 3.0], "val_loss": [np.nan, 0.3]})
    curves = training_curves(log, "x", "M", None, DNABERT2_CURVES.scale, mean_losses(predictions, False))
    document = yaml.safe_load(yaml_file("x.yaml", curves).content)
    assert document["pconfig"]["ylab"] == "MSE, (log10 TPM)²" and "standardised" in CNN_CURVES.scale
    assert [(line["label"], line["value"]) for line in document["pconfig"]["y_lines"]] == [
        ("train: predicting the mean", 3.5),
        ("val: predicting the mean", 0.25),
    ]
    assert TRAIN_VS_VAL in document["description"] and "without any leak" in TRAIN_VS_VAL
    assert "y_lines" not in training_curves(log, "x", "M")["pconfig"]  # without predictions: the curves alone
