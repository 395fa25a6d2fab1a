"""The model ladder: the gLM against every rung (paired Δr and ΔMSE) per stratum, Holm within each, and
the compute table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, assert_one_line_error, run_script

from seq2expr.evaluation.ladder import LADDER_COLUMNS, ladder_table
from seq2expr.evaluation.runs import group_models
from seq2expr.evaluation.strata import gene_strata
from seq2expr.io.compute import COMPUTE_COLUMNS
from seq2expr.io.predictions import make_predictions, write_predictions
from seq2expr.models.roster import MEAN_BASELINE

CONFIG = REPO / "assets" / "multiqc_config.yml"


def planted(n_test: int = 120, seed: int = 2) -> list[tuple[str, pd.DataFrame]]:
    """A strong model (the gLM here), a weaker one, and a constant one, on the same genes."""
    rng = np.random.default_rng(seed)
    n = n_test + 40
    observed = rng.normal(0, 1, n)
    genes = [f"g{i:03d}" for i in range(n)]
    splits = ["train"] * 40 + ["test"] * n_test
    models = {
        "DNABERT-2": observed + rng.normal(0, 0.5, n),
        "CNN": observed + rng.normal(0, 1.5, n),
        "flat": np.full(n, 0.1),
    }
    return [(f"{name}.tsv", make_predictions(genes, splits, observed, values, name)) for name, values in models.items()]


def test_the_glm_against_each_rung() -> None:
    ladder = ladder_table(group_models(planted()), "DNABERT-2", 500, 1).set_index("rung")
    assert sorted(ladder.reset_index().columns) == sorted(LADDER_COLUMNS)
    assert set(ladder.index) == {"CNN", "flat"}
    cnn, flat = ladder.loc["CNN"], ladder.loc["flat"]
    assert cnn["delta_r"] == pytest.approx(cnn["pearson_glm"] - cnn["pearson_rung"])
    assert 0 < cnn["delta_r_ci_low"] < cnn["delta_r"] < cnn["delta_r_ci_high"]
    assert cnn["delta_mse"] > 0 and cnn["delta_mse_ci_low"] > 0 and cnn["p"] < 0.01 and cnn["p_williams"] < 0.01
    # a constant rung has no r: Δr is the gLM's own r, and only its MSE is compared
    assert np.isnan(flat["pearson_rung"]) and np.isnan(flat["p_williams"])
    assert flat["delta_r"] == pytest.approx(flat["pearson_glm"])
    assert flat["delta_r_ci_low"] > 0 and flat["delta_mse_ci_low"] > 0


def test_the_ladder_per_stratum_with_holm_within_each() -> None:
    """Groups give the unseen stratum. DNABERT-2 against the CNN on all genes is the primary family (a family of
    one here: its Holm p is its p); every other row is exploratory, Holm-adjusted within its stratum's family."""
    models = group_models(planted())
    genes = models[0].genes
    # test genes 40..59 share a group with train genes 0..19; the other test genes are alone
    groups = pd.Series({gene: f"G{i - 40 if 40 <= i < 60 else i}" for i, gene in enumerate(genes.index)})
    strata = gene_strata(genes["split"], groups=groups)
    ladder = ladder_table([*models, replace(models[0], name="CNN2")], "DNABERT-2", 300, 1, strata)
    assert set(ladder["stratum"]) == {"all", "unseen"}
    for stratum, rows in ladder.groupby("stratum"):
        primary = (rows["rung"] == "CNN") & (rows["stratum"] == "all")
        assert (rows.loc[primary, "family"] == "primary").all()
        assert rows.loc[primary, "p_holm"].to_numpy() == pytest.approx(rows.loc[primary, "p"].to_numpy())
        assert (rows.loc[~primary, "family"] == f"exploratory:{stratum}").all()
        # the family also holds the pairs without DNABERT-2 (in comparison.tsv): adjusted over all of them
        assert (rows["p_holm"] >= rows["p"]).all()
    unseen = ladder[ladder["stratum"] == "unseen"]
    assert (unseen["n"] == 120 - 20).all() and len(unseen) == 3


def test_no_ladder_without_the_glm() -> None:
    assert ladder_table(group_models(planted()), "Enformer", 200, 1).empty


def write_inputs(folder: Path) -> tuple[list[Path], list[Path]]:
    predictions, compute = [], []
    for name, table in planted():
        path = folder / name
        write_predictions(table, path)
        predictions.append(path)
        model = table["model"].iloc[0]
        on_gpu = model == "DNABERT-2"
        row = [
            model,
            "cuda" if on_gpu else "cpu",
            "H100" if on_gpu else "x86_64",
            8,
            1800.0,
            3.5,
            20.0 if on_gpu else 0.0,
            0.5 if on_gpu else 0.0,
            "false",
        ]
        compute_path = folder / f"{model}_compute.tsv"
        pd.DataFrame([row], columns=COMPUTE_COLUMNS).to_csv(compute_path, sep="\t", index=False)
        compute.append(compute_path)
    return predictions, compute


def test_the_command_writes_the_ladder_and_compute_tables(tmp_path: Path) -> None:
    """The tables behind the report's ladder (how MultiQC renders them: tests/python/test_report.py)."""
    predictions, compute = write_inputs(tmp_path)
    out = tmp_path / "eval"
    run_script(
        "evaluate_models.py",
        "--predictions", *predictions,
        *[item for path in compute for item in ("--compute", path)],
        "--bootstrap", "200",
        "--outdir", out,
    )  # fmt: skip
    ladder = pd.read_csv(out / "ladder.tsv", sep="\t")
    assert sorted(ladder["rung"]) == ["CNN", "flat"] and set(ladder["stratum"]) == {"all"}
    summary = pd.read_csv(out / "compute.tsv", sep="\t").set_index("model")
    assert summary.loc["DNABERT-2", "gpu_hours"] == 0.5 and summary.loc["CNN", "device"] == "cpu"


def test_a_bad_compute_file_is_one_line(tmp_path: Path) -> None:
    predictions, _ = write_inputs(tmp_path)
    bad = tmp_path / "bad_compute.tsv"
    bad.write_text("\t".join(COMPUTE_COLUMNS) + "\nCNN\tcpu\tx\t1\t-5\t1\t0\t0\tfalse\n")
    result = run_script(
        "evaluate_models.py", "--predictions", *predictions, "--compute", bad, "--outdir", tmp_path / "o", check=False
    )
    assert_one_line_error(result, "line 2: wall_seconds must not be negative")


def test_the_mean_baseline_is_a_rung_when_the_dataset_is_given(cross_fitted_dataset: Path, tmp_path: Path) -> None:
    """The bundled dataset is cross-fitted: one file per fold, pooled; the baselines are fitted per fold."""
    from seq2expr.data.dataset import read_dataset
    from seq2expr.data.folds import fold_view, n_folds

    dataset = read_dataset(cross_fitted_dataset)
    rng = np.random.default_rng(4)
    noisy = dataset["target"].to_numpy() + rng.normal(0, 0.5, len(dataset))
    paths = []
    for fold in range(1, n_folds(dataset) + 1):
        view = fold_view(dataset, fold, 0)
        path = tmp_path / f"glm_{fold}.tsv"
        write_predictions(
            make_predictions(view["gene_id"], view["split"], view["target"], noisy, "DNABERT-2", fold=fold), path
        )
        paths.append(path)
    run_script(
        "evaluate_models.py",
        "--predictions",
        *paths,
        "--dataset",
        cross_fitted_dataset,
        "--outdir",
        tmp_path / "o",
    )
    ladder = pd.read_csv(tmp_path / "o" / "ladder.tsv", sep="\t")
    # no --groups: no unseen stratum; the random windows of the bundled data hold no low-CpG promoter
    assert set(ladder["stratum"]) == {"all", "hcp", "icp", "expressed"}
    ladder = ladder[ladder["stratum"] == "all"].set_index("rung")
    assert {MEAN_BASELINE, "gc_cpg_baseline"} <= set(ladder.index)
    assert ladder.loc[MEAN_BASELINE, "delta_mse_ci_low"] > 0
    assert ladder.loc["gc_cpg_baseline", "family"] == "primary"
    assert "corrected resampled t" in ladder.loc["gc_cpg_baseline", "ci_method"]
