"""Open plain, gzip or zstd files as one binary stream."""

from __future__ import annotations

import gzip
from typing import BinaryIO

import zstandard


def open_binary(path: str) -> BinaryIO:
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".zst"):
        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True, closefd=True)
    return open(path, "rb")


# What a broken compressed stream raises, by library; readers count these as `truncated_or_corrupt`.
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, zstandard.ZstdError)
