"""Streaming FASTA reading and sequence utilities.

A whole human genome (3.1 Gb) must never sit in memory, so records are read one at a time in
large binary chunks; newline removal and character validation run as C-level bytes operations
rather than per-line Python loops, which is what makes a genome pass take seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from seq2expr.errors import InputError
from seq2expr.io.files import open_binary

CHUNK_SIZE = 1 << 24
#: Letters a genome FASTA may hold: nucleotides, IUPAC ambiguity codes, in either case.
FASTA_LETTERS = b"ACGTNRYKMSWBDHVUacgtnrykmswbdhvu"
_LINE_ENDS = b"\r\n"
_ALLOWED = FASTA_LETTERS + _LINE_ENDS
_COMPLEMENT = bytes.maketrans(b"ACGTNacgtn", b"TGCANtgcan")
#: Upper-case, and every letter that is not A/C/G/T becomes N (soft-masking and IUPAC codes).
_TO_ACGTN = bytes.maketrans(FASTA_LETTERS, b"ACGTN" + b"N" * 11 + b"ACGTN" + b"N" * 11)
#: The same, keeping the case: soft-masked repeats stay lower case (acgtn), for the similarity search.
_TO_ACGTN_CASED = bytes.maketrans(FASTA_LETTERS, b"ACGTN" + b"N" * 11 + b"acgtn" + b"n" * 11)


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: its name (first token of the header) and its raw letters."""

    name: str
    sequence: bytes
    line: int  # line number of the header, for error messages


def _check_letters(part: bytes, path: Path, first_line: int) -> None:
    """Raise on the first character that is not a sequence letter, naming its line."""
    bad = part.translate(None, _ALLOWED)
    if not bad:
        return
    offset = part.find(bad[:1])
    line = first_line + part.count(b"\n", 0, offset)
    raise InputError(
        f"unexpected character {chr(bad[0])!r} in a sequence line; expected nucleotide letters (ACGTN or IUPAC codes)",
        path,
        line,
    )


def iter_fasta(path: Path, chunk_size: int = CHUNK_SIZE) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file one at a time, checking its format as it goes."""
    with open_binary(path) as handle:
        yield from _parse(handle, path, chunk_size)


def _parse(handle: BinaryIO, path: Path, chunk_size: int) -> Iterator[FastaRecord]:
    buffer = b""
    pos = 0  # next unread byte of `buffer`; always at the start of a line or inside sequence text
    eof = False
    line = 1  # line number of the byte at `pos`
    name: str | None = None
    header_line = 0
    parts: list[bytes] = []
    seen: set[str] = set()

    def fill() -> None:
        nonlocal buffer, pos, eof
        chunk = handle.read(chunk_size)
        eof = not chunk
        buffer, pos = buffer[pos:] + chunk, 0

    def finish() -> FastaRecord | None:
        if name is None:
            return None
        sequence = b"".join(parts)
        if not sequence:
            raise InputError(f"record {name!r} has no sequence", path, header_line)
        return FastaRecord(name, sequence, header_line)

    while True:
        if pos >= len(buffer):
            if eof:
                break
            fill()
            continue
        if buffer[pos] == ord(">"):
            end = buffer.find(b"\n", pos)
            while end < 0 and not eof:
                fill()
                end = buffer.find(b"\n", pos)
            end = len(buffer) if end < 0 else end
            record = finish()
            if record is not None:
                yield record
            tokens = buffer[pos + 1 : end].decode("utf-8", errors="replace").split()
            if not tokens:
                raise InputError("empty FASTA header; expected '>name'", path, line)
            name, header_line, parts = tokens[0], line, []
            if name in seen:
                raise InputError(f"sequence name {name!r} appears more than once", path, line)
            seen.add(name)
            pos, line = end + 1, line + 1
            continue
        boundary = buffer.find(b"\n>", pos)
        if boundary >= 0:
            part, pos = buffer[pos : boundary + 1], boundary + 1
        elif eof or not buffer.endswith(b"\n"):
            part, pos = buffer[pos:], len(buffer)
        else:
            # Keep the final newline unread: a header may start right after it in the next chunk.
            part, pos = buffer[pos:-1], len(buffer) - 1
            fill()
        if name is None:
            if part.strip():
                raise InputError("sequence before the first '>' header; expected a FASTA file", path, line)
        else:
            _check_letters(part, path, line)
            parts.append(part.translate(None, _LINE_ENDS))
        line += part.count(b"\n")
    if name is None:
        raise InputError("no FASTA record found; expected '>name' header lines followed by sequence", path)
    record = finish()
    if record is not None:
        yield record


def to_acgtn(sequence: bytes) -> bytes:
    """Upper-case; every letter other than A/C/G/T becomes N (models see only ACGTN)."""
    return sequence.translate(_TO_ACGTN)


def to_acgtn_cased(sequence: bytes) -> bytes:
    """Like `to_acgtn` but keeping the genome's soft-masking: lower case stays lower case (acgtn)."""
    return sequence.translate(_TO_ACGTN_CASED)


def reverse_complement(sequence: bytes) -> bytes:
    """Reverse complement of an ACGTN sequence (either case; the case of each base is kept)."""
    return sequence.translate(_COMPLEMENT)[::-1]


def read_sequences(path: Path, keep_case: bool = False) -> dict[str, str]:
    """A small FASTA (e.g. TSS windows) as name -> ACGTN string, in file order: upper case (what the
    models see), or with its soft-masking kept (`keep_case`, what the similarity search needs)."""
    convert = to_acgtn_cased if keep_case else to_acgtn
    return {record.name: convert(record.sequence).decode("ascii") for record in iter_fasta(path)}


def write_fasta(records: Iterator[tuple[str, str]] | list[tuple[str, str]], path: Path) -> None:
    """One record per line pair (header, whole sequence): what DExTER's tools expect."""
    with open(path, "w", encoding="ascii", newline="\n") as handle:
        for name, sequence in records:
            handle.write(f">{name}\n{sequence}\n")
