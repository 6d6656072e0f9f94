"""JSON Lines (plain, .gz, .zst), streamed; plain files can be read as byte ranges."""

from __future__ import annotations

import json
from typing import Any, Iterator

from ..document import Document
from .base import InputOptions, InputShard, Skipped
from .compressed import DECOMPRESSION_ERRORS, open_binary
from .records import row_to_document

MAX_LINE_BYTES = 64 * 2**20  # a longer "line" is a broken or binary file; skipped without holding it
BOM = b"\xef\xbb\xbf"


def read_jsonl(shard: InputShard, options: InputOptions) -> Iterator[Document | Skipped]:
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
                yield _parse_line(line, line_offset, shard, options)
        except DECOMPRESSION_ERRORS:
            yield Skipped("jsonl:truncated_or_corrupt_file")


def _skip_rest_of_line(stream) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _parse_line(line: bytes, offset: int, shard: InputShard, options: InputOptions) -> Document | Skipped:
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
    return row_to_document(record, offset, shard, options, "jsonl", len(line))
