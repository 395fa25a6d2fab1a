"""The training core of the gradient-trained models (DNABERT-2 fine-tuning, the one-hot CNN).

Everything a training run needs apart from the model's own batches, forward pass and
predictions is written here once, so that both models stop, resume, decay and log the same way:

- the run's place: `resolve_device`, `autocast` (bf16 on CUDA), `torch_threads` (restored after),
  `training_session` (threads, device and compute record of one command);
- the inputs: `checked_table` (ACGTN windows, the gene and line of a bad one), `carve_validation`,
  `control_windows` (the test genes' shuffled windows of the composition control, checked the same way);
- the optimiser: `parameter_groups` / `build_optimizer` (AdamW; no weight decay on biases and on
  any normalisation layer, found by module type), `linear_warmup_decay` and `constant_schedule`;
- divergence and metrics: `check_finite` (a diverging loss is one line saying to lower the
  learning rate), `regression_metrics` (Pearson r from `seq2expr.stats`);
- the outputs: `training_curves` (MultiQC line graph content).

The loop itself (`Trainer`, `Checkpoints`, exact resume) is `seq2expr.models.training.loop`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from seq2expr.data.shuffle import read_control_windows
from seq2expr.errors import InputError
from seq2expr.io.compute import ComputeRecorder
from seq2expr.stats import pearson

logger = logging.getLogger(__name__)

LOG_COLUMNS = ["step", "epoch", "train_loss", "val_loss", "val_pearson", "learning_rate"]
#: Layers whose parameters are scales and shifts of a normalisation, never decayed (as in transformers'
#: Trainer and timm): batch, instance (both `_NormBase`), layer, group and RMS norm.
NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
)


# --------------------------------------------------------------------------------------------
# device, threads, compute


def resolve_device(choice: str) -> torch.device:
    """`auto` takes the GPU when there is one; asking for CUDA without one is an input error."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was requested but PyTorch sees no CUDA device; use --device cpu or auto")
    if choice not in ("cpu", "cuda"):
        raise InputError(f"--device must be auto, cpu or cuda, got {choice!r}")
    return torch.device(choice)


def autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 mixed precision on CUDA (no loss scaling needed); plain float32 on the CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """PyTorch's CPU threads for the body, and the previous count again after (the setting is process-wide)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def training_session(
    threads: int, device: str, model: str, random_init: bool = False
) -> Iterator[tuple[torch.device, ComputeRecorder]]:
    """The device and the compute record of one model step, with `threads` CPU threads for its duration.

    The caller writes the record (`ComputeRecorder.write`) once its outputs are written, so a
    failed or interrupted run leaves none.
    """
    with torch_threads(threads):
        recorder = ComputeRecorder(model, random_init=random_init)
        target = resolve_device(device)
        recorder.use_device(target)
        yield target, recorder


def ordered_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Batches for prediction: sorted by length (least padding), no randomness."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


# --------------------------------------------------------------------------------------------
# inputs

NOT_ACGTN = re.compile(r"[^ACGTN]")


def check_sequences(
    sequences: Iterable[str], names: Iterable[str] | None = None, path: str | Path | None = None
) -> list[str]:
    """Upper-cased sequences, or InputError naming the first one that is empty or has a non-ACGTN character.

    Both models read A, C, G, T and N only (DNABERT-2's tokenizer would silently make anything else
    `[UNK]`, the CNN's one-hot code has no row for it). `names` (e.g. gene ids, same order) make the
    message point at the record; `path` at the file.
    """
    sequences = list(sequences)
    labels = [f"sequence {index + 1}" for index in range(len(sequences))] if names is None else list(names)
    if len(labels) != len(sequences):
        raise ValueError(f"{len(labels)} names for {len(sequences)} sequences")
    checked = []
    for label, sequence in zip(labels, sequences, strict=True):
        upper = sequence.upper()
        if not upper:
            raise InputError(f"{label}: empty sequence", path)
        bad = NOT_ACGTN.search(upper)
        if bad:
            raise InputError(
                f"{label}: character {sequence[bad.start()]!r} at position {bad.start() + 1}; "
                "expected only A, C, G, T or N",
                path,
            )
        checked.append(upper)
    return checked


def checked_table(table: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """The dataset table with upper-cased sequences, or InputError naming the gene and line of a bad one."""
    names = [f"gene {gene} (line {row + 2})" for row, gene in enumerate(table["gene_id"])]
    return table.assign(sequence=check_sequences(table["sequence"], names, path))


def control_windows(path: Path, table: pd.DataFrame, source: Path | str) -> list[str]:
    """The shuffled window of every test gene of `table`, in its order (`read_control_windows`: coverage and
    lengths checked), upper-cased and held to A, C, G, T, N as the model's own windows are (`checked_table`)."""
    windows = read_control_windows(path, table, source)
    genes = table.loc[(table["split"] == "test").to_numpy(), "gene_id"]
    return check_sequences(windows, [f"shuffled window of test gene {gene}" for gene in genes], path)


def carve_validation(table: pd.DataFrame, fraction: float, seed: int, path: Path | str) -> tuple[pd.DataFrame, int]:
    """Give the run a val split: the dataset's own, else a seeded random `fraction` of train.

    Returns the table (with carved genes relabelled `val`, since the model never trains on
    them) and how many genes were carved (0 when the dataset has a val split).
    """
    n_train = int((table["split"] == "train").sum())
    if n_train == 0:
        raise InputError("the train split is empty; the model needs training genes", path)
    if (table["split"] == "val").any():
        return table, 0
    if n_train < 2:
        raise InputError("the dataset has no val split and too few train genes (1) to carve one", path)
    n_val = min(max(1, round(fraction * n_train)), n_train - 1)
    train_rows = np.flatnonzero((table["split"] == "train").to_numpy())
    chosen = np.random.default_rng(seed).choice(train_rows, size=n_val, replace=False)
    split = table["split"].to_numpy(copy=True)
    split[chosen] = "val"
    return table.assign(split=split), n_val


# --------------------------------------------------------------------------------------------
# optimiser and schedules


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Trainable parameters split into the decayed (weight matrices, embeddings) and the exempt.

    Biases and the parameters of every normalisation layer (`NORM_LAYERS`, found by module type so
    that a lower-case `mlp.layernorm` or a `BatchNorm1d` is covered whatever its name) are exempt:
    decaying a norm's scale towards 0 fights the normalisation itself. Model order is kept.
    """
    exempt: set[int] = set()
    for module in model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            if isinstance(module, NORM_LAYERS) or name == "bias":
                exempt.add(id(parameter))
    trainable = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in trainable if id(p) not in exempt], "weight_decay": weight_decay},
        {"params": [p for p in trainable if id(p) in exempt], "weight_decay": 0.0},
    ]


def build_optimizer(model: nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW (β 0.9/0.999, ε 1e-8) over `parameter_groups`."""
    groups = parameter_groups(model, weight_decay)
    return torch.optim.AdamW(groups, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)


Schedule = Callable[[torch.optim.Optimizer, int], LambdaLR]


def linear_warmup_decay(warmup_steps: int) -> Schedule:
    """Linear warm-up from 0 over `warmup_steps`, then linear decay to 0 at the last step (transformers' rule)."""

    def schedule(optimizer: torch.optim.Optimizer, total_steps: int) -> LambdaLR:
        def factor(step: int) -> float:
            if step < warmup_steps:
                return float(step) / float(max(1, warmup_steps))
            return max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup_steps)))

        return LambdaLR(optimizer, factor)

    return schedule


def scaled_warmup(warmup_steps: int, steps: int, total_steps: int) -> int:
    """The warm-up of a schedule of `total_steps` scaled to a run of `steps` (a refit): same share of the run."""
    return round(warmup_steps * steps / max(1, total_steps))


def constant_schedule(optimizer: torch.optim.Optimizer, total_steps: int) -> LambdaLR:
    """The peak learning rate throughout (a scheduler all the same, so every run checkpoints alike)."""
    return LambdaLR(optimizer, lambda step: 1.0)


# --------------------------------------------------------------------------------------------
# metrics and divergence


class TrainingDiverged(InputError):
    """The loss became infinite or NaN: a setting (most often the learning rate) the user must change."""


def check_finite(loss: float, what: str, step: int, learning_rate: float) -> None:
    """Stop a diverging run with one line saying what to change, instead of training on NaN weights."""
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"training diverged: the {what} became {loss} at step {step}; lower --learning-rate "
            f"(now {learning_rate:g}) and run again"
        )


def regression_metrics(observed: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """MSE and Pearson r (`seq2expr.stats.pearson`: NaN when either side is constant, as an untrained head can be)."""
    return float(np.mean((predicted - observed) ** 2)), pearson(observed, predicted)


# --------------------------------------------------------------------------------------------
# outputs


def _significant(value: float) -> float:
    """The 9 significant digits that training_log.tsv carries, so both files show the same numbers."""
    return float(f"{value:.9g}")


TRAIN_VS_VAL = (
    "The two losses are on different genes and not measured alike: each dashed line is the MSE of predicting "
    "the mean of its split (the variance of its target), so a small validation split whose target spreads less "
    "has a lower loss without any leak, and each training-loss point is the mean over the batches since the "
    "previous point, with dropout on and while the weights still change."
)
"""Why a reader may see validation loss far below training loss, and how to read the dashed lines."""
SPLIT_COLOURS = {"train": "#4292C6", "val": "#D95F02"}


def training_curves(
    log: pd.DataFrame,
    curves_id: str,
    model: str,
    refit_steps: int | None = None,
    scale: str = "MSE",
    mean_losses: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """MultiQC custom content: train and val loss against the optimiser step, one line graph.

    `refit_steps`: the predictions come from a refit on train + val for that many steps (the curves
    are those of the early-stopped run that chose it), and the description says so. `scale`: the
    y axis, the loss with its unit (the model's target scale). `mean_losses`: per split, the loss
    of predicting its mean, drawn as a dashed line so that the curves have a scale to be read against.
    """
    chosen = (
        "The predictions come from the step with the lowest validation loss."
        if refit_steps is None
        else f"The step with the lowest validation loss ({refit_steps}) set the length of a refit on train + val "
        "genes from the same initial weights; the predictions come from that refit."
    )
    train = log.dropna(subset=["train_loss"])
    val = log.dropna(subset=["val_loss"])
    pconfig: dict[str, Any] = {
        "id": f"{curves_id}_plot",
        "title": f"{model}: training and validation loss",
        "xlab": "optimiser step",
        "ylab": scale,
        "showlegend": True,  # which line is validation
    }
    if mean_losses:
        pconfig["colors"] = {f"{split} loss": colour for split, colour in SPLIT_COLOURS.items()}
        pconfig["y_lines"] = [
            {
                "value": _significant(loss),
                "color": SPLIT_COLOURS.get(split, "#999999"),
                "dash": "dash",
                "width": 1,
                "label": f"{split}: predicting the mean",
            }
            for split, loss in mean_losses.items()
        ]
    return {
        "id": curves_id,
        "section_name": f"{model} training curves",
        "description": " ".join(
            [
                f"Mean-squared error of the {model} regressor on the training batches (dropout on) and on the "
                "validation genes, by optimiser step.",
                *([TRAIN_VS_VAL] if mean_losses else []),
                chosen,
            ]
        ),
        "plot_type": "linegraph",
        "pconfig": pconfig,
        "data": {
            "train loss": {int(s): _significant(v) for s, v in zip(train["step"], train["train_loss"], strict=True)},
            "val loss": {int(s): _significant(v) for s, v in zip(val["step"], val["val_loss"], strict=True)},
        },
    }
