"""Every training command's composition control (`--control FASTA`, issue 23): after fitting, the same model
predicts its run's test genes on their shuffled windows by the same prediction path, into control.tsv; a
control FASTA that misses a test gene, or whose window is not the dataset's length, is one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import TEST_DATA, assert_one_line_error, invoke, run_script, write_shuffled_windows

from seq2expr.data.dataset import read_dataset
from seq2expr.data.folds import fold_column
from seq2expr.io.genome import iter_fasta, write_fasta
from seq2expr.io.predictions import CONTROL_COLUMNS, CONTROL_FILE, read_control, read_predictions

TINY_DNABERT2 = TEST_DATA / "tiny_dnabert2"
TINY_GLM = TEST_DATA / "tiny_glms" / "esm_6mer"
FOLD = 2

#: Each command on fold 2 of the cross-fitted fixture, tiny and fast (as test_cross_fitting_models.py runs them).
FINETUNE = "--epochs 1 --batch-size 32 --global-batch-size 64 --max-tokens 64 --eval-steps 2 --logging-steps 2"
PROBE = "--layers -1 --max-tokens 64 --threads 1"
COMMANDS: dict[str, tuple[str, list[str | Path]]] = {
    "DExTER": ("dexter.py", []),
    "CNN": ("train_cnn.py", ["--epochs", "1", "--threads", "1"]),
    "DNABERT-2": (
        "finetune_dnabert2.py",
        ["--model", TINY_DNABERT2, *FINETUNE.split(), "--warmup-steps", "1", "--device", "cpu", "--threads", "1"],
    ),
    "DNABERT-2_probe": ("probe_dnabert2.py", ["--model", TINY_DNABERT2, *PROBE.split()]),
    "probe:esm_6mer": ("probe_glm.py", ["--model", TINY_GLM, *PROBE.split()]),
}


@pytest.fixture(scope="module")
def shuffled(cross_fitted_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shuffled_windows(cross_fitted_dataset, tmp_path_factory.mktemp("control") / "shuffled_windows.fa")


@pytest.mark.parametrize("model", list(COMMANDS))
def test_control_predicts_the_folds_test_genes_on_their_shuffled_windows(
    model: str, cross_fitted_dataset: Path, shuffled: Path, tmp_path: Path
) -> None:
    script, options = COMMANDS[model]
    groups = (
        ["--groups", cross_fitted_dataset.parent / "gene_groups.tsv"] if "probe" in script or model == "DExTER" else []
    )
    run_script(script, "--dataset", cross_fitted_dataset, "--fold", str(FOLD), *groups, *options,
               "--control", shuffled, "--outdir", tmp_path)  # fmt: skip
    control = read_control(tmp_path / CONTROL_FILE)
    assert (tmp_path / CONTROL_FILE).read_text().splitlines()[0].split("\t") == CONTROL_COLUMNS
    table = read_dataset(cross_fitted_dataset)
    tested = table.loc[table[fold_column(0)] == FOLD, "gene_id"].tolist()
    assert control["gene_id"].tolist() == tested  # exactly fold 2's test genes, in dataset order
    predictions = read_predictions(tmp_path / "predictions.tsv")
    test = predictions[predictions["split"] == "test"]
    assert control["predicted"].tolist() == test["predicted"].tolist()  # the real windows' predictions, as written
    assert control["observed"].tolist() == test["observed"].tolist()
    assert set(control["model"]) == {model} and set(control["fold"]) == {FOLD} and set(control["repeat"]) == {0}
    assert not np.allclose(control["predicted_shuffled"], control["predicted"])


def drop_record(fasta: Path, gene: str, path: Path) -> Path:
    write_fasta([(r.name, r.sequence.decode()) for r in iter_fasta(fasta) if r.name != gene], path)
    return path


@pytest.mark.parametrize("model", list(COMMANDS))
def test_a_control_without_a_test_gene_is_one_line_naming_the_file_and_gene(
    model: str, cross_fitted_dataset: Path, shuffled: Path, tmp_path: Path
) -> None:
    table = read_dataset(cross_fitted_dataset)
    gene = table.loc[table[fold_column(0)] == FOLD, "gene_id"].iloc[0]
    partial = drop_record(shuffled, gene, tmp_path / "partial.fa")
    script, options = COMMANDS[model]
    result = invoke(script, "--dataset", cross_fitted_dataset, "--fold", str(FOLD), *options, "--control", partial,
                    "--outdir", tmp_path / "out")  # fmt: skip
    assert_one_line_error(result, "have no shuffled window here (first: " + gene + ")")
    assert str(partial) in result.stderr
    assert not (tmp_path / "out" / CONTROL_FILE).exists()


def test_a_control_window_of_another_length_names_its_line(
    cross_fitted_dataset: Path, shuffled: Path, tmp_path: Path
) -> None:
    table = read_dataset(cross_fitted_dataset)
    gene = table.loc[table[fold_column(0)] == FOLD, "gene_id"].iloc[0]
    records = [(r.name, r.sequence.decode()[: -1 if r.name == gene else None]) for r in iter_fasta(shuffled)]
    write_fasta(records, tmp_path / "short.fa")
    line = 2 * [name for name, _ in records].index(gene) + 1
    result = invoke("dexter.py", "--dataset", cross_fitted_dataset, "--fold", str(FOLD), "--control",
                    tmp_path / "short.fa", "--outdir", tmp_path / "out")  # fmt: skip
    assert_one_line_error(result, f"{tmp_path / 'short.fa'}, line {line}: shuffled window {gene!r} is 1000 bp")


def test_a_control_may_hold_more_genes_than_the_test_genes_and_any_case(
    cross_fitted_dataset: Path, tmp_path: Path
) -> None:
    """The shared reader: only the test genes are read, upper-cased, in the table's order."""
    from seq2expr.data.dataset import read_fold
    from seq2expr.data.shuffle import read_control_windows

    view = read_fold(cross_fitted_dataset, FOLD, 0)
    records = [(gene, sequence.lower()) for gene, sequence in zip(view["gene_id"], view["sequence"], strict=True)]
    write_fasta([*reversed(records), ("extra", "ACGT")], tmp_path / "all.fa")
    windows = read_control_windows(tmp_path / "all.fa", view)
    test = view[view["split"] == "test"]
    assert windows == [sequence.upper() for sequence in test["sequence"]]
