"""WARC and WET (Common Crawl and other crawlers) with fastwarc: `response`, `resource` and `conversion` records.

HTML payloads are decoded to text markup (see `charset.decode_html`) into `Document.html`; the
`extract` stage turns them into text. WET `conversion` records and `text/plain` payloads are
already text. Everything else is a counted `Skipped(reason)`, never an exception: non-HTML
payloads, error statuses, crawler metadata, records whose Content-Length lies or that a truncated
file cut short, and the rest of a file fastwarc can no longer parse.

Records are read in quirks mode (WARC/0.18, LF-only HTTP headers, as in ClueWeb09), and HTTP
transfer and content encodings are undone here rather than by fastwarc, whose decoders raise on
the common case of a header that no longer matches the stored bytes (a crawler that stored the
body decoded but kept `Content-Encoding: gzip` or `Transfer-Encoding: chunked`).
"""

from __future__ import annotations

import io
import re
import zlib
from datetime import datetime
from typing import Iterator

import brotli
import zstandard
from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from ..document import Document, stable_id
from .charset import decode_html
from .inputs import InputShard, Skipped
from .remote import is_url, open_url

MAX_PAYLOAD_BYTES = 8 * 2**20  # larger bodies are media or junk; skipped unread, so memory stays bounded
SCAN_BYTES = 1 << 20  # window for finding the next intact gzip member after damage
CONTENT_RECORDS = (WarcRecordType.response, WarcRecordType.resource, WarcRecordType.conversion)
IGNORED_RECORDS = (WarcRecordType.request, WarcRecordType.metadata, WarcRecordType.warcinfo)  # never content
HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("application/xml", "text/xml")  # HTML only when the bytes say so
TEXT_TYPES = ("text/plain",)
UNTYPED = ("", "application/octet-stream", "unknown/unknown", "application/unknown")
BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"OggS", b"ID3")
METADATA_SCHEMES = ("metadata:", "dns:", "filedesc:", "warcinfo:")
# A record header inside a payload: the previous Content-Length was too large and swallowed it.
_EMBEDDED_RECORD = re.compile(rb"\r?\nWARC/\d\.\d+\r?\n(?:[^\r\n]+\r?\n)*?WARC-Type: *(response|resource|conversion)\b", re.IGNORECASE)


def read_warc(shard: InputShard) -> Iterator[Document | Skipped]:
    """Records in file order. In a gzip file (one member per record, as Common Crawl writes them),
    reading resumes at the next intact member after damage, so one bad member costs one record."""
    with open_url(shard.path) if is_url(shard.path) else open(shard.path, "rb") as stream:
        gzipped = stream.read(2) == b"\x1f\x8b"
        offset, records = 0, 0
        while True:
            stream.seek(offset)
            last_record = None
            failed = False
            try:
                for record in ArchiveIterator(stream, parse_http=False, quirks_mode=True, auto_decode="none"):
                    last_record = offset + record.stream_pos
                    records += 1
                    yield from _read_record(record, last_record, shard)
            except (OSError, EOFError, ValueError, zlib.error):
                failed = True
            resume = _next_warc_member(stream, (offset if last_record is None else last_record) + 1) if gzipped else None
            if resume is None:
                if failed:
                    yield Skipped("warc:truncated_or_corrupt_file")
                break
            yield Skipped("warc:corrupt_gzip_member")  # bytes fastwarc could not read, before an intact record
            offset = resume
        empty = stream.seek(0, io.SEEK_END) == 0
    if records == 0 and not empty:
        yield Skipped("warc:not_a_warc_file")


def _next_warc_member(stream, start: int) -> int | None:
    """Offset of the next gzip member at or after `start` that decompresses whole and holds a WARC record."""
    stream.seek(start)
    window_start, window = start, stream.read(SCAN_BYTES)
    while window:
        found = window.find(b"\x1f\x8b\x08")
        while found >= 0:
            if _is_warc_member(stream, window_start + found):
                return window_start + found
            found = window.find(b"\x1f\x8b\x08", found + 1)
        window_start += len(window) - 2  # keep 2 bytes so a magic number across the boundary is seen
        stream.seek(window_start)
        window = stream.read(SCAN_BYTES)
        if len(window) <= 2:
            return None
    return None


def _is_warc_member(stream, offset: int) -> bool:
    stream.seek(offset)
    member = zlib.decompressobj(31)
    head = b""
    try:
        while not member.eof:
            chunk = stream.read(SCAN_BYTES)
            if not chunk:
                return False
            out = member.decompress(chunk, MAX_PAYLOAD_BYTES)
            head = head or out[:8]
            if member.unconsumed_tail:
                return head.startswith(b"WARC/")  # a huge member: its start is good enough
    except zlib.error:
        return False
    return head.startswith(b"WARC/")


def _read_record(record: WarcRecord, position: int, shard: InputShard) -> Iterator[Document | Skipped]:
    rtype = record.record_type
    if rtype in IGNORED_RECORDS:
        return
    if rtype == WarcRecordType.revisit:
        yield Skipped("warc:revisit_record")  # a pointer to an earlier capture; it has no payload
        return
    if rtype not in CONTENT_RECORDS or "Content-Length" not in record.headers:
        yield Skipped("warc:truncated_record")  # a header block cut short by the end of the file
        return
    url = _clean_uri(record.headers.get("WARC-Target-URI"))
    if url and url.startswith(METADATA_SCHEMES):
        yield Skipped("warc:crawler_metadata")
        return
    http = None
    if rtype != WarcRecordType.conversion and record.is_http:
        try:
            record.parse_http(auto_decode="none", quirks_mode=True)
        except (OSError, ValueError):
            yield Skipped("warc:invalid_http_headers")
            return
        http = record.http_headers
        if http.status_code and not 200 <= http.status_code < 300:
            yield Skipped("warc:http_status_not_ok")
            return
    if record.content_length > MAX_PAYLOAD_BYTES:
        yield Skipped("warc:payload_too_large")
        return
    payload = record.reader.read()
    swallowed = _EMBEDDED_RECORD.findall(payload) if b"\nWARC/" in payload else []
    if swallowed:  # also when the lie runs past the end of the file, which makes the payload look cut short
        for _ in range(1 + len(swallowed)):  # this record and the content records its length ran over
            yield Skipped("warc:content_length_mismatch")
        return
    if len(payload) < record.content_length:
        yield Skipped("warc:truncated_record")
        return
    yield _to_document(record, payload, http, url, position, shard)


def _to_document(
    record: WarcRecord, payload: bytes, http, url: str | None, position: int, shard: InputShard
) -> Document | Skipped:
    record_id = _clean_id(record.headers.get("WARC-Record-ID")) or stable_id(shard.source, position)
    timestamp, meta = _timestamp(record.headers.get("WARC-Date"))
    if record.record_type == WarcRecordType.conversion:
        lang = record.headers.get("WARC-Identified-Content-Language")
        meta |= {"warc_type": "conversion"} | ({"warc_language": lang} if lang else {})
        text = _without_nul(payload.decode("utf-8", "replace"))  # WET is UTF-8 by definition
        return Document(id=record_id, text=text, source=shard.source, url=url, timestamp=timestamp, metadata=meta)
    if http is not None:
        payload = _undo_http_encodings(payload, http)
        if payload is None:
            return Skipped("warc:undecodable_content_encoding")
        content_type, charset = (record.http_content_type or "").lower(), record.http_charset
    else:
        content_type, charset = _parse_content_type(record.headers.get("Content-Type"))
    if not payload or payload.isspace():
        return Skipped("warc:empty_payload")
    kind = _payload_kind(content_type, payload)
    if kind is None:
        return Skipped("warc:non_html_payload")
    decoded = decode_html(payload, charset)
    meta |= {"content_type": content_type or "text/html", "charset": decoded.encoding}
    if kind == "text":
        return Document(id=record_id, text=_without_nul(decoded.text), source=shard.source, url=url, timestamp=timestamp, metadata=meta)
    return Document(
        id=record_id, text="", html=_without_nul(decoded.text), source=shard.source, url=url, timestamp=timestamp, metadata=meta
    )


def _payload_kind(content_type: str, payload: bytes) -> str | None:
    """'html', 'text', or None for a payload we do not turn into a document (media, PDF, scripts)."""
    head = payload[:16].lstrip()
    if head.startswith(BINARY_MAGIC):
        return None  # mislabelled binaries are common: the bytes win over the header
    if content_type.startswith(HTML_TYPES):
        return "html"
    if content_type.startswith(TEXT_TYPES):
        return "html" if _looks_like_html(payload) else "text"
    if (content_type in UNTYPED or content_type.startswith(XML_TYPES)) and _looks_like_html(payload):
        return "html"
    return None


def _undo_http_encodings(payload: bytes, http) -> bytes | None:
    """Dechunk and decompress as the headers say, when the bytes still carry that encoding.

    Output is capped at MAX_PAYLOAD_BYTES, so a decompression bomb costs no more than a large page.
    """
    if "chunked" in (http.get("Transfer-Encoding") or "").lower():
        payload = _dechunk(payload)
    encoding = (http.get("Content-Encoding") or "").strip().lower()
    try:
        if encoding in ("gzip", "x-gzip", "deflate") and payload[:1] in (b"\x1f", b"\x78"):
            return zlib.decompressobj(47).decompress(payload, MAX_PAYLOAD_BYTES)  # 47: gzip or zlib header
        if encoding == "deflate" and not _looks_like_text(payload):
            return zlib.decompressobj(-15).decompress(payload, MAX_PAYLOAD_BYTES)  # raw deflate, as some servers send
        if encoding == "zstd" and payload.startswith(b"\x28\xb5\x2f\xfd"):
            return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(payload)).read(MAX_PAYLOAD_BYTES)
        if encoding == "br" and not _looks_like_text(payload):
            return brotli.Decompressor().process(payload, output_buffer_limit=MAX_PAYLOAD_BYTES)
    except (zlib.error, zstandard.ZstdError, brotli.error):
        return None
    return payload


def _dechunk(payload: bytes) -> bytes:
    """Undo chunked transfer coding; bytes that are not chunked (already decoded) come back unchanged."""
    out: list[bytes] = []
    pos = 0
    while True:
        eol = payload.find(b"\n", pos, pos + 1024)
        if eol < 0:
            return payload if not out else b"".join(out)
        try:
            size = int(payload[pos:eol].split(b";", 1)[0].strip(), 16)
        except ValueError:
            return payload if not out else b"".join(out) + payload[pos:]
        if size == 0:
            return b"".join(out)
        start = eol + 1
        out.append(payload[start : start + size])
        pos = start + size
        pos += 2 if payload[pos : pos + 2] == b"\r\n" else 1 if payload[pos : pos + 1] == b"\n" else 0


def _looks_like_html(payload: bytes) -> bool:
    head = payload[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml", b"<!--", b"<meta", b"<title")) or (
        b"<body" in head or b"<head" in head or b"<html" in head
    )


def _looks_like_text(payload: bytes) -> bool:
    head = payload[:512]
    return bool(head) and sum(32 <= b < 127 or b in (9, 10, 13) for b in head) > 0.95 * len(head)


def _parse_content_type(value: str | None) -> tuple[str, str | None]:
    if not value:
        return "", None
    mime, _, params = value.partition(";")
    match = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
    return mime.strip().lower(), match.group(1) if match else None


def _timestamp(value: str | None) -> tuple[str | None, dict]:
    """An ISO 8601 WARC-Date, or None with the raw value kept in metadata (ClueWeb09 has `2008-10-294T...`)."""
    if not value:
        return None, {}
    try:
        datetime.fromisoformat(value.strip())
        return value.strip(), {}
    except ValueError:
        return None, {"warc_date": value}


def _without_nul(text: str) -> str:
    """Decoded bytes hold no lone surrogates (decoders replace them), but may hold NULs, which Arrow and C libraries mishandle."""
    return text.replace("\x00", "") if "\x00" in text else text


def _clean_uri(value: str | None) -> str | None:
    """WARC/1.0 drafts (wget) wrap the URI in <>; strip that and whitespace."""
    if not value:
        return None
    return value.strip().removeprefix("<").removesuffix(">").strip() or None


def _clean_id(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().strip("<>").removeprefix("urn:uuid:") or None
