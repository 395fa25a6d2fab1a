"""Options every gradient-trained model's command shares, without importing PyTorch (a command's
`--help` must answer at once): where the resumable checkpoint lives and a planned interruption."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ResumeOptions:
    """Where a trainer keeps its resumable checkpoint, and a planned interruption (for tests and tight queues)."""

    checkpoint_dir: Path | None = field(
        default=None,
        metadata={"help": "Where the resumable checkpoint lives [default: OUTDIR/checkpoints].", "file_okay": False},
    )
    keep_checkpoints: bool = field(default=False, metadata={"help": "Keep the checkpoint files after a finished run."})
    stop_after_steps: int | None = field(
        default=None,
        metadata={
            "help": "Stop with a checkpoint after N optimiser steps in all, as a kill would; the schedule still spans "
            "--epochs, and the same command continues the run.",
            "min": 1,
        },
    )
