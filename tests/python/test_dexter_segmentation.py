"""Segmentation: the spec's tables (measured with the original DExTER functions) reproduced exactly."""

from __future__ import annotations

import numpy as np
import pytest

from seq2expr.errors import InputError
from seq2expr.models.dexter.segmentation import Lattice, explicit_bins, make_bins, polynomial_bins, uniform_bins


def parse(text: str) -> list[tuple[int, int]]:
    """'a:b c:d' → [(a, b), (c, d)]."""
    return [tuple(int(v) for v in item.rsplit(":", 1)) for item in text.split()]  # type: ignore[misc]


POLY_13_4000 = "-2000:-1926 -1925:-1197 -1196:-685 -684:-342 -341:-126 -125:-1 0:0 1:125 126:341 342:684 685:1196 1197:1925 1926:1999"

SPEC_TABLE = [
    ("polynomial", 13, 4000, 2000, POLY_13_4000),
    ("polynomial", 13, 4001, 2000, POLY_13_4000.replace("1926:1999", "1926:2000")),
    ("polynomial", 12, 4000, 2000, POLY_13_4000),
    ("polynomial", 9, 4000, 2000, "-2000:-1585 -1584:-856 -855:-344 -343:-1 0:0 1:343 344:855 856:1584 1585:1999"),
    (
        "polynomial",
        11,
        4000,
        2000,
        "-2000:-1801 -1800:-1072 -1071:-560 -559:-217 -216:-1 0:0 1:216 217:559 560:1071 1072:1800 1801:1999",
    ),
    ("polynomial", 7, 4000, 2000, "-2000:-1242 -1241:-513 -512:-1 0:0 1:512 513:1241 1242:1999"),
    (
        "polynomial",
        13,
        10000,
        5000,
        "-5000:-3916 -3915:-2585 -2584:-1585 -1584:-856 -855:-344 -343:-1 0:0 1:343 344:855 856:1584 1585:2584 "
        "2585:3915 3916:4999",
    ),
    ("polynomial", 9, 4000, 1000, "-1000:-513 -512:-1 0:0 1:512 513:1241 1242:2241 2242:2999"),
    ("uniform", 9, 4000, 2000, "-2000:-1501 -1500:-1001 -1000:-501 -500:-1 0:0 1:500 501:1000 1001:1500 1501:1999"),
    (
        "uniform",
        13,
        4000,
        2000,
        "-2000:-1999 -1998:-1666 -1665:-1333 -1332:-1000 -999:-667 -666:-334 -333:-1 0:0 1:333 334:666 667:999 "
        "1000:1332 1333:1665 1666:1998 1999:1999",
    ),
]

LATTICE_13_4000 = [
    POLY_13_4000,
    "-2000:-1197 -1925:-685 -1196:-342 -684:-126 -341:-1 -125:0 0:125 1:341 126:684 342:1196 685:1925 1197:1999",
    "-2000:-685 -1925:-342 -1196:-126 -684:-1 -341:0 -125:125 0:341 1:684 126:1196 342:1925 685:1999",
    "-2000:-342 -1925:-126 -1196:-1 -684:0 -341:125 -125:341 0:684 1:1196 126:1925 342:1999",
    "-2000:-126 -1925:-1 -1196:0 -684:125 -341:341 -125:684 0:1196 1:1925 126:1999",
    "-2000:-1 -1925:0 -1196:125 -684:341 -341:684 -125:1196 0:1925 1:1999",
    "-2000:0 -1925:125 -1196:341 -684:684 -341:1196 -125:1925 0:1999",
    "-2000:125 -1925:341 -1196:684 -684:1196 -341:1925 -125:1999",
    "-2000:341 -1925:684 -1196:1196 -684:1925 -341:1999",
    "-2000:684 -1925:1196 -1196:1925 -684:1999",
    "-2000:1196 -1925:1925 -1196:1999",
    "-2000:1925 -1925:1999",
    "-2000:1999",
]


@pytest.mark.parametrize(("mode", "requested", "length", "tss", "expected"), SPEC_TABLE)
def test_bins_match_the_spec_table(mode: str, requested: int, length: int, tss: int, expected: str) -> None:
    assert make_bins(mode, requested, length, tss) == parse(expected)


def test_full_13_bin_lattice_matches_the_spec() -> None:
    lattice = Lattice(tuple(polynomial_bins(13, 4000, 2000)))
    assert len(lattice.nodes) == 91
    assert [" ".join(row) for row in lattice.rows()] == LATTICE_13_4000


def test_study_lattice_ends_at_plus_2000() -> None:
    lattice = Lattice(tuple(polynomial_bins(13, 4001, 2000)))
    expected = [row.replace(":1999", ":2000") for row in LATTICE_13_4000]
    assert [" ".join(row) for row in lattice.rows()] == expected
    assert lattice.bounds(lattice.root) == (-2000, 2000)


def test_real_dev_set_bins() -> None:
    """The 2,048 bp windows with the TSS at 1024: the bounds named in the reference all_domains.dat."""
    bins = polynomial_bins(13, 2048, 1024)
    assert bins[0] == (-1024, -776) and bins[-1] == (776, 1023)
    assert (0, 0) in bins and (-91, -28) in bins


def test_node_ids_overlap_and_position_bins() -> None:
    lattice = Lattice(((-2, -1), (0, 0), (1, 2)))
    assert lattice.nodes == ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0))
    assert [lattice.node_id(r, c) for r, c in lattice.nodes] == list(range(6))
    assert lattice.bounds(lattice.node_id(1, 1)) == (0, 2)
    assert (
        lattice.overlaps(0, 3) and lattice.overlaps(3, 4) and not lattice.overlaps(0, 2) and not lattice.overlaps(0, 4)
    )
    np.testing.assert_array_equal(lattice.position_bins(6, 2), [0, 0, 1, 2, 2, 3])


def test_explicit_bins() -> None:
    assert explicit_bins([100, -100, 0, 1], 401, 200) == [(-100, -1), (0, 0), (1, 99)]
    with pytest.raises(InputError, match="within"):
        explicit_bins([-300, 0, 10], 401, 200)
    with pytest.raises(InputError, match="distinct"):
        explicit_bins([0, 0, 10], 401, 200)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: polynomial_bins(3, 4000, 2000), "at least 5"),
        (lambda: uniform_bins(13, 10, 5), "more than a 10 bp window"),
        (lambda: polynomial_bins(13, 4000, 0), "TSS index"),
        (lambda: polynomial_bins(13, 4000, 3999), "TSS index"),
        (lambda: make_bins("cubic", 13, 4000, 2000), "unknown bin mode"),
    ],
)
def test_impossible_segmentations_are_clear_errors(call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()
