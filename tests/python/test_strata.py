"""The strata: Weber et al.'s promoter CpG classes on hand-made sequences (issue 22, science test e),
unseen and expressed genes, the share of test genes per class."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from seq2expr.errors import InputError
from seq2expr.evaluation.strata import (
    ALL,
    CPG_STEP,
    CPG_WINDOW,
    EXPRESSED,
    HCP,
    HCP_MIN_CPG_OE,
    HCP_MIN_GC,
    ICP,
    LCP,
    LCP_MAX_CPG_OE,
    PROMOTER_DOWNSTREAM,
    PROMOTER_UPSTREAM,
    UNSEEN,
    WINDOW_MIN_KNOWN,
    class_shares,
    gene_strata,
    promoter_class,
    resolve_tss_index,
    sequence_composition,
)

LOGGER = "seq2expr.evaluation.strata"


def classes(promoters: list[str], tss_index: int = PROMOTER_UPSTREAM) -> list[str | None]:
    """The class of each sequence (None: in no class); by default the TSS sits where a 2,000 bp sequence
    is exactly the promoter region."""
    return [None if pd.isna(call) else str(call) for call in promoter_class(pd.Series(promoters), tss_index)]


def one_window(sequence: str) -> str | None:
    """The class of a sequence read as one window: the TSS at 0 and the sequence shorter than the region."""
    assert len(sequence) == CPG_WINDOW
    return classes([sequence], tss_index=0)[0]


def test_the_constants_are_weber_et_al():
    assert (HCP_MIN_CPG_OE, HCP_MIN_GC, LCP_MAX_CPG_OE) == (0.75, 0.55, 0.48)
    assert (CPG_WINDOW, CPG_STEP, PROMOTER_UPSTREAM, PROMOTER_DOWNSTREAM) == (500, 5, 500, 1500)


def test_composition_counts_only_acgt_and_adjacent_cg():
    features = sequence_composition(pd.Series(["ACGTACGTNN", "AAAATTTT", "cgcgcg", "CNGCNG"]))
    # ACGTACGT: GC 4/8, CpG 2 of 7 dinucleotides, o/e = 2 * 8 / (2 * 2)
    assert features[0] == pytest.approx([0.5, 4.0, 2 / 7])
    assert features[1] == pytest.approx([0.0, 0.0, 0.0])
    assert features[2] == pytest.approx([1.0, 3 * 6 / 9, 3 / 5])  # soft-masked lower case counts
    assert features[3][1] == 0.0  # an N between C and G breaks the pair


def intermediate() -> str:
    """2,000 bp of a 100-bp unit with 25 C, 25 G and 4 CpG: every 500-bp window has GC 0.5 and CpG o/e
    19 or 20 x 500 / (125 x 125) = 0.61 or 0.64, above the LCP bound and below the HCP one."""
    unit = "CG" * 4 + "C" * 21 + "A" * 25 + "G" * 21 + "T" * 25
    assert len(unit) == 100 and unit.count("CG") == 4
    return unit * 20


def test_cpg_rich_at_rich_and_intermediate_promoters():
    cpg_island = "CG" * 1000
    at_rich = "AT" * 1000  # no C, no G: o/e 0
    gc_rich_no_cpg = "CCAGG" * 400  # GC 0.8 but no C followed by G: low-CpG, whatever its GC
    sparse_cg = ("CG" + "A" * 8) * 200  # o/e 10 (C and G only in CpGs) but GC 0.2: not high, not low
    assert classes([cpg_island, at_rich, intermediate(), gc_rich_no_cpg, sparse_cg]) == [HCP, LCP, ICP, LCP, ICP]


def test_one_window_is_enough_for_hcp_and_one_window_lifts_lcp_to_icp():
    """HCP needs one window; LCP needs every window low: an island anywhere in the region decides."""
    island_at_the_end = "AT" * 750 + "CG" * 250  # the region's last window, 1,000 to 1,499 bp past the TSS
    island_too_short = "AT" * 900 + "CG" * 100  # 200 CpG-rich bases: no 500-bp window above 0.75 and 0.55
    assert classes([island_at_the_end, island_too_short]) == [HCP, ICP]


def test_weber_thresholds_are_strict():
    """Exactly at a threshold is not above it: GC 0.55, o/e 0.75 and o/e 0.48 exactly, and one base beyond."""
    gc_at = "CG" * 60 + "G" * 78 + "C" * 77 + "A" * 225  # C 137, G 138: GC 275/500 = 0.55, o/e 1.59
    gc_above = "CG" * 60 + "G" * 79 + "C" * 77 + "A" * 224  # GC 0.552
    oe_at = "CG" * 60 + "G" * 140 + "C" * 140 + "A" * 100  # C = G = 200, 60 CpG: o/e 60 x 500 / 40,000 = 0.75
    oe_above = "CG" * 61 + "G" * 139 + "C" * 139 + "A" * 100  # 61 CpG: 0.7625
    low_at = "CG" * 15 + "G" * 110 + "C" * 110 + "A" * 250  # C = G = 125, 15 CpG: o/e 15 x 500 / 15,625 = 0.48
    low_above = "CG" * 16 + "G" * 109 + "C" * 109 + "A" * 250  # 16 CpG: 0.512
    gc, oe, _ = sequence_composition(pd.Series([gc_at, oe_at, low_at])).T
    assert list(gc) == [0.55, 0.8, 0.5] and list(oe) == pytest.approx([30000 / 18906, 0.75, 0.48])
    assert [one_window(s) for s in (gc_at, gc_above)] == [ICP, HCP]
    assert [one_window(s) for s in (oe_at, oe_above)] == [ICP, HCP]
    assert [one_window(s) for s in (low_at, low_above)] == [LCP, ICP]


def test_n_bases_are_left_out_and_a_window_needs_half_its_bases_known():
    known_300 = "CG" * 150 + "N" * 200  # 300 known bases, all CpG: counts over those 300
    known_200 = "CG" * 100 + "N" * 300  # under half the window known: no counted window
    broken = "CNG" * 166 + "AA"  # every C-G pair broken by an N: o/e 0
    soft_masked = "cg" * 250
    assert WINDOW_MIN_KNOWN == 0.5
    assert [one_window(s) for s in (known_300, known_200, broken, soft_masked, "N" * 500)] == [
        HCP,
        None,
        LCP,
        HCP,
        None,
    ]


def test_a_window_shorter_than_the_region(caplog: pytest.LogCaptureFixture):
    """The region is clipped to the window; a clipped region under 500 bp is one window, the whole of it."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert classes(["CG" * 150, "AT" * 150, "CG" * 10 + "AT" * 140], tss_index=100) == [HCP, LCP, ICP]
    assert "3 window(s) do not hold the full promoter region (-500 to +1500 bp" in caplog.text
    caplog.clear()
    # Only the region counts: an island upstream of -500 or from +1,500 on is outside it.
    upstream = "CG" * 250 + "AT" * 1000 + "A" * 500
    inside = "A" * 500 + "AT" * 750 + "CG" * 250 + "A" * 500
    downstream = "A" * 500 + "AT" * 1000 + "CG" * 250
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert classes([upstream, inside, downstream], tss_index=1000) == [LCP, HCP, LCP]
    assert not caplog.records


def reference_class(region: str) -> str | None:
    """The rule of the module docstring, one window at a time."""
    region = region.upper()
    size = min(len(region), CPG_WINDOW)
    starts = [*range(0, len(region) - CPG_WINDOW + 1, CPG_STEP), len(region) - size]
    high = above_low = counted_any = False
    for start in starts if size else []:
        window = region[start : start + size]
        c, g, cpg = window.count("C"), window.count("G"), window.count("CG")
        known = c + g + window.count("A") + window.count("T")
        if known == 0 or known < WINDOW_MIN_KNOWN * size:
            continue
        counted_any = True
        oe = cpg * known / (c * g) if c * g else 0.0
        high |= oe > HCP_MIN_CPG_OE and (c + g) / known > HCP_MIN_GC
        above_low |= oe > LCP_MAX_CPG_OE
    if not counted_any:
        return None
    return HCP if high else ICP if above_low else LCP


def test_the_vectorised_rule_matches_a_window_by_window_reading():
    """Random windows of many lengths (under one window, not a multiple of the step, longer than the
    region), compositions near every threshold, N runs and lower case."""
    rng = np.random.default_rng(22)
    sequences = []
    for i in range(120):
        length = int(rng.choice([1, 120, 499, 500, 503, 1024, 1524, 2048, 2600]))
        gc = rng.uniform(0.3, 0.75)
        bases = rng.choice(list("ACGT"), length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
        if i % 3 == 0:  # deplete CpG to various degrees
            for at in np.flatnonzero((bases[:-1] == "C") & (bases[1:] == "G")):
                if rng.random() < rng.uniform(0.2, 0.9):
                    bases[at] = "T"
        if i % 5 == 0:
            start = int(rng.integers(0, length))
            bases[start : start + int(rng.integers(1, 800))] = "N"
        sequence = "".join(bases)
        sequences.append(sequence.lower() if i % 7 == 0 else sequence)
    tss = 520
    region_start = tss - PROMOTER_UPSTREAM
    expected = [reference_class(s[region_start : tss + PROMOTER_DOWNSTREAM]) for s in sequences]
    assert classes(sequences, tss_index=tss) == expected
    assert {HCP, ICP, LCP, None} <= set(expected)


def test_tss_index_default_and_bounds():
    assert resolve_tss_index(None, pd.Series(["A" * 1001, "C" * 1001])) == 500
    assert resolve_tss_index(None, pd.Series(["A" * 1000])) is None  # even windows: the CpG classes are left out
    assert resolve_tss_index(1024, pd.Series(["A" * 2048])) == 1024
    with pytest.raises(InputError, match=r"dataset\.tsv\.gz: --tss-index 2048 is outside the dataset's windows"):
        resolve_tss_index(2048, pd.Series(["A" * 2048]), "dataset.tsv.gz")


def strata_dataset() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "gene_id": ["a", "b", "c", "d", "e", "f"],
            "split": ["train", "test", "test", "val", "test", "test"],
            "tpm": [5.0, 1.0, 0.99, 0.0, 20.0, 3.0],
            "sequence": ["CG" * 50 + "A", "AT" * 50 + "A", "CG" * 50 + "A", "AT" * 50 + "A", "N" * 101,
                         "CG" * 5 + "AT" * 45 + "A"],
        }
    )  # fmt: skip


def test_gene_strata_from_dataset_and_groups(caplog: pytest.LogCaptureFixture):
    dataset = strata_dataset()
    splits = dataset.set_index("gene_id")["split"]
    groups = pd.Series({"a": "a", "b": "a", "c": "c", "d": "d", "e": "d", "f": "f"})  # b shares a with train a
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        strata = gene_strata(splits, dataset, groups, tss_index=50)
    members = strata.members
    assert strata.strata == [ALL, UNSEEN, HCP, ICP, LCP, EXPRESSED]
    assert list(members.index[members[UNSEEN]]) == ["c", "f"]  # e's group holds val gene d: seen
    assert list(members.index[members[HCP]]) == ["a", "c"]
    assert list(members.index[members[ICP]]) == ["f"]
    assert list(members.index[members[LCP]]) == ["b", "d"]  # e has no A/C/G/T base: in no class
    assert "1 promoter(s) have no window of at least 50 % A/C/G/T bases: in no CpG class" in caplog.text
    assert list(members.index[members[EXPRESSED]]) == ["a", "b", "e", "f"]  # TPM >= 1, 1 included
    assert list(strata.genes(UNSEEN, pd.Index(["b", "c", "e"]))) == ["c"]
    # Without groups or dataset, only what can be formed.
    assert gene_strata(splits).strata == [ALL]
    assert gene_strata(splits, groups=groups).strata == [ALL, UNSEEN]


def test_unseen_is_left_out_where_it_equals_all(caplog: pytest.LogCaptureFixture):
    """Under a grouped split no test gene shares a group with a train or val gene: unseen would repeat all."""
    splits = pd.Series({"a": "train", "b": "test", "c": "test", "d": "val"})
    grouped = pd.Series({"a": "a", "b": "b", "c": "b", "d": "a"})  # test genes share a group only with each other
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert gene_strata(splits, groups=grouped).strata == [ALL]
    assert "all 2 test genes are unseen" in caplog.text and "left out" in caplog.text
    shared = pd.Series({"a": "a", "b": "b", "c": "a", "d": "d"})  # c shares a group with train gene a
    strata = gene_strata(splits, groups=shared)
    assert strata.strata == [ALL, UNSEEN]
    assert list(strata.genes(UNSEEN, pd.Index(["b", "c"]))) == ["b"]


def test_class_shares_of_the_test_genes():
    dataset = strata_dataset()
    splits = dataset.set_index("gene_id")["split"]
    strata = gene_strata(splits, dataset, tss_index=50)
    test_genes = splits.index[splits == "test"]  # b lcp, c hcp, e in no class, f icp
    shares = class_shares(strata, test_genes)
    assert list(shares.columns) == ["stratum", "n", "share"]
    assert shares.to_dict("list") == {"stratum": [HCP, ICP, LCP], "n": [1, 1, 1], "share": [0.25, 0.25, 0.25]}
    empty = class_shares(gene_strata(splits), test_genes)  # no dataset: no classes
    assert empty.empty and list(empty.columns) == ["stratum", "n", "share"]
