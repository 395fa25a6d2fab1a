"""The composition control's shuffle: dinucleotide counts kept exactly per tile, order destroyed, uniform.

Uniformity is tested against the exact set of sequences that share a short tile's dinucleotide
counts, first and last letter (enumerated here), with a chi-square test on many draws.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from seq2expr.data.shuffle import (
    SHUFFLED_FILE,
    dinucleotide_counts,
    run,
    shuffle_tile,
    shuffle_window,
    window_rng,
)
from seq2expr.errors import InputError
from seq2expr.io.genome import iter_fasta

REPO = Path(__file__).resolve().parents[2]


def random_window(length: int, rng: np.random.Generator, gc: float = 0.5) -> str:
    weights = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return "".join(rng.choice(list("ACGT"), size=length, p=weights))


@pytest.mark.parametrize("tile", [2, 7, 50, 100, 333])
def test_every_tile_keeps_its_dinucleotide_counts_exactly(tile: int) -> None:
    rng = np.random.default_rng(1)
    window = random_window(1_001, rng, gc=0.6) + "CGCGCGTATAAA" + random_window(987, rng, gc=0.35)
    shuffled = shuffle_window(window, tile, np.random.default_rng(2))
    assert len(shuffled) == len(window)
    for start in range(0, len(window), tile):
        before, after = window[start : start + tile], shuffled[start : start + tile]
        assert dinucleotide_counts(after) == dinucleotide_counts(before), start
        assert (after[0], after[-1]) == (before[0], before[-1])
        assert sorted(after) == sorted(before)  # so the GC profile along the window is kept too
    if tile >= 7:
        assert shuffled != window
    if tile >= 50:  # a tile with many arrangements: the order is destroyed, most positions change letter
        assert np.mean([a != b for a, b in zip(window, shuffled, strict=True)]) > 0.4


def test_soft_masked_letters_count_as_their_upper_case() -> None:
    window = "acgtACGTTTGCAaaccgg" * 10
    shuffled = shuffle_window(window, 100, np.random.default_rng(3))
    assert shuffled.isupper()
    upper = window.upper()
    for start in range(0, len(window), 100):
        assert dinucleotide_counts(shuffled[start : start + 100]) == dinucleotide_counts(upper[start : start + 100])


def test_short_and_single_letter_tiles_are_what_they_can_only_be() -> None:
    rng = np.random.default_rng(0)
    assert shuffle_tile("", rng) == ""
    assert shuffle_tile("AC", rng) == "AC"
    assert shuffle_tile("AAAAAA", rng) == "AAAAAA"
    assert shuffle_tile("ANNNA", rng) == "ANNNA"  # the only arrangement of AN, NN, NN, NA


def same_counts(tile: str) -> list[str]:
    """Every sequence with the tile's dinucleotide counts and first letter (by brute force)."""
    target = dinucleotide_counts(tile)
    found = {
        "".join(order)
        for order in itertools.permutations(tile)
        if order[0] == tile[0] and dinucleotide_counts("".join(order)) == target
    }
    return sorted(found)


@pytest.mark.parametrize("tile", ["ACAGTACGA", "GGCACATGCG", "TTAACGTAAC"])
def test_each_arrangement_is_equally_likely(tile: str) -> None:
    """Chi-square goodness of fit of 6,000 draws to the uniform law over the exact set of arrangements."""
    support = same_counts(tile)
    assert len(support) >= 3
    rng = np.random.default_rng(11)
    draws = [shuffle_tile(tile, rng) for _ in range(6_000)]
    assert set(draws) == set(support)  # every arrangement reachable, none outside
    observed = np.array([draws.count(sequence) for sequence in support])
    assert stats.chisquare(observed).pvalue > 0.001


def test_windows_have_their_own_stream(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    records = [(f"gene{i}", random_window(250, rng)) for i in range(4)]
    fasta = tmp_path / "windows.fa"
    fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records))
    reversed_fasta = tmp_path / "reversed.fa"
    reversed_fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in reversed(records)))
    first = run(fasta, tmp_path / "a", tile=100, seed=7)
    again = run(fasta, tmp_path / "b", tile=100, seed=7)
    other_order = run(reversed_fasta, tmp_path / "c", tile=100, seed=7)
    other_seed = run(fasta, tmp_path / "d", tile=100, seed=8)
    assert first.path.read_bytes() == again.path.read_bytes()
    shuffled = {record.name: record.sequence for record in iter_fasta(first.path)}
    assert {record.name: record.sequence for record in iter_fasta(other_order.path)} == shuffled
    assert {record.name: record.sequence for record in iter_fasta(other_seed.path)} != shuffled
    assert [record.name for record in iter_fasta(first.path)] == [name for name, _ in records]
    assert all(len(shuffled[name]) == len(sequence) for name, sequence in records)
    assert shuffle_window(records[0][1], 100, window_rng(7, "gene0")) == shuffled["gene0"].decode()


def test_no_record_and_a_one_bp_tile_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.fa"
    empty.write_text("")
    with pytest.raises(InputError, match="no FASTA record found"):
        run(empty, tmp_path / "out")
    with pytest.raises(InputError, match="at least 2 bp"):
        run(empty, tmp_path / "out", tile=1)


def test_the_command_writes_one_fasta_with_the_same_names_and_lengths(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    fasta = tmp_path / "windows.fa"
    fasta.write_text("".join(f">g{i} extra words\n{random_window(301, rng)}\n" for i in range(3)))
    result = subprocess.run(
        [sys.executable, REPO / "bin" / "shuffle_windows.py", "--sequences", fasta, "--tile", "50", "--seed", "3",
         "--outdir", tmp_path / "out"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = list(iter_fasta(tmp_path / "out" / SHUFFLED_FILE))
    assert [(record.name, len(record.sequence)) for record in written] == [(f"g{i}", 301) for i in range(3)]
