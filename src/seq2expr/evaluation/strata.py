"""Gene strata: the subsets of test genes on which a headline r is read apart.

A test r over all genes mostly measures two easy contrasts, silent vs expressed genes and
CpG-rich vs CpG-poor promoters, and it is flattered by test genes that have a near-copy in
training. The strata separate them:

- `all`: every gene of the split.
- `unseen`: test genes whose similarity group (`gene_groups.tsv`) holds no train or val gene,
  so no model could have memorised them. Two genes are "similar" when their windows overlap on
  the genome or align (minimap2) with at least `GroupingSpec.min_matches` matching bases (350 by
  default) at an identity of at least `GroupingSpec.min_identity` (0.7 by default), the defaults of
  `seq2expr.data.similarity.GroupingSpec` (the evidence for them is in that module). The stratum is
  formed only where it differs from `all`: under a grouped split no test gene shares a group with a
  train or val gene, so every test gene is unseen by construction and `unseen` is left out (logged).
- `hcp` / `icp` / `lcp`: high-, intermediate- and low-CpG promoters by the rule below.
- `expressed`: genes with TPM >= 1, where r asks for levels rather than on/off.

On/off is not a stratum but a metric: the AUROC of the prediction for TPM >= 1 against below.

Promoter CpG classes (Weber et al. 2007, Nat Genet 39:457-466, "Distribution, silencing potential
and evolutionary impact of promoter DNA methylation in the human genome"). A 500-bp window is
slid in steps of 5 bp over the promoter region and, in each window, the GC content and the CpG
observed/expected ratio are computed:

- `hcp`: some window has CpG o/e > 0.75 and GC content > 0.55 (both in the same window);
- `lcp`: no window has CpG o/e > 0.48;
- `icp`: neither.

The thresholds, the window and the step (HCP_MIN_CPG_OE, HCP_MIN_GC, LCP_MAX_CPG_OE, CPG_WINDOW,
CPG_STEP) are Weber et al.'s; they were checked here against Bioconductor's compEpiTools
`getPromoterClass`, which implements the rule with the same citation (500-bp windows in 5-bp
steps; HCP: o/e > 0.75 and GC > 0.55; LCP: no o/e above 0.48), not against the paper's own text,
which could not be read from this project's machines. The promoter region is the 2,000 bp from
500 bp upstream of the TSS to 1,500 bp downstream (bases tss - 500 ... tss + 1,499, the TSS at
offset 500: PROMOTER_UPSTREAM, PROMOTER_DOWNSTREAM), the -0.5 kb to +1.5 kb that issue 22 gives
for the paper (compEpiTools' default is 1 kb upstream only, which calls far fewer HCPs: the
figures are in docs/decisions.md, 2026-12-06, "promoter CpG classes after Weber et al."). The region
is clipped to each dataset window (on 2,048 bp windows centred on the TSS it reaches +1,024 bp;
the log says how many windows are clipped). The windows start at offsets 0, 5, 10, ... of the
region, and one more ends at the region's end where the step does not reach it; a region shorter
than 500 bp is one window, the whole region.

Counting, as in `sequence_composition`: only A, C, G and T count (soft-masked lower case
included); with K the A/C/G/T count of a window, GC content = (C + G) / K and CpG o/e =
CpG x K / (C x G) (0 without C or G), CpG the adjacent C-G pairs inside the window (an N between
them breaks the pair). A window with fewer than half its bases A/C/G/T (WINDOW_MIN_KNOWN) is
skipped, so that a run of N cannot make a CpG island of a few bases; a promoter without any
counted window is in no class (<NA>, counted in the log). This N rule is the project's, not
Weber et al.'s, who scanned the assembled genome. The ratios are compared with the thresholds in
integers (exact: a window at a threshold is not above it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError

log = logging.getLogger(__name__)

ALL = "all"
UNSEEN = "unseen"
HCP = "hcp"
ICP = "icp"
LCP = "lcp"
EXPRESSED = "expressed"
CPG_CLASSES = (HCP, ICP, LCP)
STRATA = (ALL, UNSEEN, *CPG_CLASSES, EXPRESSED)
EXPRESSED_TPM = 1.0
"""Genes at or above this TPM are expressed (the stratum and the on/off AUROC's positive class)."""
PROMOTER_UPSTREAM = 500
"""Bases of the promoter region upstream of the TSS (Weber et al. 2007: -0.5 kb)."""
PROMOTER_DOWNSTREAM = 1500
"""Bases of the promoter region from the TSS on, the TSS included (Weber et al. 2007: +1.5 kb)."""
CPG_WINDOW = 500
CPG_STEP = 5
HCP_MIN_CPG_OE = 0.75
HCP_MIN_GC = 0.55
LCP_MAX_CPG_OE = 0.48
WINDOW_MIN_KNOWN = 0.5
"""Share of a window's bases that must be A/C/G/T for the window to count (the project's N rule)."""
_CHUNK = 2048
"""Promoters classified at once: bounds the memory of the per-base arrays (~25 MB a chunk at 2 kb)."""


def sequence_composition(sequences: pd.Series) -> np.ndarray:
    """GC fraction, CpG observed/expected ratio and CpG density of each sequence (N bases ignored).

    The classic sequence correlates of promoter activity (CpG-island promoters are mostly broadly
    expressed): the GC/CpG baseline is fitted on them (the promoter classes read the same
    quantities, per 500-bp window).
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


def promoters(sequences: pd.Series, tss_index: int) -> pd.Series:
    """The promoter region of each window: PROMOTER_UPSTREAM bases before the TSS to PROMOTER_DOWNSTREAM
    bases from it on (the TSS included), clipped to each window."""
    start = max(tss_index - PROMOTER_UPSTREAM, 0)
    stop = tss_index + PROMOTER_DOWNSTREAM
    short = (sequences.str.len() < stop) | (tss_index < PROMOTER_UPSTREAM)
    if short.any():
        log.warning(
            "%d window(s) do not hold the full promoter region (-%d to +%d bp around the TSS at index %d): "
            "the CpG classes read the part they hold",
            int(short.sum()),
            PROMOTER_UPSTREAM,
            PROMOTER_DOWNSTREAM,
            tss_index,
        )
    return sequences.str.slice(start, stop)


def _encode(regions: list[str], width: int) -> np.ndarray:
    """Upper-case bytes of each region, padded with N to `width`: shape (regions, width)."""
    padded = "".join(region.upper().ljust(width, "N") for region in regions)
    return np.frombuffer(padded.encode("ascii", errors="replace"), dtype=np.uint8).reshape(len(regions), width)


# The four per-base counts the rule needs (C, G, A/C/G/T, CpG), packed in 16-bit fields of one integer so
# that one prefix sum serves them all (a region holds at most PROMOTER_UPSTREAM + PROMOTER_DOWNSTREAM
# < 2**16 bases, so no field carries into the next, and the difference of two prefixes is the
# difference of each field).
_SHIFTS = {"c": 0, "g": 16, "known": 32, "cpg": 48}
_C, _G, _KNOWN, _CPG = (np.uint64(1 << shift) for shift in _SHIFTS.values())
_BASE_FLAGS = np.zeros(256, dtype=np.uint64)
_BASE_FLAGS[[ord("A"), ord("T")]] = _KNOWN
_BASE_FLAGS[ord("C")] = _C | _KNOWN
_BASE_FLAGS[ord("G")] = _G | _KNOWN


def _unpack(packed: np.ndarray, name: str) -> np.ndarray:
    """One of the four counts of packed window sums."""
    return ((packed >> np.uint64(_SHIFTS[name])) & np.uint64(0xFFFF)).astype(np.int64)


def _above(numerator: np.ndarray, denominator: np.ndarray, threshold: float) -> np.ndarray:
    """numerator / denominator > threshold, exactly: in integers, with the threshold as the fraction it reads as."""
    ratio = Fraction(str(threshold))
    return numerator * ratio.denominator > denominator * ratio.numerator


def _class_codes(regions: list[str]) -> np.ndarray:
    """0 hcp, 1 icp, 2 lcp, -1 no counted window, for each region: every window at once by prefix sums."""
    lengths = np.fromiter((len(region) for region in regions), dtype=np.int64, count=len(regions))
    width = int(lengths.max(initial=0))
    if width == 0:
        return np.full(len(regions), -1, dtype=np.int8)
    bases = _encode(regions, width)
    flags = _BASE_FLAGS[bases]
    # A CpG is counted at its G, so a window [start, stop) holds the pairs whose G is in [start + 1, stop).
    flags[:, 1:] |= ((bases[:, :-1] == ord("C")) & (bases[:, 1:] == ord("G"))).astype(np.uint64) * _CPG
    prefix = np.zeros((len(regions), width + 1), dtype=np.uint64)
    np.cumsum(flags, axis=1, out=prefix[:, 1:])
    # The windows [start, start + CPG_WINDOW) with start on the step's grid (a multiple of CPG_STEP, as
    # CPG_WINDOW is), valid where they fit in the region; and one more per region, [length - size, length)
    # with size = min(CPG_WINDOW, length): the window ending at the region's end (the whole region when
    # it is shorter than a window).
    span = CPG_WINDOW // CPG_STEP
    on_grid = prefix[:, ::CPG_STEP]
    after_start = prefix[:, 1::CPG_STEP]
    n_grid = max(on_grid.shape[1] - span, 1)
    stop_grid = np.minimum(np.arange(n_grid) + span, on_grid.shape[1] - 1)
    size = np.minimum(lengths, CPG_WINDOW)[:, None]
    first, last = lengths[:, None] - size, lengths[:, None]
    at_stop = np.concatenate([on_grid[:, stop_grid], np.take_along_axis(prefix, last, axis=1)], axis=1)
    at_start = np.concatenate([on_grid[:, :n_grid], np.take_along_axis(prefix, first, axis=1)], axis=1)
    after = np.concatenate(
        [after_start[:, :n_grid], np.take_along_axis(prefix, np.minimum(first + 1, last), axis=1)], axis=1
    )
    window = at_stop - at_start
    c, g, counted = _unpack(window, "c"), _unpack(window, "g"), _unpack(window, "known")
    cpg = _unpack(at_stop - after, "cpg")
    starts = np.arange(n_grid) * CPG_STEP
    valid = np.concatenate([starts[None, :] + CPG_WINDOW <= lengths[:, None], size > 0], axis=1)
    valid &= (counted > 0) & (counted >= WINDOW_MIN_KNOWN * size)
    # GC = (C + G) / K and CpG o/e = CpG * K / (C * G) against the thresholds, compared without division
    # (exact at the thresholds themselves; without C or G the o/e is 0 and passes no threshold).
    cpg_k, c_g = cpg * counted, c * g
    high = (valid & _above(cpg_k, c_g, HCP_MIN_CPG_OE) & _above(c + g, counted, HCP_MIN_GC)).any(axis=1)
    above_low = (valid & _above(cpg_k, c_g, LCP_MAX_CPG_OE)).any(axis=1)
    codes = np.where(high, 0, np.where(above_low, 1, 2)).astype(np.int8)
    return np.where(valid.any(axis=1), codes, -1).astype(np.int8)


def promoter_class(sequences: pd.Series, tss_index: int) -> pd.Series:
    """Weber et al.'s class of each promoter (`hcp`, `icp`, `lcp`; <NA> where no window counts), by the
    rule of the module docstring; the TSS at 0-based `tss_index` of every window."""
    regions = promoters(sequences, tss_index).fillna("").astype(str).tolist()
    codes = np.concatenate(
        [_class_codes(regions[i : i + _CHUNK]) for i in range(0, len(regions), _CHUNK)] or [np.empty(0, np.int8)]
    )
    names = np.array([*CPG_CLASSES, None], dtype=object)  # code -1 picks the last: None
    return pd.Series(names[codes], index=sequences.index, dtype="string")


def resolve_tss_index(tss_index: int | None, sequences: pd.Series, source: str | Path | None = None) -> int | None:
    """The TSS position for the CpG classes: given, or the centre of odd windows; None (rule skipped) otherwise."""
    lengths = sequences.str.len()
    if tss_index is not None:
        if not (lengths > tss_index).all():
            shortest = int(lengths.min())
            raise InputError(f"--tss-index {tss_index} is outside the dataset's windows ({shortest} bp)", source)
        return tss_index
    if lengths.nunique() == 1 and int(lengths.iloc[0]) % 2 == 1:
        return (int(lengths.iloc[0]) - 1) // 2
    log.warning("windows of even or unequal length and no --tss-index: the CpG classes are left out")
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
    `source`, named in errors) and the groups. `unseen` is left out (logged) when every test gene is unseen."""
    members = pd.DataFrame({ALL: True}, index=splits.index)
    if groups is not None:
        # the contract's definition, beside the grouping (imported here: that module needs mappy, the rest does not)
        from seq2expr.data.similarity import unseen_test_genes

        table = pd.DataFrame({"gene_id": splits.index, "group": groups.reindex(splits.index).to_numpy()})
        unseen = unseen_test_genes(table, splits).to_numpy()
        n_unseen, n_test = int(unseen.sum()), int((splits == "test").sum())
        if n_unseen == n_test:
            log.info(
                "all %d test genes are unseen (no test gene shares a group with a train or val gene, as under a "
                "grouped split): the unseen stratum would equal all and is left out",
                n_test,
            )
        else:
            members[UNSEEN] = unseen
            log.info("%d of %d test genes are unseen (no train or val gene in their group)", n_unseen, n_test)
    expressed = None
    if dataset is not None:
        table = dataset.set_index("gene_id").reindex(splits.index)
        position = resolve_tss_index(tss_index, table["sequence"], source)
        if position is not None:
            classes = promoter_class(table["sequence"], position)
            for name in CPG_CLASSES:
                members[name] = (classes == name).fillna(False).to_numpy(dtype=bool)
            if classes.isna().any():
                log.warning(
                    "%d promoter(s) have no window of at least %.0f %% A/C/G/T bases: in no CpG class",
                    int(classes.isna().sum()),
                    100 * WINDOW_MIN_KNOWN,
                )
        expressed = table["tpm"] >= EXPRESSED_TPM
        members[EXPRESSED] = expressed
    return GeneStrata(members, groups, expressed)


def class_shares(strata: GeneStrata, test_genes: pd.Index) -> pd.DataFrame:
    """The count and share of `test_genes` in each promoter CpG class the strata hold (columns stratum, n,
    share; share = n / all test genes, so genes in no class, without a counted window, leave the shares
    short of 1). Empty when the classes were not formed (no dataset, or no TSS position)."""
    counts = {name: len(strata.genes(name, test_genes)) for name in CPG_CLASSES if name in strata.members.columns}
    table = pd.DataFrame({"stratum": list(counts), "n": list(counts.values())}, dtype=object)
    table["n"] = table["n"].astype("int64")
    table["share"] = table["n"] / len(test_genes) if len(test_genes) else np.nan
    return table.astype({"stratum": str, "share": "float64"})
