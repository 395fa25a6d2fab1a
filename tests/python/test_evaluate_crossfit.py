"""The evaluation under cross-fitting: pooled out-of-fold predictions, the primary family fixed before the
data, R² against the training mean, calibration, baselines fitted per fold, and the single split unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, invoke
from scipy import stats

from seq2expr.data.dataset import write_dataset
from seq2expr.data.folds import fold_view
from seq2expr.errors import InputError
from seq2expr.evaluation.comparison import PRIMARY, comparison_table, hypotheses, primary_model
from seq2expr.evaluation.interaction import interaction_table
from seq2expr.evaluation.ladder import ladder_table
from seq2expr.evaluation.metrics import baseline_models, folds_table, metrics_table
from seq2expr.evaluation.runs import group_models
from seq2expr.evaluation.step import EvaluationOptions, run
from seq2expr.evaluation.strata import ALL, gene_strata, sequence_composition
from seq2expr.io.predictions import make_predictions, write_predictions
from seq2expr.models.roster import CNN, DEXTER, DNABERT2, DNABERT2_PROBE, GC_CPG_BASELINE, MEAN_BASELINE
from seq2expr.stats import holm_adjust

FOLDS = 5


def crossfit_dataset(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """A cross-fitted dataset: GC drives the target; folds 1..5 (repeat 0), a tenth of the genes inner val."""
    rng = np.random.default_rng(seed)
    gc = rng.uniform(0.3, 0.7, n)
    sequences = ["".join(rng.choice(list("ACGT"), 201, p=[(1 - g) / 2, g / 2, g / 2, (1 - g) / 2])) for g in gc]
    target = 5 * gc + rng.normal(scale=0.3, size=n)
    return pd.DataFrame(
        {
            "gene_id": [f"g{i:05d}" for i in range(n)],
            "chrom": "chr1",
            "split": np.where(rng.random(n) < 0.1, "val", "train"),
            "tpm": 10**target,
            "target": target,
            "sequence": sequences,
            "fold": rng.permutation(np.arange(n) % FOLDS + 1),
        }
    )


def fold_tables(dataset: pd.DataFrame, name: str, skill: float, seeds: int = 2, seed: int = 3) -> list[tuple]:
    """One predictions table per fold and seed: the fold's split labels, skill × target + noise."""
    rng = np.random.default_rng([seed, len(name)])
    tables = []
    for fold in range(1, FOLDS + 1):
        view = fold_view(dataset, fold, 0)
        for run_index in range(seeds):
            predicted = skill * view["target"] + rng.normal(size=len(view))
            table = make_predictions(view["gene_id"], view["split"], view["target"], predicted, name, fold=fold)
            tables.append((f"{name}_f{fold}_s{run_index}.tsv", table))
    return tables


# --- pooling the folds ----------------------------------------------------------------------------


def test_pooled_out_of_fold_predictions_hold_each_gene_once() -> None:
    dataset = crossfit_dataset()
    tables = fold_tables(dataset, "m", 1.0)
    (model,) = group_models(tables)
    assert model.cross_fitted and model.folds == FOLDS and model.n_runs == 2 and len(model.fits) == FOLDS
    assert (model.genes["split"] == "test").all() and len(model.genes) == len(dataset)
    # run i of the pooled prediction is run i of each fold's file, on that fold's genes
    by_gene = dataset.set_index("gene_id")
    for source, table in tables:
        fold = int(table["fold"].iloc[0])
        tested = table[table["split"] == "test"].set_index("gene_id")
        assert set(tested.index) == set(by_gene.index[by_gene["fold"] == fold])
        rows = model.genes.index.get_indexer(tested.index)
        block = next(block for block in model.fits if block.fold == fold)
        column = list(block.sources).index(source)
        assert np.array_equal(model.predicted[rows, column], tested["predicted"].to_numpy())
    # the file order does not matter
    (reordered,) = group_models(tables[::-1])
    assert np.array_equal(reordered.predicted, model.predicted)


def test_a_gene_tested_twice_or_never_is_an_error_naming_the_file() -> None:
    dataset = crossfit_dataset()
    tables = fold_tables(dataset, "m", 1.0, seeds=1)
    gene = dataset.loc[dataset["fold"] == 1, "gene_id"].iloc[0]
    twice = [(source, table.copy()) for source, table in tables]
    twice[1][1].loc[twice[1][1]["gene_id"] == gene, "split"] = "test"  # fold 2's file tests a fold-1 gene too
    with pytest.raises(InputError, match=rf"m_f2_s0\.tsv: gene {gene} of model 'm' is a test gene of fold 1"):
        group_models(twice)
    never = [(source, table.copy()) for source, table in tables]
    never[0][1].loc[never[0][1]["gene_id"] == gene, "split"] = "train"
    with pytest.raises(InputError, match=r"m_f1_s0\.tsv: 1 gene\(s\) of model 'm' are a test gene in no fold"):
        group_models(never)
    with pytest.raises(InputError, match="test gene in no fold"):
        group_models(tables[1:])  # fold 1's file missing


def test_every_model_needs_the_same_folds() -> None:
    dataset = crossfit_dataset()
    other = dataset.assign(fold=np.roll(dataset["fold"].to_numpy(), 1))
    with pytest.raises(InputError, match="not cross-fitted on the same folds"):
        group_models(fold_tables(dataset, "a", 1.0, seeds=1) + fold_tables(other, "b", 1.0, seeds=1))
    single = make_predictions(dataset["gene_id"], ["test"] * len(dataset), dataset["target"], dataset["target"], "c")
    with pytest.raises(InputError, match="not evaluated under the same protocol"):
        group_models([*fold_tables(dataset, "a", 1.0, seeds=1), ("c.tsv", single)])


# --- metrics on the pooled predictions ---------------------------------------------------------


def test_crossfitted_metrics_r2_against_the_training_mean_and_calibration() -> None:
    dataset = crossfit_dataset()
    models = group_models(fold_tables(dataset, "m", 1.0))
    metrics = metrics_table(models, 100, seed=1).set_index(["model", "split", "stratum"])
    assert list(metrics.index.get_level_values("split")) == ["test"]  # no train/val rows under cross-fitting
    row = metrics.loc[("m", "test", ALL)]
    model = models[0]
    observed = model.genes["observed"].to_numpy()
    per_run = [stats.pearsonr(observed, model.predicted[:, run])[0] for run in range(2)]
    assert row["pearson"] == pytest.approx(np.mean(per_run))
    assert row["pearson_ensemble"] == pytest.approx(stats.pearsonr(observed, model.predicted.mean(axis=1))[0])
    assert row["pearson_ci_low"] < row["pearson_folds"] < row["pearson_ci_high"]
    assert "corrected resampled t" in row["ci_method"] and row["ci_df"] == FOLDS - 1
    folds = folds_table(models)
    assert row["pearson_folds"] == pytest.approx(folds["pearson"].mean())
    assert list(folds["fold"]) == [1, 2, 3, 4, 5] and folds["n"].sum() == len(dataset)
    # R² against each fold's training mean (train genes outside the fold; the inner val held out)
    table = dataset.set_index("gene_id").loc[model.genes.index]
    train_mean = {
        fold: table.loc[(table["fold"] != fold) & (table["split"] == "train"), "target"].mean()
        for fold in range(1, FOLDS + 1)
    }
    baseline = table["fold"].map(train_mean).to_numpy()
    r2 = [1 - np.sum((model.predicted[:, run] - observed) ** 2) / np.sum((observed - baseline) ** 2) for run in (0, 1)]
    assert row["r2"] == pytest.approx(np.mean(r2))


def test_calibration_regresses_observed_on_predicted() -> None:
    rng = np.random.default_rng(5)
    predicted = rng.normal(size=120)
    observed = 2 * predicted + 1
    genes = [f"g{i:03d}" for i in range(120)]
    splits = ["train"] * 40 + ["test"] * 80
    models = group_models([("m.tsv", make_predictions(genes, splits, observed, predicted, "m"))])
    row = metrics_table(models, 100, seed=1).set_index("split").loc["test"]
    assert row["calibration_slope"] == pytest.approx(2.0)
    assert row["calibration_intercept"] == pytest.approx(1.0)


def test_single_split_metrics_still_match_hand_computed_r_and_r2() -> None:
    rng = np.random.default_rng(6)
    observed = rng.normal(size=200)
    predicted = 0.6 * observed + rng.normal(scale=0.8, size=200)
    splits = ["train"] * 80 + ["val"] * 20 + ["test"] * 100
    genes = [f"g{i:03d}" for i in range(200)]
    models = group_models([("m.tsv", make_predictions(genes, splits, observed, predicted, "m"))])
    metrics = metrics_table(models, 300, seed=1).set_index("split")
    test = metrics.loc["test"]
    assert test["pearson"] == pytest.approx(stats.pearsonr(observed[100:], predicted[100:])[0])
    assert test["pearson_folds"] == pytest.approx(test["pearson"])
    assert test["pearson_ci_low"] < test["pearson"] < test["pearson_ci_high"]
    assert test["ci_method"].startswith("cluster bootstrap, runs fixed, R=1")
    train_mean = observed[:100].mean()  # a single split's fit genes: train + val
    assert test["r2"] == pytest.approx(
        1 - np.sum((predicted[100:] - observed[100:]) ** 2) / np.sum((observed[100:] - train_mean) ** 2)
    )
    assert list(folds_table(models)[["repeat", "fold"]].iloc[0]) == [0, 0]


def test_small_strata_get_fisher_z_only() -> None:
    rng = np.random.default_rng(7)
    observed = rng.normal(size=30)
    genes = [f"g{i:03d}" for i in range(30)]
    models = group_models([("m.tsv", make_predictions(genes, ["test"] * 30, observed, observed + rng.normal(size=30),
                                                      "m"))])  # fmt: skip
    row = metrics_table(models, 100, seed=1).iloc[0]
    assert row["ci_method"].startswith("Fisher z")
    assert (row["pearson_ci_low"], row["pearson_ci_high"]) == pytest.approx(
        (row["pearson_fisher_low"], row["pearson_fisher_high"])
    )


# --- baselines fitted per fold ----------------------------------------------------------------


def test_crossfitted_baselines_never_see_their_test_genes() -> None:
    dataset = crossfit_dataset()
    # planted leak: fold 1's genes have a target far off; a fit that saw them would move towards it
    dataset.loc[dataset["fold"] == 1, "target"] += 100.0
    gc_cpg, mean = baseline_models(dataset, "dataset.tsv.gz")
    assert gc_cpg.cross_fitted and mean.cross_fitted and mean.is_constant
    table = dataset.set_index("gene_id").loc[mean.genes.index]
    fold_1 = (table["fold"] == 1).to_numpy()
    expected = table.loc[(table["fold"] != 1) & (table["split"] == "train"), "target"].mean()
    assert mean.predicted[fold_1, 0] == pytest.approx(np.full(fold_1.sum(), expected))
    assert mean.predicted[fold_1, 0].max() < 10  # the fold's own +100 never reached its prediction
    from sklearn.linear_model import LinearRegression

    features = sequence_composition(table["sequence"])
    fit = ((table["fold"] != 1) & (table["split"] == "train")).to_numpy()
    regression = LinearRegression().fit(features[fit], table["target"].to_numpy()[fit])
    assert gc_cpg.predicted[fold_1, 0] == pytest.approx(regression.predict(features[fold_1]))
    # the cross-fitted mean's R² is 0 by construction (R² is against the training mean)
    metrics = metrics_table([gc_cpg, mean], 100, seed=1).set_index("model")
    assert metrics.loc[MEAN_BASELINE, "r2"] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(metrics.loc[MEAN_BASELINE, "pearson"])


# --- the primary family -----------------------------------------------------------------------


def test_the_primary_model_is_fixed_by_parameter_and_roster() -> None:
    assert primary_model([CNN, DNABERT2_PROBE, DNABERT2, DEXTER]) == DNABERT2
    assert primary_model([CNN, "probe:esm", DNABERT2_PROBE]) == "probe:esm"  # the first gLM given
    assert primary_model([CNN, DEXTER]) is None
    assert primary_model([CNN, DNABERT2], CNN) == CNN
    with pytest.raises(InputError, match=r"--primary-model 'Enformer' is not among the models evaluated: CNN, DExTER"):
        primary_model([CNN, DEXTER], "Enformer")


def ladder_models(dataset: pd.DataFrame) -> list:
    tables = [
        *fold_tables(dataset, DNABERT2, 1.0),
        *fold_tables(dataset, CNN, 0.8),
        *fold_tables(dataset, DEXTER, 0.6, seeds=1),
        *fold_tables(dataset, DNABERT2_PROBE, 0.9, seeds=1),
    ]
    return group_models(tables) + baseline_models(dataset, "dataset.tsv.gz")


def test_primary_family_composition_and_holm_over_it_only() -> None:
    dataset = crossfit_dataset(n=400)
    models = ladder_models(dataset)
    strata = gene_strata(pd.Series("test", index=models[0].genes.index), dataset, tss_index=100)
    pairs = hypotheses(models, 100, 1, strata, DNABERT2)
    primary = pairs[pairs["family"] == PRIMARY]
    assert sorted(primary["model_b"]) == sorted([CNN, DEXTER, GC_CPG_BASELINE])
    assert (primary["model_a"] == DNABERT2).all() and (primary["stratum"] == ALL).all()
    assert primary["p_holm"].to_numpy() == pytest.approx(holm_adjust(primary["p"].to_numpy()))
    assert set(pairs["family"]) - {PRIMARY} == {f"exploratory:{s}" for s in strata.strata}
    exploratory = pairs[pairs["family"] == "exploratory:all"]
    assert exploratory["p_holm"].to_numpy() == pytest.approx(holm_adjust(exploratory["p"].to_numpy()))
    assert "corrected resampled t" in primary["ci_method"].iloc[0]
    # one p per hypothesis: the ladder's rows are the comparison's rows for the same pair and stratum
    comparison = comparison_table(models, 100, 1, strata, DNABERT2, pairs)
    ladder = ladder_table(models, DNABERT2, 100, 1, strata, pairs)
    merged = ladder.merge(comparison, left_on=["glm", "rung", "stratum"], right_on=["model_a", "model_b", "stratum"])
    assert len(merged) == len(ladder[ladder["rung"] != MEAN_BASELINE])
    assert merged["p_holm_x"].to_numpy() == pytest.approx(merged["p_holm_y"].to_numpy(), nan_ok=True)
    assert (merged["family_x"] == merged["family_y"]).all()
    floor = ladder[ladder["rung"] == MEAN_BASELINE]
    assert len(floor) and (floor["delta_r"] == floor["pearson_glm"]).all()
    interaction = interaction_table(models, DNABERT2, strata, 100, 1)
    assert len(interaction) == 8  # CNN, DExTER, the probe and GC/CpG; HCP against LCP and against ICP
    assert (interaction["family"] == "exploratory:interaction").all()
    assert (interaction["interaction"] == interaction["delta_r_a"] - interaction["delta_r_b"]).all()


def test_the_step_end_to_end_on_a_crossfitted_dataset(tmp_path: Path) -> None:
    dataset = crossfit_dataset(n=250)
    dataset_path = tmp_path / "dataset.tsv.gz"
    write_dataset(dataset, dataset_path)
    paths = []
    for source, table in [*fold_tables(dataset, CNN, 0.8), *fold_tables(dataset, DNABERT2_PROBE, 1.0)]:
        write_predictions(table, tmp_path / source)
        paths.append(tmp_path / source)
    result = run(EvaluationOptions(predictions=tuple(paths), dataset=dataset_path))
    assert result.methods.primary == DNABERT2_PROBE and result.methods.folds == FOLDS
    assert set(result.tables) >= {"metrics.tsv", "folds.tsv", "comparison.tsv", "ladder.tsv", "interaction.tsv"}
    ladder = result.tables["ladder.tsv"]
    primary = ladder[ladder["family"] == PRIMARY]
    assert sorted(primary["rung"]) == sorted([CNN, GC_CPG_BASELINE])
    assert len(result.tables["folds.tsv"]) == 4 * FOLDS
    bad = invoke("evaluate_models.py", "--predictions", *paths, "--primary-model", "DNABERT-2",
                 "--outdir", tmp_path / "o")  # fmt: skip
    assert_one_line_error(
        bad, f"--primary-model 'DNABERT-2' is not among the models evaluated: {CNN}, {DNABERT2_PROBE}"
    )
