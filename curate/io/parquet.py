"""Parquet files, streamed by record batch."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..config import InputConfig
from ..document import Document, stable_id
from .inputs import InputShard, Skipped
from .jsonl import clean_text
from .remote import is_url, open_url


def read_parquet(shard: InputShard, config: InputConfig) -> Iterator[Document | Skipped]:
    try:
        file = pq.ParquetFile(open_url(shard.path) if is_url(shard.path) else shard.path)
    except (pa.ArrowException, OSError):
        yield Skipped("parquet:unreadable_file")
        return
    if config.text_field not in file.schema_arrow.names:
        for _ in range(file.metadata.num_rows):  # every row is accounted for, none silently lost
            yield Skipped("parquet:missing_text_column")
        return
    row = 0
    try:
        for batch in file.iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                yield to_document(record, row, shard, config, "parquet")
                row += 1
    except (pa.ArrowException, OSError):
        for _ in range(file.metadata.num_rows - row):  # the rows after a corrupt page
            yield Skipped("parquet:corrupt_data")


def to_document(record: dict, row: int, shard: InputShard, config: InputConfig, reader: str) -> Document | Skipped:
    """A row (Parquet or HF datasets) as a document; other scalar or JSON-able columns go to metadata."""
    text = record.pop(config.text_field, None)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        return Skipped(f"{reader}:missing_text" if text is None else f"{reader}:text_not_a_string")
    raw_id = record.pop(config.id_field, None)
    url = record.pop(config.url_field, None)
    timestamp = record.pop("timestamp", None)
    if isinstance(timestamp, (datetime, date)):
        timestamp = timestamp.isoformat()
    meta = {k: v for k, v in record.items() if _jsonable(v)}
    return Document(
        id=str(raw_id) if raw_id not in (None, "") else stable_id(shard.source, row),
        text=clean_text(text),
        source=str(meta.pop("source", None) or shard.source),
        url=url if isinstance(url, str) else None,
        timestamp=None if timestamp is None else str(timestamp),
        metadata=meta,
    )


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
