"""The dataset contract: one row per gene with its split, expression and window sequence.

`dataset.tsv.gz` columns: gene_id, chrom, split (train/val/test), tpm, target, sequence, and
under cross-fitting `fold` (`fold_1`, ... for further repeats; `seq2expr.data.folds`). Every
model reads it through `read_dataset` (one fold's view: `seq2expr.data.folds.read_fold`), so they
all see the same genes and split.

Three protocols: `grouped` (the default) is grouped K-fold cross-fitting: each group of similar
genes (`seq2expr.data.similarity`) lies in one fold, so a test gene's near-copy is never trained
on (with `--folds 1`, one grouped 2/3 : 1/3 draw); `dexter` is DExTER's own draw over gene ids (the
study's, kept byte for byte); `chromosome` holds whole chromosomes out. Every split writes
`gene_groups.tsv`, so the evaluation can tell the test genes that are unseen from those with a
similar gene in train or val.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.data.folds import (
    DEFAULT_CV_REPEATS,
    DEFAULT_FOLDS,
    draw_folds,
    draw_inner_val,
    fold_column,
    fold_columns,
    fold_view,
    parse_fold_columns,
)
from seq2expr.data.similarity import GroupingSpec, group_genes, summary_counts
from seq2expr.data.tss import chromosome_key
from seq2expr.errors import InputError, NothingKept
from seq2expr.io.expression import PAR_Y_SUFFIX, base_gene_id, read_expression, select_tissue
from seq2expr.io.genome import read_sequences
from seq2expr.io.multiqc import counts_table, ledger_counts, write_report_files
from seq2expr.io.predictions import SPLITS
from seq2expr.io.tables import check_allowed, check_unique_genes, numeric_column, read_table, write_tsv

log = logging.getLogger(__name__)

DATASET_COLUMNS = ["gene_id", "chrom", "split", "tpm", "target", "sequence"]


def read_dataset(path: Path) -> pd.DataFrame:
    """Read `dataset.tsv.gz` and check the contract; every problem names the file and line."""
    table = read_table(path, DATASET_COLUMNS, ["gene_id", "chrom", "split", "sequence"], "a dataset table")
    if table.empty:
        raise InputError("the dataset has no genes", path)
    check_allowed(table, "split", SPLITS, path)
    check_unique_genes(table, path)
    for column in ("tpm", "target"):
        table[column] = numeric_column(table, column, path, finite=True)
    table = parse_fold_columns(table, path)
    return table[DATASET_COLUMNS + fold_columns(table)]


def read_fold(path: Path, fold: int, repeat: int) -> pd.DataFrame:
    """The dataset as the fit of one fold and repeat sees it (`seq2expr.data.folds.fold_view`)."""
    return fold_view(read_dataset(path), fold, repeat, path)


def write_dataset(table: pd.DataFrame, path: Path) -> None:
    """Write the dataset in the contract's column order, byte-identical across re-runs."""
    write_tsv(table[DATASET_COLUMNS + fold_columns(table)], path)


LEDGER_COLUMNS = ["gene_id", "source", "reason", "detail"]
#: The study's seed (DExTER's own draw of the split): the default of every --seed.
DEFAULT_SEED = 686185200
#: The share of the train genes held out as `val` (for early stopping), wherever it is an option.
DEFAULT_VAL_FRACTION = 0.1
UNKNOWN_CHROM = "."
SPLIT_MODES = ("grouped", "dexter", "chromosome")
SUMMARY_FILE = "dataset_summary_mqc.tsv"
SUMMARY_ID = "dataset_summary"
GROUPS_FILE = "gene_groups.tsv"
GROUPS_SUMMARY_FILE = "gene_groups_mqc.tsv"
GROUPS_SUMMARY_ID = "gene_groups"


TARGET_KINDS = ("median", "specificity")
"""median: the tissue's expression level; specificity: its level above the gene's mean over tissues."""


@dataclass(frozen=True)
class TargetSpec:
    """What the models predict. level = log10(max(TPM + pseudocount, floor)), the defaults DExTER's and the study's.

    `median` (the study's target): the tissue's level. `specificity`: the tissue's level minus the
    mean of the same level over the background tissues (every tissue column of the expression
    table, or `background`), so a gene expressed everywhere at the same level scores 0 whatever
    that level: what sequence says about this tissue beyond expression everywhere.
    """

    floor: float = 0.001
    pseudocount: float = 0.0
    kind: str = "median"
    background: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.floor <= 0 and self.pseudocount <= 0:
            raise InputError("--tpm-floor or --pseudocount must be > 0, or log10 of a zero TPM is undefined")
        if self.floor < 0 or self.pseudocount < 0:
            raise InputError("--tpm-floor and --pseudocount must be >= 0")
        if self.kind not in TARGET_KINDS:
            raise InputError(f"--target {self.kind!r} is not one of {', '.join(TARGET_KINDS)}")
        if self.background and self.kind != "specificity":
            raise InputError("--background-tissues is only used by --target specificity")

    def transform(self, tpm: np.ndarray) -> np.ndarray:
        """The level of each value (NaN stays NaN)."""
        return np.log10(np.maximum(tpm + self.pseudocount, self.floor))


def background_levels(expression: pd.DataFrame, tissue: str, spec: TargetSpec, path: Path | None = None) -> np.ndarray:
    """Per row of the expression table, the mean level over the background tissues (NaN where none has a value).

    The background is every tissue column, or `spec.background`; it must hold a tissue besides
    `tissue`, or every gene's specificity would be 0.
    """
    names = [column for column in expression.columns if column != "gene_id"]
    columns = [select_tissue(expression, name, path) for name in spec.background] if spec.background else names
    if not [column for column in columns if column != tissue]:
        raise InputError(
            f"--target specificity needs a background tissue besides {tissue}; the background is "
            f"{', '.join(columns)}; expected a table with several tissues, or --background-tissues",
            path,
        )
    levels = spec.transform(expression[list(dict.fromkeys(columns))].to_numpy(dtype=float))
    present = np.isfinite(levels)
    counts = present.sum(axis=1)
    sums = np.where(present, levels, 0.0).sum(axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


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
    sequences: dict[str, str],
    chroms: dict[str, str],
    expression: pd.DataFrame,
    tissue: str,
    path: Path | None = None,
    background: np.ndarray | None = None,
    windows_path: Path | None = None,
) -> Matched:
    """Join windows and expression on the gene id without version or `_PAR_Y` suffix.

    `background` (one level per expression row, `background_levels`): a gene without one goes to the
    ledger, and the table gets a `background` column. `path` (the expression table) and
    `windows_path` (the windows FASTA) name the inputs in errors.
    """
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
        elif background is not None and np.isnan(background[index]):
            ledger.append((expression_ids[index], "expression", "missing_background", "no background tissue value"))
        else:
            gene_id = window_ids[window_keys[key]]
            level = background[index] if background is not None else np.nan
            rows.append((gene_id, chroms.get(gene_id, UNKNOWN_CHROM), values[index], sequences[gene_id], level))
    for key, index in window_keys.items():
        if key not in expression_keys:
            ledger.append((window_ids[index], "windows", "no_expression", "gene absent from the expression table"))
    table = pd.DataFrame(rows, columns=["gene_id", "chrom", "tpm", "sequence", "background"])
    if background is None:
        table = table.drop(columns="background")
    matched = Matched(table, ledger)
    check_matched(matched, tissue, windows_path, path)
    return matched


def check_matched(matched: Matched, tissue: str, windows: Path | None = None, expression: Path | None = None) -> None:
    """Stop when no gene is left to learn from: fewer than two have both a window and a value (the
    ledger says why), or every one has the same value (a tissue where no gene is expressed), which
    would make the target constant and every model and correlation meaningless."""
    genes = windows if windows is not None else "the windows"
    table = expression if expression is not None else "the expression table"
    if len(matched.table) < 2:
        count = "no gene" if matched.table.empty else "only 1 gene"
        reasons = (reason for _, _, reason, _ in matched.ledger)
        raise NothingKept(f"{count} of {genes} has a {tissue} value in {table}", reasons)
    tpm = matched.table["tpm"].to_numpy(dtype=float)
    if np.ptp(tpm) == 0:
        what = (
            f"no gene of {genes} is expressed in {tissue} in {table}: all {len(tpm)} have the value 0"
            if tpm[0] == 0
            else f"all {len(tpm)} genes of {genes} have the same {tissue} value in {table} ({tpm[0]:g})"
        )
        raise InputError(f"{what}; a constant target leaves nothing to learn or to score")


def dexter_split(n: int, seed: int = DEFAULT_SEED, val_fraction: float = 0.0) -> list[str]:
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


def grouped_split(groups: list[str], seed: int = DEFAULT_SEED, val_fraction: float = 0.0) -> list[str]:
    """Whole groups to train, val or test: floor(2n/3) genes to train + val as in `dexter_split`.

    The groups (in order of first appearance) are shuffled with CPython's `random.Random(seed)`;
    in that order each goes to test while it fits in the test share, else to train + val; val is
    then carved from the train + val groups the same way (`val_fraction` of their genes). Most
    groups are single genes, so the shares come out exact or within a gene or two; a group
    larger than what is left of a share goes to the other side, never split.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"--val-fraction {val_fraction} must be in [0, 1)")
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    order = list(members)
    rng = random.Random(seed)
    rng.shuffle(order)
    n_test = len(groups) - (2 * len(groups)) // 3
    labels = [""] * len(groups)
    kept: list[str] = []
    filled = 0
    for group in order:
        size = len(members[group])
        if filled + size <= n_test:
            filled += size
            for index in members[group]:
                labels[index] = "test"
        else:
            kept.append(group)
    n_kept = sum(len(members[group]) for group in kept)
    n_val = round(val_fraction * n_kept)
    filled = 0
    for group in kept:
        size = len(members[group])
        label = "val" if filled + size <= n_val else "train"
        filled += size if label == "val" else 0
        for index in members[group]:
            labels[index] = label
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
    if target.kind == "specificity":
        table["target"] -= table["background"].to_numpy(dtype=float)
    return table[DATASET_COLUMNS]


def ledger_table(ledger: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """`dataset_ledger.tsv`: every gene left out, with where it came from and why."""
    return pd.DataFrame(ledger, columns=LEDGER_COLUMNS)


COORDINATE_COLUMNS = ["gene_id", "chrom", "start", "end"]


def read_window_coordinates(path: Path) -> pd.DataFrame:
    """gene_id, chrom, start, end (0-based half-open) of `tss_windows.tsv` (or any TSV with those columns)."""
    table = read_table(path, COORDINATE_COLUMNS, ["gene_id", "chrom"], "a windows table")
    if table.empty:
        raise InputError("the windows table has no genes", path)
    check_unique_genes(table, path)
    for column in ("start", "end"):
        values = numeric_column(table, column, path, finite=True)
        fractional = values != values.round()
        if fractional.any():
            row = int(np.flatnonzero(fractional.to_numpy())[0])
            raise InputError(f"{column} value {table[column].iloc[row]!r} is not a whole number", path, row + 2)
        table[column] = values.astype(np.int64)
    bad = (table["start"] < 0) | (table["end"] <= table["start"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        where = f"{table['start'].iloc[row]}..{table['end'].iloc[row]}"
        raise InputError(f"window {where}; expected 0 <= start < end (0-based, end exclusive)", path, row + 2)
    return table[COORDINATE_COLUMNS]


@dataclass(frozen=True)
class DatasetOptions:
    """Everything BUILD_DATASET decides besides its input files."""

    tissue: str
    split: str = field(
        default="grouped",
        metadata={
            "help": "grouped: grouped K-fold cross-fitting (--folds; whole groups of similar genes per fold; "
            "--folds 1: one grouped 2/3 : 1/3 draw); dexter: DExTER's own random 2/3 train draw over gene ids (the "
            "study's single split); chromosome: hold out whole chromosomes."
        },
    )
    seed: int = DEFAULT_SEED
    folds: int = DEFAULT_FOLDS
    cv_repeats: int = DEFAULT_CV_REPEATS
    val_fraction: float = DEFAULT_VAL_FRACTION
    test_chromosomes: tuple[str, ...] = ()
    val_chromosomes: tuple[str, ...] = ()
    target: TargetSpec = field(default_factory=TargetSpec)
    grouping: GroupingSpec = field(default_factory=GroupingSpec)

    def __post_init__(self) -> None:
        if self.split not in SPLIT_MODES:
            raise InputError(f"--split {self.split!r} is not one of {', '.join(SPLIT_MODES)}")
        if self.folds < 1 or self.cv_repeats < 1:
            raise InputError(f"--folds {self.folds} and --cv-repeats {self.cv_repeats} must be at least 1")
        if self.split != "grouped" and (self.folds, self.cv_repeats) != (DEFAULT_FOLDS, DEFAULT_CV_REPEATS):
            raise InputError(f"--folds and --cv-repeats belong to --split grouped, not --split {self.split}")
        if self.folds == 1 and self.cv_repeats > 1:
            raise InputError("--cv-repeats needs cross-fitting (--folds 2 or more)")

    @property
    def cross_fitted(self) -> bool:
        """Whether the dataset gets fold columns (grouped K-fold with K >= 2)."""
        return self.split == "grouped" and self.folds >= 2


@dataclass(frozen=True)
class DatasetResult:
    """What the dataset step wrote: the dataset, its ledger, the gene groups and the report's counts."""

    dataset: pd.DataFrame
    ledger: pd.DataFrame
    groups: pd.DataFrame
    summary: dict[str, int]
    group_summary: dict[str, int]
    files: list[Path]


def window_chromosomes(coordinates: pd.DataFrame | None) -> dict[str, str]:
    """gene_id → chrom of the windows table (empty without one)."""
    if coordinates is None:
        return {}
    return dict(zip(coordinates["gene_id"], coordinates["chrom"], strict=True))


def check_windows_cover(genes: list[str], coordinates: pd.DataFrame, sequences: Path, windows: Path) -> None:
    """Every dataset gene has coordinates, or one error naming both files."""
    known = set(coordinates["gene_id"])
    missing = [gene for gene in genes if gene not in known]
    if missing:
        shown = ", ".join(missing[:5]) + (f", … ({len(missing)} in all)" if len(missing) > 5 else "")
        raise InputError(
            f"{len(missing)} gene(s) of {sequences} have no row in {windows}: {shown}; "
            "expected the tss_windows.tsv written with this FASTA"
        )


#: The parts every dataset needs: the models fit on train, the evaluation scores test (val is optional).
REQUIRED_SPLITS = ("train", "test")


def draw_split(
    table: pd.DataFrame, groups: pd.DataFrame, options: DatasetOptions, source: str = "the matched genes"
) -> list[str]:
    """The split labels of the matched genes (in their order); `source` names those genes in errors."""
    if options.split == "dexter":
        labels = dexter_split(len(table), options.seed, options.val_fraction)
    elif options.split == "chromosome":
        labels = chromosome_split(
            table["chrom"].tolist(), list(options.test_chromosomes), list(options.val_chromosomes)
        )
    else:
        labels = grouped_split(groups["group"].tolist(), options.seed, options.val_fraction)
    check_split_parts(labels, table, groups, options, source)
    return labels


def draw_cross_fit(
    groups: pd.DataFrame, options: DatasetOptions, source: str
) -> tuple[list[str], dict[str, list[int]]]:
    """The inner train/val labels and one fold column per repeat of a cross-fitted dataset (`seq2expr.data.folds`)."""
    names = groups["group"].tolist()
    n_groups = len(set(names))
    if n_groups < options.folds:
        raise NothingKept(
            f"--folds {options.folds} on {source}: some fold would hold no gene",
            ["gene group"] * n_groups,
            "a group of similar genes is never split (gene_groups.tsv); use fewer --folds",
        )
    labels = draw_inner_val(names, options.val_fraction, options.seed)
    repeats = range(options.cv_repeats)
    folds = {fold_column(repeat): draw_folds(names, options.folds, options.seed, repeat) for repeat in repeats}
    return labels, folds


def check_split_parts(
    labels: list[str], table: pd.DataFrame, groups: pd.DataFrame, options: DatasetOptions, source: str
) -> None:
    """Stop when the split leaves train or test empty: every model would fail on no train gene, and the
    evaluation on no test gene, after hours of training; here the counts and the cause are known."""
    empty = [part for part in REQUIRED_SPLITS if part not in labels]
    if empty:
        what = f"the {options.split} split of {source} puts no gene in {' or '.join(empty)}"
        raise NothingKept(what, labels, split_hint(table, groups, options))


def split_hint(table: pd.DataFrame, groups: pd.DataFrame, options: DatasetOptions) -> str:
    """What made a part of the split empty, in the terms of the split's own options."""
    val = f"--val-fraction {options.val_fraction:g} of them to val"
    if options.split == "dexter":
        return f"DExTER's draw puts 2/3 of the {len(table)} gene(s) (rounded down) in train + val, {val}"
    if options.split == "chromosome":
        chroms = sorted({str(name) for name in table["chrom"]})
        shown = ", ".join(chroms[:10]) + (f", … ({len(chroms)} in all)" if len(chroms) > 10 else "")
        return (
            f"--test-chromosomes {','.join(options.test_chromosomes)}, "
            f"--val-chromosomes {','.join(options.val_chromosomes) or '(none)'}; the genes are on {shown}"
        )
    sizes = groups["group"].value_counts()
    return (
        f"a group of similar genes is never split, and these form {len(sizes)} group(s), the largest of "
        f"{int(sizes.max())} gene(s) (gene_groups.tsv); 2/3 of the genes go to train + val, {val}"
    )


def run(
    sequences: Path, expression: Path, windows: Path | None, outdir: Path, options: DatasetOptions
) -> DatasetResult:
    """The BUILD_DATASET step: dataset.tsv.gz (expression-file order), dataset_ledger.tsv (every gene
    left out, and why), gene_groups.tsv (similar genes, see `seq2expr.data.similarity`) and the report's
    dataset_summary_mqc.tsv and gene_groups_mqc.tsv in `outdir`.

    `windows` (tss_windows.tsv) gives each gene's chromosome and coordinates: the grouped and the
    chromosome split need it; without it (a dexter split of a bare FASTA) the groups rest on
    homology alone, and the log says so.
    """
    if windows is None and options.split != "dexter":
        raise InputError(
            f"--split {options.split} needs the windows' coordinates (chromosome, start, end): "
            "pass --windows tss_windows.tsv"
        )
    table = read_expression(expression)
    column = select_tissue(table, options.tissue, expression)
    cased = read_sequences(sequences, keep_case=True)
    coordinates = read_window_coordinates(windows) if windows is not None else None
    upper = {gene: sequence.upper() for gene, sequence in cased.items()}
    background = None
    if options.target.kind == "specificity":
        background = background_levels(table, column, options.target, expression)
    matched = match_genes(upper, window_chromosomes(coordinates), table, column, expression, background, sequences)
    genes = matched.table["gene_id"].tolist()
    if windows is not None and coordinates is not None:
        check_windows_cover(genes, coordinates, sequences, windows)
    else:
        log.warning("no --windows: gene groups from homology alone (overlapping windows not searched)")
    groups = group_genes(genes, cased, coordinates, options.grouping)
    source = f"the {len(genes)} genes of {sequences} with a {column} value in {expression}"
    if options.cross_fitted:
        labels, folds = draw_cross_fit(groups, options, source)
        dataset = assemble(matched, labels, options.target).assign(**folds)
    else:
        dataset = assemble(matched, draw_split(matched.table, groups, options, source), options.target)
    outdir.mkdir(parents=True, exist_ok=True)
    files = [outdir / name for name in ("dataset.tsv.gz", "dataset_ledger.tsv", GROUPS_FILE)]
    write_dataset(dataset, files[0])
    ledger = ledger_table(matched.ledger)
    write_tsv(ledger, files[1])
    write_tsv(groups, files[2])
    splits = {name: int((dataset["split"] == name).sum()) for name in SPLITS}
    if options.cross_fitted:  # every gene is a test gene once per repeat; val is the inner draw
        splits["test"] = len(dataset)
    reasons = ledger_counts(ledger)
    protocol = {"folds": options.folds, "cv_repeats": options.cv_repeats} if options.cross_fitted else {}
    summary = {"genes": len(dataset), **splits, **protocol, **reasons}
    group_summary = summary_counts(groups)
    write_report_files(
        [
            counts_table(SUMMARY_FILE, SUMMARY_ID, column, summary),
            counts_table(GROUPS_SUMMARY_FILE, GROUPS_SUMMARY_ID, column, group_summary, titled=True),
        ],
        outdir,
    )
    files += [outdir / SUMMARY_FILE, outdir / GROUPS_SUMMARY_FILE]
    log.info("tissue %s: %d genes; %s", column, len(dataset), ", ".join(f"{n} {s}" for s, n in splits.items()))
    if options.cross_fitted:
        sizes = dataset[fold_column(0)].value_counts().sort_index()
        log.info(
            "cross-fitting: %d folds x %d repeat(s) of whole gene groups; fold sizes %s; val (inner) %d genes",
            options.folds, options.cv_repeats, ", ".join(map(str, sizes.tolist())), splits["val"],
        )  # fmt: skip
    if options.target.kind == "specificity":
        tissues = ", ".join(options.target.background) or "every tissue of the table"
        log.info("target: specificity, the level in %s minus the mean level over %s", column, tissues)
    for reason, count in reasons.items():
        log.info("ledger: %d %s", count, reason)
    log.info(
        "gene groups: %d groups; %d genes in %d multi-gene groups (largest %d)",
        group_summary["groups"],
        group_summary["genes_in_multi_gene_groups"],
        group_summary["multi_gene_groups"],
        group_summary["largest_group"],
    )
    return DatasetResult(dataset, ledger, groups, summary, group_summary, files)
