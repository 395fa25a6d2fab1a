"""Expression tables: GCT and plain TSV, gzip, tissue lookup and malformed files."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seq2expr.errors import InputError
from seq2expr.io.expression import base_gene_id, read_expression, select_tissue
from seq2expr.io.tissues import EXIT_BAD_INPUT, table_tissues

GCT = "#1.2\n2\t2\nName\tDescription\tPituitary\tBrain - Cortex\nENSG1.2\tA\t1.5\t0\nENSG2.1\tB\t0.001\t7\n"
TSV = "gene\tPituitary\tWhole.Blood\nENSG1.2\t1.5\t3\nENSG2.1\t0.001\t4\n"


def write(tmp_path: Path, text: str, name: str = "e.gct") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_gct_and_tsv_give_gene_and_tissue_columns(tmp_path: Path) -> None:
    gct = read_expression(write(tmp_path, GCT))
    assert list(gct.columns) == ["gene_id", "Pituitary", "Brain - Cortex"]
    assert gct["Pituitary"].tolist() == [1.5, 0.001]
    tsv = read_expression(write(tmp_path, TSV, "e.tsv"))
    assert list(tsv.columns) == ["gene_id", "Pituitary", "Whole.Blood"]
    assert tsv["gene_id"].tolist() == ["ENSG1.2", "ENSG2.1"]


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "e.gct.gz"
    path.write_bytes(gzip.compress(GCT.encode()))
    assert read_expression(path).shape == (2, 3)


def test_tissue_matching_ignores_case_and_punctuation(tmp_path: Path) -> None:
    table = read_expression(write(tmp_path, GCT))
    assert select_tissue(table, "Pituitary") == "Pituitary"
    assert select_tissue(table, "brain_cortex") == "Brain - Cortex"


def test_unknown_tissue_lists_the_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path, GCT)
    with pytest.raises(InputError, match=r"unknown tissue 'Liver'; available: Pituitary, Brain - Cortex"):
        select_tissue(read_expression(path), "Liver", path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "#1.2\n2\t3\nName\tDescription\tPituitary\tLiver\nG1\tA\t1\t2\nG2\tB\t1\t2\n",
            "line 2: dimensions line says 3",
        ),
        (
            "#1.2\n3\t2\nName\tDescription\tPituitary\tLiver\nG1\tA\t1\t2\nG2\tB\t1\t2\n",
            "line 2: dimensions line says 3 genes",
        ),
        ("#1.2\ntwo\t2\nName\tDescription\tP\tL\n", "line 2: dimensions line 'two 2'"),
        ("#1.2\n2\t2\nName\tDescription\tP\tL\nG1\tA\t1\t2\nG2\tB\t1\n", "line 5: 3 columns; the header has 4"),
        ("gene\tP\nG1\t1.0\nG2\tlots\n", "line 3: value 'lots' for P is not a number"),
        ("", "empty file"),
        ("gene\tP\n", "no gene rows"),
    ],
)
def test_malformed_tables_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as error:
        read_expression(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("gene_id", "base"),
    [("ENSG00000182378.13", "ENSG00000182378"), ("ENSG00000182378.13_PAR_Y", "ENSG00000182378"), ("G", "G")],
)
def test_base_gene_id(gene_id: str, base: str) -> None:
    assert base_gene_id(gene_id) == base


# --- the tissue check the pipeline runs on its head node, before any task ------------------------

#: Runs `python3 -m seq2expr.io.tissues` with the package's dependencies made unimportable, as on a
#: head node whose python3 has only the standard library.
STDLIB_ONLY = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numpy", "pandas", "click", "torch", "yaml", "scipy", "sklearn"):
            raise ImportError(f"{name} is not on this head node")
sys.meta_path.insert(0, Block())
sys.argv = ["python3 -m seq2expr.io.tissues", *sys.argv[1:]]
runpy.run_module("seq2expr.io.tissues", run_name="__main__")
"""
SRC = Path(__file__).resolve().parents[2] / "src"


def head_node(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-s", "-c", STDLIB_ONLY, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=False,
    )


def test_the_head_node_check_names_each_tissues_column_with_the_standard_library_only(tmp_path: Path) -> None:
    gzipped = tmp_path / "e.gct.gz"
    gzipped.write_bytes(gzip.compress(GCT.encode()))
    result = head_node("--tissues", "pituitary, brain_cortex", gzipped)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["pituitary\tPituitary", "brain_cortex\tBrain - Cortex"]
    assert table_tissues(write(tmp_path, TSV, "e.tsv")) == ["Pituitary", "Whole.Blood"]


def test_the_head_node_check_refuses_unknown_tissues_and_unreadable_tables_with_one_line(tmp_path: Path) -> None:
    result = head_node("--tissues", "Pituitary,Nope", write(tmp_path, GCT))
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stderr.strip() == "Unknown tissue(s) Nope in --tissues: e.gct has Pituitary, Brain - Cortex."
    empty = head_node("--tissues", "Pituitary", write(tmp_path, "", "empty.gct"))
    assert empty.returncode == EXIT_BAD_INPUT
    assert "empty.gct: empty file; expected a GTEx GCT or a gene × tissue TSV table" in empty.stderr
    short = head_node("--tissues", "Pituitary", write(tmp_path, "#1.2\n2\t2\n", "short.gct"))
    assert short.returncode == EXIT_BAD_INPUT
    assert "a GCT needs a version line, a dimensions line and a header line" in short.stderr
