"""The strata: the CGI rule on hand-made sequences (issue 15, science test d), unseen and expressed genes."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from seq2expr.errors import InputError
from seq2expr.evaluation.strata import (
    ALL,
    CGI,
    EXPRESSED,
    NON_CGI,
    UNSEEN,
    cgi_promoter,
    gene_strata,
    resolve_tss_index,
    sequence_composition,
)


def calls(promoters: list[str], tss_index: int = 500) -> list[object]:
    return [None if pd.isna(call) else bool(call) for call in cgi_promoter(pd.Series(promoters), tss_index)]


AT_THRESHOLD = "N" + "CG" * 45 + "G" * 255 + "C" * 205 + "A" * 225 + "T" * 225
"""1,001 bp: one N and 1,000 A/C/G/T bases with GC exactly 0.55 and CpG o/e exactly 0.6
(C 250, G 300, 45 CpG: 45 × 1000 / (250 × 300) = 0.6)."""


def test_composition_counts_only_acgt_and_adjacent_cg():
    features = sequence_composition(pd.Series(["ACGTACGTNN", "AAAATTTT", "cgcgcg", "CNGCNG"]))
    # ACGTACGT: GC 4/8, CpG 2 of 7 dinucleotides, o/e = 2 * 8 / (2 * 2)
    assert features[0] == pytest.approx([0.5, 4.0, 2 / 7])
    assert features[1] == pytest.approx([0.0, 0.0, 0.0])
    assert features[2] == pytest.approx([1.0, 3 * 6 / 9, 3 / 5])  # soft-masked lower case counts
    assert features[3][1] == 0.0  # an N between C and G breaks the pair


def test_the_threshold_itself_is_not_a_cgi():
    """GC > 0.55 and o/e > 0.6 are strict: exactly at both is not a CGI, one CpG more on each side is."""
    exact = AT_THRESHOLD
    assert len(exact) == 1001 and exact.count("N") == 1
    gc, oe, _ = sequence_composition(pd.Series([exact]))[0]
    assert (gc, oe) == (0.55, 0.6)
    above = "N" + "CG" * 46 + "G" * 254 + "C" * 204 + "A" * 224 + "T" * 224 + "CG"  # C 251, G 301, 47 CpG
    gc_above, oe_above, _ = sequence_composition(pd.Series([above]))[0]
    assert gc_above > 0.55 and oe_above > 0.6
    assert calls([exact, above]) == [False, True]


def test_gc_rich_without_cpg_and_cpg_rich_without_gc_are_not_cgis():
    gc_rich_no_cpg = "CCAGG" * 200 + "C"  # GC 0.8, no C followed by G
    at_rich = "AT" * 500 + "A"
    cpg_island = "CG" * 500 + "A"
    sparse_cg = ("CG" + "A" * 8) * 100 + "A"  # o/e high (C and G only in CpGs) but GC 0.2
    assert calls([gc_rich_no_cpg, at_rich, cpg_island, sparse_cg]) == [False, False, True, False]


def test_n_bases_are_left_out_and_an_all_n_promoter_is_in_neither_stratum():
    mostly_n = "CG" * 100 + "N" * 801  # GC 1 and o/e 2 over the 200 bases that are known
    broken = "CNG" * 333 + "NN"  # every C-G pair broken by an N: o/e 0
    assert calls([mostly_n, broken, "N" * 1001, ("cg" * 500) + "a"]) == [True, False, None, True]


def test_only_the_500_bp_around_the_tss_count(caplog: pytest.LogCaptureFixture):
    inside_at = "CG" * 500 + "AT" * 500 + "A" + "CG" * 500  # 3,001 bp, TSS 1500: ±500 is A/T only
    inside_cg = "AT" * 500 + "CG" * 500 + "A" + "AT" * 500
    assert calls([inside_at, inside_cg], tss_index=1500) == [False, True]
    assert not caplog.records
    # A window shorter than ±500: the rule reads what it holds, and says so.
    with caplog.at_level(logging.WARNING, logger="seq2expr.evaluation.strata"):
        assert calls(["CG" * 200, "AT" * 200], tss_index=100) == [True, False]
    assert "2 window(s) do not hold the full ±500 bp" in caplog.text


def test_tss_index_default_and_bounds():
    assert resolve_tss_index(None, pd.Series(["A" * 1001, "C" * 1001])) == 500
    assert resolve_tss_index(None, pd.Series(["A" * 1000])) is None  # even windows: the CGI strata are left out
    assert resolve_tss_index(1024, pd.Series(["A" * 2048])) == 1024
    with pytest.raises(InputError, match=r"dataset\.tsv\.gz: --tss-index 2048 is outside the dataset's windows"):
        resolve_tss_index(2048, pd.Series(["A" * 2048]), "dataset.tsv.gz")


def test_gene_strata_from_dataset_and_groups():
    dataset = pd.DataFrame(
        {
            "gene_id": ["a", "b", "c", "d", "e"],
            "split": ["train", "test", "test", "val", "test"],
            "tpm": [5.0, 1.0, 0.99, 0.0, 20.0],
            "sequence": ["CG" * 50 + "A", "AT" * 50 + "A", "CG" * 50 + "A", "AT" * 50 + "A", "N" * 101],
        }
    )
    splits = dataset.set_index("gene_id")["split"]
    groups = pd.Series({"a": "a", "b": "a", "c": "c", "d": "d", "e": "d"})  # b shares a group with train gene a
    strata = gene_strata(splits, dataset, groups, tss_index=50)
    members = strata.members
    assert strata.strata == [ALL, UNSEEN, CGI, NON_CGI, EXPRESSED]
    assert list(members.index[members[UNSEEN]]) == ["c"]  # e's group holds val gene d: seen
    assert list(members.index[members[CGI]]) == ["a", "c"]
    assert list(members.index[members[NON_CGI]]) == ["b", "d"]  # e has no A/C/G/T base: neither
    assert list(members.index[members[EXPRESSED]]) == ["a", "b", "e"]  # TPM >= 1, 1 included
    assert list(strata.genes(UNSEEN, pd.Index(["b", "c", "e"]))) == ["c"]
    # Without groups or dataset, only what can be formed.
    assert gene_strata(splits).strata == [ALL]
    assert gene_strata(splits, groups=groups).strata == [ALL, UNSEEN]
