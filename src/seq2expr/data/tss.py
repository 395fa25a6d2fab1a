"""TSS windows: for each selected gene, `upstream` bases, the TSS base and `downstream` bases.

The genome is streamed one chromosome at a time (see `genome.iter_fasta`); each chromosome's
genes are cut out as it passes, so memory holds one chromosome plus the windows. Windows are
read 5'→3' in the gene's orientation (minus-strand windows reverse-complemented), so the TSS is
always at index `upstream`. The genome's soft-masking is kept (repeats in lower case): the
similarity search needs it, and the dataset upper-cases the windows for the models.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from seq2expr.errors import InputError, NothingKept
from seq2expr.io.annotation import Gene, read_genes
from seq2expr.io.genome import FastaRecord, iter_fasta, reverse_complement, to_acgtn_cased, write_fasta
from seq2expr.io.multiqc import counts_table, ledger_counts, write_report_files
from seq2expr.io.tables import write_tsv

log = logging.getLogger(__name__)

WINDOW_COLUMNS = ["gene_id", "gene_name", "chrom", "strand", "tss", "start", "end"]
LEDGER_COLUMNS = ["gene_id", "gene_name", "chrom", "reason", "detail"]
SUMMARY_FILE = "tss_windows_summary_mqc.tsv"
SUMMARY_ID = "tss_windows_summary"
DEFAULT_BIOTYPES = ("protein_coding",)


def chromosome_key(name: str) -> str:
    """A name under which `chr1`/`1` and `chrM`/`MT`/`M` meet (GENCODE vs Ensembl naming)."""
    key = name[3:] if name.lower().startswith("chr") else name
    return "MT" if key.upper() in ("M", "MT") else key


@dataclass(frozen=True)
class WindowSpec:
    """The window around each TSS and the N tolerance."""

    upstream: int = field(default=2000, metadata={"help": "Bases before the TSS.", "min": 0})
    downstream: int = field(default=2000, metadata={"help": "Bases after the TSS.", "min": 0})
    max_n_fraction: float = field(
        default=0.1,
        metadata={
            "help": "Windows with a larger fraction of N (or other non-ACGT letters) go to the ledger.",
            "min": 0.0,
            "max": 1.0,
        },
    )

    def __post_init__(self) -> None:
        if self.upstream < 0 or self.downstream < 0:
            raise InputError(f"window sizes must be >= 0 (upstream {self.upstream}, downstream {self.downstream})")
        if not 0.0 <= self.max_n_fraction <= 1.0:
            raise InputError(f"--max-n-fraction {self.max_n_fraction} must be between 0 and 1")

    @property
    def length(self) -> int:
        return self.upstream + 1 + self.downstream


@dataclass
class Extraction:
    """Windows kept (gene order of the GTF) and genes set aside with a reason."""

    windows: list[tuple[Gene, int, int, str]] = field(default_factory=list)  # gene, start0, end0, sequence
    ledger: list[tuple[Gene, str, str]] = field(default_factory=list)  # gene, reason, detail

    def drop(self, gene: Gene, reason: str, detail: str) -> None:
        self.ledger.append((gene, reason, detail))


def window_bounds(gene: Gene, spec: WindowSpec) -> tuple[int, int]:
    """0-based, end-exclusive genomic interval of the window (may run off the chromosome)."""
    tss0 = gene.tss - 1
    if gene.strand == "+":
        return tss0 - spec.upstream, tss0 + spec.downstream + 1
    return tss0 - spec.downstream, tss0 + spec.upstream + 1


def cut_window(chromosome: bytes, gene: Gene, spec: WindowSpec) -> tuple[int, int, str] | None:
    """The window's bounds and ACGTN sequence (soft-masking kept) in the gene's orientation; None when
    off the end."""
    start, end = window_bounds(gene, spec)
    if start < 0 or end > len(chromosome):
        return None
    sequence = to_acgtn_cased(chromosome[start:end])
    if gene.strand == "-":
        sequence = reverse_complement(sequence)
    return start, end, sequence.decode("ascii")


def select_genes(genes: list[Gene], biotypes: Iterable[str], result: Extraction) -> list[Gene]:
    """Genes of the wanted biotypes with a unique id; the others go to the ledger."""
    wanted = set(biotypes)
    counts = Counter(gene.gene_id for gene in genes)
    selected = []
    for gene in genes:
        if gene.biotype not in wanted:
            result.drop(gene, "biotype_not_selected", gene.biotype)
        elif counts[gene.gene_id] > 1:
            result.drop(gene, "duplicated_gene_id", f"{counts[gene.gene_id]} gene lines share this id")
        else:
            selected.append(gene)
    return selected


def extract_windows(
    records: Iterable[FastaRecord],
    genes: list[Gene],
    spec: WindowSpec,
    biotypes: Iterable[str],
    genome: Path | None = None,
    annotation: Path | None = None,
) -> Extraction:
    """Cut one window per selected gene from a stream of chromosome records (`genome` and `annotation`
    name their files in errors)."""
    result = Extraction()
    selected = select_genes(genes, biotypes, result)
    by_key: dict[str, list[Gene]] = defaultdict(list)
    for gene in selected:
        by_key[chromosome_key(gene.chrom)].append(gene)
    cut: dict[str, tuple[int, int, str]] = {}
    fasta_names: list[str] = []
    seen_keys: dict[str, str] = {}
    for record in records:
        fasta_names.append(record.name)
        key = chromosome_key(record.name)
        if key in seen_keys:
            raise InputError(
                f"genome sequences {seen_keys[key]!r} and {record.name!r} name the same chromosome", genome, record.line
            )
        seen_keys[key] = record.name
        chromosome_genes = by_key.get(key, [])
        if chromosome_genes:
            log.info("%s: %d genes", record.name, len(chromosome_genes))
        for gene in chromosome_genes:
            window = cut_window(record.sequence, gene, spec)
            if window is not None:
                cut[gene.gene_id] = window
            else:
                start, end = window_bounds(gene, spec)
                detail = f"window {start}..{end} on a {len(record.sequence)} bp sequence"
                result.drop(gene, "window_off_chromosome", detail)
    if selected and not any(key in seen_keys for key in by_key):
        gtf_names = sorted({gene.chrom for gene in selected})
        both = " and ".join(
            f"the {what}{f' {path}' if path else ''}" for what, path in (("genome", genome), ("annotation", annotation))
        )
        raise InputError(
            f"no chromosome in common between {both}: genome has {_preview(fasta_names)}; "
            f"annotation has {_preview(gtf_names)}"
        )
    for gene in selected:
        if gene.gene_id in cut:
            start, end, sequence = cut[gene.gene_id]
            n_fraction = sequence.upper().count("N") / spec.length
            if n_fraction > spec.max_n_fraction:
                result.drop(gene, "too_many_n", f"{n_fraction:.3f} of the window is N (max {spec.max_n_fraction})")
            else:
                result.windows.append((gene, start, end, sequence))
        elif chromosome_key(gene.chrom) not in seen_keys:
            result.drop(gene, "chromosome_missing", f"{gene.chrom} is not in the genome FASTA")
    missing = sorted({gene.chrom for gene, reason, _ in result.ledger if reason == "chromosome_missing"})
    if missing:
        n_genes = sum(reason == "chromosome_missing" for _, reason, _ in result.ledger)
        log.warning(
            "%d chromosome(s) of the annotation are not in the genome FASTA (%s): their %d selected gene(s) are "
            "in the ledger as chromosome_missing; check that genome and annotation are the same assembly",
            len(missing),
            _preview(missing),
            n_genes,
        )
    log.info("kept %d windows; %d genes in the ledger", len(result.windows), len(result.ledger))
    check_kept(result, biotypes, annotation)
    return result


def check_kept(result: Extraction, biotypes: Iterable[str], annotation: Path | None = None) -> None:
    """Stop when no window is kept: an empty tss_windows.fa would only fail the next step, without the reasons.

    The ledger's counts say why; when the biotypes asked for match no gene at all, the annotation's
    own biotypes say what `--biotype` could have been.
    """
    if result.windows:
        return
    hint = ""
    if result.ledger and all(reason == "biotype_not_selected" for _, reason, _ in result.ledger):
        present = Counter(detail for _, _, detail in result.ledger).most_common(5)
        listed = ", ".join(f"{biotype} ({count})" for biotype, count in present)
        hint = f"--biotype {','.join(biotypes)} matches no gene; the annotation has {listed}"
    source = annotation if annotation is not None else "the annotation"
    raise NothingKept(f"no gene kept from {source}", (reason for _, reason, _ in result.ledger), hint)


def _preview(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def windows_table(result: Extraction) -> pd.DataFrame:
    """`tss_windows.tsv`: start/end are 0-based half-open genomic bounds, tss is 1-based."""
    rows = [
        (gene.gene_id, gene.gene_name, gene.chrom, gene.strand, gene.tss, start, end)
        for gene, start, end, _ in result.windows
    ]
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def ledger_table(result: Extraction) -> pd.DataFrame:
    """`extract_ledger.tsv` in GTF order, so it reads alongside the annotation."""
    rows = [
        (gene.gene_id, gene.gene_name, gene.chrom, reason, detail)
        for gene, reason, detail in sorted(result.ledger, key=lambda row: row[0].line)
    ]
    return pd.DataFrame(rows, columns=LEDGER_COLUMNS)


@dataclass(frozen=True)
class ExtractResult:
    """What the extraction step wrote: the windows table, the ledger and the report's counts."""

    windows: pd.DataFrame
    ledger: pd.DataFrame
    summary: dict[str, int]
    files: list[Path]


def run(
    genome: Path, annotation: Path, outdir: Path, spec: WindowSpec, biotypes: Iterable[str] = DEFAULT_BIOTYPES
) -> ExtractResult:
    """The EXTRACT_TSS_WINDOWS step: tss_windows.fa (header = gene id; soft-masking kept; TSS at index
    `upstream`, minus-strand windows reverse-complemented), tss_windows.tsv, extract_ledger.tsv and
    tss_windows_summary_mqc.tsv in `outdir`."""
    wanted = list(biotypes)
    genes = read_genes(annotation)
    log.info("%s: %d gene lines; keeping biotype(s) %s", annotation, len(genes), ", ".join(wanted))
    result = extract_windows(iter_fasta(genome), genes, spec, wanted, genome, annotation)
    outdir.mkdir(parents=True, exist_ok=True)
    files = [outdir / name for name in ("tss_windows.fa", "tss_windows.tsv", "extract_ledger.tsv", SUMMARY_FILE)]
    write_fasta([(gene.gene_id, sequence) for gene, _, _, sequence in result.windows], files[0])
    windows = windows_table(result)
    write_tsv(windows, files[1])
    ledger = ledger_table(result)
    write_tsv(ledger, files[2])
    reasons = ledger_counts(ledger)
    summary = {"gtf_genes": len(genes), "windows": len(result.windows), **reasons}
    write_report_files([counts_table(SUMMARY_FILE, SUMMARY_ID, f"{spec.length} bp windows", summary)], outdir)
    log.info("windows: %d of %d genes (%d bp each)", len(result.windows), len(genes), spec.length)
    for reason, count in reasons.items():
        log.info("ledger: %d %s", count, reason)
    return ExtractResult(windows, ledger, summary, files)
