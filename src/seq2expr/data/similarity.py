"""Genes whose windows are similar enough that a model could memorise one to predict the other.

A random split over gene ids puts bidirectional promoters, alternative TSSs and paralogs on both
sides of it; models that can memorise sequence (the CNN, the gLM) then score on what they saw. So
genes are linked when their windows

- **overlap** on the genome: same chromosome, intersecting intervals, either strand; or
- are **homologous** on either strand: a minimap2 alignment (through its Python binding `mappy`,
  preset `asm20`, every chain kept) with at least `min_matches` matching bases at an identity of
  at least `min_identity`, soft-masked (lower-case) repeats hidden as N so that they seed nothing;

and the connected components of these links are the gene groups. `gene_groups.tsv` holds one row
per gene: `gene_id, group, reason, partner, identity`. `group` is the id of the group's first
gene (dataset order); `reason` says which links the gene has (`singleton`, `overlap`, `homology`,
`overlap+homology`); `partner` is its closest linked gene and `identity` the share of the shorter
window that the two share (overlap length, or the alignment's matching bases).

The thresholds (`min_matches` 350, above a full-length Alu, so an unmasked repeat links no genes;
`min_identity` 0.7) come from the alignments between different genes of the real development set
(docs/decisions.md, "gene groups: thresholds of the homology links"; `bench/grouping.py` measures
the grouping at study size).
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import mappy
import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.io.tables import check_allowed, check_unique_genes, read_table

log = logging.getLogger(__name__)

GROUP_COLUMNS = ["gene_id", "group", "reason", "partner", "identity"]
REASONS = ("singleton", "overlap", "homology", "overlap+homology")
#: minimap2's MM_F_ALL_CHAINS: report every chain, not only those within 80 % of the best (the self hit).
_ALL_CHAINS = 0x800000
_PRESET = "asm20"
#: Hits kept per query: room for a large paralog family.
_BEST_N = 200
_MASK = bytes.maketrans(b"acgtn", b"NNNNN")
#: Below this many windows one process aligns them all (~1 ms a window): forking would cost more than it saves.
PARALLEL_MIN_GENES = 2_000


@dataclass(frozen=True)
class GroupingSpec:
    """What links two genes; the defaults and the evidence for them are in the module docstring."""

    min_matches: int = field(
        default=350,
        metadata={
            "help": "Matching bases an alignment needs to link two genes (above an Alu).",
            "min": 1,
        },
    )
    min_identity: float = field(
        default=0.7,
        metadata={
            "help": "Identity (matches / alignment length) an alignment needs to link two genes.",
            "min": 0.0,
            "min_open": True,
            "max": 1.0,
        },
    )
    threads: int = field(default=2, metadata={"help": "Processes for the all-against-all alignment.", "min": 1})

    def __post_init__(self) -> None:
        if self.min_matches < 1:
            raise InputError(f"--min-matches {self.min_matches} must be >= 1")
        if not 0.0 < self.min_identity <= 1.0:
            raise InputError(f"--min-identity {self.min_identity} must be in (0, 1]")
        if self.threads < 1:
            raise InputError(f"--threads {self.threads} must be >= 1")


@dataclass(frozen=True)
class Link:
    """Two genes and what they share: `kind` overlap or homology, `shared` bases, `score` in [0, 1]."""

    gene_a: str
    gene_b: str
    kind: str
    shared: int
    score: float


def mask_repeats(sequence: str) -> str:
    """Soft-masked (lower-case) bases as N: minimap2 builds no seed over an N."""
    return sequence.encode("ascii").translate(_MASK).decode("ascii")


def overlap_links(coordinates: pd.DataFrame, lengths: Mapping[str, int]) -> list[Link]:
    """Pairs of windows that intersect on the same chromosome (0-based half-open `start`, `end`)."""
    links = []
    for _, block in coordinates.sort_values(["chrom", "start", "end", "gene_id"]).groupby("chrom", sort=True):
        genes = block["gene_id"].tolist()
        starts = block["start"].to_numpy()
        ends = block["end"].to_numpy()
        for i in range(len(genes)):
            j = i + 1
            while j < len(genes) and starts[j] < ends[i]:
                shared = int(min(ends[i], ends[j]) - starts[j])
                shorter = min(lengths[genes[i]], lengths[genes[j]])
                links.append(Link(genes[i], genes[j], "overlap", shared, min(1.0, shared / shorter)))
                j += 1
    return links


#: What the alignment workers share: the index and the masked windows, inherited when they fork.
_SHARED: dict[str, object] = {}


def _align(indexes: range) -> list[tuple[str, str, int]]:
    """(query, target, matching bases) of each passing alignment of the windows `indexes`."""
    aligner = cast(mappy.Aligner, _SHARED["aligner"])
    genes = cast(list[str], _SHARED["genes"])
    windows = cast(list[str], _SHARED["windows"])
    spec = cast(GroupingSpec, _SHARED["spec"])
    buffer = mappy.ThreadBuffer()
    found = []
    for index in indexes:
        gene = genes[index]
        for hit in aligner.map(windows[index], buf=buffer):
            if hit.ctg != gene and hit.mlen >= spec.min_matches and hit.mlen >= spec.min_identity * hit.blen:
                found.append((gene, hit.ctg, hit.mlen))
    return found


def homology_links(sequences: Mapping[str, str], spec: GroupingSpec) -> list[Link]:
    """Best alignment of every pair of windows that passes the thresholds, either strand.

    mappy holds the GIL while it maps, so the queries are spread over forked processes that
    share the index (copy-on-write), not over threads.
    """
    genes = list(sequences)
    windows = [mask_repeats(sequences[gene]) for gene in genes]
    if len(genes) < 2:
        return []
    with tempfile.TemporaryDirectory(prefix="seq2expr_similarity_") as folder:
        index_fasta = Path(folder) / "windows.fa"
        with open(index_fasta, "w", encoding="ascii") as handle:
            handle.writelines(f">{gene}\n{window}\n" for gene, window in zip(genes, windows, strict=True))
        aligner = mappy.Aligner(
            str(index_fasta), preset=_PRESET, n_threads=spec.threads, best_n=_BEST_N, extra_flags=_ALL_CHAINS
        )
    if not aligner:
        raise RuntimeError("minimap2 could not build its index of the windows")
    _SHARED.update(aligner=aligner, genes=genes, windows=windows, spec=spec)
    step = max(1, -(-len(genes) // (8 * spec.threads)))
    chunks = [range(start, min(start + step, len(genes))) for start in range(0, len(genes), step)]
    try:
        if spec.threads == 1 or len(genes) < PARALLEL_MIN_GENES:
            results = [_align(chunk) for chunk in chunks]
        else:
            with multiprocessing.get_context("fork").Pool(spec.threads) as pool:
                results = pool.map(_align, chunks)
    finally:
        _SHARED.clear()
    best: dict[tuple[str, str], int] = {}
    for hits in results:
        for query, target, matches in hits:
            pair = (query, target) if query < target else (target, query)
            best[pair] = max(best.get(pair, 0), matches)
    return [
        Link(a, b, "homology", matches, min(1.0, matches / min(len(sequences[a]), len(sequences[b]))))
        for (a, b), matches in sorted(best.items())
    ]


def group_genes(
    genes: list[str], sequences: Mapping[str, str], coordinates: pd.DataFrame | None, spec: GroupingSpec
) -> pd.DataFrame:
    """`gene_groups.tsv` for `genes` (in their order): every gene exactly once.

    `coordinates` (gene_id, chrom, start, end) may be None: then only homology is searched.
    """
    lengths = {gene: len(sequences[gene]) for gene in genes}
    log.info("aligning %d windows against each other (minimap2 %s, %d processes)", len(genes), _PRESET, spec.threads)
    links = homology_links({gene: sequences[gene] for gene in genes}, spec)
    log.info("%d homologous pairs", len(links))
    if coordinates is not None:
        present = coordinates[coordinates["gene_id"].isin(lengths)]
        overlaps = overlap_links(present, lengths)
        overlapping = {(link.gene_a, link.gene_b) for link in overlaps}
        overlapping |= {(b, a) for a, b in overlapping}
        # An alignment between overlapping windows is the overlap itself, not homology.
        links = overlaps + [link for link in links if (link.gene_a, link.gene_b) not in overlapping]
        log.info("%d pairs of overlapping windows", len(overlaps))
    groups = groups_table(genes, links)
    log.info("grouped: %d groups of %d genes", groups["group"].nunique(), len(groups))
    return groups


def groups_table(genes: list[str], links: Iterable[Link]) -> pd.DataFrame:
    """Connected components of the links; each gene's reason and closest partner."""
    order = {gene: rank for rank, gene in enumerate(genes)}
    parent = list(range(len(genes)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    kinds: dict[str, set[str]] = {gene: set() for gene in genes}
    closest: dict[str, tuple[float, int, str]] = {}
    for link in links:
        a, b = order[link.gene_a], order[link.gene_b]
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)  # the root is the group's first gene
        for gene, partner in ((link.gene_a, link.gene_b), (link.gene_b, link.gene_a)):
            kinds[gene].add(link.kind)
            candidate = (-link.score, order[partner], partner)
            if gene not in closest or candidate < closest[gene]:
                closest[gene] = candidate
    rows = []
    for index, gene in enumerate(genes):
        found = kinds[gene]
        reason = "+".join(kind for kind in ("overlap", "homology") if kind in found) or "singleton"
        score, _, partner = closest.get(gene, (np.nan, 0, ""))
        rows.append((gene, genes[root(index)], reason, partner, round(-score, 4) if partner else np.nan))
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def summary_counts(groups: pd.DataFrame) -> dict[str, int]:
    """The figures of the report: groups, genes in multi-gene groups by reason, the largest group."""
    sizes = groups["group"].value_counts()
    multi = groups[groups["reason"] != "singleton"]
    counts = {"genes": len(groups), "groups": len(sizes), "multi_gene_groups": int((sizes > 1).sum())}
    counts["genes_in_multi_gene_groups"] = len(multi)
    for reason in REASONS[1:]:
        counts[f"genes_{reason}"] = int((multi["reason"] == reason).sum())
    counts["largest_group"] = int(sizes.max()) if len(sizes) else 0
    return counts


def unseen_test_genes(groups: pd.DataFrame, splits: pd.Series) -> pd.Series:
    """Per gene: True for a test gene whose group holds no train or val gene (`splits` by gene id)."""
    split = groups["gene_id"].map(splits)
    seen_groups = set(groups.loc[split.isin(["train", "val"]), "group"])
    return (split == "test") & ~groups["group"].isin(seen_groups)


def read_gene_groups(path: Path) -> pd.DataFrame:
    """Read `gene_groups.tsv`, checking every rule of its contract; a problem names file and line."""
    table = read_table(
        path, GROUP_COLUMNS, ["gene_id", "group", "reason", "partner", "identity"], "a gene groups table"
    )
    if table.empty:
        raise InputError("the gene groups table has no genes", path)
    check_allowed(table, "reason", REASONS, path)
    for column in ("gene_id", "group"):
        empty = table[column].str.strip() == ""
        if empty.any():
            raise InputError(f"empty {column}", path, int(np.flatnonzero(empty.to_numpy())[0]) + 2)
    check_unique_genes(table, path)
    identity = pd.to_numeric(table["identity"], errors="coerce")
    bad = (identity.isna() & (table["identity"] != "")) | ~((identity >= 0) & (identity <= 1) | identity.isna())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"identity {table['identity'].iloc[row]!r} is not a number in [0, 1]", path, row + 2)
    singleton = table["reason"] == "singleton"
    inconsistent = singleton != (table["partner"] == "")
    if inconsistent.any():
        row = int(np.flatnonzero(inconsistent.to_numpy())[0])
        raise InputError("a singleton has no partner and a linked gene has one", path, row + 2)
    sizes = table["group"].map(table["group"].value_counts())
    lonely = ~singleton & (sizes < 2)
    if lonely.any():
        row = int(np.flatnonzero(lonely.to_numpy())[0])
        raise InputError(f"gene {table['gene_id'].iloc[row]} is linked but alone in its group", path, row + 2)
    table["identity"] = identity.astype(float)
    return table[GROUP_COLUMNS]


def check_groups_cover(groups: pd.DataFrame, gene_ids: Iterable[str], groups_path: Path, other_path: Path) -> None:
    """Every gene of the other file has a group, or one error naming both files."""
    missing = sorted(set(gene_ids) - set(groups["gene_id"]))
    if missing:
        shown = ", ".join(missing[:5]) + (f", … ({len(missing)} in all)" if len(missing) > 5 else "")
        raise InputError(f"{len(missing)} gene(s) of {other_path} have no row in {groups_path}: {shown}")
