"""The evaluation: metrics rows against SciPy and scikit-learn definitions, runs of one model, paired
comparisons within strata, the checks of the inputs, the baselines, and what each model was fitted on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import correlated, trio
from scipy import stats

from seq2expr.errors import InputError
from seq2expr.evaluation.comparison import COMPARISON_COLUMNS, compare_pair, comparison_table
from seq2expr.evaluation.metrics import (
    METRIC_COLUMNS,
    baseline_models,
    bookkeeping,
    metrics_table,
    stratum_metrics,
)
from seq2expr.evaluation.runs import ModelRuns, check_against_dataset, check_complete, group_models
from seq2expr.evaluation.strata import ALL, GeneStrata, gene_strata, sequence_composition
from seq2expr.io.predictions import make_predictions
from seq2expr.models.roster import GC_CPG_BASELINE, MEAN_BASELINE
from seq2expr.stats import williams_test


def single_run(name: str, observed: np.ndarray, predicted: np.ndarray, split: str = "test") -> ModelRuns:
    genes = pd.DataFrame(
        {"split": split, "observed": observed}, index=pd.Index([f"g{i:05d}" for i in range(len(observed))])
    )
    return ModelRuns(name, genes, predicted[:, None], (f"{name}.tsv",))


def plain_strata(model: ModelRuns, groups: pd.Series | None = None) -> GeneStrata:
    """Only `all` (and `unseen` with groups) over the model's own genes."""
    return gene_strata(model.genes["split"], groups=groups)


def split_metrics(model: ModelRuns, split: str, resamples: int, seed: int) -> dict[str, object]:
    return stratum_metrics(model, split, ALL, plain_strata(model), resamples, seed)


def pair(left: ModelRuns, right: ModelRuns, resamples: int, seed: int) -> dict[str, object]:
    return compare_pair(left, right, ALL, plain_strata(left), resamples, seed)


def same_row(left: dict[str, object], right: dict[str, object]) -> bool:
    """Rows equal, NaN included."""
    return pd.Series(left).equals(pd.Series(right))


def table_of(name: str, observed: np.ndarray, predicted: np.ndarray, splits: list[str] | None = None) -> pd.DataFrame:
    genes = [f"g{i:05d}" for i in range(len(observed))]
    return make_predictions(genes, splits or ["test"] * len(genes), observed, predicted, name)


# --- point estimates against SciPy ------------------------------------------------------------


def test_split_metrics_match_scipy_and_sklearn_definitions():
    rng = np.random.default_rng(2)
    observed, predicted = correlated(rng, 150, 0.7)
    row = split_metrics(single_run("m", observed, predicted), "test", resamples=300, seed=5)
    residual = predicted - observed
    assert row["n"] == 150
    assert row["pearson"] == pytest.approx(stats.pearsonr(observed, predicted).statistic)
    assert row["spearman"] == pytest.approx(stats.spearmanr(observed, predicted).statistic)
    assert np.isnan(row["r2"])  # R² is against the training mean: no train or val gene, no R²
    assert row["mse"] == pytest.approx(np.mean(residual**2))
    assert row["mae"] == pytest.approx(np.mean(np.abs(residual)))
    assert row["pearson_ci_low"] < row["pearson"] < row["pearson_ci_high"]
    assert row["spearman_ci_low"] < row["spearman"] < row["spearman_ci_high"]
    assert np.isnan(row["pearson_sd"])  # one run: no spread across runs


def test_bootstrap_is_reproducible_and_seeded():
    rng = np.random.default_rng(4)
    observed, predicted = correlated(rng, 80, 0.5)
    model = single_run("m", observed, predicted)
    first = split_metrics(model, "test", 500, seed=1)
    assert same_row(split_metrics(model, "test", 500, seed=1), first)
    assert split_metrics(model, "test", 500, seed=2)["pearson_ci_low"] != first["pearson_ci_low"]


# --- paired comparison ------------------------------------------------------------------------


def test_paired_bootstrap_interval_agrees_with_williams():
    """The bootstrap CI of delta r excludes 0 for a real difference and covers 0 under the null, mostly."""
    rng = np.random.default_rng(9)
    separated = null_covered = 0
    draws = 40
    for draw in range(draws):
        observed, a, b = trio(rng, 300, 0.65, 0.45, 0.6)
        row = pair(single_run("a", observed, a), single_run("b", observed, b), 300, seed=draw)
        separated += row["delta_r_ci_low"] > 0
        observed, a, b = trio(rng, 300, 0.55, 0.55, 0.6)
        row = pair(single_run("a", observed, a), single_run("b", observed, b), 300, seed=draw)
        null_covered += row["delta_r_ci_low"] <= 0 <= row["delta_r_ci_high"]
    assert separated / draws >= 0.9
    assert null_covered / draws >= 0.85


def test_compare_pair_uses_only_shared_test_genes():
    rng = np.random.default_rng(10)
    observed, a, b = trio(rng, 200, 0.7, 0.5, 0.5)
    left = single_run("a", observed, a)
    right = single_run("b", observed[50:], b[50:])
    right = ModelRuns("b", right.genes.set_axis(left.genes.index[50:]), right.predicted, right.sources)
    row = compare_pair(left, right, ALL, plain_strata(left), 200, seed=1)
    assert row["n"] == 150
    assert row["pearson_a"] == pytest.approx(stats.pearsonr(observed[50:], a[50:])[0])
    assert row["r_ab"] == pytest.approx(stats.pearsonr(a[50:], b[50:])[0])
    expected_t, expected_p = williams_test(row["pearson_a"], row["pearson_b"], row["r_ab"], 150)
    assert (row["williams_t"], row["p_williams"]) == pytest.approx((expected_t, expected_p))


def test_models_without_shared_test_genes_are_an_error():
    rng = np.random.default_rng(11)
    observed, a, b = trio(rng, 40, 0.7, 0.5, 0.5)
    left = single_run("a", observed[:20], a[:20])
    right = single_run("b", observed[20:], b[20:])
    right = ModelRuns("b", right.genes.set_axis([f"h{i}" for i in range(20)]), right.predicted, right.sources)
    with pytest.raises(InputError, match="share 0 test gene"):
        compare_pair(left, right, ALL, plain_strata(left), 100, seed=1)


# --- replicate runs (seeds) -------------------------------------------------------------------


def test_runs_of_one_model_are_averaged_with_their_spread():
    rng = np.random.default_rng(12)
    observed = rng.normal(size=120)
    runs = [observed * 0.8 + rng.normal(scale=s, size=120) for s in (0.5, 0.7, 0.9)]
    tables = [(f"run{i}.tsv", table_of("dnabert2", observed, run)) for i, run in enumerate(runs)]
    (model,) = group_models(tables)
    assert model.n_runs == 3
    row = split_metrics(model, "test", 300, seed=1)
    per_run = [stats.pearsonr(observed, run)[0] for run in runs]
    assert row["n_runs"] == 3
    assert row["pearson"] == pytest.approx(np.mean(per_run))
    assert row["pearson_sd"] == pytest.approx(np.std(per_run, ddof=1))
    mse = [np.mean((run - observed) ** 2) for run in runs]
    assert row["mse"] == pytest.approx(np.mean(mse)) and row["mse_sd"] == pytest.approx(np.std(mse, ddof=1))
    # The file order does not change anything (Nextflow gives no order).
    (reordered,) = group_models(tables[::-1])
    assert same_row(split_metrics(reordered, "test", 300, seed=1), row)


# --- tables and grouping ----------------------------------------------------------------------


def test_metrics_and_comparison_tables():
    rng = np.random.default_rng(13)
    observed, a, b = trio(rng, 240, 0.7, 0.4, 0.5)
    splits = ["train"] * 120 + ["val"] * 20 + ["test"] * 100
    models = group_models(
        [("b.tsv", table_of("modelB", observed, b, splits)), ("a.tsv", table_of("modelA", observed, a, splits))]
    )
    assert [model.name for model in models] == ["modelA", "modelB"]
    metrics = metrics_table(models, 200, seed=3)
    assert list(metrics.columns) == METRIC_COLUMNS
    assert list(zip(metrics["model"], metrics["split"], metrics["n"], strict=True)) == [
        ("modelA", "train", 120),
        ("modelA", "val", 20),
        ("modelA", "test", 100),
        ("modelB", "train", 120),
        ("modelB", "val", 20),
        ("modelB", "test", 100),
    ]
    comparison = comparison_table(models, 200, seed=3)
    assert list(comparison.columns) == COMPARISON_COLUMNS
    assert len(comparison) == 1 and comparison["n"].iloc[0] == 100
    assert comparison["p_holm"].iloc[0] == pytest.approx(comparison["p"].iloc[0])  # a family of one


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.assign(split="train"), "no gene in the test split"),
        (lambda t: t.assign(split=["test"] * 3 + ["train"] * (len(t) - 3)), "only 3 test gene"),
        (lambda t: pd.concat([t, t.iloc[[5]]], ignore_index=True), "gene g00005 appears more than once"),
        (lambda t: t.assign(predicted=np.where(np.arange(len(t)) == 7, np.nan, t["predicted"])), "not a finite"),
        (lambda t: t.assign(model=["x"] * 5 + ["y"] * (len(t) - 5)), "one model, found 2"),
        (lambda t: t.assign(model=GC_CPG_BASELINE), "reserved for the baseline"),
    ],
)
def test_bad_predictions_are_refused(mutate, message):
    rng = np.random.default_rng(14)
    observed, predicted = correlated(rng, 30, 0.5)
    with pytest.raises(InputError, match=message):
        group_models([("bad.tsv", mutate(table_of("m", observed, predicted)))])


def test_same_name_for_different_models_is_refused():
    rng = np.random.default_rng(15)
    observed, predicted = correlated(rng, 30, 0.5)
    first = table_of("model", observed, predicted)
    other_genes = first.assign(gene_id=[f"x{i}" for i in range(30)])
    with pytest.raises(InputError, match=r"also named in first\.tsv but with other genes"):
        group_models([("first.tsv", first), ("second.tsv", other_genes)])
    with pytest.raises(InputError, match="given twice"):
        group_models([("first.tsv", first), ("copy.tsv", first.copy())])


def test_models_must_agree_on_the_observed_values():
    rng = np.random.default_rng(16)
    observed, predicted = correlated(rng, 30, 0.5)
    other = table_of("b", observed + 1, predicted)
    with pytest.raises(InputError, match="not evaluated on the same dataset"):
        group_models([("a.tsv", table_of("a", observed, predicted)), ("b.tsv", other)])


# --- baselines --------------------------------------------------------------------------------


def windows_frame(sequences: list[str], target: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """A dataset table of synthetic windows on chr1, drawn 60/10/30 into train/val/test."""
    n = len(sequences)
    return pd.DataFrame(
        {
            "gene_id": [f"g{i:05d}" for i in range(n)],
            "chrom": "chr1",
            "split": rng.choice(["train", "val", "test"], n, p=[0.6, 0.1, 0.3]),
            "tpm": 10**target,
            "target": target,
            "sequence": sequences,
        }
    )


def gc_driven_dataset(n: int = 300) -> pd.DataFrame:
    """Windows whose GC content sets the target (plus noise): the GC/CpG baseline must find it."""
    rng = np.random.default_rng(17)
    gc = rng.uniform(0.3, 0.7, n)
    sequences = ["".join(rng.choice(list("ACGT"), 400, p=[(1 - g) / 2, g / 2, g / 2, (1 - g) / 2])) for g in gc]
    target = 5 * gc + rng.normal(scale=0.3, size=n)
    return windows_frame(sequences, target, rng)


def test_gc_cpg_baseline_finds_a_gc_driven_target():
    dataset = gc_driven_dataset()
    baselines = baseline_models(dataset, "dataset.tsv.gz")
    assert [model.name for model in baselines] == [GC_CPG_BASELINE, MEAN_BASELINE]
    metrics = metrics_table(baselines, 500, seed=1).set_index(["model", "split"])
    test = dataset[dataset["split"] == "test"]
    gc = sequence_composition(test["sequence"])[:, 0]
    assert metrics.loc[(GC_CPG_BASELINE, "test"), "pearson"] == pytest.approx(
        stats.pearsonr(gc, test["target"])[0], abs=0.05
    )
    assert metrics.loc[(GC_CPG_BASELINE, "test"), "pearson_ci_low"] > 0.5
    mean_test = metrics.loc[(MEAN_BASELINE, "test")]
    assert np.isnan(mean_test["pearson"]) and np.isnan(mean_test["pearson_ci_low"])
    train_mean = dataset.loc[dataset["split"] != "test", "target"].mean()
    assert mean_test["mse"] == pytest.approx(np.mean((test["target"] - train_mean) ** 2))
    assert mean_test["r2"] <= 0.02
    # The constant predictor has no correlation to compare: only the GC/CpG fit could be paired.
    assert comparison_table(baselines, 200, seed=1).empty


def test_baselines_on_the_synthetic_dataset(cross_fitted_dataset):
    """The bundled (cross-fitted) dataset: both baselines fitted per fold, without the fold's test genes."""
    from seq2expr.data.dataset import read_dataset
    from seq2expr.data.folds import fold_view

    dataset = read_dataset(cross_fitted_dataset)
    metrics = metrics_table(baseline_models(dataset, str(cross_fitted_dataset)), 300, seed=1)
    assert len(metrics) == 2 and (metrics["split"] == "test").all()  # the pooled out-of-fold predictions
    assert (metrics["n"] == len(dataset)).all()
    assert np.isfinite(metrics.loc[metrics["model"] == GC_CPG_BASELINE, "pearson"]).all()
    # Least squares with an intercept, fitted on one fold's fit genes only: its residuals there average to zero.
    view = fold_view(dataset, 1, 0)
    gc_cpg, _ = baseline_models(view.drop(columns=[c for c in view.columns if c.startswith("fold")]), "view")
    residual = gc_cpg.predicted[:, 0] - gc_cpg.genes["observed"].to_numpy()
    fitted = gc_cpg.genes["split"].to_numpy() != "test"
    assert residual[fitted].mean() == pytest.approx(0, abs=1e-9)
    assert abs(residual[~fitted].mean()) > 1e-6


def test_models_must_come_from_the_given_dataset(synthetic_dataset):
    from seq2expr.data.dataset import read_dataset

    dataset = read_dataset(synthetic_dataset)
    table = make_predictions(dataset["gene_id"], dataset["split"], dataset["target"], dataset["target"] * 0.5, "m")
    (model,) = group_models([("m.tsv", table)])
    check_against_dataset([model], dataset, "dataset.tsv.gz")
    # A model that held some training genes out as its own validation set still fits the dataset.
    own_val = table.assign(split=np.where(table["split"] == "train", "val", table["split"]))
    check_against_dataset(group_models([("m.tsv", own_val)]), dataset, "dataset.tsv.gz")
    moved = table.assign(split=np.where(table["split"] == "test", "train", table["split"]))
    moved.loc[moved.index[:10], "split"] = "test"
    moved.loc[moved.index[10:14], "split"] = "test"
    with pytest.raises(InputError, match="the models used another split"):
        check_against_dataset(group_models([("m.tsv", moved)]), dataset, "dataset.tsv.gz")
    shifted = table.assign(observed=table["observed"] + 0.5)
    with pytest.raises(InputError, match="has target"):
        check_against_dataset(group_models([("m.tsv", shifted)]), dataset, "dataset.tsv.gz")


# --- every test gene, strata, bookkeeping, replicate runs --------------------------------------


def test_a_model_missing_test_genes_stops_the_evaluation():
    rng = np.random.default_rng(30)
    observed, a, b = trio(rng, 60, 0.7, 0.5, 0.5)
    complete = group_models([("a.tsv", table_of("a", observed, a))])
    partial = group_models([("b.tsv", table_of("b", observed, b).iloc[:52])])
    test_genes = complete[0].test_genes()
    check_complete(complete, test_genes, "dataset.tsv.gz")
    with pytest.raises(
        InputError, match=r"b\.tsv: model 'b' predicts 52 of the 60 test genes of dataset\.tsv\.gz: 8 missing"
    ):
        check_complete(complete + partial, test_genes, "dataset.tsv.gz")


def test_each_model_says_what_it_was_fitted_on_and_what_val_was_for():
    assert bookkeeping("DExTER") == ("train+val", "fitted on")
    assert bookkeeping(MEAN_BASELINE) == bookkeeping(GC_CPG_BASELINE) == ("train+val", "fitted on")
    assert bookkeeping("DNABERT-2_probe") == bookkeeping("probe:HyenaDNA") == ("train+val", "fitted on")
    assert bookkeeping("CNN") == bookkeeping("DNABERT-2") == ("train", "early stopping")
    assert bookkeeping("someone_elses_model") == ("", "")
    rng = np.random.default_rng(31)
    observed, a, b = trio(rng, 140, 0.7, 0.5, 0.5)
    splits = ["train"] * 80 + ["val"] * 20 + ["test"] * 40
    models = group_models([("p.tsv", table_of("DNABERT-2_probe", observed, a, splits)),
                           ("c.tsv", table_of("CNN", observed, b, splits))])  # fmt: skip
    metrics = metrics_table(models, 100, seed=1).set_index(["model", "split"])
    assert metrics.loc[("CNN", "val"), "val_use"] == "early stopping"
    assert metrics.loc[("DNABERT-2_probe", "val"), "val_use"] == "fitted on"
    assert metrics.loc[("CNN", "test"), "val_use"] == "" and metrics.loc[("CNN", "train"), "fitted_on"] == "train"
    assert (metrics.loc["DNABERT-2_probe", "fitted_on"] == "train+val").all()


def strata_dataset(n: int = 400) -> pd.DataFrame:
    """CpG-rich and CpG-poor promoters; the target depends on the class and, within each, on a TATA count.
    The CpG-rich ones (dinucleotides CG, CG, GC, CA, TG: GC 0.8, CpG o/e about 1.4) are high-CpG
    promoters, the others (GC 0.4, every CpG turned to TpG) low-CpG ones."""
    rng = np.random.default_rng(32)
    rich = rng.random(n) < 0.5
    tata = rng.integers(0, 4, n)
    sequences = []
    for island, count in zip(rich, tata, strict=True):
        if island:
            body = "".join(rng.choice(["CG", "CG", "GC", "CA", "TG"], 101))[:201]
        else:
            body = "".join(rng.choice(list("ACGT"), 201, p=[0.3, 0.2, 0.2, 0.3])).replace("CG", "TG")
        sequences.append(body[:50] + "TATA" * count + body[50 + 4 * count :])
    target = np.where(rich, 1.0, -1.0) + 0.3 * tata + rng.normal(scale=0.3, size=n)
    return windows_frame(sequences, target, rng)


def test_metrics_per_stratum_on_the_test_genes():
    """A model that knows only the CpG class scores on all genes and nothing within a class."""
    dataset = strata_dataset()
    class_only = np.where(sequence_composition(dataset["sequence"])[:, 0] > 0.55, 1.0, -1.0)
    table = make_predictions(dataset["gene_id"], dataset["split"], dataset["target"], class_only, "class_only")
    full = make_predictions(dataset["gene_id"], dataset["split"], dataset["target"], dataset["target"] + 0.1, "oracle")
    models = group_models([("c.tsv", table), ("o.tsv", full)])
    splits = dataset.set_index("gene_id")["split"]
    strata = gene_strata(splits, dataset, tss_index=100)
    metrics = metrics_table(models, 200, seed=1, strata=strata).set_index(["model", "split", "stratum"])
    test = dataset[dataset["split"] == "test"]
    assert metrics.loc[("class_only", "test", "all"), "pearson"] > 0.7
    hcp = metrics.loc[("class_only", "test", "hcp")]
    assert hcp["n"] + metrics.loc[("class_only", "test", "lcp"), "n"] == len(test)
    assert ("class_only", "test", "icp") not in metrics.index  # an empty class has no row
    assert np.isnan(hcp["pearson"])  # constant within the stratum: no correlation
    assert metrics.loc[("oracle", "test", "hcp"), "pearson"] == pytest.approx(1.0)
    expressed = metrics.loc[("oracle", "test", "expressed")]
    assert expressed["n"] == int((test["tpm"] >= 1).sum())
    assert np.isnan(expressed["auroc_on_off"])  # one class only
    on_off = metrics.loc[("oracle", "test", "all")]
    assert on_off["auroc_ci_low"] <= on_off["auroc_on_off"] == pytest.approx(1.0, abs=0.01)
    assert ("oracle", "train", "hcp") not in metrics.index  # strata on the test split only
    comparison = comparison_table(models, 200, seed=1, strata=strata)
    assert list(comparison.columns) == COMPARISON_COLUMNS
    assert set(comparison["stratum"]) == {"all", "hcp", "lcp", "expressed"}
    assert np.isnan(comparison.loc[comparison["stratum"] == "hcp", "pearson_a"]).all()
    for family, rows in comparison.groupby("family"):
        assert family == f"exploratory:{rows['stratum'].iloc[0]}"  # no primary model among these


def test_holm_runs_within_each_stratum():
    rng = np.random.default_rng(33)
    observed, a, b = trio(rng, 300, 0.7, 0.5, 0.5)
    c = 0.6 * observed + rng.normal(size=300)
    splits = ["train" if i < 20 else "test" for i in range(300)]
    models = group_models([(f"{name}.tsv", table_of(name, observed, values, splits))
                           for name, values in (("a", a), ("b", b), ("c", c))])  # fmt: skip
    # even genes share a group with train genes: the odd test genes are the unseen ones
    groups = pd.Series({gene: gene if i % 2 else "shared" for i, gene in enumerate(models[0].genes.index)})
    strata = gene_strata(models[0].genes["split"], groups=groups)
    comparison = comparison_table(models, 200, seed=2, strata=strata)
    assert sorted(set(comparison["family"])) == ["exploratory:all", "exploratory:unseen"]
    for _, rows in comparison.groupby("family"):
        assert len(rows) == 3
        order = np.argsort(rows["p"].to_numpy())
        smallest = rows["p"].to_numpy()[order[0]]
        assert rows["p_holm"].to_numpy()[order[0]] == pytest.approx(min(1.0, 3 * smallest))


def test_replicate_runs_widen_the_interval_by_their_seed_variance():
    """Runs whose r differs from seed to seed (0.3, 0.5, 0.7): the interval carries that spread."""
    rng = np.random.default_rng(34)
    observed = rng.normal(size=200)
    runs = [rho * observed + np.sqrt(1 - rho**2) * rng.normal(size=200) for rho in (0.3, 0.5, 0.7)]
    (replicated,) = group_models([(f"run{i}.tsv", table_of("m", observed, run)) for i, run in enumerate(runs)])
    single = single_run("m", observed, runs[1])
    wide, narrow = split_metrics(replicated, "test", 1000, seed=3), split_metrics(single, "test", 1000, seed=3)
    width = float(wide["pearson_ci_high"]) - float(wide["pearson_ci_low"])
    assert width > 1.5 * (float(narrow["pearson_ci_high"]) - float(narrow["pearson_ci_low"]))
    other = single_run("b", observed, 0.5 * observed + np.sqrt(0.75) * rng.normal(size=200))
    delta = pair(replicated, other, 1000, seed=3)
    delta_single = pair(single, other, 1000, seed=3)
    delta_width = float(delta["delta_r_ci_high"]) - float(delta["delta_r_ci_low"])
    assert delta_width > 1.5 * (float(delta_single["delta_r_ci_high"]) - float(delta_single["delta_r_ci_low"]))
