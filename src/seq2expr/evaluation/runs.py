"""The models under evaluation: each model's predictions gathered into runs, and every input checked.

Every model is read from its `predictions.tsv`; several files of one model name are runs with
different seeds (one column per run, in a fixed order). The checks make the numbers mean
something: one model per file, no gene twice, the same genes, splits and observed values across
runs and models, the dataset's own test genes, and every test gene predicted by every model
(so that all models are compared on the same genes).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from seq2expr.errors import InputError
from seq2expr.io.tables import check_unique_genes
from seq2expr.models.roster import BASELINES

MIN_GENES = 4
"""Fisher's interval and Williams' test need n > 3."""
OBSERVED_TOLERANCE = 1e-6
"""Observed values are written with 9 significant digits; anything further apart is a different target."""


@dataclass(frozen=True)
class ModelRuns:
    """One model's predictions: a row per gene (sorted by gene id) and a column per run (seed)."""

    name: str
    genes: pd.DataFrame
    """Indexed by gene_id, columns split and observed."""
    predicted: np.ndarray
    """Shape (genes, runs)."""
    sources: tuple[str, ...]

    @property
    def n_runs(self) -> int:
        return int(self.predicted.shape[1])

    @property
    def is_constant(self) -> bool:
        """A constant prediction has no correlation with anything, so it is left out of comparisons."""
        return bool(np.all(np.ptp(self.predicted, axis=0) == 0))

    @property
    def stream(self) -> int:
        """A fixed number per model name: its seed resamples are drawn apart from other models'."""
        return zlib.crc32(self.name.encode("utf-8"))

    def subset(self, gene_ids: pd.Index) -> ModelRuns:
        positions = self.genes.index.get_indexer(gene_ids)
        return ModelRuns(self.name, self.genes.iloc[positions], self.predicted[positions], self.sources)

    def test_genes(self) -> pd.Index:
        return self.genes.index[(self.genes["split"] == "test").to_numpy()]


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
    """Gather the files of each model name into one model with one run per file.

    Files that share a model name are taken as runs of the same model with different seeds, so
    they must cover the same genes, splits and observed values; otherwise they are different
    models that were given the same name, and averaging them would be meaningless.
    """
    by_name: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for source, table in tables:
        check_predictions(table, source)
        by_name.setdefault(str(table["model"].iloc[0]), []).append((source, table.set_index("gene_id").sort_index()))
    models = [_merge_runs(name, runs) for name, runs in sorted(by_name.items())]
    _check_same_observed(models)
    return models


def _merge_runs(name: str, runs: list[tuple[str, pd.DataFrame]]) -> ModelRuns:
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
    return ModelRuns(
        name=name,
        genes=first[["split", "observed"]],
        predicted=predicted,
        sources=tuple(sources),
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
    """Baselines only give context if the models were evaluated on this very dataset."""
    table = dataset.set_index("gene_id")
    for model in models:
        missing = model.genes.index.difference(table.index)
        if len(missing):
            raise InputError(
                f"{len(missing)} gene(s) of model {model.name!r} ({model.sources[0]}) are not in the dataset, "
                f"e.g. {missing[0]}",
                source,
            )
        genes = table.loc[model.genes.index]
        # Test genes must be the dataset's; a model may hold part of train out as its own val.
        moved = (genes["split"] == "test") != (model.genes["split"] == "test")
        if moved.any():
            gene = moved.index[int(np.argmax(moved.to_numpy()))]
            raise InputError(
                f"gene {gene} is in split {genes.loc[gene, 'split']!r} here but {model.genes.loc[gene, 'split']!r} "
                f"for model {model.name!r} ({model.sources[0]}); the models used another split",
                source,
            )
        off = (genes["target"] - model.genes["observed"]).abs() > OBSERVED_TOLERANCE
        if off.any():
            gene = off.index[int(np.argmax(off.to_numpy()))]
            raise InputError(
                f"gene {gene} has target {genes.loc[gene, 'target']:.6g} here but observed "
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
