"""data/: the kept documents as Parquet (zstd), one file per shard, every stage's signals as columns."""

from __future__ import annotations

from ..document import schema_for
from ..io.writers import AtomicParquetWriter
from . import Batch, Sink, SinkTask

FOLDER = "data"


class KeptParquet(Sink):
    name = "data"

    def open(self, task: SinkTask) -> _KeptFile:
        return _KeptFile(AtomicParquetWriter(task.root / FOLDER / f"part-{task.shard}.parquet", schema_for(task.signals)))


class _KeptFile:
    def __init__(self, writer: AtomicParquetWriter) -> None:
        self.writer = writer

    def add(self, batch: Batch) -> None:
        self.writer.write(batch.kept)

    def close(self) -> None:
        self.writer.close()
