"""The fine-tuning's options, apart from the training code so that `--help` needs no PyTorch.

Importing torch and transformers takes seconds; the command line is built from these fields
(`seq2expr.cli.dataclass_options`), so each default and its help are written here once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from seq2expr.data.dataset import DEFAULT_SEED, DEFAULT_VAL_FRACTION
from seq2expr.errors import InputError

AT_LEAST_1 = {"min": 1}


#: The declared learning rates of DNABERT-2's choice (the study's 3e-5 and one on each side).
LEARNING_RATES = (1e-5, 3e-5, 5e-5)


@dataclass(frozen=True)
class FinetuneOptions:
    """Every knob of a run; the defaults are the study's (see `seq2expr.models.dnabert2.finetune`)."""

    epochs: int = field(default=10, metadata={"help": "Passes over the training genes.", **AT_LEAST_1})
    global_batch_size: int = field(
        default=32,
        metadata={"help": "Sequences per optimiser step (gradient accumulation over --batch-size).", **AT_LEAST_1},
    )
    batch_size: int = field(default=32, metadata={"help": "Sequences per forward pass.", **AT_LEAST_1})
    eval_batch_size: int = field(default=32, metadata={"help": "Sequences per prediction pass.", **AT_LEAST_1})
    learning_rate: float = field(
        default=3e-5, metadata={"help": "Peak AdamW learning rate.", "min": 0, "min_open": True}
    )
    weight_decay: float = field(
        default=0.01, metadata={"help": "AdamW weight decay (not on biases and normalisation layers).", "min": 0}
    )
    warmup_steps: int = field(default=50, metadata={"help": "Linear warm-up, then linear decay to 0.", "min": 0})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient norm clipped to this value.", "min": 0})
    max_tokens: int = field(default=1000, metadata={"help": "Tokens per sequence, [CLS]/[SEP] included.", "min": 3})
    eval_steps: int = field(
        default=200, metadata={"help": "Evaluate on val every N steps (and each epoch end).", **AT_LEAST_1}
    )
    logging_steps: int = field(default=50, metadata={"help": "Log the training loss every N steps.", **AT_LEAST_1})
    patience: int = field(
        default=5, metadata={"help": "Stop after N evaluations without a better val MSE (0: never).", "min": 0}
    )
    val_fraction: float = field(
        default=DEFAULT_VAL_FRACTION,
        metadata={
            "help": "Share of the training genes held out as 'val' for early stopping, used only when the dataset "
            "has no val split.",
            "min": 0,
            "max": 1,
            "max_open": True,
        },
    )
    seed: int = field(
        default=DEFAULT_SEED,
        metadata={
            "help": "Seed of the head, dropout, batch order and carved val (one seed drives the split and the "
            "training of every model).",
            "min": 0,
        },
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations in the backward pass (less memory)."}
    )

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

    @property
    def grad_accum(self) -> int:
        return self.global_batch_size // self.batch_size

    def trajectory(self) -> dict[str, Any]:
        """The options that decide the sequence of weights; a checkpoint only resumes a run with the same."""
        skip = {"batch_size", "eval_batch_size", "logging_steps", "gradient_checkpointing"}
        return {key: value for key, value in dataclasses.asdict(self).items() if key not in skip}
