"""What a run was made with, recorded in stats.json when it ends: library versions and the config file's text."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

# The libraries whose versions change what a run keeps or how fast it goes.
KEY_LIBRARIES = ("pyarrow", "numpy", "resiliparse", "trafilatura", "fastwarc", "ftfy", "fasttext-modern",
                 "lingua-language-detector", "tiktoken", "numba", "torch", "ray")


def versions() -> dict[str, str]:
    """curate, python and the installed key libraries (absent ones are left out)."""
    found = {"curate": _version("curate") or "?", "python": sys.version.split()[0]}
    for name in KEY_LIBRARIES:
        version = _version(name)
        if version:
            found[name] = version
    return found


def source_text(path: str | None) -> str | None:
    """The config file as the user wrote it (comments and order kept), when it is still readable."""
    try:
        return Path(path).read_text(encoding="utf-8") if path else None
    except (OSError, UnicodeDecodeError):
        return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
