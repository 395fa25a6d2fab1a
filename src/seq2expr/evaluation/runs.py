"""The models under evaluation: each model's predictions gathered into blocks of runs, and every input checked.

Every model is read from its `predictions.tsv` files. A file belongs to one block, its (fold,
repeat) (`seq2expr.data.folds`; a single split is the one block (0, 0)); the files of one block
are runs with different seeds (one column per run, in a fixed order). Under cross-fitting every
gene is a test gene in exactly one fold per repeat, so the model's test predictions pool into one
out-of-fold prediction of every gene per repeat: run i of the pooled prediction is run i of each
fold (runs are exchangeable seeds). The checks make the numbers mean something: one model per
file, no gene twice, the same genes, splits and observed values across the runs of a block and
across models, each gene tested once per repeat, the same folds and blocks for every model, the
dataset's own test genes, and every test gene predicted by every model (so that all models are
compared on the same genes).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from seq2expr.data.folds import fold_column, n_folds, n_repeats
from seq2expr.errors import InputError
from seq2expr.io.tables import check_unique_genes
from seq2expr.models.roster import BASELINES

MIN_GENES = 4
"""Fisher's interval and Williams' test need n > 3."""
MIN_INTERVAL_GENES = 40
"""Below this many genes no bootstrap or per-fold interval is formed: r gets Fisher's z interval, a Δr none."""
OBSERVED_TOLERANCE = 1e-6
"""Observed values are written with 9 significant digits; anything further apart is a different target."""


@dataclass(frozen=True)
class Block:
    """One fit of a model: a fold of one repeat (a single split: fold 0, repeat 0), its runs (seeds) as columns.

    `genes` holds every gene of the files with that fit's split labels (its fold's genes as `test`).
    """

    fold: int
    repeat: int
    genes: pd.DataFrame
    """Indexed by gene_id (sorted), columns split and observed."""
    predicted: np.ndarray
    """Shape (genes, runs)."""
    sources: tuple[str, ...]

    @property
    def n_runs(self) -> int:
        return int(self.predicted.shape[1])

    @property
    def key(self) -> tuple[int, int]:
        return self.repeat, self.fold

    def test_genes(self) -> pd.Index:
        return self.genes.index[(self.genes["split"] == "test").to_numpy()]

    def subset(self, gene_ids: pd.Index) -> Block:
        positions = self.genes.index.get_indexer(gene_ids)
        return Block(self.fold, self.repeat, self.genes.iloc[positions], self.predicted[positions], self.sources)


@dataclass(frozen=True)
class ModelRuns:
    """One model's predictions: a row per gene (sorted by gene id) and a column per run (seed).

    On a single split, `genes` carries the split labels and `predicted` the runs. Under cross-fitting
    (`folds` > 0) `genes` is every gene, all `test` (its pooled out-of-fold prediction), and
    `predicted` the pooled runs of repeat 0, then those of repeat 1, ...; `blocks` keeps each fit.
    """

    name: str
    genes: pd.DataFrame
    """Indexed by gene_id, columns split and observed."""
    predicted: np.ndarray
    """Shape (genes, runs × repeats)."""
    sources: tuple[str, ...]
    blocks: tuple[Block, ...] = field(default=())
    """Empty: one block, the single split (fold 0, repeat 0) that `genes` and `predicted` are."""
    folds: int = 0
    """K under cross-fitting; 0 for a single split."""

    @property
    def cross_fitted(self) -> bool:
        return self.folds > 0

    @property
    def fits(self) -> tuple[Block, ...]:
        """The model's blocks, in (repeat, fold) order; a single split is one block (0, 0)."""
        return self.blocks or (Block(0, 0, self.genes, self.predicted, self.sources),)

    @property
    def n_repeats(self) -> int:
        return len({block.repeat for block in self.fits})

    @property
    def n_runs(self) -> int:
        """Runs (seeds) per block."""
        return int(self.fits[0].predicted.shape[1])

    def repeat_columns(self) -> list[np.ndarray]:
        """The pooled prediction's columns of each repeat."""
        return [np.arange(repeat * self.n_runs, (repeat + 1) * self.n_runs) for repeat in range(self.n_repeats)]

    @property
    def is_constant(self) -> bool:
        """A constant prediction has no correlation with anything, so it is left out of comparisons.

        Under cross-fitting: constant on the test genes of every fold (the cross-fitted training mean is;
        its pooled values differ only by the folds' training means, which says nothing about skill).
        """
        if not self.blocks:
            return bool(np.all(np.ptp(self.predicted, axis=0) == 0)) if len(self.predicted) else True
        return all(_constant(block) for block in self.blocks)

    @property
    def stream(self) -> int:
        """A fixed number per model name (kept for reproducible per-model draws)."""
        return zlib.crc32(self.name.encode("utf-8"))

    def subset(self, gene_ids: pd.Index) -> ModelRuns:
        positions = self.genes.index.get_indexer(gene_ids)
        return ModelRuns(
            self.name, self.genes.iloc[positions], self.predicted[positions], self.sources, self.blocks, self.folds
        )

    def test_genes(self) -> pd.Index:
        return self.genes.index[(self.genes["split"] == "test").to_numpy()]


def _constant(block: Block) -> bool:
    tested = block.predicted[(block.genes["split"] == "test").to_numpy()]
    return not len(tested) or bool(np.all(np.ptp(tested, axis=0) == 0))


# --- checking and grouping the inputs ---------------------------------------------------------


def check_predictions(table: pd.DataFrame, source: str) -> None:
    """What one predictions file must hold for the evaluation to mean anything."""
    models = sorted(table["model"].astype(str).unique())
    if len(models) != 1:
        raise InputError(f"expected the predictions of one model, found {len(models)}: {', '.join(models)}", source)
    if models[0] in BASELINES:
        raise InputError(f"model name {models[0]!r} is reserved for the baseline computed from the dataset", source)
    check_unique_genes(table, source)
    n_test = int((table["split"] == "test").sum())
    if n_test == 0:
        raise InputError("no gene in the test split; the evaluation reports test-set performance", source)
    if n_test < MIN_GENES:
        raise InputError(f"only {n_test} test gene(s); at least {MIN_GENES} are needed for a correlation", source)
    for column in ("observed", "predicted"):
        values = table[column].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise InputError(f"{column} value {values[row]} is not a finite number", source, row + 2)


def group_models(tables: list[tuple[str, pd.DataFrame]]) -> list[ModelRuns]:
    """Gather the files of each model name into one model: a block per (fold, repeat), a run per file in it.

    Files that share a model name and block are taken as runs of the same model with different seeds,
    so they must cover the same genes, splits and observed values; otherwise they are different
    models that were given the same name, and averaging them would be meaningless. Under
    cross-fitting the blocks pool into one out-of-fold prediction per repeat (`_pool`).
    """
    by_name: dict[str, dict[tuple[int, int], list[tuple[str, pd.DataFrame]]]] = {}
    for source, table in tables:
        check_predictions(table, source)
        key = (_fit_number(table, "repeat"), _fit_number(table, "fold"))
        name = str(table["model"].iloc[0])
        by_name.setdefault(name, {}).setdefault(key, []).append((source, table.set_index("gene_id").sort_index()))
    models = [
        assemble(name, [_merge_runs(name, key, runs) for key, runs in sorted(blocks.items())])
        for name, blocks in sorted(by_name.items())
    ]
    _check_same_blocks(models)
    _check_same_observed(models)
    return models


def _fit_number(table: pd.DataFrame, column: str) -> int:
    """The file's fold or repeat (files without the column: 0, a single split)."""
    return int(table[column].iloc[0]) if column in table.columns else 0


def _merge_runs(name: str, key: tuple[int, int], runs: list[tuple[str, pd.DataFrame]]) -> Block:
    """The files of one block of one model as one block with a run (column) per file."""
    first_source, first = runs[0]
    for source, table in runs[1:]:
        same = (
            table.index.equals(first.index)
            and table["split"].equals(first["split"])
            and np.allclose(table["observed"], first["observed"], rtol=0, atol=OBSERVED_TOLERANCE)
        )
        if not same:
            raise InputError(
                f"model {name!r} is also named in {first_source} but with other genes, splits or observed values; "
                "files of one model (runs with different seeds) must share them, different models need different names",
                source,
            )
    predicted = np.column_stack([table["predicted"].to_numpy(dtype=float) for _, table in runs])
    # Runs in a fixed order (by their values, not by file order, which Nextflow does not fix), so sums are reproducible.
    order = sorted(range(len(runs)), key=lambda column: predicted[:, column].tobytes())
    predicted = predicted[:, order]
    sources = [runs[column][0] for column in order]
    for column in range(len(order) - 1):
        if np.array_equal(predicted[:, column], predicted[:, column + 1]):
            raise InputError(
                f"the same predictions of model {name!r} are given twice (also in {sources[column]})",
                sources[column + 1],
            )
    repeat, fold = key
    return Block(fold, repeat, first[["split", "observed"]], predicted, tuple(sources))


def assemble(name: str, blocks: list[Block]) -> ModelRuns:
    """One model from its blocks: a single split as it is, cross-fitted blocks pooled (each checked)."""
    if len(blocks) == 1 and blocks[0].fold == 0:
        block = blocks[0]
        if block.repeat != 0:
            raise InputError(f"model {name!r}: repeat {block.repeat} of fold 0; a single split is repeat 0",
                             block.sources[0])  # fmt: skip
        return ModelRuns(name, block.genes, block.predicted, block.sources)
    single = [block for block in blocks if block.fold == 0]
    if single:
        raise InputError(
            f"model {name!r} has fold 0 (a single split) beside cross-fitted folds; evaluate one protocol at a time",
            single[0].sources[0],
        )
    return _pool(name, blocks)


def _pool(name: str, blocks: list[Block]) -> ModelRuns:
    """The pooled out-of-fold predictions of a cross-fitted model, after checking every gene is tested once."""
    first = blocks[0]
    repeats = sorted({block.repeat for block in blocks})
    if repeats != list(range(len(repeats))):
        raise InputError(f"model {name!r} has repeats {repeats}; expected 0..R-1", first.sources[0])
    for block in blocks[1:]:
        if not block.genes.index.equals(first.genes.index):
            raise InputError(
                f"model {name!r}: fold {block.fold} of repeat {block.repeat} predicts other genes than fold "
                f"{first.fold} of repeat {first.repeat} ({first.sources[0]}); every fit writes every gene",
                block.sources[0],
            )
        if block.n_runs != first.n_runs:
            raise InputError(
                f"model {name!r}: fold {block.fold} of repeat {block.repeat} has {block.n_runs} run(s), fold "
                f"{first.fold} of repeat {first.repeat} {first.n_runs} ({first.sources[0]}); every fold needs the "
                "same seeds",
                block.sources[0],
            )
    genes = first.genes.index
    columns = []
    for repeat in repeats:
        of_repeat = [block for block in blocks if block.repeat == repeat]
        tested_in: dict[str, Block] = {}
        pooled = np.full((len(genes), first.n_runs), np.nan)
        for block in of_repeat:
            for gene in block.test_genes():
                if gene in tested_in:
                    other = tested_in[gene]
                    raise InputError(
                        f"gene {gene} of model {name!r} is a test gene of fold {other.fold} ({other.sources[0]}) and "
                        f"of fold {block.fold} in repeat {repeat}; each gene must be tested in exactly one fold per "
                        "repeat",
                        block.sources[0],
                    )
                tested_in[gene] = block
            rows = (block.genes["split"] == "test").to_numpy()
            pooled[rows] = block.predicted[rows]
        missing = genes.difference(pd.Index(list(tested_in)))
        if len(missing):
            files = ", ".join(sorted(source for block in of_repeat for source in block.sources))
            raise InputError(
                f"{len(missing)} gene(s) of model {name!r} are a test gene in no fold of repeat {repeat} "
                f"(e.g. {missing[0]}; folds {sorted(block.fold for block in of_repeat)} given: {files}); each gene "
                "must be tested in exactly one fold per repeat",
                of_repeat[0].sources[0],
            )
        columns.append(pooled)
    observed = first.genes[["observed"]].assign(split="test")[["split", "observed"]]
    sources = tuple(source for block in blocks for source in block.sources)
    folds = max(block.fold for block in blocks)
    return ModelRuns(name, observed, np.column_stack(columns), sources, tuple(blocks), folds)


def _check_same_blocks(models: list[ModelRuns]) -> None:
    """Every model has the same protocol, the same (fold, repeat) blocks and the same test genes in each."""
    if not models:
        return
    reference = models[0]
    for model in models[1:]:
        if model.cross_fitted != reference.cross_fitted:
            which = [
                f"{m.name!r} ({'cross-fitted' if m.cross_fitted else 'a single split'})" for m in (reference, model)
            ]
            raise InputError(
                f"models {which[0]} and {which[1]} were not evaluated under the same protocol ({reference.sources[0]})",
                model.sources[0],
            )
        if not model.cross_fitted:
            continue
        theirs = {block.key: block for block in reference.fits}
        ours = {block.key: block for block in model.fits}
        if set(theirs) != set(ours):
            missing = sorted(set(theirs) ^ set(ours))
            repeat, fold = missing[0]
            raise InputError(
                f"model {model.name!r} and model {reference.name!r} ({reference.sources[0]}) do not have the same "
                f"folds: fold {fold} of repeat {repeat} is only in one; every model needs every fold",
                model.sources[0],
            )
        for key, block in ours.items():
            if not block.test_genes().equals(theirs[key].test_genes()):
                raise InputError(
                    f"fold {block.fold} of repeat {block.repeat} of model {model.name!r} tests other genes than "
                    f"model {reference.name!r}'s ({theirs[key].sources[0]}); the models were not cross-fitted on the "
                    "same folds",
                    block.sources[0],
                )


def _check_same_observed(models: list[ModelRuns]) -> None:
    """Models compared on a gene must have been given the same observed value for it."""
    for left, right in combinations(models, 2):
        shared = left.genes.index.intersection(right.genes.index)
        difference = np.abs(left.genes.loc[shared, "observed"] - right.genes.loc[shared, "observed"])
        if (difference > OBSERVED_TOLERANCE).any():
            gene = difference.index[int(np.argmax(difference.to_numpy() > OBSERVED_TOLERANCE))]
            raise InputError(
                f"gene {gene} has observed {right.genes.loc[gene, 'observed']:.6g} here but "
                f"{left.genes.loc[gene, 'observed']:.6g} for model {left.name!r} ({left.sources[0]}); "
                "the models were not evaluated on the same dataset",
                right.sources[0],
            )


def check_against_dataset(models: list[ModelRuns], dataset: pd.DataFrame, source: str) -> None:
    """Baselines only give context if the models were evaluated on this very dataset (its split or its folds)."""
    table = dataset.set_index("gene_id")
    folds = n_folds(table)
    for model in models:
        missing = model.genes.index.difference(table.index)
        if len(missing):
            raise InputError(
                f"{len(missing)} gene(s) of model {model.name!r} ({model.sources[0]}) are not in the dataset, "
                f"e.g. {missing[0]}",
                source,
            )
        if model.cross_fitted != (folds > 0):
            raise InputError(
                f"model {model.name!r} ({model.sources[0]}) is "
                f"{'cross-fitted' if model.cross_fitted else 'a single split'} but the dataset is "
                f"{'cross-fitted' if folds else 'a single split'}; the models used another dataset",
                source,
            )
        for block in model.fits:
            genes = table.loc[block.genes.index]
            # Test genes must be the dataset's (its fold's); a model may hold part of train out as its own val.
            if model.cross_fitted:
                if block.repeat >= n_repeats(table):
                    raise InputError(f"model {model.name!r} has repeat {block.repeat}; the dataset has "
                                     f"{n_repeats(table)}", source)  # fmt: skip
                expected = np.where(genes[fold_column(block.repeat)] == block.fold, "test", genes["split"])
                tested = pd.Series(expected, index=genes.index)
            else:
                tested = genes["split"]
            moved = (tested == "test") != (block.genes["split"] == "test")
            if moved.any():
                gene = moved.index[int(np.argmax(moved.to_numpy()))]
                raise InputError(
                    f"gene {gene} is in split {tested.loc[gene]!r} here but {block.genes.loc[gene, 'split']!r} "
                    f"for model {model.name!r} ({block.sources[0]}); the models used another split",
                    source,
                )
        off = (table.loc[model.genes.index, "target"] - model.genes["observed"]).abs() > OBSERVED_TOLERANCE
        if off.any():
            gene = off.index[int(np.argmax(off.to_numpy()))]
            raise InputError(
                f"gene {gene} has target {table.loc[gene, 'target']:.6g} here but observed "
                f"{model.genes.loc[gene, 'observed']:.6g} for model {model.name!r} ({model.sources[0]})",
                source,
            )


def check_complete(models: list[ModelRuns], test_genes: pd.Index, reference: str) -> None:
    """Every model predicts every test gene (of the dataset, else of all models), or one clear error."""
    for model in models:
        missing = test_genes.difference(model.test_genes())
        if len(missing):
            raise InputError(
                f"model {model.name!r} predicts {len(test_genes) - len(missing)} of the {len(test_genes)} test genes "
                f"of {reference}: {len(missing)} missing (e.g. {missing[0]}); every model must predict every test "
                "gene so that all are compared on the same genes",
                model.sources[0],
            )


def model_splits(models: list[ModelRuns]) -> pd.Series:
    """gene id -> split over all models (sorted by gene id)."""
    splits = pd.concat([model.genes["split"] for model in models])
    return splits[~splits.index.duplicated()].sort_index()


def mean_prediction(model: ModelRuns) -> pd.DataFrame:
    """The run-averaged prediction per gene (for plots), with split and observed."""
    return model.genes.assign(predicted=model.predicted.mean(axis=1))
