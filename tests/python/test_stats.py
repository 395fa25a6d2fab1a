"""seq2expr.stats: against SciPy and scikit-learn, the constant-prediction policy, the cluster bootstrap's
weights, and its coverage in a simulation where the truth is known (issue 15, science test c)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import correlated, trio
from scipy import stats as scipy_stats
from sklearn.metrics import roc_auc_score

from seq2expr.stats import (
    MINUS,
    Estimate,
    auroc,
    cluster_weights,
    corrected_resampled_t,
    fisher_interval,
    format_interval,
    format_signed,
    group_codes,
    holm_adjust,
    pearson,
    pearson_rows,
    percentile_interval,
    runs_fixed_t,
    spearman,
    spearman_rows,
    weighted_auroc,
    weighted_pearson,
    weighted_ranks,
    weighted_spearman,
    williams_test,
    zou_interval,
)

# --- point estimates --------------------------------------------------------------------------


def test_correlations_match_scipy():
    rng = np.random.default_rng(0)
    x, y = correlated(rng, 200, 0.4)
    y[:20] = np.round(y[:20])  # some ties for the ranks
    assert pearson(x, y) == scipy_stats.pearsonr(x, y).statistic  # SciPy's own value, bit for bit
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-12)
    assert pearson_rows(x, y) == pytest.approx(scipy_stats.pearsonr(x, y).statistic, abs=1e-12)
    assert spearman_rows(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-12)
    stacked = np.vstack([y, -y, y**3])
    expected = [scipy_stats.pearsonr(x, row).statistic for row in stacked]
    assert pearson_rows(x, stacked) == pytest.approx(expected, abs=1e-12)


def test_a_constant_side_has_no_correlation_everywhere():
    """The one policy: NaN, in the scalar, vectorised and resampled forms, whichever side is constant."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    constant = np.full(50, 0.1)  # 0.1 is not exact in binary: centring leaves rounding noise
    weights = cluster_weights(np.arange(50), 20, seed=1)
    assert np.isnan(pearson(x, constant)) and np.isnan(pearson(constant, x)) and np.isnan(spearman(x, constant))
    assert np.isnan(pearson_rows(x, constant)) and np.isnan(spearman_rows(constant, x))
    assert np.isnan(weighted_pearson(x, constant, weights)).all()
    assert np.isnan(weighted_spearman(constant, x, weights)).all()
    assert np.isnan(pearson(x[:1], x[:1]))
    # A resample that draws one gene only is constant too, even though the gene's values are not.
    one_gene = np.zeros((1, 50))
    one_gene[0, 7] = 50
    assert np.isnan(weighted_pearson(x, rng.normal(size=50), one_gene)).all()


def test_weighted_statistics_equal_the_expanded_sample():
    """A gene of weight w counts as w copies: r, rho (mid-ranks of ties) and AUROC are the expanded sample's."""
    rng = np.random.default_rng(2)
    x, y = correlated(rng, 60, 0.5)
    x[:12] = np.round(x[:12])  # ties
    labels = y > 0.3
    weights = rng.integers(0, 4, size=(5, 60)).astype(float)
    r, rho, auc = weighted_pearson(x, y, weights), weighted_spearman(x, y, weights), weighted_auroc(x, labels, weights)
    for row in range(5):
        copies = np.repeat(np.arange(60), weights[row].astype(int))
        assert r[row] == pytest.approx(scipy_stats.pearsonr(x[copies], y[copies]).statistic, abs=1e-12)
        assert rho[row] == pytest.approx(scipy_stats.spearmanr(x[copies], y[copies]).statistic, abs=1e-12)
        assert auc[row] == pytest.approx(roc_auc_score(labels[copies], x[copies]), abs=1e-12)
        ranks = weighted_ranks(x, weights[row][None, :])[0]
        expanded = scipy_stats.rankdata(x[copies])
        assert ranks[copies] == pytest.approx(expanded)


def test_auroc_matches_sklearn_and_needs_both_classes():
    rng = np.random.default_rng(3)
    scores = np.round(rng.normal(size=300), 1)  # many ties
    labels = scores + rng.normal(size=300) > 0
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert auroc(np.zeros(10), np.arange(10) > 4) == 0.5  # constant scores: ties count half
    assert np.isnan(auroc(scores[:10], np.ones(10, dtype=bool)))


def test_fisher_interval_matches_scipy():
    rng = np.random.default_rng(4)
    x, y = correlated(rng, 57, 0.55)
    result = scipy_stats.pearsonr(x, y)
    expected = result.confidence_interval(confidence_level=0.95)
    assert fisher_interval(result.statistic, 57) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_fisher_interval_covers_the_true_correlation_at_about_the_nominal_rate():
    """400 samples of n = 100 from a population with rho = 0.6: about 95 % of intervals hold rho."""
    rng = np.random.default_rng(20240610)
    rho, draws = 0.6, 400
    hits = 0
    for _ in range(draws):
        x, y = correlated(rng, 100, rho)
        low, high = fisher_interval(pearson(x, y), 100)
        hits += low <= rho <= high
    assert abs(hits / draws - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / draws)


# --- resampling -------------------------------------------------------------------------------


def test_cluster_weights_draw_whole_groups():
    codes = np.array([5, 5, 5, 2, 2, 9, 11, 11])  # four groups of 3, 2, 1 and 2 genes
    weights = cluster_weights(codes, 400, seed=7)
    assert weights.shape == (400, 8)
    # the genes of a group share its draw count, and each resample draws as many groups as there are
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 1] == weights[:, 2]).all()
    assert (weights[:, 3] == weights[:, 4]).all() and (weights[:, 6] == weights[:, 7]).all()
    assert (weights[:, [0, 3, 5, 6]].sum(axis=1) == 4).all()
    assert weights[:, [0, 3, 5, 6]].mean() == pytest.approx(1.0, abs=0.05)
    assert np.array_equal(cluster_weights(codes, 400, seed=7), weights)
    assert not np.array_equal(cluster_weights(codes, 400, seed=8), weights)


def test_group_codes_follow_the_gene_order():
    groups = pd.Series({"a": "G1", "b": "G2", "c": "G1"})
    codes = group_codes(pd.Index(["c", "b", "a"]), groups)
    assert codes[0] == codes[2] != codes[1]
    assert list(group_codes(pd.Index(["x", "y"]), None)) == [0, 1]


def test_gene_bootstrap_agrees_with_scipy_bootstrap():
    """Singleton groups are the ordinary gene bootstrap: close to SciPy's percentile interval."""
    rng = np.random.default_rng(5)
    x, y = correlated(rng, 120, 0.5)
    interval = percentile_interval(weighted_pearson(x, y, cluster_weights(np.arange(120), 4000, seed=11)))
    reference = scipy_stats.bootstrap(
        (x, y),
        lambda a, b, axis: pearson_rows(a, b),
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        rng=np.random.default_rng(12),
    ).confidence_interval
    assert interval == pytest.approx((reference.low, reference.high), abs=0.02)


def test_percentile_interval():
    samples = np.r_[np.linspace(0, 1, 101), np.nan, np.nan]
    assert percentile_interval(samples, 0.9) == pytest.approx((0.05, 0.95))
    assert all(np.isnan(percentile_interval(np.full(5, np.nan))))


# --- inference for the two protocols (issue 22) ---------------------------------------------------


def test_corrected_resampled_t_by_hand():
    """Nadeau & Bengio: var = (1/J + n_test/n_train) s², t with J − 1 df; J = 4, ratio 1/4."""
    estimate = corrected_resampled_t(np.array([0.1, 0.2, 0.3, 0.4]), 0.25)
    # mean 0.25, s² = 0.05/3, var = (1/4 + 1/4) s² = 1/120
    se = np.sqrt(1 / 120)
    assert isinstance(estimate, Estimate)
    assert estimate.value == pytest.approx(0.25) and estimate.se == pytest.approx(se) and estimate.df == 3
    quantile = scipy_stats.t.ppf(0.975, 3)  # 3.182
    assert (estimate.low, estimate.high) == pytest.approx((0.25 - quantile * se, 0.25 + quantile * se))
    assert estimate.p == pytest.approx(2 * scipy_stats.t.sf(0.25 / se, 3))
    assert estimate.dropped == 0 and "Nadeau & Bengio 2003" in estimate.method and "J=4" in estimate.method
    # the ratio 0 is the naive t of scipy's one-sample test
    naive = corrected_resampled_t(np.array([0.1, 0.2, 0.3, 0.4]), 0.0)
    assert naive.p == pytest.approx(scipy_stats.ttest_1samp([0.1, 0.2, 0.3, 0.4], 0.0).pvalue)
    narrow = corrected_resampled_t(np.array([0.1, 0.2, 0.3, 0.4]), 0.25, confidence=0.5)
    assert narrow.high - narrow.low < estimate.high - estimate.low and narrow.p == estimate.p
    with pytest.raises(ValueError, match="test_train_ratio"):
        corrected_resampled_t(np.array([0.1, 0.2]), -1.0)


def test_corrected_resampled_t_drops_and_counts_non_finite_blocks():
    estimate = corrected_resampled_t(np.array([0.1, np.nan, 0.3, np.inf, 0.2]), 0.25)
    finite = corrected_resampled_t(np.array([0.1, 0.3, 0.2]), 0.25)
    assert (estimate.value, estimate.low, estimate.high, estimate.p, estimate.se) == (
        finite.value,
        finite.low,
        finite.high,
        finite.p,
        finite.se,
    )
    assert estimate.dropped == 2 and "2 non-finite blocks dropped" in estimate.method and estimate.df == 2
    one = corrected_resampled_t(np.array([0.3, np.nan]), 0.25)
    assert one.value == pytest.approx(0.3) and one.dropped == 1
    assert all(np.isnan([one.low, one.high, one.p, one.se, one.df])) and "needs 2" in one.method
    none = corrected_resampled_t(np.array([np.nan, np.nan]), 0.25, fisher_z=True)
    assert np.isnan(none.value) and none.dropped == 2
    # identical blocks: no spread, the degenerate interval and the limit of the t test
    flat = corrected_resampled_t(np.full(5, 0.2), 0.25)
    assert (flat.low, flat.high, flat.p) == pytest.approx((0.2, 0.2, 0.0))
    assert corrected_resampled_t(np.zeros(5), 0.25).p == 1.0


def test_corrected_resampled_t_on_fisher_z():
    """r's: the t on atanh(r), value and bounds back-transformed, within [−1, 1]; p for H0: r = 0."""
    r = np.array([0.5, 0.6, 0.55, 0.45, 0.62])
    estimate = corrected_resampled_t(r, 0.25, fisher_z=True)
    on_z = corrected_resampled_t(np.arctanh(r), 0.25)
    assert estimate.value == pytest.approx(np.tanh(np.arctanh(r).mean()))
    assert (estimate.low, estimate.high) == pytest.approx((np.tanh(on_z.low), np.tanh(on_z.high)))
    assert estimate.p == pytest.approx(on_z.p) and estimate.se == pytest.approx(on_z.se)
    assert "Fisher z" in estimate.method
    extreme = corrected_resampled_t(np.array([0.999, 1.0, 0.2, -0.99]), 0.25, fisher_z=True)
    assert -1 <= extreme.low <= extreme.value <= extreme.high <= 1 and np.isfinite(extreme.p)


def test_runs_fixed_t_by_hand():
    """Gene variance from the resamples' run means, run variance s²/R, Welch–Satterthwaite df."""
    per_run = np.array([0.4, 0.5, 0.6])
    resampled = np.array([[0.4, 0.5, 0.6], [0.3, 0.4, 0.5], [0.5, 0.6, 0.7], [0.4, 0.5, 0.6], [0.4, np.nan, 0.6]])
    estimate = runs_fixed_t(per_run, resampled)
    # row means 0.5, 0.4, 0.6, 0.5 -> v_genes = 0.02/3; v_runs = 0.01/3; se = 0.1;
    # df = 0.01² / ((0.01/3)² / 2) = 18
    assert estimate.value == pytest.approx(0.5) and estimate.se == pytest.approx(0.1)
    assert estimate.df == pytest.approx(18)
    quantile = scipy_stats.t.ppf(0.975, 18)  # 2.101
    assert (estimate.low, estimate.high) == pytest.approx((0.5 - quantile * 0.1, 0.5 + quantile * 0.1))
    assert estimate.p == pytest.approx(2 * scipy_stats.t.sf(5.0, 18))
    assert estimate.dropped == 1 and "1 non-finite resample dropped" in estimate.method
    assert "runs fixed" in estimate.method and "R=3" in estimate.method and "t df=18" in estimate.method


def test_runs_fixed_t_with_one_run_or_identical_runs_uses_the_normal_quantile():
    resampled = np.array([[0.4], [0.6], [0.5], [0.5]])  # v_genes = 0.02/3
    one = runs_fixed_t(np.array([0.5]), resampled)
    se = np.sqrt(0.02 / 3)
    assert np.isinf(one.df) and one.se == pytest.approx(se) and "normal" in one.method
    assert one.high == pytest.approx(0.5 + scipy_stats.norm.ppf(0.975) * se)
    assert one.p == pytest.approx(2 * scipy_stats.norm.sf(0.5 / se))
    same = runs_fixed_t(np.array([0.5, 0.5]), np.hstack([resampled, resampled]))
    assert np.isinf(same.df) and same.se == pytest.approx(se)


def test_runs_fixed_t_without_an_estimate():
    resampled = np.full((4, 2), 0.5)
    undefined = runs_fixed_t(np.array([0.5, np.nan]), resampled)
    assert all(np.isnan([undefined.value, undefined.low, undefined.p])) and "undefined" in undefined.method
    dropped = runs_fixed_t(np.array([0.5, 0.4]), np.full((4, 2), np.nan))
    assert dropped.value == pytest.approx(0.45) and np.isnan(dropped.low) and dropped.dropped == 4
    assert "fewer than 2 finite resamples" in dropped.method
    with pytest.raises(ValueError, match="shape"):
        runs_fixed_t(np.array([0.5, 0.4]), np.zeros((4, 3)))


def test_runs_fixed_t_on_fisher_z():
    rng = np.random.default_rng(22)
    per_run = np.array([0.97, 0.999, 0.95])
    resampled = np.clip(per_run + rng.normal(scale=0.02, size=(50, 3)), -1, 1)
    estimate = runs_fixed_t(per_run, resampled, fisher_z=True)
    on_z = runs_fixed_t(np.arctanh(per_run), np.arctanh(np.clip(resampled, -1 + 1e-15, 1 - 1e-15)))
    assert estimate.value == pytest.approx(np.tanh(np.arctanh(per_run).mean()))
    assert (estimate.low, estimate.high) == pytest.approx((np.tanh(on_z.low), np.tanh(on_z.high)))
    assert estimate.df == pytest.approx(on_z.df) and estimate.p == pytest.approx(on_z.p)
    assert -1 <= estimate.low <= estimate.value <= estimate.high <= 1 and "Fisher z" in estimate.method


# --- tests --------------------------------------------------------------------------------------


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
        r_a, r_b, r_ab = (
            scipy_stats.pearsonr(observed, a)[0],
            scipy_stats.pearsonr(observed, b)[0],
            scipy_stats.pearsonr(a, b)[0],
        )
        p_values.append(williams_test(r_a, r_b, r_ab, n)[1])
        low, high = zou_interval(r_a, r_b, r_ab, n)
        zou_hits += low <= 0 <= high
    rejection = np.mean(np.array(p_values) < 0.05)
    assert 0.02 <= rejection <= 0.085
    assert 0.92 <= zou_hits / draws <= 0.98
    # p-values are uniform under the null
    assert scipy_stats.kstest(p_values, "uniform").pvalue > 0.01


def test_paired_test_separates_models_that_differ():
    """r = 0.65 against r = 0.50 on 300 genes, models correlated 0.6: detected nearly always."""
    rng = np.random.default_rng(8)
    draws, n = 200, 300
    rejections = 0
    for _ in range(draws):
        observed, a, b = trio(rng, n, 0.65, 0.5, 0.6)
        r_a, r_b, r_ab = (
            scipy_stats.pearsonr(observed, a)[0],
            scipy_stats.pearsonr(observed, b)[0],
            scipy_stats.pearsonr(a, b)[0],
        )
        rejections += williams_test(r_a, r_b, r_ab, n)[1] < 0.05
    # Theoretical power for these settings is about 0.96.
    assert rejections / draws >= 0.85


def test_holm_adjustment():
    adjusted = holm_adjust(np.array([0.01, 0.04, 0.03, np.nan]))
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])


def test_formatting_uses_one_minus_sign():
    assert format_signed(-0.3712) == f"{MINUS}0.371"
    assert format_signed(-0.0001) == "0.000"  # no negative zero
    assert format_signed(0.25, 2) == "0.25"
    assert format_interval(-0.371, -0.006) == f"[{MINUS}0.371, {MINUS}0.006]"
    assert format_interval(float("nan"), 0.2) == "n/a" and format_signed(float("inf")) == "n/a"


# --- science: coverage under clustering ---------------------------------------------------------


def test_cluster_bootstrap_covers_the_true_r_where_the_gene_bootstrap_does_not():
    """Clustered genes (100 groups of 5 sharing a group effect): the true r is known, 0.45.

    Each gene's x and y are a group effect (correlated 0.9 between x and y) plus independent gene
    noise of equal variance, so rho = 0.9 / 2. Genes of a group are not independent: the gene
    bootstrap's interval is too narrow and misses rho too often; the cluster bootstrap's holds it
    at about the nominal 95 %. Tolerance: 3 binomial SDs of a 95 % rate over the simulations.
    """
    simulations, groups, size, resamples, group_r = 200, 100, 5, 250, 0.9
    rho = group_r / 2
    tolerance = 3 * np.sqrt(0.95 * 0.05 / simulations)  # 0.046
    rng = np.random.default_rng(20261201)
    codes = np.repeat(np.arange(groups), size)
    cluster_hits = gene_hits = 0
    for simulation in range(simulations):
        u = rng.normal(size=groups)
        v = group_r * u + np.sqrt(1 - group_r**2) * rng.normal(size=groups)
        x = u[codes] + rng.normal(size=codes.size)
        y = v[codes] + rng.normal(size=codes.size)
        low, high = percentile_interval(weighted_pearson(x, y, cluster_weights(codes, resamples, simulation)))
        cluster_hits += low <= rho <= high
        low, high = percentile_interval(
            weighted_pearson(x, y, cluster_weights(np.arange(codes.size), resamples, simulation))
        )
        gene_hits += low <= rho <= high
    assert abs(cluster_hits / simulations - 0.95) <= tolerance
    assert gene_hits / simulations < 0.95 - tolerance
