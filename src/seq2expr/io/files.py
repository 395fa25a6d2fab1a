"""The one place where input files are opened: their compression is named, their failures are one line.

Users bring genomes, annotations and tables from many sources, compressed in many ways. Sniffing
the magic bytes here (never trusting the file name) means every reader sees plain bytes, and a
file we cannot read fails with the file's name and what was expected instead of a decoder's
traceback:

- read: plain, gzip and bgzip (multi-member gzip), bzip2 and xz — all in Python's standard
  library, so streaming them costs no dependency;
- refused with a one-line error: zstd and zip (decompress first), a gzip whose content is
  compressed again, a truncated or corrupt compressed stream, binary or non-UTF-8 text.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import re
import zlib
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, BinaryIO, cast

from seq2expr.errors import InputError

#: Magic bytes of the compressions we know, longest-first matching is not needed: none is a prefix of another.
MAGIC = {
    "gzip": b"\x1f\x8b",
    "bzip2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
    "zip": b"PK\x03\x04",
}
#: Streaming readers of the compressions we read (bgzip is multi-member gzip, which GzipFile reads).
READERS: dict[str, Callable[..., Any]] = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}
REFUSED = {
    "zstd": "zstd-compressed, which seq2expr does not read; decompress it first (zstd -d) or use gzip",
    "zip": "a zip archive, which seq2expr does not read; unzip it first (or compress the file itself with gzip)",
}
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)
BUFFER_SIZE = 1 << 20


def sniff(head: bytes) -> str:
    """The compression named by a file's first bytes, or `plain`."""
    return next((name for name, magic in MAGIC.items() if head.startswith(magic)), "plain")


def check_file(path: Path) -> None:
    """A readable regular file, or an InputError that says what is there instead."""
    if path.is_symlink() and not path.exists():
        raise InputError("a symbolic link to a missing file; expected a file", path)
    if path.is_dir():
        raise InputError("is a folder; expected a file", path)
    if not path.exists():
        raise InputError("no such file", path)


class _Checked(io.RawIOBase):
    """A decompressing stream whose truncation or corruption becomes an InputError naming the file."""

    def __init__(self, inner: BinaryIO, path: Path, compression: str) -> None:
        super().__init__()
        self._inner = inner
        self._path = path
        self._compression = compression

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            return self._inner.readinto(buffer)  # type: ignore[attr-defined]
        except DECOMPRESSION_ERRORS as error:
            reason = str(error) or type(error).__name__
            raise InputError(
                f"{self._compression} stream is truncated or corrupt ({reason}); expected a complete "
                f"{self._compression} file (download or compress it again)",
                self._path,
            ) from None

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_binary(path: Path) -> BinaryIO:
    """Open a plain or compressed input for binary reading, chosen by its magic bytes."""
    path = Path(path)
    check_file(path)
    with open(path, "rb") as raw:
        compression = sniff(raw.read(8))
    if compression in REFUSED:
        raise InputError(REFUSED[compression], path)
    if compression == "plain":
        return open(path, "rb")
    handle = io.BufferedReader(_Checked(READERS[compression](path, "rb"), path, compression), BUFFER_SIZE)
    try:
        inner = sniff(handle.peek(8)[:8])
    except InputError:
        handle.close()
        raise
    if inner != "plain":
        handle.close()
        raise InputError(
            f"{compression} file whose content is {inner}-compressed again; decompress it once "
            "(e.g. `gunzip -c FILE | gunzip -c | gzip > FIXED.gz`) and give the result",
            path,
        )
    return cast(BinaryIO, handle)


def decode_line(raw: bytes, path: Path, line: int) -> str:
    """One line as text, or an InputError naming the line when it is binary or not UTF-8."""
    if line == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError("UTF-16 text (as spreadsheet programs may save it); expected UTF-8: save as UTF-8", path, line)
    if b"\x00" in raw:
        raise InputError("binary data (a NUL byte); expected a text file", path, line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"byte 0x{raw[error.start]:02x} at column {error.start + 1} is not UTF-8 text; expected a text "
            "file in UTF-8 (or ASCII)",
            path,
            line,
        ) from None


def iter_lines(path: Path) -> Generator[tuple[int, str], None, None]:
    """(1-based line number, line without its LF or CRLF end) of a text input, checked as it is read."""
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 byte-order mark, as spreadsheet programs write
            yield number, decode_line(raw.rstrip(b"\r\n"), path, number)


def read_text(path: Path) -> str:
    """A small text input (a JSON model or registry) whole, checked line by line as `iter_lines` does."""
    return "\n".join(line for _, line in iter_lines(path))


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, streamed by `hashlib.file_digest` (never the whole file in memory).

    The project's one SHA-256 helper: downloads, the evaluation's methods section, the fine-tuning's
    run fingerprint and the benchmarks' checks of staged code all name files by it.
    """
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


#: A Hugging Face hub id (owner/name): what a model option holds when it is not a local folder
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
