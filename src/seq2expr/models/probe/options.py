"""The probe's tunable settings, each default written once (the commands build their options from here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from seq2expr.errors import InputError
from seq2expr.models.probe.embeddings import check_poolings
from seq2expr.models.probe.ridge import ALPHA_GRID, parse_alphas


@dataclass(frozen=True)
class ProbeOptions:
    """What every probe command accepts besides its model."""

    pooling: str = field(
        default="mean,cls",
        metadata={
            "help": "Features of a layer, comma-separated and concatenated in this order: mean (over the sequence's "
            "tokens, no specials), cls (the first token, where the model has a [CLS])."
        },
    )
    layers: str = field(
        default="all",
        metadata={
            "help": "Candidate layers (the grouped cross-validation picks one): all, or comma-separated indices of the "
            "hidden states (0 = embedding output, -1 = last layer). Each candidate is held in memory for every gene."
        },
    )
    alphas: str = field(
        default=ALPHA_GRID,
        metadata={"help": "Ridge penalties: a comma list, or START:STOP:N (N values evenly spaced in log scale)."},
    )
    batch_size: int = field(default=32, metadata={"help": "Windows (or window pieces) per forward pass.", "min": 1})

    @property
    def poolings(self) -> list[str]:
        names = [name.strip() for name in self.pooling.split(",") if name.strip()]
        check_poolings(names)
        return names

    @property
    def penalties(self) -> tuple[float, ...]:
        return parse_alphas(self.alphas)

    def check(self) -> None:
        """Every option that can be checked without the model (before anything heavy)."""
        _ = self.poolings, self.penalties
        if self.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {self.batch_size}")
        resolve_layers(self.layers, None)


def resolve_layers(spec: str, n_states: int | None) -> list[int]:
    """Hidden-state indices from `all` or a comma list (negative counts from the last); sorted, unique.

    With `n_states` None only the syntax is checked.
    """
    expected = f"--layers {spec!r}: expected all or comma-separated integers (0 = embedding output, -1 = last)"
    if spec.strip() == "all":
        return [] if n_states is None else list(range(n_states))
    try:
        indices = [int(value) for value in spec.split(",") if value.strip()]
    except ValueError:
        raise InputError(expected) from None
    if not indices:
        raise InputError(expected)
    if n_states is None:
        return []
    out_of_range = [index for index in indices if not -n_states <= index < n_states]
    if out_of_range:
        raise InputError(f"--layers {spec!r}: the model has {n_states} hidden states (0 to {n_states - 1})")
    return sorted({index % n_states for index in indices})
