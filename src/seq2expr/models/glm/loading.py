"""Any Hugging Face genome language model: checked from its config.json before its weights are touched.

A user names a model by Hub id (`InstaDeepAI/nucleotide-transformer-v2-50m-multi-species`) or local
folder. Before anything heavy the checkpoint's `config.json` decides what happens:

- an architecture `transformers` implements (its `model_type` has an `AutoModel` class) loads
  natively, without running any code from the checkpoint;
- a checkpoint that names its own modelling code (`auto_map`, e.g. HyenaDNA, Caduceus, DNABERT-2 on
  the Hub) runs only with an explicit `trust_remote_code`, and then with a warning: that code runs
  with the user's rights. Even when its `model_type` is a native one (DNABERT-2 says `bert`), the
  native class would load the weights into the wrong architecture, so `auto_map` always decides;
- anything else (no `model_type`, an unknown one, an encoder-decoder) is one clear error.

Weights that the architecture expects but the checkpoint lacks (other than a pooler, which masked-LM
checkpoints never hold and the probe never reads) are an error too: they would be random.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PretrainedConfig, PreTrainedTokenizerBase
from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

from seq2expr.errors import InputError
from seq2expr.io.compute import RANDOM_INIT_KEY
from seq2expr.io.files import HUB_ID

logger = logging.getLogger(__name__)

#: Model types whose absolute position ids start after the padding index (so two positions are unusable).
OFFSET_POSITIONS = ("esm", "roberta", "xlm-roberta", "camembert")
#: Tokenizers without a declared maximum report this sentinel (transformers' VERY_LARGE_INTEGER is 1e30).
NO_LIMIT = 10**9
#: Weights a missing copy of which is harmless: the probe reads hidden states, never the pooler.
IGNORED_MISSING = ("pooler.",)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def check_source(source: str) -> None:
    """A local folder, or something shaped like a Hub id; anything else is an error at once."""
    path = Path(source)
    if path.is_dir():
        return
    if path.exists():
        raise InputError("expected a model folder (config.json, weights, tokenizer) or a Hub id, got a file", source)
    if not HUB_ID.match(source):
        raise InputError("no such model folder (and not a Hugging Face Hub id of the form owner/name)", source)


def read_config_dict(source: str, revision: str | None = None) -> dict[str, Any]:
    """config.json as a dict (only that file is fetched for a Hub id)."""
    try:
        config, _ = PretrainedConfig.get_config_dict(source, revision=revision)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the model's config.json ({_one_line(error)})", source) from None
    return config


def needs_remote_code(config: dict[str, Any]) -> bool:
    """The checkpoint names its own code for the model (`auto_map` with an AutoModel-family entry)."""
    auto_map = config.get("auto_map") or {}
    return isinstance(auto_map, dict) and any(key.startswith("AutoModel") for key in auto_map)


def check_architecture(source: str, config: dict[str, Any], trust_remote_code: bool) -> bool:
    """Whether the model runs remote code; an error when it may not run at all."""
    if needs_remote_code(config):
        if not trust_remote_code:
            code = ", ".join(f"{key}: {value}" for key, value in sorted(config["auto_map"].items()))
            raise InputError(
                f"the checkpoint brings its own modelling code ({code}); it runs only with --trust-remote-code "
                "(read that code first: it runs with your rights)",
                source,
            )
        return True
    model_type = config.get("model_type")
    version = transformers.__version__
    if not model_type:
        raise InputError("config.json names no model_type: not a Hugging Face transformers checkpoint", source)
    if model_type not in CONFIG_MAPPING_NAMES:
        raise InputError(
            f"unsupported architecture {model_type!r}: transformers {version} does not implement it and the "
            "checkpoint names no code of its own",
            source,
        )
    if model_type not in MODEL_MAPPING_NAMES:
        raise InputError(f"unsupported architecture {model_type!r}: transformers has no AutoModel for it", source)
    if config.get("is_encoder_decoder"):
        raise InputError(
            f"unsupported architecture {model_type!r}: an encoder-decoder; the probe needs an encoder", source
        )
    return False


@dataclass(frozen=True)
class ModelSpec:
    """Everything known about a model before its weights are loaded."""

    source: str
    config: PretrainedConfig
    tokenizer: PreTrainedTokenizerBase
    remote_code: bool
    random_init: bool
    n_states: int  # hidden states: the embedding output + one per layer
    max_tokens: int | None  # the longest input the model takes, specials included; None: no limit

    @property
    def short_name(self) -> str:
        """The folder's or Hub repository's own name (e.g. nucleotide-transformer-v2-50m-multi-species)."""
        return Path(self.source.rstrip("/")).name


def model_limit(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase) -> int | None:
    """The longest input in tokens: the tokenizer's declared maximum and, for learned absolute
    positions, the position table (less the padding offset of ESM/RoBERTa-style models); the
    smaller of those that exist. Rotary and ALiBi models without a declared maximum have none."""
    limits = []
    if 0 < tokenizer.model_max_length < NO_LIMIT:
        limits.append(int(tokenizer.model_max_length))
    positions = getattr(config, "max_position_embeddings", None)
    if positions and getattr(config, "position_embedding_type", "absolute") == "absolute":
        offset = int(config.pad_token_id or 0) + 1 if config.model_type in OFFSET_POSITIONS else 0
        limits.append(int(positions) - offset)
    return min(limits) if limits else None


def inspect_model(source: str, trust_remote_code: bool = False, revision: str | None = None) -> ModelSpec:
    """Config and tokenizer of a model, every check that needs no weights done."""
    check_source(source)
    config_dict = read_config_dict(source, revision)
    remote = check_architecture(source, config_dict, trust_remote_code)
    if remote:
        logger.warning("%s runs modelling code shipped with the checkpoint (--trust-remote-code)", source)
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code, revision=revision)
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code, revision=revision)
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"cannot load the model's config or tokenizer ({_one_line(error)})", source) from None
    layers = getattr(config, "num_hidden_layers", None)
    if not isinstance(layers, int) or layers < 1:
        raise InputError("config.json gives no num_hidden_layers; cannot tell the model's layers", source)
    return ModelSpec(
        source,
        config,
        tokenizer,
        remote,
        config_dict.get(RANDOM_INIT_KEY) is True,
        layers + 1,
        model_limit(config, tokenizer),
    )


def load_encoder(spec: ModelSpec, device: torch.device, revision: str | None = None) -> nn.Module:
    """The model's weights in its AutoModel class, on `device`, in inference mode; no weight left random."""
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # its "newly initialized pooler" warning: checked below instead
    try:
        model, info = AutoModel.from_pretrained(
            spec.source, trust_remote_code=spec.remote_code, revision=revision, output_loading_info=True
        )
    except (OSError, ValueError, RuntimeError) as error:
        raise InputError(f"cannot load the model's weights ({_one_line(error)})", spec.source) from None
    finally:
        transformers.logging.set_verbosity(verbosity)
    missing = [key for key in info.get("missing_keys", []) if not any(part in key for part in IGNORED_MISSING)]
    if missing:
        raise InputError(
            f"the checkpoint lacks {len(missing)} weight(s) of {type(model).__name__} (first: {missing[0]}); "
            "they would be random",
            spec.source,
        )
    module: nn.Module = model.to(device).eval()
    return module
