"""Compressed JSONL cannot be read from a byte offset, so one large `.jsonl.gz` would be one task and
`--workers N` would use one core. Such a file (local or a URL) is decompressed once into the run's work
folder and that copy is split into byte ranges like any plain JSONL. Offsets in the copy are the offsets in the
decompressed stream, so document ids (and so outputs) are the same with or without the copy."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import replace
from pathlib import Path

from ..atomic import AtomicFile
from .base import InputOptions, InputShard
from .compressed import DECOMPRESSION_ERRORS, open_binary
from .inputs import split_file
from .readers import is_splittable
from .remote import is_url

COMPRESSION_GUESS = 4  # text compresses about 3-5x: a file this much under shard_bytes stays one shard anyway
COPY_BYTES = 4 << 20


def reshard(shards: list[InputShard], folder: Path, options: InputOptions) -> list[InputShard]:
    """`shards` with each large compressed JSONL file replaced by byte ranges of its decompressed copy in
    `folder` (made once: a copy half written by an interrupted run is made again)."""
    out: list[InputShard] = []
    for shard in shards:
        if not _worth_splitting(shard, options):
            out.append(replace(shard, index=len(out)))
            continue
        copy = decompressed_copy(shard.path, folder)
        if copy is None:  # damaged: read as it is, so its reader counts the damage
            out.append(replace(shard, index=len(out)))
            continue
        out += split_file(str(copy), "jsonl", shard.source, copy.stat().st_size, options.shard_bytes, len(out))
    return out


def decompressed_copy(path: str, folder: Path) -> Path | None:
    """The decompressed copy of `path` in `folder`, or None if `path` does not decompress to its end."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    stem = name[: name.lower().rindex(".")]  # docs.jsonl.gz -> docs.jsonl
    where = path if is_url(path) else os.path.abspath(path)
    copy = folder / f"{hashlib.sha1(where.encode()).hexdigest()[:12]}-{stem}"
    if copy.exists():
        return copy
    partial = AtomicFile(copy)
    try:
        with open_binary(path) as source, open(partial.tmp, "wb") as target:
            shutil.copyfileobj(source, target, COPY_BYTES)
    except DECOMPRESSION_ERRORS:
        partial.discard()
        return None
    partial.commit()
    return copy


def _worth_splitting(shard: InputShard, options: InputOptions) -> bool:
    whole_file = shard.start == 0 and shard.end is None and shard.limit is None
    if shard.format != "jsonl" or not whole_file or is_splittable("jsonl", shard.path):
        return False
    return shard.size * COMPRESSION_GUESS > options.shard_bytes
