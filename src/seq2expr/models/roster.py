"""The roster: every model's name and role, defined once in `roster.json` beside this file.

The workflow reads the same JSON (which `--models` keys exist, which models train once per seed),
so a model is added or renamed in one place. Python reads it here and exposes plain constants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROSTER_FILE = Path(__file__).with_name("roster.json")


@dataclass(frozen=True)
class Model:
    """One model of `--models`: its key, its name in predictions.tsv, and how it is fitted."""

    key: str
    name: str
    role: str
    per_seed: bool
    early_stopped: bool
    step: str


def _read() -> tuple[tuple[Model, ...], dict[str, str], str]:
    raw = json.loads(ROSTER_FILE.read_text())
    models = tuple(Model(**entry) for entry in raw["models"])
    baselines = {entry["name"]: entry["role"] for entry in raw["baselines"]}
    return models, baselines, raw["probe_prefix"]


MODELS, _BASELINE_ROLES, PROBE_PREFIX = _read()
BY_KEY = {model.key: model for model in MODELS}

DEXTER = BY_KEY["dexter"].name
CNN = BY_KEY["cnn"].name
DNABERT2 = BY_KEY["dnabert2"].name
DNABERT2_PROBE = BY_KEY["dnabert2_probe"].name
MEAN_BASELINE, GC_CPG_BASELINE = _BASELINE_ROLES
BASELINES = (MEAN_BASELINE, GC_CPG_BASELINE)
"""Computed by the evaluation from the dataset: reserved names, no model file may use them."""
SIMPLE_MODELS = tuple(
    [name for name, role in _BASELINE_ROLES.items()] + [model.name for model in MODELS if model.role == "simple"]
)
"""The rungs a gLM must beat (the training mean is a floor, listed with them)."""
MODEL_KEYS = tuple(model.key for model in MODELS)


EARLY_STOPPED = tuple(model.name for model in MODELS if model.early_stopped)
"""Models that fit on train and stop early on val (the others fit on train + val)."""


def is_probe(name: str) -> bool:
    """Whether a model is a frozen-embedding probe: DNABERT-2's, or a `--probe_models` gLM's (`probe:<name>`)."""
    return name == DNABERT2_PROBE or name.startswith(PROBE_PREFIX)


def is_glm(name: str) -> bool:
    """Whether a model of predictions.tsv is a genome language model (fine-tuned or probed)."""
    roles = {model.name: model.role for model in MODELS}
    return roles.get(name) == "glm" or is_probe(name)


def is_simple(name: str) -> bool:
    """Whether the model is one of the simple rungs the gLM must beat."""
    return name in SIMPLE_MODELS
