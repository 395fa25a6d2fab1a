"""TSS windows: coordinates on both strands, naming, and every reason for the ledger."""

from __future__ import annotations

import pytest

from seq2expr.data.tss import WindowSpec, chromosome_key, extract_windows, ledger_table, windows_table
from seq2expr.errors import InputError, NothingKept
from seq2expr.io.annotation import Gene
from seq2expr.io.genome import FastaRecord

#        0123456789012345678901234
CHR1 = b"AAAAACCCCCGGGGGTTTTTacgtN"


def gene(gene_id: str, start: int, end: int, strand: str, chrom: str = "chr1", biotype: str = "protein_coding") -> Gene:
    return Gene(gene_id, gene_id.lower(), biotype, chrom, start, end, strand, line=int(gene_id[1:]))


def extract(genes: list[Gene], records: dict[str, bytes], spec: WindowSpec | None = None):  # type: ignore[no-untyped-def]
    fasta = [FastaRecord(name, sequence, 1) for name, sequence in records.items()]
    return extract_windows(fasta, genes, spec or WindowSpec(3, 2, 0.5), ["protein_coding"])


def test_plus_strand_window_has_the_tss_at_index_upstream() -> None:
    result = extract([gene("G1", 8, 20, "+")], {"chr1": CHR1})
    ((_, start, end, sequence),) = result.windows
    # TSS = gene start = 1-based 8 = 0-based 7; 3 up, 2 down.
    assert (start, end, sequence) == (4, 10, "ACCCCC")
    assert sequence[3] == chr(CHR1[7])


def test_minus_strand_window_is_reverse_complemented_around_the_gene_end() -> None:
    result = extract([gene("G1", 2, 18, "-")], {"chr1": CHR1})
    ((_, start, end, sequence),) = result.windows
    # TSS = gene end = 1-based 18 = 0-based 17; genome 15..20 (2 down-genome, 3 up) = TTTTTa.
    assert (start, end) == (15, 21)
    assert sequence == "tAAAAA"  # the soft-masked base stays lower case on the other strand
    assert sequence[3] == "A"  # complement of the T at the TSS


def test_soft_masking_is_kept_and_iupac_letters_become_n() -> None:
    result = extract([gene("G1", 24, 24, "+")], {"chr1": CHR1 + b"RRRyy"}, WindowSpec(2, 6, 1.0))
    assert result.windows[0][3] == "cgtNNNNnn"


def test_lower_case_n_counts_towards_the_n_fraction() -> None:
    result = extract([gene("G1", 3, 3, "+"), gene("G2", 6, 6, "+")], {"chr1": b"ACnnnGTACGTAC"}, WindowSpec(2, 2, 0.5))
    assert [window[0].gene_id for window in result.windows] == ["G2"]
    assert result.ledger[0][0].gene_id == "G1" and result.ledger[0][1] == "too_many_n"


def test_keeping_no_window_is_an_error_with_the_ledger_counts_not_an_empty_output() -> None:
    genes = [gene("G1", 3, 3, "+"), gene("G2", 8, 20, "+", biotype="lncRNA"), gene("G3", 4, 4, "+", chrom="chr2")]
    with pytest.raises(NothingKept) as raised:
        extract(genes, {"chr1": b"ACnnnGT"}, WindowSpec(2, 2, 0.5))
    assert str(raised.value) == (
        "no gene kept from the annotation: 1 biotype_not_selected, 1 chromosome_missing, 1 too_many_n"
    )
    with pytest.raises(NothingKept, match=r"^no gene kept from the annotation: 1 biotype_not_selected; --biotype "
                       r"protein_coding matches no gene; the annotation has lncRNA \(1\)$"):  # fmt: skip
        extract(genes[1:2], {"chr1": CHR1})


@pytest.mark.parametrize(
    ("fasta_name", "gtf_name"), [("chr1", "1"), ("1", "chr1"), ("chrM", "MT"), ("MT", "chrM"), ("M", "chrMT")]
)
def test_chromosome_names_meet_across_conventions(fasta_name: str, gtf_name: str) -> None:
    assert chromosome_key(fasta_name) == chromosome_key(gtf_name)
    result = extract([gene("G1", 8, 20, "+", chrom=gtf_name)], {fasta_name: CHR1})
    assert len(result.windows) == 1


def test_no_chromosome_in_common_is_an_error_not_an_empty_output() -> None:
    with pytest.raises(InputError, match=r"no chromosome in common.*genome has scaffold_1; annotation has chr1"):
        extract([gene("G1", 8, 20, "+")], {"scaffold_1": CHR1})


def test_every_gene_is_in_the_windows_or_in_the_ledger_with_its_reason() -> None:
    genes = [
        gene("G1", 8, 20, "+"),
        gene("G2", 2, 4, "+"),  # window starts before base 1
        gene("G3", 10, 26, "-"),  # window runs past the end
        gene("G4", 8, 20, "+", chrom="chr9"),  # chromosome not in the FASTA
        gene("G5", 8, 20, "+", biotype="lncRNA"),
        gene("G6", 24, 25, "+"),  # window over 'tN': 1 N in 6 = 0.17 > 0.1
        gene("G7", 8, 20, "+"),
        gene("G7", 9, 20, "+"),  # duplicated id: both copies set aside
    ]
    result = extract(genes, {"chr1": CHR1 + b"CCC"}, WindowSpec(3, 2, 0.1))
    assert [kept.gene_id for kept, *_ in result.windows] == ["G1"]
    ledger = ledger_table(result)
    assert ledger[["gene_id", "reason"]].values.tolist() == [
        ["G2", "window_off_chromosome"],
        ["G3", "window_off_chromosome"],
        ["G4", "chromosome_missing"],
        ["G5", "biotype_not_selected"],
        ["G6", "too_many_n"],
        ["G7", "duplicated_gene_id"],
        ["G7", "duplicated_gene_id"],
    ]
    assert len(result.windows) + len(ledger) == len(genes)


def test_windows_table_columns() -> None:
    table = windows_table(extract([gene("G1", 8, 20, "+")], {"chr1": CHR1}))
    assert table.values.tolist() == [["G1", "g1", "chr1", "+", 8, 4, 10]]


def test_two_fasta_names_for_one_chromosome_is_an_error() -> None:
    with pytest.raises(InputError, match="'chr1' and '1' name the same chromosome"):
        extract([gene("G1", 8, 20, "+")], {"chr1": CHR1, "1": CHR1})


@pytest.mark.parametrize(("upstream", "downstream", "fraction"), [(-1, 2, 0.1), (2, -5, 0.1), (2, 2, 1.5)])
def test_bad_window_spec(upstream: int, downstream: int, fraction: float) -> None:
    with pytest.raises(InputError):
        WindowSpec(upstream, downstream, fraction)
