"""Which known promoter elements a model's attributions fall on, and which k-mers it weighs most.

The list holds core-promoter elements and common promoter-bound factors' sites as IUPAC consensus
sequences from the papers that defined them; a match on either strand inside the mutated stretch
is scored by the sum of its bases' ISM contributions (`seq2expr.interpret.ism`). Beside them, the
k-mers with the largest mean contribution per occurrence are listed with the known element they
overlap, so a model's own words show even where the list has no name for them. Consensus
sequences are permissive by design (an Inr or DPE matches often by chance); the table gives the
mean effect per match and the mean over all positions of the same length as the background.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seq2expr.interpret.ism import IsmResult


@dataclass(frozen=True)
class Motif:
    """A promoter element: its IUPAC consensus and the paper it comes from."""

    name: str
    consensus: str
    reference: str


MOTIFS = (
    Motif("TATA", "TATAWAWR", "Bucher 1990, J Mol Biol 212:563"),
    Motif("Inr", "YYANWYY", "Javahery et al. 1994, Mol Cell Biol 14:116"),
    Motif("BREu", "SSRCGCC", "Lagrange et al. 1998, Genes Dev 12:34"),
    Motif("BREd", "RTDKKKK", "Deng & Roberts 2005, Genes Dev 19:2418"),
    Motif("DPE", "RGWYV", "Burke & Kadonaga 1997, Genes Dev 11:3020"),
    Motif("CCAAT", "CCAAT", "Mantovani 1998, Nucleic Acids Res 26:1135"),
    Motif("GC-box (Sp1)", "GGGGCGGGG", "Kadonaga et al. 1987, Cell 51:1079"),
    Motif("ETS", "CCGGAAGT", "Wei et al. 2010, EMBO J 29:2147"),
    Motif("NRF1", "GCGCAYGCGC", "Virbasius et al. 1993, Genes Dev 7:2431"),
    Motif("YY1", "AANATGGCG", "Hyde-DeRuyscher et al. 1995, Nucleic Acids Res 23:4457"),
    Motif("CREB (CRE)", "TGACGTCA", "Montminy et al. 1986, PNAS 83:6682"),
)

IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip
COMPLEMENT = str.maketrans("ACGTRYSWKMBDHVN", "TGCAYRSWMKVHDBN")
DEFAULT_K = 6
MIN_OCCURRENCES = 10
"""A k-mer seen fewer times in the sample has too noisy a mean to be ranked."""


def reverse_complement(consensus: str) -> str:
    return consensus.translate(COMPLEMENT)[::-1]


def pattern(consensus: str) -> re.Pattern[str]:
    """A regular expression matching the consensus on either strand, overlapping matches included."""
    strands = {consensus, reverse_complement(consensus)}
    alternatives = "|".join("".join(f"[{IUPAC[letter]}]" for letter in strand) for strand in sorted(strands))
    return re.compile(f"(?=({alternatives}))")


def matches(sequence: str, consensus: str) -> Iterator[int]:
    """Start positions of the consensus (either strand) in the sequence."""
    for found in pattern(consensus).finditer(sequence):
        yield found.start()


def motif_table(result: IsmResult, model: str, motifs: tuple[Motif, ...] = MOTIFS) -> pd.DataFrame:
    """Per known element: matches, genes with one, mean effect per match (its SE) against the background
    (the mean summed contribution of any stretch of the same length), and the mean offset from the TSS."""
    rows = []
    contributions = result.contributions
    for motif in motifs:
        width = len(motif.consensus)
        effects: list[float] = []
        offsets: list[int] = []
        genes = 0
        background: list[float] = []
        for row, sequence in enumerate(result.sequences):
            track = contributions[row]
            if len(track) >= width:
                background.extend(np.convolve(np.nan_to_num(track), np.ones(width), mode="valid").tolist())
            starts = matches(sequence, motif.consensus)
            found = [start for start in starts if np.isfinite(track[start : start + width]).all()]
            genes += bool(found)
            for start in found:
                effects.append(float(track[start : start + width].sum()))
                offsets.append(int(result.offsets[start]))
        values = np.asarray(effects)
        rows.append(
            {
                "model": model,
                "motif": motif.name,
                "consensus": motif.consensus,
                "matches": len(values),
                "genes": genes,
                "mean_effect": float(values.mean()) if len(values) else float("nan"),
                "effect_se": float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan"),
                "background_effect": float(np.mean(background)) if background else float("nan"),
                "mean_offset": float(np.mean(offsets)) if offsets else float("nan"),
                "reference": motif.reference,
            }
        )
    return pd.DataFrame(rows)


def _fits(bases: str, consensus: str) -> bool:
    """Whether each base is allowed by the IUPAC letter facing it."""
    return all(base in IUPAC[letter] for base, letter in zip(bases, consensus, strict=True))


def known_overlap(kmer: str, motifs: tuple[Motif, ...] = MOTIFS) -> str:
    """The known elements whose consensus (either strand) contains the k-mer or lies inside it."""
    names = []
    for motif in motifs:
        for strand in {motif.consensus, reverse_complement(motif.consensus)}:
            width = min(len(strand), len(kmer))
            pieces = [kmer[i : i + width] for i in range(len(kmer) - width + 1)]
            letters = [strand[j : j + width] for j in range(len(strand) - width + 1)]
            if any(_fits(piece, consensus) for piece in pieces for consensus in letters):
                names.append(motif.name)
                break
    return ", ".join(names)


def top_kmers(result: IsmResult, model: str, k: int = DEFAULT_K, count: int = 10) -> pd.DataFrame:
    """The k-mers (strands merged) with the largest |mean summed contribution| per occurrence."""
    sums: dict[str, list[float]] = {}
    offsets: dict[str, list[int]] = {}
    for row, sequence in enumerate(result.sequences):
        track = result.contributions[row]
        for start in range(len(sequence) - k + 1):
            kmer = sequence[start : start + k]
            values = track[start : start + k]
            if set(kmer) - set("ACGT") or np.isnan(values).any():
                continue
            key = min(kmer, reverse_complement(kmer))
            sums.setdefault(key, []).append(float(values.sum()))
            offsets.setdefault(key, []).append(int(result.offsets[start]))
    rows = [
        {
            "model": model,
            "kmer": kmer,
            "occurrences": len(values),
            "mean_effect": float(np.mean(values)),
            "mean_offset": float(np.mean(offsets[kmer])),
            "known_element": known_overlap(kmer),
        }
        for kmer, values in sums.items()
        if len(values) >= MIN_OCCURRENCES
    ]
    table = pd.DataFrame(rows, columns=["model", "kmer", "occurrences", "mean_effect", "mean_offset", "known_element"])
    order = table["mean_effect"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].head(count).reset_index(drop=True)
