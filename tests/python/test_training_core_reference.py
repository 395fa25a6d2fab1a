"""DNABERT-2 fine-tuning and prediction on the CPU give exactly the bytes of seq2expr at commit 071dc1f,
before the training core was shared with the CNN: the move changed no number.

The digests were made by running the same commands with the same options on the same generated
dataset with the code of a worktree of 071dc1f (torch 2.13.0, one thread), on each of the two x86-64
CPU types the project's machines have had: float results differ between their instruction sets, so
the outputs must equal, as a whole, the set of one of them. A change of the code gives a set of
neither. Since 071dc1f only the fine-tuned model's config.json gained a line: the base checkpoint's
`"seq2expr_random_init": true`, which a model fine-tuned from the random-weight test checkpoint
inherits; without that line it is the old file (the same on both CPU types). And
training_curves_mqc.yaml gained a scale: its y axis names the loss's unit, dashed lines (`y_lines`,
with series `colors` to match) give each split's loss of predicting its mean, and its description a
sentence on why the training loss can lie above the validation loss; without those and with
071dc1f's two strings put back (`CURVES_AT_071DC1F`) it is the old file, byte for byte, so the pinned digests still hold for both
CPU types and the curves' numbers are checked as before (a digest of the new file could only have
been regenerated on one of the two CPU types, and would have failed on the other).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import TEST_DATA, run_script

from seq2expr.models.training.core import TRAIN_VS_VAL

TINY = TEST_DATA / "tiny_dnabert2"
OPTIONS = [
    "--model", TINY, "--epochs", "3", "--batch-size", "8", "--global-batch-size", "16", "--learning-rate", "2e-3",
    "--warmup-steps", "2", "--max-tokens", "64", "--eval-steps", "3", "--logging-steps", "1", "--seed", "5",
    "--device", "cpu", "--threads", "1",
]  # fmt: skip
#: per CPU type, the outputs' digests; "log" is training_log.tsv without its wall-clock column (tokens_per_s)
AT_071DC1F = (
    {  # the CI machine type of the round's first runs
        "ft/predictions.tsv": "769ffa65f15fdcd1a49e434517a32bf708eacb5b3cc4bdc8432ed80104463253",
        "ft/model/model.safetensors": "1b184ef3fd5e59fa7a3e3fa90117300be7587093750040a47d265475b18ee812",
        "ft/training_curves_mqc.yaml": "c8c810e027d8f71adb306fcddd559375d41e8a222d2b1b7147ae952dbf9e7fc4",
        "pred/predictions.tsv": "3671de4e1e0609a8ee3b6979f37ff5d5035e51c5449779bbd2a303e64c1e5b23",
        "log": "a7b597bef12b34912866593c76d4aac5c2162ea4f64d8ef0a365f43be8c32fc0",
    },
    {  # AMD EPYC (lscpu model name), 071dc1f's code run on it the same way
        "ft/predictions.tsv": "56d8ed65d98a3d8010f978bbf2bf7f1cfdae9babd80c78e109b4c3bb55e40814",
        "ft/model/model.safetensors": "d39daa96827af9b3ca7f0c410cb2b5aefcab05a36c23a8d2b82376067b206032",
        "ft/training_curves_mqc.yaml": "3b60c748a25e73f46c4d593324d30ac4339f439d012ed04076a82817317fc816",
        "pred/predictions.tsv": "fc16e0e083aa62b7db46d2e35a3a7897e769ec98bf57543d6f0412a9bb2448ec",
        "log": "6b7d190ef6b9408c4777a97e5f2c26820718d81a697b049f9daeb510d83cf105",
    },
)
CONFIG_AT_071DC1F = "8c775abd5c756ab579f89886a70ddcb70d5652e5813c7664ae29c871f78e1807"
#: what training_curves_mqc.yaml said at 071dc1f where it now says more
CURVES_AT_071DC1F = {
    "description": "Mean-squared error of the DNABERT-2 regressor on the training batches (dropout on) and on the "
    "validation genes, by optimiser step. The predictions come from the step with the lowest validation loss.",
    "ylab": "MSE",
}
OUTPUTS = ("ft/predictions.tsv", "ft/model/model.safetensors", "ft/training_curves_mqc.yaml", "pred/predictions.tsv")


def reference_dataset(path: Path) -> Path:
    """96 random 300 bp windows (64 train, 16 val, 16 test) with 0-3 planted TATA boxes setting the target."""
    rng = np.random.default_rng(20240601)
    rows = ["gene_id\tchrom\tsplit\ttpm\ttarget\tsequence"]
    splits = ["train"] * 64 + ["val"] * 16 + ["test"] * 16
    for index, split in enumerate(splits):
        sequence = "".join(rng.choice(list("ACGT"), size=300))
        tata = int(rng.integers(0, 4))
        for copy in range(tata):
            start = 100 + 20 * copy
            sequence = sequence[:start] + "TATAAA" + sequence[start + 6 :]
        target = 0.5 * tata + float(rng.normal(0, 0.3))
        tpm = 10**target - 0.1 if target > -1 else 0.0
        rows.append(f"G{index:03d}\tchr{1 + index % 3}\t{split}\t{tpm:.6g}\t{target:.6g}\t{sequence}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def curves_at_071dc1f(path: Path) -> bytes:
    """training_curves_mqc.yaml with 071dc1f's description and y-axis label put back (after checking the new ones)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert TRAIN_VS_VAL in document["description"] and document["pconfig"]["ylab"] == "MSE, (log10 TPM)²"
    assert [line["label"] for line in document["pconfig"].pop("y_lines")] == [
        "train: predicting the mean",
        "val: predicting the mean",
    ]
    del document["pconfig"]["colors"]
    document["description"] = CURVES_AT_071DC1F["description"]
    document["pconfig"]["ylab"] = CURVES_AT_071DC1F["ylab"]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")


def without_column(text: str, column: str) -> str:
    lines = [line.split("\t") for line in text.splitlines()]
    drop = lines[0].index(column)
    return "\n".join("\t".join(f for i, f in enumerate(line) if i != drop) for line in lines) + "\n"


@pytest.mark.slow  # two command runs, ~1 min on one thread
def test_finetuning_and_prediction_are_byte_identical_to_071dc1f(tmp_path: Path) -> None:
    dataset = reference_dataset(tmp_path / "dataset.tsv")
    run_script("finetune_dnabert2.py", "--dataset", dataset, *OPTIONS, "--outdir", tmp_path / "ft")
    fasta = tmp_path / "windows.fa"
    records = [line.split("\t") for line in dataset.read_text().splitlines()[1:]]
    fasta.write_text("".join(f">{fields[0]}\n{fields[5]}\n" for fields in records))
    run_script(
        "predict_dnabert2.py", "--model", tmp_path / "ft" / "model", "--sequences", fasta, "--batch-size", "5",
        "--threads", "1", "--device", "cpu", "--outdir", tmp_path / "pred",
    )  # fmt: skip
    found = {name: digest((tmp_path / name).read_bytes()) for name in OUTPUTS}
    # predictions.tsv gained the fold and repeat columns since (0 and 0 on a single split): the rest is 071dc1f's
    predictions = (tmp_path / "ft" / "predictions.tsv").read_text()
    assert [line.split("\t")[-2:] for line in predictions.splitlines()[1:]] == [["0", "0"]] * 96
    found["ft/predictions.tsv"] = digest(without_column(without_column(predictions, "repeat"), "fold").encode())
    found["ft/training_curves_mqc.yaml"] = digest(curves_at_071dc1f(tmp_path / "ft" / "training_curves_mqc.yaml"))
    found["log"] = digest(without_column((tmp_path / "ft" / "training_log.tsv").read_text(), "tokens_per_s").encode())
    assert found in AT_071DC1F, f"the outputs are those of 071dc1f on neither CPU type: {found}"
    config = (tmp_path / "ft" / "model" / "config.json").read_text()
    assert json.loads(config)["seq2expr_random_init"] is True
    old = "".join(line for line in config.splitlines(keepends=True) if '"seq2expr_random_init"' not in line)
    assert digest(old.encode()) == CONFIG_AT_071DC1F
