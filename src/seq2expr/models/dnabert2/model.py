"""DNABERT-2 written natively in PyTorch: the published checkpoint loads unchanged, no remote code.

The architecture is MosaicBERT: post-LayerNorm BERT blocks without position embeddings, an
ALiBi bias on the attention scores, and a gated-linear-unit feed-forward block with exact GELU.
Module and parameter names follow the published checkpoint (`embeddings.word_embeddings`,
`encoder.layer.N.attention.self.Wqkv`, `mlp.gated_layers`, …), so its state dict maps onto these
modules key for key.

The reference implementation drops padded tokens before the dense layers; here everything runs
on the padded (B, S, H) tensor instead, which gives the same numbers for the real tokens (padded
keys are masked out of attention, padded queries only produce rows that are zeroed at the end)
and lets attention go through `torch.nn.functional.scaled_dot_product_attention`. Length-bucketed
batches keep the padding, and so the wasted work, small.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from torch.nn import functional
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPooling, MaskedLMOutput, SequenceClassifierOutput

from seq2expr.models.dnabert2.config import Dnabert2Config


def alibi_slopes(num_heads: int) -> list[float]:
    """Per-head ALiBi slopes, in head order, as the reference computes them.

    For a power of two n the slopes are r, r², …, rⁿ with r = 2^(−8/n). Otherwise the first p
    (largest power of two below n) follow the rule for p and the rest are every other slope of
    the rule for 2p, starting with the first.
    """

    def power_of_two_rule(n: int) -> list[float]:
        ratio = 2.0 ** (-8.0 / n)
        return [ratio ** (i + 1) for i in range(n)]

    if num_heads & (num_heads - 1) == 0:
        return power_of_two_rule(num_heads)
    closest = 2 ** math.floor(math.log2(num_heads))
    return power_of_two_rule(closest) + alibi_slopes(2 * closest)[0::2][: num_heads - closest]


def attention_bias(attention_mask: torch.Tensor, slopes: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The additive attention bias (B, heads, S, S): ALiBi −m·|i−j| plus exclusion of padded keys.

    ALiBi is built in float32 (slopes times integer distances, as the reference does) and cast
    once to the compute dtype; padded keys get the dtype's most negative value, which gives them
    exactly zero weight without risking inf − inf when a row has no real key.
    """
    length = attention_mask.shape[1]
    positions = torch.arange(length, device=attention_mask.device)
    distance = (positions[None, :] - positions[:, None]).abs()
    alibi = slopes.to(device=attention_mask.device, dtype=torch.float32)[:, None, None] * -distance
    padded_key = ~attention_mask.bool()[:, None, None, :]
    return alibi.to(dtype)[None].masked_fill(padded_key, torch.finfo(dtype).min)


def attention_dtype(hidden_states: torch.Tensor) -> torch.dtype:
    """The dtype attention will run in: autocast's when it is on (the projections produce it), else the input's.

    Building the (B, heads, S, S) bias directly in that dtype avoids a float32 copy that autocast
    would cast again in every layer.
    """
    device_type = hidden_states.device.type
    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return hidden_states.dtype


class Dnabert2Embeddings(nn.Module):
    """Token and token-type embeddings, LayerNorm, dropout; position enters only through ALiBi."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        embedded = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(embedded))


class Dnabert2SelfAttention(nn.Module):
    """Fused Q/K/V projection and scaled-dot-product attention with a float bias."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_size
        self.dropout_prob = config.attention_probs_dropout_prob
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)

    def forward(self, hidden_states: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, length, width = hidden_states.shape
        # Columns are [Q | K | V], each split into heads in order: (B, S, 3, heads, d).
        qkv = self.Wqkv(hidden_states).view(batch, length, 3, self.num_heads, self.head_size)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        context = functional.scaled_dot_product_attention(
            query, key, value, attn_mask=bias, dropout_p=self.dropout_prob if self.training else 0.0
        )
        return context.transpose(1, 2).reshape(batch, length, width)


class Dnabert2SelfOutput(nn.Module):
    """Attention output projection, dropout, residual and post-LayerNorm."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, context: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(context)) + residual)


class Dnabert2Attention(nn.Module):
    """Self-attention followed by its output block (names `self` and `output` as in the checkpoint)."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.self = Dnabert2SelfAttention(config)
        self.output = Dnabert2SelfOutput(config)

    def forward(self, hidden_states: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(hidden_states, bias), hidden_states)


class Dnabert2GatedMlp(nn.Module):
    """Gated-linear-unit feed-forward block: GELU(first half) × second half, then project back."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.intermediate_size = config.intermediate_size
        self.gated_layers = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        activated, gate = self.gated_layers(hidden_states).split(self.intermediate_size, dim=-1)
        mixed = self.dropout(functional.gelu(activated, approximate="none") * gate)
        return self.layernorm(self.wo(mixed) + hidden_states)


class Dnabert2Layer(nn.Module):
    """One encoder block: attention then gated MLP, each with residual and post-LayerNorm."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.attention = Dnabert2Attention(config)
        self.mlp = Dnabert2GatedMlp(config)

    def forward(self, hidden_states: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.attention(hidden_states, bias))


class Dnabert2Encoder(nn.Module):
    """The stack of blocks; the ALiBi slopes are a buffer so that they follow the model's device."""

    alibi_slopes: torch.Tensor
    _gradient_checkpointing_func: Callable[..., torch.Tensor]

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Dnabert2Layer(config) for _ in range(config.num_hidden_layers))
        slopes = torch.tensor(alibi_slopes(config.num_attention_heads), dtype=torch.float32)
        self.register_buffer("alibi_slopes", slopes, persistent=False)
        # Set by `PreTrainedModel.gradient_checkpointing_enable()`, with `_gradient_checkpointing_func`.
        self.gradient_checkpointing = False

    def forward(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor, keep_all: bool
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        bias = attention_bias(attention_mask, self.alibi_slopes, attention_dtype(hidden_states))
        outputs = []
        for block in self.layer:
            if self.gradient_checkpointing and self.training:
                hidden_states = self._gradient_checkpointing_func(block.__call__, hidden_states, bias)
            else:
                hidden_states = block(hidden_states, bias)
            if keep_all:
                outputs.append(hidden_states)
        return hidden_states, outputs


class Dnabert2Pooler(nn.Module):
    """tanh(dense(state of the first token)); the first token is `[CLS]` (right padding)."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden_states[:, 0]))


class Dnabert2PreTrainedModel(PreTrainedModel):
    """Shared initialisation, checkpointing support and the loader of the published layout."""

    config_class = Dnabert2Config
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def _init_weights(self, module: nn.Module) -> None:
        """BERT's initialisation: normal(0, initializer_range) weights, zero biases, unit LayerNorm."""
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=std)
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | Path, *, revision: str | None = None, **kwargs: Any
    ) -> Any:
        """Load a folder or a Hub id in the published layout (or one written by `save_pretrained`).

        Unlike transformers' generic loader this fails on missing encoder weights and on unknown
        keys instead of silently re-initialising them; heads absent from the checkpoint (pooler,
        regression head) start from the initialisation above, heads the class does not have
        (the masked-LM head of the published checkpoint) are dropped. Extra keyword arguments
        are not supported and are refused, so that a caller's option is never silently ignored.
        """
        from seq2expr.models.dnabert2.loading import load_model

        if kwargs:
            raise TypeError(f"unsupported arguments for {cls.__name__}.from_pretrained: {sorted(kwargs)}")
        return load_model(cls, pretrained_model_name_or_path, revision=revision)


class Dnabert2Model(Dnabert2PreTrainedModel):
    """The encoder (and pooler); returns `last_hidden_state` (zero at padding) and `pooler_output`."""

    def __init__(self, config: Dnabert2Config, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = Dnabert2Embeddings(config)
        self.encoder = Dnabert2Encoder(config)
        self.pooler = Dnabert2Pooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Module) -> None:
        assert isinstance(value, nn.Embedding)
        self.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_hidden_states: bool = False,
    ) -> BaseModelOutputWithPooling:
        """Encode a right-padded batch.

        `attention_mask` is 1 (or True) for real tokens and 0 for padding; it defaults to all
        ones. With `output_hidden_states`, `hidden_states` holds the embedding output followed by
        every layer's output, each (B, S, H) and zero at padded positions.
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        keep = attention_mask.bool()[:, :, None]
        embedded = self.embeddings(input_ids, token_type_ids)
        last, layers = self.encoder(embedded, attention_mask, keep_all=output_hidden_states)
        last = last * keep
        pooled = self.pooler(last) if self.pooler is not None else None
        states = tuple(state * keep for state in [embedded, *layers]) if output_hidden_states else None
        return BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled, hidden_states=states)


class Dnabert2ForRegression(Dnabert2PreTrainedModel):
    """One regression output on the pooled `[CLS]` state; MSE loss when labels are given.

    The parameter layout (`bert.*`, `classifier.*`) is that of the reference
    `BertForSequenceClassification` with one label, so fine-tuned folders load either way.
    """

    def __init__(self, config: Dnabert2Config) -> None:
        config.num_labels = 1
        config.problem_type = "regression"
        super().__init__(config)
        self.bert = Dnabert2Model(config)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool = False,
    ) -> SequenceClassifierOutput:
        """`logits` (B, 1); `loss` = mean squared error against `labels` (B,) when given."""
        encoded = self.bert(input_ids, attention_mask, token_type_ids, output_hidden_states=output_hidden_states)
        logits = self.classifier(self.dropout(encoded.pooler_output))
        loss: torch.FloatTensor | None = None
        if labels is not None:
            loss = cast(torch.FloatTensor, functional.mse_loss(logits.view(-1).float(), labels.view(-1).float()))
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)


class Dnabert2PredictionHeadTransform(nn.Module):
    """dense → exact GELU → LayerNorm (eps fixed at 1e-12 in the reference)."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=1e-12)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(functional.gelu(self.dense(hidden_states), approximate="none"))


class Dnabert2LMPredictionHead(nn.Module):
    """Transform, then a decoder whose weight is the word-embedding matrix (tied) plus a bias."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.transform = Dnabert2PredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states))


class Dnabert2MLMHead(nn.Module):
    """Container named `predictions`, matching the checkpoint's `cls.predictions.*` keys."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.predictions = Dnabert2LMPredictionHead(config)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.predictions(hidden_states)


class Dnabert2ForMaskedLM(Dnabert2PreTrainedModel):
    """The pre-training model as published (encoder without pooler + masked-LM head).

    It uses every tensor of the published checkpoint, so it is the way to check that a download
    is intact and loaded right: a working checkpoint predicts masked DNA tokens far above chance.
    """

    _tied_weights_keys = ["cls.predictions.decoder.weight"]  # type: ignore[assignment]  # noqa: RUF012

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__(config)
        self.bert = Dnabert2Model(config, add_pooling_layer=False)
        self.cls = Dnabert2MLMHead(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Module:
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Module) -> None:
        assert isinstance(new_embeddings, nn.Linear)
        self.cls.predictions.decoder = new_embeddings

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool = False,
    ) -> MaskedLMOutput:
        """`logits` (B, S, vocab) (rows at padded positions mean nothing); cross-entropy over labels ≠ −100."""
        encoded = self.bert(input_ids, attention_mask, token_type_ids, output_hidden_states=output_hidden_states)
        logits = self.cls(encoded.last_hidden_state)
        loss: torch.FloatTensor | None = None
        if labels is not None:
            loss = cast(
                torch.FloatTensor, functional.cross_entropy(logits.view(-1, logits.shape[-1]).float(), labels.view(-1))
            )
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
