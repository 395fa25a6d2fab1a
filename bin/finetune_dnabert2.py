#!/usr/bin/env python3
"""Fine-tune DNABERT-2 to predict each gene's expression target from its TSS window.

Writes into --outdir: predictions.tsv (best checkpoint, every split), training_log.tsv,
training_curves_mqc.yaml (MultiQC line graph) and model/ (weights + tokenizer). A killed run
started again with the same options continues from its last checkpoint.
"""

from __future__ import annotations

import hashlib
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
from seq2expr.dnabert2.options import FinetuneOptions

logger = logging.getLogger("finetune_dnabert2")
DEFAULTS = FinetuneOptions()
AT_LEAST_1 = click.IntRange(min=1)
NOT_NEGATIVE = click.IntRange(min=0)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@command(context_settings={"show_default": True})
@click.option(
    "--dataset", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="dataset.tsv.gz"
)
@click.option("--model", "model_name", required=True, help="Hugging Face hub id or folder of a DNABERT-2 checkpoint.")
@click.option("--epochs", type=AT_LEAST_1, default=DEFAULTS.epochs, help="Passes over the training genes.")
@click.option("--batch-size", type=AT_LEAST_1, default=DEFAULTS.batch_size, help="Sequences per forward pass.")
@click.option(
    "--global-batch-size",
    type=AT_LEAST_1,
    default=DEFAULTS.global_batch_size,
    help="Sequences per optimiser step (gradient accumulation over --batch-size).",
)
@click.option(
    "--eval-batch-size", type=AT_LEAST_1, default=DEFAULTS.eval_batch_size, help="Sequences per prediction pass."
)
@adamw_options(DEFAULTS.learning_rate, DEFAULTS.weight_decay)
@click.option(
    "--warmup-steps", type=NOT_NEGATIVE, default=DEFAULTS.warmup_steps, help="Linear warm-up, then linear decay to 0."
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=3),
    default=DEFAULTS.max_tokens,
    help="Tokens per sequence, [CLS]/[SEP] included.",
)
@click.option(
    "--eval-steps",
    type=AT_LEAST_1,
    default=DEFAULTS.eval_steps,
    help="Evaluate on val every N steps (and each epoch end).",
)
@click.option(
    "--logging-steps", type=AT_LEAST_1, default=DEFAULTS.logging_steps, help="Log the training loss every N steps."
)
@patience_option(DEFAULTS.patience, "evaluations")
@val_fraction_option("used only when the dataset has no val split")
@seed_option("the head, dropout, batch order and carved val")
@click.option(
    "--gradient-checkpointing", is_flag=True, help="Recompute activations in the backward pass (less memory)."
)
@device_option("train")
@threads_option
@click.option(
    "--checkpoint-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the resumable checkpoint lives [default: OUTDIR/checkpoints].",
)
@click.option("--keep-checkpoints", is_flag=True, help="Keep the checkpoint files after a finished run.")
@click.option(
    "--stop-after-steps",
    type=AT_LEAST_1,
    default=None,
    help="Stop with a checkpoint after N steps in all, as a kill would; the schedule still spans --epochs.",
)
@outdir_option
@verbose_option
def main(
    dataset: Path,
    model_name: str,
    epochs: int,
    batch_size: int,
    global_batch_size: int,
    eval_batch_size: int,
    learning_rate: float,
    weight_decay: float,
    warmup_steps: int,
    max_tokens: int,
    eval_steps: int,
    logging_steps: int,
    patience: int,
    val_fraction: float,
    seed: int,
    gradient_checkpointing: bool,
    device: str,
    threads: int,
    checkpoint_dir: Path | None,
    keep_checkpoints: bool,
    stop_after_steps: int | None,
    outdir: Path,
    verbose: bool,
) -> None:
    """Fine-tune DNABERT-2 (regression on the pooled [CLS]) and predict every gene of the dataset."""
    setup_logging(verbose)
    # torch and transformers take seconds to import: only here, so that --help answers at once.
    import torch
    import yaml
    from transformers import set_seed

    from seq2expr.compute import COMPUTE_FILE, ComputeRecorder
    from seq2expr.dataset import read_dataset
    from seq2expr.dnabert2.finetune import (
        MODEL_NAME,
        Checkpoints,
        finetune,
        resolve_device,
        run_fingerprint,
        training_curves,
    )
    from seq2expr.dnabert2.model import Dnabert2ForRegression
    from seq2expr.dnabert2.tokenizer import load_tokenizer
    from seq2expr.predictions import warn_if_near_constant, write_predictions
    from seq2expr.tables import honour_umask, write_tsv

    options = FinetuneOptions(
        epochs=epochs,
        global_batch_size=global_batch_size,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        warmup_steps=warmup_steps,
        max_tokens=max_tokens,
        eval_steps=eval_steps,
        logging_steps=logging_steps,
        patience=patience,
        val_fraction=val_fraction,
        seed=seed,
        gradient_checkpointing=gradient_checkpointing,
        stop_after_steps=stop_after_steps,
    )
    options.check()
    compute = ComputeRecorder(MODEL_NAME)
    torch.set_num_threads(threads)
    target = resolve_device(device)
    compute.use_device(target)
    table = read_dataset(dataset)
    tokenizer = load_tokenizer(model_name)
    set_seed(seed)  # before the model: the regression head is initialised at random
    model = Dnabert2ForRegression.from_pretrained(model_name)
    logger.info(
        "%s: %d genes; model %s (%.1f M parameters) on %s%s",
        dataset,
        len(table),
        model_name,
        sum(p.numel() for p in model.parameters()) / 1e6,
        target,
        ", bf16 autocast" if target.type == "cuda" else ", float32",
    )
    outdir = ensure_outdir(outdir)
    checkpoints = Checkpoints(checkpoint_dir or outdir / "checkpoints")
    fingerprint = run_fingerprint(options, model_name, file_sha256(dataset))
    result = finetune(table, dataset, model, tokenizer, options, target, checkpoints, fingerprint)
    write_tsv(result.log, outdir / "training_log.tsv")
    if result.predictions is None:
        logger.info("Not finished: training_log.tsv written; predictions and model/ come when the run ends")
        return
    warn_if_near_constant(result.predictions)
    write_predictions(result.predictions, outdir / "predictions.tsv")
    with open(outdir / "training_curves_mqc.yaml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(training_curves(result.log), handle, sort_keys=False)
    model.config.finetune_max_tokens = options.max_tokens  # predict_dnabert2.py cuts new windows the same way
    model.save_pretrained(outdir / "model", safe_serialization=True)
    tokenizer.save_pretrained(outdir / "model")
    honour_umask(outdir / "model")
    if not keep_checkpoints:
        checkpoints.remove()
    compute.write(outdir / COMPUTE_FILE)  # the invocation that finished (a resumed run: since its resume)
    logger.info("Wrote predictions.tsv, training_log.tsv, training_curves_mqc.yaml, model/, compute.tsv to %s", outdir)


if __name__ == "__main__":
    main()
