"""The composition control: Δr = r(real) − r(shuffled) per model, with the protocol's interval.

The shuffle keeps every dinucleotide of each tile, so a model of composition alone (the GC/CpG
baseline) loses nothing, while a model that reads a motif loses what the motif gave it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seq2expr.data.shuffle import shuffle_windows
from seq2expr.errors import InputError
from seq2expr.evaluation.control import baseline_controls, control_table
from seq2expr.io.predictions import make_control, read_control, write_control
from seq2expr.models.roster import GC_CPG_BASELINE

MOTIF = "TATAAAAG"
LENGTH, SITE = 300, 120


def _genes(n: int, seed: int = 4) -> pd.DataFrame:
    """Random windows of varied GC; the target is the motif's presence at a fixed site plus GC plus noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n):
        gc = rng.uniform(0.35, 0.65)
        bases = rng.choice(list("ACGT"), size=LENGTH, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
        carries = index % 2 == 0
        if carries:
            bases[SITE : SITE + len(MOTIF)] = list(MOTIF)
        rows.append({"gene_id": f"g{index:03d}", "sequence": "".join(bases), "carries": carries, "gc": gc})
    table = pd.DataFrame(rows)
    table["target"] = 1.5 * table["carries"] + 5.0 * table["gc"] + rng.normal(scale=0.3, size=n)
    return table


def _reader(windows: list[str]) -> np.ndarray:
    """A model that learned the motif at its site (and nothing else)."""
    return np.asarray([float(window[SITE : SITE + len(MOTIF)] == MOTIF) for window in windows])


def _shuffled(table: pd.DataFrame, seed: int = 1) -> dict[str, str]:
    return dict(shuffle_windows(zip(table["gene_id"], table["sequence"], strict=True), 100, seed))


def test_a_motif_reader_loses_its_skill_and_the_composition_baseline_loses_nothing(tmp_path: Path) -> None:
    table = _genes(300)
    shuffled = _shuffled(table)
    # cross-fitted: 3 folds of 100 genes; the reader's runs on each fold's test genes
    folds = np.arange(len(table)) % 3 + 1
    dataset = table.assign(chrom="chr1", tpm=1.0, split="train", fold=folds)
    runs = []
    for fold in (1, 2, 3):
        test = dataset[dataset["fold"] == fold]
        real = _reader(test["sequence"].tolist())
        scrambled = _reader([shuffled[gene] for gene in test["gene_id"]])
        runs.append(make_control(test["gene_id"], test["target"], real, scrambled, "reader", fold, 0))
    path = tmp_path / "control.tsv"
    write_control(runs[0], path)
    pd.testing.assert_frame_equal(read_control(path), runs[0], check_dtype=False)
    baseline = baseline_controls(dataset, shuffled)
    assert [int(run["fold"].iloc[0]) for run in baseline] == [1, 2, 3]
    result = control_table(runs + baseline, None, 0, 1).set_index("model")
    reader = result.loc["reader"]
    assert reader["pearson_real"] > 0.5 and abs(reader["pearson_shuffled"]) < 0.15
    assert reader["delta_r_ci_low"] > 0  # the skill that needs order is there, and measured
    gc = result.loc[GC_CPG_BASELINE]
    assert gc["delta_r"] == pytest.approx(0, abs=1e-12)  # the shuffle keeps its features exactly
    assert gc["pearson_real"] > 0.2
    assert "corrected resampled t" in str(reader["ci_method"])


def test_single_split_control_uses_the_runs_fixed_bootstrap() -> None:
    table = _genes(200, seed=9)
    shuffled = _shuffled(table, seed=2)
    test = table.iloc[100:]
    real = _reader(test["sequence"].tolist())
    noise = np.random.default_rng(0)
    runs = [
        make_control(test["gene_id"], test["target"], real + noise.normal(scale=0.05, size=len(test)),
                     _reader([shuffled[gene] for gene in test["gene_id"]]), "reader")
        for _ in range(3)
    ]  # fmt: skip
    row = control_table(runs, None, 200, 5).iloc[0]
    assert row["n_runs"] == 3 and row["n"] == 100
    assert row["delta_r_ci_low"] > 0 and "runs fixed" in str(row["ci_method"])


def test_a_control_file_of_two_runs_is_refused(tmp_path: Path) -> None:
    table = make_control(["a", "b"], [1.0, 2.0], [1.0, 2.0], [2.0, 1.0], "m", 1, 0)
    table.loc[1, "fold"] = 2
    path = tmp_path / "control.tsv"
    write_control(table, path)
    with pytest.raises(InputError, match="one model run"):
        read_control(path)
