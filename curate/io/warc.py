"""WARC and WET (Common Crawl and other crawlers) with fastwarc: `response`, `resource` and `conversion` records.

HTML payloads are decoded to text markup (see `charset.decode_html`) into `Document.html`; the
`extract` stage turns them into text. WET `conversion` records and `text/plain` payloads are
already text, decoded the same way (BOM, declared charset, UTF-8, detection); an empty one is `empty_payload`. Everything else is a counted `Skipped(reason)`, never an exception: non-HTML
payloads, error statuses, crawler metadata, records whose Content-Length lies or that a truncated
file cut short, and the rest of a file fastwarc can no longer parse.

Damage, and how it is counted (nothing is lost silently):
- A Content-Length too large, on a record of any type, runs over the records after it. The record
  (unless it is a request or other record never counted) and each counted record whose header lies
  in its claimed payload count as `content_length_mismatch`: exact, one per record. Payloads over the
  cap are scanned a window at a time, never held. fastwarc resumes where the claimed payload ends.
- Gzip (one member per record): reading resumes at the next intact member after a damaged one,
  counted once as `corrupt_gzip_member`. Members fastwarc decompresses but skips (junk, a record
  whose `WARC/` version it rejects, the rest of a member after a Content-Length too small) count as
  `resynchronised`, one per such member, at least one per stretch (see `_Members`). Checking costs
  two small reads per member and a scan of its compressed bytes for a gzip magic number.
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

import gzip
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
from .charset import decode_html
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
            records = yield from _read_compressed(stream, shard, head.startswith(GZIP_MAGIC), size)
        else:
            records = yield from _read_plain(stream, shard, size)
    if records == 0 and size:
        yield Skipped("warc:not_a_warc_file")


def _read_compressed(stream, shard: InputShard, gzipped: bool, size: int) -> Generator[Document | Skipped, None, int]:
    """In a gzip file (one member per record, as Common Crawl writes them), reading resumes at the
    next intact member after damage, so one bad member costs one record. What fastwarc skips between
    records is counted by `_Members`."""
    offset, records = 0, 0
    while True:
        stream.seek(offset)
        members = _Members(stream, offset, size) if gzipped else None
        last_record, failed, overran = None, False, False
        try:
            for record in ArchiveIterator(stream, parse_http=False, quirks_mode=True, auto_decode="none"):
                last_record = record.stream_pos  # an absolute offset, also after a seek
                if members is not None:
                    yield from [Skipped("warc:resynchronised")] * members.add(record)
                records += 1
                overran = yield from _read_record(record, last_record, shard)
                if overran and members is not None:
                    members.restart()
        except (OSError, EOFError, ValueError, zlib.error):
            failed = True
        if overran:
            break  # its length ran to the end of the file: what it swallowed is counted, nothing is left to resume
        if members is not None and not failed:
            yield from [Skipped("warc:resynchronised")] * members.end()
            if members.resume is not None:
                offset = members.resume
                continue
        resume = _next_warc_member(stream, (offset if last_record is None else last_record) + 1, size) if gzipped and failed else None
        if resume is None:
            if failed:
                yield Skipped("warc:truncated_or_corrupt_file")
            break
        yield Skipped("warc:corrupt_gzip_member")  # bytes fastwarc could not read, before an intact record
        offset = resume
    return records


class _Members:
    """Checks that the gzip members hold just the records fastwarc read and blank lines: fastwarc skips
    anything else (a member of junk, a record with a version it rejects, the rest of a member after a
    Content-Length too small) up to the next `WARC/` line. Each such stretch counts as
    `resynchronised`, once per member in it that fastwarc read no record from, at least once.

    A record's `stream_pos` is its member's offset when it starts the member; a record further inside
    a member gets an offset up to that member's end. So a new offset closes the previous one's
    stretch only once the records at it are all known, and the records at an offset may belong before
    it. The check is cheap when a stretch is one member laid out as `_record_size` expects: no gzip
    magic number inside it, and the member's trailer gives the records' size. Else the stretch is
    decompressed and walked (`_walk`)."""

    def __init__(self, stream, start: int, size: int) -> None:
        self.stream, self.size = stream, size
        self.start: int | None = start  # where the members not yet checked begin; None: at the next record
        self.pending: list[tuple[int, bytes, int, int]] = []  # records read from them: offset, version line, size, length
        self.candidate: int | None = None  # a later record's offset: maybe where a member starts
        self.read_any = False
        self.resume: int | None = None  # after damage at the end: an intact WARC member fastwarc stopped before

    def restart(self) -> None:
        """After a Content-Length that ran over other records (counted), fastwarc resumes inside a member:
        checking starts again at the next record."""
        self.start, self.pending, self.candidate = None, [], None

    def add(self, record: WarcRecord) -> int:
        """Members found damaged before this record, which is then added."""
        position, damaged = record.stream_pos, 0
        if self.start is None:
            self.start = position
        if self.candidate is not None and position > self.candidate:
            damaged = self._close(self.candidate, final=False)
        if position > self.start:
            self.candidate = position
        self.pending.append((position, *_record_size(record)))
        self.read_any = True
        return damaged

    def end(self) -> int:
        """Members found damaged up to the end of the file (none in a file without records: not_a_warc_file)."""
        damaged = 0
        if self.candidate is not None and self.candidate < self.size:
            damaged = self._close(self.candidate, final=False)
        if self.read_any and self.start is not None and self.size > self.start:
            damaged += self._close(self.size, final=True)
        return damaged

    def _close(self, stop: int, final: bool) -> int:
        """Checks [start, stop) against the records that must lie in it (those at smaller offsets; at the end,
        all) and may (those at `stop`); returns how many damaged members it holds."""
        must = len(self.pending) if final else sum(1 for record in self.pending if record[0] < stop)
        edge = _read_at(self.stream, max(stop - 4, self.start), 7)  # the trailer of the member before `stop`, then its magic
        if not final and edge[-3:] != GZIP_MEMBER_START:
            return 0  # inside a member: not a boundary, the records wait for a later one
        fit = self._fits(stop, must, int.from_bytes(edge[:4], "little"))
        damaged = 0
        if fit is None:
            fit = _walk(self.stream, self.start, stop, self.pending, final)
            if fit is None:
                return 0  # the stretch ends inside a record, so `stop` is no boundary after all
            if fit < must:  # junk: count it and carry on after it (at the end, from the next intact WARC member in it)
                self.resume = _next_warc_member(self.stream, self.start + 1, stop) if final else None
                counted = _count_members(self.stream, self.start, self.resume or stop) - (1 if must else 0)
                damaged, fit = max(1, counted), must
        self.start, self.pending, self.candidate = stop, self.pending[fit:], None
        return damaged

    def _fits(self, stop: int, must: int, trailer: int) -> int | None:
        """How many pending records [start, stop) holds, if it is one member whose trailer (size mod 2**32) says exactly that."""
        if stop - self.start <= 4:
            return None
        size = sum(record[2] for record in self.pending[:must])
        for fit in range(must, len(self.pending) + 1):
            if size & 0xFFFFFFFF == trailer:
                return None if any(_member_starts(self.stream, self.start + 1, stop)) else fit
            if fit < len(self.pending):
                size += self.pending[fit][2]
        return None


def _record_size(record: WarcRecord) -> tuple[bytes, int, int]:
    """The record's version line, its size as writers lay it out (`Name: value` CRLF header lines, a
    blank line, the block, CRLF CRLF) and its Content-Length."""
    headers = record.headers
    version = headers.status_line_bytes
    header = len(version) + 4 + sum(len(name) + len(value) + 4 for name, value in headers.items_bytes())
    return version, header + record.content_length + 4, record.content_length


def _walk(stream, start: int, stop: int, records: list[tuple[int, bytes, int, int]], final: bool) -> int | None:
    """How many of `records` the gzip members in [start, stop) hold, with only blank lines around them;
    -1 for anything else (junk). None when the bytes end inside a record and more follow (`stop` is no
    boundary); at the end of the file, bytes that end too soon are no damage: the record they cut short
    is counted as truncated."""
    members = gzip.GzipFile(fileobj=io.BufferedReader(_Range(stream, start, stop), SCAN_BYTES))
    cut = len(records) if final else None
    try:
        for walked, (_, version, _, length) in enumerate(records):
            line = members.readline(MAX_HEADER_BYTES)
            while line.isspace():
                line = members.readline(MAX_HEADER_BYTES)
            if not line:
                return walked
            if line.strip() != version.strip():  # fastwarc's version line has its trailing spaces stripped
                return -1
            header_end = _skip_header(members)
            if header_end is None:
                return -1
            if not header_end or _skip(members, length) < length:
                return cut
        return len(records) if all(chunk.isspace() for chunk in iter(lambda: members.read(SCAN_BYTES), b"")) else -1
    except EOFError:  # the last member is cut short
        return cut
    except (OSError, zlib.error):  # not gzip: junk between members
        return -1


def _skip_header(members) -> bool | None:
    """Reads a header's lines through its blank line: True, False when the bytes end first, None past fastwarc's limit."""
    read = 0
    while read <= MAX_HEADER_BYTES:
        line = members.readline(MAX_HEADER_BYTES)
        if line in (b"\r\n", b"\n"):
            return True
        if not line:
            return False
        read += len(line)
    return None


def _skip(members, length: int) -> int:
    """Reads past up to `length` bytes, a window at a time; how many there were."""
    left = length
    while left > 0 and (chunk := members.read(min(left, SCAN_BYTES))):
        left -= len(chunk)
    return length - left


def _count_members(stream, start: int, stop: int) -> int:
    """Gzip members in [start, stop), one after another; bytes after the last whole one count as one more."""
    count, offset = 0, start
    while offset < stop:
        member = zlib.decompressobj(31)
        try:
            while not member.eof and offset < stop:
                chunk = _read_at(stream, offset, min(SCAN_BYTES, stop - offset))
                member.decompress(chunk, SCAN_BYTES)
                while member.unconsumed_tail and not member.eof:
                    member.decompress(member.unconsumed_tail, SCAN_BYTES)
                offset += len(chunk) - len(member.unused_data)
        except zlib.error:
            return count + 1
        count += 1
    return count


def _member_starts(stream, start: int, stop: int) -> Iterator[int]:
    """Offsets in [start, stop) where a gzip member may start (its magic number; compressed data holds it by chance too)."""
    while start < stop:
        end = min(start + SCAN_BYTES, stop)
        window = _read_at(stream, start, min(end + 2, stop) - start)  # 2 more bytes: a magic number across the edge
        found = window.find(GZIP_MEMBER_START)
        while 0 <= found < end - start:
            yield start + found
            found = window.find(GZIP_MEMBER_START, found + 1)
        start = end


class _Range(io.RawIOBase):
    """Bytes [start, stop) of a stream, read without moving it (fastwarc reads on from where it is)."""

    def __init__(self, stream, start: int, stop: int) -> None:
        self.stream, self.position, self.stop = stream, start, stop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = _read_at(self.stream, self.position, min(len(buffer), self.stop - self.position))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


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


def _next_warc_member(stream, start: int, stop: int) -> int | None:
    """Offset of the first gzip member in [start, stop) that decompresses whole and holds a WARC record."""
    return next((offset for offset in _member_starts(stream, start, stop) if _is_warc_member(stream, offset)), None)


def _is_warc_member(stream, offset: int) -> bool:
    member = zlib.decompressobj(31)
    head = b""
    try:
        while not member.eof:
            chunk = _read_at(stream, offset, SCAN_BYTES)
            if not chunk:
                return False
            offset += len(chunk)
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
        if not payload or payload.isspace():
            return Skipped("warc:empty_payload")
        # WET is UTF-8 by definition, but other converters write a BOM, UTF-16 or a legacy charset: decoded as a page is
        text = without_nul(decode_html(payload, parse_content_type(record.headers.get("Content-Type"))[1]).text)
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
