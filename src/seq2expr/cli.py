"""Plumbing shared by every `bin/` command: logging, progress bars and the error boundary.

Each command is a click command whose body runs inside `error_boundary()`, so that an
`InputError` becomes one line on stderr and a non-zero exit status (1), never a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import click
from tqdm import tqdm

from seq2expr.errors import InputError

T = TypeVar("T")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(verbose: bool = False) -> None:
    """One handler on the root logger; library modules only use `logging.getLogger(__name__)`."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format=LOG_FORMAT,
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """A progress bar on a terminal and nothing in a batch job's log."""
    yield from tqdm(items, desc=desc, total=total, unit=unit, disable=not sys.stderr.isatty(), leave=False)


@contextmanager
def error_boundary() -> Iterator[None]:
    """Turn bad input into a one-line `Error: …` and a non-zero exit."""
    try:
        yield
    except InputError as error:
        raise click.ClickException(str(error)) from None
    except FileNotFoundError as error:
        raise click.ClickException(f"{error.filename}: no such file") from None


def comma_list(values: Iterable[str]) -> list[str]:
    """Names from a repeatable option whose values may also be comma lists (`--x a,b --x c`)."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def ensure_outdir(outdir: Path) -> Path:
    """Create the output folder (every command writes only there)."""
    outdir.mkdir(parents=True, exist_ok=True)
    return outdir


verbose_option = click.option("--verbose", "-v", is_flag=True, help="Log debugging detail.")
outdir_option = click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write the outputs into (created if missing).",
)
