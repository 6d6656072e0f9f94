"""Training data straight from token shards: memory-mapped, sampled in seeded windows, never held in memory whole.

A token folder is a run's `tokens/` (or the run folder above it): `manifest.json` names the encoding and the
`.bin` shards of each split. Training samples random windows of `context + 1` tokens (optionally starting at a
document start, from the shards' `.idx` sidecars); validation walks fixed consecutive windows over the split's
shards read as one token stream, so every variant is scored on the same tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import tiktoken
import torch

from ..tokens.encodings import load_encoding
from ..tokens.inspect import tokens_folder
from ..tokens.shards import ShardError, index_path, load_index, load_shard, read_header, read_manifest

FINGERPRINT_BYTES = 1 << 16  # of each shard's start and end, hashed to tell its content from another's cheaply


class TrainError(ValueError):
    """Settings or token folders unusable for training; the message says which and why.

    Corrupt shards raise the shard format's own `ShardError`.
    """


@dataclass(frozen=True)
class TokenSplit:
    """One split of a token folder: its encoding (a tiktoken name or `.tiktoken` path) and shard files."""

    encoding: str
    vocab_size: int
    eot_token: int
    shards: list[Path]
    encoding_sha256: str | None = None  # a `.tiktoken` file's, which names it wherever the file lies


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
        return TokenSplit(encoding=manifest["encoding"], vocab_size=int(manifest["vocab_size"]),
                          eot_token=int(manifest["eot_token"]), shards=shards,
                          encoding_sha256=manifest.get("encoding_sha256"))
    except (KeyError, TypeError, ValueError) as exc:
        raise TrainError(f"{directory / 'manifest.json'}: missing or malformed {exc}") from None


@lru_cache(maxsize=4)
def token_byte_lengths(encoding_spec: str) -> torch.Tensor:
    """UTF-8 bytes each token id decodes to; special tokens (end-of-text) and unused ids count 0 bytes."""
    encoding = load_encoding(encoding_spec)
    special = {encoding.encode_single_token(token) for token in encoding.special_tokens_set}
    return torch.tensor([0 if token in special else _byte_length(encoding, token) for token in range(encoding.n_vocab)])


def data_identity(train: TokenSplit, val: TokenSplit | None) -> dict[str, str | int]:
    """What a run trains and validates on (`val` None: a tail held out of `train`), by content, not by path:
    a resumed run must see the same data, however its folder is spelled."""
    return {
        "encoding": train.encoding_sha256 or train.encoding,
        "vocab_size": train.vocab_size,
        "train_shards": _fingerprint(train.shards),
        "val_shards": _fingerprint(val.shards) if val else "held out of the train shards",
    }


def _fingerprint(shards: list[Path]) -> str:
    """Shard count, tokens and a digest of each shard's name, size and first and last 64 KiB (cheap at any size)."""
    digest = hashlib.sha256()
    tokens = 0
    for path in shards:
        tokens += read_header(path).num_tokens
        size = path.stat().st_size
        digest.update(f"{path.name}\0{size}\0".encode())
        with open(path, "rb") as file:
            digest.update(file.read(FINGERPRINT_BYTES))
            file.seek(max(size - FINGERPRINT_BYTES, 0))
            digest.update(file.read(FINGERPRINT_BYTES))
    return f"{len(shards)} shard(s), {tokens:,} tokens, digest {digest.hexdigest()[:16]}"


def held_out_tail(split: TokenSplit, context: int, eval_tokens: int) -> int:
    """How many tokens at the end of the split to hold out for validation when there is no val split (taken from
    its last shards, as many as needed): enough for the evaluation budget, at most a tenth of the split, at least
    one window of `context + 1`."""
    available = sum(read_header(path).num_tokens for path in split.shards)
    tail = min(eval_tokens + 1, available // 10)
    if tail < context + 1:
        raise TrainError(
            f"no 'val' shards, and the train split ({available:,} tokens) is too small to hold out a validation "
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
        eot_token: int | None = None,
    ) -> None:
        """`held_out`: tokens at the end of the shards never sampled (they validate instead). `eot_token`: what each
        document start must hold when aligning (default: the shard header's)."""
        whole = [load_shard(path, vocab_size) for path in shards]
        self.tokens = _without_tail(whole, held_out)
        self.window = context + 1
        self.batch_size = batch_size
        self.rng = np.random.Generator(np.random.PCG64(seed))
        # Per shard: either all starts 0..n-window (None) or the document starts that leave a full window.
        # Documents begin with end-of-text, so an aligned window sees it as a beginning-of-sequence marker.
        self.starts: list[np.ndarray | None] = []
        counts = []
        for path, shard, tokens in zip(shards, whole, self.tokens):
            if not align_to_documents:
                self.starts.append(None)
                counts.append(max(len(tokens) - self.window + 1, 0))
            else:
                starts = _document_starts(path, shard, eot_token)
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


def _without_tail(shards: list[np.ndarray], tail: int) -> list[np.ndarray]:
    """The shards less their last `tail` tokens in all, cut from the last shard back as far as needed."""
    kept = list(shards)
    for i in reversed(range(len(kept))):
        cut = min(tail, len(kept[i]))
        kept[i] = kept[i][: len(kept[i]) - cut]
        tail -= cut
    return kept


def _document_starts(path: Path, tokens: np.ndarray, eot_token: int | None) -> np.ndarray:
    """The `.idx` offsets, each checked to land on end-of-text: an index shifted against its shard would otherwise
    align every window one token off."""
    starts = load_index(path)
    eot = read_header(path).eot_token if eot_token is None else eot_token
    if len(starts) and (starts.max() >= len(tokens) or np.any(tokens[starts] != eot)):
        raise ShardError(f"{index_path(path)}: a document offset does not land on end-of-text ({eot}) in {path.name}")
    return starts


def eval_batches(
    shards: list[Path], context: int, batch_size: int, max_tokens: int, vocab_size: int | None = None,
    tail: int | None = None,
) -> Iterator[np.ndarray]:
    """Fixed validation batches: consecutive windows overlapping by one token, until `max_tokens` targets.

    The shards are read in order as one token stream, so windows cross shard boundaries and only the stream's
    last tokens short of a window are never scored. Each token after the stream's first is a target at most once,
    and the set is the same on every call. `tail`: only the last `tail` tokens of the shards (the part
    `WindowSampler(held_out=tail)` skips).
    """
    windows = -(-max_tokens // context)  # enough for max_tokens targets
    stream = _token_stream(shards, vocab_size, tail, windows * context + 1)
    rows = [stream[start : start + context + 1] for start in range(0, len(stream) - context, context)]
    for begin in range(0, len(rows), batch_size):
        yield np.stack(rows[begin : begin + batch_size]).astype(np.int64)


def _token_stream(shards: list[Path], vocab_size: int | None, tail: int | None, limit: int) -> np.ndarray:
    """The first `limit` tokens of the shards read in order (of their last `tail` tokens, when given); only the
    shards it reaches are loaded."""
    skip = sum(read_header(path).num_tokens for path in shards) - tail if tail else 0
    parts = []
    for path in shards:
        if limit <= 0:
            break
        count = read_header(path).num_tokens
        if skip >= count:
            skip -= count
            continue
        part = load_shard(path, vocab_size)[skip : skip + limit]
        parts.append(part)
        skip, limit = 0, limit - len(part)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
