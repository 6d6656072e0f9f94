"""ARC, the Internet Archive's format before WARC (versions 1 and 2), plain or gzipped (`.arc`, `.arc.gz`).

A file is a `filedesc://` record whose block holds the version lines, then records, each one header
line `URL IP-address Archive-date Content-type Archive-length` (version 1; the URL may hold spaces, so
the line is split from the right, as warcio does; version 2 adds `Result-code Checksum Location Offset
Filename` before the length), then Archive-length bytes (for http(s) URLs the HTTP
response, headers included), then a newline. Payloads become documents as WARC responses do (see
`payload`); everything else is a counted `Skipped(reason)`, with the WARC reader's reasons:

- A record is checked against where the next one starts: after its Archive-length bytes come blank
  lines, then a header line or the end of the file. When they do not, and a header line stands
  inside the claimed bytes, the length was too large: the record is `content_length_mismatch` and
  reading resumes at that header, so the records it swallowed are read. Otherwise the bytes up to the
  next header line are junk (or the rest of a body whose length was too small), counted once as
  `resynchronised`; the record itself is judged on its claimed bytes.
- A length past the end of the file: `content_length_mismatch` if its bytes hold a header line
  (reading resumes there), else `truncated_record`. Over the payload cap, the record is
  `payload_too_large` and each header line inside its bytes one `content_length_mismatch`, read a
  window at a time so memory stays bounded.
- In `.arc.gz` (one gzip member per record, as the Internet Archive writes them), a member that does not
  decompress is dropped whole and counted as `corrupt_gzip_member`; reading goes on at the next good
  member, so one bad member costs one record. A file without a single header line is `not_an_arc_file`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Generator, Iterator

from ..document import Document, stable_id
from .base import InputOptions, InputShard, Skipped
from .compressed import DECOMPRESSION_ERRORS, GzipMembers, open_binary
from .payload import MAX_PAYLOAD_BYTES, page_document, parse_content_type, undo_http_encodings

MAX_LINE_BYTES = 64 << 10  # a header line (or an HTTP header block) longer than this is junk
SCAN_BYTES = 1 << 20
HTTP_SCHEMES = ("http:", "https:")
METADATA_SCHEMES = ("dns:", "filedesc:")
# A header line inside a record's bytes: a URL with a scheme, an address, a 12-14 digit date, a type,
# (version 2: result code, checksum, location, offset, file name,) a length.
_EMBEDDED_HEADER = re.compile(
    rb"\n[a-zA-Z][a-zA-Z0-9+.-]*:[^\n]* [^ \n]+ \d{12,14} [^ \n]*(?: [^ \n]+ [^ \n]+ [^ \n]+ \d+ [^ \n]+)? \d+\r?\n"
)
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?", re.ASCII)


@dataclass(frozen=True)
class ArcHeader:
    url: str
    ip: str
    date: str
    content_type: str
    length: int


def parse_header(line: bytes) -> ArcHeader | None:
    """A record header line (version 1, else version 2), or None if `line` is not one."""
    text = line.rstrip(b"\r\n").decode("utf-8", "replace")
    for fields in (5, 10):
        parts = text.rsplit(" ", fields - 1)
        if len(parts) == fields and _is_number(parts[-1]) and _is_number(parts[2]) and 12 <= len(parts[2]) <= 14:
            return _header(parts)
    return None


def _is_number(text: str) -> bool:
    """ASCII digits only, as the format writes numbers: `isdigit` also takes '²' (which `int` refuses)
    and `int` also takes other scripts' digits (which no ARC writer emits)."""
    return text.isascii() and text.isdigit()


def _header(parts: list[str]) -> ArcHeader | None:
    url = parts[0]
    scheme, colon, _ = url.partition(":")
    if not colon or not scheme or not scheme[0].isalpha() or " " in scheme:
        return None
    return ArcHeader(url, parts[1], parts[2], parts[3], int(parts[-1]))


def read_arc(shard: InputShard, options: InputOptions | None = None) -> Iterator[Document | Skipped]:
    """Records in file order; damage is counted and reading resumes after it (see the module docstring)."""
    with open_binary(shard.path, sniff=True, gzip_members=True) as raw:
        stream = _Pushback(raw)
        try:
            records = yield from _records(stream, shard)
        except DECOMPRESSION_ERRORS:  # zstd, or a URL's stream
            yield Skipped("arc:truncated_or_corrupt_file")
            return
        members = getattr(raw, "raw", None)
        if isinstance(members, GzipMembers):  # each damaged stretch of members lost one record, at least
            yield from [Skipped("arc:corrupt_gzip_member")] * members.damaged
    if not records and stream.offset:
        yield Skipped("arc:not_an_arc_file")


def _records(stream: _Pushback, shard: InputShard) -> Generator[Document | Skipped, None, int]:
    """Every record's document or skip; returns how many records had a header line."""
    records = 0
    while True:
        position, line = stream.offset, _next_line(stream)
        if not line:
            return records
        header = parse_header(line)
        if header is None:
            position, header = _resynchronise(stream)
            if header is None:
                return records  # junk to the end: no record lost in it (a header line would have been found)
            yield Skipped("arc:resynchronised")
        records += 1
        if header.length > MAX_PAYLOAD_BYTES:
            swallowed = _headers_in_large_block(stream, header.length)
            yield from [Skipped("arc:content_length_mismatch")] * swallowed
            yield Skipped("arc:payload_too_large")
            continue
        block = stream.read(header.length)
        if header.url.startswith("filedesc:"):
            continue  # the file's own header: version lines, never content (as a WARC's warcinfo)
        framed = _frame_holds(stream, len(block) == header.length)
        seen = block if framed else block + stream.readline(MAX_LINE_BYTES)  # completes a header cut by the claimed end
        embedded = _embedded_record(seen, whole=framed)
        if embedded is not None:
            stream.unread(seen[embedded:])
            yield Skipped("arc:content_length_mismatch")
            continue
        stream.unread(seen[len(block):])
        if not framed and len(block) < header.length:
            yield Skipped("arc:truncated_record")
            return records
        yield _judge(header, block, position, shard)


def _embedded_record(data: bytes, whole: bool) -> int | None:
    """Where a record's header line starts inside `data` (a record's claimed bytes), or None. When the
    claimed length looked right (`whole`), a header line only counts if the bytes after it are exactly a
    record (its length, then a newline or the end): a length that swallows whole records frames well too."""
    for match in _EMBEDDED_HEADER.finditer(data):
        start = match.start() + 1
        if not whole:
            return start
        header = parse_header(data[start : match.end()])
        end = match.end() + header.length if header else -1
        if header and (end == len(data) or data[end : end + 1] == b"\n"):
            return start
    return None


def _frame_holds(stream: _Pushback, complete: bool) -> bool:
    """Whether the next record (or the end of the file) starts where this one's length says, after blank lines."""
    if not complete:
        return False
    blanks, line = b"", b""
    try:
        line = stream.readline(MAX_LINE_BYTES)
        while line and not line.strip():
            blanks += line
            line = stream.readline(MAX_LINE_BYTES)
    except DECOMPRESSION_ERRORS:
        return True  # the damage after a whole record is the next read's to count
    finally:
        stream.unread(blanks + line)
    return not line or parse_header(line) is not None


def _next_line(stream: _Pushback) -> bytes:
    """The next non-blank line ('' at the end of the file)."""
    line = stream.readline(MAX_LINE_BYTES)
    while line and not line.strip():
        line = stream.readline(MAX_LINE_BYTES)
    return line


def _resynchronise(stream: _Pushback) -> tuple[int, ArcHeader | None]:
    """Skip lines up to the next header line; its offset and header, or None at the end of the file."""
    while True:
        position, line = stream.offset, stream.readline(MAX_LINE_BYTES)
        if not line:
            return position, None
        header = parse_header(line)
        if header is not None:
            return position, header


def _headers_in_large_block(stream: _Pushback, length: int) -> int:
    """Header lines inside a block over the cap, read a window at a time and dropped."""
    found, carry, left = 0, b"", length
    while left > 0 and (chunk := stream.read(min(SCAN_BYTES, left))):
        left -= len(chunk)
        window = carry + chunk
        keep = max(len(window) - MAX_LINE_BYTES, 0)  # a header starting past `keep` is counted with the next window
        found += sum(1 for match in _EMBEDDED_HEADER.finditer(window) if match.start() < keep)
        carry = window[keep:]
    return found + len(_EMBEDDED_HEADER.findall(carry))


def _judge(header: ArcHeader, block: bytes, position: int, shard: InputShard) -> Document | Skipped:
    url = header.url
    if url.startswith(METADATA_SCHEMES):
        return Skipped("arc:crawler_metadata")
    content_type, charset = parse_content_type(header.content_type)
    payload: bytes | None = block
    if url.lower().startswith(HTTP_SCHEMES) and block.startswith(b"HTTP/"):
        http = _parse_http(block)
        if http is None:
            return Skipped("arc:invalid_http_headers")
        status, headers, payload = http
        if not 200 <= status < 300:
            return Skipped("arc:http_status_not_ok")
        payload = undo_http_encodings(payload, headers)
        if payload is None:
            return Skipped("arc:undecodable_content_encoding")
        if headers.get("content-type"):
            content_type, charset = parse_content_type(headers.get("content-type"))
    timestamp = _iso_date(header.date)
    meta = {} if timestamp else {"arc_date": header.date}
    page = Document(id=stable_id(shard.source, position), text="", source=shard.source, url=url, timestamp=timestamp, metadata=meta)
    return page_document(payload, content_type, charset, "arc", page)


class _Headers(dict):
    """HTTP headers by lower-case name; `get` takes any case (what `undo_http_encodings` asks)."""

    def get(self, name: str, default=None):  # type: ignore[override]
        return super().get(name.lower(), default)


def _parse_http(block: bytes) -> tuple[int, _Headers, bytes] | None:
    """Status, headers and body of an HTTP response (CRLF or LF-only); None if it is not one."""
    end = re.search(rb"\r?\n\r?\n", block[:MAX_LINE_BYTES])
    if end is None:
        return None
    lines = block[: end.start()].decode("latin-1").splitlines()
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not _is_number(status[1]):
        return None
    headers = _Headers()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return int(status[1]), headers, block[end.end():]


def _iso_date(value: str) -> str | None:
    """The record's date in ISO 8601, or None where it is no real date (`99999999999999`), as for WARC."""
    match = _DATE.fullmatch(value)
    if not match:
        return None
    y, mo, d, h, mi, s = match.groups()
    iso = f"{y}-{mo}-{d}T{h}:{mi}:{s or '00'}"
    try:
        datetime.fromisoformat(iso)
    except ValueError:
        return None
    return iso + "Z"


class _Pushback:
    """A forward-only binary stream that can take bytes back, and knows its offset in the (decompressed) file."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._back = b""
        self.offset = 0

    def readline(self, limit: int) -> bytes:
        newline = self._back.find(b"\n", 0, limit)
        if newline >= 0 or len(self._back) >= limit:
            cut = newline + 1 if newline >= 0 else limit
            line, self._back = self._back[:cut], self._back[cut:]
        else:
            line, self._back = self._back + self._raw.readline(limit - len(self._back)), b""
        self.offset += len(line)
        return line

    def read(self, size: int) -> bytes:
        data, self._back = self._back[:size], self._back[size:]
        if len(data) < size:
            data += self._raw.read(size - len(data))
        self.offset += len(data)
        return data

    def unread(self, data: bytes) -> None:
        self._back = data + self._back
        self.offset -= len(data)
