"""fetch_inputs against a real HTTP server on 127.0.0.1 that misbehaves on purpose.

The server (http.server in a thread) serves bytes generated here, and per path can fail with
500s, cut the body short, ignore Range, or stall; every request it gets is recorded so the tests
can check what the client asked for (resume offsets, no retry after a 404, nothing re-fetched).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pooch
import pytest
from conftest import REPO, assert_one_line_error, run_script

from seq2expr.errors import InputError
from seq2expr.io.fetch import (
    Checksum,
    DownloadError,
    FetchRequest,
    RetryPolicy,
    fetch,
    fetch_reference,
    file_sha256,
    load_registry,
    lookup,
    parse_checksum_list,
    run,
)

FAST = RetryPolicy(retries=2, timeout=5.0)
DATA = random.Random(20240601).randbytes(300_000)  # a few chunks' worth of incompressible bytes
SHA256 = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()


@dataclass
class Behaviour:
    """How the server answers one path; counters run down as requests arrive."""

    body: bytes = DATA
    errors: int = 0  # answer this many requests with 500 first
    status: int | None = None  # always answer with this status (e.g. 404, 500)
    truncate: int = 0  # cut this many responses short ...
    truncate_at: int = 100_000  # ... after this many body bytes (Content-Length still says all)
    ranges: bool = True  # honour "Range: bytes=N-"
    stall: float = 0.0  # first request: wait this long before answering
    etag: str = '"v1"'
    replaced_by: bytes | None = None  # after the first cut response, serve these bytes under a new ETag


@dataclass
class Server:
    base: str
    behaviours: dict[str, Behaviour]
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def ranges(self, path: str) -> list[str | None]:
        return [rng for seen, rng in self.requests if seen == path]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that timed out and hung up is part of the test, not an error."""


@pytest.fixture
def server() -> Iterator[Server]:
    behaviours: dict[str, Behaviour] = {}
    state = Server("", behaviours)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with lock:
                state.requests.append((self.path, self.headers.get("Range")))
                behaviour = behaviours.get(self.path)
                if behaviour is None:
                    self.send_error(404)
                    return
                stall, behaviour.stall = behaviour.stall, 0.0
                fail = behaviour.status or (500 if behaviour.errors > 0 else None)
                behaviour.errors = max(0, behaviour.errors - 1)
                cut = behaviour.truncate > 0
                behaviour.truncate = max(0, behaviour.truncate - 1)
                body, etag = behaviour.body, behaviour.etag
                if cut and behaviour.replaced_by is not None:
                    behaviour.body, behaviour.etag, behaviour.replaced_by = behaviour.replaced_by, '"v2"', None
            if stall:
                time.sleep(stall)
            if fail:
                self.send_error(fail)
                return
            start = 0
            requested = self.headers.get("Range")
            if self.headers.get("If-Range") not in (None, etag):
                requested = None  # RFC 9110: the file changed since the client's copy, send it whole
            if behaviour.ranges and requested and requested.startswith("bytes="):
                start = int(requested.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(payload[: behaviour.truncate_at] if cut else payload)

    httpd = _QuietServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def no_waiting_between_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """pooch waits 1 s, 2 s, … between attempts; the tests count attempts, they need not wait."""
    monkeypatch.setattr(pooch.core, "time", SimpleNamespace(sleep=lambda seconds: None))


def sha256_checksum() -> Checksum:
    return Checksum("sha256", SHA256)


def assert_done(dest: Path) -> None:
    """The final file is the right bytes, its sidecar is right, and no partial file is left."""
    assert dest.read_bytes() == DATA
    assert dest.with_name(dest.name + ".sha256").read_text() == f"{SHA256}  {dest.name}\n"
    assert not dest.with_name(dest.name + ".part").exists()


# --- downloads -------------------------------------------------------------------------------


def test_good_file_is_verified_and_pinned(server: Server, tmp_path: Path) -> None:
    server.behaviours["/good.bin"] = Behaviour()
    result = fetch(server.url("/good.bin"), tmp_path / "good.bin", sha256_checksum(), FAST)
    assert result.downloaded and result.sha256 == SHA256 and result.verified_with == sha256_checksum()
    assert_done(tmp_path / "good.bin")
    assert server.ranges("/good.bin") == [None]


def test_md5_checksum_is_accepted(server: Server, tmp_path: Path) -> None:
    server.behaviours["/good.bin"] = Behaviour()
    fetch(server.url("/good.bin"), tmp_path / "good.bin", Checksum("md5", MD5), FAST)
    assert_done(tmp_path / "good.bin")


def test_wrong_checksum_leaves_no_file(server: Server, tmp_path: Path) -> None:
    server.behaviours["/good.bin"] = Behaviour()
    wrong = Checksum("sha256", "0" * 64)
    with pytest.raises(DownloadError, match=f"sha256 mismatch: expected {'0' * 64}, got {SHA256}"):
        fetch(server.url("/good.bin"), tmp_path / "good.bin", wrong, FAST)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert len(server.requests) == 3  # pooch retries a mismatch: it may be corruption on the way


def test_server_error_then_success(server: Server, tmp_path: Path) -> None:
    server.behaviours["/flaky.bin"] = Behaviour(errors=2)
    fetch(server.url("/flaky.bin"), tmp_path / "flaky.bin", sha256_checksum(), FAST)
    assert_done(tmp_path / "flaky.bin")
    assert len(server.ranges("/flaky.bin")) == 3


def test_persistent_server_error_is_a_clear_error(server: Server, tmp_path: Path) -> None:
    server.behaviours["/broken.bin"] = Behaviour(status=500)
    with pytest.raises(DownloadError, match=r"/broken\.bin: giving up after 3 attempt\(s\): HTTP 500"):
        fetch(server.url("/broken.bin"), tmp_path / "broken.bin", sha256_checksum(), FAST)
    assert not (tmp_path / "broken.bin").exists()
    assert len(server.requests) == 3


def test_not_found_is_not_retried(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(server.url("/missing.bin"), tmp_path / "missing.bin", sha256_checksum(), FAST)
    assert len(server.requests) == 1
    assert not (tmp_path / "missing.bin").exists()


def test_truncated_transfer_is_downloaded_again_whole(server: Server, tmp_path: Path) -> None:
    """No resume (pooch downloads whole files): the cut transfer is discarded and fetched again."""
    server.behaviours["/cut.bin"] = Behaviour(truncate=1, truncate_at=123_457)
    fetch(server.url("/cut.bin"), tmp_path / "cut.bin", sha256_checksum(), FAST)
    assert_done(tmp_path / "cut.bin")
    assert server.ranges("/cut.bin") == [None, None]


def test_file_changed_between_attempts_is_not_spliced(server: Server, tmp_path: Path) -> None:
    new = bytes(reversed(DATA))
    server.behaviours["/moving.bin"] = Behaviour(truncate=1, truncate_at=100_000, replaced_by=new)
    result = fetch(server.url("/moving.bin"), tmp_path / "moving.bin", None, FAST)
    # Nothing of the first, cut transfer is kept: the second attempt is the new file, whole.
    assert (tmp_path / "moving.bin").read_bytes() == new
    assert result.sha256 == hashlib.sha256(new).hexdigest()
    assert server.ranges("/moving.bin") == [None, None]


def test_every_attempt_truncated_fails_and_never_shows_a_final_file(server: Server, tmp_path: Path) -> None:
    server.behaviours["/cut.bin"] = Behaviour(truncate=10, truncate_at=1_000, ranges=False)
    with pytest.raises(DownloadError, match=r"giving up after 3 attempt\(s\): connection closed before the end"):
        fetch(server.url("/cut.bin"), tmp_path / "cut.bin", sha256_checksum(), FAST)
    assert list(tmp_path.iterdir()) == []  # neither the final name nor a temporary file is left


def test_stalled_server_times_out_and_is_retried(server: Server, tmp_path: Path) -> None:
    server.behaviours["/slow.bin"] = Behaviour(stall=1.0)
    policy = RetryPolicy(retries=1, timeout=0.2)
    fetch(server.url("/slow.bin"), tmp_path / "slow.bin", sha256_checksum(), policy)
    assert_done(tmp_path / "slow.bin")
    assert len(server.requests) == 2


def test_verified_file_already_present_is_not_fetched_again(server: Server, tmp_path: Path) -> None:
    server.behaviours["/good.bin"] = Behaviour()
    fetch(server.url("/good.bin"), tmp_path / "good.bin", sha256_checksum(), FAST)
    again = fetch(server.url("/good.bin"), tmp_path / "good.bin", sha256_checksum(), FAST)
    assert not again.downloaded
    assert len(server.requests) == 1
    assert_done(tmp_path / "good.bin")


def test_wrong_file_already_present_is_replaced(server: Server, tmp_path: Path) -> None:
    server.behaviours["/good.bin"] = Behaviour()
    (tmp_path / "good.bin").write_bytes(b"an older, different file")
    result = fetch(server.url("/good.bin"), tmp_path / "good.bin", sha256_checksum(), FAST)
    assert result.downloaded
    assert_done(tmp_path / "good.bin")


def test_without_checksum_sha256_is_recorded_and_said(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.behaviours["/plain.bin"] = Behaviour()
    with caplog.at_level(logging.WARNING, logger="seq2expr.io.fetch"):
        result = fetch(server.url("/plain.bin"), tmp_path / "plain.bin", None, FAST)
    assert result.verified_with is None and result.sha256 == SHA256
    assert_done(tmp_path / "plain.bin")
    assert "not verified against a publisher checksum" in caplog.text
    # A second run trusts the file through the sha256 it recorded.
    assert not fetch(server.url("/plain.bin"), tmp_path / "plain.bin", None, FAST).downloaded
    assert len(server.requests) == 1


# --- registry --------------------------------------------------------------------------------


def write_registry(path: Path, references: dict[str, dict[str, object]]) -> Path:
    path.write_text(json.dumps({"references": references}), encoding="utf-8")
    return path


def test_registry_reference_verified_with_publisher_checksum_list(server: Server, tmp_path: Path) -> None:
    listing = f"{'f' * 32}  other.gtf.gz\n{MD5}  data.fa.gz\n".encode()
    server.behaviours["/release/data.fa.gz"] = Behaviour()
    server.behaviours["/release/MD5SUMS"] = Behaviour(body=listing, etag='"list"')
    registry = load_registry(
        write_registry(
            tmp_path / "registry.json",
            {
                "genome": {
                    "description": "test genome",
                    "url": server.url("/release/data.fa.gz"),
                    "checksum": None,
                    "checksum_list": {"url": server.url("/release/MD5SUMS"), "algorithm": "md5"},
                    "note": "publisher lists md5 in MD5SUMS",
                }
            },
        )
    )
    result = fetch_reference(lookup(registry, "genome"), tmp_path / "out", FAST)
    assert result.verified_with == Checksum("md5", MD5)
    assert result.path == tmp_path / "out" / "data.fa.gz"
    assert_done(result.path)


def test_file_missing_from_publisher_checksum_list_is_an_error(server: Server, tmp_path: Path) -> None:
    server.behaviours["/MD5SUMS"] = Behaviour(body=f"{MD5}  something_else.gz\n".encode())
    registry = load_registry(
        write_registry(
            tmp_path / "registry.json",
            {
                "x": {
                    "description": "d",
                    "url": server.url("/data.gz"),
                    "checksum": None,
                    "checksum_list": {"url": server.url("/MD5SUMS"), "algorithm": "md5"},
                    "note": "n",
                }
            },
        )
    )
    with pytest.raises(DownloadError, match=r"MD5SUMS: data\.gz is not listed"):
        fetch_reference(registry["x"], tmp_path, FAST)
    assert server.ranges("/data.gz") == []


def test_checksum_list_parsing() -> None:
    text = f"{MD5}  a.gz\n{'e' * 32} *b.gz\n"
    assert parse_checksum_list(text, "b.gz", "md5", "MD5SUMS") == Checksum("md5", "e" * 32)
    with pytest.raises(InputError, match=r"c\.gz is not listed"):
        parse_checksum_list(text, "c.gz", "md5", "MD5SUMS")


def test_unknown_reference_lists_the_known_names(tmp_path: Path) -> None:
    registry = load_registry(REPO / "assets" / "references.json")
    with pytest.raises(InputError) as caught:
        lookup(registry, "hg19")
    assert "unknown reference 'hg19'" in str(caught.value)
    for name in registry:
        assert name in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"description": "d", "checksum": None, "note": "n"}, "missing or empty 'url'"),
        ({"description": "d", "url": "https://x/y.gz"}, "missing 'checksum'"),
        ({"description": "d", "url": "https://x/y.gz", "checksum": None}, "null but no 'note'"),
        ({"description": "d", "url": "https://x/y.gz", "checksum": {"algorithm": "md5", "value": "12"}}, "not 32"),
        ({"description": "d", "url": "https://x/y.gz", "checksum": {"algorithm": "crc", "value": "1"}}, "crc"),
        ({"description": "d", "url": "ftp://x/y.gz", "checksum": None, "note": "n"}, "not http"),
        ({"description": "d", "url": "https://x/", "checksum": None, "note": "n"}, "plain file name"),
    ],
)
def test_bad_registry_entry_is_rejected(tmp_path: Path, entry: dict[str, object], message: str) -> None:
    path = write_registry(tmp_path / "registry.json", {"bad": entry})
    with pytest.raises(InputError, match=message) as caught:
        load_registry(path)
    assert "[bad]" in str(caught.value)


def test_registry_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text('{\n  "references": {\n    "a": oops\n  }\n}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"registry\.json, line 3: not valid JSON"):
        load_registry(path)


def test_bundled_registry_entries_are_complete() -> None:
    """Every entry has an https URL and a file name matching it, and a checksum or a reason why not."""
    raw = json.loads((REPO / "assets" / "references.json").read_text(encoding="utf-8"))["references"]
    registry = load_registry(REPO / "assets" / "references.json")
    assert {"grch38_primary_assembly", "gencode_v26_gtf", "gtex_v8_gene_median_tpm"} <= set(registry)
    for name, ref in registry.items():
        assert ref.url.startswith("https://"), name
        assert ref.url.endswith("/" + ref.filename), name
        assert ref.description.strip(), name
        assert "checksum" in raw[name], name
        if ref.checksum is None:
            assert raw[name]["checksum"] is None and ref.note.strip(), name
    genome, gtf = registry["grch38_primary_assembly"], registry["gencode_v26_gtf"]
    assert genome.filename == "GRCh38.primary_assembly.genome.fa.gz" and "/release_26/" in genome.url
    assert gtf.filename == "gencode.v26.annotation.gtf.gz" and "/release_26/" in gtf.url
    assert registry["gtex_v8_gene_median_tpm"].filename == (
        "GTEx_Analysis_2017-06-05_v8_RNASeQCv1.1.9_gene_median_tpm.gct.gz"
    )


# --- the step's function and the command ------------------------------------------------------


def test_run_takes_exactly_one_source_and_fetches_it(server: Server, tmp_path: Path) -> None:
    server.behaviours["/good.bin"] = Behaviour()
    outdir = tmp_path / "out"
    request = FetchRequest(outdir=outdir, registry=tmp_path / "unused.json", url=server.url("/good.bin"),
                           sha256=SHA256, policy=FAST)  # fmt: skip
    result = run(request)
    assert result.path == outdir / "good.bin" and result.sha256 == SHA256 == file_sha256(result.path)
    with pytest.raises(InputError, match="give exactly one of --reference NAME or --url URL"):
        run(FetchRequest(outdir=outdir, registry=tmp_path / "unused.json"))
    with pytest.raises(InputError, match="needs exactly one of --sha256 HEX or --md5 HEX"):
        run(FetchRequest(outdir=outdir, registry=tmp_path / "unused.json", url=server.url("/good.bin")))


def test_file_sha256_streams_a_file_larger_than_a_block(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(DATA * 5)  # 1.5 MB, more than hashlib.file_digest's buffer
    assert file_sha256(path) == hashlib.sha256(DATA * 5).hexdigest()


# --- the command -----------------------------------------------------------------------------


def test_cli_downloads_url_and_prints_where(server: Server, tmp_path: Path) -> None:
    server.behaviours["/good.bin"] = Behaviour(errors=1)
    outdir = tmp_path / "out"
    result = run_script(
        "fetch_inputs.py", "--url", server.url("/good.bin"), "--sha256", SHA256.upper(),
        "--outdir", outdir,
    )  # fmt: skip
    assert result.stdout == f"{outdir / 'good.bin'}\n"
    assert_done(outdir / "good.bin")


def test_cli_reference_from_registry(server: Server, tmp_path: Path) -> None:
    server.behaviours["/expr.gct.gz"] = Behaviour()
    registry = write_registry(
        tmp_path / "registry.json",
        {
            "expr": {
                "description": "d",
                "url": server.url("/expr.gct.gz"),
                "checksum": {"algorithm": "md5", "value": MD5},
            }
        },
    )
    result = run_script("fetch_inputs.py", "--reference", "expr", "--registry", registry, "--outdir", tmp_path / "o")
    assert result.stdout.strip() == str(tmp_path / "o" / "expr.gct.gz")
    assert_done(tmp_path / "o" / "expr.gct.gz")


def test_cli_wrong_checksum_is_one_line_and_non_zero(server: Server, tmp_path: Path) -> None:
    server.behaviours["/good.bin"] = Behaviour()
    result = run_script(
        "fetch_inputs.py", "--url", server.url("/good.bin"), "--md5", "0" * 32, "--outdir", tmp_path,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "md5 mismatch" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_empty_download_without_checksum_stops_and_saves_nothing(server: Server, tmp_path: Path) -> None:
    """A 0-byte answer to a reference without a publisher checksum would be pinned and trusted; it stops here."""
    server.behaviours["/empty.gtf.gz"] = Behaviour(body=b"")
    registry = write_registry(
        tmp_path / "registry.json",
        {"gtf": {"description": "d", "url": server.url("/empty.gtf.gz"), "checksum": None, "note": "none given"}},
    )
    outdir = tmp_path / "o"
    result = run_script(
        "fetch_inputs.py", "--reference", "gtf", "--registry", registry, "--outdir", outdir, check=False
    )
    assert_one_line_error(result, f"{server.url('/empty.gtf.gz')}: the server sent an empty file (0 bytes)")
    assert list(outdir.iterdir()) == []


def test_cli_persistent_server_error(server: Server, tmp_path: Path) -> None:
    server.behaviours["/broken.bin"] = Behaviour(status=503)
    result = run_script(
        "fetch_inputs.py", "--url", server.url("/broken.bin"), "--sha256", SHA256, "--outdir", tmp_path,
        "--retries", "1", check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "giving up after 2 attempt(s): HTTP 503" in result.stderr.strip().splitlines()[-1]


def test_cli_list_and_unknown_reference() -> None:
    listed = run_script("fetch_inputs.py", "--list")
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert {"grch38_primary_assembly", "gencode_v26_gtf", "gtex_v8_gene_median_tpm"} <= set(names)
    unknown = run_script("fetch_inputs.py", "--reference", "hg19", check=False)
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert "unknown reference 'hg19'; known references: " in unknown.stderr
    assert all(name in unknown.stderr for name in names)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "http://127.0.0.1:9/x.gz"], "needs exactly one of --sha256 HEX or --md5 HEX"),
        (["--url", "http://127.0.0.1:9/x.gz", "--sha256", "abc"], "is not 64 hexadecimal digits"),
        ([], "give exactly one of --reference NAME or --url URL"),
        (["--reference", "gencode_v26_gtf", "--md5", "0" * 32], "go with --url"),
    ],
)
def test_cli_bad_options(args: list[str], message: str) -> None:
    result = run_script("fetch_inputs.py", *args, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert message in result.stderr
