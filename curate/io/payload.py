"""An HTTP payload (WARC or ARC) -> a document: undo transfer and content encodings, tell HTML from text
from media by the bytes as well as the declared type, and decode it as a browser would."""

from __future__ import annotations

import re
import zlib

import brotli
import zstandard

from ..document import Document
from .base import Skipped
from .charset import decode_html
from .compressed import GZIP_MAGIC, ZSTD_MAGIC

MAX_PAYLOAD_BYTES = 8 * 2**20  # larger bodies are media or junk; skipped unread, so memory stays bounded
HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("application/xml", "text/xml")  # HTML only when the bytes say so
TEXT_TYPES = ("text/plain",)
UNTYPED = ("", "application/octet-stream", "unknown/unknown", "application/unknown")
ZSTD_STEP = 64  # compressed bytes per zstd call: at most ~2 MiB of output (RLE blocks), measured
BROTLI_STEP = 1 << 16  # output per brotli call (it overshoots a limit by up to the limit again)
ZLIB_FIRST_BYTE = b"\x78"  # deflate with a 32 KiB window, as servers send it
# First bytes of the media, fonts, archives and executables that servers label text/html or text/plain.
BINARY_MAGIC = (
    b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"OggS", b"ID3", b"fLaC",  # documents, images, audio
    b"\x1a\x45\xdf\xa3", b"\x00\x00\x01\x00", b"II*\x00", b"MM\x00*",  # WebM/Matroska, ICO, TIFF
    b"wOFF", b"wOF2", b"\x00\x01\x00\x00",  # fonts: WOFF, WOFF2, TrueType (OpenType "OTTO" could start text; its NULs tell)
    b"PK\x03\x04", GZIP_MAGIC, ZSTD_MAGIC, b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07",  # archives
    *(b"BZh%d1AY&SY" % level for level in range(1, 10)),  # bzip2
    b"MZ\x90\x00", b"\x7fELF", b"\x00asm", b"\xca\xfe\xba\xbe",  # Windows and ELF executables, WebAssembly, Java class
)
ISO_BMFF_BRAND = b"ftyp"  # at offset 4: MP4, MOV, 3GP, HEIC, AVIF
SNIFF_CHARS = 4096  # decoded characters the binary check reads
MIN_SNIFF_CHARS = 256  # below this a few control characters say little: the check needs a sample
MAX_CONTROL_SHARE = 0.05  # real pages: at most 0.1%; compressed or random bytes: 11%, executables 30% and more
# C0 controls that text does not hold; tab, newlines, form feed, ESC (ISO-2022, ANSI colours) and
# backspace (man pages' `X\bX` bold) it does.
_CONTROL = re.compile(r"[\x00-\x07\x0b\x0e-\x1a\x1c-\x1f\x7f]")


def page_document(payload: bytes, content_type: str, charset: str | None, reader: str, doc: Document) -> Document | Skipped:
    """`doc` (id, url, source, timestamp, metadata) filled with the decoded payload: HTML into `html` for
    `extract`, plain text into `text`; or why the payload is no document."""
    if not payload or payload.isspace():
        return Skipped(f"{reader}:empty_payload")
    if len(payload) > MAX_PAYLOAD_BYTES:  # only a decompressed body can be: readers skip larger records unread
        return Skipped(f"{reader}:payload_too_large")
    kind = payload_kind(content_type, payload)
    if kind is None:
        return Skipped(f"{reader}:non_html_payload")
    decoded = decode_html(payload, charset)
    if _looks_binary(decoded.text):
        return Skipped(f"{reader}:non_html_payload")
    doc.metadata |= {"content_type": content_type or "text/html", "charset": decoded.encoding}
    if kind == "text":
        doc.text = without_nul(decoded.text)
    else:
        doc.html = without_nul(decoded.text)
    return doc


def payload_kind(content_type: str, payload: bytes) -> str | None:
    """'html', 'text', or None for a payload we do not turn into a document (media, PDF, scripts)."""
    head = payload[:16].lstrip()
    if head.startswith(BINARY_MAGIC) or payload[4:8] == ISO_BMFF_BRAND:
        return None  # mislabelled binaries are common: the bytes win over the header
    if content_type.startswith(HTML_TYPES):
        return "html"
    if content_type.startswith(TEXT_TYPES):
        return "html" if _looks_like_html(payload) else "text"
    if (content_type in UNTYPED or content_type.startswith(XML_TYPES)) and _looks_like_html(payload):
        return "html"
    return None


def undo_http_encodings(payload: bytes, http) -> bytes | None:
    """Dechunk and decompress as the headers say, when the bytes still carry that encoding; None when
    the body does not decode to its end (corrupt or cut short: keeping the part before the damage
    would pass off half a page as a whole one).

    Decompressors stop just past MAX_PAYLOAD_BYTES (by at most one step), so a decompression bomb
    costs no more than a large page; a result over the cap is counted by `page_document` as
    `payload_too_large`, as an uncompressed body that size is by the readers.
    """
    if "chunked" in (http.get("Transfer-Encoding") or "").lower():
        payload = dechunk(payload)
    encoding = (http.get("Content-Encoding") or "").strip().lower()
    try:
        if encoding in ("gzip", "x-gzip", "deflate") and payload[:1] in (GZIP_MAGIC[:1], ZLIB_FIRST_BYTE):
            return _inflate(payload, 47)  # 47: gzip or zlib header
        if encoding == "deflate" and not _looks_like_text(payload):
            return _inflate(payload, -15)  # raw deflate, as some servers send
        if encoding == "zstd" and payload.startswith(ZSTD_MAGIC):
            return _unzstd(payload)
        if encoding == "br" and not _looks_like_text(payload):
            return _unbrotli(payload)
    except (zlib.error, zstandard.ZstdError, brotli.error):
        return None
    return payload


def _inflate(payload: bytes, wbits: int) -> bytes | None:
    """Deflate in a gzip or zlib wrapper (or raw): every gzip member, as gzip readers read concatenated
    members; bytes after the last stream that start no member (padding, junk) are ignored, as browsers do."""
    parts: list[bytes] = []
    size = 0
    rest = payload
    while True:
        stream = zlib.decompressobj(wbits)
        part = stream.decompress(rest, MAX_PAYLOAD_BYTES + 1 - size)
        parts.append(part)
        size += len(part)
        if size > MAX_PAYLOAD_BYTES:
            break
        if not stream.eof:
            return None  # all input used and the stream not finished: cut short
        rest = stream.unused_data
        if wbits != 47 or not rest.startswith(GZIP_MAGIC):
            break
    return b"".join(parts)


def _unzstd(payload: bytes) -> bytes | None:
    """Every zstd frame, fed ZSTD_STEP bytes at a time: zstd has no output limit, and one input byte
    can stand for kilobytes of output (RLE blocks), so small steps are what bounds memory."""
    parts: list[bytes] = []
    size = 0
    rest = payload
    while rest.startswith(ZSTD_MAGIC):
        frame = zstandard.ZstdDecompressor().decompressobj()
        pos = 0
        while not frame.eof and pos < len(rest):
            part = frame.decompress(rest[pos : pos + ZSTD_STEP])
            pos += ZSTD_STEP
            parts.append(part)
            size += len(part)
            if size > MAX_PAYLOAD_BYTES:
                return b"".join(parts)
        if not frame.eof:
            return None  # cut short
        rest = frame.unused_data + rest[pos:]
    return b"".join(parts)


def _unbrotli(payload: bytes) -> bytes | None:
    """Brotli, BROTLI_STEP of output a call: its `output_buffer_limit` only stops the buffer growing
    once reached (an 8 MiB limit gave 16 MiB), so a small step is what bounds memory."""
    stream = brotli.Decompressor()
    parts = [stream.process(payload, output_buffer_limit=BROTLI_STEP)]
    size = len(parts[0])
    while parts[-1] and not stream.is_finished() and size <= MAX_PAYLOAD_BYTES:
        parts.append(stream.process(b"", output_buffer_limit=BROTLI_STEP))
        size += len(parts[-1])
    if size <= MAX_PAYLOAD_BYTES and not stream.is_finished():
        return None  # cut short
    return b"".join(parts)


def dechunk(payload: bytes) -> bytes:
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


def _looks_binary(text: str) -> bool:
    """A binary without a known signature, read as text: many control characters near the start.

    Checked on the decoded text, so UTF-16 and UTF-32 pages (a NUL in every other or every fourth
    byte) count only their real characters. NULs that pad a page at the end are no sign of a binary.
    """
    head = (text.rstrip("\x00") if text.endswith("\x00") else text)[:SNIFF_CHARS]
    return len(head) >= MIN_SNIFF_CHARS and len(_CONTROL.findall(head)) > MAX_CONTROL_SHARE * len(head)


def _looks_like_text(payload: bytes) -> bool:
    head = payload[:512]
    return bool(head) and sum(32 <= b < 127 or b in (9, 10, 13) for b in head) > 0.95 * len(head)


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    if not value:
        return "", None
    mime, _, params = value.partition(";")
    match = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
    return mime.strip().lower(), match.group(1) if match else None


def without_nul(text: str) -> str:
    """Decoded bytes hold no lone surrogates (decoders replace them), but may hold NULs, which Arrow and C libraries mishandle."""
    return text.replace("\x00", "") if "\x00" in text else text
