"""A small synthetic genome, annotation and GTEx-style expression table with a planted signal.

The pipeline's test data: real formats (gzip FASTA with soft-masked stretches and N runs, a
GENCODE-style GTF, a GCT) that exercise every rule of the data steps (both strands, non-coding
genes, genes at chromosome ends, an N-rich window, versioned ids, a `_PAR_Y` copy, `chrM`), and
a `Pituitary` column driven by the number of `PLANTED_KMER` occurrences in `PLANTED_REGION`
around the TSS, plus noise, so that models have something real to learn.

Randomness comes from CPython's `random.Random`, whose streams are stable across versions, so
the same seed gives byte-identical files everywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from seq2expr.genome import reverse_complement
from seq2expr.tables import write_bytes

PLANTED_KMER = "TATA"
#: Inclusive bounds relative to the TSS (0 = the TSS base), in the gene's orientation.
PLANTED_REGION = (-200, -50)
TISSUES = ("Pituitary", "Liver", "Brain - Cortex")
#: Half-width of the promoter designed around each TSS: room for the default 2000 + 1 + 2000 window.
FLANK = 2000
GENE_SPACING = 5000


@dataclass(frozen=True)
class SyntheticGene:
    gene_id: str
    gene_name: str
    biotype: str
    chrom: str
    start: int  # 1-based inclusive, as in a GTF
    end: int
    strand: str
    pituitary_tpm: float


@dataclass(frozen=True)
class Chromosome:
    name: str
    length: int


CHROMOSOMES = (
    Chromosome("chr1", 800_000),
    Chromosome("chr2", 700_000),
    Chromosome("chr3", 600_000),
    Chromosome("chrX", 350_000),
    Chromosome("chrY", 60_000),
    Chromosome("chrM", 16_569),
)


def _bases(rng: random.Random, length: int, gc: float) -> bytearray:
    weights = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return bytearray("".join(rng.choices("ACGT", weights=weights, k=length)), "ascii")


def count_occurrences(sequence: str, kmer: str) -> int:
    """Overlapping occurrences (what DExTER counts)."""
    return sum(1 for index in range(len(sequence) - len(kmer) + 1) if sequence.startswith(kmer, index))


def _promoter(rng: random.Random, cpg_island: bool, copies: int) -> str:
    """A 2·FLANK+1 window in gene orientation, TSS at index FLANK, with planted k-mer copies."""
    window = _bases(rng, 2 * FLANK + 1, 0.42)
    if cpg_island:
        island = _bases(rng, 600, 0.68)
        for index in range(0, 598, 11):  # enrich CpG dinucleotides, as real islands are
            island[index : index + 2] = b"CG"
        window[FLANK - 300 : FLANK + 300] = island
    low, high = FLANK + PLANTED_REGION[0], FLANK + PLANTED_REGION[1] - len(PLANTED_KMER) + 1
    for _ in range(copies):
        position = rng.randrange(low, high + 1)
        window[position : position + len(PLANTED_KMER)] = PLANTED_KMER.encode("ascii")
    return window.decode("ascii")


def _tpm(rng: random.Random, promoter: str, cpg_island: bool) -> float:
    region = promoter[FLANK + PLANTED_REGION[0] : FLANK + PLANTED_REGION[1] + 1]
    count = count_occurrences(region, PLANTED_KMER)
    if rng.random() < 0.05:
        return 0.0  # silent genes: their target sits at the floor
    log_tpm = -0.5 + 0.4 * count + 0.4 * cpg_island + rng.gauss(0.0, 0.4)
    return round(10**log_tpm, 4)


def make_genome(seed: int = 1) -> tuple[dict[str, bytes], list[SyntheticGene]]:
    """Chromosome sequences and the genes laid on them, with their Pituitary TPM."""
    rng = random.Random(seed)
    sequences: dict[str, bytes] = {}
    genes: list[SyntheticGene] = []
    number = 100_000
    for chromosome in CHROMOSOMES:
        genome = _bases(rng, chromosome.length, 0.41)
        if chromosome.name == "chrY":
            tss_positions = [2_600]  # the PAR gene, placed as on chrX
        elif chromosome.name == "chrM":
            tss_positions = [4_000, 12_000]
        else:
            # The first and last genes sit so close to the ends that their windows run off.
            tss_positions = [300, *range(2_600, chromosome.length - FLANK - 3_000, GENE_SPACING)]
            tss_positions.append(chromosome.length - 200)
        for index, tss in enumerate(tss_positions):
            number += 1
            strand = "+" if rng.random() < 0.5 else "-"
            biotype = "lncRNA" if rng.random() < 0.1 and chromosome.name not in ("chrY", "chrM") else "protein_coding"
            cpg_island = rng.random() < 0.5
            copies = rng.randrange(0, 7)
            promoter = _promoter(rng, cpg_island, copies)
            tpm = _tpm(rng, promoter, cpg_island)
            fits = FLANK <= tss - 1 <= chromosome.length - FLANK - 1
            if fits:
                oriented = promoter if strand == "+" else reverse_complement(promoter.encode("ascii")).decode("ascii")
                genome[tss - 1 - FLANK : tss + FLANK] = oriented.encode("ascii")
            body = rng.randrange(800, 2_500)
            start, end = (tss, min(tss + body, chromosome.length)) if strand == "+" else (max(1, tss - body), tss)
            gene_id = f"ENSG00000{number:06d}.{1 + number % 7}"
            if chromosome.name == "chrX" and index == 1:
                par_id = gene_id
            if chromosome.name == "chrY":
                gene_id = f"{par_id}_PAR_Y"
            name = f"MT-G{index + 1}" if chromosome.name == "chrM" else f"SYN{number - 100_000}"
            genes.append(SyntheticGene(gene_id, name, biotype, chromosome.name, start, end, strand, tpm))
        if chromosome.name == "chr2":
            # An N run (assembly gap) over one promoter: that gene must land in the ledger.
            gap_gene = [gene for gene in genes if gene.chrom == "chr2" and gene.biotype == "protein_coding"][-5]
            gap_tss = gap_gene.start if gap_gene.strand == "+" else gap_gene.end
            genome[gap_tss - 1200 : gap_tss + 800] = b"N" * 2000
        for _ in range(chromosome.length // 100_000):
            start = rng.randrange(0, chromosome.length - 50)
            genome[start : start + 50] = b"N" * 50
        for _ in range(chromosome.length // 20_000):
            start = rng.randrange(0, chromosome.length - 400)
            length = rng.randrange(50, 400)
            genome[start : start + length] = bytes(genome[start : start + length]).lower()
        sequences[chromosome.name] = bytes(genome)
    return sequences, genes


def fasta_text(sequences: dict[str, bytes], width: int = 60) -> bytes:
    lines = []
    for name, sequence in sequences.items():
        lines.append(f">{name} synthetic".encode("ascii"))
        lines.extend(sequence[start : start + width] for start in range(0, len(sequence), width))
    return b"\n".join(lines) + b"\n"


def gtf_text(genes: list[SyntheticGene]) -> bytes:
    """GENCODE-style: gene, transcript and exon lines, `gene_type`, versioned ids."""
    lines = ["##description: seq2expr synthetic test annotation", "##provider: seq2expr"]
    for number, gene in enumerate(genes, start=1):
        attributes = f'gene_id "{gene.gene_id}"; gene_type "{gene.biotype}"; gene_name "{gene.gene_name}"; level 2;'
        transcript = f'{attributes} transcript_id "ENST00000{number:06d}.1"; transcript_type "{gene.biotype}";'
        common = f"{gene.chrom}\tSYNTHETIC\t{{}}\t{gene.start}\t{gene.end}\t.\t{gene.strand}\t.\t"
        lines.append(common.format("gene") + attributes)
        lines.append(common.format("transcript") + transcript)
        lines.append(common.format("exon") + transcript + " exon_number 1;")
    return ("\n".join(lines) + "\n").encode("ascii")


def gct_text(genes: list[SyntheticGene], seed: int = 1) -> bytes:
    """GTEx-style median-TPM GCT; some ids carry another version, a few genes are unannotated."""
    rng = random.Random(seed + 1)
    rows = []
    for number, gene in enumerate(genes):
        gene_id = gene.gene_id
        if number % 10 == 3 and not gene_id.endswith("_PAR_Y"):
            base, version = gene_id.rsplit(".", 1)
            gene_id = f"{base}.{int(version) + 1}"  # a newer annotation release
        others = [round(10 ** rng.gauss(0.5, 1.0), 4) for _ in TISSUES[1:]]
        rows.append([gene_id, gene.gene_name, gene.pituitary_tpm, *others])
    for extra in range(12):
        rows.append([f"ENSG00000{900_000 + extra:06d}.1", f"UNANNOTATED{extra}", 1.0, 2.0, 3.0])
    lines = ["#1.2", f"{len(rows)}\t{len(TISSUES)}", "\t".join(["Name", "Description", *TISSUES])]
    lines.extend("\t".join(f"{value:g}" if isinstance(value, float) else str(value) for value in row) for row in rows)
    return ("\n".join(lines) + "\n").encode("ascii")


def write_test_data(outdir: Path, seed: int = 1) -> list[Path]:
    """Write genome.fa.gz, annotation.gtf.gz and expression.gct.gz; return their paths."""
    sequences, genes = make_genome(seed)
    outdir.mkdir(parents=True, exist_ok=True)
    files = {
        outdir / "genome.fa.gz": fasta_text(sequences),
        outdir / "annotation.gtf.gz": gtf_text(genes),
        outdir / "expression.gct.gz": gct_text(genes, seed),
    }
    for path, data in files.items():
        write_bytes(data, path)
    return list(files)
