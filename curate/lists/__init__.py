"""Default lists shipped with curate (one entry a line, `#` starts a comment), written for this project.

`default_list(name)` is the path of one of them; stages read lists in `setup`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def default_list(name: str) -> Path:
    return Path(str(files(__name__) / name))


def read_list(path: str | Path) -> list[str]:
    """Entries of a list file, lowercased, without comments and blank lines."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            entries.append(entry)
    return entries
