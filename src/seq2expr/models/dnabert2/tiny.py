"""A tiny DNABERT-2-shaped model made by the project, for tests and `-profile test`.

Random weights at a tiny configuration plus a BPE tokenizer trained on the given sequences with
the published special tokens and ids ([UNK]=0 [CLS]=1 [SEP]=2 [PAD]=3 [MASK]=4, then A C G T),
written in the published layout: `config.json` with the published fields, a masked-LM state dict
(`bert.*` without pooler, `cls.predictions.*`, the tied decoder stored too) in
`model.safetensors`, `tokenizer.json`, `tokenizer_config.json`. So everything that reads the
real checkpoint reads this one the same way, in seconds on a CPU. Its config.json also says
`"seq2expr_random_init": true` (`seq2expr.io.compute.RANDOM_INIT_KEY`), which carries over into a
model fine-tuned from it: compute.tsv and the report mark such a model as a random-weight test,
whose accuracy says nothing about DNABERT-2.

The output depends only on the sequences, the sizes and the seed: re-running gives identical
files (with the same torch and tokenizers versions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

from seq2expr.io.compute import RANDOM_INIT_KEY
from seq2expr.models.dnabert2.config import Dnabert2Config
from seq2expr.models.dnabert2.loading import CONFIG_FILE, SAFETENSORS_FILE, TIED_KEYS
from seq2expr.models.dnabert2.model import Dnabert2ForMaskedLM
from seq2expr.models.dnabert2.tokenizer import SPECIAL_TOKENS

# In id order: the published ids 0-4.
SPECIAL_ORDER = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
ALPHABET = ["A", "C", "G", "T"]
ACGT_RUNS = re.compile(r"[ACGT]+")
# The published tokenizer_config.json, byte for byte.
TOKENIZER_CONFIG = {"tokenizer_class": "PreTrainedTokenizerFast", **SPECIAL_TOKENS}
# config.json fields of the published model that the architecture reads or that carry its shape.
CONFIG_FIELDS = (
    "alibi_starting_size",
    "attention_probs_dropout_prob",
    "classifier_dropout",
    "hidden_act",
    "hidden_dropout_prob",
    "hidden_size",
    "initializer_range",
    "intermediate_size",
    "layer_norm_eps",
    "max_position_embeddings",
    "num_attention_heads",
    "num_hidden_layers",
    "position_embedding_type",
    "type_vocab_size",
    "vocab_size",
)


@dataclass(frozen=True)
class TinySize:
    """Sizes of the tiny model; the defaults keep the bundled folder well under 1 MB."""

    vocab_size: int = 512
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 128
    max_token_length: int = 12
    word_length: int = 1000


def training_words(sequences: Iterable[str], word_length: int) -> Iterator[str]:
    """Upper-cased A/C/G/T stretches cut into words of at most `word_length` letters.

    Anything else (N runs, soft-masking is upper-cased first) separates words, so the tokenizer's
    alphabet is exactly ACGT and, as in the published one, N becomes [UNK].
    """
    for sequence in sequences:
        for run in ACGT_RUNS.findall(sequence.upper()):
            for start in range(0, len(run), word_length):
                yield run[start : start + word_length]


def train_tokenizer(sequences: Iterable[str], size: TinySize) -> Tokenizer:
    """BPE with the published special tokens, pre-tokeniser and `[CLS] $A [SEP]` post-processor."""
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]", fuse_unk=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(
        vocab_size=size.vocab_size,
        special_tokens=SPECIAL_ORDER,
        initial_alphabet=ALPHABET,
        limit_alphabet=len(ALPHABET),
        max_token_length=size.max_token_length,
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_words(sequences, size.word_length), trainer=trainer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    expected = {token: index for index, token in enumerate(SPECIAL_ORDER + ALPHABET)}
    actual = {token: tokenizer.token_to_id(token) for token in expected}
    if actual != expected:
        raise ValueError(f"tokenizer ids differ from the published ones: {actual}")
    return tokenizer


def tiny_config(size: TinySize, vocab_size: int) -> Dnabert2Config:
    """The published configuration with tiny sizes."""
    return Dnabert2Config(
        vocab_size=vocab_size,
        hidden_size=size.hidden_size,
        num_hidden_layers=size.num_hidden_layers,
        num_attention_heads=size.num_attention_heads,
        intermediate_size=size.intermediate_size,
    )


def random_masked_lm(config: Dnabert2Config, seed: int) -> Dnabert2ForMaskedLM:
    """A masked-LM model with BERT-initialised weights drawn from `seed`, leaving the global RNG alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Dnabert2ForMaskedLM(config)


def published_state_dict(model: Dnabert2ForMaskedLM) -> dict[str, torch.Tensor]:
    """The model's tensors under the published names, the tied decoder weight stored as its own copy."""
    state = {name: tensor.detach().clone().contiguous() for name, tensor in model.state_dict().items()}
    for tied, source in TIED_KEYS.items():
        state[tied] = state[source].clone()
    return state


def write_tiny_model(sequences: Iterable[str], outdir: Path, seed: int = 0, size: TinySize | None = None) -> list[Path]:
    """Train the tokenizer, draw the weights and write the folder; returns the files written."""
    size = size or TinySize()
    tokenizer = train_tokenizer(sequences, size)
    config = tiny_config(size, tokenizer.get_vocab_size())
    model = random_masked_lm(config, seed)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [
        outdir / CONFIG_FILE,
        outdir / SAFETENSORS_FILE,
        outdir / "tokenizer.json",
        outdir / "tokenizer_config.json",
    ]
    fields = {name: getattr(config, name) for name in CONFIG_FIELDS} | {"torch_dtype": "float32", RANDOM_INIT_KEY: True}
    paths[0].write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    save_file(published_state_dict(model), str(paths[1]), metadata={"format": "pt"})
    paths[2].write_text(tokenizer.to_str(pretty=True) + "\n", encoding="utf-8")
    paths[3].write_text(json.dumps(TOKENIZER_CONFIG), encoding="utf-8")
    return paths
