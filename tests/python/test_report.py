"""The MultiQC custom content: each writer's output, the configuration, and a real MultiQC run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, TEST_UPSTREAM, run_script

from seq2expr.dataset import read_dataset
from seq2expr.evaluate import comparison_table, group_models, mean_prediction, metrics_table
from seq2expr.predictions import make_predictions, write_predictions
from seq2expr.report import (
    DISTRIBUTION_ID,
    METHODS_ID,
    SCATTER_ID,
    SECTION_IDS,
    MethodsInput,
    _intervals,
    comparison_section,
    distribution_section,
    methods_section,
    observed_vs_predicted_section,
    pearson_by_split_section,
    row_labels,
)
from seq2expr.synthetic import PLANTED_KMER, PLANTED_REGION, count_occurrences

CONFIG = REPO / "assets" / "multiqc_config.yml"
OTHER_STEPS_SECTIONS = ("dnabert2_training_curves", "dexter_variables")


def planted_predictions(dataset: pd.DataFrame, folder: Path) -> list[Path]:
    """Two models of the synthetic data: one reads the planted k-mer count, one is a noisier copy of it."""
    start, end = TEST_UPSTREAM + PLANTED_REGION[0], TEST_UPSTREAM + PLANTED_REGION[1]
    counts = dataset["sequence"].map(lambda s: count_occurrences(s[start : end + 1], PLANTED_KMER)).to_numpy(float)
    fit = (dataset["split"] != "test").to_numpy()
    slope, intercept = np.polyfit(counts[fit], dataset["target"].to_numpy()[fit], 1)
    rng = np.random.default_rng(5)
    paths = []
    for name, noise in (("planted_kmer", 0.3), ("noisy_planted", 0.9)):
        predicted = intercept + slope * counts + rng.normal(0, noise, len(dataset))
        path = folder / f"{name}.tsv"
        write_predictions(
            make_predictions(dataset["gene_id"], dataset["split"], dataset["target"], predicted, name), path
        )
        paths.append(path)
    return paths


def small_models(n_test: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    n = n_test + 20
    observed = rng.normal(1, 1, n)
    splits = ["train"] * 20 + ["test"] * n_test
    tables = [
        (f"{name}.tsv", make_predictions([f"g{i}" for i in range(n)], splits, observed, observed * 0.5 + noise, name))
        for name, noise in (("a", rng.normal(0, 0.5, n)), ("b", rng.normal(0, 1, n)))
    ]
    return {model.name: mean_prediction(model) for model in group_models(tables)}


def config_section_ids(content: bytes, name: str) -> str:
    """The section id a custom-content file declares (PNG: its file name, as MultiQC takes it)."""
    if name.endswith(".png"):
        return name.removesuffix("_mqc.png")
    text = content.decode("utf-8")
    if name.endswith(".html"):
        return str(yaml.safe_load(text.split("-->")[0].removeprefix("<!--"))["id"])
    if name.endswith(".tsv"):
        header = "\n".join(line[2:] for line in text.splitlines() if line.startswith("# "))
        return str(yaml.safe_load(header)["id"])
    return str(yaml.safe_load(text)["id"])


# --- writers ----------------------------------------------------------------------------------


def test_scatter_for_few_genes_png_for_many():
    models = small_models(60)
    scatter = observed_vs_predicted_section(models, max_points=100)
    assert scatter.name == f"{SCATTER_ID}_mqc.yaml"
    document = yaml.safe_load(scatter.content)
    assert [label["name"] for label in document["pconfig"]["data_labels"]] == ["a", "b"]
    assert [len(dataset) for dataset in document["data"]] == [60, 60]
    point = document["data"][0]["g20"]
    assert point["x"] == pytest.approx(models["a"].loc["g20", "observed"], abs=1e-4)
    assert point["y"] == pytest.approx(models["a"].loc["g20", "predicted"], abs=1e-4)
    image = observed_vs_predicted_section(models, max_points=59)
    assert image.name == f"{SCATTER_ID}_mqc.png" and image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image.content) < 300_000  # "few and small PNGs"
    assert observed_vs_predicted_section(models, max_points=59).content == image.content  # reproducible bytes


def test_distribution_densities_are_scaled_to_their_own_peak():
    """A constant model's spike must not flatten the other curves: every curve peaks at 1."""
    models = small_models(80)
    models["constant"] = models["a"].assign(predicted=0.5)
    document = yaml.safe_load(distribution_section(models).content)
    assert document["id"] == DISTRIBUTION_ID and document["plot_type"] == "linegraph"
    assert list(document["data"]) == ["observed", "a", "b", "constant"]
    areas = {}
    for name, series in document["data"].items():
        x, y = np.array(list(series)), np.array(list(series.values()))
        assert y.max() == pytest.approx(1) and y.min() >= 0, name
        areas[name] = np.trapezoid(y, x)
    # The predictions (half the signal plus noise) are narrower than the truth: less area under the same peak.
    assert areas["a"] < areas["observed"]
    assert "peak" in document["pconfig"]["ylab"] and "log10 TPM" in document["pconfig"]["xlab"]


def test_pearson_by_split_is_an_interactive_bar_graph_without_models_lacking_r():
    models = small_models(40)
    runs = group_models([(f"{name}.tsv", table.reset_index().assign(model=name)) for name, table in models.items()])
    metrics = metrics_table(runs, 100, seed=1)
    metrics.loc[len(metrics)] = {**metrics.iloc[0].to_dict(), "model": "mean_baseline", "pearson": np.nan}
    figure = pearson_by_split_section(metrics)
    document = yaml.safe_load(figure.content)
    assert figure.name == "pearson_by_split_mqc.yaml" and document["plot_type"] == "bargraph"
    assert [label.split(" ")[0] for label in document["data"]] == ["a", "b"]
    test_a = metrics.set_index(["model", "split"]).loc[("a", "test")]
    label_a = next(iter(document["data"]))
    assert f"[{test_a['pearson_ci_low']:.3f}, {test_a['pearson_ci_high']:.3f}]".replace("-", "\u2212") in label_a
    assert document["data"][label_a]["test"] == pytest.approx(test_a["pearson"], abs=1e-4)


def test_metrics_rows_mark_val_in_training_and_near_constant_models():
    """DExTER and the baselines are fitted on val: their val row says so; a near-constant model is flagged."""
    models = small_models(60)
    models["DExTER"] = models.pop("a")
    models["flat"] = models["b"].assign(predicted=models["b"]["predicted"] * 1e-6)
    for table in models.values():
        table.loc[table.index[:5], "split"] = "val"
    runs = group_models([(f"{name}.tsv", table.reset_index().assign(model=name)) for name, table in models.items()])
    metrics = metrics_table(runs, 100, seed=1)
    labels = dict(zip(zip(metrics["model"], metrics["split"], strict=True), row_labels(metrics), strict=True))
    assert labels[("DExTER", "val")] == "DExTER · val (in training for DExTER)"
    assert labels[("b", "val")] == "b · val"
    assert labels[("flat", "test")] == "flat · test ⚠ near-constant predictions"
    comparison = comparison_table(runs, 100, seed=1)
    flagged = dict(zip(comparison["model_a"] + "/" + comparison["model_b"], comparison["near_constant"], strict=True))
    assert flagged == {"DExTER/b": False, "DExTER/flat": True, "b/flat": True}
    assert "A b vs B flat ⚠ near-constant predictions" in comparison_section(comparison).content.decode()
    assert metrics.set_index(["model", "split"])["near_constant"].groupby("model").all().to_dict() == {
        "DExTER": False,
        "b": False,
        "flat": True,
    }


def test_intervals_print_as_brackets_with_true_minus_signs():
    table = pd.DataFrame({"low": [-0.371, 0.1, np.nan], "high": [-0.006, 0.25, 0.3]})
    assert _intervals(table, "low", "high") == ["[\u22120.371, \u22120.006]", "[0.100, 0.250]", "n/a"]


def test_methods_text_names_inputs_seed_and_versions():
    section = methods_section(
        [MethodsInput("predictions.tsv", "predictions of dexter", "ab" * 32, 120)],
        {"train": 80, "val": 10, "test": 30},
        {"dexter": 1, "dnabert2": 3},
        {"seq2expr": "0.1.0", "scipy": "1.17.1"},
        seed=686185200,
        resamples=1000,
        dataset_given=False,
    )
    text = section.content.decode()
    assert section.name == f"{METHODS_ID}_mqc.html"
    for expected in ("predictions.tsv", "686185200", "1,000 resamples", "scipy 1.17.1", "test 30", "dnabert2: 3"):
        assert expected in text
    assert "No dataset was given" in text


# --- configuration ----------------------------------------------------------------------------


def test_config_lists_every_section_with_title_description_and_order(tmp_path: Path):
    config = yaml.safe_load(CONFIG.read_text())
    models = small_models(30)
    runs = group_models([(f"{n}.tsv", t.reset_index().assign(model=n)) for n, t in models.items()])
    metrics = metrics_table(runs, 100, seed=1)
    written = {
        config_section_ids(section.content, section.name)
        for section in (
            observed_vs_predicted_section(models),
            observed_vs_predicted_section(models, max_points=1),
            distribution_section(models),
            pearson_by_split_section(metrics),
        )
    }
    assert written <= set(SECTION_IDS)
    for section in (*SECTION_IDS, *OTHER_STEPS_SECTIONS):
        entry = config["custom_data"][section]
        assert entry["section_name"].strip()
        description = entry["description"].strip()
        assert description.endswith(".") and description.count(". ") == 0, f"{section}: one sentence"
        assert section in config["report_section_order"]
        assert section in config["custom_content"]["order"]
    order = [config["report_section_order"][s]["order"] for s in config["custom_content"]["order"]]
    assert order == sorted(order, reverse=True)
    assert config["title"] and config["intro_text"]


# --- a real MultiQC run on the command's outputs ---------------------------------------------


def run_multiqc(source: Path, outdir: Path) -> Path:
    multiqc = shutil.which("multiqc")
    command = [multiqc] if multiqc else [sys.executable, "-m", "multiqc"]
    result = subprocess.run(
        # static plot export (export_plots in the config) takes ~20 s and is not what these tests check
        [
            *command,
            "--force",
            "--no-ansi",
            "--config",
            str(CONFIG),
            "--cl-config",
            "export_plots: false",
            "--outdir",
            str(outdir),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (report,) = outdir.glob("*multiqc_report.html")
    return report


@pytest.mark.slow
def test_multiqc_renders_the_report(tmp_path: Path, synthetic_dataset: Path):
    dataset = read_dataset(synthetic_dataset)
    predictions = planted_predictions(dataset, tmp_path)
    evaluation = tmp_path / "evaluation"
    run_script(
        "evaluate_models.py",
        "--predictions", *predictions,
        "--dataset", synthetic_dataset,
        "--bootstrap", "200",
        "--max-scatter-points", "100",  # the synthetic test split has more genes: the PNG variant
        "--outdir", evaluation,
    )  # fmt: skip
    assert (evaluation / f"{SCATTER_ID}_mqc.png").exists()
    report = run_multiqc(evaluation, tmp_path / "multiqc")
    html = report.read_text()
    positions = [html.index(f'<h2 class="mb-0" id="{section}">') for section in SECTION_IDS]
    assert positions == sorted(positions), "sections out of the configured order"
    config = yaml.safe_load(CONFIG.read_text())
    for section in SECTION_IDS:
        assert config["custom_data"][section]["section_name"] in html
    scatter_html = html[positions[2] : positions[3]]
    assert "data:image/png;base64," in scatter_html
    data = next(tmp_path.glob("multiqc/*_data"))
    metrics = pd.read_csv(data / "multiqc_model_metrics_table.txt", sep="\t")
    assert len(metrics) == 12  # 2 models + 2 baselines × 3 splits
    comparison = pd.read_csv(data / "multiqc_model_comparison_table.txt", sep="\t")
    assert len(comparison) == 3  # the mean baseline has no r
    distribution = pd.read_csv(data / f"multiqc_{DISTRIBUTION_ID}_plot.txt", sep="\t", index_col=0)
    assert set(distribution.index) == {"observed", "planted_kmer", "noisy_planted"}
    # The planted-signal model beats the GC/CpG baseline and its noisier copy, in the numbers the report shows.
    table = pd.read_csv(evaluation / "comparison.tsv", sep="\t").set_index(["model_a", "model_b"])
    assert table.loc[("noisy_planted", "planted_kmer"), "delta_r_ci_high"] < 0
    assert table.loc[("noisy_planted", "planted_kmer"), "p_value_holm"] < 0.05


@pytest.mark.slow
def test_multiqc_draws_the_interactive_scatter(tmp_path: Path):
    folder = tmp_path / "predictions"
    folder.mkdir()
    paths = []
    for name, table in small_models(80).items():
        path = folder / f"{name}.tsv"
        write_predictions(table.reset_index().assign(model=name), path)
        paths.append(path)
    evaluation = tmp_path / "evaluation"
    run_script("evaluate_models.py", "--predictions", *paths, "--bootstrap", "100", "--outdir", evaluation)
    report = run_multiqc(evaluation, tmp_path / "multiqc")
    html = report.read_text()
    for section in SECTION_IDS:
        assert f'<h2 class="mb-0" id="{section}">' in html
    data = next(tmp_path.glob("multiqc/*_data"))
    assert (data / f"multiqc_{SCATTER_ID}_plot.txt").exists()
    assert (data / f"multiqc_{SCATTER_ID}_plot_1.txt").exists()  # one dataset per model
    assert (
        "data:image/png;base64," not in html[html.index(f'id="{SCATTER_ID}"') : html.index(f'id="{DISTRIBUTION_ID}"')]
    )
