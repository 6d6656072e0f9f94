"""Open plain, gzip or zstd files as one buffered binary stream (iterable by line).

A compressed file cut short must raise, not end quietly: gzip raises EOFError by itself; zstd's
stream reader returns a clean end of file, so `_ZstdFrames` checks that the last frame finished.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO

import zstandard

from .remote import is_url, open_url

CHUNK_BYTES = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def open_binary(path: str, sniff: bool = False) -> BinaryIO:
    """`path` is a local path or a URL (see `remote`). The name says gzip or zstd; with `sniff`, so do
    the first bytes (for formats whose files are often compressed under a plain name)."""
    raw = open_url(path) if is_url(path) else open(path, "rb")
    magic = raw.read(4) if sniff else b""
    raw.seek(0)
    if path.endswith(".gz") or magic.startswith(GZIP_MAGIC):
        raw.close()
        return open_url(path, compression="gzip") if is_url(path) else gzip.open(path, "rb")
    if path.endswith(".zst") or magic == ZSTD_MAGIC:
        return io.BufferedReader(_ZstdFrames(raw), CHUNK_BYTES)
    return raw


class _ZstdFrames(io.RawIOBase):
    """Decompresses one or more concatenated zstd frames; EOFError if the file ends inside a frame."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._raw.read(CHUNK_BYTES)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ends inside a frame (truncated file)")
                return 0
            self._pending = self._decompress(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _decompress(self, chunk: bytes) -> bytes:
        out = []
        while chunk:
            self._in_frame = True
            out.append(self._frame.decompress(chunk))
            chunk = b""
            if self._frame.eof:
                self._in_frame = False
                chunk = self._frame.unused_data
                self._frame = self._decompressor.decompressobj()
        return b"".join(out)

    def close(self) -> None:
        self._raw.close()
        super().close()


# What a broken compressed stream raises, by library; readers count these as `truncated_or_corrupt`.
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, zlib.error, zstandard.ZstdError)
