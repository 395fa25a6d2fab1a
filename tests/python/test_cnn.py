"""The one-hot promoter CNNs (`basic`, the default, and the dilated `tower`): encoding, strand symmetry of the
motif scanners, the tower's read-out around the TSS, the parameter counts and receptive field the docstring
states, model folders of every version, byte-identical re-runs of both, one-line errors, and recovery of the
planted TATA signal at the default architecture."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import assert_one_line_error, run_script, write_shuffled_windows
from safetensors.torch import save_model

from seq2expr.data.dataset import read_dataset, write_dataset
from seq2expr.errors import InputError
from seq2expr.evaluation.control import control_table
from seq2expr.io.compute import read_compute
from seq2expr.io.genome import iter_fasta
from seq2expr.io.predictions import CONTROL_FILE, read_control, read_predictions
from seq2expr.models.cnn import model as cnn_model
from seq2expr.models.cnn.model import (
    BasicCnn,
    PromoterCnn,
    TowerCnn,
    build_cnn,
    encode,
    load_cnn,
    one_hot,
    reverse_complement,
    save_cnn,
    tss_regions,
)
from seq2expr.models.cnn.options import CnnConfig
from seq2expr.models.cnn.search import CANDIDATES
from seq2expr.models.cnn.training import CURVES
from seq2expr.models.roster import CNN as MODEL_NAME
from seq2expr.models.training.core import LOG_COLUMNS

OUTPUTS = (
    "predictions.tsv",
    "training_log.tsv",
    CURVES.file,
    "model/config.json",
    "model/model.safetensors",
)
#: The CPU recipe of the synthetic check (conf/test.config holds the same): small batches, because 259 training
#: genes make few steps per epoch, and patience for the noisy 29-gene val split; the default architecture.
TATA_RECIPE = ("--batch-size", "16", "--epochs", "40", "--patience", "10", "--threads", "1")
#: The tower as the search's tower candidates build it.
TOWER = next(candidate.settings.config for candidate in CANDIDATES if candidate.name == "tower")
SMALL = {"motif_filters": 8, "filters": 8, "hidden": 8}
BOTH = pytest.mark.parametrize("architecture", ["basic", "tower"])


def small(architecture: str) -> CnnConfig:
    """A small network of either architecture (the tower's at the search's stem pool and width)."""
    if architecture == "basic":
        return CnnConfig(**SMALL)
    return CnnConfig(architecture="tower", width=5, stem_pool=4, **SMALL)


def test_one_hot_codes_bases_in_either_case_and_n_as_zeros() -> None:
    codes = encode(["ACGTN", "acgtn"])
    assert codes.tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    matrix = one_hot(torch.from_numpy(codes))[0]
    assert matrix.shape == (4, 5)
    assert torch.equal(matrix[:, :4], torch.eye(4)) and torch.equal(matrix[:, 4], torch.zeros(4))


def test_reverse_complement_of_a_one_hot_window() -> None:
    forward = one_hot(torch.from_numpy(encode(["AACGT"])))
    expected = one_hot(torch.from_numpy(encode(["ACGTT"])))
    assert torch.equal(reverse_complement(forward), expected)


@BOTH
def test_motif_scanners_see_both_strands_in_the_windows_coordinates(architecture: str) -> None:
    """Scanning a window's reverse complement gives the same motif map, mirrored: a motif counts in either
    orientation, while positions still run along the window."""
    torch.manual_seed(0)
    model = build_cnn(small(architecture))
    window = one_hot(torch.randint(0, 4, (3, 101)))
    forward = model.motifs(window)
    backward = model.motifs(reverse_complement(window))
    torch.testing.assert_close(backward, forward.flip(dims=(2,)))


@BOTH
def test_only_the_motif_layer_is_strand_symmetric(architecture: str) -> None:
    """Windows are oriented (upstream, TSS, downstream), so the whole network must not be: a reverse-complemented
    window puts upstream motifs downstream and should be read differently (the docstring says why)."""
    torch.manual_seed(0)
    model = build_cnn(small(architecture)).eval()
    window = one_hot(torch.randint(0, 4, (3, 1001)))
    with torch.no_grad():
        forward, backward = model(window), model(reverse_complement(window))
    assert not torch.allclose(forward, backward)


@BOTH
@pytest.mark.parametrize("length", [1001, 2048, 4001])
def test_any_window_length_gives_one_prediction_per_window(length: int, architecture: str) -> None:
    model = build_cnn(CnnConfig() if architecture == "basic" else TOWER).eval()
    with torch.no_grad():
        out = model(one_hot(torch.randint(0, 5, (2, length))))
    assert out.shape == (2,) and torch.isfinite(out).all()


def test_the_architecture_names_the_class_built() -> None:
    """`PromoterCnn(config)` (the training loop's call) and `build_cnn` build the network the config names."""
    assert type(PromoterCnn(CnnConfig())) is BasicCnn and type(build_cnn(CnnConfig())) is BasicCnn
    assert type(PromoterCnn(TOWER)) is TowerCnn and type(build_cnn(TOWER)) is TowerCnn
    with pytest.raises(InputError, match="--architecture must be one of basic, tower"):
        CnnConfig(architecture="transformer")


def test_the_docstring_states_the_true_parameter_counts() -> None:
    for config in (CnnConfig(), TOWER):
        count = sum(parameter.numel() for parameter in build_cnn(config).parameters())
        assert f"{count:,} parameters" in (cnn_model.__doc__ or ""), config.architecture


def test_the_towers_receptive_field_is_about_two_kilobases() -> None:
    """The docstring's ~2.1 kb: the input positions one central tower output depends on (by its gradient)."""
    torch.manual_seed(0)
    model = build_cnn(TOWER).eval()
    assert isinstance(model, TowerCnn)
    window = torch.zeros(1, 4, 4001, requires_grad=True)
    hidden = model.tower(model.stem(model.motifs(window)))
    hidden[0, :, hidden.shape[-1] // 2].sum().backward()
    assert window.grad is not None
    reached = torch.nonzero(window.grad.abs().sum(dim=(0, 1))).flatten()
    assert 2000 <= int(reached.max() - reached.min()) + 1 <= 2200


def test_the_readout_is_fine_near_the_tss_and_coarse_far_away() -> None:
    """Regions run from far upstream to far downstream; the TSS's own region is the middle one and the
    narrowest, and each ring outward is wider (in tower positions of 32 bp) until the window's edge."""
    config = TOWER
    regions = tss_regions(config, 4001)
    assert regions.tolist() == sorted(regions.tolist())  # contiguous, upstream to downstream
    sizes = np.bincount(regions, minlength=2 * config.tss_rings + 1)
    middle = config.tss_rings
    tss_position = 2000 // config.resolution
    assert regions[tss_position] == middle
    downstream = sizes[middle + 1 : -1]
    assert all(later > earlier for earlier, later in itertools.pairwise(downstream))
    assert sizes[middle] * config.resolution == 2 * config.tss_bin_bp
    # a TSS given explicitly moves the regions with it
    shifted = tss_regions(CnnConfig(architecture="tower", stem_pool=4, tss_index=1000), 4001)
    assert shifted[1000 // config.resolution] == middle and shifted[tss_position] > middle


def test_the_readout_of_a_2kb_window_leaves_unreached_rings_at_zero() -> None:
    config = TOWER
    sizes = np.bincount(tss_regions(config, 2048), minlength=2 * config.tss_rings + 1)
    assert sizes[0] == 0 and sizes[-1] == 0 and sizes[1:-1].min() > 0


@BOTH
def test_a_model_folder_round_trips_and_states_its_architecture(tmp_path: Path, architecture: str) -> None:
    torch.manual_seed(0)
    model = build_cnn(small(architecture)).eval()
    save_cnn(model, tmp_path, 1.5, 0.5, 1001)
    again, settings = load_cnn(tmp_path)
    window = one_hot(torch.randint(0, 4, (2, 1001)))
    with torch.no_grad():
        torch.testing.assert_close(again(window), model(window))
    assert type(again) is type(model) and again.config == model.config
    assert settings["cnn_version"] == cnn_model.CNN_VERSION and settings["architecture"] == architecture
    assert settings["target_mean"] == 1.5


def _old_folder(folder: Path, model: PromoterCnn, settings: dict[str, object]) -> None:
    """A model folder as an earlier seq2expr wrote it: its config.json keys, and the weights under the same names."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**settings, "target_mean": 0.0, "target_sd": 1.0, "window": 1001}))
    save_model(model, str(folder / "model.safetensors"))


def test_folders_of_both_earlier_versions_load_as_they_were_trained(tmp_path: Path) -> None:
    """Version 1 (no cnn_version, poolings as `pools`; the basic network) and version 2 (the tower, no
    `architecture`) rebuild into the network that wrote them, with the same predictions."""
    torch.manual_seed(0)
    basic = build_cnn(CnnConfig(**SMALL, stem_pool=4, block_pool=2, final_pool=2)).eval()
    version_1 = {"motif_filters": 8, "motif_width": 15, "filters": 8, "width": 7, "pools": [4, 2, 2]}
    _old_folder(tmp_path / "v1", basic, {**version_1, "position_bins": 8, "hidden": 8, "dropout": 0.5})
    tower = build_cnn(small("tower")).eval()
    written_by_2 = ("motif_filters", "motif_width", "filters", "width", "stem_pool", "tower_layers", "dilated_blocks")
    written_by_2 += ("tss_bin_bp", "tss_rings", "tss_index", "hidden", "dropout")
    version_2 = {key: getattr(tower.config, key) for key in written_by_2}
    _old_folder(tmp_path / "v2", tower, {**version_2, "cnn_version": 2})
    window = one_hot(torch.randint(0, 4, (2, 1001)))
    for name, model in (("v1", basic), ("v2", tower)):
        again, _ = load_cnn(tmp_path / name)
        assert type(again) is type(model) and again.config == model.config, name
        with torch.no_grad():
            torch.testing.assert_close(again(window), model(window))


def test_a_folder_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    _old_folder(tmp_path / "v9", build_cnn(CnnConfig(**SMALL)), {**CnnConfig(**SMALL).to_dict(), "cnn_version": 9})
    with pytest.raises(InputError, match=r"architecture version 9 is newer"):
        load_cnn(tmp_path / "v9")


@pytest.mark.parametrize(
    "architecture", [(), ("--architecture", "tower", "--width", "5", "--stem-pool", "4", "--dropout", "0.3")]
)
def test_the_command_is_byte_identical_on_a_rerun(
    synthetic_dataset: Path, tmp_path: Path, architecture: tuple[str, ...]
) -> None:
    """Both architectures (the default basic and the search's tower) give the same bytes on a CPU re-run."""
    for run in ("a", "b"):
        run_script(
            "train_cnn.py",
            "--dataset",
            synthetic_dataset,
            *architecture,
            "--epochs",
            "2",
            "--threads",
            "1",
            "--outdir",
            tmp_path / run,
        )
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    log = pd.read_csv(tmp_path / "a" / "training_log.tsv", sep="\t")
    assert list(log.columns) == LOG_COLUMNS and log["epoch"].tolist() == [1, 2]
    expected = "tower" if architecture else "basic"
    assert json.loads((tmp_path / "a" / "model" / "config.json").read_text())["architecture"] == expected
    compute = read_compute(tmp_path / "a" / "compute.tsv")
    assert compute["model"].tolist() == [MODEL_NAME] and compute["device"].tolist() == ["cpu"]


@pytest.mark.slow  # ~20 s on one thread: 40 epochs at most of 259 windows
def test_recovers_the_planted_tata_signal(synthetic_dataset: Path, tmp_path: Path) -> None:
    """The synthetic target is 0.4 × (TATA count in −200..−50) + noise: a CNN that reads sequence must find it,
    and its composition control (issue 23 (a)) must lose part of it: Δr's interval excludes 0. The shuffle keeps
    each 100 bp tile's TA and AT counts, from which it re-forms TATA (a dinucleotide repeat), so the shuffled r
    stays well above 0 here (0.44 against 0.60 real when written); see test_dexter_cli's control test."""
    shuffled = write_shuffled_windows(synthetic_dataset, tmp_path / "shuffled_windows.fa")
    run_script("train_cnn.py", "--dataset", synthetic_dataset, *TATA_RECIPE, "--control", shuffled,
               "--outdir", tmp_path / "out")  # fmt: skip
    tmp_path = tmp_path / "out"
    predictions = read_predictions(tmp_path / "predictions.tsv")
    assert set(predictions["model"]) == {MODEL_NAME}
    dataset = read_dataset(synthetic_dataset)
    assert sorted(predictions["gene_id"]) == sorted(dataset["gene_id"])
    test = predictions[predictions["split"] == "test"]
    r = float(np.corrcoef(test["observed"], test["predicted"])[0, 1])
    assert r >= 0.5, r
    model, settings = load_cnn(tmp_path / "model")
    assert settings["window"] == len(dataset["sequence"].iloc[0])
    curves = yaml.safe_load((tmp_path / CURVES.file).read_text())
    assert curves["id"] == CURVES.section and curves["data"]["val loss"]
    # the saved weights give the written predictions back
    codes = torch.from_numpy(encode(dataset["sequence"].tolist()))
    with torch.no_grad():
        again = model(one_hot(codes)).numpy() * settings["target_sd"] + settings["target_mean"]
    written = predictions.set_index("gene_id").loc[dataset["gene_id"], "predicted"].to_numpy()
    np.testing.assert_allclose(again, written, atol=1e-5)
    # the composition control: the same weights on the test genes' shuffled windows
    control = read_control(tmp_path / CONTROL_FILE)
    assert control["gene_id"].tolist() == test["gene_id"].tolist()
    assert control["predicted"].tolist() == test["predicted"].tolist()
    windows = {record.name: record.sequence.decode() for record in iter_fasta(shuffled)}
    with torch.no_grad():
        codes = torch.from_numpy(encode([windows[gene] for gene in control["gene_id"]]))
        again = model(one_hot(codes)).numpy() * settings["target_sd"] + settings["target_mean"]
    np.testing.assert_allclose(again, control["predicted_shuffled"], atol=1e-5)
    row = control_table([control], None, 2000, 1).iloc[0]
    assert row["pearson_real"] >= 0.5 and row["delta_r_ci_low"] > 0.0, row.to_dict()


def test_windows_of_different_lengths_are_one_line(synthetic_dataset: Path, tmp_path: Path) -> None:
    table = read_dataset(synthetic_dataset)
    table.loc[5, "sequence"] = table.loc[5, "sequence"][:-10]
    write_dataset(table, tmp_path / "ragged.tsv.gz")
    result = run_script("train_cnn.py", "--dataset", tmp_path / "ragged.tsv.gz", "--outdir", tmp_path, check=False)
    assert_one_line_error(result, f"line 7: gene {table.loc[5, 'gene_id']}: window of 991 bp")
    assert not (tmp_path / "predictions.tsv").exists() and not (tmp_path / "compute.tsv").exists()


def test_an_even_motif_width_is_one_line(synthetic_dataset: Path, tmp_path: Path) -> None:
    result = run_script(
        "train_cnn.py", "--dataset", synthetic_dataset, "--motif-width", "8", "--outdir", tmp_path, check=False
    )
    assert_one_line_error(result, "--motif-width must be odd")


def test_a_foreign_model_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"config\.json is missing"):
        load_cnn(tmp_path)
