"""Shared fixtures: the bundled synthetic data run through the real data steps, and the shared
development data (real pituitary windows, DNABERT-2 parity fixture) when it is present."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# Under pytest-xdist (`-n`, set in pyproject.toml) the workers share the machine's cores: each one's
# PyTorch, OpenMP and BLAS get one thread, as a busy 2-core runner needs (two spinning threads per
# worker are several times slower there). Set before numpy and torch are imported, which read these
# once; a command that takes --threads still sets its own count, and a run without -n keeps the defaults.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

import click
import numpy as np
import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
TEST_DATA = REPO / "assets" / "test_data"
SHARED = REPO.parent / "shared"
#: Window of the test profile: 500 bp up + TSS + 500 bp down.
TEST_UPSTREAM = 500
TEST_DOWNSTREAM = 500


def correlated(rng: np.random.Generator, n: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """A bivariate normal sample with correlation rho."""
    x = rng.normal(size=n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)


def trio(rng: np.random.Generator, n: int, rho_a: float, rho_b: float, rho_ab: float) -> np.ndarray:
    """Observed, model A, model B from a trivariate normal with the given correlations: shape (3, n)."""
    cov = np.array([[1, rho_a, rho_b], [rho_a, 1, rho_ab], [rho_b, rho_ab, 1]])
    return rng.multivariate_normal(np.zeros(3), cov, size=n).T


def run_script(script: str, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a bin/ command as a user would, capturing its output."""
    command = [sys.executable, str(BIN / script), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{script} failed ({result.returncode}):\n{result.stderr}")
    return result


#: A line the commands' logging writes (`HH:MM:SS LEVEL name: message`, see seq2expr.cli.LOG_FORMAT).
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


class Outcome(Protocol):
    """What a finished command leaves: a subprocess result, or the in-process one of test_bad_inputs."""

    returncode: int
    stderr: str


@functools.cache
def load_command(script: str) -> click.Command:
    """The click command of a bin/ script, imported from its file (bin/ is not a package)."""
    spec = importlib.util.spec_from_file_location(Path(script).stem, BIN / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    command: click.Command = module.main
    return command


@dataclass(frozen=True)
class Ran:
    """A command run in-process: what a user would see of it."""

    returncode: int
    stdout: str
    stderr: str


def invoke(script: str, *args: str | Path, **options: Any) -> Ran:
    """Run a bin/ command in this process (no interpreter start-up: fast enough for long tables of cases).

    An exception escaping the command fails the test with its traceback: the error boundary must
    turn every one into an `Error:` line."""
    result = CliRunner().invoke(load_command(script), [str(arg) for arg in args], catch_exceptions=False, **options)
    return Ran(result.exit_code, result.stdout, result.stderr)


def assert_one_line_error(result: Outcome, message: str) -> None:
    """The command failed with exactly one `Error: …` line holding `message` and nothing else on stderr
    but log lines: no traceback, no usage block, no `Aborted!`."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    other = [line for line in result.stderr.splitlines() if not LOG_LINE.match(line)]
    assert len(other) == 1 and other[0].startswith("Error: ") and message in other[0], result.stderr


@functools.cache
def nextflow_launcher() -> str:
    """The Nextflow the project's checks run: $SEQ2EXPR_NXF, else the one .ci/setup-nextflow.sh assembles
    (once, then cached). Never a bare `nextflow` from PATH: that may be the pip launcher, which
    downloads Nextflow on first use and fails offline. Without Java (and outside CI) the caller skips."""
    if os.environ.get("SEQ2EXPR_NXF"):
        return os.environ["SEQ2EXPR_NXF"]
    if shutil.which("java") is None and os.environ.get("CI") != "true":
        pytest.skip("no Java here: the Nextflow checks run in CI (.ci/setup-nextflow.sh)")
    result = subprocess.run(
        ["bash", str(REPO / ".ci" / "setup-nextflow.sh")], capture_output=True, text=True, check=False, timeout=1800
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        pytest.fail(f".ci/setup-nextflow.sh gave no Nextflow launcher:\n{result.stderr[-2000:]}")
    return lines[-1]


def shared_path(*parts: str) -> Path:
    """A path under the shared development folder. Absent, the test skips in a user's clone and
    fails in CI (CI=true, as `.ci/run` runs): there a missing ../shared must not pass silently."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"shared development data not available ({Path('..', 'shared', *parts)} is absent)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true needs it")
        pytest.skip(message)
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


def build_bundled_dataset(test_windows: Path, outdir: Path, *options: str | Path) -> Path:
    """Run build_dataset.py on the bundled windows and expression (Pituitary) with `options`: the dataset."""
    run_script(
        "build_dataset.py",
        "--sequences", test_windows / "tss_windows.fa",
        "--windows", test_windows / "tss_windows.tsv",
        "--expression", TEST_DATA / "expression.gct.gz",
        "--tissue", "Pituitary",
        *options,
        "--outdir", outdir,
    )  # fmt: skip
    return outdir / "dataset.tsv.gz"


def write_shuffled_windows(dataset: Path, path: Path, tile: int = 100, seed: int = 1) -> Path:
    """The dataset's windows shuffled as shuffle_windows.py shuffles them (`seq2expr.data.shuffle`), as FASTA at
    `path`: the composition control's `--control` input."""
    from seq2expr.data.dataset import read_dataset
    from seq2expr.data.shuffle import shuffle_windows
    from seq2expr.io.genome import write_fasta

    table = read_dataset(dataset)
    write_fasta(list(shuffle_windows(zip(table["gene_id"], table["sequence"], strict=True), tile, seed)), path)
    return path


@pytest.fixture(scope="session")
def synthetic_dataset(test_windows: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dataset.tsv.gz of the bundled data, Pituitary, one grouped 2/3 : 1/3 split (`--folds 1`) with 10 % of
    train as val: the single-split protocol the models' own tests use."""
    return build_bundled_dataset(
        test_windows, tmp_path_factory.mktemp("dataset"), "--folds", "1", "--val-fraction", "0.1"
    )


@pytest.fixture(scope="session")
def cross_fitted_dataset(test_windows: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dataset.tsv.gz of the bundled data, Pituitary, grouped 3-fold cross-fitting (as `-profile test`) with 10 %
    inner val."""
    return build_bundled_dataset(
        test_windows, tmp_path_factory.mktemp("crossfit"), "--folds", "3", "--val-fraction", "0.1"
    )


def probe_command(model: str, dataset: Path) -> list[str | Path]:
    """The probe tests' command on `dataset`: `dnabert2` (probe_dnabert2.py, the tiny DNABERT-2 at 128 tokens) or
    a tiny gLM's family (probe_glm.py, windows cut into pieces), folds by the dataset's gene groups, one thread."""
    arguments: list[str | Path] = [
        "--dataset",
        dataset,
        "--groups",
        dataset.parent / "gene_groups.tsv",
        "--threads",
        "1",
    ]
    if model == "dnabert2":
        return ["probe_dnabert2.py", *arguments, "--model", TEST_DATA / "tiny_dnabert2", "--max-tokens", "128"]
    return ["probe_glm.py", *arguments, "--model", TEST_DATA / "tiny_glms" / model]


@pytest.fixture(scope="session")
def probe_outputs(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The output folder of `probe_command(model)` on the synthetic dataset, run once per session and model and
    shared: the probes' byte-identity tests run it again, the attribution's tests read its read-out. Tests that
    use it carry `xdist_group("probe_outputs")`, so one worker builds each folder."""

    @functools.cache
    def outputs(model: str) -> Path:
        outdir = tmp_path_factory.mktemp(f"probe_{model}")
        run_script(*probe_command(model, synthetic_dataset), "--outdir", outdir)
        return outdir

    return outputs


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules of `slow` tests run first (the larger their share of slow tests, the earlier), each
    module's tests kept together and in their order.

    Under pytest-xdist a free worker takes the next test in this order: a multi-minute test started
    last would leave the other worker idle while it runs. Only the order of whole modules changes,
    so no module-scoped fixture is built twice and no test sees another state."""
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)

    def slow_share(name: str) -> float:
        tests = modules[name]
        return sum(test.get_closest_marker("slow") is not None for test in tests) / len(tests)

    items[:] = [item for name in sorted(modules, key=slow_share, reverse=True) for item in modules[name]]
