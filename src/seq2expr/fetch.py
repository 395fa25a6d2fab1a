"""Download reference files so that a finished file is always a verified one.

A download goes to `<name>.part` in the target folder and is renamed to `<name>` only after its
checksum matches, so an interrupted or corrupted transfer can never pass for the real file.
Server errors and dropped connections are retried with exponential backoff; a dropped transfer
resumes with an HTTP `Range` request when the server honours it and restarts cleanly when it does
not, or when a resumed file turns out wrong. The sha256 of every finished file is written beside
it as `<name>.sha256` (`sha256sum -c` format), so that files without a publisher checksum are at
least pinned from then on.

The registry (`assets/references.json`) names the known inputs: URL, file name and the checksum
its publisher gives, written in the registry or read at run time from the publisher's checksum
list (GENCODE's `MD5SUMS`).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit
from urllib.request import Request, urlopen

from tqdm import tqdm

from seq2expr import __version__
from seq2expr.errors import InputError
from seq2expr.inputs import read_text

log = logging.getLogger(__name__)

T = TypeVar("T")

HEX_LENGTHS = {"md5": 32, "sha256": 64}
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
CHUNK_SIZE = 1 << 20
USER_AGENT = f"seq2expr/{__version__} (fetch_inputs)"


class DownloadError(InputError):
    """A download that cannot be completed or verified; the message names the URL and the reason."""


class _Transient(Exception):
    """A failure worth retrying: server error, dropped connection, timeout."""


class _RangeNotSatisfiable(Exception):
    """HTTP 416 to a resume: the partial file is already complete (`total` equals it) or is bad."""

    def __init__(self, total: int | None) -> None:
        super().__init__(total)
        self.total = total


class _Restart(Exception):
    """The partial file cannot be continued; start again from byte 0 (not counted as a retry)."""


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    value: str

    @classmethod
    def parse(cls, algorithm: str, value: str, where: str | Path | None = None) -> Checksum:
        """Validate a hex digest so that a typo fails before a long download, not after it."""
        algorithm = algorithm.lower()
        if algorithm not in HEX_LENGTHS:
            raise InputError(f"unknown checksum algorithm {algorithm!r}; expected md5 or sha256", where)
        value = value.strip().lower()
        if not re.fullmatch(rf"[0-9a-f]{{{HEX_LENGTHS[algorithm]}}}", value):
            raise InputError(
                f"{algorithm} checksum {value!r} is not {HEX_LENGTHS[algorithm]} hexadecimal digits", where
            )
        return cls(algorithm, value)


@dataclass(frozen=True)
class ChecksumList:
    """A publisher's checksum file (`<hex>  <file name>` per line), read at fetch time."""

    url: str
    algorithm: str


@dataclass(frozen=True)
class Reference:
    name: str
    description: str
    url: str
    filename: str
    checksum: Checksum | None
    checksum_list: ChecksumList | None
    note: str


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff: float = 2.0
    timeout: float = 60.0


@dataclass(frozen=True)
class FetchResult:
    path: Path
    sha256: str
    verified_with: Checksum | None
    downloaded: bool


# ---------------------------------------------------------------------------------------------
# Registry


def load_registry(path: Path) -> dict[str, Reference]:
    """Read and validate the registry; every entry must say how its download is verified."""
    text = read_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg}", path, error.lineno) from None
    entries = document.get("references") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise InputError("expected an object with a non-empty 'references' object", path)
    return {name: _parse_entry(name, entry, path) for name, entry in entries.items()}


def _parse_entry(name: str, entry: Any, path: Path) -> Reference:
    where = f"{path} [{name}]"
    if not isinstance(entry, dict):
        raise InputError("expected an object", where)
    for key in ("description", "url"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise InputError(f"missing or empty {key!r}", where)
    if "checksum" not in entry:
        raise InputError("missing 'checksum' (give {algorithm, value}, or null with a 'note')", where)
    url = entry["url"]
    if urlsplit(url).scheme not in ("http", "https"):
        raise InputError(f"url {url!r} is not http(s)", where)
    filename = target_filename(url, entry.get("filename"), where)
    checksum = entry["checksum"]
    note = entry.get("note") or ""
    parsed: Checksum | None = None
    if checksum is None:
        if not note.strip():
            raise InputError("'checksum' is null but no 'note' says why", where)
    elif isinstance(checksum, dict):
        parsed = Checksum.parse(str(checksum.get("algorithm", "")), str(checksum.get("value", "")), where)
    else:
        raise InputError("'checksum' must be {algorithm, value} or null", where)
    listing = entry.get("checksum_list")
    checksum_list = None
    if listing is not None:
        if not isinstance(listing, dict) or not isinstance(listing.get("url"), str):
            raise InputError("'checksum_list' must be {url, algorithm}", where)
        algorithm = str(listing.get("algorithm", "")).lower()
        if algorithm not in HEX_LENGTHS:
            raise InputError(f"checksum_list algorithm {algorithm!r}: expected md5 or sha256", where)
        checksum_list = ChecksumList(listing["url"], algorithm)
    return Reference(name, entry["description"], url, filename, parsed, checksum_list, note)


def lookup(registry: Mapping[str, Reference], name: str) -> Reference:
    if name not in registry:
        raise InputError(f"unknown reference {name!r}; known references: {', '.join(sorted(registry))}")
    return registry[name]


def describe_registry(registry: Mapping[str, Reference]) -> str:
    """One tab-separated line per entry: name, file, how it is verified, description."""
    lines = []
    for name in sorted(registry):
        ref = registry[name]
        if ref.checksum is not None:
            how = ref.checksum.algorithm
        elif ref.checksum_list is not None:
            how = f"{ref.checksum_list.algorithm} (publisher list)"
        else:
            how = "none (sha256 recorded)"
        lines.append(f"{name}\t{ref.filename}\t{how}\t{ref.description}")
    return "\n".join(lines)


def target_filename(url: str, filename: str | None = None, where: str | Path | None = None) -> str:
    """The name to save `url` under: `filename` if given, else the URL's last path part; never a path."""
    name = filename if filename is not None else unquote(PurePosixPath(urlsplit(url).path).name)
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise InputError(f"cannot save {url} as {name!r}; give a plain file name", where)
    return name


def parse_checksum_list(text: str, filename: str, algorithm: str, source: str) -> Checksum:
    """Find `filename` in a `md5sum`/`sha256sum`-style list (`<hex>  <name>` or `<hex> *<name>`)."""
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split(maxsplit=1)
        if len(fields) == 2 and fields[1].strip().lstrip("*") == filename:
            return Checksum.parse(algorithm, fields[0], f"{source}, line {number}")
    raise DownloadError(f"{filename} is not listed in the publisher's checksum file", source)


# ---------------------------------------------------------------------------------------------
# Fetching


def fetch_reference(reference: Reference, outdir: Path, policy: RetryPolicy | None = None) -> FetchResult:
    """Fetch a registry entry into `outdir`, verified against its publisher checksum when there is one."""
    policy = policy or RetryPolicy()
    checksum = reference.checksum
    if checksum is None and reference.checksum_list is not None:
        listing = reference.checksum_list
        text = fetch_bytes(listing.url, policy).decode("utf-8", errors="replace")
        checksum = parse_checksum_list(text, reference.filename, listing.algorithm, listing.url)
        log.info("Publisher %s for %s read from %s", checksum.algorithm, reference.filename, listing.url)
    return fetch(reference.url, outdir / reference.filename, checksum, policy)


def fetch(url: str, dest: Path, checksum: Checksum | None, policy: RetryPolicy | None = None) -> FetchResult:
    """Download `url` to `dest`; `dest` appears only complete and (when a checksum is given) verified."""
    policy = policy or RetryPolicy()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")

    present = _verified_existing(dest, checksum)
    if present is not None:
        log.info("%s is already present and matches; not downloading again", dest)
        _write_sidecar(dest, present)
        return FetchResult(dest, present, checksum, downloaded=False)

    if checksum is None and part.exists():
        # Nothing could tell a stale partial file from another run apart from a good one.
        log.info("Discarding %s: without a checksum a partial file from an earlier run cannot be trusted", part)
        part.unlink()

    restarted = False
    while True:
        resumed = _download(url, part, policy)
        digests = file_digests(part, {"sha256"} | ({checksum.algorithm} if checksum else set()))
        if checksum is None or digests[checksum.algorithm] == checksum.value:
            break
        part.unlink()
        if resumed and not restarted:
            log.warning("%s: checksum mismatch on a resumed download; downloading again from the start", url)
            restarted = True
            continue
        raise DownloadError(
            f"{checksum.algorithm} mismatch: expected {checksum.value}, got {digests[checksum.algorithm]}"
            " (the download was discarded)",
            url,
        )

    os.replace(part, dest)
    _write_sidecar(dest, digests["sha256"])
    if checksum is None:
        log.warning(
            "%s was not verified against a publisher checksum; its sha256 %s is recorded in %s",
            dest,
            digests["sha256"],
            _sidecar(dest),
        )
    else:
        log.info("%s verified (%s %s)", dest, checksum.algorithm, checksum.value)
    return FetchResult(dest, digests["sha256"], checksum, downloaded=True)


def fetch_bytes(url: str, policy: RetryPolicy | None = None) -> bytes:
    """A small file (a checksum list) into memory, with the same retries as a download."""
    policy = policy or RetryPolicy()

    def attempt() -> bytes:
        with _open(url, {}, policy.timeout) as response:
            expected = _content_length(response)
            try:
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                raise _Transient(f"connection dropped: {error}") from None
        if expected is not None and len(body) < expected:
            raise _Transient(f"connection closed after {len(body)} of {expected} bytes")
        return body

    return _with_retries(attempt, policy, url)


def file_digests(path: Path, algorithms: set[str]) -> dict[str, str]:
    """Hex digests of a file, all algorithms in one read."""
    hashers = {name: hashlib.new(name) for name in sorted(algorithms)}
    with path.open("rb") as handle:
        while block := handle.read(CHUNK_SIZE):
            for hasher in hashers.values():
                hasher.update(block)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def _sidecar(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256")


def _write_sidecar(dest: Path, sha256: str) -> None:
    sidecar = _sidecar(dest)
    content = f"{sha256}  {dest.name}\n"
    if sidecar.exists() and sidecar.read_text(encoding="utf-8") == content:
        return
    temporary = sidecar.with_name(sidecar.name + ".part")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, sidecar)


def _verified_existing(dest: Path, checksum: Checksum | None) -> str | None:
    """The sha256 of `dest` when it can be kept: it matches the checksum, or (without one) its sidecar."""
    if not dest.is_file():
        return None
    if checksum is not None:
        digests = file_digests(dest, {"sha256", checksum.algorithm})
        if digests[checksum.algorithm] == checksum.value:
            return digests["sha256"]
        log.warning("%s exists but does not match the expected %s; downloading again", dest, checksum.algorithm)
        return None
    sidecar = _sidecar(dest)
    if not sidecar.is_file():
        return None
    recorded = sidecar.read_text(encoding="utf-8").split(maxsplit=1)[:1]
    sha256 = file_digests(dest, {"sha256"})["sha256"]
    return sha256 if recorded == [sha256] else None


@dataclass
class _State:
    """What the attempts of one download have learnt: whether bytes were resumed, the server's validator."""

    resumed: bool = False
    validator: str | None = None


def _download(url: str, part: Path, policy: RetryPolicy) -> bool:
    """Bring `part` to the complete body of `url`; return whether the result was stitched by a resume."""
    state = _State()
    name = part.name.removesuffix(".part")

    def attempt() -> None:
        while True:
            try:
                _attempt(url, part, state, policy.timeout, name)
                return
            except _Restart as why:
                log.info("%s: %s; restarting from the beginning", url, why)
                part.unlink(missing_ok=True)
                state.resumed = False

    _with_retries(attempt, policy, url)
    return state.resumed


def _attempt(url: str, part: Path, state: _State, timeout: float, name: str) -> None:
    offset = part.stat().st_size if part.exists() else 0
    headers = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if state.validator:
            headers["If-Range"] = state.validator
    try:
        response = _open(url, headers, timeout)
    except _RangeNotSatisfiable as refusal:
        if refusal.total == offset:
            state.resumed = True  # the partial file from before already holds the whole body
            return
        raise _Restart(f"the server cannot continue a {offset}-byte partial file") from None
    with response:
        if offset and response.status == 206:
            start = _start_from_content_range(response.headers.get("Content-Range"))
            if start != offset:
                raise _Restart(f"the server resumed at byte {start}, not {offset}")
            mode = "ab"
            state.resumed = True
            log.info("%s: resuming at byte %d", url, offset)
        else:
            if offset:
                log.info("%s: the server does not resume downloads; restarting from the beginning", url)
            mode, offset = "wb", 0
            state.resumed = False
        etag = response.headers.get("ETag")
        state.validator = etag if etag and not etag.startswith("W/") else response.headers.get("Last-Modified")
        expected = _content_length(response)
        total = None if expected is None else offset + expected
        received = 0
        bar = tqdm(
            total=total,
            initial=offset,
            desc=name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=not sys.stderr.isatty(),
            leave=False,
        )
        with bar, part.open(mode) as out:
            while True:
                try:
                    chunk = response.read(CHUNK_SIZE)
                except (OSError, http.client.HTTPException) as error:
                    raise _Transient(f"connection dropped after {offset + received} bytes: {error}") from None
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received < expected:
        raise _Transient(f"connection closed after {offset + received} of {total} bytes")


def _open(url: str, headers: Mapping[str, str], timeout: float) -> http.client.HTTPResponse:
    """Open `url`; server errors and network failures become `_Transient`, other HTTP errors final."""
    request = Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers})
    try:
        response: http.client.HTTPResponse = urlopen(request, timeout=timeout)
        return response
    except HTTPError as error:
        error.close()
        if error.code in RETRYABLE_STATUS:
            raise _Transient(f"HTTP {error.code} {error.reason}") from None
        if error.code == 416 and "Range" in headers:
            raise _RangeNotSatisfiable(_total_from_content_range(error.headers.get("Content-Range"))) from None
        raise DownloadError(f"HTTP {error.code} {error.reason}", url) from None
    except (URLError, OSError, http.client.HTTPException) as error:
        reason = error.reason if isinstance(error, URLError) else error
        raise _Transient(f"cannot connect: {reason}") from None


def _with_retries(action: Callable[[], T], policy: RetryPolicy, url: str) -> T:
    failures = 0
    while True:
        try:
            return action()
        except _Transient as error:
            failures += 1
            if failures > policy.retries:
                raise DownloadError(f"giving up after {failures} attempt(s): {error}", url) from None
            delay = policy.backoff * 2 ** (failures - 1)
            log.warning(
                "%s: %s; retrying in %.1f s (attempt %d of %d)", url, error, delay, failures + 1, policy.retries + 1
            )
            time.sleep(delay)


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _start_from_content_range(value: str | None) -> int | None:
    match = re.match(r"\s*bytes\s+(\d+)-\d+/(?:\d+|\*)", value or "")
    return int(match.group(1)) if match else None


def _total_from_content_range(value: str | None) -> int | None:
    match = re.match(r"\s*bytes\s+(?:\*|\d+-\d+)/(\d+)", value or "")
    return int(match.group(1)) if match else None
