"""bin/evaluate_models.py as a user runs it: outputs, reproducibility and one-line errors on bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import BIN, run_script

from seq2expr.evaluation.step import EvaluationOptions, run
from seq2expr.io.predictions import make_predictions, write_predictions
from seq2expr.io.tables import table_bytes
from seq2expr.report.build import report_files

SCRIPT = "evaluate_models.py"


def load_command() -> click.Command:
    """The script's click command, to run the bad-input cases in-process (no interpreter start-up each)."""
    spec = importlib.util.spec_from_file_location("evaluate_models", BIN / SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def write_model(path: Path, name: str, observed: np.ndarray, predicted: np.ndarray, splits: list[str]) -> Path:
    genes = [f"ENSG{i:011d}" for i in range(len(observed))]
    write_predictions(make_predictions(genes, splits, observed, predicted, name), path)
    return path


@pytest.fixture
def two_models(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(1)
    n = 160
    observed = rng.normal(1, 1, n)
    splits = ["train"] * 90 + ["val"] * 10 + ["test"] * 60
    return [
        write_model(tmp_path / "a.tsv", "modelA", observed, observed + rng.normal(0, 0.6, n), splits),
        write_model(tmp_path / "b.tsv", "modelB", observed, observed + rng.normal(0, 1.2, n), splits),
    ]


def test_outputs_and_byte_identical_reruns(tmp_path: Path, two_models: list[Path]):
    first, second = tmp_path / "first", tmp_path / "second"
    run_script(SCRIPT, "--predictions", *two_models, "--bootstrap", "200", "--outdir", first)
    # Repeated flags and another file order: the same result.
    run_script(
        SCRIPT, "--predictions", two_models[1], "--predictions", two_models[0], "--bootstrap", "200", "--outdir", second
    )
    names = sorted(path.name for path in first.iterdir())
    # The command writes exactly what run() returns: its tables and its report files.
    result = run(EvaluationOptions(predictions=tuple(two_models), bootstrap=200))
    assert names == sorted([*result.tables, *(file.name for file in report_files(result))])
    assert {"metrics.tsv", "comparison.tsv", "ladder.tsv", "model_metrics_mqc.tsv"} <= set(names)
    assert (first / "metrics.tsv").read_bytes() == table_bytes(result.tables["metrics.tsv"])
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    metrics = pd.read_csv(first / "metrics.tsv", sep="\t")
    assert len(metrics) == 6
    comparison = pd.read_csv(first / "comparison.tsv", sep="\t")
    assert comparison[["model_a", "model_b", "n"]].values.tolist() == [["modelA", "modelB", 60]]
    assert comparison["delta_r_ci_low"].iloc[0] > 0  # noise 0.6 against 1.2 on 60 genes: clearly better


def test_seed_changes_only_the_intervals(tmp_path: Path, two_models: list[Path]):
    runner = CliRunner()
    command = load_command()
    for seed in ("1", "2"):
        arguments = ["--predictions", *map(str, two_models), "--bootstrap", "200", "--seed", seed]
        result = runner.invoke(command, [*arguments, "--outdir", str(tmp_path / seed)])
        assert result.exit_code == 0, result.output
    one = pd.read_csv(tmp_path / "1" / "metrics.tsv", sep="\t")
    two = pd.read_csv(tmp_path / "2" / "metrics.tsv", sep="\t")
    pd.testing.assert_series_equal(one["pearson"], two["pearson"])
    assert not one["pearson_ci_low"].equals(two["pearson_ci_low"])


def test_dataset_adds_baselines(tmp_path: Path, synthetic_dataset: Path):
    from seq2expr.data.dataset import read_dataset

    dataset = read_dataset(synthetic_dataset)
    rng = np.random.default_rng(2)
    predicted = dataset["target"] + rng.normal(0, 1, len(dataset))
    path = tmp_path / "p.tsv"
    write_predictions(make_predictions(dataset["gene_id"], dataset["split"], dataset["target"], predicted, "m"), path)
    run_script(
        SCRIPT, "--predictions", path, "--dataset", synthetic_dataset, "--bootstrap", "100", "--outdir", tmp_path
    )
    metrics = pd.read_csv(tmp_path / "metrics.tsv", sep="\t")
    assert sorted(set(metrics["model"])) == ["gc_cpg_baseline", "m", "mean_baseline"]
    comparison = pd.read_csv(tmp_path / "comparison.tsv", sep="\t")
    everything = comparison[comparison["stratum"] == "all"]
    assert everything[["model_a", "model_b"]].values.tolist() == [["m", "gc_cpg_baseline"]]
    assert "dataset (baselines)" in (tmp_path / "evaluation_methods_mqc.html").read_text()


def bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Each case: the arguments and what the one-line error must say."""
    rng = np.random.default_rng(3)
    n = 40
    observed = rng.normal(size=n)
    splits = ["train"] * 25 + ["test"] * 15
    good = write_model(tmp_path / "good.tsv", "m", observed, observed + rng.normal(size=n), splits)
    text = good.read_text().splitlines()
    no_test = write_model(tmp_path / "no_test.tsv", "m", observed, observed, ["train"] * n)
    duplicated = tmp_path / "duplicated.tsv"
    duplicated.write_text("\n".join([*text, text[3]]) + "\n")
    nan = tmp_path / "nan.tsv"
    nan.write_text("\n".join([*text[:5], text[5].rsplit("\t", 4)[0] + "\tnan\tm\t0\t0", *text[6:]]) + "\n")
    other_genes = tmp_path / "other.tsv"
    other_genes.write_text("\n".join([text[0]] + [line.replace("ENSG", "ENSX") for line in text[1:]]) + "\n")
    other_dataset = write_model(tmp_path / "shifted.tsv", "n", observed + 1, observed, splits)
    disjoint = tmp_path / "disjoint.tsv"
    disjoint.write_text(
        "\n".join([text[0]] + [line.replace("ENSG", "ENSX").replace("\tm", "\tq") for line in text[1:]]) + "\n"
    )
    return {
        "no test split": ([str(no_test)], "no_test.tsv: no gene in the test split"),
        "duplicated gene": ([str(duplicated)], "duplicated.tsv, line 42: gene ENSG00000000002 appears more than once"),
        "NaN prediction": ([str(nan)], "nan.tsv, line 6: predicted value"),
        "same name, other model": ([str(good), str(other_genes)], "but with other genes, splits or observed values"),
        "same file twice": ([str(good), str(good)], "given twice"),
        "other observed values": ([str(good), str(other_dataset)], "not evaluated on the same dataset"),
        "no shared genes": (
            [str(good), str(disjoint)],
            "good.tsv: model 'm' predicts 15 of the 30 test genes of all prediction files: 15 missing",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no test split",
        "duplicated gene",
        "NaN prediction",
        "same name, other model",
        "same file twice",
        "other observed values",
        "no shared genes",
    ],
)
def test_bad_input_gives_one_line(tmp_path: Path, case: str):
    arguments, message = bad_inputs(tmp_path)[case]
    result = CliRunner().invoke(load_command(), ["--predictions", *arguments, "--outdir", str(tmp_path / "out")])
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and " INFO " not in line]  # log lines
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and message in lines[0], lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_bad_input_through_the_real_process(tmp_path: Path):
    """One case as a separate process: exit status and stderr exactly as a user sees them."""
    arguments, _ = bad_inputs(tmp_path)["duplicated gene"]
    result = run_script(SCRIPT, "--predictions", *arguments, "--outdir", tmp_path / "out", check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and " INFO " not in line]
    assert lines == [f"Error: {Path(arguments[0])}, line 42: gene ENSG00000000002 appears more than once"]
    assert not (tmp_path / "out").exists()


def test_missing_predictions_option(tmp_path: Path):
    result = CliRunner().invoke(load_command(), ["--outdir", str(tmp_path)])
    assert result.exit_code != 0
    assert "no predictions given" in result.stderr


def test_groups_and_tss_index_give_every_stratum(tmp_path: Path, synthetic_dataset: Path):
    """With gene_groups.tsv and the TSS index: the unseen stratum and the CpG classes, cluster-bootstrap intervals."""
    from seq2expr.data.dataset import read_dataset

    dataset = read_dataset(synthetic_dataset)
    rng = np.random.default_rng(5)
    path = tmp_path / "p.tsv"
    predicted = dataset["target"] + rng.normal(0, 1, len(dataset))
    write_predictions(make_predictions(dataset["gene_id"], dataset["split"], dataset["target"], predicted, "CNN"), path)
    genes = dataset["gene_id"].tolist()
    # pairs of consecutive genes form groups: a test gene whose partner trains is seen
    groups = pd.DataFrame(
        {
            "gene_id": genes,
            "group": [genes[i - i % 2] for i in range(len(genes))],
            "reason": ["overlap" if i - i % 2 + 1 < len(genes) else "singleton" for i in range(len(genes))],
            "partner": [genes[i ^ 1] if (i ^ 1) < len(genes) else "" for i in range(len(genes))],
            "identity": ["0.5" if (i ^ 1) < len(genes) else "" for i in range(len(genes))],
        }
    )
    groups_path = tmp_path / "gene_groups.tsv"
    groups.to_csv(groups_path, sep="\t", index=False)
    out = tmp_path / "out"
    run_script(SCRIPT, "--predictions", path, "--dataset", synthetic_dataset, "--groups", groups_path,
               "--tss-index", "500", "--bootstrap", "100", "--outdir", out)  # fmt: skip
    metrics = pd.read_csv(out / "metrics.tsv", sep="\t", keep_default_na=False, na_values=[""])
    test = metrics[(metrics["model"] == "CNN") & (metrics["split"] == "test")].set_index("stratum")
    assert list(test.index) == ["all", "unseen", "hcp", "icp", "expressed"]  # random windows: no low-CpG one
    splits = dataset.set_index("gene_id")["split"]
    partner_split = splits.reindex(groups.set_index("gene_id")["partner"]).to_numpy()
    unseen = (splits.to_numpy() == "test") & ~np.isin(partner_split, ["train", "val"])
    assert test.loc["unseen", "n"] == int(unseen.sum())
    assert test.loc["hcp", "n"] + test.loc["icp", "n"] == test.loc["all", "n"]
    assert np.isfinite(test.loc["all", "auroc_on_off"])
    val = metrics[(metrics["model"] == "CNN") & (metrics["split"] == "val")]
    assert val["val_use"].tolist() == ["early stopping"] and val["fitted_on"].tolist() == ["train"]
    # A groups file that misses genes: one line naming both files.
    groups.iloc[:-3].to_csv(groups_path, sep="\t", index=False)
    result = run_script(SCRIPT, "--predictions", path, "--dataset", synthetic_dataset, "--groups", groups_path,
                        "--outdir", tmp_path / "bad", check=False)  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert result.returncode != 0 and len(errors) == 1
    assert "gene_groups.tsv" in errors[0] and str(synthetic_dataset) in errors[0]
