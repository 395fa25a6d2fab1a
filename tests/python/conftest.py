"""Shared fixtures: the bundled synthetic data run through the real data steps, and the shared
development data (real pituitary windows, DNABERT-2 parity fixture) when it is present."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
TEST_DATA = REPO / "assets" / "test_data"
SHARED = REPO.parent / "shared"
#: Window of the test profile: 500 bp up + TSS + 500 bp down.
TEST_UPSTREAM = 500
TEST_DOWNSTREAM = 500


def run_script(script: str, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a bin/ command as a user would, capturing its output."""
    command = [sys.executable, str(BIN / script), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{script} failed ({result.returncode}):\n{result.stderr}")
    return result


def assert_one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    """The command failed with exactly one `Error: …` line holding `message`, and no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr


def shared_path(*parts: str) -> Path:
    """A path under the shared development folder; skip the test when it is absent (users' clones)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared development data not available ({Path('..', 'shared', *parts)} is absent)")
    return path


@pytest.fixture(scope="session")
def test_windows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with tss_windows.fa/.tsv and extract_ledger.tsv of the bundled genome (500 + 1 + 500)."""
    outdir = tmp_path_factory.mktemp("windows")
    run_script(
        "extract_tss_windows.py",
        "--genome", TEST_DATA / "genome.fa.gz",
        "--annotation", TEST_DATA / "annotation.gtf.gz",
        "--upstream", str(TEST_UPSTREAM),
        "--downstream", str(TEST_DOWNSTREAM),
        "--outdir", outdir,
    )  # fmt: skip
    return outdir


@pytest.fixture(scope="session")
def synthetic_dataset(test_windows: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dataset.tsv.gz of the bundled data, Pituitary, DExTER split with 10 % of train as val."""
    outdir = tmp_path_factory.mktemp("dataset")
    run_script(
        "build_dataset.py",
        "--sequences", test_windows / "tss_windows.fa",
        "--windows", test_windows / "tss_windows.tsv",
        "--expression", TEST_DATA / "expression.gct.gz",
        "--tissue", "Pituitary",
        "--val-fraction", "0.1",
        "--outdir", outdir,
    )  # fmt: skip
    return outdir / "dataset.tsv.gz"
