"""Training data straight from token shards: memory-mapped, sampled in seeded windows, never loaded whole.

A token folder is a run's `tokens/` (or the run folder above it): `manifest.json` names the encoding and the
`.bin` shards of each split. Training samples random windows of `context + 1` tokens (optionally starting at a
document boundary); validation walks fixed, non-overlapping windows, so every variant is scored on the same tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import tiktoken
import torch

HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
TOKEN_DTYPES = {(20240520, 1): np.dtype("<u2"), (20240801, 7): np.dtype("<u4")}  # (magic, version) -> tokens


class TrainError(ValueError):
    """Shards, manifest, encoding or settings unusable for training; the message says which and why."""


def load_shard(path: str | Path) -> np.memmap:
    """The tokens of one `.bin` shard as a read-only memory map, after checking its header against its size."""
    path = Path(path)
    size = path.stat().st_size
    if size < HEADER_BYTES:
        raise TrainError(f"{path}: {size} bytes is shorter than the {HEADER_BYTES}-byte shard header")
    magic, version, count = np.fromfile(path, dtype="<i4", count=3)
    dtype = TOKEN_DTYPES.get((int(magic), int(version)))
    if dtype is None:
        raise TrainError(f"{path}: not a token shard (magic {magic}, version {version})")
    expected = HEADER_BYTES + int(count) * dtype.itemsize
    if size != expected:
        raise TrainError(f"{path}: header says {count} tokens ({expected} bytes) but the file has {size} bytes")
    return np.memmap(path, dtype=dtype, mode="r", offset=HEADER_BYTES, shape=(int(count),))


@dataclass(frozen=True)
class TokenSplit:
    """One split of a token folder: its encoding and its shard files, in manifest order."""

    encoding: str
    vocab_size: int
    shards: list[Path]


def find_manifest(folder: str | Path) -> Path:
    """`folder/manifest.json`, or `folder/tokens/manifest.json` when given a run's output folder."""
    folder = Path(folder)
    for candidate in (folder / "manifest.json", folder / "tokens" / "manifest.json"):
        if candidate.is_file():
            return candidate
    raise TrainError(f"{folder}: no manifest.json here or in {folder / 'tokens'} (is it a run or tokens folder?)")


def read_split(folder: str | Path, split: str) -> TokenSplit:
    """The shards of `split` ("train" or "val") listed by the folder's manifest; an empty split is an error."""
    manifest_path = find_manifest(folder)
    manifest = json.loads(manifest_path.read_text())
    entries = manifest.get("splits", {}).get(split, {}).get("shards", [])
    if not entries:
        raise TrainError(f"{manifest_path}: no {split!r} shards listed")
    shards = [manifest_path.parent / entry["path"] for entry in entries]
    return TokenSplit(encoding=manifest["encoding"], vocab_size=int(manifest["vocab_size"]), shards=shards)


@lru_cache(maxsize=4)
def load_encoding(name: str) -> tiktoken.Encoding:
    try:
        return tiktoken.get_encoding(name)
    except ValueError as exc:
        raise TrainError(f"unknown encoding {name!r}: {exc}") from exc


@lru_cache(maxsize=4)
def token_byte_lengths(encoding_name: str) -> torch.Tensor:
    """UTF-8 bytes each token id decodes to; special tokens (end-of-text) and unused ids count 0 bytes."""
    encoding = load_encoding(encoding_name)
    special = {encoding.encode_single_token(token) for token in encoding.special_tokens_set}
    lengths = torch.zeros(encoding.n_vocab, dtype=torch.int64)
    for token in range(encoding.n_vocab):
        if token not in special:
            try:
                lengths[token] = len(encoding.decode_single_token_bytes(token))
            except KeyError:  # a hole in the id space
                pass
    return lengths


def document_starts(tokens: np.ndarray, end_of_text: int, chunk: int = 1 << 24) -> np.ndarray:
    """Positions of the end-of-text separators (and 0), found chunk by chunk so a shard is never read whole.

    A window starting on a separator shows the model a document from its first token, with end-of-text acting
    as the beginning-of-sequence marker whether the writer puts separators before or after each document.
    """
    found = [np.zeros(1, dtype=np.int64)]
    for begin in range(0, len(tokens), chunk):
        found.append(np.flatnonzero(tokens[begin : begin + chunk] == end_of_text).astype(np.int64) + begin)
    return np.unique(np.concatenate(found))


class WindowSampler:
    """Batches of random `context + 1`-token windows over all shards, reproducible from a seed and resumable.

    Every admissible start position across the shards is equally likely, so shards weigh by their size.
    """

    def __init__(
        self, shards: list[Path], context: int, batch_size: int, seed: int, align_to: int | None = None
    ) -> None:
        self.tokens = [load_shard(path) for path in shards]
        self.window = context + 1
        self.batch_size = batch_size
        self.rng = np.random.Generator(np.random.PCG64(seed))
        # Per shard: either all starts 0..n-window (None) or the document starts that leave a full window.
        self.starts: list[np.ndarray | None] = []
        counts = []
        for tokens in self.tokens:
            if align_to is None:
                self.starts.append(None)
                counts.append(max(len(tokens) - self.window + 1, 0))
            else:
                starts = document_starts(tokens, align_to)
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


def eval_batches(shards: list[Path], context: int, batch_size: int, max_tokens: int) -> Iterator[np.ndarray]:
    """Fixed validation batches: consecutive windows overlapping by one token, until `max_tokens` targets.

    Each token after a window's first is a target exactly once, and the set is the same on every call.
    """
    rows = list(_eval_windows(shards, context, max_tokens))
    for begin in range(0, len(rows), batch_size):
        yield np.stack(rows[begin : begin + batch_size]).astype(np.int64)


def _eval_windows(shards: list[Path], context: int, max_tokens: int) -> Iterator[np.ndarray]:
    targets = 0
    for path in shards:
        tokens = load_shard(path)
        for start in range(0, len(tokens) - context, context):
            if targets >= max_tokens:
                return
            yield tokens[start : start + context + 1]
            targets += context
