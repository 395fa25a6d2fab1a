"""Tiny random-weight checkpoints of two transformers-native encoder families, for tests and `-profile test`.

Real genome language models cannot be downloaded here, so the probe of "any gLM" is tested on two
checkpoints that look like real ones to every line of the loading code (config.json with a native
`model_type`, a masked-LM state dict in model.safetensors, a fast tokenizer saved with
`save_pretrained`) but are a few hundred kB:

- `esm_6mer`: an ESM masked LM with a Nucleotide-Transformer-style vocabulary (special tokens, the
  4,096 six-mers, then single nucleotides), non-overlapping 6-mers read greedily from the left with
  single letters where no six-mer fits (N, the window's end), `<cls>` first and no end token, and
  learned absolute positions that hold 64 tokens: a 1 kb window is cut into pieces;
- `bert_char`: a BERT masked LM with a single-nucleotide tokenizer (as HyenaDNA and Caduceus read
  DNA), `[CLS] … [SEP]`, 128 positions.

Both write `"seq2expr_random_init": true` into config.json, so the report can say that their
figures measure nothing but the pipeline. Files depend only on the seed and the versions of torch,
transformers and tokenizers: re-running gives identical bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
from transformers import (
    BertConfig,
    BertForMaskedLM,
    EsmConfig,
    EsmForMaskedLM,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from seq2expr.io.compute import RANDOM_INIT_KEY

NUCLEOTIDES = ("A", "C", "G", "T", "N")
NT_SINGLES = ("A", "T", "C", "G", "N")  # the Nucleotide Transformer's order after the six-mers
KMER = 6


@dataclass(frozen=True)
class TinyEncoder:
    """Shape shared by the tiny checkpoints (kept well under 1 MB)."""

    hidden_size: int = 32
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 64


def _tokenizer(
    vocab: list[str], pattern: str, template: str, specials: dict[str, str], max_length: int
) -> PreTrainedTokenizerFast:
    """A WordLevel tokenizer over `vocab` whose words are the matches of `pattern`, wrapped by `template`."""
    ids = {token: index for index, token in enumerate(vocab)}
    backend = Tokenizer(models.WordLevel(vocab=ids, unk_token=specials["unk_token"]))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    used = [token for token in (specials.get("cls_token"), specials.get("sep_token")) if token and token in template]
    backend.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(token, ids[token]) for token in used]
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=max_length, **specials)


def esm_6mer(size: TinyEncoder) -> tuple[PreTrainedTokenizerFast, EsmConfig, type[PreTrainedModel]]:
    """Nucleotide-Transformer-like: ESM, 6-mer vocabulary, `<cls>` first, 64 tokens."""
    specials = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
    kmers = ["".join(letters) for letters in itertools.product("ACGT", repeat=KMER)]
    vocab = [*specials, *kmers, *NT_SINGLES]
    names = {"unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "cls_token": "<cls>"}
    max_length = 64
    tokenizer = _tokenizer(vocab, f"[ACGT]{{{KMER}}}|.", "<cls> $A", names, max_length)
    config = EsmConfig(
        vocab_size=len(vocab),
        mask_token_id=vocab.index("<mask>"),
        pad_token_id=vocab.index("<pad>"),
        hidden_size=size.hidden_size,
        num_hidden_layers=size.num_hidden_layers,
        num_attention_heads=size.num_attention_heads,
        intermediate_size=size.intermediate_size,
        max_position_embeddings=max_length + 2,  # ESM positions start after the padding index
        position_embedding_type="absolute",
        emb_layer_norm_before=False,
        token_dropout=False,
    )
    return tokenizer, config, EsmForMaskedLM


def bert_char(size: TinyEncoder) -> tuple[PreTrainedTokenizerFast, BertConfig, type[PreTrainedModel]]:
    """Single-nucleotide BERT: `[CLS] … [SEP]`, 128 positions."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *NUCLEOTIDES]
    names = {
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "mask_token": "[MASK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
    }
    max_length = 128
    tokenizer = _tokenizer(vocab, ".", "[CLS] $A [SEP]", names, max_length)
    config = BertConfig(
        vocab_size=len(vocab),
        pad_token_id=0,
        hidden_size=size.hidden_size,
        num_hidden_layers=size.num_hidden_layers,
        num_attention_heads=size.num_attention_heads,
        intermediate_size=size.intermediate_size,
        max_position_embeddings=max_length,
    )
    return tokenizer, config, BertForMaskedLM


Family = Callable[[TinyEncoder], tuple[PreTrainedTokenizerFast, PretrainedConfig, type[PreTrainedModel]]]
FAMILIES: dict[str, Family] = {
    "esm_6mer": esm_6mer,
    "bert_char": bert_char,
}


def write_tiny_glm(family: str, outdir: Path, seed: int = 0, size: TinyEncoder | None = None) -> list[Path]:
    """Draw the weights from `seed` (leaving the global RNG alone) and save model and tokenizer; the files written."""
    tokenizer, config, model_class = FAMILIES[family](size or TinyEncoder())
    setattr(config, RANDOM_INIT_KEY, True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    outdir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(outdir, safe_serialization=True)
    tokenizer.save_pretrained(outdir)
    return sorted(path for path in outdir.iterdir() if path.is_file())
