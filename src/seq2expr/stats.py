"""The project's statistics in one place: correlations, the cluster bootstrap, intervals, tests.

**Constant predictions: the correlation is NaN (undefined), everywhere.** A constant side makes
Pearson's r 0/0; reporting 0.0 would present "no association" as a measurement, let an untrained
or collapsed model enter comparisons as if it had been measured, and hide that the number is
not a property of the data. NaN propagates into every summary, so a caller that needs a number
must decide explicitly and say why (the ladder counts a constant rung as r = 0 and documents
it; JSON writers turn NaN into null). "Constant" means exactly constant (range 0): rounding noise
in centred values must not produce a spurious r. Near-constant predictions are a separate,
softer flag (`seq2expr.io.predictions.is_near_constant`).

**Resampling is by group (cluster bootstrap).** Genes are not independent: overlapping windows,
paralogs and bidirectional promoters share sequence and expression. A resample draws whole
groups with replacement (as many groups as there are); a gene weighs as many times as its group
was drawn. Weights, not index lists, so resamples of unequal size stay one vectorised array;
a statistic on the weights equals the statistic on the expanded sample exactly (the weighted
Pearson r and mid-ranks below are written so). Without groups every gene is its own group,
which is the ordinary gene bootstrap.

**Intervals that carry training variability too (issue 22).** A model's r depends on the genes
it is tested on, but also on the genes it was trained on and on its seed. Two protocols, two
named methods, both returning an `Estimate` with a t interval and an analytic p (so the smallest
attainable p is not bounded by a number of resamples):

- cross-fitting (J = K folds × R repeats ≥ 2 blocks): `corrected_resampled_t`, the corrected
  repeated k-fold t of Nadeau & Bengio (2003) and Bouckaert & Frank (2004) on the per-block
  statistics;
- a single split: `runs_fixed_t`, the cluster bootstrap with the runs (seeds) held fixed for
  the gene-sampling variance, plus an explicit between-run variance with Welch–Satterthwaite
  degrees of freedom (Satterthwaite 1946).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
MINUS = "\u2212"
"""A true minus sign in formatted numbers: a hyphen beside an en dash or a bracket misreads."""


# --- correlations ----------------------------------------------------------------------------


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two samples (SciPy's), NaN when either side is constant or has fewer than 2 values."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(scipy_stats.pearsonr(x, y)[0])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rho (Pearson r of mid-ranks), NaN when either side is constant."""
    return pearson(scipy_stats.rankdata(x), scipy_stats.rankdata(y))


def pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis, vectorised over the others (NaN where either side is constant)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xc * yc).sum(axis=-1) / np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    constant = (np.ptp(x, axis=-1) == 0) | (np.ptp(y, axis=-1) == 0)
    return np.where(constant, np.nan, np.clip(r, -1.0, 1.0))


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho along the last axis: Pearson r of mid-ranks."""
    return pearson_rows(scipy_stats.rankdata(x, axis=-1), scipy_stats.rankdata(y, axis=-1))


def _constant_on_support(values: np.ndarray, weights: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Per resample: whether the genes it draws all carry the same value.

    Only resamples whose weighted spread is tiny are checked exactly (a constant side leaves
    rounding noise, not an exact zero), which keeps the check cheap.
    """
    values = np.broadcast_to(values, weights.shape)
    scale = np.max(np.abs(values), axis=-1) ** 2 + np.finfo(float).tiny
    suspect = np.flatnonzero(spread <= 1e-20 * scale)
    constant = np.zeros(weights.shape[0], dtype=bool)
    for row in suspect:
        drawn = values[row][weights[row] > 0]
        constant[row] = drawn.size == 0 or np.ptp(drawn) == 0
    return constant


def _weighted_r(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted Pearson r per resample; x and y per gene (genes,) or per resample (resamples, genes)."""
    total = weights.sum(axis=-1, keepdims=True)
    xc = x - (weights * x).sum(axis=-1, keepdims=True) / total
    yc = y - (weights * y).sum(axis=-1, keepdims=True) / total
    sxx = (weights * xc * xc).sum(axis=-1) / total[..., 0]
    syy = (weights * yc * yc).sum(axis=-1) / total[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (weights * xc * yc).sum(axis=-1) / total[..., 0] / np.sqrt(sxx * syy)
    constant = _constant_on_support(x, weights, sxx) | _constant_on_support(y, weights, syy)
    return np.where(constant, np.nan, np.clip(r, -1.0, 1.0))


def weighted_pearson(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pearson r of each resample, shape (resamples,): x and y are per gene, weights (resamples, genes).

    Equal to `pearson` on the sample in which each gene is repeated `weight` times.
    """
    return _weighted_r(np.asarray(x, dtype=float), np.asarray(y, dtype=float), weights)


def weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mid-ranks of each gene within each resample, as if each gene were repeated `weight` times.

    Ties share the mean of the ranks they occupy, as `scipy.stats.rankdata` does.
    """
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    tie_group = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    ordered_weights = weights[..., order]
    tie_total = np.add.reduceat(ordered_weights, starts, axis=-1)
    before = np.cumsum(tie_total, axis=-1) - tie_total
    ranks_ordered = before[..., tie_group] + (tie_total[..., tie_group] + 1) / 2
    ranks = np.empty_like(ranks_ordered)
    ranks[..., order] = ranks_ordered
    return ranks


def weighted_spearman(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Spearman rho of each resample (weighted Pearson r of the resample's own mid-ranks)."""
    return _weighted_r(weighted_ranks(x, weights), weighted_ranks(y, weights), weights)


def weighted_auroc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Area under the ROC curve of `scores` for the boolean `labels`, per resample.

    The Mann-Whitney form: the chance that a positive scores above a negative, ties counting
    half; NaN where a resample draws no positive or no negative.
    """
    labels = np.asarray(labels, dtype=bool)
    ranks = weighted_ranks(np.asarray(scores, dtype=float), weights)
    positives = (weights * labels).sum(axis=-1)
    negatives = (weights * ~labels).sum(axis=-1)
    rank_sum = (weights * ranks * labels).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
    return np.where((positives > 0) & (negatives > 0), auc, np.nan)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """AUROC of one sample (NaN without both classes)."""
    return float(weighted_auroc(scores, labels, np.ones((1, len(labels))))[0])


# --- the cluster bootstrap ---------------------------------------------------------------------


def group_codes(gene_ids: Sequence[str] | pd.Index, groups: pd.Series | None) -> np.ndarray:
    """An integer group per gene, in the order given; without `groups`, each gene its own group.

    `groups` maps gene id to group id; every gene must be in it (the caller checks and names files).
    """
    if groups is None:
        return np.arange(len(gene_ids))
    labels = groups.reindex(pd.Index(gene_ids)).to_numpy()
    return np.unique(labels.astype(str), return_inverse=True)[1].reshape(-1)


def cluster_weights(codes: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Bootstrap weights, shape (resamples, genes): each resample draws all groups with replacement.

    The draw counts of G groups are one multinomial(G, 1/G) vector per resample; a gene gets its
    group's count. The same seed, codes and resamples give the same weights, so two models on
    the same genes are resampled identically (the paired bootstrap).
    """
    _, codes = np.unique(codes, return_inverse=True)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    if n_groups == 0:
        return np.zeros((resamples, 0))
    counts = np.random.default_rng(seed).multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=resamples)
    return counts[:, codes.reshape(-1)].astype(float)


def percentile_interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval, ignoring resamples where the statistic is undefined."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


# --- inference: cross-fitting and a single split with runs --------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A statistic with its interval and two-sided p (H0: the statistic is 0), and how they were made.

    `se` and `df` are on the scale the interval was built on (Fisher z for r when `fisher_z`);
    `method` names the method and its counts in a few words, for the tables; `dropped` counts the
    non-finite blocks or resamples left out.
    """

    value: float
    low: float
    high: float
    p: float
    se: float
    df: float
    method: str
    dropped: int = 0


_R_EDGE = 1 - 1e-15
"""r is clipped to ±_R_EDGE before atanh, so a perfect r gives a large finite z rather than inf."""


def _fisher_z(values: np.ndarray) -> np.ndarray:
    return np.arctanh(np.clip(values, -_R_EDGE, _R_EDGE))


def _format_df(df: float) -> str:
    if not np.isfinite(df):
        return "normal"
    return f"t df={df:.0f}" if float(df).is_integer() else f"t df={df:.1f}"


def _t_estimate(
    mean: float, se: float, df: float, *, fisher_z: bool, confidence: float, method: str, dropped: int
) -> Estimate:
    """The t interval mean ± q·se and the two-sided p of mean / se, back-transformed from z when asked.

    se = 0 (every block or run identical, no gene variance) gives the degenerate interval [mean, mean]
    and the limit of the t test: p = 1 when the mean is 0, else 0.
    """
    quantile = (
        scipy_stats.norm.ppf(0.5 + confidence / 2)
        if not np.isfinite(df)
        else scipy_stats.t.ppf(0.5 + confidence / 2, df)
    )
    low, high = mean - quantile * se, mean + quantile * se
    if se > 0:
        statistic = abs(mean) / se
        p = 2 * (scipy_stats.norm.sf(statistic) if not np.isfinite(df) else scipy_stats.t.sf(statistic, df))
    else:
        p = 1.0 if mean == 0 else 0.0
    back = np.tanh if fisher_z else float
    return Estimate(
        float(back(mean)), float(back(low)), float(back(high)), float(p), float(se), float(df), method, dropped
    )


def _no_interval(value: float, method: str, dropped: int, *, fisher_z: bool) -> Estimate:
    nan = float("nan")
    return Estimate(float(np.tanh(value)) if fisher_z else float(value), nan, nan, nan, nan, nan, method, dropped)


def corrected_resampled_t(
    per_block: np.ndarray, test_train_ratio: float, *, fisher_z: bool = False, confidence: float = CONFIDENCE
) -> Estimate:
    """The corrected repeated k-fold t on per-block statistics (Nadeau & Bengio 2003; Bouckaert & Frank 2004).

    A block is one fold of one cross-fitting repeat; its statistic (r, Δr, ΔMSE) is computed on the
    fold's test genes from models trained on the other folds (the mean over the block's seeds).
    The J blocks are not independent: their models share most of their training genes, and the
    blocks of different repeats share test genes, so the plain t (variance s²/J) is too narrow,
    badly so once folds are repeated (Bouckaert & Frank 2004). Nadeau & Bengio's correction
    replaces 1/J by 1/J + n_test/n_train: var = (1/J + n_test/n_train)·s², s² the variance of the
    J block values (ddof 1), with a t of J − 1 degrees of freedom. It is the variance a model of
    block correlation n_test/n_total implies, and holds its size where the training set's draw
    moves the statistic (measured in tests/python/test_inference_simulation.py; figures in
    docs/decisions.md). For K folds, n_test/n_train = 1/(K − 1).

    Non-finite blocks (a constant prediction in a fold) are left out and counted in `dropped`.
    With `fisher_z` the values are Pearson r's: the t works on z = atanh(r) and the value and bounds
    are back-transformed (value = tanh(mean z)), so they stay within [−1, 1]; p is for H0: r = 0.
    References: Nadeau C., Bengio Y. Inference for the generalization error. Machine Learning
    52: 239–281 (2003). Bouckaert R. R., Frank E. Evaluating the replicability of significance
    tests for comparing learning algorithms. PAKDD 2004, LNCS 3056: 3–12.
    """
    values = np.asarray(per_block, dtype=float).reshape(-1)
    if not test_train_ratio >= 0:
        raise ValueError(f"test_train_ratio must be a non-negative number, not {test_train_ratio}")
    finite = values[np.isfinite(values)]
    dropped = values.size - finite.size
    blocks = finite.size
    if fisher_z:
        finite = _fisher_z(finite)
    name = "corrected resampled t (Nadeau & Bengio 2003)"
    dropped_text = f", {dropped} non-finite block{'s' if dropped != 1 else ''} dropped" if dropped else ""
    z_text = ", Fisher z" if fisher_z else ""
    if blocks < 2:
        value = float(finite.mean()) if blocks else float("nan")
        method = f"{name}: no interval, {blocks} finite block{'s' if blocks != 1 else ''} (needs 2){dropped_text}"
        return _no_interval(value, method, dropped, fisher_z=fisher_z)
    mean = float(finite.mean())
    se = float(np.sqrt((1 / blocks + test_train_ratio) * finite.var(ddof=1)))
    df = float(blocks - 1)
    method = f"{name}, J={blocks}, {_format_df(df)}{z_text}{dropped_text}"
    return _t_estimate(mean, se, df, fisher_z=fisher_z, confidence=confidence, method=method, dropped=dropped)


def runs_fixed_t(
    per_run: np.ndarray, resampled: np.ndarray, *, fisher_z: bool = False, confidence: float = CONFIDENCE
) -> Estimate:
    """A single split's mean over R runs (seeds), with gene and run variance: cluster bootstrap + Satterthwaite.

    `per_run` (R,) is each run's statistic on the test genes; `resampled` (B, R) the same statistic of
    every run on each cluster-bootstrap resample (`cluster_weights`), the same genes for all runs.
    Two sources of error, estimated separately and added:

    - gene sampling: the variance over resamples of the run-mean statistic (ddof 1). The runs stay
      fixed within a resample, so this is the gene-sampling variance of the estimate itself;
      resampling the runs too (the plug-in bootstrap over R = 2–3 values) undercounts the seed
      variance and counts the seed × gene interaction twice;
    - runs: s²_runs / R (ddof 1), the variance of a mean of R exchangeable seeds; 0 with one run.

    se = sqrt(v_genes + v_runs); the degrees of freedom by Welch–Satterthwaite (Satterthwaite 1946),
    the gene part taken as exactly known (B resamples of many groups): df = (v_genes + v_runs)² /
    (v_runs² / (R − 1)), so a seed-dominated estimate from 3 seeds gets a t of about 2 df and a
    gene-dominated one the normal quantile; df = inf with one run or identical runs. The interval
    is the t interval and p the analytic two-sided p (H0: 0), not a percentile, so small p's are
    attainable with any B.

    Non-finite resamples (a resample drawing only constant predictions) are left out and counted in
    `dropped`. A non-finite run statistic gives no estimate at all (the module's NaN policy: a
    collapsed run is not a measurement, and leaving it out would flatter the model). With
    `fisher_z` both inputs are r's and the whole computation is on z = atanh(r), back-transformed.
    Reference: Satterthwaite F. E. An approximate distribution of estimates of variance components.
    Biometrics Bulletin 2(6): 110–114 (1946).
    """
    runs = np.asarray(per_run, dtype=float).reshape(-1)
    resampled = np.asarray(resampled, dtype=float)
    if resampled.ndim != 2 or resampled.shape[1] != runs.size:
        raise ValueError(f"resampled must have shape (resamples, {runs.size}), not {resampled.shape}")
    n_runs = runs.size
    z_text = ", Fisher z" if fisher_z else ""
    name = f"cluster bootstrap, runs fixed, R={n_runs}"
    if n_runs == 0 or not np.all(np.isfinite(runs)):
        reason = "no runs" if n_runs == 0 else "a run's statistic is undefined"
        return _no_interval(float("nan"), f"{name}: no interval, {reason}", 0, fisher_z=False)
    kept = np.all(np.isfinite(resampled), axis=1)
    dropped = int(np.count_nonzero(~kept))
    dropped_text = f", {dropped} non-finite resample{'s' if dropped != 1 else ''} dropped" if dropped else ""
    if fisher_z:
        runs, resampled = _fisher_z(runs), _fisher_z(resampled)
    mean = float(runs.mean())
    if np.count_nonzero(kept) < 2:
        method = f"{name}: no interval, fewer than 2 finite resamples{dropped_text}"
        return _no_interval(mean, method, dropped, fisher_z=fisher_z)
    gene_variance = float(resampled[kept].mean(axis=1).var(ddof=1))
    run_variance = float(runs.var(ddof=1) / n_runs) if n_runs > 1 else 0.0
    total = gene_variance + run_variance
    df = total**2 / (run_variance**2 / (n_runs - 1)) if n_runs > 1 and run_variance > 0 else float("inf")
    seed_text = " + seed variance" if n_runs > 1 else ""
    method = f"{name}{seed_text}, B={int(np.count_nonzero(kept))}, {_format_df(df)}{z_text}{dropped_text}"
    return _t_estimate(
        mean, float(np.sqrt(total)), df, fisher_z=fisher_z, confidence=confidence, method=method, dropped=dropped
    )


# --- normal-theory intervals and tests ---------------------------------------------------------


def fisher_interval(r: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Fisher z interval for a Pearson r from n pairs (the normal approximation, n > 3)."""
    if not np.isfinite(r) or n <= 3:
        return float("nan"), float("nan")
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    half = scipy_stats.norm.ppf(0.5 + confidence / 2) / np.sqrt(n - 3)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def williams_test(r_jk: float, r_jh: float, r_kh: float, n: int) -> tuple[float, float]:
    """Williams' t for H0: rho_jk = rho_jh, two correlations sharing variable j (Steiger 1980, eq. 7).

    j is the observed expression, k and h the two models' predictions and r_kh their correlation;
    df = n - 3. Returns (t, two-sided p). It assumes normal, homoscedastic data, which expression
    with a floor of silent genes is not (it rejects a true null too often): a secondary test.
    """
    det = 1 - r_jk**2 - r_jh**2 - r_kh**2 + 2 * r_jk * r_jh * r_kh
    mean = (r_jk + r_jh) / 2
    denominator = 2 * (n - 1) / (n - 3) * det + mean**2 * (1 - r_kh) ** 3
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (r_jk - r_jh) * np.sqrt((n - 1) * (1 + r_kh) / denominator)
    return float(t), float(2 * scipy_stats.t.sf(abs(t), n - 3))


def zou_interval(r_jk: float, r_jh: float, r_kh: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Zou's (2007) interval for rho_jk - rho_jh from the two Fisher intervals and their correlation."""
    if not all(abs(r) < 1 for r in (r_jk, r_jh)):  # a perfect (or undefined) r has no Fisher interval to combine
        return float("nan"), float("nan")
    l1, u1 = fisher_interval(r_jk, n, confidence)
    l2, u2 = fisher_interval(r_jh, n, confidence)
    c = ((r_kh - r_jk * r_jh / 2) * (1 - r_jk**2 - r_jh**2 - r_kh**2) + r_kh**3) / ((1 - r_jk**2) * (1 - r_jh**2))
    delta = r_jk - r_jh
    low = delta - np.sqrt((r_jk - l1) ** 2 + (u2 - r_jh) ** 2 - 2 * c * (r_jk - l1) * (u2 - r_jh))
    high = delta + np.sqrt((u1 - r_jk) ** 2 + (r_jh - l2) ** 2 - 2 * c * (u1 - r_jk) * (r_jh - l2))
    return float(low), float(high)


def holm_adjust(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment over one family of p values (NaN stays NaN and is not counted)."""
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full(p_values.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p_values))
    order = finite[np.argsort(p_values[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, position in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[position]))
        adjusted[position] = running
    return adjusted


# --- formatting --------------------------------------------------------------------------------


def format_signed(value: float, digits: int = 3) -> str:
    """A number with a fixed number of decimals and a true minus sign; 'n/a' when not finite."""
    if not np.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "−0.000"
    return text.replace("-", MINUS)


def format_interval(low: float, high: float, digits: int = 3) -> str:
    """An interval as '[low, high]' (unambiguous with negative bounds, unlike '−0.37 – −0.01'); 'n/a'."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "n/a"
    return f"[{format_signed(low, digits)}, {format_signed(high, digits)}]"
