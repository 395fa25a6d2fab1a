"""In-silico mutagenesis through a prediction function, the meta-profile and the motif tables.

Here the model is a known function (a planted motif read at a fixed offset), so where it reads is
known exactly; the trained models are attributed in tests/python/test_attribution_models.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from seq2expr.errors import InputError
from seq2expr.interpret.ism import IsmSpec, ism, peak_offsets
from seq2expr.interpret.motifs import known_overlap, matches, motif_table, pattern, top_kmers

LENGTH, TSS, OFFSET = 201, 100, -30
TATA = "TATAAAAG"


def _windows(n: int, seed: int = 3) -> tuple[list[str], np.ndarray]:
    """Random windows, half with the TATA element at TSS + OFFSET; the 'truth' is its presence."""
    rng = np.random.default_rng(seed)
    windows, carries = [], []
    for index in range(n):
        bases = list(rng.choice(list("ACGT"), size=LENGTH))
        if index % 2 == 0:
            bases[TSS + OFFSET : TSS + OFFSET + len(TATA)] = TATA
        windows.append("".join(bases))
        carries.append(index % 2 == 0)
    return windows, np.asarray(carries)


def tata_reader(windows: Sequence[str]) -> np.ndarray:
    """A model that reads one thing: how well the 8 bases at TSS + OFFSET match TATA."""
    start = TSS + OFFSET
    return np.asarray([sum(a == b for a, b in zip(window[start : start + 8], TATA, strict=True)) for window in windows],
                      dtype=float)  # fmt: skip


def test_ism_puts_the_planted_element_where_it_is() -> None:
    windows, _ = _windows(20)
    result = ism([f"g{i}" for i in range(20)], windows, tata_reader, IsmSpec(tss_index=TSS, flank=60, genes=10, seed=1))
    profile = result.meta_profile()
    assert len(result.gene_ids) == 10 and profile["offset"].tolist() == list(range(-60, 61))
    inside = profile["offset"].between(OFFSET, OFFSET + 7)
    assert profile.loc[~inside, "mean_abs_contribution"].max() == 0  # nothing outside the element moves it
    assert profile.loc[inside, "mean_abs_contribution"].min() > 0
    peak = peak_offsets(profile, count=1)[0]
    assert OFFSET <= peak <= OFFSET + 7
    # a matching base contributes +1 (the three substitutes lose it); exact on a carrier
    carrier = next(row for row, gene in enumerate(result.gene_ids) if int(gene[1:]) % 2 == 0)
    assert np.allclose(result.contributions[carrier, inside.to_numpy()], 1.0)
    tracks = result.tracks()
    assert len(tracks) == 10 * 121 and set(tracks["base"]) <= set("ACGT")


def test_motif_table_names_the_planted_element_and_kmers_find_it() -> None:
    windows, _ = _windows(40)
    result = ism([f"g{i}" for i in range(40)], windows, tata_reader, IsmSpec(tss_index=TSS, flank=60, genes=40))
    table = motif_table(result, "reader").set_index("motif")
    assert table.loc["TATA", "genes"] >= 20  # every carrier
    assert table.loc["TATA", "mean_effect"] > 4 * abs(table.loc["TATA", "background_effect"])
    assert table["mean_effect"].idxmax() == "TATA"
    assert abs(table.loc["TATA", "mean_offset"] - OFFSET) < 3
    kmers = top_kmers(result, "reader", k=6, count=3)
    assert "TATA" in kmers.loc[0, "known_element"]


def test_iupac_matching_on_both_strands() -> None:
    assert list(matches("CCTATAAAAGCC", "TATAWAWR")) == [2]
    assert list(matches("CCCTTTTATAGG", "TATAWAWR")) == [2]  # reverse complement of CTATAAAAG
    assert pattern("CCAAT").pattern.count("|") == 1
    assert known_overlap("TATAAA").split(", ")[0] == "TATA"
    assert "GC-box (Sp1)" in known_overlap("GGGCGG")


def test_ism_spec_is_checked() -> None:
    with pytest.raises(InputError, match="outside the 201 bp windows"):
        ism(["a"], ["A" * LENGTH], tata_reader, IsmSpec(tss_index=500))
    with pytest.raises(InputError, match="one window length"):
        ism(["a", "b"], ["A" * 10, "A" * 11], tata_reader, IsmSpec(tss_index=5))


def test_n_bases_are_not_mutated() -> None:
    window = "N" * 50 + "A" * 151
    result = ism(["a"], [window], tata_reader, IsmSpec(tss_index=TSS, flank=60))
    assert np.isnan(result.contributions[0, :10]).all() and np.isfinite(result.contributions[0, 10:]).all()
