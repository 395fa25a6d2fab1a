"""FASTA streaming: format rules, chunk boundaries, gzip, and the sequence helpers."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from seq2expr.errors import InputError
from seq2expr.io.genome import _parse, iter_fasta, read_sequences, reverse_complement, to_acgtn, to_acgtn_cased

FASTA = b">chr1 assembled chromosome\nACGTacgt\nNNRY\n\n>chr2\nGGGG\nCC"


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 1 << 20])
def test_records_are_the_same_whatever_the_chunk_size(chunk_size: int) -> None:
    records = list(_parse(io.BytesIO(FASTA), Path("x.fa"), chunk_size))
    assert [(r.name, r.sequence, r.line) for r in records] == [
        ("chr1", b"ACGTacgtNNRY", 1),
        ("chr2", b"GGGGCC", 5),
    ]


def test_plain_and_gzip_give_the_same_records(tmp_path: Path) -> None:
    plain = tmp_path / "g.fa"
    plain.write_bytes(FASTA.replace(b"\n", b"\r\n"))
    packed = tmp_path / "g.fa.gz"
    packed.write_bytes(gzip.compress(FASTA))
    assert [r.sequence for r in iter_fasta(plain)] == [r.sequence for r in iter_fasta(packed)]


def test_multi_member_gzip_as_bgzip_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "g.fa.gz"
    path.write_bytes(gzip.compress(FASTA[:20]) + gzip.compress(FASTA[20:]))
    assert [r.name for r in iter_fasta(path)] == ["chr1", "chr2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ACGT\n>x\nAC\n", "line 1: sequence before the first '>' header"),
        (b">a\nAC GT\n", "line 2: unexpected character ' '"),
        (b">a\nACGT\nAC1T\n", "line 3: unexpected character '1'"),
        (b">a\nACGT\n>\nAC\n", "line 3: empty FASTA header"),
        (b">a\n>b\nAC\n", "line 1: record 'a' has no sequence"),
        (b">a\nAC\n>a\nGG\n", "line 3: sequence name 'a' appears more than once"),
        (b"", "no FASTA record found"),
    ],
)
def test_malformed_fasta_names_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.fa"
    path.write_bytes(content)
    with pytest.raises(InputError) as error:
        list(iter_fasta(path))
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_to_acgtn_upper_cases_and_masks_other_letters() -> None:
    assert to_acgtn(b"acgtNRYkmACGT") == b"ACGTNNNNNACGT"


def test_reverse_complement() -> None:
    assert reverse_complement(b"AACGTN") == b"NACGTT"


def test_read_sequences_returns_acgtn_strings(tmp_path: Path) -> None:
    path = tmp_path / "w.fa"
    path.write_bytes(b">g1\nacgtR\n>g2\nTTTT\n")
    assert read_sequences(path) == {"g1": "ACGTN", "g2": "TTTT"}


def test_soft_masking_can_be_kept_and_survives_the_reverse_complement(tmp_path: Path) -> None:
    assert to_acgtn_cased(b"acgtNRYkmACGT") == b"acgtNNNnnACGT"
    assert reverse_complement(b"AAcg") == b"cgTT"
    path = tmp_path / "w.fa"
    path.write_text(">g1\nACgtr\n")
    assert read_sequences(path, keep_case=True) == {"g1": "ACgtn"}
    assert read_sequences(path) == {"g1": "ACGTN"}
