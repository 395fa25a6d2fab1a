"""The "Running one step without Nextflow" block of docs/usage.md (moved there from the README)
runs as written on the bundled data and gives what the text says to expect, so documentation and
reality cannot drift apart unnoticed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

DOC = REPO / "docs" / "usage.md"
SECTION = "## Running one step without Nextflow"


def readme_block() -> tuple[list[str], str]:
    """The commands of the section's bash block, and the section's text after it."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the section has no ```bash block"
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    return commands, " ".join(section[block.end() :].split())  # prose re-wrapped to one line


def as_argv(command: str) -> list[str]:
    """A documented command line as this interpreter would run it (the scripts' shebang may name another python)."""
    words = shlex.split(command)
    if words[0].startswith("bin/"):
        return [sys.executable, *words]
    assert words[0] == "multiqc", f"unexpected command in the documented block: {words[0]}"
    return [sys.executable, "-m", "multiqc", *words[1:]]


@pytest.mark.slow
def test_readme_block_runs_as_written_and_gives_the_promised_result(tmp_path: Path) -> None:
    commands, expectations = readme_block()
    for name in ("bin", "assets"):  # the block runs from the repository root; its outputs go here
        (tmp_path / name).symlink_to(REPO / name)
    stderr = {}
    for command in commands:
        result = subprocess.run(as_argv(command), cwd=tmp_path, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
        stderr[shlex.split(command)[0]] = result.stderr

    dataset = pd.read_csv(tmp_path / "d" / "dataset.tsv.gz", sep="\t")
    counts = re.search(r"(\d+) genes in `d/dataset.tsv.gz` \((\d+) train, (\d+) val, (\d+) test\)", expectations)
    assert counts is not None
    splits = dataset["split"].value_counts()
    assert [len(dataset), splits["train"], splits["val"], splits["test"]] == [int(n) for n in counts.groups()]

    metrics = pd.read_csv(tmp_path / "eval" / "metrics.tsv", sep="\t")
    metrics = metrics[metrics["stratum"] == "all"].set_index(["model", "split"])
    promised = re.search(r"test r ≈ (0\.\d+)", expectations)
    assert promised is not None
    assert metrics.loc[("DExTER", "test"), "pearson"] == pytest.approx(float(promised.group(1)), abs=0.01)

    # The text says the tiny model's predictions are near-constant, and that the run says so in one line.
    warnings = [line for line in stderr["bin/finetune_dnabert2.py"].splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "predicts a near-constant value" in warnings[0]
    assert "predicts a near-constant value" in expectations
    assert bool(metrics.loc[("DNABERT-2", "test"), "near_constant"])
    assert "⚠ near-constant predictions" in (tmp_path / "eval" / "model_metrics_mqc.tsv").read_text(encoding="utf-8")
    assert len(list((tmp_path / "report").glob("*multiqc_report.html"))) == 1
