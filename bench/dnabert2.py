#!/usr/bin/env python3
"""Benchmark: the native DNABERT-2 against the published remote code, and training throughput.

`forward` (CPU): the 117M configuration with random weights, ~810-token inputs (a 4 kb window),
run by the native model and by the published model code on its pure-PyTorch path with the same
weights; checks that the outputs agree and prints both throughputs and their ratio. The published
code is imported from its files (no remote-code loading, Triton blocked) and must be staged first:

    git clone https://github.com/ashal-ali/CS224N_DNABERT2 external/CS224N_DNABERT2
    git -C external/CS224N_DNABERT2 checkout d064dece8a8b41d9fb8729fbe3435278786931f1
    pip install einops            # imported by the published code, not by this project
    python bench/dnabert2.py forward [--batch-size 2 --repeats 3 --threads N]

`train` (GPU): bf16 autocast training steps of the regression model (AdamW, SDPA, batches of
similar lengths as the bucketing sampler makes them); prints tokens/s, model FLOP utilisation and
the projected time of the study's fine-tune (15,000 sequences × 25 epochs), next to the compute
bound at 400 TFLOP/s. `--size tiny --device cpu` runs the same code path in seconds as a check.

    python bench/dnabert2.py train [--batch-size 32 --steps 30 --compile]
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import click
import torch

from seq2expr.io.files import file_sha256
from seq2expr.models.dnabert2 import Dnabert2Config, Dnabert2ForRegression, Dnabert2Model

REPO = Path(__file__).resolve().parents[1]
REMOTE_CODE = REPO / "external" / "CS224N_DNABERT2"
# sha256 of the published files at Hub revision d064dece (see the DNABERT-2 spec).
REMOTE_SHA256 = {
    "bert_layers.py": "317ad7e9667980ac724c07f0174ba265c8446ca5230f6b473068ff1b911edcf9",
    "bert_padding.py": "44d1c68afb1f585fdc66c150d4c60f1ed44a89c006abc57d50531d71940d7421",
    "configuration_bert.py": "95fc868641b87bbcd7a32d2cd7b9f4769c27592e129daf167d14b5b8c74ec4c5",
}
REMOTE_PACKAGE = "dnabert2_published"
SIZES = {
    "117m": Dnabert2Config(),
    "tiny": Dnabert2Config(
        vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128
    ),
}
FIRST_DNA_TOKEN = 9  # after the five special tokens and the single letters A C G T
STUDY_SEQUENCES, STUDY_EPOCHS = 15_000, 25
ANCHOR_TFLOPS = 400.0  # effective bf16 rate on one H200 used as the compute bound in the issue


def random_batch(
    config: Dnabert2Config, batch_size: int, tokens: int, spread: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded `[CLS] … [SEP]` batches of random DNA token ids, lengths tokens ± spread."""
    lengths = torch.randint(tokens - spread, tokens + spread + 1, (batch_size,), generator=generator)
    width = int(lengths.max()) + 2
    ids = torch.full((batch_size, width), 3, dtype=torch.long)
    for row, length in enumerate(lengths.tolist()):
        body = torch.randint(FIRST_DNA_TOKEN, config.vocab_size, (length,), generator=generator)
        ids[row, : length + 2] = torch.cat([torch.tensor([1]), body, torch.tensor([2])])
    return ids, (ids != 3).long()


def dense_weights(config: Dnabert2Config) -> int:
    """Weights that take part in a matrix product per token (embeddings and norms excluded)."""
    hidden, inner = config.hidden_size, config.intermediate_size
    return config.num_hidden_layers * (4 * hidden * hidden + 3 * inner * hidden)


def forward_flops(config: Dnabert2Config, lengths: list[int]) -> float:
    """Model FLOPs of a forward pass over sequences of these real lengths (dense + attention)."""
    per_layer_attention = 4 * config.hidden_size * config.num_hidden_layers
    return float(sum(2 * dense_weights(config) * n + per_layer_attention * n * n for n in lengths))


def load_remote_code(folder: Path) -> tuple[ModuleType, ModuleType]:
    """Import the published `bert_layers` and `configuration_bert` from their files, Triton blocked.

    They use package-relative imports, so they are loaded as submodules of a synthetic package;
    marking the Triton module as absent makes the code take its PyTorch attention path.
    """
    for name, digest in REMOTE_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise click.ClickException(f"{path}: missing; stage the published code first (see --help)")
        if file_sha256(path) != digest:
            raise click.ClickException(f"{path}: not the file of revision d064dece (sha256 differs)")
    package = importlib.util.module_from_spec(
        importlib.util.spec_from_loader(REMOTE_PACKAGE, loader=None, is_package=True)  # type: ignore[arg-type]
    )
    package.__path__ = [str(folder)]
    sys.modules[REMOTE_PACKAGE] = package
    sys.modules[f"{REMOTE_PACKAGE}.flash_attn_triton"] = None  # type: ignore[assignment]
    modules = []
    for name in ("configuration_bert", "bert_layers"):
        spec = importlib.util.spec_from_file_location(f"{REMOTE_PACKAGE}.{name}", folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules.append(module)
    return modules[0], modules[1]


def timed(function: Callable[[], object], repeats: int, synchronize: Callable[[], None] = lambda: None) -> list[float]:
    """Wall times of `repeats` calls after one warm-up call."""
    function()
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        synchronize()
        times.append(time.perf_counter() - start)
    return times


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """DNABERT-2 benchmarks (see the module docstring)."""


@main.command()
@click.option("--batch-size", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--tokens", default=810, show_default=True, type=click.IntRange(min=8), help="Mean DNA tokens per input.")
@click.option("--spread", default=20, show_default=True, type=click.IntRange(min=0), help="Length spread (±).")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(min=1))
@click.option("--threads", default=None, type=click.IntRange(min=1), help="torch threads (default: torch's choice).")
@click.option("--size", type=click.Choice(sorted(SIZES)), default="117m", show_default=True)
@click.option("--remote-code", type=click.Path(file_okay=False, path_type=Path), default=REMOTE_CODE, show_default=True)
@click.option("--seed", default=0, show_default=True)
def forward(
    batch_size: int,
    tokens: int,
    spread: int,
    repeats: int,
    threads: int | None,
    size: str,
    remote_code: Path,
    seed: int,
) -> None:
    """CPU forward throughput: native model vs the published code, same random weights."""
    if threads:
        torch.set_num_threads(threads)
    config = SIZES[size]
    torch.manual_seed(seed)
    native = Dnabert2Model(config).eval()
    configuration, layers = load_remote_code(remote_code)
    fields = {
        key: value for key, value in config.to_dict().items() if key not in ("model_type", "transformers_version")
    }
    published = layers.BertModel(configuration.BertConfig(**fields)).eval()
    published.load_state_dict(native.state_dict(), strict=True)
    ids, mask = random_batch(config, batch_size, tokens, spread, torch.Generator().manual_seed(seed))
    real_tokens = int(mask.sum())
    parameters = sum(parameter.numel() for parameter in native.parameters())
    print(f"config {size}: {parameters:,} parameters; batch {tuple(ids.shape)}, {real_tokens} real tokens")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    with torch.inference_mode():
        ours = native(ids, mask)
        theirs_states, theirs_pooled = published(ids, attention_mask=mask)
        valid = mask.bool()
        state_diff = (ours.last_hidden_state - theirs_states)[valid].abs().max().item()
        pooled_diff = (ours.pooler_output - theirs_pooled).abs().max().item()
        padding_zero = torch.count_nonzero(ours.last_hidden_state[~valid]) == 0
        print(f"max |native - published|: last_hidden_state {state_diff:.2e}, pooled {pooled_diff:.2e}")
        native_times = timed(lambda: native(ids, mask), repeats)
        published_times = timed(lambda: published(ids, attention_mask=mask), repeats)
    agree = state_diff < 1e-4 and pooled_diff < 1e-4 and bool(padding_zero)
    flops = forward_flops(config, mask.sum(dim=1).tolist())
    for name, times in (("native", native_times), ("published", published_times)):
        median = statistics.median(times)
        print(
            f"{name:>9}: median {median:.3f} s per batch ({', '.join(f'{t:.3f}' for t in times)}), "
            f"{real_tokens / median:,.0f} tokens/s, {flops / median / 1e9:.1f} GFLOP/s"
        )
    ratio = statistics.median(published_times) / statistics.median(native_times)
    print(f"speed ratio native/published: {ratio:.2f}x; outputs agree (1e-4): {agree}")
    if not agree:
        raise click.ClickException("native and published outputs differ")


@main.command()
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--tokens", default=810, show_default=True, type=click.IntRange(min=8), help="Mean DNA tokens per input.")
@click.option(
    "--spread", default=10, show_default=True, type=click.IntRange(min=0), help="Length spread in a bucket (±)."
)
@click.option("--steps", default=30, show_default=True, type=click.IntRange(min=1), help="Timed optimiser steps.")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(min=1), help="Untimed steps first.")
@click.option("--size", type=click.Choice(sorted(SIZES)), default="117m", show_default=True)
@click.option("--device", default=None, help="cuda (default when present) or cpu (a check of the code path).")
@click.option("--precision", type=click.Choice(["bf16", "fp32"]), default="bf16", show_default=True)
@click.option("--checkpointing/--no-checkpointing", default=False, show_default=True)
@click.option(
    "--compile/--no-compile", "compile_model", default=False, show_default=True, help="torch.compile the model."
)
@click.option("--peak-tflops", default=989.0, show_default=True, help="Dense bf16 peak of the device (H200: 989).")
@click.option("--seed", default=0, show_default=True)
def train(
    batch_size: int,
    tokens: int,
    spread: int,
    steps: int,
    warmup: int,
    size: str,
    device: str | None,
    precision: str,
    checkpointing: bool,
    compile_model: bool,
    peak_tflops: float,
    seed: int,
) -> None:
    """Training throughput of the regression model (tokens/s, MFU, projected study fine-tune)."""
    device = device or ("cuda" if torch.cuda.is_available() else None)
    if device is None:
        raise click.ClickException("no CUDA device; pass --device cpu (with --size tiny) to check the code path")
    on_cuda = device.startswith("cuda")
    config = SIZES[size]
    torch.manual_seed(seed)
    model = Dnabert2ForRegression(config)
    model.to(torch.device(device))  # type: ignore[arg-type]  # transformers types `to` through a decorator
    model.train()
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    step_model = torch.compile(model) if compile_model else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01, fused=on_cuda)
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(warmup + steps):
        ids, mask = random_batch(config, batch_size, tokens, spread, generator)
        labels = torch.randn(batch_size, generator=generator)
        batches.append((ids.to(device), mask.to(device), labels.to(device)))
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    device_type = torch.device(device).type

    def step(ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type, dtype=dtype, enabled=precision == "bf16"):
            loss = step_model(ids, mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    synchronize = torch.cuda.synchronize if on_cuda else (lambda: None)
    for batch in batches[:warmup]:
        step(*batch)
    synchronize()
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    losses = [step(*batch) for batch in batches[warmup:]]
    synchronize()
    elapsed = time.perf_counter() - start

    timed_batches = batches[warmup:]
    lengths = [n for _, mask, _ in timed_batches for n in mask.sum(dim=1).tolist()]
    padded = sum(mask.numel() for _, mask, _ in timed_batches)
    train_flops = 3 * forward_flops(config, lengths)
    achieved = train_flops / elapsed
    sequences_per_s = len(lengths) / elapsed
    mean_length = sum(lengths) / len(lengths)
    study_flops = STUDY_SEQUENCES * STUDY_EPOCHS * 3 * forward_flops(config, [round(mean_length)])
    projected = STUDY_SEQUENCES * STUDY_EPOCHS / sequences_per_s
    bound = study_flops / (ANCHOR_TFLOPS * 1e12)
    name = torch.cuda.get_device_name() if on_cuda else "cpu"
    print(f"device {name}, torch {torch.__version__}, {precision}, config {size}, batch {batch_size}")
    print(f"checkpointing {checkpointing}, compile {compile_model}; {steps} timed steps in {elapsed:.2f} s")
    print(f"losses finite: {all(torch.isfinite(loss).item() for loss in losses)}")
    print(
        f"{sum(lengths) / elapsed:,.0f} real tokens/s ({padded / elapsed:,.0f} incl. padding), "
        f"{sequences_per_s:.1f} seq/s"
    )
    print(
        f"model FLOP rate {achieved / 1e12:.2f} TFLOP/s = "
        f"{achieved / (peak_tflops * 1e12):.1%} MFU of {peak_tflops} TFLOP/s"
    )
    if on_cuda:
        print(f"peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    print(
        f"projected fine-tune ({STUDY_SEQUENCES:,} seq × {STUDY_EPOCHS} epochs, {mean_length:.0f} tokens): "
        f"{projected / 60:.1f} min; compute bound at {ANCHOR_TFLOPS:.0f} TFLOP/s {bound / 60:.1f} min "
        f"({projected / bound:.2f}x the bound)"
    )


if __name__ == "__main__":
    main()
