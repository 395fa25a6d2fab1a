"""The DNABERT-2 tokenizer loader and the sequence check, on the bundled tiny model's tokenizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TEST_DATA

from seq2expr.errors import InputError
from seq2expr.models.dnabert2 import check_sequences, load_tokenizer

TINY = TEST_DATA / "tiny_dnabert2"


def test_wraps_pads_right_and_truncates_inside_the_specials() -> None:
    tokenizer = load_tokenizer(TINY, max_length=6)
    encoded = tokenizer(["ACGTACGTACGTACGTTTGACCA", "AC"], padding=True, truncation=True)
    long, short = encoded["input_ids"]
    assert len(long) == 6 and long[0] == 1 and long[-1] == 2
    assert short[0] == 1 and 2 in short and short[-1] == 3
    assert encoded["attention_mask"][1] == [1 if token != 3 else 0 for token in short]
    assert tokenizer.padding_side == "right" and tokenizer.pad_token_id == 3


def test_n_becomes_unknown_and_ids_are_the_published_ones() -> None:
    tokenizer = load_tokenizer(TINY)
    ids = tokenizer("ACNNG")["input_ids"]
    assert ids.count(tokenizer.unk_token_id) == 2 and tokenizer.unk_token_id == 0
    assert tokenizer.convert_tokens_to_ids(["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "A", "C", "G", "T"]) == list(
        range(9)
    )


def test_missing_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    shutil.copy(TINY / "config.json", tmp_path / "config.json")
    with pytest.raises(InputError, match=r"missing tokenizer\.json"):
        load_tokenizer(tmp_path)


def test_tokenizer_without_cls_sep_template_is_refused(tmp_path: Path) -> None:
    spec = json.loads((TINY / "tokenizer.json").read_text())
    spec["post_processor"] = None
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(InputError, match=r"does not wrap sequences in \[CLS\]"):
        load_tokenizer(tmp_path)


def test_unreadable_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(InputError, match="cannot read the tokenizer"):
        load_tokenizer(tmp_path)


def test_check_sequences_upper_cases_and_accepts_n() -> None:
    assert check_sequences(["acgtn", "NNAC"]) == ["ACGTN", "NNAC"]


@pytest.mark.parametrize(
    ("sequence", "message"),
    [
        ("ACGRT", r"GENE2: character 'R' at position 4; expected only A, C, G, T or N"),
        ("ACG T", r"GENE2: character ' ' at position 4"),
        ("", "GENE2: empty sequence"),
    ],
)
def test_check_sequences_names_the_record(sequence: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        check_sequences(["ACGT", sequence], names=["GENE1", "GENE2"], path="dataset.tsv.gz")
    assert str(error.value).startswith("dataset.tsv.gz: ")
