"""bin/dexter.py and bin/dexter_predict.py end to end: planted signal, noise, determinism, bad input,
and the faithfulness check against the original DExTER's reference run on real data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, build_bundled_dataset, run_script, shared_path, write_shuffled_windows

from seq2expr.data.dataset import read_dataset, write_dataset
from seq2expr.data.synthetic import PLANTED_KMER, PLANTED_REGION, count_occurrences
from seq2expr.errors import InputError
from seq2expr.evaluation.control import control_table
from seq2expr.io.files import file_sha256
from seq2expr.io.genome import iter_fasta
from seq2expr.io.predictions import CONTROL_FILE, read_control, read_predictions
from seq2expr.io.tables import table_bytes
from seq2expr.models.dexter import DexterConfig
from seq2expr.models.dexter.commands import run, run_predict
from seq2expr.models.dexter.segmentation import uniform_bins

#: One pytest-xdist worker runs this module (--dist loadgroup):
#: its module-scoped `planted_run` (a DExTER run) is built once, not once per worker.
pytestmark = pytest.mark.xdist_group("dexter_cli")

OUTPUTS = ("dexter_variables.tsv", "predictions.tsv", "model.json", "dexter_variables_mqc.tsv")


def run_dexter(dataset: Path, outdir: Path, *options: str, check: bool = True):
    return run_script("dexter.py", "--dataset", dataset, "--outdir", outdir, *options, check=check)


@pytest.fixture(scope="module")
def planted_run(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DExTER on the planted data, with the composition control (shuffled_windows.fa beside it): the outputs
    without --control are the same bytes (test_same_inputs_give_byte_identical_outputs runs without)."""
    outdir = tmp_path_factory.mktemp("dexter")
    shuffled = write_shuffled_windows(synthetic_dataset, outdir / "shuffled_windows.fa")
    run_dexter(synthetic_dataset, outdir, "--control", str(shuffled))  # 1001 bp windows: TSS index the centre, 500
    return outdir


def test_planted_kmer_and_region_are_found(planted_run: Path, synthetic_dataset: Path) -> None:
    variables = pd.read_csv(planted_run / "dexter_variables.tsv", sep="\t")
    assert list(variables.columns[:5]) == ["kmer", "start", "end", "correlation", "parent"]
    planted = variables[
        (variables["kmer"] == PLANTED_KMER)
        & (variables["start"] <= PLANTED_REGION[1])
        & (variables["end"] >= PLANTED_REGION[0])
    ]
    assert len(planted) >= 1
    best = planted.iloc[planted["coefficient"].abs().argmax()]
    assert best["coefficient"] > 0 and best["coefficient"] == variables["coefficient"].max()
    model = json.loads((planted_run / "model.json").read_text())
    assert model["tss_index"] == 500 and model["window_length"] == 1001
    assert model["test_metrics"]["pearson"] > 0.55  # a perfect count of the planted k-mer reaches ~0.69
    predictions = read_predictions(planted_run / "predictions.tsv")
    dataset = read_dataset(synthetic_dataset)
    assert predictions["gene_id"].tolist() == dataset["gene_id"].tolist()
    assert set(predictions["split"]) == {"train", "val", "test"} and set(predictions["model"]) == {"DExTER"}
    names = [v["name"] for v in model["variables"]]
    assert names == sorted(names) and len(names) == len(variables)
    mqc = (planted_run / "dexter_variables_mqc.tsv").read_text().splitlines()
    assert "# id: dexter_variables" in mqc and "# plot_type: table" in mqc
    assert mqc[[line.startswith("#") for line in mqc].index(False) + 1].startswith(f"{best['kmer']}.{best['start']}_")


def test_the_composition_control_takes_the_planted_motifs_skill_away(
    planted_run: Path, synthetic_dataset: Path
) -> None:
    """(a) of issue 23 for DExTER: the target is TATA in −200..−50, so DExTER's skill needs sequence order and
    the shuffle (dinucleotides kept in 100 bp tiles) takes most of it away: Δr's interval lies well above 0.

    Not all of it: a dinucleotide shuffle keeps the tile's TA and AT counts, from which the walk re-forms TATA
    (a dinucleotide repeat) at a rate that grows with the copies planted; the shuffled r (0.34 against 0.67 real)
    is that re-formed TATA, read by the same fitted model: its shuffled predictions follow the re-formed count.
    A motif that is no dinucleotide repeat would rarely be re-formed."""
    control = read_control(planted_run / CONTROL_FILE)
    table = read_dataset(synthetic_dataset)
    test = table[table["split"] == "test"]
    assert control["gene_id"].tolist() == test["gene_id"].tolist()
    groups = pd.read_csv(synthetic_dataset.parent / "gene_groups.tsv", sep="\t").set_index("gene_id")["group"]
    row = control_table([control], groups, 2000, 1).iloc[0]
    assert row["pearson_real"] > 0.55
    assert row["delta_r_ci_low"] > 0.1 and row["delta_r"] > 0.25  # the interval excludes 0 by far
    assert row["pearson_shuffled"] < 0.6 * row["pearson_real"]
    # what is left is TATA re-formed in the planted region of the shuffled windows, which the model counts
    shuffled = {record.name: record.sequence.decode() for record in iter_fasta(planted_run / "shuffled_windows.fa")}
    start, end = 500 + PLANTED_REGION[0], 500 + PLANTED_REGION[1] + 1
    reformed = [count_occurrences(shuffled[gene][start:end], PLANTED_KMER) for gene in control["gene_id"]]
    assert np.corrcoef(reformed, control["predicted_shuffled"])[0, 1] > 0.8


def test_same_inputs_give_byte_identical_outputs(planted_run: Path, synthetic_dataset: Path, tmp_path: Path) -> None:
    run_dexter(synthetic_dataset, tmp_path)  # without --control: the same bytes, and no control.tsv
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (planted_run / name).read_bytes(), name
    assert not (tmp_path / CONTROL_FILE).exists() and (planted_run / CONTROL_FILE).exists()


@pytest.mark.slow  # ~20 s: LassoCV with more variables than training genes converges slowly at small alphas
def test_the_commands_write_what_their_run_functions_return(planted_run: Path, synthetic_dataset: Path) -> None:
    done = run(synthetic_dataset, DexterConfig())
    assert (planted_run / "dexter_variables.tsv").read_bytes() == table_bytes(done.result.variables)
    assert (planted_run / "predictions.tsv").read_bytes() == table_bytes(done.result.predictions)
    assert (planted_run / "model.json").read_text() == done.result.model.to_json()
    assert [file.name for file in done.report] == ["dexter_variables_mqc.tsv"]
    assert done.compute["model"].tolist() == ["DExTER"]
    again = run_predict(planted_run / "model.json", dataset=synthetic_dataset)
    assert again.name == "predictions.tsv" and table_bytes(again.table) == table_bytes(done.result.predictions)
    with pytest.raises(InputError, match="give exactly one of --sequences FASTA or --dataset TABLE"):
        run_predict(planted_run / "model.json")


def test_shuffled_expression_has_no_meaningful_variable(
    planted_run: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    """Noise: held-out r near 0, negative R², and every coefficient far below the planted signal's.

    Coefficients are not all zero: the exploration picks its variables on all training genes, so
    the LassoCV folds see features already chosen for this noise (the original's design).
    """
    table = read_dataset(synthetic_dataset)
    order = np.random.default_rng(0).permutation(len(table))
    table["target"] = table["target"].to_numpy()[order]
    table["tpm"] = table["tpm"].to_numpy()[order]
    write_dataset(table, tmp_path / "shuffled.tsv.gz")
    run_dexter(tmp_path / "shuffled.tsv.gz", tmp_path / "out")
    noise = json.loads((tmp_path / "out" / "model.json").read_text())
    planted = json.loads((planted_run / "model.json").read_text())
    largest_planted = max(abs(v["coefficient"]) for v in planted["variables"])
    assert max(abs(v["coefficient"]) for v in noise["variables"]) < 0.4 * largest_planted
    assert abs(noise["test_metrics"]["pearson"]) < 0.2 and noise["test_metrics"]["r2"] < 0


def test_predict_from_saved_model(planted_run: Path, synthetic_dataset: Path, tmp_path: Path) -> None:
    run_script(
        "dexter_predict.py", "--model", planted_run / "model.json", "--dataset", synthetic_dataset, "--outdir", tmp_path
    )
    assert (tmp_path / "predictions.tsv").read_bytes() == (planted_run / "predictions.tsv").read_bytes()
    table = read_dataset(synthetic_dataset).head(5)
    fasta = tmp_path / "new.fa"
    fasta.write_text(
        "".join(
            f">{g} some description\n{s.lower()}\n" for g, s in zip(table["gene_id"], table["sequence"], strict=True)
        )
    )
    run_script("dexter_predict.py", "--model", planted_run / "model.json", "--sequences", fasta, "--outdir", tmp_path)
    new = pd.read_csv(tmp_path / "dexter_predictions.tsv", sep="\t")
    old = read_predictions(planted_run / "predictions.tsv").head(5)
    assert new["gene_id"].tolist() == old["gene_id"].tolist()
    np.testing.assert_allclose(new["predicted"], old["predicted"], rtol=1e-8)
    fasta.write_text(f">short\n{'ACGT' * 10}\n")
    result = run_script(
        "dexter_predict.py",
        "--model",
        planted_run / "model.json",
        "--sequences",
        fasta,
        "--outdir",
        tmp_path,
        check=False,
    )
    assert result.returncode != 0 and "the model expects 1001 bp windows" in result.stderr


def small_dataset(path: Path, splits: list[str], lengths: list[int] | None = None) -> Path:
    rng = np.random.default_rng(7)
    lengths = lengths or [101] * len(splits)
    table = pd.DataFrame(
        {
            "gene_id": [f"G{i}" for i in range(len(splits))],
            "chrom": "chr1",
            "split": splits,
            "tpm": rng.uniform(0, 10, len(splits)),
            "sequence": ["".join(rng.choice(list("ACGT"), size=n)) for n in lengths],
        }
    )
    table["target"] = np.log10(np.maximum(table["tpm"], 0.001))
    write_dataset(table, path)
    return path


@pytest.mark.parametrize(
    ("splits", "lengths", "options", "message"),
    [
        (["train"] * 20, None, [], "no test genes"),
        (["test"] * 20, None, [], "no train genes"),
        (["train"] * 9 + ["test"] * 5, None, [], "9 training genes, fewer than the 10 cross-validation folds"),
        (
            ["train"] * 15 + ["test"] * 5,
            [101] * 7 + [99] + [101] * 12,
            [],
            "gene G7 has a 99 bp window, expected 101 bp",
        ),
        (["train"] * 15 + ["test"] * 5, None, ["--tss-index", "101"], "--tss-index 101 is outside the 101 bp windows"),
        (["train"] * 15 + ["test"] * 5, [100] * 20, [], "even length, no centre): give --tss-index"),
        (["train"] * 15 + ["test"] * 5, None, ["--bins", "3"], "at least 5 bins"),
        (["train"] * 15 + ["test"] * 5, None, ["--bin-edges", "-10,x"], "comma-separated integers"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, splits, lengths, options, message: str) -> None:
    dataset = small_dataset(tmp_path / "dataset.tsv.gz", splits, lengths)
    result = run_dexter(dataset, tmp_path / "out", *options, check=False)
    assert_one_line_error(result, message)
    assert not (tmp_path / "out" / "model.json").exists()


def test_options_reach_the_model(tmp_path: Path) -> None:
    dataset = small_dataset(tmp_path / "dataset.tsv.gz", ["train"] * 30 + ["test"] * 10)
    options = ["--counting", "full", "--bin-mode", "uniform", "--bins", "9", "--kmer-max-length", "2", "--top", "3"]
    run_dexter(dataset, tmp_path / "out", *options)
    model = json.loads((tmp_path / "out" / "model.json").read_text())
    assert model["counting"] == "full" and model["tss_index"] == 50
    assert model["bins"] == [list(b) for b in uniform_bins(9, 101, 50)]  # the generator itself is tested elsewhere
    assert {len(v["kmer"]) for v in model["variables"]} == {2}
    rows = [line for line in (tmp_path / "out" / "dexter_variables_mqc.tsv").read_text().splitlines() if line[0] != "#"]
    assert len(rows) <= 4  # header + at most --top rows
    run_dexter(dataset, tmp_path / "edges", "--bin-edges", "-50,-10,0,1,11,51")
    model = json.loads((tmp_path / "edges" / "model.json").read_text())
    assert model["bins"] == [[-50, -11], [-10, -1], [0, 0], [1, 10], [11, 50]]


REFERENCE_R = 0.45827401958109926  # ALL.lasso of the original DExTER on this set
BEFORE_THE_ROUND = {
    # sha256 of the outputs of commit 071dc1f (a worktree of it, same inputs and options); model.json
    # without its "versions" entry (library versions are the environment's, not DExTER's)
    "bundled": {
        "dataset.tsv.gz": "b9d83d07854030029c2cad8819a47c825786e3dfe85e3b73a9fcbc6b837974a6",
        "dexter_variables.tsv": "9d1ee3b65dedfe895c2fe601c4a331690e68f727e75be71389f2e9f14d476f09",
        "predictions.tsv": "e7d9984f3dc6ba347a3f2e4e5fd3def0dd226b8bad661e8dd948a5a16ac9b33d",
        "model.json": "7b29affd6b730ed93f9c3271ed26c01a13156911496c684b57d87ee28573ce85",
    },
    "real": {
        "dexter_variables.tsv": "755ac39081e225d087fcaa380ebc605ddfe88c8091bd8684e7eed41c0f5b9f42",
        "predictions.tsv": "e1eb798a832c7fa84edf8cefc5cc85f9b12c147ad74f6d55b4d7dbfb1cbf81d1",
        "model.json": "756e905f7929c02c55411418e7c2f522d716d18d0c0d3544316a64a198d06209",
    },
}


def predictions_before_the_fold_columns(path: Path) -> bytes:
    """predictions.tsv as written before the cross-fitting round: its last two columns (fold, repeat; here 0
    and 0, a single split) cut off, every other byte kept."""
    lines = path.read_bytes().split(b"\n")
    assert lines[0].endswith(b"\tfold\trepeat") and all(line.endswith(b"\t0\t0") for line in lines[1:] if line)
    return b"\n".join(line.rsplit(b"\t", 2)[0] if line else line for line in lines)


def output_digests(outdir: Path) -> dict[str, str]:
    """sha256 of DExTER's outputs, model.json without its versions entry, predictions.tsv without the
    fold and repeat columns (the only change of the cross-fitting round to a single split's outputs)."""
    model = json.loads((outdir / "model.json").read_text())
    model.pop("versions")
    return {
        "dexter_variables.tsv": file_sha256(outdir / "dexter_variables.tsv"),
        "predictions.tsv": hashlib.sha256(predictions_before_the_fold_columns(outdir / "predictions.tsv")).hexdigest(),
        "model.json": hashlib.sha256(json.dumps(model, sort_keys=True).encode()).hexdigest(),
    }


def test_outputs_are_those_of_the_code_before_the_round(test_windows: Path, tmp_path: Path) -> None:
    """On the bundled data (DExTER split, 10 % val): variables, predictions and model as at 071dc1f."""
    build_bundled_dataset(test_windows, tmp_path, "--split", "dexter", "--val-fraction", "0.1")
    expected = dict(BEFORE_THE_ROUND["bundled"])
    assert file_sha256(tmp_path / "dataset.tsv.gz") == expected.pop("dataset.tsv.gz"), "the dataset step changed"
    run_dexter(tmp_path / "dataset.tsv.gz", tmp_path / "out")
    assert output_digests(tmp_path / "out") == expected


def test_faithful_to_the_original_on_real_data(tmp_path: Path) -> None:
    """Spec §11: same genes and split, the reference's variables, test r within ±0.02 (here ~1e-10)."""
    data = shared_path("data", "real_pituitary_2kb")
    reference = shared_path("spec", "dexter_reference_dev")
    run_script(
        "build_dataset.py",
        "--sequences", data / "windows.fa",
        "--expression", data / "GTEx_v7_gene_median_tpm_7tissues.tsv",
        "--tissue", "Pituitary",
        "--split", "dexter",
        "--outdir", tmp_path,
    )  # fmt: skip
    dataset = read_dataset(tmp_path / "dataset.tsv.gz")
    train = [line.strip() for line in (reference / "training_set.log").read_text().splitlines()]
    test = [line.strip() for line in (reference / "testing_set.log").read_text().splitlines()]
    assert set(dataset.loc[dataset["split"] != "test", "gene_id"]) == set(train)
    assert set(dataset.loc[dataset["split"] == "test", "gene_id"]) == set(test)
    run_dexter(tmp_path / "dataset.tsv.gz", tmp_path / "out", "--tss-index", "1024", "--threads", "2")
    variables = pd.read_csv(tmp_path / "out" / "dexter_variables.tsv", sep="\t")
    ours = {f"{k} {s} {e}" for k, s, e in zip(variables["kmer"], variables["start"], variables["end"], strict=True)}
    theirs = {line.strip() for line in (reference / "all_domains.dat").read_text().splitlines() if line.strip()}
    assert ours == theirs
    model = json.loads((tmp_path / "out" / "model.json").read_text())
    assert abs(model["test_metrics"]["pearson"] - REFERENCE_R) < 0.02
    assert model["n_iter"] == 36
    assert output_digests(tmp_path / "out") == BEFORE_THE_ROUND["real"], "DExTER's outputs changed on the real set"


def test_ism_through_dexter_recovers_the_sign_of_its_planted_variable(
    planted_run: Path, synthetic_dataset: Path, tmp_path: Path
) -> None:
    """(e) of issue 23: the planted k-mer's LASSO coefficient in its region is positive, so mutating its bases
    there lowers DExTER's prediction: their ISM contributions are positive, and far larger than elsewhere."""
    start, end = PLANTED_REGION
    flank = max(abs(start), abs(end)) + 10
    run_script(
        "attribute.py", "--model-kind", "dexter", "--model", planted_run / "model.json", "--name", "DExTER",
        "--dataset", synthetic_dataset, "--tss-index", "500", "--genes", "12", "--flank", str(flank),
        "--outdir", tmp_path,
    )  # fmt: skip
    tracks = pd.read_csv(tmp_path / "attribution_tracks.tsv.gz", sep="\t")
    inside, outside = [], []
    for _, gene in tracks.groupby("gene_id"):
        bases = "".join(gene["base"])
        offsets = gene["offset"].to_numpy()
        values = gene["contribution"].to_numpy()
        for position in range(len(bases) - len(PLANTED_KMER) + 1):
            if bases[position : position + len(PLANTED_KMER)] == PLANTED_KMER:
                if start <= offsets[position] and offsets[position + len(PLANTED_KMER) - 1] <= end:
                    inside.extend(values[position : position + len(PLANTED_KMER)])
                else:
                    outside.extend(values[position : position + len(PLANTED_KMER)])
    assert len(inside) >= len(PLANTED_KMER)  # the sample holds planted copies
    assert np.mean(inside) > 0  # the sign of the coefficient
    assert np.mean(inside) > 5 * abs(np.mean(tracks["contribution"]))
    profile = pd.read_csv(tmp_path / "attribution_profile.tsv", sep="\t")
    assert profile["offset"].tolist() == list(range(-flank, flank + 1))
