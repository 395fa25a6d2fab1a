"""The CNN's declared hyper-parameter search: four candidates, each with its own epoch budget, chosen on val genes.

The budget, declared before looking: the candidates of `CANDIDATES`, each trained once by
`train_cnn` on the train genes only and scored on the val genes only (the test rows are removed
before the search, `seq2expr.models.training.search.without_test`); the lowest val MSE at the candidate's best
epoch wins, ties to the earlier one. Batch size (32) and weight decay (0.1) are the run's for every
candidate; each candidate declares its architecture, learning rate, epochs and patience:

- `basic`: seq2expr's first CNN (three convolution blocks, 8 equal position bins, dropout 0.5) with
  its own recipe, learning rate 1e-3, at most 40 epochs, early stopping after 8 without a better val MSE;
- `tower`: the dilated residual tower (5 dilated blocks, dropout 0.3, stem pool 4, width 5),
  learning rate 1e-3, at most 6 epochs, patience 2;
- `tower_gentle`: the same tower at learning rate 3e-4;
- `tower_regularised`: 3 dilated blocks, dropout 0.5, learning rate 1e-3.

The towers' budget is smaller because an epoch of the tower costs several of the basic network's on
a CPU. The same seed is used for every candidate, so a choice is a property of the settings, not of
a draw, and each candidate's search run is exactly the run its recipe makes.

The default recipe (`CnnConfig()`, `CnnOptions()`) is the candidate `DEFAULT_CANDIDATE`, the one this
search chose on the development set's val genes (docs/decisions.md, "the CNN's default recipe,
chosen by a declared search on val"; `bench/cnn_architectures.py` measures it again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from seq2expr.models.cnn.options import CnnConfig, CnnOptions
from seq2expr.models.cnn.training import train_cnn
from seq2expr.models.roster import CNN
from seq2expr.models.training.core import carve_validation, checked_table
from seq2expr.models.training.search import (
    Candidate,
    SearchResult,
    ValidationScore,
    score_from_log,
    select_on_validation,
)

logger = logging.getLogger(__name__)

MODEL = CNN


@dataclass(frozen=True)
class CnnSetting:
    """A candidate: the architecture and its recipe's learning rate and epoch budget (the rest of the run's
    options, batch size 32 and weight decay 0.1 at the defaults, stay as given)."""

    config: CnnConfig
    learning_rate: float
    epochs: int
    patience: int


def _candidate(name: str, config: CnnConfig, learning_rate: float, epochs: int, patience: int) -> Candidate[CnnSetting]:
    if config.architecture == "basic":
        shape = f"basic, {config.filters} filters, dropout {config.dropout:g}"
    else:
        shape = f"tower, {config.filters} filters, {config.dilated_blocks} dilated blocks, dropout {config.dropout:g}"
    description = f"{shape}, lr {learning_rate:g}, {epochs} epochs, patience {patience}"
    return Candidate(name, CnnSetting(config, learning_rate, epochs, patience), description)


def _tower(dilated_blocks: int, dropout: float) -> CnnConfig:
    """The tower's candidates: stem pool 4 and width 5 (a 2.1 kb receptive field with 5 blocks)."""
    return CnnConfig(architecture="tower", width=5, stem_pool=4, dilated_blocks=dilated_blocks, dropout=dropout)


#: The declared candidates, in the order they are tried (a tie goes to the earlier one).
CANDIDATES: tuple[Candidate[CnnSetting], ...] = (
    _candidate("basic", CnnConfig(architecture="basic"), learning_rate=1e-3, epochs=40, patience=8),
    _candidate("tower", _tower(dilated_blocks=5, dropout=0.3), learning_rate=1e-3, epochs=6, patience=2),
    _candidate("tower_gentle", _tower(dilated_blocks=5, dropout=0.3), learning_rate=3e-4, epochs=6, patience=2),
    _candidate("tower_regularised", _tower(dilated_blocks=3, dropout=0.5), learning_rate=1e-3, epochs=6, patience=2),
)
#: The candidate the defaults of CnnConfig and CnnOptions hold (tests/python/test_cnn_search.py checks it).
DEFAULT_CANDIDATE = "basic"


def candidate_options(setting: CnnSetting, options: CnnOptions) -> CnnOptions:
    """The run's options with the candidate's learning rate, epochs and patience."""
    return replace(options, learning_rate=setting.learning_rate, epochs=setting.epochs, patience=setting.patience)


def search_cnn(
    table: pd.DataFrame,
    path: str,
    options: CnnOptions,
    device: torch.device,
    candidates: tuple[Candidate[CnnSetting], ...] = CANDIDATES,
) -> SearchResult[CnnSetting]:
    """Train every candidate on the train genes, score it on the val genes, keep the lowest val MSE.

    Each candidate runs with its own declared epochs and patience (the recipe it stands for), the other
    options as `options` gives them, so the winner's search run is exactly the run its recipe makes.

    The val genes are the dataset's own, or carved from train exactly as `train_cnn` carves them
    (same fraction and seed), so the chosen recipe, retrained on the whole table, stops on the same
    genes it was chosen on. Test rows never reach `train_cnn`.
    """
    options.check()
    table, n_carved = carve_validation(checked_table(table, path), options.val_fraction, options.seed, path)
    if n_carved:
        logger.info("CNN search: %d train genes held out as val (--val-fraction %g)", n_carved, options.val_fraction)

    def fit(candidate: Candidate[CnnSetting], visible: pd.DataFrame) -> ValidationScore:
        run = candidate_options(candidate.settings, options)
        result = train_cnn(visible, path, candidate.settings.config, run, device)
        return score_from_log(result.log)

    budgets = [candidate.settings.epochs for candidate in candidates]
    return select_on_validation(MODEL, candidates, budgets, table, fit)


def search_table(result: SearchResult[CnnSetting]) -> pd.DataFrame:
    """The search as a table for the outputs: one row per candidate, with the budget it ran under (rounded)."""
    scores = result.scores.copy()
    scores["val_mse"] = np.round(scores["val_mse"].to_numpy(dtype=float), 6)
    scores["val_pearson"] = np.round(scores["val_pearson"].to_numpy(dtype=float), 6)
    return scores
