"""A row of JSONL, Parquet or an HF dataset -> a document: the text (or HTML) field, id, url, source,
timestamp, and the other fields as metadata. One definition for every row-shaped reader."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from ..document import Document, stable_id, valid_utf8
from .base import FieldSeen, InputOptions, InputShard, Skipped
from .charset import decode_html

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MARKUP_START = re.compile(r"\s*<(?:!doctype|html|head|body|\?xml|!--|meta|div|p\b|text\b)", re.IGNORECASE)


def row_to_document(
    record: dict[str, Any], position: int, shard: InputShard, options: InputOptions, reader: str, nbytes: int = 0
) -> Document | Skipped:
    """`record` is consumed. With `html_field`, a row whose HTML is a string (or bytes, decoded as a web
    page is) becomes a page for `extract`; otherwise its `text_field` is the text."""
    html = record.pop(options.html_field, None) if options.html_field else None
    text = record.pop(options.text_field, None)
    if isinstance(html, bytes):
        html = decode_html(html).text
    if isinstance(html, str) and not html.strip():
        html = None  # an empty HTML field is no page: the row's text stands, as for a row without one
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(html, str) and not isinstance(text, str):
        if html is None and text is None:
            return Skipped(f"{reader}:missing_text", nbytes, fields=fields_seen(record))
        return Skipped(f"{reader}:text_not_a_string", nbytes)
    raw_id = record.pop(options.id_field, None)
    url = record.pop(options.url_field, None)
    nested = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    url = url or nested.get("url") or nested.get("warc_url")
    timestamp = record.pop("created", None) or record.pop("timestamp", None)
    if isinstance(timestamp, (datetime, date)):
        timestamp = timestamp.isoformat()
    if reader != "jsonl":  # a JSON line's values are JSON already; a column's may not be
        record = {k: v for k, v in record.items() if _jsonable(v)}
    if isinstance(html, str):
        (html, size), text = clean_text(html), ""
    else:
        (text, size), html = clean_text(text), None  # type: ignore[arg-type]  # a string: checked above
    document = Document(
        id=valid_utf8(str(raw_id)) if _usable_id(raw_id) else stable_id(shard.source, position),
        text=text,
        html=html,
        source=valid_utf8(str(record.pop("source", None) or shard.source)),
        url=valid_utf8(url) if isinstance(url, str) else None,
        timestamp=None if timestamp is None else valid_utf8(str(timestamp)),
        metadata=record,  # its strings are made valid where it is written (document.json_text)
    )
    document.know_size(size)
    return document


def fields_seen(record: dict[str, Any]) -> tuple[FieldSeen, ...]:
    return tuple(FieldSeen(k, len(v), bool(_MARKUP_START.match(v[:200]))) for k, v in record.items() if isinstance(v, str))


def clean_text(text: str) -> tuple[str, int]:
    """Drop what Arrow and every later stage choke on: NUL bytes, and lone surrogates (-> U+FFFD); with the
    UTF-8 size of what is left, which finding them measures anyway."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        return text, len(text)
    try:
        return text, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        text = _LONE_SURROGATE.sub("\ufffd", text)
        return text, len(text.encode("utf-8"))


def _usable_id(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or (isinstance(value, int) and not isinstance(value, bool))


def _jsonable(value: object) -> bool:
    """Whether a column's value can be metadata; a NaN or an infinity can, and is written as null (`json_text`)."""
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
