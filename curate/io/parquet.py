"""Parquet files, streamed by record batch."""

from __future__ import annotations

import json
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..config import InputConfig
from ..document import Document, stable_id
from .inputs import InputShard, Skipped
from .jsonl import clean_text


def read_parquet(shard: InputShard, config: InputConfig) -> Iterator[Document | Skipped]:
    try:
        file = pq.ParquetFile(shard.path)
    except (pa.ArrowInvalid, OSError):
        yield Skipped("parquet:unreadable_file")
        return
    names = file.schema_arrow.names
    if config.text_field not in names:
        for _ in range(file.metadata.num_rows or 1):
            yield Skipped("parquet:missing_text_column")
        return
    row = 0
    for batch in file.iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            yield _to_document(record, row, shard, config)
            row += 1


def _to_document(record: dict, row: int, shard: InputShard, config: InputConfig) -> Document | Skipped:
    text = record.pop(config.text_field)
    if not isinstance(text, str):
        return Skipped("parquet:missing_text" if text is None else "parquet:text_not_a_string")
    raw_id = record.pop(config.id_field, None)
    url = record.pop(config.url_field, None)
    meta = {k: v for k, v in record.items() if _jsonable(v)}
    return Document(
        id=str(raw_id) if raw_id not in (None, "") else stable_id(shard.source, row),
        text=clean_text(text),
        source=str(meta.pop("source", None) or shard.source),
        url=url if isinstance(url, str) else None,
        timestamp=str(meta.pop("timestamp")) if meta.get("timestamp") is not None else None,
        metadata=meta,
    )


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
