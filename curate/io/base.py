"""What every reader shares: the input options, a shard of work, and a counted skip.

Plain data, so that `io` depends on no config module: the pipeline YAML's `input:` section is
parsed into `InputOptions` by `curate.config`, and readers see only these fields.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputOptions:
    """The `input:` section. `text_field`/`html_field` name the columns of JSONL, Parquet and HF rows:
    a row with an `html_field` string becomes a page for `extract`, as a WARC response does."""

    paths: list[str]
    format: str = "auto"
    text_field: str = "text"
    html_field: str | None = None
    id_field: str = "id"
    url_field: str = "url"
    shard_bytes: int = 16 * 2**20  # larger plain JSONL (and decompressed copies of compressed JSONL) is split into byte ranges
    limit: int | None = None  # only the first N documents, in shard order


@dataclass(frozen=True)
class FieldSeen:
    """A string field of a record that had no text: what the input check suggests instead."""

    name: str
    chars: int
    markup: bool  # starts like HTML


@dataclass(frozen=True)
class Skipped:
    """A record a reader could not turn into a document, and why (counted, never silent)."""

    reason: str
    nbytes: int = 0
    fields: tuple[FieldSeen, ...] = ()  # for a record without its text: the string fields it has


@dataclass(frozen=True)
class InputShard:
    """One unit of parallel work: a file, or a byte range of a large splittable file."""

    index: int
    path: str
    format: str
    start: int = 0
    end: int | None = None
    source: str = ""  # the path relative to its input root: stable in ids whatever the mount point
    limit: int | None = None  # documents to take from this shard (`--limit`), None for all
    size: int = 0  # bytes of the whole file (0 for a folder)

    @property
    def name(self) -> str:
        return f"{self.index:05d}"
