"""Gene strata: the subsets of test genes on which a headline r is read apart.

A test r over all genes mostly measures two easy contrasts, silent vs expressed genes and
CpG-island (CGI) vs other promoters, and it is flattered by test genes that have a near-copy in
training. The strata separate them:

- `all`: every gene of the split.
- `unseen`: test genes whose similarity group (`gene_groups.tsv`) holds no train or val gene,
  so no model could have memorised them.
- `cgi` / `non_cgi`: promoters that are / are not CpG islands by the rule below.
- `expressed`: genes with TPM >= 1, where r asks for levels rather than on/off.

On/off is not a stratum but a metric: the AUROC of the prediction for TPM >= 1 against below.

CGI rule (after Gardiner-Garden & Frommer 1987, on the promoter rather than a scanned island):
the bases from 500 bp upstream to 500 bp downstream of the TSS (1,001 bp, the TSS included;
clipped where the window is shorter) have a GC fraction > 0.55 and a CpG observed/expected
ratio > 0.6. Both use only A, C, G and T (N bases are left out; soft-masked lower case counts):
GC fraction = (C + G) / L and CpG o/e = CpG × L / (C × G), with L the A/C/G/T count and CpG
the count of adjacent C-G pairs (an N between them breaks the pair). Without C or G, o/e is 0;
a promoter without any A/C/G/T base is in neither CGI stratum (counted in the log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError

log = logging.getLogger(__name__)

ALL = "all"
UNSEEN = "unseen"
CGI = "cgi"
NON_CGI = "non_cgi"
EXPRESSED = "expressed"
STRATA = (ALL, UNSEEN, CGI, NON_CGI, EXPRESSED)
EXPRESSED_TPM = 1.0
"""Genes at or above this TPM are expressed (the stratum and the on/off AUROC's positive class)."""
CGI_FLANK = 500
CGI_MIN_GC = 0.55
CGI_MIN_CPG_OE = 0.6


def sequence_composition(sequences: pd.Series) -> np.ndarray:
    """GC fraction, CpG observed/expected ratio and CpG density of each sequence (N bases ignored).

    The classic sequence correlates of promoter activity (CpG-island promoters are mostly broadly
    expressed): the GC/CpG baseline is fitted on them and the CGI rule reads the first two.
    """
    upper = sequences.str.upper()
    counts = {base: upper.str.count(base).to_numpy(dtype=float) for base in "ACGT"}
    cpg = upper.str.count("CG").to_numpy(dtype=float)
    length = counts["A"] + counts["C"] + counts["G"] + counts["T"]
    with np.errstate(divide="ignore", invalid="ignore"):
        gc = (counts["C"] + counts["G"]) / length
        cpg_ratio = np.where(counts["C"] * counts["G"] > 0, cpg * length / (counts["C"] * counts["G"]), 0.0)
        cpg_density = cpg / np.maximum(length - 1, 1)
    return np.column_stack([np.nan_to_num(gc), cpg_ratio, cpg_density])


def promoters(sequences: pd.Series, tss_index: int, flank: int = CGI_FLANK) -> pd.Series:
    """The bases from `flank` upstream to `flank` downstream of the TSS, clipped to each window."""
    short = (sequences.str.len() < tss_index + flank + 1) | (tss_index < flank)
    if short.any():
        log.warning(
            "%d window(s) do not hold the full ±%d bp around the TSS (index %d): the CGI rule reads the part they hold",
            int(short.sum()),
            flank,
            tss_index,
        )
    return sequences.str.slice(max(tss_index - flank, 0), tss_index + flank + 1)


def cgi_promoter(sequences: pd.Series, tss_index: int) -> pd.Series:
    """Whether each promoter is a CpG island by the module's rule; <NA> where it has no A/C/G/T base."""
    promoter = promoters(sequences, tss_index)
    composition = sequence_composition(promoter)
    calls = pd.Series((composition[:, 0] > CGI_MIN_GC) & (composition[:, 1] > CGI_MIN_CPG_OE), index=sequences.index)
    called = promoter.str.upper().str.count("[ACGT]").to_numpy() > 0
    return calls.astype("boolean").where(called, pd.NA)


def resolve_tss_index(tss_index: int | None, sequences: pd.Series, source: str | Path | None = None) -> int | None:
    """The TSS position for the CGI rule: given, or the centre of odd windows; None (rule skipped) otherwise."""
    lengths = sequences.str.len()
    if tss_index is not None:
        if not (lengths > tss_index).all():
            shortest = int(lengths.min())
            raise InputError(f"--tss-index {tss_index} is outside the dataset's windows ({shortest} bp)", source)
        return tss_index
    if lengths.nunique() == 1 and int(lengths.iloc[0]) % 2 == 1:
        return (int(lengths.iloc[0]) - 1) // 2
    log.warning("windows of even or unequal length and no --tss-index: the CGI strata are left out")
    return None


@dataclass(frozen=True)
class GeneStrata:
    """Which stratum each gene belongs to, and what resampling and on/off need.

    `members` is indexed by gene id with one boolean column per stratum that could be formed
    (`all` always; the others when their input was given). `groups` maps gene id to similarity
    group (None: every gene its own group). `expressed` is the on/off label (None without TPM).
    """

    members: pd.DataFrame
    groups: pd.Series | None
    expressed: pd.Series | None

    @property
    def strata(self) -> list[str]:
        return list(self.members.columns)

    def genes(self, stratum: str, gene_ids: pd.Index) -> pd.Index:
        """The genes of `gene_ids` in `stratum`."""
        inside = self.members[stratum].reindex(gene_ids, fill_value=False).to_numpy(dtype=bool)
        return gene_ids[inside]


def gene_strata(
    splits: pd.Series,
    dataset: pd.DataFrame | None = None,
    groups: pd.Series | None = None,
    tss_index: int | None = None,
    source: str | Path | None = None,
) -> GeneStrata:
    """The strata of the genes in `splits` (gene id -> split): from the dataset (sequence, TPM; read from
    `source`, named in errors) and the groups."""
    members = pd.DataFrame({ALL: True}, index=splits.index)
    if groups is not None:
        # the contract's definition, beside the grouping (imported here: that module needs mappy, the rest does not)
        from seq2expr.data.similarity import unseen_test_genes

        table = pd.DataFrame({"gene_id": splits.index, "group": groups.reindex(splits.index).to_numpy()})
        members[UNSEEN] = unseen_test_genes(table, splits).to_numpy()
        log.info("%d of %d test genes are unseen (no train or val gene in their group)",
                 int(members[UNSEEN].sum()), int((splits == "test").sum()))  # fmt: skip
    expressed = None
    if dataset is not None:
        table = dataset.set_index("gene_id").reindex(splits.index)
        position = resolve_tss_index(tss_index, table["sequence"], source)
        if position is not None:
            calls = cgi_promoter(table["sequence"], position)
            members[CGI] = calls.fillna(False).astype(bool)
            members[NON_CGI] = (~calls).fillna(False).astype(bool)
            if calls.isna().any():
                log.warning("%d promoter(s) have no A/C/G/T base: in neither CGI stratum", int(calls.isna().sum()))
        expressed = table["tpm"] >= EXPRESSED_TPM
        members[EXPRESSED] = expressed
    return GeneStrata(members, groups, expressed)
