"""GTF gene records: GENCODE and Ensembl flavours, and every malformed-line case."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from seq2expr.errors import InputError
from seq2expr.io.annotation import parse_attributes, read_genes

GENCODE = (
    "##provider: GENCODE\n"
    'chr1\tHAVANA\tgene\t1000\t2000\t.\t+\t.\tgene_id "ENSG01.3"; gene_type "protein_coding"; gene_name "A1";\n'
    'chr1\tHAVANA\ttranscript\t1000\t2000\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "ENST01.1";\n'
    'chr1\tHAVANA\tgene\t5000\t6000\t.\t-\t.\tgene_id "ENSG02.1"; gene_type "lncRNA"; gene_name "B2";\n'
)
ENSEMBL = '1\tensembl\tgene\t1000\t2000\t.\t-\t.\tgene_id "ENSG03"; gene_version "4"; gene_biotype "protein_coding";\n'


def write(tmp_path: Path, text: str, name: str = "a.gtf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_gencode_genes_with_tss_by_strand(tmp_path: Path) -> None:
    genes = read_genes(write(tmp_path, GENCODE))
    assert [(g.gene_id, g.biotype, g.gene_name, g.tss) for g in genes] == [
        ("ENSG01.3", "protein_coding", "A1", 1000),
        ("ENSG02.1", "lncRNA", "B2", 6000),
    ]


def test_ensembl_biotype_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "e.gtf.gz"
    path.write_bytes(gzip.compress(ENSEMBL.encode()))
    (gene,) = read_genes(path)
    assert (gene.gene_id, gene.biotype, gene.chrom, gene.tss, gene.gene_name) == (
        "ENSG03",
        "protein_coding",
        "1",
        2000,
        "ENSG03",
    )


def test_attributes_parse_quoted_and_bare_values() -> None:
    assert parse_attributes('gene_id "X.1"; level 2; tag "basic"; tag "CCDS";') == {
        "gene_id": "X.1",
        "level": "2",
        "tag": "basic",
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chr1\tX\tgene\t10\t20\t.\t+\t.\t\n", "gene line without a gene_id"),
        ("chr1\tX\tgene\t10\t20\t.\t+\n", "7 tab-separated columns; a GTF line has 9"),
        ('chr1\tX\tgene\tten\t20\t.\t+\t.\tgene_id "G"; gene_type "p";\n', "are not whole numbers"),
        ('chr1\tX\tgene\t30\t20\t.\t+\t.\tgene_id "G"; gene_type "p";\n', "bad gene coordinates 30..20"),
        ('chr1\tX\tgene\t0\t20\t.\t+\t.\tgene_id "G"; gene_type "p";\n', "bad gene coordinates 0..20"),
        ('chr1\tX\tgene\t10\t20\t.\t.\t.\tgene_id "G"; gene_type "p";\n', "strand '.'"),
        ('chr1\tX\tgene\t10\t20\t.\t+\t.\tgene_id "G";\n', "neither a gene_type (GENCODE) nor a gene_biotype"),
    ],
)
def test_malformed_gtf_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, "#header\n" + line)
    with pytest.raises(InputError) as error:
        read_genes(path)
    assert str(error.value).startswith(f"{path}, line 2: ")
    assert message in str(error.value)


def test_gtf_without_gene_lines_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, 'chr1\tX\texon\t10\t20\t.\t+\t.\tgene_id "G";\n')
    with pytest.raises(InputError, match="no 'gene' lines"):
        read_genes(path)


def test_empty_gtf_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no 'gene' lines"):
        read_genes(write(tmp_path, ""))
