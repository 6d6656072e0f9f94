"""JSON Lines (plain, .gz, .zst), streamed; plain files can be read as byte ranges."""

from __future__ import annotations

import json
from typing import Any, Iterator

from ..config import InputConfig
from ..document import Document, stable_id
from .compressed import DECOMPRESSION_ERRORS, open_binary
from .inputs import InputShard, Skipped


def read_jsonl(shard: InputShard, config: InputConfig) -> Iterator[Document | Skipped]:
    with open_binary(shard.path) as stream:
        offset = shard.start
        if shard.start:
            stream.seek(shard.start - 1)
            offset += len(stream.readline()) - 1  # finish the line the previous range owns
        try:
            for line in stream:
                if shard.end is not None and offset >= shard.end:
                    break
                line_offset, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                yield _parse_line(line, line_offset, shard, config)
        except DECOMPRESSION_ERRORS:
            yield Skipped("jsonl:truncated_or_corrupt_file")


def _parse_line(line: bytes, offset: int, shard: InputShard, config: InputConfig) -> Document | Skipped:
    try:
        text_line = line.decode("utf-8")
    except UnicodeDecodeError:
        text_line = line.decode("utf-8", "replace")  # keep what can be decoded; stray bytes become U+FFFD
    try:
        record: Any = json.loads(text_line)
    except ValueError:
        return Skipped("jsonl:invalid_json", len(line))
    if not isinstance(record, dict):
        return Skipped("jsonl:not_an_object", len(line))
    text = record.pop(config.text_field, None)
    if not isinstance(text, str):
        return Skipped("jsonl:missing_text" if text is None else "jsonl:text_not_a_string", len(line))
    raw_id = record.pop(config.id_field, None)
    url = record.pop(config.url_field, None)
    meta = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    url = url or meta.get("url") or meta.get("warc_url")
    return Document(
        id=str(raw_id) if isinstance(raw_id, (str, int)) and raw_id != "" else stable_id(shard.source, offset),
        text=clean_text(text),
        source=str(record.pop("source", None) or shard.source),
        url=url if isinstance(url, str) else None,
        timestamp=_as_str(record.pop("created", None) or record.pop("timestamp", None)),
        metadata=record,
    )


def clean_text(text: str) -> str:
    """Drop what Arrow and every later stage choke on: lone surrogates and NUL bytes."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)
