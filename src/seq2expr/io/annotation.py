"""Genes from a GTF annotation (GENCODE or Ensembl flavour, plain or gzip).

Only `gene` lines are read: they carry the gene's extent, strand, id, name and biotype, which is
all a TSS window needs. GENCODE names the biotype `gene_type`, Ensembl `gene_biotype`; both are
understood so users can bring either annotation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from seq2expr.errors import InputError
from seq2expr.io.files import iter_lines

_ATTRIBUTE = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_.]*)\s+"?([^";]*)"?\s*;?')
#: `key=value` attributes or the version pragma: what a GFF3 has where a GTF has `key "value";`.
_GFF3_ATTRIBUTE = re.compile(r"(^|;)\s*[A-Za-z_][A-Za-z0-9_.]*=")
GFF3_HINT = (
    'this looks like GFF3 (key=value attributes); expected a GTF (key "value"; attributes) — '
    "use the GTF release of the annotation or convert it (e.g. gffread -T)"
)
BIOTYPE_KEYS = ("gene_type", "gene_biotype")


@dataclass(frozen=True)
class Gene:
    """A gene's identity and extent; coordinates are 1-based inclusive, as in the GTF."""

    gene_id: str
    gene_name: str
    biotype: str
    chrom: str
    start: int
    end: int
    strand: str
    line: int

    @property
    def tss(self) -> int:
        """1-based TSS: the gene start on the + strand, the gene end on the − strand."""
        return self.start if self.strand == "+" else self.end


def parse_attributes(text: str) -> dict[str, str]:
    """`key "value"; key2 "value2";` → dict (first occurrence of a key wins)."""
    attributes: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(text):
        attributes.setdefault(match.group(1), match.group(2))
    return attributes


def _parse_gene(fields: list[str], path: Path, line: int) -> Gene:
    chrom, _source, _feature, start_text, end_text, _score, strand, _frame, attribute_text = fields
    try:
        start, end = int(start_text), int(end_text)
    except ValueError:
        raise InputError(f"gene coordinates {start_text!r}..{end_text!r} are not whole numbers", path, line) from None
    if start < 1 or end < start:
        raise InputError(f"bad gene coordinates {start}..{end}; expected 1 <= start <= end", path, line)
    if strand not in ("+", "-"):
        raise InputError(f"strand {strand!r} of a gene line; expected '+' or '-'", path, line)
    attributes = parse_attributes(attribute_text)
    gene_id = attributes.get("gene_id")
    if not gene_id:
        if _GFF3_ATTRIBUTE.search(attribute_text):
            raise InputError(GFF3_HINT, path, line)
        raise InputError("gene line without a gene_id attribute", path, line)
    biotype = next((attributes[key] for key in BIOTYPE_KEYS if key in attributes), None)
    if biotype is None:
        raise InputError(
            f"gene {gene_id} has neither a gene_type (GENCODE) nor a gene_biotype (Ensembl) attribute", path, line
        )
    return Gene(gene_id, attributes.get("gene_name", gene_id), biotype, chrom, start, end, strand, line)


def read_genes(path: Path) -> list[Gene]:
    """Every `gene` line of the GTF, in file order; any malformed line is an error naming it."""
    genes: list[Gene] = []
    for line_number, line in iter_lines(path):
        if line.startswith("##gff-version"):
            raise InputError(GFF3_HINT, path, line_number)
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 9:
            raise InputError(f"{len(fields)} tab-separated columns; a GTF line has 9", path, line_number)
        if fields[2] == "gene":
            genes.append(_parse_gene(fields, path, line_number))
    if not genes:
        raise InputError("no 'gene' lines; expected a GENCODE or Ensembl GTF with gene records", path)
    return genes
