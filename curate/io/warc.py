"""WARC and WET (Common Crawl and other crawlers) with fastwarc: `response`, `resource` and `conversion` records.

HTML payloads are decoded to text markup (see `charset.decode_html`) into `Document.html`; the
`extract` stage turns them into text. WET `conversion` records and `text/plain` payloads are
already text. Everything else is a counted `Skipped(reason)`, never an exception: non-HTML
payloads, error statuses, crawler metadata, records whose Content-Length lies or that a truncated
file cut short, and the rest of a file fastwarc can no longer parse.

Damage, and how it is counted (nothing is lost silently):
- A Content-Length too large, on a record of any type, runs over the records after it. The record
  (unless it is a request or other record never counted) and each counted record whose header lies
  in its claimed payload count as `content_length_mismatch`: exact, one per record. Payloads over the
  cap are scanned a window at a time, never held. fastwarc resumes where the claimed payload ends.
- Gzip (one member per record): reading resumes at the next intact member after a damaged one,
  counted once as `corrupt_gzip_member`.
- Uncompressed: each record must start where the one before it ends (its header, blank line,
  Content-Length bytes, then only blank lines). fastwarc itself skips anything else up to the next
  line that starts with `WARC/`, and so loses a record whose header garbage ran into (junk between
  records, a payload longer than its Content-Length). Such a stretch counts once as
  `resynchronised`, and reading restarts at the first `WARC/<version>` line inside it, at a line
  start or not, which recovers that record. Checking costs two small reads per record.

Records are read in quirks mode (WARC/0.18, LF-only HTTP headers, as in ClueWeb09), and HTTP
transfer and content encodings are undone here rather than by fastwarc, whose decoders raise on
the common case of a header that no longer matches the stored bytes (a crawler that stored the
body decoded but kept `Content-Encoding: gzip` or `Transfer-Encoding: chunked`).
"""

from __future__ import annotations

import io
import os
import re
import zlib
from datetime import datetime
from itertools import chain
from typing import Generator, Iterator

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from ..document import Document, stable_id
from .base import InputOptions, InputShard, Skipped
from .compressed import GZIP_MAGIC, GZIP_MEMBER_START, ZSTD_MAGIC
from .payload import MAX_PAYLOAD_BYTES, page_document, parse_content_type, undo_http_encodings, without_nul
from .remote import is_url, open_url

SCAN_BYTES = 1 << 20  # window for scanning damaged bytes (the next gzip member or record header, an oversized payload)
HEADER_PEEK = 4096  # most WARC headers fit; longer ones are read up to fastwarc's own limit
MAX_HEADER_BYTES = 32 << 10  # fastwarc's max_header_len
VERSION_LINE_BYTES = 16  # room for a `WARC/1.0\r\n` line across a scan window's edge
COMPRESSED_MAGIC = (GZIP_MAGIC, ZSTD_MAGIC, b"\x04\x22\x4d\x18")  # gzip, zstd, lz4: fastwarc detects them
CONTENT_RECORDS = (WarcRecordType.response, WarcRecordType.resource, WarcRecordType.conversion)
IGNORED_RECORDS = (WarcRecordType.request, WarcRecordType.metadata, WarcRecordType.warcinfo)  # never content
METADATA_SCHEMES = ("metadata:", "dns:", "filedesc:", "warcinfo:")
# The header of a record this reader counts, inside a payload: that record's Content-Length was too large.
_EMBEDDED_RECORD = re.compile(
    rb"\nWARC/\d\.\d+\r?\n(?:[^\r\n]+\r?\n)*?WARC-Type: *(response|resource|conversion|revisit)\b", re.IGNORECASE
)
_VERSION_LINE = re.compile(rb"WARC/\d+\.\d+\r?\n")
_BLANK_LINE = re.compile(rb"\n\r?\n")  # ends a header block, CRLF or LF-only (quirks mode)


def read_warc(shard: InputShard, options: InputOptions | None = None) -> Iterator[Document | Skipped]:
    """Records in file order; damage is counted and reading resumes after it (see the module docstring)."""
    with open_url(shard.path) if is_url(shard.path) else open(shard.path, "rb") as stream:
        head = stream.read(4)
        size = stream.seek(0, io.SEEK_END)
        if head.startswith(COMPRESSED_MAGIC):
            records = yield from _read_compressed(stream, shard, gzipped=head.startswith(GZIP_MAGIC))
        else:
            records = yield from _read_plain(stream, shard, size)
    if records == 0 and size:
        yield Skipped("warc:not_a_warc_file")


def _read_compressed(stream, shard: InputShard, gzipped: bool) -> Generator[Document | Skipped, None, int]:
    """In a gzip file (one member per record, as Common Crawl writes them), reading resumes at the
    next intact member after damage, so one bad member costs one record."""
    offset, records = 0, 0
    while True:
        stream.seek(offset)
        last_record, failed, overran = None, False, False
        try:
            for record in ArchiveIterator(stream, parse_http=False, quirks_mode=True, auto_decode="none"):
                last_record = record.stream_pos  # an absolute offset, also after a seek
                records += 1
                overran = yield from _read_record(record, last_record, shard)
        except (OSError, EOFError, ValueError, zlib.error):
            failed = True
        if overran:
            break  # its length ran to the end of the file: what it swallowed is counted, nothing is left to resume
        resume = _next_warc_member(stream, (offset if last_record is None else last_record) + 1) if gzipped else None
        if resume is None:
            if failed:
                yield Skipped("warc:truncated_or_corrupt_file")
            break
        yield Skipped("warc:corrupt_gzip_member")  # bytes fastwarc could not read, before an intact record
        offset = resume
    return records


def _read_plain(stream, shard: InputShard, size: int) -> Generator[Document | Skipped, None, int]:
    """An uncompressed file, checked record by record for damaged stretches (see the module docstring)."""
    offset, expected, records, counted_until = 0, 0, 0, -1
    while True:
        stream.seek(offset)
        resume = None
        try:
            records_then_end = chain(ArchiveIterator(stream, parse_http=False, quirks_mode=True, auto_decode="none"), [None])
            for record in records_then_end:  # None stands for the end of the file, after which junk is checked too
                position = size if record is None else record.stream_pos
                if expected is not None and _is_damaged(stream, expected, position):
                    resume = _next_header(stream, expected + 1, position)
                    junk_file = record is None and records == 0 and resume is None  # counted as not_a_warc_file
                    if position > counted_until and not junk_file:
                        counted_until = position
                        yield Skipped("warc:resynchronised")
                    if resume is not None:
                        break
                if record is None:
                    break
                records += 1
                block_length = record.content_length  # parsing the HTTP headers turns it into the body's length
                overran = yield from _read_record(record, position, shard)
                # After a Content-Length that ran over other records (counted), fastwarc resumes mid-record: nothing to check.
                expected = None if overran else _record_end(stream, position, block_length)
        except (OSError, EOFError, ValueError):
            yield Skipped("warc:truncated_or_corrupt_file")
            return records
        if resume is None:
            return records
        offset = expected = resume


def _record_end(stream, position: int, content_length: int) -> int | None:
    """Offset just past a record's block (header, blank line, Content-Length bytes); None if its header has no end."""
    for peek in (HEADER_PEEK, MAX_HEADER_BYTES):
        head = _read_at(stream, position, peek)
        blank = _BLANK_LINE.search(head)
        if blank:
            return position + blank.end() + content_length
        if len(head) < peek:
            break
    return None


def _is_damaged(stream, start: int, stop: int) -> bool:
    """Whether the bytes between one record's block and the next record hold more than the blank lines that close a record."""
    if stop <= start:
        return False  # nothing between them (or fastwarc read the header differently): nothing to judge
    return stop - start > SCAN_BYTES or not _read_at(stream, start, stop - start).isspace()


def _next_header(stream, start: int, stop: int) -> int | None:
    """Offset of the first `WARC/<version>` line starting in [start, stop), at a line start or not."""
    while start < stop:
        end = min(start + SCAN_BYTES, stop)
        match = _VERSION_LINE.search(_read_at(stream, start, end - start + VERSION_LINE_BYTES))
        if match and start + match.start() < end:
            return start + match.start()
        start = end
    return None


def _read_at(stream, offset: int, size: int) -> bytes:
    """Bytes at `offset`, leaving the stream where fastwarc expects it."""
    if isinstance(stream, io.BufferedReader) and isinstance(stream.raw, io.FileIO):
        return os.pread(stream.fileno(), size, offset)  # a local file: no seeks, and fastwarc's buffer stays
    here = stream.tell()
    stream.seek(offset)
    data = stream.read(size)
    stream.seek(here)
    return data


def _next_warc_member(stream, start: int) -> int | None:
    """Offset of the next gzip member at or after `start` that decompresses whole and holds a WARC record."""
    stream.seek(start)
    window_start, window = start, stream.read(SCAN_BYTES)
    while window:
        found = window.find(GZIP_MEMBER_START)
        while found >= 0:
            if _is_warc_member(stream, window_start + found):
                return window_start + found
            found = window.find(GZIP_MEMBER_START, found + 1)
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


def _read_record(record: WarcRecord, position: int, shard: InputShard) -> Generator[Document | Skipped, None, bool]:
    """The record's document or skip. Every record's block is read first, whatever its type, because a
    Content-Length that ran over later records holds their headers: then this record (unless it is
    one never counted, such as a request) and each counted record it swallowed are
    `content_length_mismatch`, and the return value is True."""
    counted = record.record_type not in IGNORED_RECORDS
    http_ok = True
    if record.record_type in (WarcRecordType.response, WarcRecordType.resource) and record.is_http:
        try:
            record.parse_http(auto_decode="none", quirks_mode=True)
        except (OSError, ValueError):
            http_ok = False
    payload, swallowed = _read_block(record)
    if swallowed:  # also when the lie runs past the end of the file, which makes the payload look cut short
        yield from [Skipped("warc:content_length_mismatch")] * (swallowed + int(counted))
        return True
    if counted:
        yield _judge(record, payload, http_ok, position, shard)
    return False


def _read_block(record: WarcRecord) -> tuple[bytes | None, int]:
    """The payload (None over the cap) and how many counted records' headers it holds."""
    if record.content_length > MAX_PAYLOAD_BYTES:
        return None, _headers_in_large_payload(record.reader)  # scanned, never held: a lie this big hides whole records
    payload = record.reader.read()
    return payload, len(_EMBEDDED_RECORD.findall(payload)) if b"\nWARC/" in payload else 0


def _judge(record: WarcRecord, payload: bytes | None, http_ok: bool, position: int, shard: InputShard) -> Document | Skipped:
    """A counted record whose length did not lie: its document, or why it has none."""
    if record.record_type == WarcRecordType.revisit:
        return Skipped("warc:revisit_record")  # a pointer to an earlier capture; it has no payload
    if record.record_type not in CONTENT_RECORDS or "Content-Length" not in record.headers:
        return Skipped("warc:truncated_record")  # a header block cut short by the end of the file
    url = _clean_uri(record.headers.get("WARC-Target-URI"))
    if url and url.startswith(METADATA_SCHEMES):
        return Skipped("warc:crawler_metadata")
    if not http_ok:
        return Skipped("warc:invalid_http_headers")
    http = record.http_headers if record.is_http_parsed else None
    if http is not None and http.status_code and not 200 <= http.status_code < 300:
        return Skipped("warc:http_status_not_ok")
    if payload is None:
        return Skipped("warc:payload_too_large")
    if len(payload) < record.content_length:
        return Skipped("warc:truncated_record")
    return _to_document(record, payload, http, url, position, shard)


def _headers_in_large_payload(reader) -> int:
    """Counted records' headers inside a payload over the cap, read a window at a time so memory stays bounded."""
    found, carry = 0, b""
    while chunk := reader.read(SCAN_BYTES):
        window = carry + chunk
        keep = max(len(window) - MAX_HEADER_BYTES, 0)  # a header starting past `keep` is counted with the next window
        found += sum(1 for match in _EMBEDDED_RECORD.finditer(window) if match.start() < keep)
        carry = window[keep:]
    return found + len(_EMBEDDED_RECORD.findall(carry))


def _to_document(
    record: WarcRecord, payload: bytes, http, url: str | None, position: int, shard: InputShard
) -> Document | Skipped:
    record_id = _clean_id(record.headers.get("WARC-Record-ID")) or stable_id(shard.source, position)
    timestamp, meta = _timestamp(record.headers.get("WARC-Date"))
    if record.record_type == WarcRecordType.conversion:
        lang = record.headers.get("WARC-Identified-Content-Language")
        meta |= {"warc_type": "conversion"} | ({"warc_language": lang} if lang else {})
        text = without_nul(payload.decode("utf-8", "replace"))  # WET is UTF-8 by definition
        return Document(id=record_id, text=text, source=shard.source, url=url, timestamp=timestamp, metadata=meta)
    if http is not None:
        payload = undo_http_encodings(payload, http)
        if payload is None:
            return Skipped("warc:undecodable_content_encoding")
        content_type, charset = (record.http_content_type or "").lower(), record.http_charset
    else:
        content_type, charset = parse_content_type(record.headers.get("Content-Type"))
    page = Document(id=record_id, text="", source=shard.source, url=url, timestamp=timestamp, metadata=meta)
    return page_document(payload, content_type, charset, "warc", page)


def _timestamp(value: str | None) -> tuple[str | None, dict]:
    """An ISO 8601 WARC-Date, or None with the raw value kept in metadata (ClueWeb09 has `2008-10-294T...`)."""
    if not value:
        return None, {}
    try:
        datetime.fromisoformat(value.strip())
        return value.strip(), {}
    except ValueError:
        return None, {"warc_date": value}


def _clean_uri(value: str | None) -> str | None:
    """WARC/1.0 drafts (wget) wrap the URI in <>; strip that and whitespace."""
    if not value:
        return None
    return value.strip().removeprefix("<").removesuffix(">").strip() or None


def _clean_id(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().strip("<>").removeprefix("urn:uuid:") or None
