"""Parity of the native DNABERT-2 with the published remote code, on the shared tiny fixture.

The fixture (`../shared/fixtures/dnabert2_tiny_ref`, made by running the reference
implementation on its PyTorch path) holds random-weight checkpoints in the published layouts and
every output of the reference: embeddings, each layer, pooled state, logits, MSE loss, masked-LM
logits and the gradients of the loss. Every stored tensor must be reproduced within
atol = rtol = 1e-5 in float32, and the tokenizer must give the stored ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import shared_path
from safetensors.torch import load_file

from seq2expr.models.dnabert2 import (
    Dnabert2ForMaskedLM,
    Dnabert2ForRegression,
    Dnabert2Model,
    alibi_slopes,
    load_tokenizer,
)

CONFIGS = ["tiny4h", "tiny12h"]
TOLERANCE = {"atol": 1e-5, "rtol": 1e-5}
INPUT_SUFFIXES = (".input_ids", ".attention_mask", ".labels")
GRAD_BATCH = "b2_padded"


def fixture_dir(config: str) -> Path:
    return shared_path("fixtures", "dnabert2_tiny_ref", config)


def reference(config: str) -> tuple[dict[str, torch.Tensor], dict]:
    folder = fixture_dir(config)
    return load_file(folder / "reference_io.safetensors"), json.loads((folder / "reference_io.json").read_text())


def batches(tensors: dict[str, torch.Tensor]) -> list[str]:
    return sorted({key.split(".")[0] for key in tensors if key.endswith(".input_ids")})


def native_outputs(config: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every output the fixture stores, computed by the native model from the fixture's inputs."""
    folder = fixture_dir(config)
    regressor = Dnabert2ForRegression.from_pretrained(folder / "finetuned")
    masked_lm = Dnabert2ForMaskedLM.from_pretrained(folder / "pretrained")
    outputs: dict[str, torch.Tensor] = {}
    for batch in batches(tensors):
        ids, mask, labels = (tensors[f"{batch}.{name}"] for name in ("input_ids", "attention_mask", "labels"))
        with torch.no_grad():
            result = regressor(ids, mask, labels=labels, output_hidden_states=True)
            encoded = regressor.bert(ids, mask)
        *layers, last = result.hidden_states[1:]
        outputs[f"{batch}.embeddings"] = result.hidden_states[0]
        for index, layer in enumerate([*layers, last]):
            outputs[f"{batch}.layer_{index}"] = layer
        outputs[f"{batch}.last_hidden_state"] = encoded.last_hidden_state
        outputs[f"{batch}.pooled"] = encoded.pooler_output
        outputs[f"{batch}.logits"] = result.logits
        outputs[f"{batch}.mse_loss"] = result.loss.reshape(1)
        if f"{batch}.mlm_logits" in tensors:
            with torch.no_grad():
                logits = masked_lm(ids, mask).logits
            outputs[f"{batch}.mlm_logits"] = logits * mask.bool()[:, :, None]  # valid positions only
    regressor.zero_grad()
    ids, mask, labels = (tensors[f"{GRAD_BATCH}.{name}"] for name in ("input_ids", "attention_mask", "labels"))
    regressor(ids, mask, labels=labels).loss.backward()
    for name, parameter in regressor.named_parameters():
        assert parameter.grad is not None, name
        outputs[f"grad.{GRAD_BATCH}.{name}"] = parameter.grad
    return outputs


@pytest.mark.parametrize("config", CONFIGS)
def test_every_fixture_tensor_is_reproduced(config: str) -> None:
    tensors, _ = reference(config)
    outputs = native_outputs(config, tensors)
    expected_keys = {key for key in tensors if not key.endswith(INPUT_SUFFIXES)}
    assert set(outputs) == expected_keys, "native outputs and fixture keys differ"
    failures = []
    for key in sorted(expected_keys):
        expected = tensors[key]
        if key.endswith(".mlm_logits"):
            mask = tensors[key.replace(".mlm_logits", ".attention_mask")].bool()[:, :, None]
            expected = expected * mask
        try:
            torch.testing.assert_close(outputs[key], expected, **TOLERANCE)
        except AssertionError:
            failures.append(f"{key}: max |diff| {(outputs[key] - expected).abs().max().item():.3g}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("config", CONFIGS)
def test_published_layout_gives_the_same_encoder(config: str) -> None:
    """The masked-LM `pytorch_model.bin` (no pooler, `cls.*` dropped) loads into the bare encoder."""
    tensors, _ = reference(config)
    model = Dnabert2Model.from_pretrained(fixture_dir(config) / "pretrained")
    assert model.pooler is not None
    for batch in batches(tensors):
        with torch.no_grad():
            states = model(tensors[f"{batch}.input_ids"], tensors[f"{batch}.attention_mask"]).last_hidden_state
        torch.testing.assert_close(states, tensors[f"{batch}.last_hidden_state"], **TOLERANCE)


@pytest.mark.parametrize("config", CONFIGS)
def test_tokenizer_gives_the_fixture_ids(config: str) -> None:
    tensors, meta = reference(config)
    tokenizer = load_tokenizer(fixture_dir(config) / "pretrained")
    assert tokenizer.pad_token_id == meta["pad_token_id"] == 3
    for batch, spec in meta["batches"].items():
        sequences = [meta["sequences"][name] for name in spec["sequences"]]
        encoded = tokenizer(sequences, padding="max_length", max_length=spec["padded_length"], return_tensors="pt")
        assert [tokenizer.convert_ids_to_tokens(row[row != 3].tolist()) for row in encoded["input_ids"]] == spec[
            "tokens"
        ]
        assert torch.equal(encoded["input_ids"], tensors[f"{batch}.input_ids"])
        assert torch.equal(encoded["attention_mask"], tensors[f"{batch}.attention_mask"])
        assert torch.equal(torch.tensor(spec["labels"], dtype=torch.float32), tensors[f"{batch}.labels"])


@pytest.mark.parametrize("config", CONFIGS)
def test_alibi_slopes_match_the_reference(config: str) -> None:
    _, meta = reference(config)
    slopes = alibi_slopes(meta["model_config"]["num_attention_heads"])
    assert torch.equal(
        torch.tensor(slopes, dtype=torch.float32), torch.tensor(meta["alibi_slopes"], dtype=torch.float32)
    )
