"""Behaviour of the native DNABERT-2 beyond parity: padding, saving, heads, checkpointing, bad checkpoints.

Uses the bundled tiny model (`assets/test_data/tiny_dnabert2`, published layout) and folders
derived from it in `tmp_path`.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import huggingface_hub
import huggingface_hub.constants
import pytest
import torch
from conftest import REPO, TEST_DATA
from safetensors.torch import load_file, save_file

from seq2expr.errors import InputError
from seq2expr.models.dnabert2 import (
    Dnabert2Config,
    Dnabert2ForMaskedLM,
    Dnabert2ForRegression,
    Dnabert2Model,
    load_tokenizer,
    resolve_source,
)
from seq2expr.models.dnabert2.model import attention_bias, attention_dtype

TINY = TEST_DATA / "tiny_dnabert2"
SEQUENCES = [
    "ACGTTGCATGCATGCAAATTTGGGCCCATATATAGCGCGATCGATCGTAGCTAGCTAGGATCCA",
    "TTTTAAAACCCCGGGG",
    "GATTACAGATTACANNNNNGATTACA",
]


class Payload:
    """An arbitrary object in a pickle: `weights_only=True` must refuse to rebuild it."""


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    return dict(load_tokenizer(TINY)(SEQUENCES, padding=True, return_tensors="pt"))


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    return folder


def write_state(folder: Path, state: dict[str, torch.Tensor]) -> None:
    save_file({key: value.contiguous() for key, value in state.items()}, str(folder / "model.safetensors"))


def test_padding_changes_nothing_and_padded_rows_are_zero(batch: dict[str, torch.Tensor]) -> None:
    model = Dnabert2Model.from_pretrained(TINY)
    tokenizer = load_tokenizer(TINY)
    with torch.no_grad():
        padded = model(**batch, output_hidden_states=True)
        for row, sequence in enumerate(SEQUENCES):
            alone = model(**tokenizer([sequence], return_tensors="pt"))
            length = alone.last_hidden_state.shape[1]
            torch.testing.assert_close(padded.last_hidden_state[row, :length], alone.last_hidden_state[0])
            torch.testing.assert_close(padded.pooler_output[row], alone.pooler_output[0])
    padding = ~batch["attention_mask"].bool()
    assert padding.any(), "the test batch must contain padding"
    assert len(padded.hidden_states) == model.config.num_hidden_layers + 1
    for state in (padded.last_hidden_state, *padded.hidden_states):
        assert state.shape[:2] == batch["input_ids"].shape
        assert torch.count_nonzero(state[padding]) == 0


def test_attention_mask_defaults_to_all_tokens(batch: dict[str, torch.Tensor]) -> None:
    model = Dnabert2Model.from_pretrained(TINY)
    ids = batch["input_ids"][:1, :10]
    with torch.no_grad():
        torch.testing.assert_close(model(ids).last_hidden_state, model(ids, torch.ones_like(ids)).last_hidden_state)


def test_attention_bias_is_alibi_plus_key_mask() -> None:
    mask = torch.tensor([[1, 1, 1, 0]])
    bias = attention_bias(mask, torch.tensor([0.5, 0.25]), torch.float32)
    assert bias.shape == (1, 2, 4, 4)
    assert bias[0, 0, 0, 2].item() == -1.0 and bias[0, 1, 2, 0].item() == -0.5
    assert bias[0, 1, 1, 1].item() == 0.0
    assert torch.all(bias[..., 3] == torch.finfo(torch.float32).min)
    assert attention_bias(mask, torch.tensor([0.5, 0.25]), torch.bfloat16).dtype == torch.bfloat16


@pytest.mark.parametrize("cls", [Dnabert2Model, Dnabert2ForRegression, Dnabert2ForMaskedLM])
def test_save_pretrained_round_trips(cls: type, tmp_path: Path, batch: dict[str, torch.Tensor]) -> None:
    model = cls.from_pretrained(TINY)
    model.save_pretrained(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    again = cls.from_pretrained(tmp_path)
    first, second = model.state_dict(), again.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)
    with torch.no_grad():
        assert torch.equal(model(**batch)[0], again(**batch)[0])


def test_regression_checkpoint_loads_as_encoder_with_the_same_pooler(
    tmp_path: Path, batch: dict[str, torch.Tensor]
) -> None:
    regressor = Dnabert2ForRegression.from_pretrained(TINY)
    regressor.save_pretrained(tmp_path)
    assert {key.split(".")[0] for key in load_file(tmp_path / "model.safetensors")} == {"bert", "classifier"}
    encoder = Dnabert2Model.from_pretrained(tmp_path)
    with torch.no_grad():
        assert torch.equal(encoder(**batch).pooler_output, regressor.bert(**batch).pooler_output)


def test_published_layout_gets_fresh_heads(caplog: pytest.LogCaptureFixture, batch: dict[str, torch.Tensor]) -> None:
    torch.manual_seed(0)
    with caplog.at_level(logging.INFO, logger="seq2expr.models.dnabert2.loading"):
        model = Dnabert2ForRegression.from_pretrained(TINY)
    assert "cls.predictions" in caplog.text and "bert.pooler.dense.weight" in caplog.text
    assert torch.count_nonzero(model.bert.pooler.dense.bias) == 0
    assert torch.count_nonzero(model.classifier.bias) == 0
    assert 0.017 < model.bert.pooler.dense.weight.std().item() < 0.023
    stored = load_file(TINY / "model.safetensors")
    assert torch.equal(model.bert.encoder.layer[1].mlp.wo.weight, stored["bert.encoder.layer.1.mlp.wo.weight"])
    labels = torch.tensor([0.5, -1.0, 2.0])
    output = model(**batch, labels=labels)
    assert output.logits.shape == (3, 1)
    torch.testing.assert_close(output.loss, ((output.logits[:, 0] - labels) ** 2).mean())


def test_masked_lm_uses_the_tied_decoder() -> None:
    model = Dnabert2ForMaskedLM.from_pretrained(TINY)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    stored = load_file(TINY / "model.safetensors")
    assert torch.equal(model.cls.predictions.decoder.bias, stored["cls.predictions.decoder.bias"])


@pytest.mark.parametrize("reentrant", [True, False])
def test_gradient_checkpointing_gives_the_same_gradients(batch: dict[str, torch.Tensor], reentrant: bool) -> None:
    labels = torch.tensor([0.5, -1.0, 2.0])

    def gradients(checkpointing: bool) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)  # the fresh regression head
        model = Dnabert2ForRegression.from_pretrained(TINY)
        if checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": reentrant})
            assert model.bert.encoder.gradient_checkpointing
        model.train()
        torch.manual_seed(1)  # dropout masks: checkpointing replays them from the saved RNG state
        model(**batch, labels=labels).loss.backward()
        return {name: parameter.grad.clone() for name, parameter in model.named_parameters()}

    plain, checkpointed = gradients(False), gradients(True)
    for name, grad in plain.items():
        torch.testing.assert_close(checkpointed[name], grad, msg=name)


def test_bf16_autocast_stays_close_to_float32(batch: dict[str, torch.Tensor]) -> None:
    model = Dnabert2Model.from_pretrained(TINY)
    with torch.no_grad():
        reference = model(**batch).last_hidden_state
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert attention_dtype(reference) == torch.bfloat16
            low = model(**batch).last_hidden_state
    assert attention_dtype(reference) == torch.float32
    assert 0 < (low.float() - reference).abs().max().item() < 0.1


def test_missing_encoder_weights_are_listed(tiny_copy: Path) -> None:
    state = load_file(tiny_copy / "model.safetensors")
    del state["bert.encoder.layer.1.mlp.wo.weight"], state["bert.embeddings.LayerNorm.bias"]
    write_state(tiny_copy, state)
    with pytest.raises(InputError, match=r"lacks 2 .*bert\.embeddings\.LayerNorm\.bias.*layer\.1\.mlp\.wo\.weight"):
        Dnabert2Model.from_pretrained(tiny_copy)


def test_unexpected_keys_are_listed(tiny_copy: Path) -> None:
    state = load_file(tiny_copy / "model.safetensors")
    state["bert.encoder.layer.0.attention.self.query.weight"] = torch.zeros(2, 2)
    state["bert.embeddings.position_embeddings.weight"] = torch.zeros(2, 2)
    write_state(tiny_copy, state)
    message = r"2 key\(s\) that are not DNABERT-2 weights: .*position_embeddings\.weight.*self\.query\.weight"
    with pytest.raises(InputError, match=message):
        Dnabert2ForRegression.from_pretrained(tiny_copy)


def test_shapes_that_do_not_fit_the_config_are_listed(tiny_copy: Path) -> None:
    config = json.loads((tiny_copy / "config.json").read_text())
    config["intermediate_size"] *= 2
    (tiny_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"do not fit config\.json: .*mlp\.gated_layers\.weight"):
        Dnabert2Model.from_pretrained(tiny_copy)


def test_pickled_checkpoint_is_read_with_weights_only(tiny_copy: Path, batch: dict[str, torch.Tensor]) -> None:
    state = load_file(tiny_copy / "model.safetensors")
    (tiny_copy / "model.safetensors").unlink()
    torch.save(state, tiny_copy / "pytorch_model.bin")
    with torch.no_grad():
        from_pickle = Dnabert2Model.from_pretrained(tiny_copy)(**batch).last_hidden_state
        torch.testing.assert_close(from_pickle, Dnabert2Model.from_pretrained(TINY)(**batch).last_hidden_state)
    torch.save({"weights": state, "payload": Payload()}, tiny_copy / "pytorch_model.bin")
    with pytest.raises(InputError, match=r"pytorch_model\.bin: cannot read the weights"):
        Dnabert2Model.from_pretrained(tiny_copy)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda folder: (folder / "model.safetensors").unlink(), "no weights: expected model.safetensors"),
        (lambda folder: (folder / "model.safetensors").write_bytes(b"not a safetensors file"), "cannot read"),
        (lambda folder: (folder / "config.json").unlink(), "missing config.json"),
        (lambda folder: (folder / "config.json").write_text("{"), "not valid JSON"),
        (
            lambda folder: (folder / "config.json").write_text(
                json.dumps({"hidden_size": 64, "num_attention_heads": 5})
            ),
            "not a multiple",
        ),
    ],
)
def test_broken_folders_give_clear_errors(tiny_copy: Path, damage, message: str) -> None:
    damage(tiny_copy)
    with pytest.raises(InputError, match=re.escape(message)):
        Dnabert2ForRegression.from_pretrained(tiny_copy)


def test_missing_folder_and_offline_hub_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such model folder"):
        resolve_source(tmp_path / "absent" / "model")
    with pytest.raises(InputError, match="expected a model folder"):
        resolve_source(TINY / "config.json")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"cannot be reached.*huggingface-cli download owner/model --local-dir DIR"):
        Dnabert2Model.from_pretrained("owner/model")


def test_hub_id_goes_through_huggingface_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network here: the download itself is replaced by a stand-in returning the bundled folder."""
    calls = []

    def snapshot_download(repo_id: str, revision: str | None, allow_patterns: list[str]) -> str:
        calls.append((repo_id, revision, allow_patterns))
        return str(TINY)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.chdir(tmp_path)
    model = Dnabert2Model.from_pretrained("zhihan1996/DNABERT-2-117M", revision="d064dece")
    assert model.config.hidden_size == 64
    ((repo_id, revision, patterns),) = calls
    assert (repo_id, revision) == ("zhihan1996/DNABERT-2-117M", "d064dece")
    assert "pytorch_model.bin" in patterns and not any(pattern.endswith(".py") for pattern in patterns)


def test_unsupported_loader_options_are_refused() -> None:
    with pytest.raises(TypeError, match="torch_dtype"):
        Dnabert2Model.from_pretrained(TINY, torch_dtype=torch.float16)


def test_config_drops_remote_code_pointers() -> None:
    config = Dnabert2Config(auto_map={"AutoModel": "bert_layers.BertModel"}, hidden_size=32, num_attention_heads=4)
    assert "auto_map" not in config.to_dict()
    assert config.head_size == 8 and not config.problems()


def test_no_remote_code_and_only_safe_unpickling() -> None:
    """The project never asks to run a checkpoint's code, and never unpickles arbitrary objects."""
    sources = [path for folder in ("src", "bin", "bench") for path in (REPO / folder).rglob("*.py")]
    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"trust_remote_code\s*=\s*True", text), path
        for call in re.finditer(r"torch\.load\(([^()]|\([^()]*\))*\)", text):
            assert re.search(r"weights_only\s*=\s*True", call.group(0)), f"{path}: {call.group(0)}"
