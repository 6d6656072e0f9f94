"""Bytes of a web page -> text: BOM, then the HTTP charset, then <meta>/<?xml?> in the head, then detection.

Declared labels are mapped the way browsers map them (WHATWG), onto the Python codec that is a
superset of what the label names on the web: `iso-8859-1` pages are read as windows-1252, `gb2312`
as GB18030, `euc-kr` as CP949, `shift_jis` as CP932. A declaration is checked against the bytes:
a page that declares a legacy charset but is valid non-ASCII UTF-8 is UTF-8 (the most common lie),
and a declaration the bytes do not decode under is overruled by detection (uchardet).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5

SNIFF_BYTES = 4096  # the HTML5 prescan reads 1,024; real heads often put <meta> after long scripts
DETECT_BYTES = 64 * 1024

_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:+-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]*?encoding\s*=\s*["']([a-z0-9_.:+-]+)""", re.IGNORECASE)
_ISO_2022_ESCAPE = re.compile(rb"\x1b(?:\$[@AB()*+]|\([BJ])")  # 7-bit CJK encodings look like ASCII but for these
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The codec a label's pages are really written in (WHATWG: the label names a subset of it).
_WEB_SUPERSETS = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
}
_LABEL_ALIASES = {"x-mac-cyrillic": "mac_cyrillic", "x-mac-roman": "mac_roman", "x-sjis": "shift_jis", "windows-31j": "cp932"}
# Python codecs that are no web page's charset: they raise on every byte (undefined), transform text
# (the escapes, punycode, idna) or take no charset at all (charmap); a page that names one is undeclared.
_NOT_CHARSETS = frozenset({"undefined", "punycode", "idna", "unicode-escape", "raw-unicode-escape", "utf-7", "charmap", "mbcs", "oem"})


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec used
    source: str  # what decided it: bom, http, meta, utf8, detected, fallback


def decode_html(payload: bytes, http_charset: str | None = None) -> Decoded:
    """Decode a page; never raises (undecodable bytes become U+FFFD)."""
    for bom, encoding in _BOMS:
        if payload.startswith(bom):
            return Decoded(payload[len(bom):].decode(encoding, "replace"), encoding, "bom")
    wide = _utf16_or_32_without_bom(payload)
    if wide is not None:
        return Decoded(payload.decode(wide, "replace"), wide, "detected")
    utf8 = None if b"\x1b" in payload and _ISO_2022_ESCAPE.search(payload) else _strict(payload, "utf-8")
    declared = None
    for source, label in (("http", http_charset), ("meta", sniff_declared_charset(payload))):
        encoding = codec_for(label, from_meta=source == "meta")
        if encoding is None:
            continue
        if utf8 is not None and (encoding == "utf-8" or not payload.isascii()):
            return Decoded(utf8, "utf-8", source if encoding == "utf-8" else "utf8")
        text = _strict(payload, encoding)
        if text is not None:
            return Decoded(text, encoding, source)
        declared = declared or encoding  # the bytes contradict it: try the next declaration, then detection
    if utf8 is not None:
        return Decoded(utf8, "utf-8", "utf8")
    mostly_utf8 = _mostly_utf8(payload)
    if mostly_utf8 is not None:
        return Decoded(mostly_utf8, "utf-8", "utf8")
    detected = codec_for(detect_encoding(payload, max_len=DETECT_BYTES, html5_compatible=False))
    if detected is not None:
        text = _strict(payload, detected)
        if text is not None:
            return Decoded(text, detected, "detected")
    encoding = declared or detected or "utf-8"
    return Decoded(payload.decode(encoding, "replace"), encoding, "fallback")


def sniff_declared_charset(payload: bytes) -> str | None:
    """The charset an HTML <meta> or an XML declaration names in the first bytes, if any."""
    head = payload[:SNIFF_BYTES]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def codec_for(label: str | None, from_meta: bool = False) -> str | None:
    """The Python codec to decode pages labelled `label` with, or None for an unknown label."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    name = map_encoding_to_html5(label, fallback_utf8=False) or _LABEL_ALIASES.get(label, label)
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return None
    name = codec.name
    if name in _NOT_CHARSETS or not getattr(codec, "_is_text_encoding", True):  # base64, rot13...: not bytes -> text
        return None
    if from_meta and name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # an ASCII-readable <meta> cannot be in UTF-16; browsers read it as UTF-8
    return _WEB_SUPERSETS.get(name, name)


def _strict(payload: bytes, encoding: str) -> str | None:
    try:
        return payload.decode(encoding)
    except (UnicodeError, LookupError):  # UnicodeError: a codec may raise it bare, not UnicodeDecodeError
        return None


def _mostly_utf8(payload: bytes) -> str | None:
    """UTF-8 with a few stray bytes (a common mix-up) stays UTF-8: detection would pick a legacy
    codec that decodes every byte and garble all the valid multi-byte characters. Legacy text
    forms valid UTF-8 sequences only by chance, far less often than invalid ones."""
    text = payload.decode("utf-8", "replace")
    invalid = text.count("\ufffd")
    valid_multibyte = len(text) - len(text.encode("ascii", "ignore")) - invalid
    return text if 0 < invalid and 20 * invalid <= valid_multibyte else None


def _utf16_or_32_without_bom(payload: bytes) -> str | None:
    """Mostly-ASCII text in UTF-16/32 has NUL bytes in fixed lanes and none in the others."""
    sample = payload[: min(len(payload), 4096) // 4 * 4]
    if len(sample) < 16 or sample.count(0) < len(sample) // 4:
        return None
    lane = len(sample) // 4
    nuls = [sample[i::4].count(0) for i in range(4)]
    if nuls[1] > 0.8 * lane and nuls[2] > 0.8 * lane:
        if nuls[0] < 0.1 * lane:
            return "utf-32-le"
        if nuls[3] < 0.1 * lane:
            return "utf-32-be"
    even, odd = nuls[0] + nuls[2], nuls[1] + nuls[3]
    if odd > 0.8 * 2 * lane and even < 0.1 * 2 * lane:
        return "utf-16-le"
    if even > 0.8 * 2 * lane and odd < 0.1 * 2 * lane:
        return "utf-16-be"
    return None
