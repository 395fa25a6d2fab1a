"""Bad inputs across every command: each is one `Error:` line naming the file (and line) and what was
expected, never a traceback; inputs that are merely written differently give the clean result.

Each case derives one broken file from the bundled data (or gives a bad option), runs the real
command in-process and checks exit status and stderr with `assert_one_line_error`. Cases are
named `<command>-<what is wrong>`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import BIN, TEST_DATA, Ran, assert_one_line_error, invoke

from seq2expr.cli import command, setup_logging, verbose_option
from seq2expr.errors import NothingKept, top_reasons

#: One pytest-xdist worker runs this module (--dist loadgroup):
#: its module-scoped `clean` fixture (a DExTER fit) is built once, not once per worker.
pytestmark = pytest.mark.xdist_group("bad_inputs")

TINY = TEST_DATA / "tiny_dnabert2"


@dataclass(frozen=True)
class Inputs:
    """Clean inputs of every command, and a folder for the broken ones."""

    windows: Path  # folder: tss_windows.fa/.tsv
    dataset: Path
    dexter: Path  # folder: model.json, predictions.tsv
    tmp: Path

    def put(self, name: str, data: str | bytes) -> Path:
        """Write a broken input (text is written as UTF-8 bytes, exactly as given)."""
        path = self.tmp / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path


def text(path: Path) -> str:
    """The decompressed text of a clean input."""
    with open(path, "rb") as raw:
        data = gzip.decompress(raw.read()) if path.suffix == ".gz" else raw.read()
    return data.decode()


def replace_first(source: str, line_start: str, edit: Callable[[list[str]], list[str]]) -> str:
    """`source` with the tab-separated fields of its first line starting `line_start` edited."""
    lines = source.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(line_start))
    lines[index] = "\t".join(edit(lines[index].split("\t")))
    return "\n".join(lines)


def first_gene_line(source: str) -> int:
    return next(i for i, line in enumerate(source.split("\n"), 1) if "\tgene\t" in line)


GTF = text(TEST_DATA / "annotation.gtf.gz")
GCT = text(TEST_DATA / "expression.gct.gz")
GENE_LINE = first_gene_line(GTF)
GENOME_GZ = (TEST_DATA / "genome.fa.gz").read_bytes()
EXTRACT = ["--upstream", "500", "--downstream", "500"]


def set_field(index: int, value: str) -> Callable[[list[str]], list[str]]:
    return lambda fields: [*fields[:index], value, *fields[index + 1 :]]


def gff3(source: str) -> str:
    """The GTF rewritten with GFF3 `key=value` attributes (as Ensembl's .gff3 downloads are)."""
    rows = []
    for line in source.split("\n"):
        if line.startswith("#") or not line:
            continue
        fields = line.split("\t")
        pairs = [part.strip().split(" ", 1) for part in fields[8].split(";") if part.strip()]
        fields[8] = ";".join(key + "=" + value.strip('"') for key, value in pairs).replace("gene_id=", "ID=")
        rows.append("\t".join(fields))
    return "##gff-version 3\n" + "\n".join(rows) + "\n"


def zipped(name: str, data: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def dangling(inputs: Inputs, name: str) -> Path:
    link = inputs.tmp / name
    link.symlink_to(inputs.tmp / "gone")
    return link


def folder(inputs: Inputs, name: str) -> Path:
    path = inputs.tmp / name
    path.mkdir()
    return path


# --- the commands, with one input swapped --------------------------------------------------------


def extract(genome: Path | None = None, annotation: Path | None = None, *options: str) -> list[str | Path]:
    return [
        "extract_tss_windows.py", "--genome", genome or TEST_DATA / "genome.fa.gz",
        "--annotation", annotation or TEST_DATA / "annotation.gtf.gz", *EXTRACT, *options,
    ]  # fmt: skip


def build(inputs: Inputs, expression: Path | None = None, tissue: str = "Pituitary", *options: str) -> list[str | Path]:
    return [
        "build_dataset.py", "--sequences", inputs.windows / "tss_windows.fa",
        "--windows", inputs.windows / "tss_windows.tsv",
        "--expression", expression or TEST_DATA / "expression.gct.gz", "--tissue", tissue, *options,
    ]  # fmt: skip


def dexter(dataset: Path, *options: str) -> list[str | Path]:
    return ["dexter.py", "--dataset", dataset, *options]


def predict_dexter(inputs: Inputs, model: Path | None = None, sequences: Path | None = None) -> list[str | Path]:
    return [
        "dexter_predict.py", "--model", model or inputs.dexter / "model.json",
        "--sequences", sequences or inputs.windows / "tss_windows.fa",
    ]  # fmt: skip


def finetune(dataset: Path, model: Path = TINY, *options: str) -> list[str | Path]:
    return [
        "finetune_dnabert2.py", "--dataset", dataset, "--model", model, "--epochs", "1",
        "--max-tokens", "32", "--device", "cpu", *options,
    ]  # fmt: skip


def build_bare(inputs: Inputs, windows: Path | None, *options: str) -> list[str | Path]:
    """build_dataset with `--windows` swapped (or left out)."""
    return [
        "build_dataset.py", "--sequences", inputs.windows / "tss_windows.fa",
        *(["--windows", windows] if windows else []),
        "--expression", TEST_DATA / "expression.gct.gz", "--tissue", "Pituitary", *options,
    ]  # fmt: skip


def windows_text(inputs: Inputs) -> str:
    return (inputs.windows / "tss_windows.tsv").read_text()


def groups_text(inputs: Inputs) -> str:
    return (inputs.dataset.parent / "gene_groups.tsv").read_text()


def cnn(dataset: Path, *options: str) -> list[str | Path]:
    return ["train_cnn.py", "--dataset", dataset, "--epochs", "1", "--device", "cpu", "--threads", "1", *options]


def probe(dataset: Path, *options: str | Path) -> list[str | Path]:
    return ["probe_dnabert2.py", "--dataset", dataset, "--model", TINY, "--device", "cpu", *options]


def predict_dnabert2(sequences: Path, model: Path = TINY) -> list[str | Path]:
    return ["predict_dnabert2.py", "--model", model, "--sequences", sequences, "--device", "cpu"]


def shuffle(sequences: Path, *options: str) -> list[str | Path]:
    return ["shuffle_windows.py", "--sequences", sequences, *options]


def attribute(inputs: Inputs, model: Path | None = None, *options: str) -> list[str | Path]:
    return [
        "attribute.py", "--model-kind", "dexter", "--model", model or inputs.dexter / "model.json", "--name", "DExTER",
        "--dataset", inputs.dataset, "--tss-index", "500", "--genes", "2", "--flank", "5", *options,
    ]  # fmt: skip


def evaluate(*predictions: Path) -> list[str | Path]:
    return ["evaluate_models.py", "--predictions", *predictions, "--bootstrap", "100"]


def dataset_text(inputs: Inputs) -> str:
    return text(inputs.dataset)


def predictions_text(inputs: Inputs) -> str:
    return (inputs.dexter / "predictions.tsv").read_text()


def edit_rows(source: str, first_row: int, edit: Callable[[list[str]], list[str]]) -> str:
    """`source` with the tab-separated fields of every non-empty line from `first_row` (0-based) on edited."""
    lines = source.split("\n")
    return "\n".join(
        "\t".join(edit(line.split("\t"))) if index >= first_row and line else line for index, line in enumerate(lines)
    )


def gct_pituitary(value: str) -> str:
    """The bundled GCT with every Pituitary value (the first tissue, after 3 header lines) set to `value`."""
    return edit_rows(GCT, 3, set_field(2, value))


def hard_masked(fasta: str) -> str:
    """The FASTA with every base an N (a hard-masked genome)."""
    return "\n".join(line if line.startswith(">") else "N" * len(line) for line in fasta.split("\n"))


def first_records(fasta: Path, n: int) -> str:
    """The first `n` records of a one-line-per-sequence FASTA (tss_windows.fa)."""
    return "".join(fasta.read_text().splitlines(keepends=True)[: 2 * n])


def relabel(dataset: str, old: str, new: str, keep: int = 0) -> str:
    """The dataset with the genes of split `old` moved to `new`, all but the first `keep` of them."""
    lines, seen = dataset.split("\n"), 0
    for index, line in enumerate(lines):
        if f"\t{old}\t" in line:
            seen += 1
            lines[index] = line if seen <= keep else line.replace(f"\t{old}\t", f"\t{new}\t", 1)
    return "\n".join(lines)


def overlapping(windows: str) -> str:
    """tss_windows.tsv with every window at the same place on chr1: one group of overlapping genes."""
    return edit_rows(windows, 1, lambda f: [*f[:2], "chr1", *f[3:5], "100", "1101"])


def with_model_file(inputs: Inputs, name: str, data: bytes) -> Path:
    """A copy of the tiny DNABERT-2 folder with one file replaced."""
    model = folder(inputs, "model")
    for source in TINY.iterdir():
        (model / source.name).write_bytes(source.read_bytes())
    (model / name).write_bytes(data)
    return model


#: What a case expects on the `Error:` line: one fragment, or several that must all be there (an error about
#: how two inputs relate names both files).
Expected = str | tuple[str, ...]
Case = tuple[Callable[[Inputs], list[str | Path]], Expected]
#: The command each case's name starts with; every bin/ command has cases.
COMMANDS = {
    "extract": "extract_tss_windows.py",
    "build": "build_dataset.py",
    "testdata": "make_test_data.py",
    "dexter": "dexter.py",
    "dexterpredict": "dexter_predict.py",
    "finetune": "finetune_dnabert2.py",
    "predict": "predict_dnabert2.py",
    "probe": "probe_dnabert2.py",
    "cnn": "train_cnn.py",
    "evaluate": "evaluate_models.py",
    "fetch": "fetch_inputs.py",
    "tiny": "make_tiny_dnabert2.py",
    "probeglm": "probe_glm.py",
    "tinyglms": "make_tiny_glms.py",
    "shuffle": "shuffle_windows.py",
    "attribute": "attribute.py",
}

CASES: dict[str, Case] = {
    # ---- extract_tss_windows: genome
    "extract-genome-truncated-gzip": (
        lambda i: extract(i.put("genome.fa.gz", GENOME_GZ[: len(GENOME_GZ) // 2])),
        "genome.fa.gz: gzip stream is truncated or corrupt",
    ),
    "extract-genome-gzip-twice": (
        lambda i: extract(i.put("genome.fa.gz", gzip.compress(GENOME_GZ))),
        "genome.fa.gz: gzip file whose content is gzip-compressed again",
    ),
    "extract-genome-zstd": (
        lambda i: extract(i.put("genome.fa.zst", b"\x28\xb5\x2f\xfd" + bytes(64))),
        "genome.fa.zst: zstd-compressed, which seq2expr does not read",
    ),
    "extract-genome-is-a-gtf": (
        lambda i: extract(i.put("genome.fa", GTF)),
        "genome.fa, line 1: sequence before the first '>' header",
    ),
    "extract-genome-duplicate-chromosome": (
        lambda i: extract(i.put("genome.fa", ">chr1\nACGT\n>chr2\nACGT\n>chr1\nACGT\n")),
        "genome.fa, line 5: sequence name 'chr1' appears more than once",
    ),
    "extract-genome-other-chromosome-names": (
        lambda i: extract(i.put("genome.fa", ">scaffold_1\n" + "ACGT" * 50 + "\n")),
        ("no chromosome in common between the genome /", "genome.fa and the annotation /", "annotation.gtf.gz: genome"),
    ),
    "extract-genome-one-chromosome-under-two-names": (
        lambda i: extract(i.put("genome.fa", ">chr1\nACGT\n>1\nACGT\n")),
        "genome.fa, line 3: genome sequences 'chr1' and '1' name the same chromosome",
    ),
    "extract-genome-dangling-link": (
        lambda i: extract(dangling(i, "genome.fa")),
        "Invalid value for '--genome'",
    ),
    "extract-genome-folder": (lambda i: extract(folder(i, "genome")), "'--genome': File"),
    # ---- extract_tss_windows: annotation
    "extract-gtf-gzip-twice": (
        lambda i: extract(annotation=i.put("a.gtf.gz", gzip.compress(gzip.compress(GTF.encode())))),
        "a.gtf.gz: gzip file whose content is gzip-compressed again",
    ),
    "extract-gtf-truncated-gzip": (
        lambda i: extract(annotation=i.put("a.gtf.gz", gzip.compress(GTF.encode())[:3000])),
        "a.gtf.gz: gzip stream is truncated or corrupt",
    ),
    "extract-gtf-truncated-bzip2": (
        lambda i: extract(annotation=i.put("a.gtf.bz2", bz2.compress(GTF.encode())[:3000])),
        "a.gtf.bz2: bzip2 stream is truncated or corrupt",
    ),
    "extract-gtf-zip": (
        lambda i: extract(annotation=i.put("a.gtf.zip", zipped("a.gtf", GTF))),
        "a.gtf.zip: a zip archive, which seq2expr does not read",
    ),
    "extract-gtf-is-gff3": (
        lambda i: extract(annotation=i.put("a.gff3", gff3(GTF))),
        "a.gff3, line 1: this looks like GFF3",
    ),
    "extract-gtf-gff3-without-pragma": (
        lambda i: extract(annotation=i.put("a.gff", gff3(GTF).split("\n", 1)[1])),
        "a.gff, line 1: this looks like GFF3",
    ),
    "extract-gtf-latin1": (
        lambda i: extract(annotation=i.put("a.gtf", GTF.replace("SYN1", "SYNé1").encode("latin-1"))),
        f"a.gtf, line {GENE_LINE}: byte 0xe9 at column",
    ),
    "extract-gtf-binary": (
        lambda i: extract(annotation=i.put("a.gtf", b"chr1\tX\tgene" + b"\x00" * 40)),
        "a.gtf, line 1: binary data",
    ),
    "extract-gtf-utf16": (
        lambda i: extract(annotation=i.put("a.gtf", GTF.encode("utf-16"))),
        "a.gtf, line 1: UTF-16 text",
    ),
    "extract-gtf-spaces-not-tabs": (
        lambda i: extract(annotation=i.put("a.gtf", GTF.replace("\t", "  "))),
        f"a.gtf, line {GENE_LINE}: 1 tab-separated columns; a GTF line has 9",
    ),
    "extract-gtf-start-after-end": (
        lambda i: extract(annotation=i.put("a.gtf", replace_first(GTF, "chr1", set_field(3, "999999")))),
        f"a.gtf, line {GENE_LINE}: bad gene coordinates 999999..2435",
    ),
    "extract-gtf-coordinate-not-a-number": (
        lambda i: extract(annotation=i.put("a.gtf", replace_first(GTF, "chr1", set_field(3, "3e2")))),
        f"a.gtf, line {GENE_LINE}: gene coordinates '3e2'..'2435' are not whole numbers",
    ),
    "extract-gtf-unknown-strand": (
        lambda i: extract(annotation=i.put("a.gtf", replace_first(GTF, "chr1", set_field(6, ".")))),
        f"a.gtf, line {GENE_LINE}: strand '.' of a gene line",
    ),
    "extract-gtf-empty": (lambda i: extract(annotation=i.put("a.gtf", "")), "a.gtf: no 'gene' lines"),
    "extract-gtf-header-only": (
        lambda i: extract(annotation=i.put("a.gtf", "##description: nothing\n##provider: x\n")),
        "a.gtf: no 'gene' lines",
    ),
    # ---- extract_tss_windows: nothing kept (the ledger's counts on the error line, not an empty FASTA)
    "extract-biotype-selects-no-gene": (
        lambda i: extract(None, None, "--biotype", "miRNA"),
        f"no gene kept from {TEST_DATA / 'annotation.gtf.gz'}: 497 biotype_not_selected; --biotype miRNA "
        "matches no gene; the annotation has protein_coding (441), lncRNA (56)",
    ),
    "extract-genome-shorter-than-every-window": (
        lambda i: extract(i.put("genome.fa", ">chr1\n" + "ACGT" * 100 + "\n")),
        f"no gene kept from {TEST_DATA / 'annotation.gtf.gz'}: 301 chromosome_missing, 140 window_off_chromosome, "
        "56 biotype_not_selected",
    ),
    "extract-genome-hard-masked": (
        lambda i: extract(i.put("genome.fa", hard_masked(gzip.decompress(GENOME_GZ).decode()))),
        f"no gene kept from {TEST_DATA / 'annotation.gtf.gz'}: 435 too_many_n, 56 biotype_not_selected, "
        "6 window_off_chromosome",
    ),
    "extract-negative-upstream": (
        lambda i: extract(None, None, "--upstream", "-5"),
        "Invalid value for '--upstream': -5 is not in the range x>=0",
    ),
    "extract-max-n-fraction-above-one": (
        lambda i: extract(None, None, "--max-n-fraction", "1.5"),
        "Invalid value for '--max-n-fraction'",
    ),
    # ---- build_dataset
    "build-expression-truncated-gzip": (
        lambda i: build(i, i.put("e.gct.gz", (TEST_DATA / "expression.gct.gz").read_bytes()[:500])),
        "e.gct.gz: gzip stream is truncated or corrupt",
    ),
    "build-expression-gzip-twice": (
        lambda i: build(i, i.put("e.gct.gz", gzip.compress((TEST_DATA / "expression.gct.gz").read_bytes()))),
        "e.gct.gz: gzip file whose content is gzip-compressed again",
    ),
    "build-expression-zstd": (
        lambda i: build(i, i.put("e.gct.zst", b"\x28\xb5\x2f\xfd" + bytes(32))),
        "e.gct.zst: zstd-compressed",
    ),
    "build-expression-cp1252": (
        lambda i: build(i, i.put("e.gct", GCT.replace("SYN2", "SYN\u20182").encode("cp1252"))),
        "e.gct, line 5: byte 0x91 at column",
    ),
    "build-expression-value-not-a-number": (
        lambda i: build(i, i.put("e.gct", replace_first(GCT, "ENSG00000100002", set_field(2, "0,25")))),
        "e.gct, line 5: value '0,25' for Pituitary is not a number",
    ),
    "build-expression-ragged-row": (
        lambda i: build(i, i.put("e.gct", replace_first(GCT, "ENSG00000100002", lambda f: f[:-1]))),
        "e.gct, line 5: 4 columns; the header has 5",
    ),
    "build-expression-gct-dimensions": (
        lambda i: build(i, i.put("e.gct", GCT.replace("509\t3", "510\t3", 1))),
        "e.gct, line 2: dimensions line says 510 genes, the file has 509",
    ),
    "build-expression-header-only": (
        lambda i: build(i, i.put("e.tsv", "gene\tPituitary\n")),
        "e.tsv: no gene rows after the header",
    ),
    "build-expression-empty": (lambda i: build(i, i.put("e.tsv", "")), "e.tsv: empty file"),
    "build-expression-no-tissue-column": (
        lambda i: build(i, i.put("e.tsv", "gene\nENSG00000100002\n")),
        "e.tsv, line 1: the header names no tissue column",
    ),
    "build-unknown-tissue": (
        lambda i: build(i, None, "Pituitary gland"),
        "unknown tissue 'Pituitary gland'; available: Pituitary, Liver, Brain - Cortex",
    ),
    "build-windows-missing-column": (
        lambda i: [*build(i), "--windows", i.put("w.tsv", "gene_id\tstart\nX\t1\n")],
        "w.tsv: missing column(s) chrom",
    ),
    "build-expression-value-infinite": (
        lambda i: build(i, i.put("e.gct", replace_first(GCT, "ENSG00000100002", set_field(2, "inf")))),
        "e.gct, line 5: value 'inf' for Pituitary is not a finite number",
    ),
    "build-expression-tissue-twice": (
        lambda i: build(i, i.put("e.tsv", "gene\tPituitary\tPituitary\nENSG00000100002\t1\t2\n")),
        "e.tsv, line 1: tissue column(s) Pituitary appear more than once",
    ),
    "build-expression-tissue-ambiguous": (
        lambda i: build(
            i, i.put("e.tsv", "gene\tBrain - Cortex\tbrain_cortex\nENSG00000100002\t1\t2\n"), "brain cortex"
        ),
        "tissue 'brain cortex' matches several columns (Brain - Cortex, brain_cortex)",
    ),
    "build-expression-no-gene-in-common": (
        lambda i: build(i, i.put("e.tsv", "gene\tPituitary\nENSG00000999999.1\t1\n")),
        ("no gene of /", "tss_windows.fa has a Pituitary value in /", "e.tsv: 433 no_expression, 1 no_window"),
    ),
    # ---- build_dataset: too few genes, a constant target, or a split without train or test
    "build-tissue-column-all-missing": (
        lambda i: build(i, i.put("e.gct", gct_pituitary("NA"))),
        ("has a Pituitary value in /", "e.gct: 433 missing_expression, 75 no_window, 2 par_y_copy"),
    ),
    "build-tissue-expresses-no-gene": (
        lambda i: build(i, i.put("e.gct", gct_pituitary("0"))),
        ("is expressed in Pituitary in /", "e.gct: all 433 have the value 0; a constant target"),
    ),
    "build-only-one-gene-matched": (
        lambda i: [*build(i), "--sequences", i.put("w.fa", first_records(i.windows / "tss_windows.fa", 1))],
        ("only 1 gene of /", "w.fa has a Pituitary value in /", "expression.gct.gz: 507 no_window, 1 par_y_copy"),
    ),
    "build-grouped-split-no-test-gene": (
        lambda i: build_bare(i, i.put("w.tsv", overlapping(windows_text(i))), "--folds", "1"),
        (
            "the grouped split of the 433 genes of /",
            "puts no gene in test: 433 train; a group of similar genes is never split, and these form 1 group(s), "
            "the largest of 433 gene(s)",
        ),
    ),
    "build-more-folds-than-groups": (
        lambda i: build_bare(i, i.put("w.tsv", overlapping(windows_text(i)))),
        (
            "--folds 5 on the 433 genes of /",
            "some fold would hold no gene: 1 gene group; a group of similar genes is never split (gene_groups.tsv)",
        ),
    ),
    "build-chromosome-split-no-train-gene": (
        lambda i: build(
            i,
            None,
            "Pituitary",
            "--split",
            "chromosome",
            "--test-chromosomes",
            "chr1",
            "--val-chromosomes",
            "chr2,chr3,chrX,chrM",
        ),
        ("the chromosome split of the 433 genes of /", "puts no gene in train: 294 val, 139 test"),
    ),
    "build-dexter-split-val-takes-every-train-gene": (
        lambda i: [
            *build(i, None, "Pituitary", "--split", "dexter", "--val-fraction", "0.9"),
            "--sequences",
            i.put("w.fa", first_records(i.windows / "tss_windows.fa", 2)),
        ],
        ("the dexter split of the 2 genes of /", "puts no gene in train: 1 test, 1 val"),
    ),
    "build-sequences-is-a-gtf": (
        lambda i: [*build(i), "--sequences", i.put("w.fa", GTF)],
        "w.fa, line 1: sequence before the first '>' header",
    ),
    "build-windows-is-the-fasta": (
        lambda i: build_bare(i, i.windows / "tss_windows.fa"),
        "tss_windows.fa: missing column(s) gene_id, chrom, start, end",
    ),
    "build-windows-start-not-a-number": (
        lambda i: build_bare(i, i.put("w.tsv", replace_first(windows_text(i), "ENSG", set_field(5, "12k")))),
        "w.tsv, line 2: start value '12k' is not a finite number",
    ),
    "build-windows-end-infinite": (
        lambda i: build_bare(i, i.put("w.tsv", replace_first(windows_text(i), "ENSG", set_field(6, "inf")))),
        "w.tsv, line 2: end value 'inf' is not a finite number",
    ),
    "build-windows-end-before-start": (
        lambda i: build_bare(i, i.put("w.tsv", replace_first(windows_text(i), "ENSG", set_field(6, "5")))),
        "w.tsv, line 2: window 2099..5; expected 0 <= start < end",
    ),
    "build-windows-duplicate-gene": (
        lambda i: build_bare(i, i.put("w.tsv", windows_text(i) + windows_text(i).split("\n")[1] + "\n")),
        "appears more than once",
    ),
    "build-windows-lack-genes-of-the-fasta": (
        lambda i: build_bare(
            i, i.put("w.tsv", "\n".join(windows_text(i).split("\n")[:1] + windows_text(i).split("\n")[2:]))
        ),
        ("1 gene(s) of /", "tss_windows.fa have no row in /", "w.tsv: ENSG"),
    ),
    "build-grouped-without-windows": (
        lambda i: build_bare(i, None),
        "--split grouped needs the windows' coordinates (chromosome, start, end): pass --windows tss_windows.tsv",
    ),
    "build-chromosome-split-absent-chromosome": (
        lambda i: build(i, None, "Pituitary", "--split", "chromosome", "--test-chromosomes", "chr99"),
        "no gene of the dataset is on chromosome(s) 99",
    ),
    "build-min-identity-zero": (
        lambda i: build(i, None, "Pituitary", "--min-identity", "0"),
        "Invalid value for '--min-identity'",
    ),
    # ---- make_test_data
    "testdata-seed-negative": (lambda i: ["make_test_data.py", "--seed", "-1"], "Invalid value for '--seed'"),
    "build-val-fraction-out-of-range": (
        lambda i: build(i, None, "Pituitary", "--val-fraction", "1.5"),
        "Invalid value for '--val-fraction'",
    ),
    "build-seed-negative": (lambda i: build(i, None, "Pituitary", "--seed", "-1"), "Invalid value for '--seed'"),
    # ---- dexter
    "dexter-dataset-truncated-gzip": (
        lambda i: dexter(i.put("d.tsv.gz", i.dataset.read_bytes()[:2000])),
        "d.tsv.gz: gzip stream is truncated or corrupt",
    ),
    "dexter-dataset-missing-column": (
        lambda i: dexter(i.put("d.tsv", "gene_id\tsplit\ttarget\nG1\ttrain\t1\n")),
        "d.tsv: missing column(s) chrom, tpm, sequence",
    ),
    "dexter-dataset-bad-split": (
        lambda i: dexter(i.put("d.tsv", dataset_text(i).replace("\ttrain\t", "\tTraining\t", 1))),
        "d.tsv, line 2: split 'Training' is not one of train, val, test",
    ),
    "dexter-dataset-duplicate-gene": (
        lambda i: dexter(i.put("d.tsv", dataset_text(i) + dataset_text(i).split("\n")[1] + "\n")),
        "appears more than once",
    ),
    "dexter-dataset-header-only": (
        lambda i: dexter(i.put("d.tsv", dataset_text(i).split("\n")[0] + "\n")),
        "d.tsv: the dataset has no genes",
    ),
    "dexter-dataset-no-test-gene": (
        lambda i: dexter(i.put("d.tsv", relabel(dataset_text(i), "test", "train"))),
        "d.tsv: the dataset has no test genes; DExTER needs a train and a test part",
    ),
    "dexter-dataset-folder": (lambda i: dexter(folder(i, "d")), "Invalid value for '--dataset'"),
    "dexter-dataset-target-infinite": (
        lambda i: dexter(i.put("d.tsv", replace_first(dataset_text(i), "ENSG", set_field(4, "inf")))),
        "d.tsv, line 2: target value 'inf' is not a finite number",
    ),
    "dexter-dataset-tpm-nan": (
        lambda i: dexter(i.put("d.tsv", replace_first(dataset_text(i), "ENSG", set_field(3, "nan")))),
        "d.tsv, line 2: tpm value 'nan' is not a finite number",
    ),
    "dexter-bin-edges-not-numbers": (
        lambda i: dexter(i.dataset, "--bin-edges", "a,b"),
        "--bin-edges 'a,b': expected comma-separated integers",
    ),
    "dexter-threads-zero": (lambda i: dexter(i.dataset, "--threads", "0"), "Invalid value for '--threads'"),
    # ---- dexter_predict
    "dexterpredict-model-not-json": (
        lambda i: predict_dexter(i, i.put("model.json", "{'variables': }")),
        "model.json: not a DExTER model.json",
    ),
    "dexterpredict-model-is-binary": (
        lambda i: predict_dexter(i, i.put("model.json", (TINY / "model.safetensors").read_bytes())),
        "model.json, line 1: binary data (a NUL byte); expected a text file",
    ),
    "dexterpredict-wrong-window-length": (
        lambda i: predict_dexter(i, None, i.put("w.fa", ">G1\n" + "ACGT" * 10 + "\n")),
        "w.fa, line 1: window 'G1' is 40 bp; the model expects 1001 bp windows",
    ),
    "dexterpredict-sequences-empty": (
        lambda i: predict_dexter(i, None, i.put("w.fa", "")),
        "w.fa: no FASTA record found",
    ),
    # ---- finetune_dnabert2
    "finetune-dataset-no-train-gene": (
        lambda i: finetune(i.put("d.tsv", relabel(relabel(dataset_text(i), "train", "test"), "val", "test"))),
        "d.tsv: the train split is empty; the model needs training genes",
    ),
    "finetune-model-folder-without-config": (
        lambda i: finetune(i.dataset, folder(i, "empty_model")),
        "empty_model: missing tokenizer.json (a DNABERT-2 folder needs its tokenizer)",
    ),
    "finetune-model-corrupt-weights": (
        lambda i: finetune(i.dataset, with_model_file(i, "model.safetensors", b"\x00" * 100)),
        "model/model.safetensors: cannot read the weights",
    ),
    "finetune-model-config-not-json": (
        lambda i: finetune(i.dataset, with_model_file(i, "config.json", b"{ not json")),
        "model/config.json: not valid JSON",
    ),
    "finetune-batch-size-zero": (
        lambda i: finetune(i.dataset, TINY, "--batch-size", "0"),
        "Invalid value for '--batch-size': 0 is not in the range x>=1",
    ),
    "finetune-learning-rate-not-a-number": (
        lambda i: finetune(i.dataset, TINY, "--learning-rate", "fast"),
        "Invalid value for '--learning-rate': 'fast' is not a valid float",
    ),
    "finetune-global-batch-not-multiple": (
        lambda i: finetune(i.dataset, TINY, "--batch-size", "3", "--global-batch-size", "32"),
        "--global-batch-size 32 must be a multiple of --batch-size 3",
    ),
    "finetune-dataset-bad-letters": (
        lambda i: finetune(i.put("d.tsv", replace_first(dataset_text(i), "ENSG", lambda f: [*f[:5], "ACGU*ACGT"]))),
        "d.tsv: gene ENSG00000100002.1 (line 2): character 'U' at position 4; expected only A, C, G, T or N",
    ),
    # ---- predict_dnabert2
    "predict-sequences-not-fasta": (
        lambda i: predict_dnabert2(i.put("w.fa", GCT)),
        "w.fa, line 1: sequence before the first '>' header",
    ),
    "predict-model-folder-without-tokenizer": (
        lambda i: predict_dnabert2(i.windows / "tss_windows.fa", folder(i, "empty_model")),
        "empty_model: missing",
    ),
    "predict-sequences-empty": (
        lambda i: predict_dnabert2(i.put("w.fa", "")),
        "w.fa: no FASTA record found",
    ),
    # ---- probe_dnabert2
    "probe-dataset-two-fit-genes": (
        lambda i: probe(i.put("d.tsv", relabel(relabel(dataset_text(i), "train", "test", 2), "val", "test"))),
        "d.tsv: only 2 train/val gene(s); the probe needs at least 3",
    ),
    "probe-dataset-target-infinite": (
        lambda i: probe(i.put("d.tsv", replace_first(dataset_text(i), "ENSG", set_field(4, "-inf")))),
        "d.tsv, line 2: target value '-inf' is not a finite number",
    ),
    "probe-groups-bad-reason": (
        lambda i: probe(
            i.dataset, "--groups", i.put("g.tsv", groups_text(i).replace("\tsingleton\t", "\tparalog\t", 1))
        ),
        "g.tsv, line 2: reason 'paralog' is not one of singleton, overlap, homology, overlap+homology",
    ),
    "probe-groups-lack-genes-of-the-dataset": (
        lambda i: probe(i.dataset, "--groups", i.put("g.tsv", "\n".join(groups_text(i).split("\n")[:-2]) + "\n")),
        ("g.tsv", "dataset.tsv.gz"),
    ),
    # ---- train_cnn
    "cnn-dataset-target-infinite": (
        lambda i: cnn(i.put("d.tsv", replace_first(dataset_text(i), "ENSG", set_field(4, "inf")))),
        "d.tsv, line 2: target value 'inf' is not a finite number",
    ),
    "cnn-dataset-missing-column": (
        lambda i: cnn(i.put("d.tsv", "gene_id\tsplit\ttarget\nG1\ttrain\t1\n")),
        "d.tsv: missing column(s) chrom, tpm, sequence",
    ),
    "cnn-dataset-no-train-gene": (
        lambda i: cnn(i.put("d.tsv", relabel(relabel(dataset_text(i), "train", "test"), "val", "test"))),
        "d.tsv: the train split is empty; the model needs training genes",
    ),
    "cnn-batch-size-zero": (lambda i: cnn(i.dataset, "--batch-size", "0"), "--batch-size must be at least 1, got 0"),
    # ---- probe_glm
    "probeglm-dataset-target-infinite": (
        lambda i: [
            "probe_glm.py",
            "--model",
            TINY,
            "--device",
            "cpu",
            "--dataset",
            i.put("d.tsv", replace_first(dataset_text(i), "ENSG", set_field(4, "inf"))),
        ],
        "d.tsv, line 2: target value 'inf' is not a finite number",
    ),
    "probeglm-dataset-no-fit-gene": (
        lambda i: [
            "probe_glm.py",
            "--model",
            TINY,
            "--device",
            "cpu",
            "--dataset",
            i.put("d.tsv", relabel(relabel(dataset_text(i), "train", "test"), "val", "test")),
        ],
        "d.tsv: only 0 train/val gene(s); the probe needs at least 3",
    ),
    "probeglm-model-folder-empty": (
        lambda i: ["probe_glm.py", "--model", folder(i, "empty_model"), "--device", "cpu", "--dataset", i.dataset],
        "empty_model",
    ),
    # ---- make_tiny_glms
    # ---- shuffle_windows
    "shuffle-sequences-are-a-gtf": (
        lambda i: shuffle(i.put("windows.fa", GTF)),
        "windows.fa, line 1: sequence before the first '>' header",
    ),
    "shuffle-empty-fasta": (lambda i: shuffle(i.put("windows.fa", "")), "windows.fa: no FASTA record found"),
    "shuffle-one-bp-tile": (lambda i: shuffle(i.put("windows.fa", ">g\nACGT\n"), "--tile", "1"), "--tile"),
    # ---- attribute
    "attribute-model-is-not-dexter": (
        lambda i: attribute(i, i.put("model.json", "{'variables': }")),
        "model.json: not a DExTER model.json",
    ),
    "attribute-tss-outside-the-windows": (
        lambda i: attribute(i, None, "--tss-index", "5000"),
        "--tss-index 5000 is outside the 1001 bp windows",
    ),
    "attribute-fold-of-a-single-split": (
        lambda i: attribute(i, None, "--fold", "2"),
        "--fold 2 --repeat 0 on a single-split dataset (no fold column); expected --fold 0",
    ),
    "attribute-unknown-kind": (
        lambda i: [*attribute(i), "--model-kind", "probe"],
        "Invalid value for '--model-kind'",
    ),
    "attribute-base-model-of-dexter": (
        lambda i: [*attribute(i), "--base-model", TINY],
        "--base-model is the frozen checkpoint of a probe (dnabert2_probe, probe_glm), not of dexter",
    ),
    "attribute-trust-remote-code-for-dexter": (
        lambda i: [*attribute(i), "--trust-remote-code"],
        "--trust-remote-code is for the gLM probes (probe_glm), not dexter",
    ),
    "attribute-probe-folder-without-readout": (
        lambda i: [*attribute(i, folder(i, "probe")), "--model-kind", "dnabert2_probe"],
        "probe: no readout.safetensors: expected a probe command's output folder or its read-out",
    ),
    "attribute-readout-not-safetensors": (
        lambda i: [*attribute(i, i.put("readout.safetensors", "{}")), "--model-kind", "probe_glm"],
        "readout.safetensors: not a probe read-out",
    ),
    "tinyglms-unknown-family": (
        lambda i: ["make_tiny_glms.py", "--family", "gpt"],
        "Invalid value for '--family'",
    ),
    # ---- evaluate_models
    "evaluate-predictions-not-finite": (
        lambda i: evaluate(i.put("p.tsv", replace_first(predictions_text(i), "ENSG", set_field(3, "inf")))),
        "p.tsv, line 2: predicted value 'inf' is not a finite number",
    ),
    "evaluate-predictions-no-test-gene": (
        lambda i: evaluate(i.put("p.tsv", relabel(predictions_text(i), "test", "train"))),
        "p.tsv: no gene in the test split; the evaluation reports test-set performance",
    ),
    "evaluate-predictions-empty": (lambda i: evaluate(i.put("p.tsv", "")), "p.tsv: empty file"),
    "evaluate-predictions-crlf-header-only": (
        lambda i: evaluate(i.put("p.tsv", "gene_id\tsplit\tobserved\tpredicted\tmodel\r\n")),
        "p.tsv: no predictions after the header line",
    ),
    "evaluate-predictions-duplicate-gene": (
        lambda i: evaluate(i.put("p.tsv", predictions_text(i) + predictions_text(i).split("\n")[1] + "\n")),
        "p.tsv, line 435: gene ENSG00000100002.1 appears more than once",
    ),
    "evaluate-predictions-is-a-dataset": (lambda i: evaluate(i.dataset), "missing column(s) observed, predicted"),
    "evaluate-bootstrap-too-few": (
        lambda i: [*evaluate(i.dexter / "predictions.tsv")[:-1], "10"],
        "Invalid value for '--bootstrap'",
    ),
    "evaluate-groups-lack-genes-of-the-dataset": (
        lambda i: [
            *evaluate(i.dexter / "predictions.tsv"),
            "--dataset",
            i.dataset,
            "--groups",
            i.put("g.tsv", "\n".join(groups_text(i).split("\n")[:-2]) + "\n"),
        ],
        ("g.tsv", "dataset.tsv.gz"),
    ),
    "evaluate-tss-index-outside-the-windows": (
        lambda i: [*evaluate(i.dexter / "predictions.tsv"), "--dataset", i.dataset, "--tss-index", "5000"],
        ("dataset.tsv.gz", "5000"),
    ),
    # ---- fetch_inputs (nothing here reaches the network)
    "fetch-registry-not-json": (
        lambda i: ["fetch_inputs.py", "--list", "--registry", i.put("r.json", '{\n  "references": {\n  oops\n')],
        "r.json, line 3: not valid JSON",
    ),
    "fetch-registry-folder": (
        lambda i: ["fetch_inputs.py", "--list", "--registry", folder(i, "registry")],
        "Invalid value for '--registry'",
    ),
    "fetch-bad-sha256": (
        lambda i: ["fetch_inputs.py", "--url", "http://127.0.0.1:9/x.gz", "--sha256", "xyz"],
        "sha256 checksum 'xyz' is not 64 hexadecimal digits",
    ),
    # ---- make_tiny_dnabert2
    "tiny-sequences-not-fasta": (
        lambda i: ["make_tiny_dnabert2.py", "--sequences", i.put("s.fa", GCT), "--outdir", i.tmp / "m"],
        "s.fa, line 1: sequence before the first '>' header",
    ),
    "tiny-heads-do-not-divide": (
        lambda i: [
            "make_tiny_dnabert2.py",
            "--sequences",
            TEST_DATA / "genome.fa.gz",
            "--hidden-size",
            "30",
            "--heads",
            "4",
            "--outdir",
            i.tmp / "m",
        ],
        "--hidden-size 30 is not a multiple of --heads 4",
    ),
}


@pytest.fixture(scope="module")
def clean(test_windows: Path, synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """DExTER's model and predictions on the bundled dataset (inputs of dexter_predict and evaluate)."""
    outdir = tmp_path_factory.mktemp("dexter")
    result = invoke("dexter.py", "--dataset", synthetic_dataset, "--outdir", outdir)
    assert result.returncode == 0, result.stderr
    return {"windows": test_windows, "dataset": synthetic_dataset, "dexter": outdir}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line(name: str, clean: dict[str, Path], tmp_path: Path) -> None:
    arguments, expected = CASES[name]
    inputs = Inputs(clean["windows"], clean["dataset"], clean["dexter"], tmp_path)
    script, *args = arguments(inputs)
    assert script == COMMANDS[name.split("-")[0]], name
    result = invoke(str(script), *args, "--outdir", tmp_path / "out")
    fragments = (expected,) if isinstance(expected, str) else expected
    assert_one_line_error(result, fragments[0])
    assert all(fragment in result.stderr for fragment in fragments), result.stderr


def test_the_table_is_large_and_covers_every_command() -> None:
    commands = {name.split("-")[0] for name in CASES}
    assert len(CASES) >= 60
    assert commands == set(COMMANDS)
    assert set(COMMANDS.values()) == {path.name for path in BIN.glob("*.py")}


# --- inputs written differently that mean the same ---------------------------------------------


def outputs(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def run_ok(*args: str | Path) -> None:
    result = invoke(*map(str, args))
    assert result.returncode == 0, result.stderr


def test_other_compressions_and_crlf_give_the_clean_windows(tmp_path: Path) -> None:
    """bzip2, xz and CRLF line ends (a file that passed through Windows) are read, not refused."""
    run_ok(*extract(), "--outdir", tmp_path / "clean")
    genome = gzip.decompress(GENOME_GZ)
    (tmp_path / "a.gtf.bz2").write_bytes(bz2.compress(GTF.encode()))
    (tmp_path / "g.fa.xz").write_bytes(lzma.compress(genome))
    (tmp_path / "g.fa").write_bytes(genome.replace(b"\n", b"\r\n"))
    (tmp_path / "a.gtf").write_bytes(GTF.replace("\n", "\r\n").encode())
    variants = {
        "bzip2": (TEST_DATA / "genome.fa.gz", tmp_path / "a.gtf.bz2"),
        "xz": (tmp_path / "g.fa.xz", TEST_DATA / "annotation.gtf.gz"),
        "crlf": (tmp_path / "g.fa", tmp_path / "a.gtf"),
    }
    for name, (genome_path, annotation_path) in variants.items():
        run_ok(*extract(genome_path, annotation_path), "--outdir", tmp_path / name)
        assert outputs(tmp_path / name) == outputs(tmp_path / "clean"), name


@pytest.mark.parametrize("tissue", ["pituitary", " PITUITARY ", "Pituitary"])
def test_tissue_case_and_spacing_and_crlf_give_the_clean_dataset(
    test_windows: Path, tmp_path: Path, tissue: str
) -> None:
    inputs = Inputs(test_windows, Path(), Path(), tmp_path)
    run_ok(*build(inputs), "--outdir", tmp_path / "clean")
    crlf = inputs.put("e.gct", GCT.replace("\n", "\r\n"))
    run_ok(*build(inputs, crlf, tissue), "--outdir", tmp_path / "variant")
    assert outputs(tmp_path / "variant") == outputs(tmp_path / "clean")


def test_crlf_predictions_give_the_clean_metrics(clean: dict[str, Path], tmp_path: Path) -> None:
    predictions = clean["dexter"] / "predictions.tsv"
    crlf = tmp_path / "crlf" / "predictions.tsv"
    crlf.parent.mkdir()
    crlf.write_bytes(predictions.read_bytes().replace(b"\n", b"\r\n"))
    run_ok(*evaluate(predictions), "--outdir", tmp_path / "clean")
    run_ok(*evaluate(crlf), "--outdir", tmp_path / "variant")
    assert (tmp_path / "variant" / "metrics.tsv").read_bytes() == (tmp_path / "clean" / "metrics.tsv").read_bytes()


def test_registry_json_is_read_through_the_input_opener(tmp_path: Path) -> None:
    """A gzip-compressed registry is read like any other input (one opener for every file)."""
    registry = {"references": {"x": {"description": "d", "url": "https://example.org/x.gz", "checksum": None,
                                     "note": "n"}}}  # fmt: skip
    path = tmp_path / "r.json.gz"
    path.write_bytes(gzip.compress(json.dumps(registry).encode()))
    result = invoke("fetch_inputs.py", "--list", "--registry", path)
    assert result.returncode == 0 and result.stdout.startswith("x\tx.gz\tnone"), result.stderr


# --- the error boundary itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (KeyError("chrUn"), "unexpected KeyError: 'chrUn' (rerun with --verbose for the traceback"),
        (EOFError("Compressed file ended"), "unexpected EOFError: Compressed file ended"),  # click: "Aborted!"
        (PermissionError(13, "Permission denied", "/data/genome.fa"), "/data/genome.fa: permission denied"),
        (MemoryError(), "unexpected MemoryError: no message"),
        (ValueError("two\nlines"), "unexpected ValueError: two lines"),
    ],
)
def test_no_exception_type_escapes_the_boundary(error: Exception, message: str) -> None:
    """Whatever a command's body raises is one `Error:` line; the traceback only comes with --verbose."""

    @command()
    @verbose_option
    def broken(verbose: bool) -> None:
        setup_logging(verbose)
        raise error

    quiet = CliRunner().invoke(broken, [], catch_exceptions=False)
    assert_one_line_error(Ran(quiet.exit_code, quiet.stdout, quiet.stderr), message)
    assert "Aborted!" not in quiet.stderr
    if message.startswith("unexpected"):
        loud = CliRunner().invoke(broken, ["--verbose"], catch_exceptions=False)
        assert loud.exit_code == 1 and "Traceback" in loud.stderr and message in loud.stderr


def test_nothing_kept_names_the_largest_reasons_first_and_sums_the_rest() -> None:
    """One line whatever the ledger holds: the three largest counts (ties by name), the others summed."""
    reasons = ["b"] * 5 + ["a"] * 5 + ["c"] * 9 + ["d"] * 2 + ["e"]
    error = NothingKept("no gene kept from x.gtf", reasons, "try --y")
    assert str(error) == "no gene kept from x.gtf: 9 c, 5 a, 5 b, 3 for 2 other reason(s); try --y"
    assert top_reasons([]) == "nothing was set aside either (empty input)"
    assert error.counts["d"] == 2


def test_usage_errors_are_one_line_and_every_command_has_short_help() -> None:
    for script in ("extract_tss_windows.py", "build_dataset.py", "dexter.py", "dexter_predict.py",
                   "finetune_dnabert2.py", "evaluate_models.py", "fetch_inputs.py", "make_test_data.py",
                   "make_tiny_dnabert2.py", "train_cnn.py", "probe_dnabert2.py", "predict_dnabert2.py"):  # fmt: skip
        assert invoke(script, "-h").returncode == 0, script
        assert_one_line_error(invoke(script, "--no-such-option"), "No such option '--no-such-option'")
