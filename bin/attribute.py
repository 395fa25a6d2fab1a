#!/usr/bin/env python3
"""In-silico mutagenesis of one saved model on a seeded sample of its test genes: where and what it reads.

Writes attribution_profile.tsv (mean |contribution| by offset from the TSS), attribution_tracks.tsv.gz
(per-gene contribution tracks), attribution_motifs.tsv (known core-promoter elements: matches, mean
effect against the background, mean offset), attribution_kmers.tsv (the most attributed 6-mers) and, for
motif discovery with TF-MoDISco-lite, attribution_onehot.npz and attribution_hypothetical.npz.
A probe (dnabert2_probe, probe_glm) is its read-out (readout.safetensors) on the frozen checkpoint it
embedded with (--base-model), windows tokenised and cut as the probe command cut them.
"""

from __future__ import annotations

from pathlib import Path

import click

from seq2expr.cli import command, dataset_option, fold_options, seed_option, setup_logging, step_options
from seq2expr.interpret.attribute import run
from seq2expr.interpret.ism import DEFAULT_FLANK, DEFAULT_GENES, IsmSpec
from seq2expr.interpret.predictors import GLM_PROBE_KIND, PREDICTORS, PROBE_KINDS, PredictorOptions
from seq2expr.models.training.core import torch_threads


@command(context_settings={"show_default": True})
@click.option(
    "--model-kind",
    type=click.Choice(sorted(PREDICTORS)),
    required=True,
    help="The roster key of the model (probe_glm: a probe of --probe_models).",
)
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The saved model: DExTER's model.json, the CNN's or the fine-tuned DNABERT-2's model folder, a probe's "
    "readout.safetensors (or the probe's output folder).",
)
@click.option(
    "--base-model",
    help=f"{' and '.join(PROBE_KINDS)} only: the frozen checkpoint the probe embedded with (folder or Hub id) "
    "[default: the --model the probe command was given, as its read-out records it].",
)
@click.option(
    "--trust-remote-code",
    is_flag=True,
    help=f"{GLM_PROBE_KIND} only: run modelling code shipped with the checkpoint (as the probe's own flag).",
)
@click.option("--name", "model_name", required=True, help="The model's name in the tables (as in predictions.tsv).")
@dataset_option("ISM samples the test genes of --fold")
@fold_options
@click.option("--tss-index", required=True, type=click.IntRange(min=0), help="0-based TSS position in the windows.")
@click.option("--genes", default=DEFAULT_GENES, type=click.IntRange(min=1), help="Test genes sampled (seeded).")
@click.option("--flank", default=DEFAULT_FLANK, type=click.IntRange(min=0), help="Bases mutated each side of the TSS.")
@seed_option("the sample of genes")
@step_options("predict")
def main(
    model_kind: str,
    model_path: Path,
    base_model: str | None,
    trust_remote_code: bool,
    model_name: str,
    dataset: Path,
    fold: int,
    repeat: int,
    tss_index: int,
    genes: int,
    flank: int,
    seed: int,
    device: str,
    threads: int,
    outdir: Path,
    verbose: bool,
) -> None:
    """ISM of the model on its own test genes: meta-profile, tracks, known elements and top k-mers."""
    setup_logging(verbose)
    spec = IsmSpec(tss_index=tss_index, flank=flank, genes=genes, seed=seed)
    with torch_threads(threads):
        options = PredictorOptions(device, base_model, trust_remote_code)
        run(model_kind, model_path, model_name, dataset, spec, outdir, fold, repeat, options)


if __name__ == "__main__":
    main()
