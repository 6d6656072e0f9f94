"""Parquet files, streamed by record batch."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..document import Document
from .base import InputOptions, InputShard, Skipped
from .records import fields_seen, row_to_document
from .remote import is_url, open_url


SAMPLE_ROWS = 20


def read_parquet(shard: InputShard, options: InputOptions) -> Iterator[Document | Skipped]:
    try:
        file = pq.ParquetFile(open_url(shard.path) if is_url(shard.path) else shard.path)
    except (pa.ArrowException, OSError):
        yield Skipped("parquet:unreadable_file")
        return
    if not has_content_column(file.schema_arrow.names, options):
        first_rows = next(file.iter_batches(batch_size=SAMPLE_ROWS), None)
        yield from missing_column(file.metadata.num_rows, first_rows.to_pylist() if first_rows else [], "parquet")
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


def missing_column(rows: int, first_rows: list[dict], reader: str) -> Iterator[Skipped]:
    """Every row of a table without the text column, accounted for (none silently lost), each with the
    string columns of its first rows, so the input check can name the one meant."""
    fields = tuple(field for row in first_rows for field in fields_seen(row))
    for _ in range(rows):
        yield Skipped(f"{reader}:missing_text_column", fields=fields)
