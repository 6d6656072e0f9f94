"""Parquet files, streamed by record batch."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..document import Document
from .base import FieldSeen, InputOptions, InputShard, Skipped
from .records import row_to_document
from .remote import is_url, open_url


def read_parquet(shard: InputShard, options: InputOptions) -> Iterator[Document | Skipped]:
    try:
        file = pq.ParquetFile(open_url(shard.path) if is_url(shard.path) else shard.path)
    except (pa.ArrowException, OSError):
        yield Skipped("parquet:unreadable_file")
        return
    if not has_content_column(file.schema_arrow.names, options):
        for _ in range(file.metadata.num_rows):  # every row is accounted for, none silently lost
            yield Skipped("parquet:missing_text_column", fields=tuple(_columns_seen(file.schema_arrow)))
        return
    row = 0
    try:
        for batch in file.iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                yield row_to_document(record, row, shard, options, "parquet")
                row += 1
    except (pa.ArrowException, OSError):
        for _ in range(file.metadata.num_rows - row):  # the rows after a corrupt page
            yield Skipped("parquet:corrupt_data")


def has_content_column(columns: list[str], options: InputOptions) -> bool:
    return options.text_field in columns or (options.html_field is not None and options.html_field in columns)


def _columns_seen(schema: pa.Schema) -> list[FieldSeen]:
    return [FieldSeen(f.name, 0, False) for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
