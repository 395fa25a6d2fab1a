"""Find a DNABERT-2 folder (local or on the Hub) and load its weights into the native classes.

Why not transformers' generic loader: given a checkpoint whose names do not fit, it warns and
silently re-initialises the weights (DNABERT_2 issue #31 — a plain `BertModel` loads the published
file "fine" and is random). Here a missing encoder weight, an unknown key or a shape that does not
fit is an `InputError` that lists the keys. What is expected to differ between the published
masked-LM checkpoint and a regression model is handled explicitly: heads the class lacks are
dropped (logged), heads the checkpoint lacks are freshly initialised (logged).
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from seq2expr.errors import InputError
from seq2expr.io.files import HUB_ID
from seq2expr.models.dnabert2.config import Dnabert2Config

LOGGER = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
PICKLE_FILE = "pytorch_model.bin"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
# Only what the native model needs; the remote-code .py files of the published repo are never fetched.
HUB_FILES = [CONFIG_FILE, SAFETENSORS_FILE, PICKLE_FILE, *TOKENIZER_FILES]

ENCODER_PREFIX = "bert."
# Task heads: dropped when the class has no such head, freshly initialised when the checkpoint has none.
HEAD_PREFIXES = ("cls.", "classifier.", "bert.pooler.")
# The masked-LM decoder shares its weight with the word embeddings; the published file stores it twice.
TIED_KEYS = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight"}
LISTED_KEYS = 20

ModelT = TypeVar("ModelT", bound=nn.Module)


def resolve_source(source: str | Path, revision: str | None = None) -> Path:
    """The local folder holding a model: `source` itself, or a Hub snapshot downloaded into the cache.

    A Hub id is fetched with `huggingface_hub` (which also answers from its cache when offline).
    Without network and without a cached copy, the message says how to stage the folder by hand.
    """
    path = Path(source)
    if path.is_dir():
        return path
    if path.exists():
        raise InputError("expected a model folder (config.json, weights, tokenizer.json), got a file", path)
    if not HUB_ID.match(str(source)):
        raise InputError("no such model folder (and not a Hugging Face Hub id of the form owner/name)", path)
    return _download(str(source), revision)


def _download(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    stage_hint = (
        f"on a machine with internet run `huggingface-cli download {repo_id} --local-dir DIR` "
        "(or `hf download`), copy DIR here and pass DIR instead of the Hub id"
    )
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=HUB_FILES))
    except (RepositoryNotFoundError, GatedRepoError) as error:
        raise InputError(
            f"not a local folder, and the Hugging Face Hub refuses it ({error.__class__.__name__})", repo_id
        ) from None
    except RevisionNotFoundError:
        raise InputError(f"revision {revision!r} not found on the Hugging Face Hub", repo_id) from None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        raise InputError(
            f"not a local folder and the Hugging Face Hub cannot be reached (offline, no cached copy); {stage_hint}",
            repo_id,
        ) from None
    except (HfHubHTTPError, OSError) as error:
        raise InputError(f"download from the Hugging Face Hub failed ({error}); {stage_hint}", repo_id) from None


def read_config(folder: Path) -> Dnabert2Config:
    """The folder's `config.json` as a `Dnabert2Config`, checked for usable sizes."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise InputError("missing config.json (expected a DNABERT-2 model folder)", folder)
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"not valid JSON ({error})", path) from None
    if not isinstance(fields, dict):
        raise InputError("expected a JSON object of model settings", path)
    config = Dnabert2Config(**fields)
    problems = config.problems()
    if problems:
        raise InputError("; ".join(problems), path)
    return config


def read_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """Tensors of `model.safetensors`, else of `pytorch_model.bin` (unpickled with `weights_only=True`)."""
    safetensors_path = folder / SAFETENSORS_FILE
    pickle_path = folder / PICKLE_FILE
    try:
        if safetensors_path.is_file():
            return load_file(safetensors_path)
        if pickle_path.is_file():
            state = torch.load(pickle_path, map_location="cpu", weights_only=True)
        else:
            raise InputError(f"no weights: expected {SAFETENSORS_FILE} or {PICKLE_FILE}", folder)
    except (SafetensorError, pickle.UnpicklingError, RuntimeError, ValueError, OSError, EOFError) as error:
        path = safetensors_path if safetensors_path.is_file() else pickle_path
        raise InputError(f"cannot read the weights ({error.__class__.__name__}: {error})", path) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError("expected a state dict (parameter name -> tensor)", pickle_path)
    return state


def _listed(keys: set[str]) -> str:
    ordered = sorted(keys)
    shown = ", ".join(ordered[:LISTED_KEYS])
    return shown if len(ordered) <= LISTED_KEYS else f"{shown} … and {len(ordered) - LISTED_KEYS} more"


def _canonical(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Key names as in the published layout: a bare encoder (as `Dnabert2Model` saves it) gets `bert.`."""
    if any(key.startswith(ENCODER_PREFIX) for key in state):
        return state
    return {ENCODER_PREFIX + key: value for key, value in state.items()}


def match_state_dict(
    model: nn.Module, state: dict[str, torch.Tensor], source: str | Path
) -> tuple[dict[str, torch.Tensor], set[str], set[str]]:
    """Map checkpoint tensors onto `model`'s parameter names.

    Returns (tensors to load under the model's names, heads dropped, heads left to their
    initialisation). Raises InputError for missing encoder weights, unknown keys and shape
    mismatches, listing the keys.
    """
    state = _canonical(state)
    bare_encoder = not hasattr(model, "bert")
    own = model.state_dict()
    expected = {(ENCODER_PREFIX + key if bare_encoder else key): key for key in own}
    for tied, target in TIED_KEYS.items():
        expected.pop(tied, None)
        if tied in state and target in state and not torch.equal(state[tied], state[target]):
            raise InputError(f"{tied} differs from {target}; a tied masked-LM decoder was expected", source)
        state = {key: value for key, value in state.items() if key != tied}

    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    missing_required = {key for key in missing if not key.startswith(HEAD_PREFIXES)}
    if missing_required:
        raise InputError(
            f"checkpoint lacks {len(missing_required)} DNABERT-2 weight(s): {_listed(missing_required)}", source
        )
    unknown = {key for key in unexpected if not key.startswith(HEAD_PREFIXES)}
    if unknown:
        raise InputError(
            f"checkpoint has {len(unknown)} key(s) that are not DNABERT-2 weights: {_listed(unknown)}", source
        )
    mismatched = {
        f"{key} {tuple(state[key].shape)} vs {tuple(own[name].shape)}"
        for key, name in expected.items()
        if key in state and state[key].shape != own[name].shape
    }
    if mismatched:
        raise InputError(f"checkpoint shapes do not fit config.json: {_listed(mismatched)}", source)
    loadable = {name: state[key] for key, name in expected.items() if key in state}
    return loadable, unexpected, missing


def load_model(cls: type[ModelT], source: str | Path, revision: str | None = None) -> ModelT:
    """Build `cls` from the folder's config and load its weights (see `match_state_dict`), in eval mode."""
    folder = resolve_source(source, revision)
    config = read_config(folder)
    config._name_or_path = str(source)
    model: Any = cls(config)
    loadable, dropped, fresh = match_state_dict(model, read_state_dict(folder), folder)
    model.load_state_dict(loadable, strict=False)
    if dropped:
        LOGGER.info("%s: not used by %s (dropped): %s", folder, cls.__name__, _listed(dropped))
    if fresh:
        LOGGER.info("%s: not in the checkpoint, freshly initialised: %s", folder, _listed(fresh))
    model.tie_weights()
    model.eval()
    return model
