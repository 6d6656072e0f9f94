"""WARC and WET (Common Crawl) with fastwarc: `response`, `resource` and `conversion` records.

HTML payloads are decoded (declared charset, then detection) into `Document.html`; the `extract`
stage turns them into text. WET `conversion` records are already text. Other payloads are skipped
with a counted reason.
"""

from __future__ import annotations

from typing import Iterator

from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from ..document import Document, stable_id
from .compressed import DECOMPRESSION_ERRORS
from .inputs import InputShard, Skipped
from .jsonl import clean_text

RECORD_TYPES = WarcRecordType.response | WarcRecordType.resource | WarcRecordType.conversion
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
TEXT_TYPES = ("text/plain",)


def read_warc(shard: InputShard) -> Iterator[Document | Skipped]:
    with open(shard.path, "rb") as stream:
        try:
            for record in ArchiveIterator(stream, record_types=RECORD_TYPES, parse_http=True):
                yield _to_document(record, shard)
        except DECOMPRESSION_ERRORS:
            yield Skipped("warc:truncated_or_corrupt_file")


def _to_document(record, shard: InputShard) -> Document | Skipped:
    rtype = record.record_type
    url = record.headers.get("WARC-Target-URI")
    record_id = record.headers.get("WARC-Record-ID") or stable_id(shard.source, record.stream_pos)
    date = record.headers.get("WARC-Date")
    payload = record.reader.read()
    if rtype == WarcRecordType.conversion:
        text = clean_text(payload.decode("utf-8", "replace"))
        lang = record.headers.get("WARC-Identified-Content-Language")
        meta = {"warc_type": "conversion"} | ({"warc_language": lang} if lang else {})
        return Document(id=_clean_id(record_id), text=text, source=shard.source, url=url, timestamp=date, metadata=meta)
    if rtype == WarcRecordType.response and record.http_headers is not None:
        status = record.http_headers.status_code
        if status and not 200 <= status < 300:
            return Skipped("warc:http_status_not_ok", len(payload))
        content_type = (record.http_content_type or "").lower()
        charset = record.http_charset
    else:
        content_type = (record.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        charset = None
    if not payload.strip():
        return Skipped("warc:empty_payload")
    if content_type.startswith(TEXT_TYPES):
        text = clean_text(_decode(payload, charset))
        return Document(id=_clean_id(record_id), text=text, source=shard.source, url=url, timestamp=date)
    if content_type and not content_type.startswith(HTML_TYPES):
        return Skipped("warc:non_html_payload", len(payload))
    if not content_type and not _looks_like_html(payload):
        return Skipped("warc:non_html_payload", len(payload))
    html = clean_text(_decode(payload, charset))
    return Document(
        id=_clean_id(record_id), text="", html=html, source=shard.source, url=url, timestamp=date,
        metadata={"content_type": content_type or "text/html"},
    )


def _decode(payload: bytes, declared: str | None) -> str:
    encoding = declared or detect_encoding(payload)
    return bytes_to_str(payload, encoding, fallback_encodings=("utf-8", "cp1252"))


def _looks_like_html(payload: bytes) -> bool:
    head = payload[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<body" in head or b"<head" in head


def _clean_id(record_id: str) -> str:
    return record_id.strip("<>").removeprefix("urn:uuid:")
