"""Any genome language model: the project's tiny checkpoints (deterministic, small, the bundled ones
regenerated from code), their tokenizers and maximum lengths, windows cut into pieces without changing
their tokens, embeddings independent of the batch, the probe end to end through bin/probe_glm.py with
byte-identical re-runs, remote code only when trusted, and one line for every model that cannot run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import BIN, TEST_DATA, assert_one_line_error, invoke, probe_command

from seq2expr.data.dataset import read_dataset
from seq2expr.io.compute import read_compute
from seq2expr.io.predictions import read_predictions
from seq2expr.models.glm.chunking import chunk_windows, pieces, special_layout
from seq2expr.models.glm.loading import inspect_model, load_encoder
from seq2expr.models.glm.tiny import FAMILIES, write_tiny_glm
from seq2expr.models.probe.embeddings import embed_layers
from seq2expr.models.training.core import torch_threads

TINY_GLMS = TEST_DATA / "tiny_glms"
OUTPUTS = ("predictions.tsv", "embeddings.safetensors", "readout.safetensors", "probe.json")


def test_the_bundled_checkpoints_are_what_the_generator_writes(tmp_path: Path) -> None:
    for family in FAMILIES:
        written = write_tiny_glm(family, tmp_path / family)
        bundled = sorted((TINY_GLMS / family).iterdir())
        assert [path.name for path in written] == [path.name for path in bundled], family
        for new, old in zip(written, bundled, strict=True):
            assert new.read_bytes() == old.read_bytes(), new
        assert sum(path.stat().st_size for path in written) < 1_000_000, family
        assert json.loads((tmp_path / family / "config.json").read_text())["seq2expr_random_init"] is True


def test_tokenizers_and_maximum_lengths() -> None:
    esm, bert = inspect_model(str(TINY_GLMS / "esm_6mer")), inspect_model(str(TINY_GLMS / "bert_char"))
    assert (esm.config.model_type, esm.max_tokens, esm.n_states) == ("esm", 64, 3)
    assert (bert.config.model_type, bert.max_tokens, bert.n_states) == ("bert", 128, 3)
    assert esm.random_init and not esm.remote_code
    # six-mers read greedily from the left, single letters where none fits; <cls> first, no end token
    ids = esm.tokenizer("ACGTACGTNACGTAC")["input_ids"]
    assert esm.tokenizer.convert_ids_to_tokens(ids) == ["<cls>", "ACGTAC", "G", "T", "N", "ACGTAC"]
    ids = bert.tokenizer("ACGN")["input_ids"]
    assert bert.tokenizer.convert_ids_to_tokens(ids) == ["[CLS]", "A", "C", "G", "N", "[SEP]"]
    assert special_layout(esm.tokenizer) == ([esm.tokenizer.cls_token_id], [])


def test_pieces_are_the_fewest_near_equal_ones() -> None:
    assert pieces(10, 10) == [(0, 10)]
    assert pieces(171, 63) == [(0, 57), (57, 114), (114, 171)]
    assert all(stop - start <= 4 for start, stop in pieces(1001, 4))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_chunks_hold_the_window_s_tokens_in_order(family: str, synthetic_dataset: Path) -> None:
    spec = inspect_model(str(TINY_GLMS / family))
    sequences = read_dataset(synthetic_dataset)["sequence"].str.upper().head(5).tolist()
    chunks = chunk_windows(spec.tokenizer, sequences, spec.max_tokens)
    assert chunks.has_cls and chunks.n_chunked == 5 and chunks.lengths.max() <= (spec.max_tokens or 0)
    for window, sequence in enumerate(sequences):
        rows = np.flatnonzero(chunks.window == window)
        joined = [
            token
            for row in rows
            for token in chunks.input_ids[row][chunks.content_start[row] : chunks.content_stop[row]].tolist()
        ]
        assert joined == spec.tokenizer(sequence, add_special_tokens=False, verbose=False)["input_ids"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_embeddings_do_not_depend_on_the_batch(family: str, synthetic_dataset: Path) -> None:
    spec = inspect_model(str(TINY_GLMS / family))
    sequences = read_dataset(synthetic_dataset)["sequence"].str.upper().head(6).tolist()
    chunks = chunk_windows(spec.tokenizer, sequences, spec.max_tokens)
    model = load_encoder(spec, torch.device("cpu"))
    pad = int(spec.tokenizer.pad_token_id)
    with torch_threads(1):
        alone = embed_layers(model, chunks, [0, 2], ["mean", "cls"], 1, torch.device("cpu"), pad)
        together = embed_layers(model, chunks, [0, 2], ["mean", "cls"], 16, torch.device("cpu"), pad)
    for layer in (0, 2):
        for name in ("mean", "cls"):
            np.testing.assert_allclose(alone[layer][name], together[layer][name], atol=1e-5)


@pytest.mark.xdist_group("probe_outputs")
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_probe_glm_end_to_end_byte_identically(
    family: str, synthetic_dataset: Path, probe_outputs: Callable[[str], Path], tmp_path: Path
) -> None:
    first = probe_outputs(family)
    assert invoke(*probe_command(family, synthetic_dataset), "--outdir", tmp_path).returncode == 0
    for name in OUTPUTS:
        assert (first / name).read_bytes() == (tmp_path / name).read_bytes(), name
    dataset = read_dataset(synthetic_dataset)
    predictions = read_predictions(first / "predictions.tsv")
    assert set(predictions["model"]) == {f"probe:{family}"}
    assert predictions["gene_id"].tolist() == dataset["gene_id"].tolist()
    summary = json.loads((first / "probe.json").read_text())
    assert summary["random_init"] is True and summary["remote_code"] is False
    assert summary["windows_chunked"] == len(dataset) and summary["cv"]["groups"] == "gene_groups"
    compute = read_compute(first / "compute.tsv")
    assert compute["model"].tolist() == [f"probe:{family}"] and compute["random_init"].tolist() == [True]


def with_config(tmp_path: Path, **changes: object) -> Path:
    """A copy of the tiny BERT with config.json fields changed."""
    folder = tmp_path / "model"
    shutil.copytree(TINY_GLMS / "bert_char", folder)
    config = json.loads((folder / "config.json").read_text()) | changes
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def offline_run(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    """bin/probe_glm.py with the Hub offline and a private Hugging Face cache."""
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_HOME": str(home)}
    command = [sys.executable, str(BIN / "probe_glm.py"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("not a model", "no such model folder (and not a Hugging Face Hub id"),
        ("nobody/no-such-glm", "nobody/no-such-glm: cannot read the model's config.json"),
        ("unknown", "unsupported architecture 'hyena_from_nowhere'"),
        ("remote", "the checkpoint brings its own modelling code (AutoModel: modeling_x.XModel)"),
    ],
)
def test_models_that_cannot_run_are_one_line_before_any_heavy_work(
    model: str, message: str, synthetic_dataset: Path, tmp_path: Path
) -> None:
    folder = {
        "unknown": lambda: with_config(tmp_path, model_type="hyena_from_nowhere"),
        "remote": lambda: with_config(tmp_path, auto_map={"AutoModel": "modeling_x.XModel"}),
    }
    source = folder[model]() if model in folder else model
    result = offline_run("--dataset", synthetic_dataset, "--model", source, "--outdir", tmp_path / "out", home=tmp_path)
    assert_one_line_error(result, message)
    assert "candidate layer" not in result.stderr and not (tmp_path / "out" / "compute.tsv").exists()


def test_a_hub_id_loads_through_the_hub_cache(synthetic_dataset: Path, tmp_path: Path) -> None:
    """The Hub path for real, offline: a snapshot in huggingface_hub's cache layout answers `owner/name`."""
    revision = "0" * 40
    repo = tmp_path / "hub" / "models--seq2expr--tiny-esm"
    shutil.copytree(TINY_GLMS / "esm_6mer", repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    arguments = ["--dataset", synthetic_dataset, "--model", "seq2expr/tiny-esm", "--outdir", tmp_path / "out"]
    result = offline_run(*arguments, home=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "probe.json").read_text())
    assert summary["name"] == "probe:tiny-esm" and summary["model"] == "seq2expr/tiny-esm"
    assert summary["architecture"] == "esm" and summary["random_init"] is True


REMOTE_CONFIG = """from transformers import BertConfig


class TinyRemoteConfig(BertConfig):
    model_type = "tiny_remote_bert"
"""
REMOTE_MODEL = """from transformers import BertModel

from .configuration_tiny import TinyRemoteConfig


class TinyRemoteModel(BertModel):
    config_class = TinyRemoteConfig
"""


def test_remote_code_runs_with_the_flag_and_a_warning(synthetic_dataset: Path, tmp_path: Path) -> None:
    auto_map = {"AutoConfig": "configuration_tiny.TinyRemoteConfig", "AutoModel": "modeling_tiny.TinyRemoteModel"}
    folder = with_config(tmp_path, model_type="tiny_remote_bert", auto_map=auto_map)
    (folder / "configuration_tiny.py").write_text(REMOTE_CONFIG)
    (folder / "modeling_tiny.py").write_text(REMOTE_MODEL)
    arguments = ["--dataset", synthetic_dataset, "--model", folder, "--name", "remote"]
    refused = offline_run(*arguments, "--outdir", tmp_path / "refused", home=tmp_path)
    assert_one_line_error(refused, "runs only with --trust-remote-code")
    ran = offline_run(*arguments, "--trust-remote-code", "--outdir", tmp_path / "out", home=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "WARNING" in ran.stderr and "runs modelling code shipped with the checkpoint" in ran.stderr
    summary = json.loads((tmp_path / "out" / "probe.json").read_text())
    assert summary["remote_code"] is True and summary["name"] == "probe:remote"


def test_a_checkpoint_missing_weights_is_refused(synthetic_dataset: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = with_config(tmp_path)
    state = load_file(str(folder / "model.safetensors"))
    dropped = {name: tensor for name, tensor in state.items() if "layer.1." not in name}
    save_file(dropped, str(folder / "model.safetensors"), metadata={"format": "pt"})
    result = invoke("probe_glm.py", "--dataset", synthetic_dataset, "--model", folder, "--outdir", tmp_path / "out")
    assert_one_line_error(result, "weight(s) of BertModel (first: encoder.layer.1.")


def test_groups_of_another_dataset_name_both_files(synthetic_dataset: Path, tmp_path: Path) -> None:
    groups = tmp_path / "gene_groups.tsv"
    lines = (synthetic_dataset.parent / "gene_groups.tsv").read_text().splitlines()
    groups.write_text("\n".join(lines[:-1]) + "\n")  # the last gene has no group any more
    arguments = ["--dataset", synthetic_dataset, "--groups", groups, "--model", TINY_GLMS / "bert_char"]
    result = invoke("probe_glm.py", *arguments, "--outdir", tmp_path / "out")
    assert_one_line_error(result, f"{groups}: 1 gene(s) of the dataset {synthetic_dataset} have no group here")


def test_the_new_commands_answer_help_and_refuse_unknown_options() -> None:
    for script in ("probe_glm.py", "make_tiny_glms.py"):
        assert invoke(script, "-h").returncode == 0, script
        assert_one_line_error(invoke(script, "--no-such-option"), "No such option '--no-such-option'")
