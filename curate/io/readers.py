"""The reader registry: input format -> reader, and the file names (or folder markers) that tell it.

A reader is one module with a function `read(shard, options) -> Iterator[Document | Skipped]`;
adding a format is that module plus one line here. Modules are imported only when a run reads
their format, so detecting formats costs no imports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..document import Document
from ..errors import CurateError
from .base import InputOptions, InputShard, Skipped


@dataclass(frozen=True)
class Reader:
    target: str  # "module:function"
    suffixes: tuple[str, ...] = ()  # file names ending so are this format
    folder_markers: tuple[str, ...] = ()  # a folder holding one of these is one input of this format
    splittable: tuple[str, ...] = ()  # suffixes of files that can be read from a byte offset

    def load(self) -> Callable[[InputShard, InputOptions], Iterator[Document | Skipped]]:
        module, function = self.target.split(":")
        return getattr(importlib.import_module(module), function)


READERS: dict[str, Reader] = {
    "warc": Reader("curate.io.warc:read_warc", (".warc", ".warc.gz", ".wet", ".wet.gz")),
    "arc": Reader("curate.io.arc:read_arc", (".arc", ".arc.gz")),
    "jsonl": Reader(
        "curate.io.jsonl:read_jsonl",
        (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".json.gz", ".json.zst", ".ndjson", ".ndjson.gz", ".ndjson.zst"),
        splittable=(".jsonl", ".json", ".ndjson"),
    ),
    "parquet": Reader("curate.io.parquet:read_parquet", (".parquet",)),
    "hf": Reader("curate.io.hf:read_hf", folder_markers=("dataset_info.json", "state.json", "dataset_dict.json")),
}
INPUT_FORMATS = ("auto", *READERS)


def detect_format(path: Path) -> str | None:
    if path.is_dir():
        return next((fmt for fmt, r in READERS.items() if any((path / m).exists() for m in r.folder_markers)), None)
    return format_of_name(path.name)


def format_of_name(name: str) -> str | None:
    """The format whose longest suffix ends `name` (`.warc.gz` before `.gz`)."""
    name = name.lower()
    matches = [(len(s), fmt) for fmt, r in READERS.items() for s in r.suffixes if name.endswith(s)]
    return max(matches)[1] if matches else None


def is_splittable(shard_format: str, path: str) -> bool:
    return path.lower().endswith(READERS[shard_format].splittable) if shard_format in READERS else False


def read_shard(shard: InputShard, options: InputOptions) -> Iterator[Document | Skipped]:
    """Documents of one shard, streaming; records that cannot be read come out as `Skipped`;
    with `shard.limit`, reading stops after that many documents."""
    if shard.format not in READERS:
        raise CurateError(f"{shard.path}: unknown input format {shard.format!r}; known: {', '.join(READERS)}")
    items = READERS[shard.format].load()(shard, options)
    return items if shard.limit is None else _first_documents(items, shard.limit)


def _first_documents(items: Iterator[Document | Skipped], limit: int) -> Iterator[Document | Skipped]:
    if limit <= 0:
        return
    taken = 0
    for item in items:
        yield item
        if not isinstance(item, Skipped):
            taken += 1
            if taken >= limit:
                return
