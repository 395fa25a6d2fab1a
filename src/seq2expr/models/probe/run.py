"""The probe step both probe commands share: embed every window, choose and fit the read-out, write the outputs.

The model-specific part (which model, which tokenizer, how a window becomes chunks) is done by the
caller before anything heavy; this module receives the chunks and a function that loads the model
onto the chosen device, so that loading, embedding and fitting are measured in `compute.tsv`.

Outputs (in `outdir`): `predictions.tsv` (every gene, every split), `embeddings.safetensors` (the
chosen layer's poolings, gene ids and the model's description in the metadata; only the chosen layer,
since all layers of a 768-wide model on 20,000 genes would take ~1.7 GB), `readout.safetensors` (the
fitted standardisation and ridge with probe.json's summary, `seq2expr.models.probe.readout`: with the
frozen checkpoint, the probe as a prediction function again, for in-silico mutagenesis), `probe.json`
(what was chosen and on what) and `compute.tsv`; given the chunks of the test genes' shuffled windows (the composition
control, `seq2expr.data.shuffle`), also `control.tsv`: they are embedded by the same frozen model, layer and
pooling and read out by the same fitted ridge. Nothing is random: re-runs give the same bytes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from seq2expr.data.dataset import read_fold
from seq2expr.data.folds import fit_genes, fitted_on, is_cross_fitted
from seq2expr.io.compute import COMPUTE_FILE
from seq2expr.io.predictions import CONTROL_FILE, control_from_predictions, write_control, write_predictions
from seq2expr.io.tables import honour_umask
from seq2expr.models.probe.embeddings import Chunks, embed_layers, feature_matrix, save_embeddings
from seq2expr.models.probe.options import ProbeOptions
from seq2expr.models.probe.readout import READOUT_FILE, readout_of, save_readout
from seq2expr.models.probe.ridge import ProbeFit, cv_groups, fit_probe
from seq2expr.models.probe.ridge import fit_genes as checked_fit_genes
from seq2expr.models.training.core import checked_table, training_session

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.tsv"
EMBEDDINGS_FILE = "embeddings.safetensors"
SUMMARY_FILE = "probe.json"


@dataclass(frozen=True)
class ProbeData:
    """The checked dataset (upper-cased sequences) and one cross-validation group per gene."""

    table: pd.DataFrame
    groups: np.ndarray  # one group label per gene, the table's order
    group_source: str
    fold: int = 0
    repeat: int = 0


def read_probe_data(dataset: Path, groups: Path | None, fold: int = 0, repeat: int = 0) -> ProbeData:
    """One fold's view of the dataset (`read_fold`) and its CV groups (`gene_groups.tsv` when given, else the
    chromosome), checked.

    The fitting genes are counted here, before the model embeds every window (hours on a CPU), not after.
    """
    table = checked_table(read_fold(dataset, fold, repeat), dataset)
    checked_fit_genes(table, dataset)
    gene_groups = None
    if groups is not None:
        from seq2expr.data.similarity import read_gene_groups

        gene_groups = read_gene_groups(groups)
    labels, source = cv_groups(table, gene_groups, groups, dataset)
    return ProbeData(table, labels, source, fold, repeat)


@dataclass(frozen=True)
class ProbeRun:
    """A finished probe: the fit and what `probe.json` says about it."""

    fit: ProbeFit
    summary: dict[str, Any]
    outdir: Path


def run_probe(
    data: ProbeData,
    chunks: Chunks,
    load_model: Callable[[torch.device], nn.Module],
    layers: list[int],
    pad_id: int,
    about: dict[str, Any],
    options: ProbeOptions,
    outdir: Path,
    device: str = "auto",
    threads: int = 1,
    control: Chunks | None = None,
) -> ProbeRun:
    """Load, embed, choose, fit and write; `about` (model, name, max_tokens, remote_code, random_init…)
    goes into probe.json and the embeddings' metadata, `about["name"]` is the predictions' model name.
    `control`: the test genes' shuffled windows as chunks (made as `chunks` are, in the table's order of the
    test genes); only the chosen layer is embedded for them (the test genes: 1/K of the embedding's cost)."""
    name = str(about["name"])
    outdir.mkdir(parents=True, exist_ok=True)
    with training_session(threads, device, name, bool(about.get("random_init"))) as (target, compute):
        model = load_model(target)
        logger.info(
            "%d genes as %d chunks (%d windows chunked); %d candidate layer(s) on %s",
            chunks.n_windows,
            len(chunks.input_ids),
            chunks.n_chunked,
            len(layers),
            target,
        )
        pools = embed_layers(model, chunks, layers, options.poolings, options.batch_size, target, pad_id)
        features = {layer: feature_matrix(pools[layer], options.poolings) for layer in layers}
        with threadpool_limits(limits=threads):
            fit = fit_probe(data.table, features, data.groups, name, options.penalties, data.fold, data.repeat)
        best = fit.choice.scores.min(axis=1)
        summary = {
            **about,
            "poolings": options.poolings,
            "layers": layers,
            "layer": fit.choice.layer,
            "alpha": fit.choice.alpha,
            "alphas": list(options.penalties),
            "cv": {
                "groups": data.group_source,
                "n_groups": int(pd.Series(data.groups[fit_genes(data.table)]).nunique()),
                "n_folds": fit.n_folds,
                "criterion": "out-of-fold mean squared error",
                "best_mse_by_layer": {str(layer): float(best[layer]) for layer in layers},
            },
            "fitted_on": fitted_on(data.table),
            **({"fold": data.fold, "repeat": data.repeat} if is_cross_fitted(data.table) else {}),
            "n_features": fit.n_features,
            "n_fit_genes": fit.n_fit,
            "windows_chunked": chunks.n_chunked,
        }
        write_predictions(fit.predictions, outdir / PREDICTIONS_FILE)
        if control is not None:
            layer = fit.choice.layer
            shuffled = embed_layers(model, control, [layer], options.poolings, options.batch_size, target, pad_id)
            with threadpool_limits(limits=threads):
                values = fit.pipeline.predict(feature_matrix(shuffled[layer], options.poolings))
            write_control(control_from_predictions(fit.predictions, values), outdir / CONTROL_FILE)
            logger.info("%d test genes' shuffled windows predicted: %s", control.n_windows, CONTROL_FILE)
        save_embeddings(outdir / EMBEDDINGS_FILE, data.table["gene_id"].tolist(), pools[fit.choice.layer], summary)
        honour_umask(outdir / EMBEDDINGS_FILE)
        save_readout(outdir / READOUT_FILE, readout_of(fit.pipeline, summary))
        (outdir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        compute.write(outdir / COMPUTE_FILE)
    logger.info(
        "%slayer %d of %s, ridge penalty %g on %d features fitted on %s (grouped %d-fold CV by %s); "
        "wrote %s, %s, %s, %s",
        f"fold {data.fold} of repeat {data.repeat}: " if is_cross_fitted(data.table) else "",
        fit.choice.layer,
        layers,
        fit.choice.alpha,
        fit.n_features,
        fitted_on(data.table),
        fit.n_folds,
        data.group_source,
        PREDICTIONS_FILE,
        EMBEDDINGS_FILE,
        READOUT_FILE,
        SUMMARY_FILE,
    )
    return ProbeRun(fit, summary, outdir)
