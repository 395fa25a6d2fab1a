#!/usr/bin/env python3
"""Train the one-hot promoter CNN from scratch and predict every gene of the dataset.

Writes into --outdir: predictions.tsv (model `CNN`, best epoch, every split), training_log.tsv,
cnn_training_curves_mqc.yaml (MultiQC line graph), model/ (config.json + model.safetensors) and
compute.tsv (device, wall time, peak memory). torch is imported only once the options are read,
so `--help` answers at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from seq2expr.cli import (
    adamw_options,
    command,
    device_option,
    ensure_outdir,
    outdir_option,
    patience_option,
    seed_option,
    setup_logging,
    threads_option,
    val_fraction_option,
    verbose_option,
)
from seq2expr.cnn.options import CnnConfig, CnnOptions

logger = logging.getLogger("train_cnn")
DEFAULTS = CnnOptions()
ARCHITECTURE = CnnConfig()


@command(context_settings={"show_default": True})
@click.option(
    "--dataset",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="dataset.tsv.gz (gene_id, chrom, split, tpm, target, sequence); windows of one length.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=DEFAULTS.epochs, help="Most passes over the train genes.")
@click.option(
    "--batch-size", type=click.IntRange(min=2), default=DEFAULTS.batch_size, help="Windows per optimiser step."
)
@click.option(
    "--eval-batch-size", type=click.IntRange(min=1), default=DEFAULTS.eval_batch_size, help="Windows per prediction."
)
@adamw_options(DEFAULTS.learning_rate, DEFAULTS.weight_decay)
@patience_option(DEFAULTS.patience, "epochs")
@val_fraction_option("used only when the dataset has no val split")
@click.option(
    "--filters", type=click.IntRange(min=1), default=ARCHITECTURE.filters, help="Filters per convolution layer."
)
@click.option(
    "--motif-width",
    type=click.IntRange(min=1),
    default=ARCHITECTURE.motif_width,
    help="Width (bp, odd) of the first-layer motif filters, scanned on both strands.",
)
@click.option(
    "--position-bins",
    type=click.IntRange(min=1),
    default=ARCHITECTURE.position_bins,
    help="Regions of the window that the head tells apart.",
)
@click.option(
    "--dropout", type=click.FloatRange(0, 1, max_open=True), default=ARCHITECTURE.dropout, help="Dropout of the head."
)
@seed_option("the weights, the batch order and the carved val")
@device_option("train")
@threads_option
@outdir_option
@verbose_option
def main(
    dataset: Path,
    epochs: int,
    batch_size: int,
    eval_batch_size: int,
    learning_rate: float,
    weight_decay: float,
    patience: int,
    val_fraction: float,
    filters: int,
    motif_width: int,
    position_bins: int,
    dropout: float,
    seed: int,
    device: str,
    threads: int,
    outdir: Path,
    verbose: bool,
) -> None:
    """Train the CNN (early stopping on val) and write its predictions, log, weights and compute record."""
    setup_logging(verbose)
    # torch takes seconds to import: only here, so that --help answers at once.
    import torch
    import yaml

    from seq2expr.cnn.model import save_cnn
    from seq2expr.cnn.training import CURVES_ID, MODEL_NAME, train_cnn
    from seq2expr.compute import COMPUTE_FILE, record_compute
    from seq2expr.dataset import read_dataset
    from seq2expr.dnabert2.finetune import resolve_device, training_curves
    from seq2expr.errors import InputError
    from seq2expr.predictions import write_predictions
    from seq2expr.tables import honour_umask, write_tsv

    if motif_width % 2 == 0:
        raise InputError(f"--motif-width must be odd (both strands are scanned centred), got {motif_width}")
    config = CnnConfig(
        motif_filters=filters, filters=filters, motif_width=motif_width, position_bins=position_bins, dropout=dropout
    )
    options = CnnOptions(
        epochs=epochs,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        patience=patience,
        val_fraction=val_fraction,
        seed=seed,
    )
    outdir = ensure_outdir(outdir)
    with record_compute(outdir / COMPUTE_FILE, MODEL_NAME) as compute:
        torch.set_num_threads(threads)
        target = resolve_device(device)
        compute.use_device(target)
        table = read_dataset(dataset)
        result = train_cnn(table, str(dataset), config, options, target)
        write_predictions(result.predictions, outdir / "predictions.tsv")
        write_tsv(result.log, outdir / "training_log.tsv")
        with open(outdir / f"{CURVES_ID}_mqc.yaml", "w", encoding="utf-8") as handle:
            yaml.safe_dump(training_curves(result.log, CURVES_ID, MODEL_NAME), handle, sort_keys=False)
        window = len(table["sequence"].iloc[0])
        save_cnn(result.model.cpu(), outdir / "model", result.target_mean, result.target_sd, window)
        honour_umask(outdir / "model")
    logger.info("Wrote predictions.tsv, training_log.tsv, %s_mqc.yaml, model/ and compute.tsv", CURVES_ID)


if __name__ == "__main__":
    main()
