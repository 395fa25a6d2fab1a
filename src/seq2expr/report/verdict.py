"""The report's first section: the answer in a few sentences, written from the numbers.

A reader should not have to assemble the result from tables: the verdict opens with a one-sentence
bottom line (the leading gLM against the best simple model), then names the model with the
highest test r (with its interval and whether the runner-up is distinguishable from it), sets each
genome language model against the best simple model, and says whether that holds within each
gene stratum (unseen genes, high-, intermediate- and low-CpG promoters, expressed genes) and for telling expressed
from silent genes. It never claims more than the intervals allow: a difference whose paired
interval includes 0 is "not distinguishable". Models whose numbers mean nothing — random-weight
test checkpoints, near-constant predictions — are named in a warning above the sentences (one
line per kind of warning, naming every model it concerns) and never called best. A run on the
bundled synthetic data, or with random-weight models, opens with a line saying that its numbers
check the pipeline, not biology.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seq2expr.evaluation.strata import ALL
from seq2expr.io.multiqc import ReportFile, html_file
from seq2expr.io.predictions import NEAR_CONSTANT_SPREAD
from seq2expr.models.roster import is_glm, is_simple
from seq2expr.report.style import (
    by_model,
    caveat,
    listed,
    near_constant_models,
    ranked_test_rows,
    strata_in,
    stratum_label,
    test_run_note,
)
from seq2expr.stats import CONFIDENCE, format_interval, format_signed

VERDICT_ID = "evaluation_verdict"
ALPHA = 0.05
"""The primary family's level: a difference is claimed where its Holm-adjusted p is below it."""
PRIMARY = "primary"
"""The `family` of comparison.tsv's primary rows (the primary model against each simple rung)."""
EXPLORATORY = "Exploratory"
OUTCOME = re.compile(r"(?<=\], )(not distinguishable|[^,;]+ ahead)(?=\.)")
"""The judgement after a Δr interval (see `judgement`)."""
PIPELINE = "check the pipeline"
NOISE = "measures noise, not a signal"


@dataclass(frozen=True)
class Verdict:
    """The verdict's bottom line, warnings and findings, as plain sentences."""

    headline: str
    caveats: tuple[str, ...]
    findings: tuple[str, ...]
    #: the line above everything when the numbers check the pipeline, not biology ('' otherwise)
    note: str = ""


def _usable(rows: pd.DataFrame, random_init: Collection[str]) -> pd.DataFrame:
    """Rows whose r says something about a trained model: finite, not near-constant, not random weights."""
    keep = np.isfinite(rows["pearson"].to_numpy(dtype=float)) & ~rows["near_constant"].to_numpy(dtype=bool)
    keep &= ~rows["model"].isin(list(random_init)).to_numpy()
    return rows[keep]


def _r(rows: pd.DataFrame, model: str) -> str:
    """'r = 0.620 [0.550, 0.680]' for the model's row of a stratum."""
    row = rows[rows["model"] == model]
    r, low, high = row[["pearson", "pearson_ci_low", "pearson_ci_high"]].to_numpy(dtype=float)[0]
    return f"r = {format_signed(r)} {format_interval(low, high)}"


def _name(model: str, rows: pd.DataFrame, random_init: Collection[str]) -> str:
    """The model's name, with its warning where its number (in `rows`, one stratum) cannot be taken as a finding."""
    row = rows[rows["model"] == model]
    near_constant = bool(
        (row["near_constant"].to_numpy(dtype=bool) & np.isfinite(row["pearson"].to_numpy(dtype=float))).any()
    )
    note = caveat(model, near_constant, random_init)
    return f"{model} ({note})" if note else model


def paired_delta(comparison: pd.DataFrame, a: str, b: str, stratum: str) -> tuple[float, float, float] | None:
    """Δr = r(a) − r(b) with its paired interval on the test genes of a stratum, from either order of the pair."""
    rows = comparison[comparison["stratum"] == stratum]
    forward = rows[(rows["model_a"] == a) & (rows["model_b"] == b)]
    if len(forward):
        row = forward.iloc[0]
        return float(row["delta_r"]), float(row["delta_r_ci_low"]), float(row["delta_r_ci_high"])
    backward = rows[(rows["model_a"] == b) & (rows["model_b"] == a)]
    if len(backward):
        row = backward.iloc[0]
        return -float(row["delta_r"]), -float(row["delta_r_ci_high"]), -float(row["delta_r_ci_low"])
    return None


def judgement(delta: tuple[float, float, float], a: str, b: str) -> str:
    """'Δr = +0.050 [0.010, 0.090], a ahead' — or 'not distinguishable' when the interval includes 0."""
    value, low, high = delta
    text = f"Δr = {'+' if value > 0 else ''}{format_signed(value)} {format_interval(low, high)}"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{text}, no interval"
    if low > 0:
        return f"{text}, {a} ahead"
    if high < 0:
        return f"{text}, {b} ahead"
    return f"{text}, not distinguishable"


def _best(metrics: pd.DataFrame, comparison: pd.DataFrame, random_init: Collection[str]) -> list[str]:
    usable = _usable(ranked_test_rows(metrics), random_init)
    if usable.empty:
        return ["No model has a usable test r (every model is constant, near-constant or has random weights)."]
    models = [str(model) for model in usable["model"]]
    best, genes = models[0], int(usable["n"].to_numpy()[0])
    sentence = f"Highest test r on all {genes:,} test genes: {best}, {_r(usable, best)}."
    if len(models) > 1:
        runner = models[1]
        delta = paired_delta(comparison, best, runner, ALL)
        if delta is not None:
            sentence += f" Against the runner-up, {runner} ({_r(usable, runner)}): {judgement(delta, best, runner)}."
    return [sentence]


def _glm_against_simple(
    metrics: pd.DataFrame, comparison: pd.DataFrame, random_init: Collection[str], stratum: str, glms: list[str]
) -> list[str]:
    """Each gLM against the best simple model of the stratum."""
    rows = ranked_test_rows(metrics, stratum)
    simple = _usable(rows[rows["model"].map(is_simple)], random_init)
    present = set(rows["model"].astype(str))
    label = stratum_label(stratum)
    if simple.empty:
        return [f"{label[0].upper()}{label[1:]}: no simple model with a usable r to compare the gLM with."]
    rung = str(simple["model"].to_numpy()[0])
    sentences = []
    for glm in glms:
        if glm not in present:
            continue
        delta = paired_delta(comparison, glm, rung, stratum)
        verdict = f"; {judgement(delta, glm, rung)}." if delta else "."
        if stratum == ALL:
            text = f"{_name(glm, rows, random_init)} {_r(rows, glm)} against the best simple model, "
            text += f"{rung} {_r(rows, rung)}"
        else:  # the strata repeat the comparison in short: on how many genes, both r, Δr
            text = f"{label[0].upper()}{label[1:]}, n = {int(rows['n'].max()):,}: "
            text += f"{_name(glm, rows, random_init)} {_r(rows, glm).removeprefix('r = ')} "
            text += f"vs {rung} {_r(rows, rung).removeprefix('r = ')}"
        sentences.append(text + verdict)
    return sentences


def _stratum_best(metrics: pd.DataFrame, random_init: Collection[str], stratum: str) -> str:
    """The highest r within a stratum (for runs without a gLM)."""
    rows = ranked_test_rows(metrics, stratum)
    label = stratum_label(stratum)
    usable = _usable(rows, random_init)
    if usable.empty:
        return f"{label[0].upper()}{label[1:]}: no model has a usable r."
    best = str(usable["model"].to_numpy()[0])
    return f"{label[0].upper()}{label[1:]}, n = {int(rows['n'].max()):,}: highest r {best} {_r(rows, best)[4:]}."


def _on_off(metrics: pd.DataFrame, random_init: Collection[str], models: list[str]) -> list[str]:
    """How well the models tell expressed (TPM ≥ 1) from silent genes (AUROC, 0.5 = chance)."""
    rows = ranked_test_rows(metrics)
    value, low, high = (by_model(rows, column) for column in ("auroc_on_off", "auroc_ci_low", "auroc_ci_high"))
    parts = [
        f"{_name(model, rows, random_init)} {format_signed(value[model])} {format_interval(low[model], high[model])}"
        for model in models
        if np.isfinite(value.get(model, np.nan))
    ]
    if not parts:
        return []
    return [f"Expressed (TPM ≥ 1) vs silent test genes, AUROC (0.5 = chance): {'; '.join(parts)}."]


def _caveats(metrics: pd.DataFrame, random_init: Collection[str]) -> list[str]:
    """One warning per kind, naming every model it concerns (in the ladder's order), not one per model."""
    rows = ranked_test_rows(metrics)
    order = list(dict.fromkeys(rows["model"].astype(str)))
    notes = []
    random = [model for model in order if model in random_init]
    if len(random) == 1:
        notes.append(f"{random[0]} has random weights (a test checkpoint): its numbers {PIPELINE}, not the model.")
    elif random:
        notes.append(
            f"{listed(random)} have random weights (test checkpoints): their numbers {PIPELINE}, not the models."
        )
    flat = [model for model in order if model in near_constant_models(metrics)]
    spread = f"spread at most {NEAR_CONSTANT_SPREAD:.0%} of the target's"
    if len(flat) == 1:
        notes.append(f"{flat[0]}'s test predictions are near-constant ({spread}): its r {NOISE}.")
    elif flat:
        notes.append(f"The test predictions of {listed(flat)} are near-constant ({spread}): their r {NOISE}.")
    return notes


def _primary_rows(comparison: pd.DataFrame) -> pd.DataFrame:
    """comparison.tsv's primary family: the primary model (model_a) against each simple rung on all genes."""
    if "family" not in comparison.columns:
        return comparison.iloc[0:0]
    return comparison[comparison["family"] == PRIMARY]


def _primary_part(row: pd.Series) -> str:
    """'better than DExTER (Δr = +0.050 [0.010, 0.090], Holm p = 0.003)', decided by the adjusted p."""
    delta, low, high = (float(row[column]) for column in ("delta_r", "delta_r_ci_low", "delta_r_ci_high"))
    adjusted = float(row["p_holm"])
    shown = f"Δr = {'+' if delta > 0 else ''}{format_signed(delta)} {format_interval(low, high)}, Holm p {_p(adjusted)}"
    if np.isfinite(adjusted) and adjusted < ALPHA:
        return f"{'better' if delta > 0 else 'worse'} than {row['model_b']} ({shown})"
    return f"not distinguishable from {row['model_b']} ({shown})"


def _p(value: float) -> str:
    """A p value as a reader reads it, with its relation: '= 0.012', '< 0.001' below that, '= n/a' when undefined."""
    if not np.isfinite(value):
        return "= n/a"
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def _headline(metrics: pd.DataFrame, comparison: pd.DataFrame, random_init: Collection[str]) -> str:
    """The answer to the report's question, from the primary family only."""
    rows = _primary_rows(comparison)
    usable = _usable(ranked_test_rows(metrics), random_init)
    if rows.empty:
        glms = [str(model) for model in ranked_test_rows(metrics)["model"] if is_glm(str(model))]
        if not glms:
            best = (
                f"{usable['model'].to_numpy()[0]} has the highest test r" if len(usable) else "no model has a usable r"
            )
            return f"No genome language model in this run; {best}."
        return f"No simple rung was evaluated beside {glms[0]}: the run has no primary comparison."
    primary = str(rows["model_a"].iloc[0])
    if primary in random_init:
        return (
            f"The primary model, {primary}, has random weights (a test checkpoint): this run checks the pipeline "
            "and makes no finding."
        )
    if primary not in set(usable["model"].astype(str)):
        return (
            f"The primary model, {primary}, predicts a near-constant value: its comparisons measure noise, no finding."
        )
    parts = [_primary_part(row) for _, row in rows.iterrows()]
    family = f"{len(rows)} comparison{'s' if len(rows) > 1 else ''} fixed before the data, Holm-adjusted"
    return f"On these test genes, {primary} against each simple rung: {'; '.join(parts)} ({family})."


def _strata_interaction(interaction: pd.DataFrame | None) -> list[str]:
    """The primary difference's dependence on the promoter class (Δr in one class minus Δr in another), against
    the simple rungs only: the interaction.tsv rows against other gLMs stay in the table."""
    if interaction is None or interaction.empty:
        return []
    sentences = []
    for _, row in interaction[interaction["rung"].astype(str).map(is_simple)].iterrows():
        value, low, high = (
            float(row[column]) for column in ("interaction", "interaction_ci_low", "interaction_ci_high")
        )
        outcome = "differs between the classes" if low > 0 or high < 0 else "is not shown to differ between them"
        classes = f"{stratum_label(str(row['stratum_a']))} minus in {stratum_label(str(row['stratum_b']))}"
        sentences.append(
            f"{EXPLORATORY}: Δr({row['glm']} − {row['rung']}) in {classes} = {format_signed(value)} "
            f"{format_interval(low, high)}: the difference {outcome}."
        )
    return sentences


def _control(
    control: pd.DataFrame | None, primary: str | None, metrics: pd.DataFrame, random_init: Collection[str]
) -> list[str]:
    """How much of the primary gLM's skill, and of the best simple rung's, survives the composition control."""
    if control is None or control.empty:
        return []
    present = set(control["model"].astype(str))
    ranked = ranked_test_rows(metrics)
    simple = _usable(ranked[ranked["model"].map(is_simple)], random_init)
    rung = next((str(model) for model in simple["model"] if model in present), None)
    parts = []
    for model in [name for name in (primary, rung) if name is not None and name in present]:
        row = control[control["model"] == model].iloc[0]
        delta = (float(row["delta_r"]), float(row["delta_r_ci_low"]), float(row["delta_r_ci_high"]))
        needs = "needs sequence order" if delta[1] > 0 else "is not shown to need sequence order"
        parts.append(
            f"{model} r = {format_signed(float(row['pearson_real']))} on real windows, "
            f"{format_signed(float(row['pearson_shuffled']))} on shuffled ones (Δr = {format_signed(delta[0])} "
            f"{format_interval(delta[1], delta[2])}: its skill {needs})"
        )
    if not parts:
        return []
    what = "composition control (windows shuffled with every dinucleotide kept per tile)"
    return [f"{EXPLORATORY}, {what}: {'; '.join(parts)}."]


def write_verdict(
    metrics: pd.DataFrame,
    comparison: pd.DataFrame,
    random_init: Collection[str] = (),
    synthetic: bool = False,
    control: pd.DataFrame | None = None,
    interaction: pd.DataFrame | None = None,
) -> Verdict:
    """The verdict from `metrics.tsv` and `comparison.tsv` (both with a `stratum` column; the comparison's
    primary family decides the bottom line), the models whose weights are random
    (`seq2expr.report.style.random_init_models`), whether the data are the bundled synthetic test data, and
    the composition control and strata interaction tables when the evaluation made them."""
    everything = ranked_test_rows(metrics)
    glms = [str(model) for model in everything["model"] if is_glm(str(model))]
    primary_rows = _primary_rows(comparison)
    primary = str(primary_rows["model_a"].iloc[0]) if len(primary_rows) else None
    findings = _best(metrics, comparison, random_init)
    if not glms:
        findings.append("No genome language model was evaluated: the report compares the other models only.")
        findings += [_stratum_best(metrics, random_init, stratum) for stratum in strata_in(metrics) if stratum != ALL]
        usable = _usable(everything, random_init)
        findings += _on_off(metrics, random_init, [str(model) for model in usable["model"][:1]])
    else:
        others = [glm for glm in glms if glm != primary]
        findings += [
            f"{EXPLORATORY}: {sentence}"
            for sentence in _glm_against_simple(metrics, comparison, random_init, ALL, others)
        ]
        lead = [primary] if primary else glms[:1]
        for stratum in strata_in(metrics):
            if stratum != ALL:
                findings += [
                    f"{EXPLORATORY}: {sentence}"
                    for sentence in _glm_against_simple(metrics, comparison, random_init, stratum, lead)
                ]
        findings += _strata_interaction(interaction)
        findings += _control(control, lead[0], metrics, random_init)
        simple = _usable(everything[everything["model"].map(is_simple)], random_init)
        findings += _on_off(metrics, random_init, lead + [str(model) for model in simple["model"][:1]])
    headline = _headline(metrics, comparison, random_init)
    note = test_run_note(synthetic, set(random_init) & set(everything["model"].astype(str)))
    return Verdict(headline, tuple(_caveats(metrics, random_init)), tuple(findings), note)


def _emphasised(sentence: str) -> str:
    """The outcome of a comparison ('not distinguishable', 'X ahead') in bold, so that the eye finds it."""
    return OUTCOME.sub(r"<strong>\1</strong>", sentence)


def verdict_section(verdict: Verdict) -> ReportFile:
    """The verdict as the report's first section: what the numbers are for (a test run's note), the
    bottom line, warnings in a box, then the findings."""
    parts = []
    if verdict.note:
        parts.append(f'<div class="alert alert-danger" role="alert"><strong>{html.escape(verdict.note)}</strong></div>')
    parts.append(f'<p class="lead"><strong>{html.escape(verdict.headline)}</strong></p>')
    if verdict.caveats:
        items = "".join(f"<li>{html.escape(note)}</li>" for note in verdict.caveats)
        parts.append(
            f'<div class="alert alert-warning" role="alert"><strong>⚠ Read with care.</strong><ul>{items}</ul></div>'
        )
    items = "".join(f"<li>{_emphasised(html.escape(sentence))}</li>" for sentence in verdict.findings)
    parts.append(f'<ul style="font-size: 1.1em">{items}</ul>')
    parts.append(
        f'<p class="text-muted small">r: Pearson correlation of predicted and observed expression on the test genes, '
        f"with its {CONFIDENCE:.0%} interval in brackets; Δr: the paired difference with its interval (the methods "
        "section names the method). The first line is the primary family, fixed before the data: better or worse "
        f"where its Holm-adjusted p is below {ALPHA:g}. Every other line is exploratory; there 'not "
        "distinguishable' means the interval includes 0.</p>"
    )
    return html_file(VERDICT_ID, "\n".join(parts) + "\n")
