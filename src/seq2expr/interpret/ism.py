"""In-silico mutagenesis (ISM) through any model's prediction function: where in the window a model reads.

Model-agnostic by construction: the only thing asked of a model is `predict(sequences) -> values`,
the same call its prediction command makes (DExTER's fitted LASSO on region frequencies, the CNN,
the fine-tuned gLM, a probe). Each base in a window around the TSS is replaced by each of the
other three and the change in prediction recorded (Alipanahi et al. 2015; Zhou & Troyanskaya
2015). A base's contribution is the prediction with the reference base minus the mean over its
three substitutes, so a base that raises the prediction scores positive; the positional
meta-profile is the mean |contribution| over the sampled genes at each offset from the TSS.

Cost: 3 × (2 × flank + 1) predictions per gene. The defaults (100 genes, ±250 bp) ask 150,300
predictions, about 2.5 × 10^16 FLOP for DNABERT-2-117M on 4 kb windows (forward ≈ 1/3 of the
≈ 623 GFLOP per training pass): about 2 minutes at 200 TFLOP/s, within the 10 GPU-minutes the
study size allows (`bench/attribution.py` measures it on the CPU models).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seq2expr.data.dataset import DEFAULT_SEED
from seq2expr.errors import InputError

BASES = "ACGT"
DEFAULT_GENES = 100
DEFAULT_FLANK = 250
DEFAULT_BATCH = 256

Predict = Callable[[Sequence[str]], np.ndarray]
"""A model's prediction on a batch of equal-length windows (upper case A/C/G/T/N), one value each."""


@dataclass(frozen=True)
class IsmSpec:
    """Which genes and bases are mutated: a seeded sample of `genes` test genes, ±`flank` around the TSS."""

    tss_index: int
    flank: int = DEFAULT_FLANK
    genes: int = DEFAULT_GENES
    seed: int = DEFAULT_SEED
    batch: int = DEFAULT_BATCH

    def __post_init__(self) -> None:
        if self.flank < 0 or self.genes < 1 or self.batch < 1:
            raise InputError("--flank must be >= 0, --genes and --batch-size >= 1")


@dataclass(frozen=True)
class IsmResult:
    """Contributions of the sampled genes: `contributions` (genes, positions), NaN at N bases."""

    gene_ids: list[str]
    offsets: np.ndarray
    """Position of each column relative to the TSS (0 = the TSS base)."""
    sequences: list[str]
    """The mutated stretch of each gene (the columns' reference bases)."""
    contributions: np.ndarray
    reference: np.ndarray
    """Each gene's prediction on its unmutated window."""
    effects: np.ndarray
    """(genes, positions, 4): the prediction with each of A, C, G, T at a position minus the reference
    prediction (0 for the reference base; NaN at N bases)."""

    def meta_profile(self) -> pd.DataFrame:
        """offset, mean |contribution| and mean contribution over genes (N bases left out)."""
        with np.errstate(invalid="ignore"):
            return pd.DataFrame(
                {
                    "offset": self.offsets,
                    "mean_abs_contribution": np.nanmean(np.abs(self.contributions), axis=0),
                    "mean_contribution": np.nanmean(self.contributions, axis=0),
                }
            )

    def modisco_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """One-hot sequences and hypothetical contributions, each (genes, 4, positions) float32: what
        TF-MoDISco (Shrikumar et al. 2018; modisco-lite's `modisco motifs -s ... -a ...`) reads. A base's
        hypothetical contribution is its effect minus the mean effect of the four bases at that position
        (the usual mean-centring of ISM scores, Majdandzic et al. 2023), so the observed base's is 3/4 of
        its `contributions` value; N positions are zero in both arrays."""
        centred = self.effects - self.effects.mean(axis=2, keepdims=True)
        hypothetical = np.nan_to_num(centred, nan=0.0)
        one_hot = np.zeros_like(hypothetical)
        for row, sequence in enumerate(self.sequences):
            for column, base in enumerate(sequence):
                if base in BASES:
                    one_hot[row, column, BASES.index(base)] = 1.0
        return one_hot.transpose(0, 2, 1).astype(np.float32), hypothetical.transpose(0, 2, 1).astype(np.float32)

    def tracks(self) -> pd.DataFrame:
        """Per-gene contribution tracks, long format: gene_id, offset, base, contribution."""
        genes, positions = self.contributions.shape
        return pd.DataFrame(
            {
                "gene_id": np.repeat(self.gene_ids, positions),
                "offset": np.tile(self.offsets, genes),
                "base": [base for sequence in self.sequences for base in sequence],
                "contribution": self.contributions.reshape(-1),
            }
        )


def sample_genes(gene_ids: Sequence[str], count: int, seed: int) -> list[int]:
    """A seeded sample of `count` positions (all when fewer), in their original order."""
    if count >= len(gene_ids):
        return list(range(len(gene_ids)))
    chosen = np.random.default_rng(seed).choice(len(gene_ids), size=count, replace=False)
    return sorted(int(index) for index in chosen)


def mutated_range(length: int, spec: IsmSpec) -> range:
    """The window positions mutated: the TSS ± flank, clipped to the window."""
    if not 0 <= spec.tss_index < length:
        raise InputError(f"--tss-index {spec.tss_index} is outside the {length} bp windows")
    return range(max(spec.tss_index - spec.flank, 0), min(spec.tss_index + spec.flank + 1, length))


def _mutants(sequence: str, positions: range) -> Iterator[tuple[int, int, str]]:
    """(column, base index, mutant window) of every substitution at an A/C/G/T base of `positions`."""
    for column, position in enumerate(positions):
        reference = sequence[position]
        if reference not in BASES:
            continue
        for base_index, base in enumerate(BASES):
            if base != reference:
                yield column, base_index, sequence[:position] + base + sequence[position + 1 :]


def _batched(predict: Predict, windows: list[str], batch: int) -> np.ndarray:
    values = [np.asarray(predict(windows[start : start + batch]), dtype=float).reshape(-1) for start in
              range(0, len(windows), batch)]  # fmt: skip
    return np.concatenate(values) if values else np.zeros(0)


def ism(gene_ids: Sequence[str], sequences: Sequence[str], predict: Predict, spec: IsmSpec) -> IsmResult:
    """Mutate every base of each sampled gene's TSS ± flank to the three others and record the effects."""
    lengths = {len(sequence) for sequence in sequences}
    if len(lengths) != 1:
        raise InputError(f"windows of {len(lengths)} different lengths; ISM needs one window length")
    positions = mutated_range(lengths.pop(), spec)
    chosen = sample_genes(gene_ids, spec.genes, spec.seed)
    reference = _batched(predict, [sequences[index].upper() for index in chosen], spec.batch)
    contributions = np.full((len(chosen), len(positions)), np.nan)
    all_effects = np.full((len(chosen), len(positions), len(BASES)), np.nan)
    for row, index in enumerate(chosen):
        sequence = sequences[index].upper()
        mutants = list(_mutants(sequence, positions))
        effects = np.zeros((len(positions), len(BASES)))
        counted = np.zeros(len(positions))
        if mutants:
            predicted = _batched(predict, [window for _, _, window in mutants], spec.batch)
            for (column, base_index, _), value in zip(mutants, predicted, strict=True):
                effects[column, base_index] = value - reference[row]
                counted[column] += 1
        mutated = counted > 0
        contributions[row, mutated] = -effects[mutated].sum(axis=1) / counted[mutated]
        all_effects[row, mutated] = effects[mutated]
    return IsmResult(
        gene_ids=[str(gene_ids[index]) for index in chosen],
        offsets=np.arange(positions.start, positions.stop) - spec.tss_index,
        sequences=[sequences[index].upper()[positions.start : positions.stop] for index in chosen],
        contributions=contributions,
        reference=reference,
        effects=all_effects,
    )


def peak_offsets(profile: pd.DataFrame, count: int = 3, separation: int = 10) -> list[int]:
    """The offsets of the `count` highest meta-profile values at least `separation` bp apart."""
    order = profile.sort_values("mean_abs_contribution", ascending=False, kind="stable")["offset"].to_numpy()
    peaks: list[int] = []
    for offset in order:
        if all(abs(int(offset) - peak) >= separation for peak in peaks):
            peaks.append(int(offset))
        if len(peaks) == count:
            break
    return peaks
