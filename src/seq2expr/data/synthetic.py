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

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.io.genome import reverse_complement
from seq2expr.io.tables import write_bytes

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class TestData:
    """What `run` wrote: the files, and how many genes they describe."""

    files: list[Path]
    genes: int


def run(outdir: Path, seed: int = 1) -> TestData:
    """Write genome.fa.gz, annotation.gtf.gz and expression.gct.gz (seed 1: the bundled files, byte for byte)."""
    sequences, genes = make_genome(seed)
    outdir.mkdir(parents=True, exist_ok=True)
    files = {
        outdir / "genome.fa.gz": fasta_text(sequences),
        outdir / "annotation.gtf.gz": gtf_text(genes),
        outdir / "expression.gct.gz": gct_text(genes, seed),
    }
    for path, data in files.items():
        write_bytes(data, path)
        log.info("wrote %s", path)
    log.info("planted signal: %s in %d..%d relative to the TSS", PLANTED_KMER, *PLANTED_REGION)
    return TestData(list(files), len(genes))


@dataclass(frozen=True)
class SimilaritySet:
    """Windows with planted similar genes: what the grouping must find, and a repeat it must not follow."""

    sequences: dict[str, str]  # gene id → window (gene orientation; the repeat in lower case)
    coordinates: pd.DataFrame  # gene_id, chrom, strand, start, end (0-based half-open)
    planted: list[set[str]]  # the genes that belong together (paralogs, reverse-complement copies, overlaps)
    repeat_carriers: list[str]  # genes holding a soft-masked copy of the shared repeat


_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_RC = bytes.maketrans(b"ACGTacgt", b"TGCAtgca")


def _random_bases(rng: np.random.Generator, length: int) -> bytes:
    return _BASES[rng.integers(0, 4, size=length)].tobytes()


def mutate(rng: np.random.Generator, sequence: bytes, divergence: float) -> bytes:
    """A copy with `divergence` of its bases changed: 90 % substitutions, 10 % 1-bp indels; same length."""
    array = bytearray(sequence)
    n_changes = round(divergence * len(array))
    for position in sorted(rng.choice(len(array), size=n_changes, replace=False).tolist(), reverse=True):
        kind = rng.random()
        if kind < 0.9:
            choices = [base for base in b"ACGT" if base != array[position]]
            array[position] = choices[int(rng.integers(0, 3))]
        elif kind < 0.95:
            del array[position]
            array.append(int(_BASES[rng.integers(0, 4)]))
        else:
            array.insert(position, int(_BASES[rng.integers(0, 4)]))
            array.pop()
    return bytes(array)


def similarity_set(
    n_genes: int,
    length: int,
    n_paralogs: int,
    n_overlaps: int,
    n_repeat_carriers: int,
    seed: int = 1,
    divergence: tuple[float, float] = (0.01, 0.05),
    repeat_length: int = 600,
) -> SimilaritySet:
    """`n_genes` random windows of `length` bp where

    - `n_paralogs` genes are mutated copies (a `divergence` range of changes) of another gene's
      window or of most of it, half of them reverse-complemented, a few joining a family of three;
    - `n_overlaps` genes have windows that intersect another gene's on the genome (either strand,
      100 bp to 3/4 of the window), their sequence cut from the same genomic bases;
    - `n_repeat_carriers` genes carry a soft-masked (lower-case) copy, 1 % diverged, of one
      `repeat_length` bp repeat: longer than a homology link needs, so only its masking keeps it
      from chaining them all.
    Genes sit on three chromosomes, two window lengths apart, so no other window overlaps.
    """
    if n_paralogs + n_overlaps > n_genes // 2:
        raise ValueError("at most half of the genes can be planted copies")
    rng = np.random.default_rng(seed)
    ids = [f"GENE{index:06d}" for index in range(n_genes)]
    forward = [_random_bases(rng, length) for _ in range(n_genes)]  # genomic + strand bases of each window
    strands = ["+" if rng.random() < 0.5 else "-" for _ in range(n_genes)]
    chroms = [f"chr{1 + index % 3}" for index in range(n_genes)]
    starts = [(index // 3) * 2 * length + 1_000 for index in range(n_genes)]
    order = rng.permutation(n_genes).tolist()
    copies, rest = order[: n_paralogs + n_overlaps], order[n_paralogs + n_overlaps :]
    sources = rest[: len(copies)]
    groups: dict[int, set[int]] = {}
    for number, (copy, source) in enumerate(zip(copies, sources, strict=True)):
        if number < n_paralogs:
            if number % 10 == 9 and number > 0:
                source = copies[number - 1]  # a family of three: a copy of a copy's source group
            low, high = divergence
            template = forward[source] if strands[source] == "+" else forward[source].translate(_RC)[::-1]
            shared = length if number % 3 else int(rng.integers(length // 2, length))
            copied = mutate(rng, template[:shared], float(rng.uniform(low, high)))
            window = copied + _random_bases(rng, length - shared)
            if number % 2:
                window = window.translate(_RC)[::-1]  # a reverse-complement copy
            forward[copy] = window if strands[copy] == "+" else window.translate(_RC)[::-1]
        else:
            offset = int(rng.integers(length // 4, length - 100))
            chroms[copy], starts[copy] = chroms[source], starts[source] + offset
            forward[copy] = forward[source][offset:] + _random_bases(rng, offset)
        root = next((key for key, members in groups.items() if source in members), source)
        groups.setdefault(root, {root}).add(copy)
    repeat = _random_bases(rng, repeat_length)
    carriers = rest[len(copies) : len(copies) + n_repeat_carriers]
    for carrier in carriers:
        position = int(rng.integers(0, length - repeat_length))
        insert = mutate(rng, repeat, 0.01).lower()
        window = forward[carrier]
        forward[carrier] = window[:position] + insert + window[position + repeat_length :]
    sequences = {
        ids[index]: (seq if strands[index] == "+" else seq.translate(_RC)[::-1]).decode("ascii")
        for index, seq in enumerate(forward)
    }
    coordinates = pd.DataFrame(
        {
            "gene_id": ids,
            "chrom": chroms,
            "strand": strands,
            "start": starts,
            "end": [start + length for start in starts],
        }
    )
    planted = [{ids[index] for index in members} for members in groups.values()]
    return SimilaritySet(sequences, coordinates, planted, [ids[index] for index in carriers])


def planted_motif_windows(
    n: int, length: int, motif: str, offset: int, seed: int = 1, gc_weight: float = 0.0
) -> pd.DataFrame:
    """Random windows (TSS at the centre) for the science tests of what a model learned.

    Half the genes carry `motif` starting `offset` bp from the TSS; the target is 1.0 for a carrier
    plus `gc_weight` × the window's GC fraction plus noise (SD 0.3). With `gc_weight` > 0 and no
    motif (`motif` = ''), the target is composition only. GC varies per window (0.35–0.65), so a
    composition model has something to read. Columns: gene_id, sequence, carries, gc, target.
    """
    rng = np.random.default_rng(seed)
    tss = length // 2
    rows = []
    for index in range(n):
        gc = float(rng.uniform(0.35, 0.65))
        bases = rng.choice(list("ACGT"), size=length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
        carries = bool(motif) and index % 2 == 0
        if carries:
            bases[tss + offset : tss + offset + len(motif)] = list(motif)
        sequence = "".join(bases)
        observed_gc = (sequence.count("C") + sequence.count("G")) / length
        rows.append({"gene_id": f"P{index:05d}", "sequence": sequence, "carries": carries, "gc": observed_gc})
    table = pd.DataFrame(rows)
    table["target"] = table["carries"].astype(float) + gc_weight * table["gc"] + rng.normal(scale=0.3, size=n)
    return table
