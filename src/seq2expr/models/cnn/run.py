"""The CNN step as one function: the declared search (optional), training, and every output file.

`bin/train_cnn.py` parses options and calls `run`; the training itself is `seq2expr.models.cnn.training`,
the search `seq2expr.models.cnn.search` (which trains through the same `train_cnn`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from seq2expr.data.dataset import read_fold
from seq2expr.io.compute import COMPUTE_FILE
from seq2expr.io.predictions import CONTROL_FILE, control_from_predictions, write_control
from seq2expr.io.tables import honour_umask, write_tsv
from seq2expr.models.cnn.model import encode, save_cnn
from seq2expr.models.cnn.options import CnnConfig, CnnOptions
from seq2expr.models.cnn.search import CANDIDATES, CnnSetting, candidate_options, search_cnn, search_table
from seq2expr.models.cnn.training import CURVES, CnnResult, predict, train_cnn
from seq2expr.models.roster import CNN
from seq2expr.models.training.core import control_windows, training_session
from seq2expr.models.training.loop import Checkpoints, checkpoint_files
from seq2expr.models.training.options import ResumeOptions
from seq2expr.models.training.outputs import TrainingRun, write_training_files
from seq2expr.models.training.refit import RefitOptions
from seq2expr.models.training.search import Candidate

logger = logging.getLogger(__name__)

SEARCH_FILE = "cnn_search.tsv"


def run(
    dataset: Path,
    config: CnnConfig,
    options: CnnOptions,
    outdir: Path,
    device: str = "auto",
    threads: int = 1,
    resume: ResumeOptions | None = None,
    refit: RefitOptions | None = None,
    search: bool = False,
    candidates: tuple[Candidate[CnnSetting], ...] | None = None,
    fold: int = 0,
    repeat: int = 0,
    control: Path | None = None,
) -> TrainingRun[CnnResult]:
    """Train the CNN on one fold's view of the dataset (`read_fold`; `fold`, `repeat` go into the predictions
    and fit.json) and write predictions.tsv, training_log.tsv, the curves, model/, fit.json and compute.tsv.

    An interrupted run (`resume.stop_after_steps`, or a kill) leaves its checkpoint, and the same call
    continues it; a finished run removes the checkpoint unless `resume.keep_checkpoints`. With
    `refit.refit`, the predictions are a refit's on train + val (refit_log.tsv, fit.json). With
    `search`, the declared search (`seq2expr.models.cnn.search`) first chooses the recipe on the val genes
    (cnn_search.tsv, its methods paragraph in the log) among `candidates` (default: the declared
    `seq2expr.models.cnn.search.CANDIDATES`), and `config` and `options` give way to the chosen candidate's
    (`candidate_options`); the chosen recipe is then trained on the whole table, exactly as its
    search run was. A resumed run searches again (same seed: same choice) before it resumes.

    With `control` (shuffled windows, `seq2expr.data.shuffle`; read and checked before training), the
    predicting weights also predict the test genes' shuffled windows, by the same `predict` as the real
    windows: control.tsv, the composition control.
    """
    resume, refit = resume or ResumeOptions(), refit or RefitOptions()
    options.check()
    outdir.mkdir(parents=True, exist_ok=True)
    checkpoints = Checkpoints(resume.checkpoint_dir or outdir / "checkpoints")
    searched: list[str] = []
    chosen = None
    with training_session(threads, device, CNN) as (target, compute):
        table = read_fold(dataset, fold, repeat)
        shuffled = None if control is None else control_windows(control, table, dataset)
        if search:
            chosen = search_cnn(table, str(dataset), options, target, candidates or CANDIDATES)
            write_tsv(search_table(chosen), outdir / SEARCH_FILE)
            logger.info("%s", chosen.methods())
            config, options = chosen.chosen.settings.config, candidate_options(chosen.chosen.settings, options)
            searched = [SEARCH_FILE]
        result = train_cnn(
            table,
            str(dataset),
            config,
            options,
            target,
            checkpoints.directory,
            resume.stop_after_steps,
            refit.refit,
            fold,
            repeat,
        )
        files = searched + write_training_files(
            outdir, result.log, result.predictions, result.fit, result.refit_log, CURVES
        )
        if result.predictions is None:
            return TrainingRun(result, outdir, files + checkpoint_files(checkpoints, outdir), chosen)
        if shuffled is not None:
            values = predict(result.model, encode(shuffled), options.eval_batch_size, target)
            controlled = control_from_predictions(result.predictions, values * result.target_sd + result.target_mean)
            write_control(controlled, outdir / CONTROL_FILE)
            files.append(CONTROL_FILE)
        window = len(table["sequence"].iloc[0])
        save_cnn(result.model.cpu(), outdir / "model", result.target_mean, result.target_sd, window)
        honour_umask(outdir / "model")
        if not resume.keep_checkpoints:
            checkpoints.remove()
        compute.write(outdir / COMPUTE_FILE)
    files += ["model/config.json", "model/model.safetensors", COMPUTE_FILE, *checkpoint_files(checkpoints, outdir)]
    logger.info("Wrote %s", ", ".join(files))
    return TrainingRun(result, outdir, files, chosen)
