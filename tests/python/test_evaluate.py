"""The evaluation's statistics, checked against SciPy and against simulations where the truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seq2expr.errors import InputError
from seq2expr.evaluate import (
    COMPARISON_COLUMNS,
    GC_CPG_BASELINE,
    MEAN_BASELINE,
    METRIC_COLUMNS,
    ModelRuns,
    baseline_models,
    check_against_dataset,
    compare_pair,
    comparison_table,
    fisher_interval,
    group_models,
    holm_adjust,
    metrics_table,
    pearson_rows,
    percentile_interval,
    sequence_composition,
    spearman_rows,
    split_metrics,
    williams_test,
    zou_interval,
)
from seq2expr.predictions import make_predictions


def correlated(rng: np.random.Generator, n: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """A bivariate normal sample with correlation rho."""
    x = rng.normal(size=n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)


def trio(rng: np.random.Generator, n: int, rho_a: float, rho_b: float, rho_ab: float) -> np.ndarray:
    """Observed, model A, model B from a trivariate normal with the given correlations: shape (3, n)."""
    cov = np.array([[1, rho_a, rho_b], [rho_a, 1, rho_ab], [rho_b, rho_ab, 1]])
    return rng.multivariate_normal(np.zeros(3), cov, size=n).T


def single_run(name: str, observed: np.ndarray, predicted: np.ndarray, split: str = "test") -> ModelRuns:
    genes = pd.DataFrame(
        {"split": split, "observed": observed}, index=pd.Index([f"g{i:05d}" for i in range(len(observed))])
    )
    return ModelRuns(name, genes, predicted[:, None], (f"{name}.tsv",))


def same_row(left: dict[str, object], right: dict[str, object]) -> bool:
    """Rows equal, NaN included."""
    return pd.Series(left).equals(pd.Series(right))


def table_of(name: str, observed: np.ndarray, predicted: np.ndarray, splits: list[str] | None = None) -> pd.DataFrame:
    genes = [f"g{i:05d}" for i in range(len(observed))]
    return make_predictions(genes, splits or ["test"] * len(genes), observed, predicted, name)


# --- point estimates against SciPy ------------------------------------------------------------


def test_correlations_match_scipy():
    rng = np.random.default_rng(0)
    x, y = correlated(rng, 200, 0.4)
    y[:20] = np.round(y[:20])  # some ties for the ranks
    assert pearson_rows(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert spearman_rows(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    stacked = np.vstack([y, -y, y**3])
    expected = [stats.pearsonr(x, row).statistic for row in stacked]
    assert pearson_rows(x, stacked) == pytest.approx(expected, abs=1e-12)


def test_fisher_interval_matches_scipy():
    rng = np.random.default_rng(1)
    x, y = correlated(rng, 57, 0.55)
    result = stats.pearsonr(x, y)
    expected = result.confidence_interval(confidence_level=0.95)
    assert fisher_interval(result.statistic, 57) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_split_metrics_match_scipy_and_sklearn_definitions():
    rng = np.random.default_rng(2)
    observed, predicted = correlated(rng, 150, 0.7)
    row = split_metrics(single_run("m", observed, predicted), "test", resamples=300, seed=5)
    residual = predicted - observed
    assert row["n"] == 150
    assert row["pearson"] == pytest.approx(stats.pearsonr(observed, predicted).statistic)
    assert row["spearman"] == pytest.approx(stats.spearmanr(observed, predicted).statistic)
    assert row["r2"] == pytest.approx(1 - np.sum(residual**2) / np.sum((observed - observed.mean()) ** 2))
    assert row["mse"] == pytest.approx(np.mean(residual**2))
    assert row["mae"] == pytest.approx(np.mean(np.abs(residual)))
    assert row["pearson_ci_low"] < row["pearson"] < row["pearson_ci_high"]
    assert row["spearman_ci_low"] < row["spearman"] < row["spearman_ci_high"]
    assert np.isnan(row["pearson_sd"])  # one run: no spread across runs


def test_bootstrap_interval_agrees_with_scipy_bootstrap():
    """Same method (percentile, paired resampling of genes), different random draws: close, not equal."""
    rng = np.random.default_rng(3)
    observed, predicted = correlated(rng, 120, 0.5)
    row = split_metrics(single_run("m", observed, predicted), "test", resamples=4000, seed=11)
    reference = stats.bootstrap(
        (observed, predicted),
        lambda a, b, axis: pearson_rows(a, b),
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        rng=np.random.default_rng(12),
    ).confidence_interval
    assert row["pearson_ci_low"] == pytest.approx(reference.low, abs=0.02)
    assert row["pearson_ci_high"] == pytest.approx(reference.high, abs=0.02)


def test_bootstrap_is_reproducible_and_seeded():
    rng = np.random.default_rng(4)
    observed, predicted = correlated(rng, 80, 0.5)
    model = single_run("m", observed, predicted)
    first = split_metrics(model, "test", 500, seed=1)
    assert same_row(split_metrics(model, "test", 500, seed=1), first)
    assert split_metrics(model, "test", 500, seed=2)["pearson_ci_low"] != first["pearson_ci_low"]


def test_percentile_interval_ignores_undefined_resamples():
    samples = np.r_[np.linspace(0, 1, 101), np.nan, np.nan]
    assert percentile_interval(samples, 0.9) == pytest.approx((0.05, 0.95))
    assert all(np.isnan(percentile_interval(np.full(5, np.nan))))


# --- coverage of the intervals over repeated draws --------------------------------------------


def test_intervals_cover_the_true_correlation_at_about_the_nominal_rate():
    """200 samples of n = 100 from a population with rho = 0.6: about 95 % of intervals hold rho."""
    rng = np.random.default_rng(20240610)
    rho, draws = 0.6, 200
    bootstrap_hits = fisher_hits = 0
    for draw in range(draws):
        observed, predicted = correlated(rng, 100, rho)
        row = split_metrics(single_run("m", observed, predicted), "test", resamples=500, seed=draw)
        bootstrap_hits += row["pearson_ci_low"] <= rho <= row["pearson_ci_high"]
        fisher_hits += row["pearson_fisher_low"] <= rho <= row["pearson_fisher_high"]
    # Binomial SD of a 95 % rate over 200 draws is 1.5 points; the percentile bootstrap runs a little liberal.
    assert 0.89 <= bootstrap_hits / draws <= 0.99
    assert 0.90 <= fisher_hits / draws <= 0.99


# --- paired comparison ------------------------------------------------------------------------


def test_williams_test_is_antisymmetric_and_zou_matches_the_published_example():
    t, p = williams_test(0.5, 0.3, 0.4, 100)
    t_swapped, p_swapped = williams_test(0.3, 0.5, 0.4, 100)
    assert t == pytest.approx(-t_swapped) and p == pytest.approx(p_swapped)
    assert williams_test(0.4, 0.4, 0.5, 100) == pytest.approx((0.0, 1.0))
    # Zou (2007), example of two overlapping correlations: r12 = .396, r13 = .179, r23 = .088, n = 66
    # gives the 95 % interval (-.093, .517) for rho12 - rho13.
    assert zou_interval(0.396, 0.179, 0.088, 66) == pytest.approx((-0.093, 0.517), abs=0.002)


def test_paired_test_keeps_its_size_when_models_are_equally_good():
    """Two models that correlate equally with the truth: Williams' test rejects about 5 % of the time."""
    rng = np.random.default_rng(7)
    draws, n = 600, 150
    p_values = []
    zou_hits = 0
    for _ in range(draws):
        observed, a, b = trio(rng, n, 0.6, 0.6, 0.5)
        r_a, r_b, r_ab = (stats.pearsonr(observed, a)[0], stats.pearsonr(observed, b)[0], stats.pearsonr(a, b)[0])
        p_values.append(williams_test(r_a, r_b, r_ab, n)[1])
        low, high = zou_interval(r_a, r_b, r_ab, n)
        zou_hits += low <= 0 <= high
    rejection = np.mean(np.array(p_values) < 0.05)
    assert 0.02 <= rejection <= 0.085
    assert 0.92 <= zou_hits / draws <= 0.98
    # p-values are uniform under the null
    assert stats.kstest(p_values, "uniform").pvalue > 0.01


def test_paired_test_separates_models_that_differ():
    """r = 0.65 against r = 0.50 on 300 genes, models correlated 0.6: detected nearly always."""
    rng = np.random.default_rng(8)
    draws, n = 200, 300
    rejections = 0
    for _ in range(draws):
        observed, a, b = trio(rng, n, 0.65, 0.5, 0.6)
        r_a, r_b, r_ab = (stats.pearsonr(observed, a)[0], stats.pearsonr(observed, b)[0], stats.pearsonr(a, b)[0])
        rejections += williams_test(r_a, r_b, r_ab, n)[1] < 0.05
    # Theoretical power for these settings is about 0.96.
    assert rejections / draws >= 0.85


def test_paired_bootstrap_interval_agrees_with_williams():
    """The bootstrap CI of delta r excludes 0 for a real difference and covers 0 under the null, mostly."""
    rng = np.random.default_rng(9)
    separated = null_covered = 0
    draws = 60
    for draw in range(draws):
        observed, a, b = trio(rng, 300, 0.65, 0.45, 0.6)
        row = compare_pair(single_run("a", observed, a), single_run("b", observed, b), 300, seed=draw)
        separated += row["delta_r_ci_low"] > 0
        observed, a, b = trio(rng, 300, 0.55, 0.55, 0.6)
        row = compare_pair(single_run("a", observed, a), single_run("b", observed, b), 300, seed=draw)
        null_covered += row["delta_r_ci_low"] <= 0 <= row["delta_r_ci_high"]
    assert separated / draws >= 0.9
    assert null_covered / draws >= 0.85


def test_compare_pair_uses_only_shared_test_genes():
    rng = np.random.default_rng(10)
    observed, a, b = trio(rng, 200, 0.7, 0.5, 0.5)
    left = single_run("a", observed, a)
    right = single_run("b", observed[50:], b[50:])
    right = ModelRuns("b", right.genes.set_axis(left.genes.index[50:]), right.predicted, right.sources)
    row = compare_pair(left, right, 200, seed=1)
    assert row["n"] == 150
    assert row["pearson_a"] == pytest.approx(stats.pearsonr(observed[50:], a[50:])[0])
    assert row["r_ab"] == pytest.approx(stats.pearsonr(a[50:], b[50:])[0])
    expected_t, expected_p = williams_test(row["pearson_a"], row["pearson_b"], row["r_ab"], 150)
    assert (row["williams_t"], row["p_value"]) == pytest.approx((expected_t, expected_p))


def test_models_without_shared_test_genes_are_an_error():
    rng = np.random.default_rng(11)
    observed, a, b = trio(rng, 40, 0.7, 0.5, 0.5)
    left = single_run("a", observed[:20], a[:20])
    right = single_run("b", observed[20:], b[20:])
    right = ModelRuns("b", right.genes.set_axis([f"h{i}" for i in range(20)]), right.predicted, right.sources)
    with pytest.raises(InputError, match="share 0 test gene"):
        compare_pair(left, right, 100, seed=1)


def test_holm_adjustment():
    adjusted = holm_adjust(np.array([0.01, 0.04, 0.03, np.nan]))
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])


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
    assert comparison["p_value_holm"].iloc[0] == pytest.approx(comparison["p_value"].iloc[0])


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


def test_sequence_composition():
    features = sequence_composition(pd.Series(["ACGTACGTNN", "AAAATTTT", "cgcgcg"]))
    # ACGTACGT: GC 4/8, CpG 2 of 7 dinucleotides, o/e = 2 * 8 / (2 * 2)
    assert features[0] == pytest.approx([0.5, 4.0, 2 / 7])
    assert features[1] == pytest.approx([0.0, 0.0, 0.0])
    assert features[2] == pytest.approx([1.0, 3 * 6 / 9, 3 / 5])


def gc_driven_dataset(n: int = 300) -> pd.DataFrame:
    """Windows whose GC content sets the target (plus noise): the GC/CpG baseline must find it."""
    rng = np.random.default_rng(17)
    gc = rng.uniform(0.3, 0.7, n)
    sequences = ["".join(rng.choice(list("ACGT"), 400, p=[(1 - g) / 2, g / 2, g / 2, (1 - g) / 2])) for g in gc]
    target = 5 * gc + rng.normal(scale=0.3, size=n)
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


def test_baselines_on_the_synthetic_dataset(synthetic_dataset):
    """Every split of the bundled dataset gets both baselines, fitted without the test genes."""
    from seq2expr.dataset import read_dataset

    dataset = read_dataset(synthetic_dataset)
    metrics = metrics_table(baseline_models(dataset, str(synthetic_dataset)), 300, seed=1)
    counts = dataset["split"].value_counts()
    assert len(metrics) == 6
    for row in metrics.itertuples():
        assert row.n == counts[row.split]
    assert np.isfinite(metrics.loc[metrics["model"] == GC_CPG_BASELINE, "pearson"]).all()
    # Least squares with an intercept, fitted on train + val only: its residuals there average to zero.
    gc_cpg, _ = baseline_models(dataset, "dataset.tsv.gz")
    residual = gc_cpg.predicted[:, 0] - gc_cpg.genes["observed"].to_numpy()
    assert residual[gc_cpg.genes["split"].to_numpy() != "test"].mean() == pytest.approx(0, abs=1e-9)
    assert abs(residual[gc_cpg.genes["split"].to_numpy() == "test"].mean()) > 1e-6


def test_models_must_come_from_the_given_dataset(synthetic_dataset):
    from seq2expr.dataset import read_dataset

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
