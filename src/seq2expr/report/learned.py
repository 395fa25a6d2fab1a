"""The report's "What the models learned" sections: whether skill needs sequence order, where, and what.

The composition control shows, per model, its test r on real windows beside its r on the same
windows shuffled with every dinucleotide kept (a dumbbell: two points joined, the paired Δr and its
interval in the label), so a reader sees at once how much of each model's skill is composition.
The meta-profile is one line per model, mean |contribution| of each base by its offset from the
TSS, with DExTER's selected regions shaded, so a reader sees at once whether the CNN or the gLM
reads the same stretch DExTER chose. The motif table lists the known core-promoter elements each
model's attributions fall on, with the mean effect of a match beside the background of any
stretch of that length; the k-mer table gives each model's most attributed 6-mers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seq2expr.io.multiqc import ReportFile, interval_cells, number_cells, png_file, table_section, yaml_file
from seq2expr.report.style import TARGET, model_colours
from seq2expr.stats import CONFIDENCE, format_interval, format_signed

CONTROL_ID = "composition_control"
CONTROL_TABLE_ID = "composition_control_table"
PROFILE_ID = "attribution_profile"
MOTIFS_ID = "attribution_motifs"
KMERS_ID = "attribution_kmers"
REGION_COLOUR = "rgba(255, 170, 0, 0.15)"
FOUR = "{:,.4f}"
BACKGROUND = "Mean summed contribution of any stretch of the element's length"


def control_figure(control: pd.DataFrame) -> Figure:
    """Per model (highest real r on top): real r and shuffled r joined by a line, Δr and its interval in the label."""
    rows = control.sort_values("pearson_real", ascending=True, kind="stable")
    colours = model_colours(rows["model"].astype(str).tolist())
    figure = Figure(figsize=(7.5, 0.5 + 0.45 * len(rows)), layout="constrained")
    axes = figure.add_subplot()
    pairs = rows[["pearson_real", "pearson_shuffled"]].to_numpy(dtype=float)
    for position, (model, (real, shuffled)) in enumerate(zip(rows["model"].astype(str), pairs, strict=True)):
        colour = colours[model]
        axes.plot([shuffled, real], [position, position], color=colour, linewidth=2, zorder=1)
        axes.scatter([real], [position], color=colour, s=40, zorder=2, label="real windows" if position == 0 else None)
        axes.scatter([shuffled], [position], facecolor="white", edgecolor=colour, s=40, zorder=2,
                     label="shuffled windows" if position == 0 else None)  # fmt: skip
    deltas = rows[["delta_r", "delta_r_ci_low", "delta_r_ci_high"]].to_numpy(dtype=float)
    labels = [
        f"{model}  Δr {format_signed(delta)} {format_interval(low, high)}"
        for model, (delta, low, high) in zip(rows["model"].astype(str), deltas, strict=True)
    ]
    axes.set_yticks(np.arange(len(rows)), labels)
    axes.axvline(0, color="#999999", linewidth=0.8)
    axes.set_xlabel(f"test Pearson r (Δr: real − shuffled, {CONFIDENCE:.0%} interval)")
    axes.legend(loc="lower right", fontsize="small", frameon=False)
    return figure


def control_sections(control: pd.DataFrame) -> list[ReportFile]:
    """The composition control: the dumbbell figure and its table (Δr's interval, p, method, share of r kept)."""
    if control.empty:
        return []
    rows = pd.DataFrame(
        {
            "model": control["model"].astype(str).to_numpy(),
            "n": control["n"].astype(int).to_numpy(),
            "pearson_real": number_cells(control["pearson_real"]),
            "pearson_shuffled": number_cells(control["pearson_shuffled"]),
            "delta_r": number_cells(control["delta_r"]),
            "interval": interval_cells(control, "delta_r_ci_low", "delta_r_ci_high"),
            "p": number_cells(control["p"]),
            "share_kept": number_cells(control["share_kept"]),
            "ci_method": control["ci_method"].astype(str).to_numpy(),
        }
    )
    headers = {
        "n": {"title": "Test genes", "format": "{:,.0f}"},
        "pearson_real": {"title": "r real", "format": "{:,.3f}"},
        "pearson_shuffled": {"title": "r shuffled", "format": "{:,.3f}"},
        "delta_r": {"title": "Δr", "description": "r(real) − r(shuffled): skill that needs order", "format": "{:,.3f}"},
        "interval": {"title": f"Δr {CONFIDENCE:.0%} interval"},
        "p": {"title": "p", "description": "H0: Δr = 0 (not adjusted)", "format": "{:,.3g}"},
        "share_kept": {"title": "Share of r kept", "description": "r shuffled / r real", "format": "{:,.2f}"},
        "ci_method": {"title": "Method", "hidden": True},  # long: under 'Configure columns', and in control.tsv
    }  # fmt: skip
    return [
        png_file(f"{CONTROL_ID}_mqc.png", control_figure(control)),
        table_section(CONTROL_TABLE_ID, rows, "Model", headers),
    ]


def profile_section(profiles: pd.DataFrame, regions: pd.DataFrame) -> ReportFile:
    """MultiQC line graph: mean |ISM contribution| by offset from the TSS, a line per model, DExTER's regions shaded."""
    data = {
        str(model): {
            int(offset): round(float(value), 6)
            for offset, value in zip(rows["offset"], rows["mean_abs_contribution"], strict=True)
        }
        for model, rows in profiles.groupby("model", sort=True)
    }
    shown = profiles["offset"]
    bands = [
        {"from": int(max(start, shown.min())), "to": int(min(end, shown.max())), "color": REGION_COLOUR}
        for start, end in sorted(set(zip(regions["start"].astype(int), regions["end"].astype(int), strict=True)))
        if end >= shown.min() and start <= shown.max()
    ] if len(regions) and len(shown) else []  # fmt: skip
    pconfig: dict[str, object] = {
        "id": f"{PROFILE_ID}_plot",
        "title": "Where the models read: mean |ISM contribution| by position",
        "xlab": "offset from the TSS (bp)",
        "ylab": f"mean |contribution| ({TARGET})",
        "ymin": 0,
    }
    if bands:
        pconfig["x_bands"] = bands
    return yaml_file(
        f"{PROFILE_ID}_mqc.yaml", {"id": PROFILE_ID, "plot_type": "linegraph", "pconfig": pconfig, "data": data}
    )


def motif_section(motifs: pd.DataFrame) -> ReportFile:
    """The known elements per model: matches, genes, mean effect (SE) against the background, mean offset."""
    rows = pd.DataFrame(
        {
            "element": [f"{model}: {motif}" for model, motif in zip(motifs["model"], motifs["motif"], strict=True)],
            "consensus": motifs["consensus"].astype(str).to_numpy(),
            "matches": motifs["matches"].astype(int).to_numpy(),
            "genes": motifs["genes"].astype(int).to_numpy(),
            "mean_effect": number_cells(motifs["mean_effect"]),
            "effect_se": number_cells(motifs["effect_se"]),
            "background_effect": number_cells(motifs["background_effect"]),
            "mean_offset": number_cells(motifs["mean_offset"]),
            "reference": motifs["reference"].astype(str).to_numpy(),
        }
    )
    headers = {
        "consensus": {"title": "Consensus (IUPAC)"},
        "matches": {"title": "Matches", "format": "{:,.0f}"},
        "genes": {"title": "Genes", "format": "{:,.0f}"},
        "mean_effect": {"title": "Mean effect", "description": "Summed ISM contribution of a match", "format": FOUR},
        "effect_se": {"title": "SE", "format": "{:,.4f}"},
        "background_effect": {"title": "Background", "description": BACKGROUND, "format": FOUR},
        "mean_offset": {"title": "Mean offset (bp)", "format": "{:,.0f}"},
        "reference": {"title": "Consensus from", "hidden": True},  # long: under 'Configure columns', in the .tsv
    }  # fmt: skip
    return table_section(MOTIFS_ID, rows, "Model: element", headers)


def kmer_section(kmers: pd.DataFrame) -> ReportFile:
    """Each model's most attributed 6-mers (strands merged) and the known element each overlaps."""
    rows = pd.DataFrame(
        {
            "kmer": [f"{model}: {kmer}" for model, kmer in zip(kmers["model"], kmers["kmer"], strict=True)],
            "occurrences": kmers["occurrences"].astype(int).to_numpy(),
            "mean_effect": number_cells(kmers["mean_effect"]),
            "mean_offset": number_cells(kmers["mean_offset"]),
            "known_element": kmers["known_element"].fillna("").astype(str).to_numpy(),
        }
    )
    headers = {
        "occurrences": {"title": "Occurrences", "format": "{:,.0f}"},
        "mean_effect": {"title": "Mean effect", "format": "{:,.4f}"},
        "mean_offset": {"title": "Mean offset (bp)", "format": "{:,.0f}"},
        "known_element": {"title": "Known element"},
    }
    return table_section(KMERS_ID, rows, "Model: k-mer", headers)


def attribution_sections(
    profiles: pd.DataFrame, motifs: pd.DataFrame, kmers: pd.DataFrame, regions: pd.DataFrame
) -> list[ReportFile]:
    """The attribution sections, or none when no model was attributed."""
    if profiles.empty:
        return []
    return [profile_section(profiles, regions), motif_section(motifs), kmer_section(kmers)]
