"""Download reference files so that a finished file is always a verified one.

pooch does the downloading: streaming over HTTP(S) with a progress bar, the checksum check
(md5 or sha256), the atomic write (a temporary file in the target folder, moved to its name
only once it matches) and the retries (pooch waits 1 s, 2 s, … between attempts). This module
adds what pooch lacks: a permanent HTTP error (404, 403, …) fails at once instead of being
retried; a file without a publisher checksum is pinned by the sha256 written beside it as
`<name>.sha256` (`sha256sum -c` format) and trusted on a later run only through it; every failure
becomes one `DownloadError` naming the URL.

The registry (`assets/references.json`) names the known inputs: URL, file name and the checksum
its publisher gives, written in the registry or read at run time from the publisher's checksum
list (GENCODE's `MD5SUMS`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import pooch
import requests

from seq2expr import __version__
from seq2expr.errors import InputError
from seq2expr.io.files import file_sha256, read_text

log = logging.getLogger(__name__)

HEX_LENGTHS = {"md5": 32, "sha256": 64}
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
CHUNK_SIZE = 1 << 20
USER_AGENT = f"seq2expr/{__version__} (fetch_inputs)"


class DownloadError(InputError):
    """A download that cannot be completed or verified; the message names the URL and the reason."""


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
    """Attempts after the first one, and seconds to wait for the server before an attempt fails."""

    retries: int = 3
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
    present = _verified_existing(dest, checksum)
    if present is not None:
        log.info("%s is already present and matches; not downloading again", dest)
        _write_sidecar(dest, present)
        return FetchResult(dest, present, checksum, downloaded=False)
    dest.unlink(missing_ok=True)  # unverifiable or wrong: pooch must not keep it
    _download(url, dest, checksum, policy)
    check_not_empty(dest, url)
    sha256 = file_sha256(dest)
    _write_sidecar(dest, sha256)
    if checksum is None:
        log.warning(
            "%s was not verified against a publisher checksum; its sha256 %s is recorded in %s",
            dest,
            sha256,
            _sidecar(dest),
        )
    else:
        log.info("%s verified (%s %s)", dest, checksum.algorithm, checksum.value)
    return FetchResult(dest, sha256, checksum, downloaded=True)


def check_not_empty(dest: Path, url: str) -> None:
    """Refuse a download of 0 bytes (a server answering 200 with nothing, a publisher's placeholder).

    Without a publisher checksum it would be pinned by its sidecar and trusted on every later run,
    and the step reading it would fail on an empty file far from the download that caused it.
    """
    if dest.stat().st_size == 0:
        dest.unlink()
        raise DownloadError("the server sent an empty file (0 bytes); nothing was saved", url)


@dataclass(frozen=True)
class FetchRequest:
    """What bin/fetch_inputs.py asks for: a registry reference, or a URL with its publisher's checksum."""

    outdir: Path
    registry: Path
    reference: str | None = None
    url: str | None = None
    sha256: str | None = None
    md5: str | None = None
    filename: str | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)


def run(request: FetchRequest) -> FetchResult:
    """The FETCH_INPUTS step: check that the request names exactly one source, then fetch and verify it."""
    if request.reference is not None and request.url is None:
        if request.sha256 or request.md5 or request.filename:
            raise InputError("--sha256, --md5 and --filename go with --url; a reference brings its own")
        return fetch_reference(
            lookup(load_registry(request.registry), request.reference), request.outdir, request.policy
        )
    if request.url is not None and request.reference is None:
        if (request.sha256 is None) == (request.md5 is None):
            raise InputError("--url needs exactly one of --sha256 HEX or --md5 HEX (the publisher's checksum)")
        checksum = (
            Checksum.parse("sha256", request.sha256) if request.sha256 else Checksum.parse("md5", request.md5 or "")
        )
        dest = request.outdir / target_filename(request.url, request.filename)
        return fetch(request.url, dest, checksum, request.policy)
    raise InputError("give exactly one of --reference NAME or --url URL (--list shows the references)")


def fetch_bytes(url: str, policy: RetryPolicy | None = None) -> bytes:
    """A small file (a checksum list) into memory, with the same retries as a download."""
    policy = policy or RetryPolicy()
    with tempfile.TemporaryDirectory() as folder:
        dest = Path(folder) / (PurePosixPath(urlsplit(url).path).name or "download")
        _download(url, dest, None, policy)
        return dest.read_bytes()


class _Downloader(pooch.HTTPDownloader):
    """pooch's HTTP downloader, except that a permanent HTTP error is final rather than retried."""

    def __call__(self, url: str, output_file: Any, pooch_object: Any, check_only: bool | None = False) -> Any:
        try:
            return super().__call__(url, output_file, pooch_object, check_only)
        except requests.exceptions.HTTPError as error:
            response = error.response
            if response is not None and response.status_code not in RETRYABLE_STATUS:
                raise DownloadError(f"HTTP {response.status_code} {response.reason}", url) from None
            raise


def _download(url: str, dest: Path, checksum: Checksum | None, policy: RetryPolicy) -> None:
    """One file through pooch (retries, checksum, atomic move), its failures as one DownloadError."""
    _route_pooch_logging()
    known_hash = None if checksum is None else f"{checksum.algorithm}:{checksum.value}"
    store = pooch.create(
        path=dest.parent,
        base_url="",
        registry={dest.name: known_hash},
        urls={dest.name: url},
        retry_if_failed=policy.retries,
    )
    downloader = _Downloader(
        progressbar=sys.stderr.isatty(),
        timeout=policy.timeout,
        chunk_size=CHUNK_SIZE,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )
    attempts = policy.retries + 1
    try:
        store.fetch(dest.name, downloader=downloader)
    except ValueError as error:  # pooch: the downloaded file's hash does not match
        assert checksum is not None
        got = re.search(r"but got ([0-9a-f]+)", str(error))
        raise DownloadError(
            f"{checksum.algorithm} mismatch: expected {checksum.value}, got {got.group(1) if got else 'another'}"
            f" in each of {attempts} attempt(s) (the downloads were discarded)",
            url,
        ) from None
    except requests.exceptions.RequestException as error:
        raise DownloadError(f"giving up after {attempts} attempt(s): {_reason(error)}", url) from None


def _reason(error: requests.exceptions.RequestException) -> str:
    """What went wrong with the last attempt, in a few words."""
    if isinstance(error, requests.exceptions.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code} {error.response.reason}"
    if isinstance(error, requests.exceptions.Timeout):
        return "the server did not answer in time"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return f"connection closed before the end of the file ({error})"
    return f"cannot connect ({error})"


def _route_pooch_logging() -> None:
    """pooch prints to stderr through a handler of its own; send its records through ours instead."""
    logger = pooch.get_logger()
    logger.handlers.clear()
    logger.parent = logging.getLogger(__name__)
    logger.propagate = True


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
    sha256 = file_sha256(dest)
    if checksum is not None:
        digest = sha256 if checksum.algorithm == "sha256" else pooch.file_hash(str(dest), alg=checksum.algorithm)
        if digest == checksum.value:
            return sha256
        log.warning("%s exists but does not match the expected %s; downloading again", dest, checksum.algorithm)
        return None
    sidecar = _sidecar(dest)
    if not sidecar.is_file():
        return None
    recorded = sidecar.read_text(encoding="utf-8").split(maxsplit=1)[:1]
    return sha256 if recorded == [sha256] else None
