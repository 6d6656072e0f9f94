"""What every reader shares: the input options, a shard of work, and a counted skip.

Plain data, so that `io` depends on no config module: the pipeline YAML's `input:` section is
parsed into `InputOptions` by `curate.config` (checking each field's type and bounds as declared
here), and readers see only these fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..options import option


@dataclass
class InputOptions:
    """The `input:` section. `text_field`/`html_field` name the columns of JSONL, Parquet and HF rows:
    a row with an `html_field` string becomes a page for `extract`, as a WARC response does."""

    paths: list[str]
    format: str = "auto"
    text_field: str = option("text", "the field of a JSONL, Parquet or HF row that holds the text")
    html_field: str | None = option(None, "the field holding a page's HTML, for `extract`")
    id_field: str = option("id", "the field holding the document's id")
    url_field: str = option("url", "the field holding the document's URL")
    shard_bytes: int = option(16 * 2**20, "larger plain JSONL (and decompressed copies of compressed JSONL) is split "
                              "into byte ranges of this size", ge=1)
    limit: int | None = option(None, "only the first N documents, in shard order", ge=1)


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
    source: str = ""  # the path relative to its input root (with several, to their common folder): stable in ids whatever the mount point
    limit: int | None = None  # documents to take from this shard (`--limit`), None for all
    size: int = 0  # bytes of the whole file (0 for a folder)

    @property
    def name(self) -> str:
        return f"{self.index:05d}"
