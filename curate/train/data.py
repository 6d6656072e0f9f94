"""Training data straight from token shards: memory-mapped, sampled in seeded windows, never held in memory whole.

A token folder is a run's `tokens/` (or the run folder above it): `manifest.json` names the encoding and the
`.bin` shards of each split. Training samples random windows of `context + 1` tokens (optionally starting at a
document start, from the shards' `.idx` sidecars); validation walks fixed consecutive windows, so every variant
is scored on the same tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import tiktoken
import torch

from ..tokens.encodings import load_encoding
from ..tokens.inspect import tokens_folder
from ..tokens.shards import load_index, load_shard, read_manifest


class TrainError(ValueError):
    """Settings or token folders unusable for training; the message says which and why.

    Corrupt shards raise the shard format's own `ShardError`.
    """


@dataclass(frozen=True)
class TokenSplit:
    """One split of a token folder: its encoding (a tiktoken name or `.tiktoken` path) and shard files."""

    encoding: str
    vocab_size: int
    shards: list[Path]


def has_split(folder: str | Path, split: str) -> bool:
    """Whether the token folder lists any shard for `split` (a small demo run may have no `val` documents)."""
    directory = tokens_folder(folder)
    return bool(read_manifest(directory).get("splits", {}).get(split, {}).get("shards"))


def read_split(folder: str | Path, split: str) -> TokenSplit:
    """The shards of `split` ("train" or "val") of a run's output folder or tokens/ folder; none is an error."""
    directory = tokens_folder(folder)
    manifest = read_manifest(directory)
    entries = manifest.get("splits", {}).get(split, {}).get("shards", [])
    if not entries:
        raise TrainError(f"{directory / 'manifest.json'}: no {split!r} shards listed")
    try:
        shards = [directory / entry["path"] for entry in entries]
        return TokenSplit(encoding=manifest["encoding"], vocab_size=int(manifest["vocab_size"]), shards=shards)
    except (KeyError, TypeError, ValueError) as exc:
        raise TrainError(f"{directory / 'manifest.json'}: missing or malformed {exc}") from None


@lru_cache(maxsize=4)
def token_byte_lengths(encoding_spec: str) -> torch.Tensor:
    """UTF-8 bytes each token id decodes to; special tokens (end-of-text) and unused ids count 0 bytes."""
    encoding = load_encoding(encoding_spec)
    special = {encoding.encode_single_token(token) for token in encoding.special_tokens_set}
    return torch.tensor([0 if token in special else _byte_length(encoding, token) for token in range(encoding.n_vocab)])


def held_out_tail(split: TokenSplit, context: int, eval_tokens: int) -> int:
    """How many tokens at the end of the split's last shard to hold out for validation when there is no val split:
    enough for the evaluation budget, at most a tenth of the shard, at least one window of `context + 1`."""
    available = len(load_shard(split.shards[-1], split.vocab_size))
    tail = min(eval_tokens + 1, available // 10)
    if tail < context + 1:
        raise TrainError(
            f"no 'val' shards, and the last train shard ({available:,} tokens) is too small to hold out a validation "
            f"window of {context + 1} tokens: give --val, or a larger tokenize.val_fraction or input"
        )
    return tail


def _byte_length(encoding: tiktoken.Encoding, token: int) -> int:
    try:
        return len(encoding.decode_single_token_bytes(token))
    except KeyError:  # a hole in the id space
        return 0


class WindowSampler:
    """Batches of random `context + 1`-token windows over all shards, reproducible from a seed and resumable.

    Every admissible start position across the shards is equally likely, so shards weigh by their size.
    """

    def __init__(
        self,
        shards: list[Path],
        context: int,
        batch_size: int,
        seed: int,
        vocab_size: int | None = None,
        align_to_documents: bool = False,
        held_out: int = 0,
    ) -> None:
        """`held_out`: tokens at the end of the last shard never sampled (they validate instead)."""
        self.tokens = [load_shard(path, vocab_size) for path in shards]
        if held_out:
            self.tokens[-1] = self.tokens[-1][: len(self.tokens[-1]) - held_out]
        self.window = context + 1
        self.batch_size = batch_size
        self.rng = np.random.Generator(np.random.PCG64(seed))
        # Per shard: either all starts 0..n-window (None) or the document starts that leave a full window.
        # Documents begin with end-of-text, so an aligned window sees it as a beginning-of-sequence marker.
        self.starts: list[np.ndarray | None] = []
        counts = []
        for path, tokens in zip(shards, self.tokens):
            if not align_to_documents:
                self.starts.append(None)
                counts.append(max(len(tokens) - self.window + 1, 0))
            else:
                starts = load_index(path)
                starts = starts[starts <= len(tokens) - self.window]
                self.starts.append(starts)
                counts.append(len(starts))
        self.cumulative = np.cumsum(counts)
        if not self.cumulative[-1]:
            raise TrainError(f"no shard holds a full window of {self.window} tokens: {shards[0]} ...")

    def next_batch(self) -> np.ndarray:
        """(batch_size, context + 1) int64 token ids."""
        picks = self.rng.integers(0, self.cumulative[-1], size=self.batch_size)
        shard_ids = np.searchsorted(self.cumulative, picks, side="right")
        rows = []
        for shard_id, pick in zip(shard_ids, picks):
            index = pick - (self.cumulative[shard_id - 1] if shard_id else 0)
            starts = self.starts[shard_id]
            start = index if starts is None else starts[index]
            rows.append(self.tokens[shard_id][start : start + self.window])
        return np.stack(rows).astype(np.int64)

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


def eval_batches(
    shards: list[Path], context: int, batch_size: int, max_tokens: int, vocab_size: int | None = None,
    tail: int | None = None,
) -> Iterator[np.ndarray]:
    """Fixed validation batches: consecutive windows overlapping by one token, until `max_tokens` targets.

    Each token after a window's first is a target exactly once, and the set is the same on every call.
    `tail`: only the last `tail` tokens of the last shard (the part `WindowSampler(held_out=tail)` skips).
    """
    rows = list(_eval_windows(shards, context, max_tokens, vocab_size, tail))
    for begin in range(0, len(rows), batch_size):
        yield np.stack(rows[begin : begin + batch_size]).astype(np.int64)


def _eval_windows(
    shards: list[Path], context: int, max_tokens: int, vocab_size: int | None, tail: int | None
) -> Iterator[np.ndarray]:
    targets = 0
    for path in shards[-1:] if tail else shards:
        tokens = load_shard(path, vocab_size)
        if tail:
            tokens = tokens[len(tokens) - tail :]
        for start in range(0, len(tokens) - context, context):
            if targets >= max_tokens:
                return
            yield tokens[start : start + context + 1]
            targets += context
