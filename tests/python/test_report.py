"""The evaluation's report: each section from hand-made tables (the contract of metrics.tsv,
comparison.tsv and ladder.tsv), the MultiQC configuration, and real MultiQC runs read as a person
would read them (verdict first, the ladder per stratum, test rows first, warnings visible)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, TEST_UPSTREAM, run_script
from matplotlib.container import ErrorbarContainer
from test_verdict import GENES, LADDER_RUN, contract_comparison, contract_metrics

from seq2expr.data.dataset import read_dataset
from seq2expr.data.synthetic import PLANTED_KMER, PLANTED_REGION, count_occurrences
from seq2expr.evaluation.ladder import LADDER_COLUMNS
from seq2expr.evaluation.runs import group_models, mean_prediction
from seq2expr.evaluation.step import Methods, MethodsInput
from seq2expr.interpret.attribute import Attribution
from seq2expr.io.multiqc import html_file, interval_cells, table_section
from seq2expr.io.predictions import make_predictions, write_predictions
from seq2expr.models.roster import CNN, is_glm, is_simple
from seq2expr.report.build import (
    DISTRIBUTION_ID,
    METHODS_ID,
    SCATTER_ID,
    distribution_section,
    evaluation_report,
    methods_section,
    observed_vs_predicted_section,
    pearson_by_split_section,
)
from seq2expr.report.ladder import LADDER_ID, ladder_comparison_section, ladder_figure, ladder_section
from seq2expr.report.style import SYNTHETIC_NOTE, best_first, row_labels
from seq2expr.report.tables import METRICS_ID, STRATA_ID, comparison_section, metrics_section, strata_section
from seq2expr.report.verdict import VERDICT_ID

CONFIG = REPO / "assets" / "multiqc_config.yml"
OTHER_STEPS_SECTIONS = (
    "dnabert2_training_curves",
    "cnn_training_curves",
    "dexter_variables",
    "tss_windows_summary",
    "dataset_summary",
    "gene_groups",
)
METHODS = Methods(
    inputs=[MethodsInput("predictions.tsv", "predictions of DExTER", "ab" * 32, 120)],
    split_counts={"train": 80, "val": 10, "test": 30},
    runs={"DExTER": 1, "DNABERT-2": 3},
    versions={"seq2expr": "0.1.0", "scipy": "1.17.1"},
    seed=686185200,
    resamples=1000,
    dataset_given=False,
)
FULL_RUN = {
    model: {**strata, "lcp": strata["unseen"], "expressed": strata["hcp"]} for model, strata in LADDER_RUN.items()
}


def small_models(n_test: int, names: tuple[str, ...] = ("a", "b")) -> dict[str, pd.DataFrame]:
    """Run-averaged predictions of models that read the observed value through more and more noise."""
    rng = np.random.default_rng(1)
    n = n_test + 20
    observed = rng.normal(1, 1, n)
    splits = ["train"] * 20 + ["test"] * n_test
    tables = [
        (f"{name}.tsv", make_predictions([f"g{i}" for i in range(n)], splits, observed, observed * 0.5 + noise, name))
        for noise, name in zip((rng.normal(0, 0.5 + i, n) for i in range(len(names))), names, strict=True)
    ]
    return {model.name: mean_prediction(model) for model in group_models(tables)}


def ranked(models: dict[str, pd.DataFrame], order: list[str]) -> pd.DataFrame:
    """Hand-made metrics in which `order` is the ranking by test r, whatever the names' order."""
    return contract_metrics(
        {name: {"all": (0.8 - 0.1 * i, 0.7 - 0.1 * i, 0.9 - 0.1 * i)} for i, name in enumerate(order)}
    )


def contract_ladder(metrics: pd.DataFrame, glm: str = "DNABERT-2") -> pd.DataFrame:
    """ladder.tsv rows for `glm` against every other model in every stratum of the hand-made metrics."""
    test = metrics[metrics["split"] == "test"]
    r = {(str(m), str(s)): float(v) for m, s, v in zip(test["model"], test["stratum"], test["pearson"], strict=True)}
    rows = []
    for model, stratum, genes in zip(test["model"], test["stratum"], test["n"], strict=True):
        if model == glm:
            continue
        r_glm, r_rung = r[(glm, stratum)], r[(model, stratum)]
        delta = r_glm - (r_rung if np.isfinite(r_rung) else 0.0)
        rows.append(
            {
                "glm": glm,
                "rung": model,
                "stratum": stratum,
                "n": genes,
                "pearson_glm": r_glm,
                "pearson_rung": r_rung,
                "delta_r": delta,
                "delta_r_ci_low": delta - 0.05,
                "delta_r_ci_high": delta + 0.05,
                "mse_glm": 0.5,
                "mse_rung": 0.6,
                "delta_mse": 0.1,
                "delta_mse_ci_low": 0.02,
                "delta_mse_ci_high": 0.2,
                "p": 0.01,
                "p_holm": 0.04,
                "p_williams": 0.01,
                "family": f"exploratory:{stratum}",
            }
        )
    return pd.DataFrame(rows, columns=LADDER_COLUMNS)


def tsv_rows(content: bytes) -> pd.DataFrame:
    """The table of a custom-content TSV (below its `#` header)."""
    lines = [line for line in content.decode().splitlines() if not line.startswith("#")]
    return pd.DataFrame([line.split("\t") for line in lines[1:]], columns=lines[0].split("\t"))


def tsv_header(content: bytes) -> dict:
    """The configuration of a custom-content TSV (its `#` lines)."""
    return yaml.safe_load("\n".join(line[2:] for line in content.decode().splitlines() if line.startswith("# ")))


def section_id(content: bytes, name: str) -> str:
    """The section id a custom-content file declares (PNG: its file name, as MultiQC takes it)."""
    if name.endswith(".png"):
        return name.removesuffix("_mqc.png")
    text = content.decode("utf-8")
    if name.endswith(".html"):
        return str(yaml.safe_load(text.split("-->")[0].removeprefix("<!--"))["id"])
    if name.endswith(".tsv"):
        return str(tsv_header(content)["id"])
    return str(yaml.safe_load(text)["id"])


# --- the tables -------------------------------------------------------------------------------


def test_performance_table_puts_test_rows_first_and_says_what_val_was_used_for():
    metrics = contract_metrics(FULL_RUN)
    rows = tsv_rows(metrics_section(metrics, random_init={"CNN"}).content)
    labels = rows["row"].tolist()
    assert labels[:5] == [
        "DNABERT-2 · test",
        "DExTER · test",
        "CNN · test ⚠ random weights",
        "gc_cpg_baseline · test",
        "mean_baseline · test (constant: no r)",
    ]
    assert labels[5:10] == [
        "DNABERT-2 · val (early stopping)",
        "DExTER · val (in the fit)",
        "CNN · val (early stopping) ⚠ random weights",
        "gc_cpg_baseline · val (in the fit)",
        "mean_baseline · val (in the fit) (constant: no r)",
    ]
    assert [label.split(" · ")[1].split(" ")[0] for label in labels[10:]] == ["train"] * 5
    assert rows["fitted_on"].tolist()[:3] == ["train", "train+val", "train"]
    assert rows["pearson_ci"].iloc[0] == "[0.650, 0.750]" and rows["pearson_ci"].iloc[4] == "n/a"
    # few columns shown (the others are in metrics.tsv): the table fits the page
    header = tsv_header(metrics_section(metrics).content)
    shown = [column for column, settings in header["headers"].items() if not settings.get("hidden")]
    assert len(shown) <= 7, shown
    assert header["pconfig"]["sort_rows"] is False


def test_strata_table_and_the_comparisons_name_their_stratum_and_holm_family():
    metrics = contract_metrics(FULL_RUN)
    section = strata_section(metrics)
    assert section is not None
    strata = tsv_rows(section.content)
    firsts = strata.groupby(strata["row"].str.split(" · ").str[0], sort=False).head(1)["row"]
    assert firsts.tolist() == [
        "unseen genes · DExTER",  # highest r first within each stratum
        "high-CpG promoters (HCP) · CNN",
        "low-CpG promoters (LCP) · DExTER",
        "expressed genes (TPM ≥ 1) · CNN",
    ]
    assert strata_section(contract_metrics({"a": {"all": (0.5, 0.4, 0.6)}})) is None
    ladder = ladder_comparison_section(contract_ladder(metrics)).content
    description = tsv_header(ladder)["headers"]["p_holm"]["description"]
    assert description.endswith("Holm-adjusted within the rows of the same stratum (families exploratory:all, "
                                "exploratory:unseen, exploratory:hcp, exploratory:lcp, exploratory:expressed)")  # fmt: skip
    assert tsv_rows(ladder)["Comparison"].iloc[0] == "all genes · vs CNN"
    comparison = contract_comparison({("DNABERT-2", "DExTER", "all"): (0.06, 0.02, 0.1), ("a", "b", "hcp"): (0, -1, 1)})
    pairs = comparison_section(comparison).content
    assert tsv_header(pairs)["headers"]["p_holm"]["description"].endswith("(family exploratory:all)")
    assert tsv_rows(pairs)["Comparison"].tolist() == ["DNABERT-2 vs DExTER"]  # the strata pairs stay in comparison.tsv


def test_one_table_helper_and_one_interval_formatter():
    table = pd.DataFrame({"low": [-0.371, 0.1, np.nan], "high": [-0.006, 0.25, 0.3]})
    assert interval_cells(table, "low", "high") == ["[\u22120.371, \u22120.006]", "[0.100, 0.250]", "n/a"]
    written = table_section("some_table", pd.DataFrame({"row": ["x"], "n": [3]}), "Row", {"n": {"title": "N"}})
    assert written.name == "some_table_mqc.tsv"
    assert written.content.decode().startswith(
        "# id: some_table\n# plot_type: table\n# pconfig:\n#   id: some_table_table\n#   col1_header: Row\n"
        "#   sort_rows: false\n# headers:\n#   n:\n#     title: N\nrow\tn\nx\t3\n"
    )
    assert html_file("x", "<p>y</p>").content == b"<!--\nid: x\nplot_type: html\n-->\n<p>y</p>"


def test_model_roles_match_the_model_steps():
    from seq2expr.models.cnn.training import CURVES  # imports torch: only here
    from seq2expr.models.dnabert2.finetune import MODEL_NAME as DNABERT2_NAME
    from seq2expr.models.dnabert2.probe import MODEL_NAME as PROBE_NAME

    assert (
        CURVES.model == CNN
        and is_simple(CNN)
        and is_glm(PROBE_NAME)
        and is_glm("probe:NT-v2")
        and is_glm(DNABERT2_NAME)
    )
    assert not is_glm("DExTER") and not is_simple("DNABERT-2")


# --- the figures ------------------------------------------------------------------------------


def test_ladder_is_one_point_and_whisker_per_model_for_each_stratum_and_on_off():
    metrics = contract_metrics(FULL_RUN, auroc={"DNABERT-2": (0.86, 0.82, 0.9), "DExTER": (0.84, 0.8, 0.88)})
    figure = ladder_figure(metrics, random_init={"CNN"})
    panels = [axis for axis in figure.axes if axis.get_visible()]
    assert [axis.get_title().split("\n")[0] for axis in panels] == [
        "all genes",
        "unseen genes",
        "high-CpG promoters (HCP)",
        "low-CpG promoters (LCP)",
        "expressed genes (TPM ≥ 1)",
        "on/off: TPM ≥ 1 vs below",
    ]
    assert [axis.get_title().split("\n")[1] for axis in panels[:3]] == [
        f"n = {GENES[s]}" for s in ("all", "unseen", "hcp")
    ]
    # models as rows, best on all genes at the top; the mean (no r) is left out; the caveat on the label
    labels = [tick.get_text() for tick in panels[0].get_yticklabels()]
    assert labels == ["DNABERT-2", "DExTER", "CNN\n⚠ random weights", "gc_cpg_baseline"]
    for axis, stratum in zip(panels[:5], ("all", "unseen", "hcp", "lcp", "expressed"), strict=True):
        # one errorbar container (point + whisker) per model, and no line that joins models
        points = [container for container in axis.containers if isinstance(container, ErrorbarContainer)]
        assert len(points) == len(axis.containers) == 4, stratum
        assert all(len(np.atleast_1d(line.get_xdata())) <= 2 for line in axis.get_lines())
        x = [float(np.atleast_1d(container.lines[0].get_xdata())[0]) for container in points]
        assert x == pytest.approx(
            [FULL_RUN[model][stratum][0] for model in ("DNABERT-2", "DExTER", "CNN", "gc_cpg_baseline")]
        )
    assert len(panels[5].containers) == 2  # AUROC where the table has one
    png = ladder_section(metrics).content
    assert png.startswith(b"\x89PNG") and len(png) < 300_000 and ladder_section(metrics).content == png


def test_scatter_best_model_first_with_the_identity_line_or_png_for_many():
    models = small_models(60)
    metrics = ranked(models, ["b", "a"])  # b ranks first, though a comes first by name
    scatter = observed_vs_predicted_section(models, metrics, max_points=100, random_init={"b"})
    assert scatter.name == f"{SCATTER_ID}_mqc.yaml"
    document = yaml.safe_load(scatter.content)
    assert [label["name"] for label in document["pconfig"]["data_labels"]] == ["b ⚠", "a"]
    assert document["pconfig"]["data_labels"][0]["ylab"] == "Predicted by b (r = 0.800 ⚠ random weights)"
    genes = {name: point for name, point in document["data"][1].items() if not name.startswith("y = x")}
    diagonal = [point for name, point in document["data"][1].items() if name.startswith("y = x")]
    assert len(genes) == 60 and len(diagonal) > 10 and all(point["x"] == point["y"] for point in diagonal)
    assert genes["g20"]["x"] == pytest.approx(models["a"].loc["g20", "observed"], abs=1e-4)
    assert genes["g20"]["y"] == pytest.approx(models["a"].loc["g20", "predicted"], abs=1e-4)
    image = observed_vs_predicted_section(models, metrics, max_points=59)
    assert image.name == f"{SCATTER_ID}_mqc.png" and image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image.content) < 300_000  # "few and small PNGs"
    assert observed_vs_predicted_section(models, metrics, max_points=59).content == image.content  # same bytes


def test_distribution_densities_are_scaled_to_their_own_peak():
    """A constant model's spike must not flatten the other curves: every curve peaks at 1."""
    models = small_models(80)
    models["constant"] = models["a"].assign(predicted=0.5)
    document = yaml.safe_load(distribution_section(models, ranked(models, ["a", "b", "constant"])).content)
    assert document["id"] == DISTRIBUTION_ID and document["plot_type"] == "linegraph"
    assert list(document["data"]) == ["1. a", "2. b", "3. constant", "observed"]
    areas = {}
    for name, series in document["data"].items():
        x, y = np.array(list(series)), np.array(list(series.values()))
        assert y.max() == pytest.approx(1) and y.min() >= 0, name
        areas[name] = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
    # The predictions (half the signal plus noise) are narrower than the truth: less area under the same peak.
    assert areas["1. a"] < areas["observed"]
    assert "peak" in document["pconfig"]["ylab"] and "log10 TPM" in document["pconfig"]["xlab"]


def test_pearson_by_split_bars_carry_the_test_interval_and_skip_models_without_r():
    metrics = contract_metrics({"a": {"all": (-0.2, -0.371, -0.006)}, "mean_baseline": LADDER_RUN["mean_baseline"]})
    document = yaml.safe_load(pearson_by_split_section(metrics).content)
    assert document["plot_type"] == "bargraph"
    assert list(document["data"]) == ["a (test 95% CI [\u22120.371, \u22120.006])"]
    assert document["data"]["a (test 95% CI [\u22120.371, \u22120.006])"] == {"train": 0.0, "val": -0.2, "test": -0.2}


def test_methods_text_names_inputs_strata_seed_and_versions():
    section = methods_section(METHODS, ["all", "unseen", "hcp"])
    text = section.content.decode()
    assert section.name == f"{METHODS_ID}_mqc.html"
    for expected in ("predictions.tsv", "686185200", "1,000 resamples", "scipy 1.17.1", "test 30", "DNABERT-2: 3",
                     "all genes, unseen genes, high-CpG promoters (HCP)", "GC fraction above 0.55", "cluster bootstrap"):  # fmt: skip
        assert expected in text, expected
    assert "No dataset was given" in text


# --- configuration ----------------------------------------------------------------------------


CONTROL = pd.DataFrame(
    {
        "model": ["DNABERT-2", "DExTER", "gc_cpg_baseline"],
        "n": [441] * 3,
        "n_runs": [1] * 3,
        "pearson_real": [0.70, 0.64, 0.55],
        "pearson_shuffled": [0.60, 0.61, 0.55],
        "delta_r": [0.10, 0.03, 0.0],
        "delta_r_ci_low": [0.05, -0.01, 0.0],
        "delta_r_ci_high": [0.15, 0.07, 0.0],
        "p": [0.001, 0.2, 1.0],
        "ci_method": ["corrected resampled t (Nadeau & Bengio 2003), J=5, df=4"] * 3,
        "share_kept": [0.86, 0.95, 1.0],
    }
)


def attribution() -> Attribution:
    """Attribution tables of two models, as `bin/attribute.py` writes them."""
    offsets = np.arange(-60, 61)
    profiles = pd.concat(
        [pd.DataFrame({"offset": offsets, "mean_abs_contribution": np.exp(-((offsets + peak) ** 2) / 50),
                       "mean_contribution": 0.0, "model": model}) for model, peak in (("CNN", 30), ("DExTER", 10))]
    )  # fmt: skip
    motifs = pd.DataFrame(
        {"model": ["CNN"], "motif": ["TATA"], "consensus": ["TATAWAWR"], "matches": [12], "genes": [10],
         "mean_effect": [0.8], "effect_se": [0.1], "background_effect": [0.01], "mean_offset": [-30.0],
         "reference": ["Bucher 1990, J Mol Biol 212:563"]}
    )  # fmt: skip
    kmers = pd.DataFrame({"model": ["CNN"], "kmer": ["TATAAA"], "occurrences": [14], "mean_effect": [0.7],
                          "mean_offset": [-29.0], "known_element": ["TATA"]})  # fmt: skip
    regions = pd.DataFrame({"model": ["DExTER"], "kmer": ["TATA"], "start": [-40], "end": [-20], "coefficient": [0.3]})
    return Attribution(profiles, motifs, kmers, regions)


def report_files(max_points: int = 100) -> list:
    metrics = contract_metrics(FULL_RUN, auroc={"DNABERT-2": (0.86, 0.82, 0.9)})
    comparison = contract_comparison({("DNABERT-2", "DExTER", "all"): (0.06, 0.02, 0.1)}, primary={"DExTER": 0.01})
    models = small_models(60, ("DNABERT-2", "DExTER", "CNN"))
    compute = pd.DataFrame({"model": ["DNABERT-2", "CNN"], "n_runs": [1, 1], "device": ["cuda", "cpu"],
                            "device_name": ["H100", "x86_64"], "wall_seconds": [60.0, 30.0],
                            "peak_host_memory_gib": [2.0, 1.0], "peak_gpu_memory_gib": [10.0, 0.0],
                            "gpu_hours": [0.02, 0.0], "random_init": [True, False]})  # fmt: skip
    return evaluation_report(
        metrics, comparison, contract_ladder(metrics), compute, models, METHODS, max_points,
        control=CONTROL, attribution=attribution(),
    )  # fmt: skip


def test_config_lists_every_section_first_the_verdict():
    config = yaml.safe_load(CONFIG.read_text())
    written = [section_id(file.content, file.name) for file in report_files()]
    assert len(written) == len(set(written)) == 16
    for section in (*written, *OTHER_STEPS_SECTIONS):
        entry = config["custom_data"][section]
        assert entry["section_name"].strip()
        description = entry["description"].strip()
        assert description.endswith(".") and description.count(". ") == 0, f"{section}: one sentence"
        assert section in config["report_section_order"] and section in config["custom_content"]["order"]
    order = [config["report_section_order"][s]["order"] for s in config["custom_content"]["order"]]
    assert order == sorted(order, reverse=True)
    assert config["custom_content"]["order"][:3] == [VERDICT_ID, LADDER_ID, "model_ladder_comparison"]
    assert config["title"] and config["intro_text"]


# --- real MultiQC runs ------------------------------------------------------------------------


def run_multiqc(source: Path, outdir: Path) -> str:
    multiqc = shutil.which("multiqc")
    command = [multiqc] if multiqc else [sys.executable, "-m", "multiqc"]
    result = subprocess.run(
        # static plot export (export_plots in the config) takes ~20 s and is not what these tests check
        [*command, "--force", "--no-ansi", "--config", str(CONFIG), "--cl-config", "export_plots: false",
         "--outdir", str(outdir), str(source)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (report,) = outdir.glob("*multiqc_report.html")
    return report.read_text()


def sections_in_order(html: str) -> list[str]:
    return re.findall(r'<h2 class="mb-0" id="([^"]+)">', html)


def table_rows(html: str, table_id: str) -> list[str]:
    """The row names of a rendered MultiQC table, in the order a reader sees them (the data export sorts them)."""
    return list(dict.fromkeys(re.findall(rf'<tr data-sample-group="([^"]+)" data-table-id="{table_id}_table"', html)))


@pytest.mark.slow
def test_multiqc_reads_verdict_first_ladder_per_stratum_test_rows_first(tmp_path: Path):
    """The report as a person meets it, from hand-made tables: what leads, what is flagged, what is shown."""
    content = tmp_path / "content"
    content.mkdir()
    for file in report_files():
        (content / file.name).write_bytes(file.content)
    html = run_multiqc(content, tmp_path / "multiqc")
    order = sections_in_order(html)
    assert order[:5] == [VERDICT_ID, LADDER_ID, "model_ladder_comparison", METRICS_ID, STRATA_ID]
    verdict = html[html.index(f'id="{VERDICT_ID}"') : html.index(f'id="{LADDER_ID}"')]
    assert "alert-warning" in verdict and "DNABERT-2 has random weights" in verdict
    assert "Exploratory" in verdict
    assert verdict.index("The primary model, DNABERT-2, has random weights") < verdict.index("alert-warning")
    assert "composition control" in verdict
    for section in ("composition_control", "composition_control_table", "attribution_profile", "attribution_motifs"):
        assert f'id="{section}"' in html
    profile = html[html.index('id="attribution_profile"') : html.index('id="attribution_motifs"')]
    assert "attribution_profile_plot" in profile  # the line graph (its data are compressed into the page)
    ladder = html[html.index(f'id="{LADDER_ID}"') : html.index('id="model_ladder_comparison"')]
    assert ladder.count("data:image/png;base64,") == 1  # one figure, a panel per stratum (checked above)
    rows = table_rows(html, METRICS_ID)
    assert len(rows) == 15 and rows[0] == "DNABERT-2 · test ⚠ random weights"
    assert [row.split(" · ")[1].split(" ")[0] for row in rows] == ["test"] * 5 + ["val"] * 5 + ["train"] * 5
    assert "[0.650, 0.750]" in html  # the comma survives MultiQC (thousandsSep_format)


def planted_predictions(dataset: pd.DataFrame, folder: Path) -> list[Path]:
    """Models of the synthetic data: DNABERT-2 reads the planted k-mer count, the CNN a noisier copy."""
    start, end = TEST_UPSTREAM + PLANTED_REGION[0], TEST_UPSTREAM + PLANTED_REGION[1]
    counts = dataset["sequence"].map(lambda s: count_occurrences(s[start : end + 1], PLANTED_KMER)).to_numpy(float)
    fit = (dataset["split"] != "test").to_numpy()
    slope, intercept = np.polyfit(counts[fit], dataset["target"].to_numpy()[fit], 1)
    rng = np.random.default_rng(5)
    paths = []
    for name, noise in (("DNABERT-2", 0.3), ("CNN", 0.9)):
        predicted = intercept + slope * counts + rng.normal(0, noise, len(dataset))
        path = folder / f"{name}.tsv"
        write_predictions(
            make_predictions(dataset["gene_id"], dataset["split"], dataset["target"], predicted, name), path
        )
        paths.append(path)
    return paths


@pytest.mark.slow
def test_multiqc_renders_the_evaluation_of_the_bundled_data(tmp_path: Path, synthetic_dataset: Path):
    """The whole path: the real command on the bundled dataset (the models' single split) and its gene groups,
    then MultiQC."""
    groups = synthetic_dataset.parent / "gene_groups.tsv"
    dataset = read_dataset(synthetic_dataset)
    predictions = planted_predictions(dataset, tmp_path)
    compute = tmp_path / "compute.tsv"
    compute.write_text(
        "model\tdevice\tdevice_name\tcpu_threads\twall_seconds\tpeak_host_memory_gib\tpeak_gpu_memory_gib\t"
        "gpu_hours\trandom_init\nDNABERT-2\tcpu\tx86_64\t2\t60\t1\t0\t0\ttrue\n"
    )
    evaluation = tmp_path / "evaluation"
    run_script(
        "evaluate_models.py",
        "--predictions", *predictions,
        "--dataset", synthetic_dataset,
        "--groups", groups,
        "--tss-index", str(TEST_UPSTREAM),
        "--compute", compute,
        "--bootstrap", "200",
        "--max-scatter-points", "10",  # the synthetic test split has more genes: the PNG variant
        "--synthetic-data",
        "--outdir", evaluation,
    )  # fmt: skip
    metrics = pd.read_csv(evaluation / "metrics.tsv", sep="\t")
    methods = (evaluation / "evaluation_methods_mqc.html").read_text()
    n_test = int(metrics.loc[(metrics["split"] == "test") & (metrics["stratum"] == "all"), "n"].iloc[0])
    hcp = int(metrics.loc[(metrics["split"] == "test") & (metrics["stratum"] == "hcp"), "n"].iloc[0])
    assert f"Test genes per promoter CpG class: high-CpG promoters (HCP) {hcp:,} ({hcp / n_test:.1%})" in methods
    # the bundled split is grouped: every test gene is unseen, so no unseen stratum; its random windows
    # hold no low-CpG promoter
    assert set(metrics["stratum"]) == {"all", "hcp", "icp", "expressed"}
    html = run_multiqc(evaluation, tmp_path / "multiqc")
    order = sections_in_order(html)
    assert order[:2] == [VERDICT_ID, LADDER_ID] and order.index(METRICS_ID) < order.index(SCATTER_ID)
    config = yaml.safe_load(CONFIG.read_text())
    for section in order:
        assert config["custom_data"][section]["section_name"] in html
    verdict = html[html.index(f'id="{VERDICT_ID}"') : html.index(f'id="{LADDER_ID}"')]
    assert "DNABERT-2 has random weights" in verdict and "Highest test r on all" in verdict
    assert verdict.index(SYNTHETIC_NOTE) < verdict.index("The primary model")  # the first line of the verdict
    assert "#mqc_welcome { display: none !important; }" in html  # no tutorial banner above the verdict
    scatter = html[html.index(f'id="{SCATTER_ID}"') : html.index(f'id="{DISTRIBUTION_ID}"')]
    assert "data:image/png;base64," in scatter
    rows = table_rows(html, METRICS_ID)
    assert len(rows) == 12 and all(" · test" in row for row in rows[:4])  # 2 models + 2 baselines × 3 splits
    strata = list(dict.fromkeys(row.split(" · ")[0] for row in table_rows(html, STRATA_ID)))
    assert strata == ["high-CpG promoters (HCP)", "intermediate-CpG promoters (ICP)", "expressed genes (TPM ≥ 1)"]


@pytest.mark.slow
def test_multiqc_draws_the_interactive_scatter(tmp_path: Path):
    folder = tmp_path / "predictions"
    folder.mkdir()
    paths = []
    for name, table in small_models(80).items():
        path = folder / f"{name}.tsv"
        write_predictions(table.reset_index().assign(model=name, fold=0, repeat=0), path)
        paths.append(path)
    evaluation = tmp_path / "evaluation"
    run_script("evaluate_models.py", "--predictions", *paths, "--bootstrap", "100", "--outdir", evaluation)
    html = run_multiqc(evaluation, tmp_path / "multiqc")
    assert sections_in_order(html)[0] == VERDICT_ID
    data = next(tmp_path.glob("multiqc/*_data"))
    first = pd.read_csv(data / f"multiqc_{SCATTER_ID}_plot.txt", sep="\t")
    assert (data / f"multiqc_{SCATTER_ID}_plot_1.txt").exists()  # one dataset per model
    assert first["Sample"].str.startswith("y = x").sum() > 10  # the identity line
    assert (
        "data:image/png;base64," not in html[html.index(f'id="{SCATTER_ID}"') : html.index(f'id="{DISTRIBUTION_ID}"')]
    )


# --- what the report says it shows -------------------------------------------------------------


def verdict_html(files: list) -> str:
    return next(file.content.decode() for file in files if file.name == f"{VERDICT_ID}_mqc.html")


def test_the_synthetic_line_opens_the_report_only_for_test_data_or_random_weights():
    metrics = contract_metrics(FULL_RUN)
    comparison, ladder = contract_comparison({}), contract_ladder(metrics)
    models = small_models(60, ("DNABERT-2", "DExTER", "CNN"))
    real = evaluation_report(metrics, comparison, ladder, pd.DataFrame(), models, METHODS)
    synthetic = evaluation_report(metrics, comparison, ladder, pd.DataFrame(), models, METHODS, synthetic=True)
    assert "synthetic" not in verdict_html(real).lower() and "check the pipeline" not in verdict_html(real)
    html = verdict_html(synthetic)
    assert SYNTHETIC_NOTE == "Synthetic test data — these numbers check the pipeline, not biology."
    assert html.index(SYNTHETIC_NOTE) < html.index('class="lead"')  # above the bottom line
    methods = next(file.content.decode() for file in synthetic if file.name == f"{METHODS_ID}_mqc.html")
    assert "synthetic test data" in methods
    # real data with a random-weight test model: the same line, naming the models
    random = verdict_html(report_files())
    assert random.index(
        "Test models with random weights (DNABERT-2) — their numbers check the pipeline, not biology"
    ) < (random.index('class="lead"'))


def test_the_scatter_counts_genes_not_the_identity_line():
    models = small_models(60)
    document = yaml.safe_load(observed_vs_predicted_section(models, ranked(models, ["b", "a"]), max_points=100).content)
    assert document["pconfig"]["series_label"] is False  # MultiQC's "101 points" would count the y = x dots
    for label, dataset in zip(document["pconfig"]["data_labels"], document["data"], strict=True):
        genes = [name for name in dataset if not name.startswith("y = x")]
        assert len(genes) == 60 and len(dataset) > 60
        assert label["title"] == "Observed vs predicted expression, 60 test genes (grey dots: y = x)"


def test_every_per_model_chart_follows_the_ladder_with_its_flags():
    metrics = contract_metrics(FULL_RUN, near_constant=frozenset({"CNN"}))
    ladder = best_first(metrics)  # the ladder's rows, top first
    assert ladder[:4] == ["DNABERT-2", "DExTER", "CNN", "gc_cpg_baseline"]
    files = {file.name: file.content for file in report_files_with(metrics)}
    flags = {"DNABERT-2": "⚠ random weights", "CNN": "⚠ near-constant predictions"}

    def model_of(name: str) -> str:
        return name.split(" (test ")[0].split(" ⚠")[0].split(". ", 1)[-1]

    bars = yaml.safe_load(files["pearson_by_split_mqc.yaml"])
    assert bars["pconfig"]["sort_samples"] is False  # MultiQC would sort the models by name
    assert [model_of(name) for name in bars["data"]] == [model for model in ladder if model != "mean_baseline"]
    curves = yaml.safe_load(files["prediction_distribution_mqc.yaml"])
    learned = [model for model in ladder if model in ("DNABERT-2", "DExTER", "CNN")]
    assert [model_of(name) for name in curves["data"]][:-1] == learned and list(curves["data"])[-1] == "observed"
    scatter = yaml.safe_load(files["observed_vs_predicted_mqc.yaml"])
    assert [model_of(label["name"]) for label in scatter["pconfig"]["data_labels"]] == learned
    for model, flag in flags.items():
        assert any(name.startswith(model) and flag in name for name in bars["data"]), model
        assert any(name.split(". ", 1)[1] == f"{model} {flag}" for name in curves["data"] if ". " in name), model
        assert any(label["name"] == f"{model} ⚠" for label in scatter["pconfig"]["data_labels"]), model


def report_files_with(metrics: pd.DataFrame) -> list:
    """`report_files` of other metrics: DNABERT-2 with random weights, three learned models."""
    models = small_models(60, ("DNABERT-2", "DExTER", "CNN"))
    compute = pd.DataFrame({"model": ["DNABERT-2"], "n_runs": [1], "device": ["cpu"], "device_name": ["x86_64"],
                            "wall_seconds": [60.0], "peak_host_memory_gib": [2.0], "peak_gpu_memory_gib": [0.0],
                            "gpu_hours": [0.0], "random_init": [True]})  # fmt: skip
    return evaluation_report(metrics, contract_comparison({}), contract_ladder(metrics), compute, models, METHODS)


def test_the_report_config_hides_the_tutorial_banner_and_lets_tables_wrap():
    comment = yaml.safe_load(CONFIG.read_text())["report_comment"]
    assert "#mqc_welcome { display: none !important; }" in comment
    assert ".mqc_table th { white-space: normal;" in comment


def test_row_labels_flag_random_weights_and_constant_models():
    metrics = contract_metrics({"flat": {"all": (0.3, 0.2, 0.4)}, "DNABERT-2": {"all": (0.5, 0.4, 0.6)}},
                               near_constant=frozenset({"flat"}))  # fmt: skip
    test = metrics[metrics["split"] == "test"]
    assert row_labels(test, {"DNABERT-2"}) == [
        "flat · test ⚠ near-constant predictions",
        "DNABERT-2 · test ⚠ random weights",
    ]
