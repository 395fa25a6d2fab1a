"""DExTER (Menichelli et al. 2020) re-implemented: k-mer/region exploration + LASSO, vectorised.

Modules, one job each: `segmentation` (bins, lattice), `counting` (k-mer occurrences per bin),
`scoring` (|Spearman ρ| of every region at once), `exploration` (the variable search),
`model` (region frequencies, LassoCV, the saved model), `training` (one run on a dataset),
`report` (MultiQC table), `commands` (the two steps as functions the `bin/` commands call).
"""

from seq2expr.models.dexter.exploration import ExplorationParams
from seq2expr.models.dexter.model import FittedModel
from seq2expr.models.dexter.training import DexterConfig, DexterResult, fit_dexter, predict_sequences

__all__ = ["DexterConfig", "DexterResult", "ExplorationParams", "FittedModel", "fit_dexter", "predict_sequences"]
