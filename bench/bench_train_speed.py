"""Training tokens/s to expect on this machine's CPU, per preset, vocabulary and thread count (the README's table).

The output layer costs `context x d_model x vocabulary` per sequence, so on the tiny preset cl100k's 100k ids
dominate a step; a 4k or 8k BPE (`curate tokenizer train`) removes most of that. Steps are timed on the wall
clock (what a user waits for), median of a few after one warm-up step, on random ids, as `train()` takes them.
`python -m bench.bench_train_speed [--presets tiny small] [--steps 4]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

from bench.bench_train import step
from curate.train.model import GPT, GPTConfig

VOCABULARIES = {"4k BPE": 4096, "8k BPE": 8192, "cl100k_base": 100_277}
BATCH = 8  # curate train's default --batch-size


def tokens_per_s(preset: str, vocab_size: int, threads: int, steps: int, device: str) -> tuple[float, float]:
    """Training tokens per wall-clock second and per CPU second of this process."""
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    config = GPTConfig.from_preset(preset, vocab_size)
    model = GPT(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = torch.randint(0, vocab_size, (BATCH, config.context + 1), device=device)
    timings, cpu = [], []
    for _ in range(steps + 1):  # the first step pays for allocations
        started, cpu_started = time.perf_counter(), time.process_time()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            step(model, optimizer, batch)
        if device == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    tokens = BATCH * config.context
    return tokens / statistics.median(timings[1:]), tokens / max(statistics.median(cpu[1:]), 1e-9)


def main(argv: list[str] | None = None) -> None:
    """`argv`: this benchmark's options (none when `python -m bench` runs every module)."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_train_speed")
    parser.add_argument("--presets", nargs="+", default=["tiny"])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", nargs="+", type=int, default=sorted({1, os.cpu_count() or 1}))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv or [])
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; batch {BATCH}, median of {args.steps} steps "
          f"after a warm-up, wall clock, {args.device}")
    print(f"{'preset':8} {'vocabulary':12} {'threads':>7} {'tokens/s':>10}  vs 1 thread  {'per CPU s':>10}")
    for preset in args.presets:
        for name, vocab_size in VOCABULARIES.items():
            baseline = None
            for threads in args.threads if args.device == "cpu" else [torch.get_num_threads()]:
                rate, cpu_rate = tokens_per_s(preset, vocab_size, threads, args.steps, args.device)
                baseline = baseline or rate
                print(f"{preset:8} {name:12} {threads:>7} {rate:>10,.0f}  {rate / baseline:>10.2f}x  {cpu_rate:>10,.0f}",
                      flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
