"""The dataset contract: one row per gene with its split, expression and window sequence.

`dataset.tsv.gz` columns: gene_id, chrom, split (train/val/test), tpm, target, sequence.
Every model reads it through `read_dataset`, so they all see the same genes and split.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.expression import PAR_Y_SUFFIX, base_gene_id
from seq2expr.tables import check_allowed, numeric_column, read_table, write_tsv
from seq2expr.tss import chromosome_key

DATASET_COLUMNS = ["gene_id", "chrom", "split", "tpm", "target", "sequence"]
SPLITS = ("train", "val", "test")


def read_dataset(path: Path) -> pd.DataFrame:
    """Read `dataset.tsv.gz` and check the contract; every problem names the file and line."""
    table = read_table(path, DATASET_COLUMNS, ["gene_id", "chrom", "split", "sequence"], "a dataset table")
    if table.empty:
        raise InputError("the dataset has no genes", path)
    check_allowed(table, "split", SPLITS, path)
    duplicated = table["gene_id"].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(f"gene {table['gene_id'].iloc[row]} appears more than once", path, row + 2)
    for column in ("tpm", "target"):
        table[column] = numeric_column(table, column, path)
    return table[DATASET_COLUMNS]


def write_dataset(table: pd.DataFrame, path: Path) -> None:
    """Write the dataset in the contract's column order, byte-identical across re-runs."""
    write_tsv(table[DATASET_COLUMNS], path)


LEDGER_COLUMNS = ["gene_id", "source", "reason", "detail"]
DEXTER_SEED = 686185200
UNKNOWN_CHROM = "."


@dataclass(frozen=True)
class TargetSpec:
    """target = log10(max(TPM + pseudocount, floor)); the defaults are DExTER's and the study's."""

    floor: float = 0.001
    pseudocount: float = 0.0

    def __post_init__(self) -> None:
        if self.floor <= 0 and self.pseudocount <= 0:
            raise InputError("--tpm-floor or --pseudocount must be > 0, or log10 of a zero TPM is undefined")
        if self.floor < 0 or self.pseudocount < 0:
            raise InputError("--tpm-floor and --pseudocount must be >= 0")

    def transform(self, tpm: np.ndarray) -> np.ndarray:
        return np.log10(np.maximum(tpm + self.pseudocount, self.floor))


@dataclass
class Matched:
    """Genes with both a window and an expression value, in expression-file order."""

    table: pd.DataFrame  # gene_id, chrom, tpm, sequence
    ledger: list[tuple[str, str, str, str]] = field(default_factory=list)


def _keyed(ids: list[str], source: str, ledger: list[tuple[str, str, str, str]]) -> dict[str, int]:
    """Map base gene id → position, sending PAR_Y copies and duplicated ids to the ledger."""
    positions: dict[str, list[int]] = {}
    for index, gene_id in enumerate(ids):
        if gene_id.endswith(PAR_Y_SUFFIX):
            ledger.append((gene_id, source, "par_y_copy", "pseudo-autosomal copy on chrY; the chrX copy is used"))
            continue
        positions.setdefault(base_gene_id(gene_id), []).append(index)
    keyed = {}
    for key, indexes in positions.items():
        if len(indexes) > 1:
            names = ", ".join(ids[index] for index in indexes)
            for index in indexes:
                ledger.append((ids[index], source, "duplicated_gene_id", f"same gene as {names}"))
        else:
            keyed[key] = indexes[0]
    return keyed


def match_genes(
    sequences: dict[str, str], chroms: dict[str, str], expression: pd.DataFrame, tissue: str, path: Path | None = None
) -> Matched:
    """Join windows and expression on the gene id without version or `_PAR_Y` suffix."""
    ledger: list[tuple[str, str, str, str]] = []
    window_ids = list(sequences)
    window_keys = _keyed(window_ids, "windows", ledger)
    expression_ids = expression["gene_id"].tolist()
    expression_keys = _keyed(expression_ids, "expression", ledger)
    values = expression[tissue].to_numpy(dtype=float)
    negative = np.flatnonzero(values < 0)
    if negative.size:
        gene = expression_ids[negative[0]]
        raise InputError(f"gene {gene} has a negative expression value {values[negative[0]]} for {tissue}", path)
    rows = []
    for key, index in sorted(expression_keys.items(), key=lambda item: item[1]):
        if key not in window_keys:
            ledger.append((expression_ids[index], "expression", "no_window", "no TSS window for this gene"))
        elif np.isnan(values[index]):
            ledger.append((expression_ids[index], "expression", "missing_expression", f"no {tissue} value"))
        else:
            gene_id = window_ids[window_keys[key]]
            rows.append((gene_id, chroms.get(gene_id, UNKNOWN_CHROM), values[index], sequences[gene_id]))
    for key, index in window_keys.items():
        if key not in expression_keys:
            ledger.append((window_ids[index], "windows", "no_expression", "gene absent from the expression table"))
    table = pd.DataFrame(rows, columns=["gene_id", "chrom", "tpm", "sequence"])
    return Matched(table, ledger)


def dexter_split(n: int, seed: int = DEXTER_SEED, val_fraction: float = 0.0) -> list[str]:
    """DExTER's own draw: CPython `random.Random(seed).sample` of floor(2n/3) training genes.

    The labels follow the candidates' order (expression-file order). A validation part, when
    asked for, is the tail of the sampled training list: the sample is already random, so this
    keeps the train ∪ val genes identical to DExTER's training set.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"--val-fraction {val_fraction} must be in [0, 1)")
    n_train = (2 * n) // 3
    sampled = random.Random(seed).sample(range(n), n_train)
    n_val = round(val_fraction * n_train)
    labels = ["test"] * n
    for rank, index in enumerate(sampled):
        labels[index] = "val" if rank >= n_train - n_val else "train"
    return labels


def chromosome_split(chroms: list[str], test_chromosomes: list[str], val_chromosomes: list[str]) -> list[str]:
    """Hold whole chromosomes out (`chr8` and `8` are the same chromosome)."""
    if UNKNOWN_CHROM in chroms:
        raise InputError("--split chromosome needs the chromosome of every gene: pass --windows tss_windows.tsv")
    test_keys = {chromosome_key(name) for name in test_chromosomes}
    val_keys = {chromosome_key(name) for name in val_chromosomes}
    if not test_keys:
        raise InputError("--split chromosome needs at least one --test-chromosomes")
    if test_keys & val_keys:
        raise InputError(f"chromosomes {', '.join(sorted(test_keys & val_keys))} are both test and val")
    present = {chromosome_key(name) for name in chroms}
    absent = sorted((test_keys | val_keys) - present)
    if absent:
        raise InputError(f"no gene of the dataset is on chromosome(s) {', '.join(absent)}")
    labels = []
    for name in chroms:
        key = chromosome_key(name)
        labels.append("test" if key in test_keys else "val" if key in val_keys else "train")
    return labels


def assemble(matched: Matched, labels: list[str], target: TargetSpec) -> pd.DataFrame:
    """The dataset table in expression-file order with its split and target."""
    table = matched.table.copy()
    table["split"] = labels
    table["target"] = target.transform(table["tpm"].to_numpy(dtype=float))
    return table[DATASET_COLUMNS]


def ledger_table(ledger: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """`dataset_ledger.tsv`: every gene left out, with where it came from and why."""
    return pd.DataFrame(ledger, columns=LEDGER_COLUMNS)


def read_window_chromosomes(path: Path) -> dict[str, str]:
    """gene_id → chrom from `tss_windows.tsv` (or any TSV with those two columns)."""
    table = read_table(path, ["gene_id", "chrom"], ["gene_id", "chrom"], "a windows table")
    return dict(zip(table["gene_id"], table["chrom"], strict=True))
