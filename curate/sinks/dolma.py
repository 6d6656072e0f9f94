"""documents/: the kept documents as zstd-compressed JSON lines in Dolma's document format, one file
per shard (`part-<shard>.jsonl.zst`), for toolkits that read Dolma (its mixer, taggers, dedupers).

Each line is `{"id", "text", "source", "added", "created", "metadata"}`: `added` is when the run
was first started (the same in a resumed run, so a rerun writes the same bytes), `created` the
document's own timestamp (a WARC date) or, where the input has none, `added` as Dolma's best guess,
and `metadata` holds the URL, the reader's metadata and every signal the stages recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import zstandard

from ..atomic import AtomicFile
from ..document import Document, json_text
from ..options import option
from . import Batch, Sink, SinkOptions, SinkTask

FOLDER = "documents"


@dataclass(frozen=True, kw_only=True)
class DolmaOptions(SinkOptions):
    compression_level: int = option(3, "zstd's level, 1 (fastest) to 22 (smallest)", ge=1, le=22)


class DolmaJsonl(Sink):
    name = "dolma"
    Options = DolmaOptions
    options: DolmaOptions

    def open(self, task: SinkTask) -> _DolmaFile:
        path = task.root / FOLDER / f"part-{task.shard}.jsonl.zst"
        return _DolmaFile(AtomicFile(path), self.options.compression_level, task.started())


class _DolmaFile:
    """Opened at the first kept document: a task that keeps none writes no file."""

    def __init__(self, target: AtomicFile, level: int, added: str) -> None:
        self.target = target
        self.level = level
        self.added = added
        self._stream: Any = None  # the zstd writer; it owns the temporary file and closes it

    def add(self, batch: Batch) -> None:
        if not batch.kept:
            return
        if self._stream is None:
            self._stream = zstandard.ZstdCompressor(level=self.level).stream_writer(open(self.target.tmp, "wb"))
        lines = (json_text(self.record(doc)) + "\n" for doc in batch.kept)
        self._stream.write("".join(lines).encode("utf-8", "surrogatepass"))

    def record(self, doc: Document) -> dict[str, Any]:
        metadata = ({"url": doc.url} if doc.url else {}) | doc.metadata | doc.signals
        return {
            "id": doc.id,
            "text": doc.text,
            "source": doc.source,
            "added": self.added,
            "created": doc.timestamp or self.added,
            "metadata": metadata,
        }

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self.target.commit()
