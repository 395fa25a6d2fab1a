"""The bundled tiny DNABERT-2 (`assets/test_data/tiny_dnabert2`): reproducible, small, published layout."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TEST_DATA, run_script
from safetensors.torch import load_file

from seq2expr.io.compute import RANDOM_INIT_KEY
from seq2expr.models.dnabert2.tiny import TOKENIZER_CONFIG

TINY = TEST_DATA / "tiny_dnabert2"
FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]


def test_regenerating_gives_identical_files(tmp_path: Path) -> None:
    result = run_script("make_tiny_dnabert2.py", "--sequences", TEST_DATA / "genome.fa.gz", "--outdir", tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == FILES
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (TINY / name).read_bytes(), name
    assert "wrote" in result.stderr


def test_bundled_model_is_small_and_in_the_published_layout() -> None:
    assert sum((TINY / name).stat().st_size for name in FILES) < 1_000_000
    state = load_file(TINY / "model.safetensors")
    assert {key.split(".")[0] for key in state} == {"bert", "cls"}
    assert not any(key.startswith("bert.pooler") for key in state)
    assert (state["cls.predictions.decoder.weight"] == state["bert.embeddings.word_embeddings.weight"]).all()
    config = json.loads((TINY / "config.json").read_text())
    assert config["vocab_size"] == state["bert.embeddings.word_embeddings.weight"].shape[0] == 512
    assert "auto_map" not in config
    assert config[RANDOM_INIT_KEY] is True  # random weights: compute.tsv and the report say so
    assert json.loads((TINY / "tokenizer_config.json").read_text()) == TOKENIZER_CONFIG


def test_bad_fasta_is_a_one_line_error(tmp_path: Path) -> None:
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">chr1\nACGT\nAC!GT\n")
    result = run_script("make_tiny_dnabert2.py", "--sequences", fasta, "--outdir", tmp_path / "out", check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {fasta}, line 3: unexpected character '!'")
    assert not (tmp_path / "out").exists()
