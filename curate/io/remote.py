"""Inputs and outputs named by URL (s3://, gs://, hf://, ...), through fsspec.

Local paths never come here: they keep the plain `os.walk` / `open` fast path. Inputs are listed
and read in place. An output URL receives a finished run: the run works in a local (on a cluster:
shared) folder, then `publish` uploads what a run writes for its users (data/, removed/, tokens/,
report.html) and `stats.json` last, so a complete `stats.json` means a complete output.
Credentials and endpoints come from each filesystem's own settings (for S3: the usual AWS
variables, `AWS_ENDPOINT_URL` for an S3-compatible server), on every node that reads.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import CurateError, one_line

READ_BYTES = 1 << 20
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class RemoteFile:
    url: str
    relative: str  # the path under the listed prefix: what ids are derived from, as for local files
    size: int


def is_url(path: str) -> bool:
    return bool(_URL.match(path))


def list_files(url: str) -> list[RemoteFile]:
    """Every file at or under `url`, by name; hidden (`.`) and bookkeeping (`_`) names left out."""
    fs, root = _filesystem(url)
    try:
        if fs.isfile(root):
            return [RemoteFile(url, root.rsplit("/", 1)[-1], int(fs.size(root)))]
        found: dict[str, dict[str, Any]] = fs.find(root, detail=True)
    except Exception as exc:  # each filesystem raises its own errors (httpx, google-auth, botocore, ...)
        raise CurateError(f"cannot list input {url}: {one_line(exc)}") from None
    prefix = root.rstrip("/") + "/"
    files = []
    for path, info in sorted(found.items()):
        relative = path[len(prefix):] if path.startswith(prefix) else path.rsplit("/", 1)[-1]
        if info.get("type") == "directory" or any(part.startswith((".", "_")) for part in relative.split("/")):
            continue
        files.append(RemoteFile(fs.unstrip_protocol(path), relative, int(info.get("size") or 0)))
    if not files:
        raise CurateError(f"input not found: {url}")
    return files


def open_url(url: str, compression: str | None = None) -> BinaryIO:
    """A seekable, line-iterable binary file; closing it closes whatever fsspec opened underneath."""
    import fsspec

    try:
        opened = fsspec.open(url, "rb").open()
    except Exception as exc:  # each filesystem raises its own errors
        raise CurateError(f"cannot read {url}: {one_line(exc)}") from None
    # fsspec's own files lack `readline(limit)`, and gcsfs's default cache answers each small read (a
    # decompressor makes hundreds) with a request: a standard buffer under everything reads READ_BYTES at a time.
    buffered = io.BufferedReader(opened, READ_BYTES)
    if not compression:
        return buffered
    decompressed = fsspec.compression.compr[compression](buffered, mode="rb")
    close_decompressed = decompressed.close

    def close() -> None:  # a decompressor leaves the file it was given open
        close_decompressed()
        buffered.close()

    decompressed.close = close
    return decompressed


def holds_files(url: str) -> bool:
    fs, root = _filesystem(url, "write")
    try:
        return bool(fs.exists(root) and fs.find(root))
    except Exception as exc:  # each filesystem raises its own errors
        raise CurateError(f"cannot check the output {url}: {one_line(exc)}") from None


def publish(folder: Path, url: str, replace: bool) -> None:
    """Upload a finished run's user-facing files (never its `.curate/` work) to `url`, `stats.json`
    last; remote files the run did not write are removed first, or everything there if `replace`."""
    fs, root = _filesystem(url, "write")
    root = root.rstrip("/")
    files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.relative_to(folder).parts[0].startswith(".") and not p.name.endswith(".tmp")
    )
    files.sort(key=lambda name: name == "stats.json")
    try:
        if fs.exists(root):
            stale = [path for path in fs.find(root) if replace or path[len(root) + 1 :] not in files]
            if stale:
                fs.rm(stale)
        fs.makedirs(root, exist_ok=True)
        for parent in sorted({name.rpartition("/")[0] for name in files} - {""}):  # a file:// or sftp:// output needs them
            fs.makedirs(f"{root}/{parent}", exist_ok=True)
        for name in files:
            fs.put_file(str(folder / name), f"{root}/{name}")
    except Exception as exc:  # each filesystem raises its own errors
        raise CurateError(f"cannot write the output to {url}: {one_line(exc)}") from None


def _filesystem(url: str, action: str = "read") -> tuple[Any, str]:
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # no implementation installed for the protocol (gcsfs, ...)
        raise CurateError(f"cannot {action} {url}: {exc}") from None
