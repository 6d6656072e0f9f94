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
GZIP_MEMBER_START = GZIP_MAGIC + b"\x08"  # magic, then deflate: where a gzip member starts


def open_binary(path: str, sniff: bool = False, gzip_members: bool = False) -> BinaryIO:
    """`path` is a local path or a URL (see `remote`). The name says gzip or zstd; with `sniff`, so do
    the first bytes (for formats whose files are often compressed under a plain name). With
    `gzip_members`, a damaged gzip member is skipped rather than ending the file (see `GzipMembers`)."""
    raw = open_url(path) if is_url(path) else open(path, "rb")
    magic = raw.read(4) if sniff else b""
    raw.seek(0)
    if gzip_members and (path.endswith(".gz") or magic.startswith(GZIP_MAGIC)):
        return io.BufferedReader(GzipMembers(raw), CHUNK_BYTES)
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


class GzipMembers(io.RawIOBase):
    """Concatenated gzip members (crawlers write one per record). A member that does not decompress to its
    end is dropped whole (up to MEMBER_BYTES of its output; a longer one has streamed on already), and
    reading goes on at the next gzip header that starts a good member. Each damaged stretch (bad members
    and the bytes between them) counts once in `damaged`: one bad member costs one record, counted."""

    MEMBER_BYTES = 16 << 20

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._input = b""
        self._member = None  # the zlib decompressor of the member being read
        self._held: list[bytes] = []  # its output, until it ends or grows past MEMBER_BYTES
        self._held_bytes = 0
        self._pending = b""
        self._in_damage = False
        self.damaged = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            if not self._step():
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _step(self) -> bool:
        """Decompress what one read brings; False at the end of the file."""
        more = b"" if self._input else self._raw.read(CHUNK_BYTES)
        self._input += more
        if not self._input:
            if self._member is not None:  # the file ends inside a member
                self._damage()
            return False
        if self._member is None:
            start = self._input.find(GZIP_MEMBER_START)
            if start != 0:
                self._damage()  # bytes that start no member
                if start < 0:
                    tail = self._input[-2:]  # a header may straddle the next read
                    more = self._raw.read(CHUNK_BYTES)
                    self._input = tail + more if more else b""
                    return bool(more)
                self._input = self._input[start:]
            self._member = zlib.decompressobj(31)
        try:
            out = self._member.decompress(self._input)
        except zlib.error:
            self._input = self._input[1:]  # look for the next member after this one's start
            self._damage()
            return True
        self._input = b""
        if self._member.eof:
            self._input, self._member, self._in_damage = self._member.unused_data, None, False
            self._release(out)
        elif self._held_bytes + len(out) > self.MEMBER_BYTES:
            self._release(out)
        else:
            self._held.append(out)
            self._held_bytes += len(out)
        return True

    def _release(self, out: bytes) -> None:
        self._pending = b"".join(self._held) + out
        self._held, self._held_bytes = [], 0

    def _damage(self) -> None:
        if not self._in_damage:
            self.damaged += 1
            self._in_damage = True
        self._member = None
        self._held, self._held_bytes = [], 0

    def close(self) -> None:
        self._raw.close()
        super().close()


# What a broken compressed stream raises, by library; readers count these as `truncated_or_corrupt`.
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, zlib.error, zstandard.ZstdError)
