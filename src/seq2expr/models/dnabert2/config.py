"""Configuration of the native DNABERT-2 model, read from the published `config.json` as it is.

The published file (zhihan1996/DNABERT-2-117M) belongs to the model's remote code; its fields are
the BERT ones plus `alibi_starting_size`. This class keeps the fields the architecture uses and
drops the ones that would point a reader at remote code this project does not ship (`auto_map`).
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig

# Fields of the published config.json that name the remote code's classes; a folder written by
# this project has no such code, so keeping them would make other readers look for it.
REMOTE_CODE_FIELDS = ("auto_map",)


class Dnabert2Config(PretrainedConfig):
    """DNABERT-2 hyper-parameters; defaults are those of the published 117M model.

    `max_position_embeddings`, `position_embedding_type` and `hidden_act` are kept only so that a
    saved folder carries the published fields: the encoder has no position embeddings (ALiBi) and
    its GELU is hard-wired (exact, erf form), as in the reference implementation.
    """

    model_type = "dnabert2"

    def __init__(
        self,
        vocab_size: int = 4096,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        type_vocab_size: int = 2,
        layer_norm_eps: float = 1e-12,
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.0,
        classifier_dropout: float | None = None,
        alibi_starting_size: int = 512,
        initializer_range: float = 0.02,
        max_position_embeddings: int = 512,
        hidden_act: str = "gelu",
        position_embedding_type: str = "absolute",
        **kwargs: Any,
    ) -> None:
        for field in REMOTE_CODE_FIELDS:
            kwargs.pop(field, None)
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.type_vocab_size = type_vocab_size
        self.layer_norm_eps = layer_norm_eps
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.classifier_dropout = classifier_dropout
        self.alibi_starting_size = alibi_starting_size
        self.initializer_range = initializer_range
        self.max_position_embeddings = max_position_embeddings
        self.hidden_act = hidden_act
        self.position_embedding_type = position_embedding_type

    @property
    def head_size(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_attention_heads

    def problems(self) -> list[str]:
        """What makes this configuration unusable, in words (empty when it is fine)."""
        found = []
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                found.append(f"{name} must be a positive integer, got {value!r}")
        if not found and self.hidden_size % self.num_attention_heads:
            found.append(
                f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads {self.num_attention_heads}"
            )
        return found
