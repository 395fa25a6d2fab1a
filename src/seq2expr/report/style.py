"""How the report names, groups, orders and colours the models and the gene strata.

The question the report answers is whether a genome language model (gLM) beats the simple
methods, so every model has a role, which the roster gives (`seq2expr.models.roster`): a gLM
(fine-tuned DNABERT-2, and any frozen-embedding probe), a simple rung (the training mean, GC/CpG
content, DExTER, the one-hot CNN), or another model (a user's own).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from seq2expr.evaluation.strata import ALL, EXPRESSED, EXPRESSED_TPM, HCP, ICP, LCP, UNSEEN
from seq2expr.models.roster import BASELINES, GC_CPG_BASELINE, MEAN_BASELINE
from seq2expr.models.training.refit import EARLY_STOPPING, FITTED_ON

STRATUM_LABELS = {
    ALL: "all genes",
    UNSEEN: "unseen genes",
    HCP: "high-CpG promoters (HCP)",
    ICP: "intermediate-CpG promoters (ICP)",
    LCP: "low-CpG promoters (LCP)",
    EXPRESSED: f"expressed genes (TPM ≥ {EXPRESSED_TPM:g})",
}
"""The strata of `metrics.tsv` in report order, as a reader names them."""

TARGET = "log10 TPM (0.001 floor)"
"""What the target is (the dataset's default recipe); silent genes sit at the floor, −3."""

# Okabe-Ito colours (distinguishable with colour-blindness) for the models, greys for the baselines.
MODEL_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
BASELINE_COLOURS = {GC_CPG_BASELINE: "#8C8C8C", MEAN_BASELINE: "#BDBDBD"}

VAL_USES = {FITTED_ON: "in the fit", EARLY_STOPPING: "early stopping"}
"""`metrics.tsv` `val_use` values as the row label says them."""


def stratum_label(stratum: str) -> str:
    return STRATUM_LABELS.get(stratum, stratum)


def strata_in(table: pd.DataFrame) -> list[str]:
    """The strata a table holds, `all` first and then in report order (unknown strata last, as found)."""
    present = list(dict.fromkeys(table["stratum"].astype(str)))
    known = [stratum for stratum in STRATUM_LABELS if stratum in present]
    return known + [stratum for stratum in present if stratum not in STRATUM_LABELS]


def model_colours(models: Collection[str]) -> dict[str, str]:
    """A stable colour per model name (assigned in name order), the same in every plot."""
    learned = sorted(model for model in models if model not in BASELINES)
    colours = {model: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, model in enumerate(learned)}
    colours.update({model: BASELINE_COLOURS[model] for model in models if model in BASELINES})
    return colours


def ranked_test_rows(metrics: pd.DataFrame, stratum: str = ALL) -> pd.DataFrame:
    """The test rows of one stratum, highest Pearson r first (models without r last, by name)."""
    rows = metrics[(metrics["split"] == "test") & (metrics["stratum"] == stratum)]
    key = rows["pearson"].astype(float).fillna(-np.inf)
    order = np.lexsort((rows["model"].astype(str).to_numpy(), -key.to_numpy()))
    return rows.iloc[order]


def by_model(rows: pd.DataFrame, column: str) -> dict[str, float]:
    """One number column of a table with a row per model, as model -> value."""
    return dict(zip(rows["model"].astype(str), rows[column].to_numpy(dtype=float).tolist(), strict=True))


def best_first(metrics: pd.DataFrame) -> list[str]:
    """Model names by test r on all genes, highest first: the order of every per-model figure."""
    return [str(model) for model in ranked_test_rows(metrics)["model"]]


def random_init_models(compute: pd.DataFrame) -> frozenset[str]:
    """Models with a random-weight test checkpoint in any run (compute.tsv `random_init`)."""
    if compute.empty:
        return frozenset()
    flagged = compute["random_init"].astype(str).str.lower() == "true"
    return frozenset(str(model) for model in compute.loc[flagged, "model"])


def near_constant_models(metrics: pd.DataFrame) -> frozenset[str]:
    """Models whose test predictions on all genes are near-constant but still have an r (a noisy one).

    A constant model (the training mean) has no r and so nothing to warn about."""
    rows = ranked_test_rows(metrics)
    flagged = rows["near_constant"].to_numpy(dtype=bool) & np.isfinite(rows["pearson"].to_numpy(dtype=float))
    return frozenset(str(model) for model in rows.loc[flagged, "model"])


def flagged_name(model: str, near_constant: Collection[str], random_init: Collection[str]) -> str:
    """'model ⚠ random weights': the name a per-model chart shows, with the warning the ladder gives it."""
    return f"{model} {caveat(model, model in near_constant, random_init)}".strip()


SYNTHETIC_NOTE = "Synthetic test data — these numbers check the pipeline, not biology."
"""The line that opens the report of a run on the bundled test data (`assets/test_data`)."""


def test_run_note(synthetic: bool, random_init: Collection[str]) -> str:
    """The line that opens the report when its numbers check the pipeline rather than measure biology:
    the bundled synthetic data, or test models with random weights; '' otherwise."""
    if synthetic:
        return SYNTHETIC_NOTE
    if random_init:
        return (
            f"Test models with random weights ({listed(sorted(random_init))}) — their numbers check the pipeline, "
            "not biology."
        )
    return ""


def listed(models: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c': models named in one sentence."""
    return models[0] if len(models) == 1 else f"{', '.join(models[:-1])} and {models[-1]}"


def caveat(model: str, near_constant: bool, random_init: Collection[str]) -> str:
    """The warning a model's number carries, or '' when it has none."""
    notes = []
    if model in random_init:
        notes.append("random weights")
    if near_constant:
        notes.append("near-constant predictions")
    return f"⚠ {', '.join(notes)}" if notes else ""


def row_labels(metrics: pd.DataFrame, random_init: Collection[str], with_stratum: bool = False) -> list[str]:
    """'model · split' (or 'stratum · model'), with what a val split was used for and the caveats."""
    labels = []
    measured = np.isfinite(metrics["pearson"].to_numpy(dtype=float))
    for row, has_r in zip(metrics.itertuples(index=False), measured, strict=True):
        model, split = str(row.model), str(row.split)
        label = f"{stratum_label(str(row.stratum))} · {model}" if with_stratum else f"{model} · {split}"
        use = str(row.val_use) if isinstance(row.val_use, str) else ""
        if split == "val" and use:
            label += f" ({VAL_USES.get(use, use)})"
        # a constant model (the training mean) has no r to warn about; a near-constant one has a noisy r
        note = caveat(model, bool(row.near_constant) and bool(has_r), random_init)
        if not has_r:
            note = f"(constant: no r) {note}".strip()
        labels.append(f"{label} {note}" if note else label)
    return labels


def ordered(names: Sequence[str], first: Sequence[str]) -> list[str]:
    """`names` with those in `first` leading in that order, the rest after in their own order."""
    leading = [name for name in first if name in names]
    return leading + [name for name in names if name not in leading]
