"""`seq2expr.cli.dataclass_options`: a command's options built from an options dataclass, so that each
default and its help are written once (in the dataclass) and the click types still refuse bad values."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from seq2expr.cli import dataclass_options, options_from
from seq2expr.models.cnn.options import CnnConfig, CnnOptions
from seq2expr.models.dnabert2.options import FinetuneOptions
from seq2expr.models.training.options import ResumeOptions


@dataclass(frozen=True)
class Knobs:
    epochs: int = field(default=3, metadata={"help": "Passes.", "min": 1})
    rate: float = field(default=0.5, metadata={"help": "A share.", "min": 0, "max": 1, "max_open": True})
    name: str = field(default="a", metadata={"help": "Which.", "choices": ["a", "b"]})
    fast: bool = field(default=False, metadata={"help": "Go fast."})
    tidy: bool = field(default=True, metadata={"help": "Tidy up."})
    limit: int | None = field(default=None, metadata={"help": "At most."})
    folder: Path | None = field(default=None, metadata={"help": "Where."})
    internal: tuple[int, int] = (1, 2)


def command() -> click.Command:
    @click.command()
    @dataclass_options(Knobs, exclude=("internal",))
    def main(**values: object) -> None:
        click.echo(repr(options_from(Knobs, dict(values))))

    return main


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(command(), list(args))


def test_defaults_and_help_come_from_the_dataclass() -> None:
    assert invoke().output.strip() == repr(Knobs())
    text = invoke("--help").output
    for option in ("--epochs", "--rate", "--name", "--fast", "--tidy / --no-tidy", "--limit", "--folder"):
        assert option in text
    assert "Passes." in text and "--internal" not in text


def test_values_are_parsed_and_bounded() -> None:
    parsed = invoke(
        "--epochs", "7", "--rate", "0", "--name", "b", "--fast", "--no-tidy", "--limit", "4", "--folder", "x"
    )
    assert parsed.output.strip() == repr(Knobs(7, 0.0, "b", True, False, 4, Path("x")))
    assert "0 is not in the range x>=1" in invoke("--epochs", "0").output
    assert "1.0 is not in the range 0<=x<1" in invoke("--rate", "1").output
    assert "'c' is not one of 'a', 'b'" in invoke("--name", "c").output


def test_a_field_without_help_or_an_unknown_exclusion_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="internal"):
        dataclass_options(Knobs)
    with pytest.raises(TypeError, match="no field"):
        dataclass_options(Knobs, exclude=("internal", "nonesuch"))


@pytest.mark.parametrize("options", [FinetuneOptions, CnnOptions, CnnConfig, ResumeOptions])
def test_the_commands_dataclasses_all_make_options(options: type) -> None:
    """Every field of the trainers' options has its help, so the commands offer each knob with its one default."""
    dataclass_options(options)
