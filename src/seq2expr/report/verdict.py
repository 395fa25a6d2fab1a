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


def _headline(metrics: pd.DataFrame, comparison: pd.DataFrame, random_init: Collection[str], glm: str | None) -> str:
    """The answer to the report's question in one sentence: the lead gLM against the best simple model."""
    rows = ranked_test_rows(metrics)
    usable = _usable(rows, random_init)
    if glm is None:
        best = f"{usable['model'].to_numpy()[0]} has the highest test r" if len(usable) else "no model has a usable r"
        return f"No genome language model in this run; {best}."
    simple = _usable(rows[rows["model"].map(is_simple)], random_init)
    if simple.empty:
        return f"No simple model with a usable r to set {glm} against."
    rung = str(simple["model"].to_numpy()[0])
    delta = paired_delta(comparison, glm, rung, ALL)
    if delta is None or not (np.isfinite(delta[1]) and np.isfinite(delta[2])):
        answer = f"{glm} and the best simple model, {rung}, have no paired comparison"
    elif delta[1] > 0:
        answer = f"{glm} predicts expression better than the best simple model, {rung}"
    elif delta[2] < 0:
        answer = f"the best simple model, {rung}, predicts expression better than {glm}"
    else:
        answer = f"{glm} and the best simple model, {rung}, are not distinguishable"
    answer = f"On these test genes, {answer}."
    # the warning travels with the answer: neither a test checkpoint's r nor a near-constant one is a finding
    if glm in random_init:
        answer += f" But {glm} has random weights (a test checkpoint): this checks the pipeline, not the model."
    elif glm not in set(usable["model"].astype(str)):
        answer += f" But {glm}'s predictions are near-constant: its r measures noise."
    return answer


def write_verdict(
    metrics: pd.DataFrame, comparison: pd.DataFrame, random_init: Collection[str] = (), synthetic: bool = False
) -> Verdict:
    """The verdict from `metrics.tsv` and `comparison.tsv` (both with a `stratum` column), the models
    whose weights are random (`seq2expr.report.style.random_init_models`) and whether the data are the
    bundled synthetic test data."""
    everything = ranked_test_rows(metrics)
    glms = [str(model) for model in everything["model"] if is_glm(str(model))]
    findings = _best(metrics, comparison, random_init)
    lead: list[str] = []
    if not glms:
        findings.append("No genome language model was evaluated: the report compares the other models only.")
        findings += [_stratum_best(metrics, random_init, stratum) for stratum in strata_in(metrics) if stratum != ALL]
        usable = _usable(everything, random_init)
        findings += _on_off(metrics, random_init, [str(model) for model in usable["model"][:1]])
    else:
        findings += _glm_against_simple(metrics, comparison, random_init, ALL, glms)
        trained = [glm for glm in glms if glm in set(_usable(everything, random_init)["model"])]
        lead = (trained or glms)[:1]
        for stratum in strata_in(metrics):
            if stratum != ALL:
                findings += _glm_against_simple(metrics, comparison, random_init, stratum, lead)
        simple = _usable(everything[everything["model"].map(is_simple)], random_init)
        findings += _on_off(metrics, random_init, lead + [str(model) for model in simple["model"][:1]])
    headline = _headline(metrics, comparison, random_init, lead[0] if glms else None)
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
        f"with its {CONFIDENCE:.0%} interval in brackets; Δr: the paired difference with its interval (the same "
        "resamples of gene groups for both models). 'Not distinguishable': that interval includes 0.</p>"
    )
    return html_file(VERDICT_ID, "\n".join(parts) + "\n")
