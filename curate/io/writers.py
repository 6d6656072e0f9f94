"""Parquet (zstd) writers whose files appear only when complete (see `curate.atomic`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import AtomicFile
from ..document import Document, to_table


class AtomicParquetWriter:
    """Appends batches to a temporary file; `close` renames it to `path`. Nothing is written for no rows."""

    def __init__(self, path: Path, schema: pa.Schema, compression: str = "zstd", **options: Any) -> None:
        self.path = Path(path)
        self.schema = schema
        self.compression = compression
        self.options = options  # more of `pq.ParquetWriter`'s keywords
        self.rows = 0
        self._file: AtomicFile | None = None
        self._writer: pq.ParquetWriter | None = None

    def write(self, docs: list[Document], extra: dict[str, list] | None = None) -> None:
        if docs:
            self.write_table(to_table(docs, self.schema, extra))

    def write_table(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if self._writer is None:
            self._file = AtomicFile(self.path)
            self._writer = pq.ParquetWriter(self._file.tmp, self.schema, compression=self.compression, **self.options)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None and self._file is not None:
            self._writer.close()
            self._file.commit()


def write_parquet_atomic(path: Path, table: pa.Table, row_group_size: int | None = None) -> None:
    with AtomicFile(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)
