"""The data steps through their real commands: completeness, determinism, bad input, and the
bundled test data's own reproducibility."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA, TEST_UPSTREAM, assert_one_line_error, run_script

from seq2expr.data.dataset import read_dataset
from seq2expr.data.synthetic import PLANTED_KMER, PLANTED_REGION, count_occurrences, run
from seq2expr.data.tss import WindowSpec
from seq2expr.data.tss import run as extract_run
from seq2expr.io.annotation import read_genes
from seq2expr.io.expression import base_gene_id, read_expression
from seq2expr.io.files import file_sha256
from seq2expr.io.genome import read_sequences


def digest(folder: Path) -> dict[str, str]:
    return {path.name: file_sha256(path) for path in sorted(folder.iterdir())}


def test_every_gtf_gene_is_in_the_windows_or_the_ledger(test_windows: Path) -> None:
    genes = read_genes(TEST_DATA / "annotation.gtf.gz")
    windows = pd.read_csv(test_windows / "tss_windows.tsv", sep="\t")
    ledger = pd.read_csv(test_windows / "extract_ledger.tsv", sep="\t")
    assert sorted(windows["gene_id"].tolist() + ledger["gene_id"].tolist()) == sorted(g.gene_id for g in genes)
    assert set(ledger["reason"]) == {"biotype_not_selected", "window_off_chromosome", "too_many_n"}
    sequences = read_sequences(test_windows / "tss_windows.fa")
    assert list(sequences) == windows["gene_id"].tolist()
    assert {len(sequence) for sequence in sequences.values()} == {2 * TEST_UPSTREAM + 1}
    assert set("".join(sequences.values())) <= set("ACGTN")


def test_every_matching_expression_gene_is_in_the_dataset_or_the_ledger(
    test_windows: Path, synthetic_dataset: Path
) -> None:
    dataset = read_dataset(synthetic_dataset)
    ledger = pd.read_csv(synthetic_dataset.parent / "dataset_ledger.tsv", sep="\t")
    window_keys = {base_gene_id(gene) for gene in read_sequences(test_windows / "tss_windows.fa")}
    expression = read_expression(TEST_DATA / "expression.gct.gz")
    matching = [gene for gene in expression["gene_id"] if base_gene_id(gene) in window_keys]
    accounted = set(dataset["gene_id"].map(base_gene_id)) | set(ledger.loc[ledger["source"] == "expression", "gene_id"])
    assert all(gene in accounted or base_gene_id(gene) in accounted for gene in matching)
    assert ledger.loc[ledger["reason"] == "par_y_copy", "source"].tolist() == ["windows", "expression"]
    counts = dataset["split"].value_counts().to_dict()
    assert counts["train"] + counts["val"] == 2 * len(dataset) // 3
    assert counts["val"] == round(0.1 * (counts["train"] + counts["val"]))


def test_planted_signal_drives_the_target(synthetic_dataset: Path) -> None:
    dataset = read_dataset(synthetic_dataset)
    low, high = TEST_UPSTREAM + PLANTED_REGION[0], TEST_UPSTREAM + PLANTED_REGION[1]
    counts = [count_occurrences(sequence[low : high + 1], PLANTED_KMER) for sequence in dataset["sequence"]]
    assert np.corrcoef(counts, dataset["target"])[0, 1] > 0.6


def test_default_windows_are_4001_bp_with_reruns_byte_identical(tmp_path: Path) -> None:
    args = ["--genome", TEST_DATA / "genome.fa.gz", "--annotation", TEST_DATA / "annotation.gtf.gz"]
    run_script("extract_tss_windows.py", *args, "--outdir", tmp_path / "a")
    run_script("extract_tss_windows.py", *args, "--outdir", tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert {len(s) for s in read_sequences(tmp_path / "a" / "tss_windows.fa").values()} == {4001}
    dataset_args = [
        "--sequences", tmp_path / "a" / "tss_windows.fa",
        "--windows", tmp_path / "a" / "tss_windows.tsv",
        "--expression", TEST_DATA / "expression.gct.gz",
        "--tissue", "pituitary",
        "--split", "chromosome",
        "--test-chromosomes", "chr3",
        "--val-chromosomes", "X",
    ]  # fmt: skip
    run_script("build_dataset.py", *dataset_args, "--outdir", tmp_path / "c")
    run_script("build_dataset.py", *dataset_args, "--outdir", tmp_path / "d")
    assert digest(tmp_path / "c") == digest(tmp_path / "d")
    dataset = read_dataset(tmp_path / "c" / "dataset.tsv.gz")
    assert set(dataset.loc[dataset["split"] == "test", "chrom"]) == {"chr3"}
    assert set(dataset.loc[dataset["split"] == "val", "chrom"]) == {"chrX"}


def test_extraction_run_returns_what_it_wrote(test_windows: Path, tmp_path: Path) -> None:
    spec = WindowSpec(TEST_UPSTREAM, TEST_UPSTREAM)
    result = extract_run(TEST_DATA / "genome.fa.gz", TEST_DATA / "annotation.gtf.gz", tmp_path, spec)
    assert [path.name for path in result.files] == [
        "tss_windows.fa", "tss_windows.tsv", "extract_ledger.tsv", "tss_windows_summary_mqc.tsv"
    ]  # fmt: skip
    assert digest(tmp_path) == digest(test_windows)  # the command is this function and nothing else
    assert result.summary["windows"] == len(result.windows) == len(read_sequences(result.files[0]))
    assert result.summary["gtf_genes"] == len(result.windows) + len(result.ledger)
    masked = read_sequences(result.files[0], keep_case=True)
    assert any(any(base.islower() for base in sequence) for sequence in masked.values())  # soft-masking kept


def test_bundled_test_data_regenerates_byte_identically(tmp_path: Path) -> None:
    written = run(tmp_path)
    for path in written.files:
        assert path.read_bytes() == (TEST_DATA / path.name).read_bytes(), path.name
    assert written.genes == len(read_genes(TEST_DATA / "annotation.gtf.gz"))
    result = run_script("make_test_data.py", "--outdir", tmp_path / "command")
    assert result.returncode == 0
    assert sorted(path.name for path in (tmp_path / "command").iterdir()) == sorted(path.name for path in written.files)


def gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode()))
    return path


GOOD_FASTA = ">chr1\n" + "ACGT" * 50 + "\n"
GOOD_GTF = 'chr1\tX\tgene\t100\t150\t.\t+\t.\tgene_id "G1.1"; gene_type "protein_coding";\n'


@pytest.mark.parametrize(
    ("fasta", "gtf", "message"),
    [
        (">\nACGT\n", GOOD_GTF, "genome.fa, line 1: empty FASTA header"),
        (">chr1\nAC-GT\n", GOOD_GTF, "genome.fa, line 2: unexpected character '-'"),
        (
            GOOD_FASTA,
            'chr1\tX\tgene\t100\t150\t.\t+\t.\tgene_type "protein_coding";\n',
            "gtf, line 1: gene line without",
        ),
        (GOOD_FASTA, GOOD_GTF.replace("\t100\t", "\t-5\t"), "gtf, line 1: bad gene coordinates -5..150"),
        (GOOD_FASTA, "", "annotation.gtf: no 'gene' lines"),
        ("", GOOD_GTF, "genome.fa: no FASTA record found"),
        (GOOD_FASTA.replace("chr1", "scaffold9"), GOOD_GTF, "no chromosome in common"),
    ],
)
def test_extract_bad_input_gives_one_line_error(tmp_path: Path, fasta: str, gtf: str, message: str) -> None:
    (tmp_path / "genome.fa").write_text(fasta)
    (tmp_path / "annotation.gtf").write_text(gtf)
    result = run_script(
        "extract_tss_windows.py",
        "--genome", tmp_path / "genome.fa",
        "--annotation", tmp_path / "annotation.gtf",
        "--upstream", "10",
        "--downstream", "10",
        "--outdir", tmp_path / "out",
        check=False,
    )  # fmt: skip
    assert_one_line_error(result, message)


@pytest.mark.parametrize(
    ("expression", "tissue", "message"),
    [
        ("#1.2\n1\t2\nName\tDescription\tPituitary\n G1.1\tA\t1\n", "Pituitary", "line 2: dimensions line says 2"),
        ("gene\tPituitary\tLiver\nG1.1\t1\t2\n", "Kidney", "unknown tissue 'Kidney'; available: Pituitary, Liver"),
        ("", "Pituitary", "expression.txt: empty file"),
        ("gene\tPituitary\nOTHER.1\t1\n", "Pituitary", "no gene of"),
    ],
)
def test_build_dataset_bad_input_gives_one_line_error(
    tmp_path: Path, expression: str, tissue: str, message: str
) -> None:
    (tmp_path / "w.fa").write_text(">G1.1\nACGTACGT\n")
    (tmp_path / "expression.txt").write_text(expression)
    result = run_script(
        "build_dataset.py",
        "--sequences", tmp_path / "w.fa",
        "--expression", tmp_path / "expression.txt",
        "--tissue", tissue,
        "--split", "dexter",
        "--outdir", tmp_path / "out",
        check=False,
    )  # fmt: skip
    assert_one_line_error(result, message)


def test_duplicate_genes_in_the_windows_fasta_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "w.fa").write_text(">G1.1\nACGT\n>G1.1\nACGT\n")
    gz(tmp_path / "e.tsv.gz", "gene\tPituitary\nG1.1\t1\n")
    result = run_script(
        "build_dataset.py", "--sequences", tmp_path / "w.fa", "--expression", tmp_path / "e.tsv.gz",
        "--tissue", "Pituitary", "--split", "dexter", "--outdir", tmp_path / "out", check=False,
    )  # fmt: skip
    assert_one_line_error(result, "w.fa, line 3: sequence name 'G1.1' appears more than once")


def test_gene_counts_reach_the_multiqc_report(test_windows: Path, synthetic_dataset: Path, tmp_path: Path) -> None:
    """Nothing is dropped silently: the kept and set-aside counts are report sections (real MultiQC run)."""
    config = TEST_DATA.parent / "multiqc_config.yml"
    command = [sys.executable, "-m", "multiqc", "--config", str(config), "--cl-config", "export_plots: false"]
    command += ["--outdir", str(tmp_path), "--force"]
    subprocess.run([*command, str(test_windows), str(synthetic_dataset.parent)], check=True, capture_output=True)
    (data,) = tmp_path.glob("*multiqc_report_data")
    windows = pd.read_csv(data / "multiqc_tss_windows_summary_table.txt", sep="\t")
    ledger = pd.read_csv(test_windows / "extract_ledger.tsv", sep="\t")
    assert int(windows["windows"].iloc[0]) + len(ledger) == int(windows["gtf_genes"].iloc[0])
    assert int(windows["too_many_n"].iloc[0]) == 1
    dataset = pd.read_csv(data / "multiqc_dataset_summary_table.txt", sep="\t")
    assert dataset["Sample"].tolist() == ["Pituitary"]
    assert int(dataset["train"].iloc[0] + dataset["val"].iloc[0] + dataset["test"].iloc[0]) == int(
        dataset["genes"].iloc[0]
    )
    groups = pd.read_csv(data / "multiqc_gene_groups_table.txt", sep="\t")
    assert int(groups["genes"].iloc[0]) == int(dataset["genes"].iloc[0])
    (report,) = tmp_path.glob("*multiqc_report.html")
    html = report.read_text()
    assert "TSS windows" in html and "Dataset" in html
