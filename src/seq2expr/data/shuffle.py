"""Dinucleotide-preserving shuffles of TSS windows, tile by tile: the composition control.

Why. A model can score on promoter windows by counting G+C and CpG alone. Shuffling each window
so that every dinucleotide count is kept exactly, within tiles of `tile` bp so that the profile of
GC and CpG along the window survives too, destroys only local order: motifs and their arrangement.
What a model loses on shuffled windows is the part of its skill that needs sequence order.

The shuffle is Altschul & Erickson's (1985) dinucleotide shuffle drawn uniformly by a random
Eulerian walk (Kandel, Matias, Unger & Winkler 1996; the method of uShuffle, Jiang et al. 2008):
the tile is a walk over the multigraph whose vertices are letters and whose edges are its
dinucleotides. A random spanning arborescence of "last exits" towards the tile's last letter is
drawn (each vertex's last exit uniform over its edges, redrawn until they form a tree), every other
exit is put in a uniformly random order, and the walk from the tile's first letter follows them.
Every sequence with the tile's dinucleotide counts, first and last letter is equally likely.
Letters are upper-cased first (soft-masking is not sequence order), so a tile's counts are those of
its upper-case letters; a tile of fewer than three letters has no other arrangement.
"""

from __future__ import annotations

import itertools
import logging
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.data.dataset import DEFAULT_SEED
from seq2expr.errors import InputError
from seq2expr.io.genome import iter_fasta, write_fasta

log = logging.getLogger(__name__)

DEFAULT_TILE = 100
"""bp per tile: wide enough that a tile keeps many arrangements (a 100 bp tile has ~99 dinucleotides),
narrow enough that the GC/CpG profile along a 2-4 kb window (CpG islands span ~0.5-2 kb) survives."""
SHUFFLED_FILE = "shuffled_windows.fa"


def dinucleotide_counts(sequence: str) -> Counter[str]:
    """How often each ordered pair of neighbouring letters occurs."""
    return Counter(sequence[i : i + 2] for i in range(len(sequence) - 1))


def _last_exits(exits: dict[str, list[str]], end: str, rng: np.random.Generator) -> dict[str, int]:
    """For every vertex but `end`, the index of its last exit, forming a tree that leads to `end`."""
    others = [vertex for vertex in exits if vertex != end and exits[vertex]]
    while True:
        last = {vertex: int(rng.integers(len(exits[vertex]))) for vertex in others}
        if all(_reaches(vertex, end, exits, last) for vertex in others):
            return last


def _reaches(vertex: str, end: str, exits: dict[str, list[str]], last: dict[str, int]) -> bool:
    """Whether following last exits from `vertex` arrives at `end` (rather than going round a cycle)."""
    seen = set()
    while vertex != end:
        if vertex in seen:
            return False
        seen.add(vertex)
        vertex = exits[vertex][last[vertex]]
    return True


def shuffle_tile(tile: str, rng: np.random.Generator) -> str:
    """One uniformly drawn sequence with the tile's dinucleotide counts, first and last letter."""
    if len(tile) < 3:
        return tile
    exits: dict[str, list[str]] = {}
    for left, right in itertools.pairwise(tile):
        exits.setdefault(left, []).append(right)
        exits.setdefault(right, [])
    end = tile[-1]
    last = _last_exits(exits, end, rng)
    order: dict[str, list[str]] = {}
    for vertex, targets in exits.items():
        if vertex in last:
            kept = targets[last[vertex]]
            rest = targets[: last[vertex]] + targets[last[vertex] + 1 :]
            order[vertex] = [rest[i] for i in rng.permutation(len(rest))] + [kept]
        else:
            order[vertex] = [targets[i] for i in rng.permutation(len(targets))]
    position = dict.fromkeys(exits, 0)
    walk = [tile[0]]
    for _ in range(len(tile) - 1):
        here = walk[-1]
        walk.append(order[here][position[here]])
        position[here] += 1
    return "".join(walk)


def shuffle_window(sequence: str, tile: int, rng: np.random.Generator) -> str:
    """The window upper-cased and shuffled tile by tile (the last tile may be shorter)."""
    upper = sequence.upper()
    return "".join(shuffle_tile(upper[start : start + tile], rng) for start in range(0, len(upper), tile))


def window_rng(seed: int, name: str) -> np.random.Generator:
    """A window's own stream, from the seed and its name: its shuffle does not depend on file order."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def shuffle_windows(records: Iterable[tuple[str, str]], tile: int, seed: int) -> Iterator[tuple[str, str]]:
    """(name, shuffled sequence) for every (name, sequence)."""
    for name, sequence in records:
        yield name, shuffle_window(sequence, tile, window_rng(seed, name))


@dataclass(frozen=True)
class ShuffleResult:
    """What the shuffle step wrote."""

    path: Path
    windows: int
    bases: int


def run(sequences: Path, outdir: Path, tile: int = DEFAULT_TILE, seed: int = DEFAULT_SEED) -> ShuffleResult:
    """Write `shuffled_windows.fa`: every window of `sequences` under the same name and length, shuffled."""
    if tile < 2:
        raise InputError(f"--tile {tile}: a tile needs at least 2 bp to hold a dinucleotide")
    # iter_fasta refuses a file without a record, naming it
    records = [(record.name, record.sequence.decode("ascii")) for record in iter_fasta(sequences)]
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / SHUFFLED_FILE
    write_fasta(list(shuffle_windows(records, tile, seed)), path)
    bases = sum(len(sequence) for _, sequence in records)
    log.info("shuffled %d windows (%d bp) in %d bp tiles, seed %d: %s", len(records), bases, tile, seed, path)
    return ShuffleResult(path, len(records), bases)


def read_control_windows(path: Path, table: pd.DataFrame, source: Path | str = "the dataset") -> list[str]:
    """The shuffled window of every test gene of `table` (one fit's view of a dataset), in table order, upper-cased:
    what a model's `--control FASTA` reads (`shuffled_windows.fa`, or any FASTA holding at least the test genes).

    A test gene without a record here, or whose record is not as long as its window in `source`, is a one-line
    error naming the file (and the record's line); records of other genes are skipped.
    """
    test = table.loc[(table["split"] == "test").to_numpy(), ["gene_id", "sequence"]]
    lengths = dict(zip(test["gene_id"].astype(str), test["sequence"].str.len(), strict=True))
    found: dict[str, str] = {}
    for record in iter_fasta(path):  # refuses a file without a record, naming it
        length = lengths.get(record.name)
        if length is None:
            continue
        if len(record.sequence) != length:
            raise InputError(
                f"shuffled window {record.name!r} is {len(record.sequence)} bp, but test gene {record.name}'s window "
                f"in {source} is {length} bp; expected the shuffled windows of this dataset (shuffle_windows.py)",
                path,
                record.line,
            )
        found[record.name] = record.sequence.decode("ascii").upper()
    missing = [gene for gene in lengths if gene not in found]
    if missing:
        raise InputError(
            f"{len(missing)} test gene(s) of {source} have no shuffled window here (first: {missing[0]}); expected "
            "the shuffled windows of this dataset (shuffle_windows.py)",
            path,
        )
    return [found[gene] for gene in test["gene_id"].astype(str)]
