"""The fine-tuning's options, apart from the training code so that `--help` needs no PyTorch.

Importing torch and transformers takes seconds; the command line reads its defaults from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from seq2expr.dataset import DEXTER_SEED
from seq2expr.errors import InputError


@dataclass(frozen=True)
class FinetuneOptions:
    """Every knob of a run; the defaults are the study's (see the module docstring)."""

    epochs: int = 10
    global_batch_size: int = 32
    batch_size: int = 32
    eval_batch_size: int = 32
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_steps: int = 50
    max_grad_norm: float = 1.0
    max_tokens: int = 1000
    eval_steps: int = 200
    logging_steps: int = 50
    patience: int = 5
    val_fraction: float = 0.1
    seed: int = DEXTER_SEED
    gradient_checkpointing: bool = False
    stop_after_steps: int | None = None

    def check(self) -> None:
        """Reject option combinations that cannot run, with a message naming the options."""
        positive = ("epochs", "global_batch_size", "batch_size", "eval_batch_size", "eval_steps", "logging_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.global_batch_size % self.batch_size:
            raise InputError(
                f"--global-batch-size {self.global_batch_size} must be a multiple of --batch-size {self.batch_size} "
                "(the difference is made up by gradient accumulation)"
            )
        if self.learning_rate <= 0 or self.weight_decay < 0 or self.warmup_steps < 0 or self.patience < 0:
            raise InputError(
                "--learning-rate must be positive; --weight-decay, --warmup-steps, --patience not negative"
            )
        if self.max_tokens < 3:
            raise InputError(f"--max-tokens must be at least 3 ([CLS], one token, [SEP]), got {self.max_tokens}")
        if not 0 < self.val_fraction < 1:
            raise InputError(f"--val-fraction must be between 0 and 1, got {self.val_fraction}")
        if self.stop_after_steps is not None and self.stop_after_steps < 1:
            raise InputError(f"--stop-after-steps must be at least 1, got {self.stop_after_steps}")

    @property
    def grad_accum(self) -> int:
        return self.global_batch_size // self.batch_size

    def trajectory(self) -> dict[str, Any]:
        """The options that decide the sequence of weights; a checkpoint only resumes a run with the same."""
        skip = {"batch_size", "eval_batch_size", "logging_steps", "gradient_checkpointing", "stop_after_steps"}
        return {key: value for key, value in dataclasses.asdict(self).items() if key not in skip}
