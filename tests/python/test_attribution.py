"""In-silico mutagenesis through a prediction function, the meta-profile and the motif tables.

Here the model is mostly a known function (a planted motif read at a fixed offset), so where it
reads is known exactly; DExTER and the CNN are attributed in test_dexter_cli.py and
test_learned_science.py. The probes are here too: a probe keeps only its read-out, so its predictor
must rebuild the probe's inputs exactly, and on the unmutated test windows it gives the probe's own
test predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA, invoke

from seq2expr.data.dataset import read_dataset
from seq2expr.errors import InputError
from seq2expr.interpret.attribute import PROFILE_FILE, TRACKS_FILE, write_npz
from seq2expr.interpret.ism import IsmSpec, ism, peak_offsets
from seq2expr.interpret.motifs import known_overlap, matches, motif_table, pattern, top_kmers
from seq2expr.interpret.predictors import PredictorOptions, load_predictor
from seq2expr.io.predictions import read_predictions
from seq2expr.models.probe.readout import READOUT_FILE, Readout, load_readout, save_readout

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


def test_modisco_inputs_of_an_additive_model_are_its_centred_weights(tmp_path: Path) -> None:
    """For a model that adds one weight per (position, base), every ISM effect is a difference of weights, so
    the hypothetical contributions are the weights centred over the four bases, whatever the sequence; the
    observed base's is 3/4 of its contribution, N positions are zero; the .npz files load as modisco-lite
    loads them (arr_0) and re-writing gives the same bytes."""
    rng = np.random.default_rng(4)
    weights = rng.normal(size=(LENGTH, 4))

    def additive(windows: Sequence[str]) -> np.ndarray:
        return np.asarray([sum(weights[i, "ACGT".index(b)] for i, b in enumerate(w) if b != "N") for w in windows])

    windows, _ = _windows(6)
    windows[1] = "N" * 75 + windows[1][75:]
    result = ism([f"g{i}" for i in range(6)], windows, additive, IsmSpec(tss_index=TSS, flank=40, genes=6, seed=1))
    one_hot, hypothetical = result.modisco_inputs()
    assert one_hot.shape == hypothetical.shape == (6, 4, 81) and one_hot.dtype == np.float32
    centred = (weights - weights.mean(axis=1, keepdims=True))[TSS - 40 : TSS + 41].T
    np.testing.assert_allclose(hypothetical[0], centred, atol=1e-5)
    assert not one_hot[1, :, :15].any() and not hypothetical[1, :, :15].any()  # the N stretch (offsets -40..-26)
    np.testing.assert_allclose(hypothetical[1, :, 15:], centred[:, 15:], atol=1e-5)
    observed = (one_hot * hypothetical).sum(axis=1)
    np.testing.assert_allclose(observed, 0.75 * np.nan_to_num(result.contributions), atol=1e-5)
    write_npz(hypothetical, tmp_path / "a.npz")
    write_npz(hypothetical, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    np.testing.assert_array_equal(np.load(tmp_path / "a.npz")["arr_0"], hypothetical)


#: probe_outputs' models (conftest.probe_command) and their kinds of attribution.
PROBE_KINDS = {"dnabert2": "dnabert2_probe", "esm_6mer": "probe_glm"}


@pytest.mark.xdist_group("probe_outputs")
@pytest.mark.parametrize("model", sorted(PROBE_KINDS))
def test_a_probe_s_read_out_gives_its_own_test_predictions(
    model: str, synthetic_dataset: Path, probe_outputs: Callable[[str], Path]
) -> None:
    """The frozen model named by the read-out, windows cut as the probe cut them (the ESM's into pieces)."""
    folder = probe_outputs(model)
    predict = load_predictor(PROBE_KINDS[model], folder, PredictorOptions(device="cpu"))
    table = read_dataset(synthetic_dataset)
    test = table[table["split"] == "test"]
    predicted = read_predictions(folder / "predictions.tsv").set_index("gene_id").loc[test["gene_id"], "predicted"]
    windows = test["sequence"].str.upper().tolist()
    np.testing.assert_allclose(predict(windows), predicted.to_numpy(), rtol=0, atol=1e-6)


@pytest.mark.xdist_group("probe_outputs")
def test_attribute_runs_the_dnabert2_probe_end_to_end(
    synthetic_dataset: Path, probe_outputs: Callable[[str], Path], tmp_path: Path
) -> None:
    result = invoke(
        "attribute.py", "--model-kind", "dnabert2_probe", "--model", probe_outputs("dnabert2") / "readout.safetensors",
        "--base-model", TEST_DATA / "tiny_dnabert2", "--name", "the probe", "--dataset", synthetic_dataset,
        "--tss-index", "500", "--genes", "2", "--flank", "10", "--device", "cpu", "--outdir", tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    profile = pd.read_csv(tmp_path / PROFILE_FILE, sep="\t")
    assert profile["offset"].tolist() == list(range(-10, 11)) and set(profile["model"]) == {"the probe"}
    assert (profile["mean_abs_contribution"] > 0).any()  # a random frozen model still reads its input
    tracks = pd.read_csv(tmp_path / TRACKS_FILE, sep="\t")
    assert len(tracks) == 2 * 21 and tracks["gene_id"].nunique() == 2


@pytest.mark.xdist_group("probe_outputs")
def test_a_glm_probe_s_read_out_is_not_taken_for_the_dnabert2_probe_s(probe_outputs: Callable[[str], Path]) -> None:
    with pytest.raises(InputError, match="a read-out of probe:esm_6mer, not of the DNABERT-2"):
        load_predictor("dnabert2_probe", probe_outputs("esm_6mer"))


def test_a_read_out_round_trips_and_without_its_checkpoint_asks_for_base_model(tmp_path: Path) -> None:
    about = {"name": "DNABERT-2_probe", "model": "a/folder/gone", "layer": 1, "poolings": ["mean"], "max_tokens": 128}
    readout = Readout(np.zeros(4), np.ones(4), np.arange(4.0), 0.5, about)
    save_readout(tmp_path / READOUT_FILE, readout)
    loaded = load_readout(tmp_path)
    assert loaded.about == about and loaded.intercept == 0.5 and loaded.coefficients.tolist() == [0, 1, 2, 3]
    assert loaded.predict(np.ones((2, 4))).tolist() == [6.5, 6.5]
    with pytest.raises(
        InputError, match="the probe embedded with a/folder/gone, not a folder here: give the checkpoint"
    ):
        load_predictor("dnabert2_probe", tmp_path)
    with pytest.raises(InputError, match="gives 3 features per window, the read-out of DNABERT-2_probe reads 4"):
        loaded.predict(np.ones((2, 3)))
