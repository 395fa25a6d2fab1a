#!/usr/bin/env bash
# The GPU check: one script, offline, at most 8 minutes on one H200. It needs PyTorch (a CUDA build)
# and the scientific Python stack of containers/requirements.txt it imports: numpy, pandas,
# safetensors, transformers and click; no seq2expr install (it puts the checkout's src/ on
# PYTHONPATH), no network, no model download. It prints one table:
#   1. the CUDA tests, on the shared parity fixture (fixtures/dnabert2_tiny_ref: random-weight
#      checkpoints in the published layouts and every output of the published code): float32 on the
#      GPU against the stored outputs; bf16 autocast against float32 (close, not equal); padding
#      invariance (each sequence of a padded batch gives the outputs it gives alone, in float32 and
#      in bf16); no NaN or inf in bf16 outputs, loss and gradients;
#   2. DNABERT-2 fine-tuning at the 117M architecture (random init), the study's recipe (micro-batch
#      8, gradient accumulation 4 = 32 sequences a step, AdamW lr 3e-5, weight decay 0.01, linear
#      warm-up, gradient clipping 1.0, bf16 autocast) on 4,001 bp windows (about 810 tokens each,
#      length-bucketed): real tokens/s, step time, peak GPU memory, MFU, and the study's run
#      projected (14,940 training sequences x 25 epochs);
#   3. the frozen probe's embedding throughput (117M forward, bf16) and the CNN's training
#      throughput on 4,001 bp windows with the study's size projected (bench/cnn.py's table).
#
#   bash bench/gpu_check.sh                # on a GPU machine
#   bash bench/gpu_check.sh --dry-run      # no GPU: the same code on the CPU, tiny sizes (a minute or two)
#
# The fixture is looked up in ../shared beside the checkout, or in $SEQ2EXPR_SHARED. The exit status
# is non-zero when a check fails; the table is printed either way.
set -euo pipefail
mode=gpu
case "${1:-}" in
    "") ;;
    --dry-run) mode=dry-run ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${SEQ2EXPR_SHARED:-$repo/../shared}
export PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1
# deterministic cuBLAS for the CNN's deterministic kernels
export CUBLAS_WORKSPACE_CONFIG=:4096:8
# the 8-minute budget on a GPU (the table is printed when it runs out); a dry run on a busy CPU may
# take longer
if [ "$mode" = gpu ]; then budget=${SEQ2EXPR_GPU_CHECK_SECONDS:-470}; else budget=${SEQ2EXPR_GPU_CHECK_SECONDS:-1800}; fi

timeout "$budget" python3 - "$mode" "$shared/fixtures/dnabert2_tiny_ref" "$repo" "$budget" "$(date +%s.%N)" <<'PY'
import importlib.util
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from seq2expr.models.dnabert2 import Dnabert2Config, Dnabert2ForRegression, Dnabert2Model

mode, fixture, repo, BUDGET_SECONDS = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
STARTED = float(sys.argv[5])  # wall clock when the script started (imports take seconds)
dry = mode == "dry-run"
if not dry and not torch.cuda.is_available():
    sys.exit("gpu_check: no CUDA device (torch.cuda.is_available() is False); --dry-run checks the script on a CPU")
device = torch.device("cpu" if dry else "cuda")
sync = (lambda: None) if dry else torch.cuda.synchronize
H200_BF16_DENSE_TFLOPS = 989.0
STUDY_TRAIN_SEQUENCES, STUDY_EPOCHS = 14_940, 25
rows: list[tuple[str, str, str]] = []  # (part, what, value)
failures: list[str] = []


def row(part: str, what: str, value: str, ok: bool | None = None) -> None:
    if ok is False:
        failures.append(f"{part}: {what}")
    rows.append((part, what, value + ("" if ok is None else ("  ok" if ok else "  FAILED"))))


def print_table(*_: object) -> None:
    """The one table, also when the time budget stops the check (SIGTERM from `timeout`)."""
    if _:
        row("budget", f"stopped by the {BUDGET_SECONDS:.0f} s budget, the rest did not run", "", ok=False)
    width = max(len(what) for _, what, _ in rows)
    print(f"\n{'part':<9} {'what':<{width}}  value")
    for part, what, value in rows:
        print(f"{part:<9} {what:<{width}}  {value}")
    print(f"\ngpu_check ({mode}): {len(failures)} check(s) failed" + (": " + "; ".join(failures) if failures else ""))
    sys.stdout.flush()
    os._exit(1 if failures else 0)


signal.signal(signal.SIGTERM, print_table)


def load_bench(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", repo / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = load_bench("dnabert2")
rows.append(("device", "name", "cpu (dry run)" if dry else torch.cuda.get_device_name()))
rows.append(("device", "torch / CUDA", f"{torch.__version__} / {torch.version.cuda}"))

# --- 1. CUDA tests on the parity fixture -------------------------------------------------------------
configs = sorted(folder.name for folder in fixture.glob("*") if (folder / "reference_io.safetensors").is_file())
if not configs:
    row("tests", "parity fixture", f"{fixture} missing", ok=False)
for config in configs:
    tensors = load_file(fixture / config / "reference_io.safetensors")
    model = Dnabert2ForRegression.from_pretrained(fixture / config / "finetuned").to(device).eval()
    batches = sorted({key.split(".")[0] for key in tensors if key.endswith(".input_ids")})
    worst_fp32, worst_bf16, finite = 0.0, 0.0, True
    padding_fp32, padding_bf16 = 0.0, 0.0
    for batch in batches:
        ids, mask = (tensors[f"{batch}.{name}"].to(device) for name in ("input_ids", "attention_mask"))
        real = mask.bool()
        with torch.no_grad():
            fp32 = model(ids, mask, output_hidden_states=True)
            encoded = model.bert(ids, mask)
            with torch.autocast(device.type, dtype=torch.bfloat16):
                low = model.bert(ids, mask)
                low_logits = model(ids, mask).logits
        for key, value in (("last_hidden_state", encoded.last_hidden_state), ("pooled", encoded.pooler_output), ("logits", fp32.logits)):
            stored = tensors[f"{batch}.{key}"].to(device)
            keep = real if key == "last_hidden_state" else torch.ones(stored.shape[0], dtype=torch.bool, device=device)
            worst_fp32 = max(worst_fp32, (value[keep] - stored[keep]).abs().max().item())
        worst_bf16 = max(worst_bf16, (low.last_hidden_state.float()[real] - encoded.last_hidden_state[real]).abs().max().item())
        finite &= all(torch.isfinite(t.float()).all().item() for t in (low.last_hidden_state, low.pooler_output, low_logits))
        # padding invariance: each sequence alone, without padding, gives what it gives in the batch
        for index in range(ids.shape[0]):
            n = int(mask[index].sum())
            with torch.no_grad():
                alone = model.bert(ids[index : index + 1, :n], mask[index : index + 1, :n])
                with torch.autocast(device.type, dtype=torch.bfloat16):
                    alone_low = model.bert(ids[index : index + 1, :n], mask[index : index + 1, :n])
            padding_fp32 = max(padding_fp32, (alone.last_hidden_state[0] - encoded.last_hidden_state[index, :n]).abs().max().item())
            padding_bf16 = max(padding_bf16, (alone_low.last_hidden_state[0].float() - low.last_hidden_state[index, :n].float()).abs().max().item())
    # a bf16 training step on the padded batch: finite loss and gradients
    model.train()
    ids, mask, labels = (tensors[f"b2_padded.{name}"].to(device) for name in ("input_ids", "attention_mask", "labels"))
    with torch.autocast(device.type, dtype=torch.bfloat16):
        loss = model(ids, mask, labels=labels).loss
    loss.backward()
    grads_finite = torch.isfinite(loss).item() and all(
        torch.isfinite(p.grad).all().item() for p in model.parameters() if p.grad is not None
    )
    row("tests", f"{config}: fp32 on {device.type} vs published outputs (max |diff|, tol 1e-4)", f"{worst_fp32:.1e}", ok=worst_fp32 < 1e-4)
    row("tests", f"{config}: bf16 vs fp32 hidden states (max |diff|, 0 < d < 0.1)", f"{worst_bf16:.1e}", ok=0 < worst_bf16 < 0.1)
    row("tests", f"{config}: padding invariance fp32 (tol 1e-4)", f"{padding_fp32:.1e}", ok=padding_fp32 < 1e-4)
    row("tests", f"{config}: padding invariance bf16 (tol 0.1)", f"{padding_bf16:.1e}", ok=padding_bf16 < 0.1)
    row("tests", f"{config}: no NaN/inf in bf16 outputs, loss, gradients", str(finite and grads_finite), ok=finite and grads_finite)

# --- 2. fine-tuning at 117M, the study's recipe ---------------------------------------------------------
config = bench.SIZES["tiny" if dry else "117m"]
micro, accumulation, spread = 8, 4, 10
tokens = 96 if dry else 810  # a 4,001 bp window is about 810 tokens; the dry run only checks the code
warmup_steps, timed_steps = (1, 2) if dry else (3, 20)
torch.manual_seed(0)
model = Dnabert2ForRegression(config).to(device).train()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01, fused=not dry)
schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 50))
generator = torch.Generator().manual_seed(0)


def micro_batches(count: int):
    out = []
    for _ in range(count):
        ids, mask = bench.random_batch(config, micro, tokens, spread, generator)
        out.append((ids.to(device), mask.to(device), torch.randn(micro, generator=generator).to(device)))
    return out


def optimiser_step(batches) -> torch.Tensor:
    total = torch.zeros((), device=device)
    for ids, mask, labels in batches:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = model(ids, mask, labels=labels).loss / accumulation
        loss.backward()
        total += loss.detach()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    return total


for _ in range(warmup_steps):
    optimiser_step(micro_batches(accumulation))
sync()
if not dry:
    torch.cuda.reset_peak_memory_stats()
steps = [micro_batches(accumulation) for _ in range(timed_steps)]
start = time.perf_counter()
losses = [optimiser_step(batches) for batches in steps]
sync()
elapsed = time.perf_counter() - start
lengths = [n for batches in steps for _, mask, _ in batches for n in mask.sum(dim=1).tolist()]
flops = 3 * bench.forward_flops(config, lengths)
sequences_per_s = len(lengths) / elapsed
projected = STUDY_TRAIN_SEQUENCES * STUDY_EPOCHS / sequences_per_s
size = "tiny (dry run)" if dry else "117M"
row("finetune", f"{size}, random init, {micro} x {accumulation} accumulation, bf16, {sum(lengths) / len(lengths):.0f} tokens/seq", f"{timed_steps} steps")
row("finetune", "real tokens/s", f"{sum(lengths) / elapsed:,.0f}")
row("finetune", "step time (32 sequences)", f"{elapsed / timed_steps * 1000:.0f} ms")
row("finetune", "peak GPU memory", "n/a (cpu)" if dry else f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
row("finetune", f"MFU (of {H200_BF16_DENSE_TFLOPS:.0f} TFLOP/s dense bf16)", f"{flops / elapsed / (H200_BF16_DENSE_TFLOPS * 1e12):.1%}")
row("finetune", f"study run projected ({STUDY_TRAIN_SEQUENCES:,} x {STUDY_EPOCHS} epochs)", f"{projected / 60:.1f} min")
finite = all(math.isfinite(loss.item()) for loss in losses)
row("finetune", "losses finite", str(finite), ok=finite)
del model, optimizer
if not dry:
    torch.cuda.empty_cache()

# --- 3. probe (frozen forward) and CNN throughput -------------------------------------------------------
encoder = Dnabert2Model(config).to(device).eval()
probe_batch = 32
probe_batches = [bench.random_batch(config, probe_batch, tokens, spread, generator) for _ in range(2 if dry else 20)]
probe_batches = [(ids.to(device), mask.to(device)) for ids, mask in probe_batches]
with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16):
    encoder(*probe_batches[0])
    sync()
    start = time.perf_counter()
    for ids, mask in probe_batches:
        encoder(ids, mask).last_hidden_state.float().mean(dim=1)
    sync()
elapsed = time.perf_counter() - start
row("probe", f"{size} frozen embeddings, bf16, batch {probe_batch}", f"{len(probe_batches) * probe_batch / elapsed:,.0f} seq/s")
del encoder

# bench/cnn.py times the CNN's real training loop on generated 4,001 bp windows and projects the
# study's size; its table goes into this one as it is
cnn = [sys.executable, str(repo / "bench" / "cnn.py"), "--device", device.type, "--threads", "2",
       "--genes", "60" if dry else "3000", "--window", "4001"]
left = BUDGET_SECONDS - (time.time() - STARTED) - 15  # keep time to print the table
try:
    result = subprocess.run(cnn, capture_output=True, text=True, check=False, timeout=max(left, 10))
except subprocess.TimeoutExpired:
    row("cnn", "bench/cnn.py", f"stopped after {max(left, 10):.0f} s (the script's time budget)", ok=False)
else:
    if result.returncode == 0:
        for key, value in re.findall(r"^(\w+)\s+(.+?)\s*$", result.stdout, re.M):
            row("cnn", key, value)
    else:
        row("cnn", "bench/cnn.py", (result.stderr.strip().splitlines() or ["failed"])[-1], ok=False)

print_table()
PY
