"""DExTER's final model: region frequencies of the selected variables → StandardScaler → LassoCV.

As in the study's DExTER (spec §6): a variable's value for a gene is its count in the region
divided by the region length; columns are sorted by plain string order of their names
(`KMER.start_end`); the pipeline is a z-score scaler fitted on all training rows followed by
LassoCV with 10 unshuffled folds over the rows in dataset order (under cross-fitting, 10 folds of
whole gene groups instead), 100 alphas down to
1e-3·alpha_max, tol 1e-4 and up to 1e6 iterations. The fitted model is plain data (coefficients,
scaler mean/scale, bins) so that it can be saved as JSON and applied to new windows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import LassoCV
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seq2expr.data.folds import grouped_folds
from seq2expr.errors import InputError
from seq2expr.models.dexter.counting import BinCounts
from seq2expr.models.dexter.scoring import node_counts
from seq2expr.models.dexter.segmentation import Bin, Lattice
from seq2expr.models.roster import DEXTER

MODEL_NAME = DEXTER
CV_FOLDS = 10
N_ALPHAS = 100
EPS = 1e-3
TOL = 1e-4
MAX_ITER = 1_000_000
FORMAT_VERSION = 1


def variable_name(kmer: str, start: int, end: int) -> str:
    """The original's column name, e.g. `CA.-125_684`."""
    return f"{kmer}.{start}_{end}"


@dataclass(frozen=True)
class Region:
    """A (k-mer, region) variable of the model, bounds relative to the TSS and inclusive."""

    kmer: str
    start: int
    end: int

    @property
    def name(self) -> str:
        return variable_name(self.kmer, self.start, self.end)


def sort_by_name(regions: Sequence[Region]) -> list[Region]:
    """Columns in plain string order of their names, as the original's matrices."""
    return sorted(regions, key=lambda region: region.name)


def region_frequencies(counts: BinCounts, lattice: Lattice, regions: Sequence[Region], rows: np.ndarray) -> np.ndarray:
    """genes × variables matrix of count / region length for the given gene rows."""
    nodes = {lattice.bounds(node): node for node in range(len(lattice.nodes))}
    matrix = np.zeros((len(rows), len(regions)), dtype=np.float64)
    by_kmer: dict[str, list[int]] = {}
    for column, region in enumerate(regions):
        if (region.start, region.end) not in nodes:
            raise InputError(f"region {region.start}..{region.end} of {region.name} is not a union of the model's bins")
        by_kmer.setdefault(region.kmer, []).append(column)
    counts.prefetch(by_kmer)
    for kmer, columns in by_kmer.items():
        per_node = node_counts(counts.get(kmer)[rows], lattice)
        for column in columns:
            region = regions[column]
            node = nodes[(region.start, region.end)]
            matrix[:, column] = per_node[:, node] / (region.end - region.start + 1)
    return matrix


@dataclass(frozen=True)
class FittedModel:
    """Everything needed to predict from a window: bins, variables, scaler and LASSO."""

    bins: list[Bin]
    tss_index: int
    window_length: int
    compat_counting: bool
    regions: list[Region]
    coefficients: list[float]
    """On the standardised scale, one per region."""
    mean: list[float]
    scale: list[float]
    intercept: float
    alpha: float
    n_iter: int
    extra: dict[str, Any] = field(default_factory=dict)
    """Provenance (versions, options, metrics): written to JSON, not needed to predict."""

    def predict(self, frequencies: np.ndarray) -> np.ndarray:
        """Predictions from a genes × variables frequency matrix in `regions` order."""
        standardised = (frequencies - np.asarray(self.mean)) / np.asarray(self.scale)
        return standardised @ np.asarray(self.coefficients) + self.intercept

    def to_json(self) -> str:
        """Stable JSON text (fixed key order, full float precision) for byte-identical re-runs."""
        payload = {
            "format_version": FORMAT_VERSION,
            "model": MODEL_NAME,
            "alpha": self.alpha,
            "intercept": self.intercept,
            "n_iter": self.n_iter,
            "window_length": self.window_length,
            "tss_index": self.tss_index,
            "counting": "compat" if self.compat_counting else "full",
            "bins": [list(b) for b in self.bins],
            "variables": [
                {"name": region.name, **asdict(region), "coefficient": coefficient, "mean": mean, "scale": scale}
                for region, coefficient, mean, scale in zip(
                    self.regions, self.coefficients, self.mean, self.scale, strict=True
                )
            ],
            **self.extra,
        }
        return json.dumps(payload, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "model.json") -> FittedModel:
        """Read a saved model, with a clear error when the file is not one."""
        try:
            payload = json.loads(text)
            variables = payload["variables"]
            known = {"format_version", "model", "alpha", "intercept", "n_iter", "window_length", "tss_index"}
            known |= {"counting", "bins", "variables"}
            return cls(
                bins=[(int(a), int(b)) for a, b in payload["bins"]],
                tss_index=int(payload["tss_index"]),
                window_length=int(payload["window_length"]),
                compat_counting=payload["counting"] == "compat",
                regions=[Region(str(v["kmer"]), int(v["start"]), int(v["end"])) for v in variables],
                coefficients=[float(v["coefficient"]) for v in variables],
                mean=[float(v["mean"]) for v in variables],
                scale=[float(v["scale"]) for v in variables],
                intercept=float(payload["intercept"]),
                alpha=float(payload["alpha"]),
                n_iter=int(payload["n_iter"]),
                extra={key: value for key, value in payload.items() if key not in known},
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"not a DExTER model.json ({type(error).__name__}: {error})", source) from None


def lasso_folds(groups: np.ndarray | None) -> KFold | list[tuple[np.ndarray, np.ndarray]]:
    """LassoCV's folds: the study's 10 unshuffled contiguous blocks of the rows in dataset order, or, with one
    group label per fitting row (cross-fitting), a grouped 10-fold that keeps each gene group in one fold
    (`seq2expr.data.folds.grouped_folds`, the probes' folds)."""
    if groups is None:
        return KFold(n_splits=CV_FOLDS, shuffle=False)
    return grouped_folds(groups, CV_FOLDS)


def fit_lasso(
    features: np.ndarray, target: np.ndarray, threads: int, groups: np.ndarray | None = None
) -> tuple[StandardScaler, LassoCV]:
    """StandardScaler + LassoCV as the study's DExTER (rows must be in dataset order); `groups` (one label per
    row) makes the folds grouped (`lasso_folds`)."""
    lasso = LassoCV(
        eps=EPS,
        alphas=N_ALPHAS,
        cv=lasso_folds(groups),
        tol=TOL,
        max_iter=MAX_ITER,
        fit_intercept=True,
        n_jobs=threads,
        selection="cyclic",
    )
    pipeline = make_pipeline(StandardScaler(), lasso)
    pipeline.fit(features, target)
    scaler: StandardScaler = pipeline.named_steps["standardscaler"]
    return scaler, lasso
