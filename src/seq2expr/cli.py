"""Plumbing shared by every `bin/` command: logging, progress bars and the error boundary.

Every command is declared with `@command()`: it answers `-h` and `--help`, reports a usage error
on one line, and runs its body inside `error_boundary()`, which no exception type escapes. Bad
input (`InputError`, a missing file) becomes one `Error: …` line naming the file and what was
expected; anything unforeseen becomes one line naming the exception, with its traceback logged
only under `--verbose`. Exit status 1 (2 for usage errors), never a traceback.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from tqdm import tqdm

from seq2expr.data.dataset import DEFAULT_SEED, DEFAULT_VAL_FRACTION
from seq2expr.data.folds import SINGLE_SPLIT
from seq2expr.errors import InputError

T = TypeVar("T")
log = logging.getLogger(__name__)
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

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


def _one_line(text: str) -> str:
    return " ".join(text.split())


@contextmanager
def error_boundary() -> Iterator[None]:
    """Turn any failure into a one-line `Error: …` and a non-zero exit; no exception type escapes."""
    try:
        yield
    except click.UsageError as error:
        error.ctx = None  # click then prints only `Error: …`, not the usage block
        raise
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except InputError as error:
        raise click.ClickException(_one_line(str(error))) from None
    except OSError as error:
        if error.filename is None:
            raise _unexpected(error) from None
        reason = "no such file" if isinstance(error, FileNotFoundError) else (error.strerror or str(error)).lower()
        raise click.ClickException(f"{error.filename}: {reason}") from None
    except Exception as error:
        raise _unexpected(error) from None


def _unexpected(error: BaseException) -> click.ClickException:
    """One line for an error nobody foresaw; the traceback goes to the log only with --verbose."""
    log.debug("traceback of the unexpected error", exc_info=error)
    where = getattr(error, "filename", None)
    detail = _one_line(str(error)) or "no message"
    return click.ClickException(
        f"unexpected {type(error).__name__}{f' on {where}' if where else ''}: {detail} "
        "(rerun with --verbose for the traceback, and please report it)"
    )


class Step(click.Command):
    """A `bin/` command: `-h/--help`, usage errors on one line, the body inside the error boundary."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["context_settings"] = {**HELP_OPTIONS, **(kwargs.get("context_settings") or {})}
        super().__init__(*args, **kwargs)

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        with error_boundary():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with error_boundary():
            return super().invoke(ctx)


def command(**settings: Any) -> Callable[[Callable[..., Any]], Step]:
    """`@click.command` for a `bin/` script: every step shares `Step`'s help options and error boundary."""
    return click.command(cls=Step, **settings)


def comma_list(values: Iterable[str]) -> list[str]:
    """Names from a repeatable option whose values may also be comma lists (`--x a,b --x c`)."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def ensure_outdir(outdir: Path) -> Path:
    """Create the output folder (every command writes only there)."""
    outdir.mkdir(parents=True, exist_ok=True)
    return outdir


verbose_option = click.option(
    "--verbose", "-v", is_flag=True, help="Log debugging detail (and the traceback of an unexpected error)."
)
#: One seed drives the split and every model's training, so every command has the same default.


def seed_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--seed` with the pipeline's one default; `what` says what it seeds in this command."""
    return click.option(
        "--seed",
        default=DEFAULT_SEED,
        show_default=True,
        type=click.IntRange(min=0),
        help=f"Seed of {what} (one seed drives the split and the training of every model).",
    )


def fold_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """`--fold` and `--repeat`: which fit of a cross-fitted dataset this run is (0 and 0: a single split)."""
    function = click.option(
        "--repeat",
        default=SINGLE_SPLIT,
        show_default=True,
        type=click.IntRange(min=0),
        help="Cross-fitting: the fold draw (column fold, fold_1, ...) the --fold belongs to.",
    )(function)
    return click.option(
        "--fold",
        default=SINGLE_SPLIT,
        show_default=True,
        type=click.IntRange(min=0),
        help="Cross-fitting: the fold whose genes are the test genes (1..K); 0 for a single-split dataset.",
    )(function)


def val_fraction_option(when: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--val-fraction`: the share of training genes held out as `val`; `when` says when this command uses it."""
    return click.option(
        "--val-fraction",
        default=DEFAULT_VAL_FRACTION,
        show_default=True,
        type=click.FloatRange(0.0, 1.0, max_open=True),
        help=f"Share of the training genes held out as 'val' for early stopping, {when}.",
    )


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def device_option(what: str) -> Decorator:
    """`--device` of the PyTorch steps; `what` says what runs there (train, embed, predict)."""
    return click.option(
        "--device",
        type=click.Choice(["auto", "cpu", "cuda"]),
        default="auto",
        help=f"Where to {what} (auto: the GPU when PyTorch sees one).",
    )


threads_option = click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="CPU threads to use (Nextflow passes the task's cpus).",
)
outdir_option = click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write the outputs into (created if missing).",
)


def step_options(what: str) -> Decorator:
    """The options every PyTorch step ends with: `--device` (where `what` runs), `--threads`, `--outdir`, `-v`."""

    def add(function: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in (verbose_option, outdir_option, threads_option, device_option(what)):
            function = decorator(function)
        return function

    return add


def dataset_option(use: str) -> Decorator:
    """`--dataset`, the dataset step's table; `use` says what this command does with its splits."""
    return click.option(
        "--dataset",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=f"dataset.tsv.gz (gene_id, chrom, split, tpm, target, sequence); {use}.",
    )


def model_option(what: str) -> Decorator:
    """`--model` of a step that loads a pretrained checkpoint by hub id or folder; `what` names its kind."""
    return click.option("--model", "model_name", required=True, help=f"Hugging Face Hub id or folder of {what}.")


def groups_option(use: str) -> Decorator:
    """`--groups`, the dataset's gene_groups.tsv; `use` says what keeping the groups whole means here."""
    return click.option(
        "--groups",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=f"gene_groups.tsv of the dataset: {use}.",
    )


def control_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """`--control`, the shuffled windows (shuffle_windows.py) whose test genes the fitted model also predicts."""
    return click.option(
        "--control",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="FASTA of shuffled windows (shuffle_windows.py) holding every test gene: the fitted model also predicts "
        "the test genes' shuffled windows, the composition control (control.tsv).",
    )(function)


# --------------------------------------------------------------------------------------------
# options built from dataclasses: each default and its help are written once, in the dataclass

#: Keys of a field's metadata that bound its value (`click.IntRange` / `click.FloatRange` arguments).
RANGE_KEYS = ("min", "max", "min_open", "max_open")


def _click_type(name: str, hint: Any, metadata: Any) -> tuple[Any, bool]:
    """The click type of a field's annotation, and whether it is a flag; `X | None` gives X's type."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"field {name}: cannot make a command-line option of {hint}")
        hint = inner[0]
    bounds = {key: metadata[key] for key in RANGE_KEYS if key in metadata}
    if hint is bool:
        return None, True
    if hint is int:
        return (click.IntRange(**bounds) if bounds else click.INT), False
    if hint is float:
        return (click.FloatRange(**bounds) if bounds else click.FLOAT), False
    if hint is str:
        return (click.Choice(metadata["choices"]) if "choices" in metadata else click.STRING), False
    if hint is Path:
        return click.Path(path_type=Path, file_okay=metadata.get("file_okay", True)), False
    raise TypeError(f"field {name}: cannot make a command-line option of {hint}; exclude it")


def dataclass_options(cls: type, exclude: Iterable[str] = ()) -> Decorator:
    """Click options `--field-name` for the fields of an options dataclass, default and help taken from it.

    Each field declares its help as `field(default=..., metadata={"help": "..."})`, and may bound its
    value with `min`, `max`, `min_open`, `max_open` (an `IntRange`/`FloatRange`) or list `choices`.
    A bool field becomes a flag (`--name/--no-name` when it defaults to true). Read the values
    back with `options_from`.
    """
    skipped = set(exclude)
    hints = typing.get_type_hints(cls)
    chosen = [item for item in dataclasses.fields(cls) if item.name not in skipped]
    unknown = skipped - {item.name for item in dataclasses.fields(cls)}
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
    decorators = []
    for item in chosen:
        if "help" not in item.metadata:
            raise TypeError(f"{cls.__name__}.{item.name} has no help text in its metadata")
        if item.default is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{item.name} has no default")
        kind, flag = _click_type(item.name, hints[item.name], item.metadata)
        option = "--" + item.name.replace("_", "-")
        if flag:
            declaration = f"{option}/--no-{option[2:]}" if item.default else option
            decorators.append(
                click.option(declaration, item.name, is_flag=True, default=item.default, help=item.metadata["help"])
            )
        else:
            decorators.append(
                click.option(option, item.name, type=kind, default=item.default, help=item.metadata["help"])
            )

    def add(function: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):  # the first field comes first in --help
            function = decorator(function)
        return function

    return add


OptionsT = TypeVar("OptionsT")


def options_from(cls: type[OptionsT], values: dict[str, Any]) -> OptionsT:
    """An options dataclass from a command's parsed values, taking (popping) the fields it has.

    Fields the command did not offer (excluded from `dataclass_options`) keep their defaults.
    """
    names = {item.name for item in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: values.pop(name) for name in list(values) if name in names})
