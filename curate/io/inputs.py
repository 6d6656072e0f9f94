"""Find input files, tell their format, cut them into shards, and read a shard as documents."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..config import InputConfig
from ..document import Document
from ..errors import CurateError
from .remote import is_url, list_files

SUFFIX_FORMATS = {
    ".warc": "warc", ".warc.gz": "warc", ".wet": "warc", ".wet.gz": "warc", ".arc.gz": "warc",
    ".jsonl": "jsonl", ".jsonl.gz": "jsonl", ".jsonl.zst": "jsonl", ".json": "jsonl",
    ".json.gz": "jsonl", ".json.zst": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet",
}
SPLITTABLE = (".jsonl", ".json", ".ndjson")  # plain text formats that can be read from a byte offset


@dataclass(frozen=True)
class Skipped:
    """A record a reader could not turn into a document, and why (counted, never silent)."""

    reason: str
    nbytes: int = 0


@dataclass(frozen=True)
class InputShard:
    """One unit of parallel work: a file, or a byte range of a large splittable file."""

    index: int
    path: str
    format: str
    start: int = 0
    end: int | None = None
    source: str = ""  # the path relative to its input root: stable in ids whatever the mount point

    @property
    def name(self) -> str:
        return f"{self.index:05d}"


def detect_format(path: Path) -> str | None:
    if path.is_dir():
        markers = ("dataset_info.json", "state.json", "dataset_dict.json")
        return "hf" if any((path / m).exists() for m in markers) else None
    return format_of_name(path.name)


def format_of_name(name: str) -> str | None:
    name = name.lower()
    for suffix in sorted(SUFFIX_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIX_FORMATS[suffix]
    return None


def list_shards(config: InputConfig) -> list[InputShard]:
    """All input shards in a fixed order, so shard numbers and ids are the same on every run."""
    if not config.paths:
        raise CurateError("no input: give input.paths in the pipeline or --input on the command line")
    found: list[tuple[str, str, str, int]] = []  # path or URL, format, path relative to its input root, size
    for raw in config.paths:
        if is_url(raw):
            found += _remote_files(raw, config.format)
            continue
        root = Path(raw)
        if not root.exists():
            raise CurateError(f"input not found: {raw}")
        for path in _walk(root, config.format):
            fmt = config.format if config.format != "auto" else detect_format(path)
            rel = path.name if path == root else str(path.relative_to(root))
            found.append((str(path), fmt, rel, path.stat().st_size if path.is_file() else 0))
    if not found:
        raise CurateError(f"no input files of a known format under: {', '.join(config.paths)}")
    shards: list[InputShard] = []
    for path, fmt, rel, size in sorted(found, key=lambda f: f[0]):
        if fmt == "jsonl" and path.endswith(SPLITTABLE) and size > config.shard_bytes:
            for start in range(0, size, config.shard_bytes):
                end = min(start + config.shard_bytes, size)
                shards.append(InputShard(len(shards), path, fmt, start, end, rel))
        else:
            shards.append(InputShard(len(shards), path, fmt, source=rel))
    return shards


def _remote_files(url: str, fmt: str) -> list[tuple[str, str, str, int]]:
    if fmt == "hf":
        raise CurateError(f"{url}: format hf reads a local folder saved by `datasets`; give its files (jsonl, parquet) instead")
    files = [(f.url, fmt if fmt != "auto" else format_of_name(f.relative), f.relative, f.size) for f in list_files(url)]
    return [f for f in files if f[1] is not None]


def _walk(root: Path, fmt: str) -> Iterator[Path]:
    if root.is_file() or detect_format(root) == "hf" or fmt == "hf":
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        if detect_format(here) == "hf" and here != root:
            dirnames.clear()
            yield here
            continue
        for name in sorted(filenames):
            path = here / name
            if name.startswith(".") or name.startswith("_"):
                continue
            if fmt == "auto" and detect_format(path) is None:
                continue
            yield path


def read_shard(shard: InputShard, config: InputConfig) -> Iterator[Document | Skipped]:
    """Documents of one shard, streaming; records that cannot be read come out as `Skipped`."""
    if shard.format == "jsonl":
        from .jsonl import read_jsonl

        return read_jsonl(shard, config)
    if shard.format == "parquet":
        from .parquet import read_parquet

        return read_parquet(shard, config)
    if shard.format == "warc":
        from .warc import read_warc

        return read_warc(shard)
    if shard.format == "hf":
        from .hf import read_hf

        return read_hf(shard, config)
    raise CurateError(f"{shard.path}: unknown input format {shard.format!r}")
