"""Trainer throughput: the memory-mapped shard sampler against batches already in memory, same model, same run.

The sampler must cost under 5% of training speed. Steps alternate between the two feeds, are timed in this
process's CPU seconds and compared by their medians, so that other processes on a busy machine count little;
the random 8k-vocabulary shard stands in for the small CPU-ablation encoding.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from curate.tokens.shards import MAGIC_UINT16, VERSION_UINT16, make_header
from curate.train.data import WindowSampler
from curate.train.model import GPT, GPTConfig

VOCAB = 8192
SHARD_TOKENS = 20_000_000  # 40 MB of uint16: far more than one batch touches, so reads come from the page cache
BATCH = 8
STEPS = 10  # per feed


def write_random_shard(path: Path) -> Path:
    header = make_header(MAGIC_UINT16, VERSION_UINT16, SHARD_TOKENS, vocab_size=VOCAB)
    tokens = np.random.default_rng(0).integers(0, VOCAB, size=SHARD_TOKENS, dtype=np.uint16)
    path.write_bytes(header.tobytes() + tokens.tobytes())
    return path


def step(model: GPT, optimizer: torch.optim.Optimizer, batch: torch.Tensor) -> None:
    """One training step as train.py takes it: forward, loss, backward, clipping, AdamW."""
    logits = model(batch[:, :-1])
    F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].flatten()).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)  # idle worker threads spin on a busy machine and blur CPU time
    config = GPTConfig.from_preset("tiny", VOCAB)
    model = GPT(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    seconds: dict[str, list[float]] = {"shards": [], "memory": [], "sampling": []}
    with tempfile.TemporaryDirectory() as folder:
        sampler = WindowSampler([write_random_shard(Path(folder) / "train.bin")], config.context, BATCH, seed=0)
        in_memory = torch.from_numpy(sampler.next_batch())
        step(model, optimizer, in_memory)  # warm-up: first-call allocations
        for _ in range(STEPS):  # the feeds alternate step by step, so load from elsewhere hits both alike
            started = time.process_time()
            batch = torch.from_numpy(sampler.next_batch())
            seconds["sampling"].append(time.process_time() - started)
            step(model, optimizer, batch)
            seconds["shards"].append(time.process_time() - started)
            started = time.process_time()
            step(model, optimizer, in_memory)
            seconds["memory"].append(time.process_time() - started)

    tokens = BATCH * config.context
    median = {feed: statistics.median(values) for feed, values in seconds.items()}
    print(f"tiny preset, vocab {VOCAB}, batch {BATCH}x{config.context}, {STEPS} steps per feed (median step, CPU time, 1 thread)")
    print(f"  in-memory batch : {tokens / median['memory']:>10,.0f} tokens/s (baseline)")
    print(f"  shard sampler   : {tokens / median['shards']:>10,.0f} tokens/s ({median['memory'] / median['shards']:.3f}x)")
    print(f"  sampling itself : {median['sampling'] * 1e3:.2f} ms per batch, "
          f"{median['sampling'] / median['shards']:.2%} of a step (target < 5%)")


if __name__ == "__main__":
    main()
