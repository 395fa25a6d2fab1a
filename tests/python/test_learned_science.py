"""What a model learned, on planted data (issue 23, Done-when (a) and (b)): a trained CNN must read a planted
motif where it is, the motif table must name it, and shuffling the windows must take its skill away; on a
target of composition alone, shuffling must take nothing away from any model.

The motif is CRE (TGACGTCA), not a dinucleotide repeat: a dinucleotide shuffle rebuilds TATA-like repeats
from their own dinucleotides, so a TATA model keeps part of its skill on shuffled windows (measured by
tests/python/test_control_models.py), while an 8-mer of seven different dinucleotides is destroyed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_script

from seq2expr.data.dataset import read_dataset, write_dataset
from seq2expr.data.shuffle import shuffle_windows
from seq2expr.data.synthetic import planted_motif_windows
from seq2expr.evaluation.control import baseline_controls, control_table
from seq2expr.io.predictions import read_control

LENGTH, MOTIF, OFFSET = 301, "TGACGTCA", -60
CNN_RECIPE = ("--epochs", "25", "--patience", "6", "--batch-size", "32", "--learning-rate", "3e-3", "--threads", "1")


def _dataset(table: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """A single-split dataset (2/3 train with a tenth of it val, 1/3 test) and the shuffled windows."""
    n = len(table)
    split = np.where(np.arange(n) < 0.6 * n, "train", np.where(np.arange(n) < 2 * n / 3, "val", "test"))
    dataset = table.assign(chrom="chr1", split=split, tpm=10 ** table["target"])
    path = folder / "dataset.tsv.gz"
    write_dataset(dataset[["gene_id", "chrom", "split", "tpm", "target", "sequence"]], path)
    shuffled = folder / "shuffled.fa"
    records = shuffle_windows(zip(table["gene_id"], table["sequence"], strict=True), 100, 7)
    shuffled.write_text("".join(f">{gene}\n{sequence}\n" for gene, sequence in records))
    return path, shuffled


@pytest.mark.slow  # one CNN on 600 windows of 301 bp, then ISM of 30 of them
def test_the_cnn_reads_the_planted_motif_where_it_is_and_needs_its_order(tmp_path: Path) -> None:
    """(a): the meta-profile peaks within ±10 bp of the motif, the motif table names it, and the composition
    control takes the skill away (shuffled r ≈ 0, its interval holding 0) while the real r stays high."""
    table = planted_motif_windows(600, LENGTH, MOTIF, OFFSET, seed=3)
    dataset, shuffled = _dataset(table, tmp_path)
    run_script("train_cnn.py", "--dataset", dataset, *CNN_RECIPE, "--control", shuffled, "--outdir", tmp_path / "cnn")
    control = control_table([read_control(tmp_path / "cnn" / "control.tsv")], None, 500, 1).iloc[0]
    assert control["pearson_real"] > 0.7
    assert abs(control["pearson_shuffled"]) < 0.15
    assert control["delta_r_ci_low"] > 0.5
    run_script("attribute.py", "--model-kind", "cnn", "--model", tmp_path / "cnn" / "model", "--name", "CNN",
               "--dataset", dataset, "--tss-index", LENGTH // 2, "--genes", "30", "--flank", "100",
               "--outdir", tmp_path / "ism")  # fmt: skip
    profile = pd.read_csv(tmp_path / "ism" / "attribution_profile.tsv", sep="\t")
    peak = int(profile.loc[profile["mean_abs_contribution"].idxmax(), "offset"])
    assert OFFSET - 10 <= peak <= OFFSET + len(MOTIF) - 1 + 10
    motifs = pd.read_csv(tmp_path / "ism" / "attribution_motifs.tsv", sep="\t").set_index("motif")
    assert motifs["mean_effect"].idxmax() == "CREB (CRE)"
    assert motifs.loc["CREB (CRE)", "mean_effect"] > 10 * abs(motifs.loc["CREB (CRE)", "background_effect"])
    assert abs(motifs.loc["CREB (CRE)", "mean_offset"] - OFFSET) < 2


@pytest.mark.slow  # one CNN and DExTER on 600 windows of 301 bp
def test_on_a_composition_target_no_model_loses_skill_on_shuffled_windows(tmp_path: Path) -> None:
    """(b): the target is GC content plus noise; the shuffle keeps every dinucleotide of each tile, so each
    model's shuffled r stays within the interval of its real r (and the GC/CpG baseline's is the same r)."""
    table = planted_motif_windows(600, LENGTH, "", 0, seed=5, gc_weight=8.0)
    dataset, shuffled = _dataset(table, tmp_path)
    run_script("train_cnn.py", "--dataset", dataset, *CNN_RECIPE, "--control", shuffled, "--outdir", tmp_path / "cnn")
    run_script("dexter.py", "--dataset", dataset, "--tss-index", LENGTH // 2, "--control", shuffled,
               "--outdir", tmp_path / "dexter")  # fmt: skip
    windows = {record.split("\n")[0]: record.split("\n")[1] for record in shuffled.read_text().split(">")[1:]}
    runs = [read_control(tmp_path / name / "control.tsv") for name in ("cnn", "dexter")]
    result = control_table(runs + baseline_controls(read_dataset(dataset), windows), None, 1000, 1)
    for row in result.itertuples():
        assert row.pearson_real > 0.4, row
        # r on shuffled windows within the real r's own 95 % interval: Fisher z around the real r, n test genes
        half = 1.96 / np.sqrt(row.n - 3)
        low, high = np.tanh(np.arctanh(row.pearson_real) - half), np.tanh(np.arctanh(row.pearson_real) + half)
        assert low <= row.pearson_shuffled <= high, row
        assert row.delta_r_ci_low <= 0 <= row.delta_r_ci_high or row.model == "gc_cpg_baseline", row
