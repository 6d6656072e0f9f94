"""JSON Lines (plain, .gz, .zst), streamed; plain files can be read as byte ranges."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from ..config import InputConfig
from ..document import Document, stable_id
from .compressed import DECOMPRESSION_ERRORS, open_binary
from .inputs import InputShard, Skipped

MAX_LINE_BYTES = 64 * 2**20  # a longer "line" is a broken or binary file; skipped without holding it
BOM = b"\xef\xbb\xbf"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def read_jsonl(shard: InputShard, config: InputConfig) -> Iterator[Document | Skipped]:
    with open_binary(shard.path) as stream:
        offset = shard.start
        if shard.start:
            stream.seek(shard.start - 1)
            offset += len(stream.readline()) - 1  # finish the line the previous range owns
        try:
            while shard.end is None or offset < shard.end:
                line = stream.readline(MAX_LINE_BYTES)
                if not line:
                    break
                line_offset, offset = offset, offset + len(line)
                if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
                    offset += _skip_rest_of_line(stream)
                    yield Skipped("jsonl:line_too_long", MAX_LINE_BYTES)
                    continue
                if line_offset == 0 and line.startswith(BOM):
                    line = line[len(BOM):]
                if not line.strip():
                    continue
                yield _parse_line(line, line_offset, shard, config)
        except DECOMPRESSION_ERRORS:
            yield Skipped("jsonl:truncated_or_corrupt_file")


def _skip_rest_of_line(stream) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _parse_line(line: bytes, offset: int, shard: InputShard, config: InputConfig) -> Document | Skipped:
    try:
        text_line = line.decode("utf-8")
    except UnicodeDecodeError:
        text_line = line.decode("utf-8", "replace")  # keep what can be decoded; stray bytes become U+FFFD
    try:
        record: Any = json.loads(text_line)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
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
        id=str(raw_id) if _usable_id(raw_id) else stable_id(shard.source, offset),
        text=clean_text(text),
        source=str(record.pop("source", None) or shard.source),
        url=url if isinstance(url, str) else None,
        timestamp=_as_str(record.pop("created", None) or record.pop("timestamp", None)),
        metadata=record,
    )


def _usable_id(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or (isinstance(value, int) and not isinstance(value, bool))


def clean_text(text: str) -> str:
    """Drop what Arrow and every later stage choke on: NUL bytes, and lone surrogates (-> U+FFFD)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)
