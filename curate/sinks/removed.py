"""removed/: every removed document as Parquet with `stage`, `reason` (stage:reason) and `detail`
columns, one file per shard and phase (a document is removed in the phase whose stage removed it)."""

from __future__ import annotations

from ..document import schema_for
from ..io.writers import AtomicParquetWriter
from . import Batch, Sink, SinkTask

FOLDER = "removed"


class RemovedParquet(Sink):
    name = "removed"

    def open(self, task: SinkTask) -> _RemovedFile:
        path = task.root / FOLDER / f"part-{task.shard}-p{task.phase}.parquet"
        return _RemovedFile(AtomicParquetWriter(path, schema_for(task.signals, removed=True)))


class _RemovedFile:
    def __init__(self, writer: AtomicParquetWriter) -> None:
        self.writer = writer

    def add(self, batch: Batch) -> None:
        if batch.removed:
            columns = {
                "stage": [r.stage for r in batch.removed],
                "reason": [r.reason for r in batch.removed],
                "detail": [r.detail for r in batch.removed],
            }
            self.writer.write([r.doc for r in batch.removed], extra=columns)

    def close(self) -> None:
        self.writer.close()
