"""A declared hyper-parameter choice made on validation genes only, whatever the model.

Why. A rung of the ladder is only as fair as its tuning: the CNN and the fine-tuned gLM each get a
small, fixed list of candidate settings and a fixed epoch budget, written down before looking, and
the candidate with the lowest validation MSE wins. The test genes are removed from the table before
any candidate sees it (`without_test`), so no choice can depend on them; the result keeps the whole
budget (candidates, epochs, every score, the choice) for the report's methods.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import pandas as pd
import torch

from seq2expr.errors import InputError

logger = logging.getLogger(__name__)

T = TypeVar("T")
SEARCH_COLUMNS = ["candidate", "settings", "max_epochs", "val_mse", "val_pearson", "best_epoch", "seconds", "chosen"]
CRITERION = "lowest val MSE (standardised target) at the candidate's best epoch; ties go to the earlier candidate"


@dataclass(frozen=True)
class Candidate(Generic[T]):
    """One declared setting: a short name, its settings, and how they read in the methods."""

    name: str
    settings: T
    description: str


@dataclass(frozen=True)
class ValidationScore:
    """What a candidate's training run scored on the val genes (its best epoch, as early stopping kept it)."""

    val_mse: float
    val_pearson: float
    best_epoch: int


@dataclass(frozen=True)
class SearchResult(Generic[T]):
    """The whole budget and its outcome: `scores` has one row per candidate (SEARCH_COLUMNS), `epochs` the
    epoch budget of each candidate, in order."""

    model: str
    epochs: tuple[int, ...]
    candidates: tuple[Candidate[T], ...]
    scores: pd.DataFrame
    chosen: Candidate[T]
    n_train: int
    n_val: int

    def methods(self) -> str:
        """One paragraph for the report's methods: budget, criterion, every score and the choice."""
        listed = "; ".join(
            f"{row.candidate} ({row.settings}; up to {row.max_epochs} epochs): val MSE {row.val_mse:.4f}, "
            f"val r {row.val_pearson:.3f}, best epoch {row.best_epoch}"
            for row in self.scores.itertuples()
        )
        return (
            f"{self.model} hyper-parameter search: {len(self.candidates)} declared candidates, each with its "
            f"declared epoch budget (at most {max(self.epochs)} epochs), trained on {self.n_train} train genes "
            f"and scored on {self.n_val} val genes only "
            f"(test genes removed before the search). Criterion: {CRITERION}. Scores: {listed}. "
            f"Chosen: {self.chosen.name}."
        )


def score_from_log(log: pd.DataFrame) -> ValidationScore:
    """A training log's (LOG_COLUMNS of `seq2expr.models.training.core`) best evaluation: the first of lowest val MSE,
    the one early stopping kept; NaN when no evaluation was finite (a diverged run never wins)."""
    losses = log["val_loss"].to_numpy(dtype=float)
    if not np.isfinite(losses).any():
        return ValidationScore(math.nan, math.nan, 0)
    best = int(np.nanargmin(np.where(np.isfinite(losses), losses, np.nan)))
    epoch = float(log["epoch"].to_numpy(dtype=float)[best])
    return ValidationScore(float(losses[best]), float(log["val_pearson"].to_numpy(dtype=float)[best]), round(epoch))


def without_test(table: pd.DataFrame) -> pd.DataFrame:
    """The table's train and val rows only: what a search may see."""
    return table[table["split"] != "test"].reset_index(drop=True)


def select_on_validation(
    model: str,
    candidates: Sequence[Candidate[T]],
    epochs: int | Sequence[int],
    table: pd.DataFrame,
    fit: Callable[[Candidate[T], pd.DataFrame], ValidationScore],
) -> SearchResult[T]:
    """Fit every candidate on `table` without its test rows and keep the one of lowest val MSE.

    `epochs` is the epoch budget of every candidate, or of each in order (a candidate may bring its own
    recipe); it is recorded for the methods, and `fit` trains within it.

    `fit` trains one candidate on the rows it is given (train, early-stopped on val) and returns its
    val score; it never receives a test row. Candidates are tried in their declared order.
    """
    if not candidates:
        raise InputError(f"the {model} search has no candidate settings")
    budgets = (epochs,) * len(candidates) if isinstance(epochs, int) else tuple(epochs)
    if len(budgets) != len(candidates):
        raise InputError(f"the {model} search has {len(candidates)} candidates but {len(budgets)} epoch budgets")
    names = [candidate.name for candidate in candidates]
    if len(set(names)) != len(names):
        raise InputError(f"the {model} search names a candidate twice: {', '.join(names)}")
    visible = without_test(table)
    if not (visible["split"] == "val").any():
        raise InputError(f"the {model} search needs val genes: carve them from train before the search")
    scores: list[ValidationScore] = []
    seconds: list[float] = []
    for candidate in candidates:
        started = time.perf_counter()
        score = fit(candidate, visible)
        seconds.append(round(time.perf_counter() - started, 1))
        scores.append(score)
        logger.info(
            "%s search, %s: val MSE %.4f, val r %.3f (best epoch %d, %.0f s)",
            model,
            candidate.name,
            score.val_mse,
            score.val_pearson,
            score.best_epoch,
            seconds[-1],
        )
    losses = [score.val_mse if math.isfinite(score.val_mse) else math.inf for score in scores]
    if all(math.isinf(loss) for loss in losses):
        raise InputError(f"every {model} candidate diverged (no finite val MSE); lower the learning rates")
    best = losses.index(min(losses))
    table_of_scores = pd.DataFrame(
        {
            "candidate": names,
            "settings": [candidate.description for candidate in candidates],
            "max_epochs": budgets,
            "val_mse": [score.val_mse for score in scores],
            "val_pearson": [score.val_pearson for score in scores],
            "best_epoch": [score.best_epoch for score in scores],
            "seconds": seconds,
            "chosen": [index == best for index in range(len(candidates))],
        },
        columns=SEARCH_COLUMNS,
    )
    logger.info("%s search: %s chosen (%s)", model, names[best], CRITERION)
    split = visible["split"]
    return SearchResult(
        model=model,
        epochs=budgets,
        candidates=tuple(candidates),
        scores=table_of_scores,
        chosen=candidates[best],
        n_train=int((split == "train").sum()),
        n_val=int((split == "val").sum()),
    )


def search_learning_rate(
    model: str,
    rates: Sequence[float],
    epochs: int,
    table: pd.DataFrame,
    fit: Callable[[float, pd.DataFrame], ValidationScore],
    device: torch.device,
) -> SearchResult[float]:
    """A fine-tuned model's learning rate, chosen among `rates` on val genes; only on a GPU.

    Each rate costs a whole fine-tuning, so the choice is refused on a CPU, where the study's
    recipe stays the default. `fit(rate, visible)` fine-tunes a fresh copy of the pretrained model
    at `rate` on the train genes of `visible` (test rows already removed), early-stopped on its val
    genes, and returns the best val score.
    """
    if device.type != "cuda":
        raise InputError(
            f"the {model} learning-rate search fine-tunes the model once per rate ({len(rates)}) and runs only on a "
            "GPU (--device cuda); without one, keep the study's learning rate"
        )
    if any(not rate > 0 for rate in rates):
        raise InputError(f"the {model} learning rates must be positive, got {', '.join(f'{r:g}' for r in rates)}")
    candidates = [Candidate(f"lr={rate:g}", rate, f"learning rate {rate:g}") for rate in rates]
    return select_on_validation(
        model, candidates, epochs, table, lambda candidate, visible: fit(candidate.settings, visible)
    )
