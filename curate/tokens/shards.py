"""The token-shard format (llm.c / modded-nanogpt `.bin`): writer, reader, validation.

A shard is a header of 256 little-endian int32 followed by the tokens:
  [0] magic, [1] version: 20240520 / 1 with uint16 tokens when the vocabulary fits in 65,536 ids,
      20240801 / 7 with uint32 tokens otherwise;
  [2] the number of tokens;
  [3] the vocabulary size and [4] the end-of-text id (curate's additions; 0 where unknown; the
      llm.c and modded-nanogpt loaders read only [0..2], so they read these shards unchanged).
Each document is its end-of-text token followed by its text's tokens (llm.c's convention: the
end-of-text token starts a document, so a trainer can align sequences to document starts).
The sidecar `<name>.idx` has the same kind of header ([0] INDEX_MAGIC, [1] 1, [2] documents,
[3] tokens of the `.bin`) followed by each document's start offset as little-endian int64.
`manifest.json` beside them names the encoding and lists each split's shards.

A trainer needs only this module and numpy: `load_shard(path)` validates and memory-maps.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..atomic import AtomicFile, write_bytes_atomic, write_json_atomic
from ..errors import CurateError
from ..options import option

HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
MAGIC_UINT16, VERSION_UINT16 = 20240520, 1
MAGIC_UINT32, VERSION_UINT32 = 20240801, 7
INDEX_MAGIC, INDEX_VERSION = 20240522, 1
FORMATS = {MAGIC_UINT16: (VERSION_UINT16, np.dtype("<u2")), MAGIC_UINT32: (VERSION_UINT32, np.dtype("<u4"))}
SPLITS = ("train", "val")
MANIFEST = "manifest.json"
DEFAULT_SHARD_TOKENS = 100_000_000  # llm.c's and modded-nanogpt's shard size
MAX_SHARD_TOKENS = 2**31 - 1  # the header's int32 count


@dataclass(frozen=True, kw_only=True)
class ShardWritingOptions:
    """How token shards are written: options of the `tokens` sink, which the tokenize stage also takes and passes on."""

    shard_tokens: int = option(DEFAULT_SHARD_TOKENS, "tokens per shard file", ge=1, le=MAX_SHARD_TOKENS)
    shuffle_seed: int | None = option(None, "write each shard's documents in this seed's random order; null: input order")

    def shard_writing(self) -> dict[str, Any]:
        """These options' values by name, as the sink takes them."""
        return {f.name: getattr(self, f.name) for f in fields(ShardWritingOptions)}


class ShardError(CurateError):
    """A shard that is not what its header, its size or its manifest says: corrupt, cut or mislabelled."""


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype("<u2") if vocab_size <= 2**16 else np.dtype("<u4")


def make_header(magic: int, version: int, count: int, vocab_size: int = 0, eot_token: int = 0) -> np.ndarray:
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:5] = magic, version, count, vocab_size, eot_token
    return header


@dataclass(frozen=True)
class ShardHeader:
    magic: int
    version: int
    num_tokens: int
    vocab_size: int  # 0 when the writer did not record it (shards from other tools)
    eot_token: int

    @property
    def dtype(self) -> np.dtype:
        return FORMATS[self.magic][1]


def read_header(path: str | Path) -> ShardHeader:
    """The header of a `.bin` shard, after checking magic, version and that the file holds what it says."""
    path = Path(path)
    size = path.stat().st_size if path.is_file() else -1
    if size < 0:
        raise ShardError(f"{path}: shard not found")
    if size < HEADER_BYTES:
        raise ShardError(f"{path}: truncated header ({size} bytes, a header is {HEADER_BYTES})")
    raw = np.fromfile(path, dtype="<i4", count=HEADER_INTS)
    header = ShardHeader(*(int(v) for v in raw[:5]))
    if header.magic not in FORMATS:
        raise ShardError(f"{path}: bad magic {header.magic} (expected {MAGIC_UINT16} or {MAGIC_UINT32})")
    if header.version != FORMATS[header.magic][0]:
        raise ShardError(f"{path}: magic {header.magic} needs version {FORMATS[header.magic][0]}, header says {header.version}")
    expected = HEADER_BYTES + header.num_tokens * header.dtype.itemsize
    if header.num_tokens < 0 or size != expected:
        raise ShardError(
            f"{path}: header says {header.num_tokens} {header.dtype.name} tokens ({expected} bytes), file has {size} bytes"
        )
    if header.vocab_size and token_dtype(header.vocab_size) != header.dtype:
        raise ShardError(f"{path}: vocabulary of {header.vocab_size} needs {token_dtype(header.vocab_size).name} tokens, header says {header.dtype.name}")
    return header


def load_shard(path: str | Path, vocab_size: int | None = None) -> np.memmap:
    """The tokens of a shard, memory-mapped, after validating header, size and ids (< vocabulary size,
    from the header or given)."""
    header = read_header(path)
    tokens = np.memmap(path, dtype=header.dtype, mode="r", offset=HEADER_BYTES, shape=(header.num_tokens,))
    limit = vocab_size or header.vocab_size
    if vocab_size and header.vocab_size and vocab_size != header.vocab_size:
        raise ShardError(f"{path}: written for a vocabulary of {header.vocab_size}, expected {vocab_size}")
    if limit and len(tokens) and int(tokens.max()) >= limit:
        raise ShardError(f"{path}: token id {int(tokens.max())} is not below the vocabulary size {limit}")
    return tokens


def index_path(shard: str | Path) -> Path:
    return Path(shard).with_suffix(".idx")


def load_index(shard: str | Path) -> np.ndarray:
    """Each document's start offset in `shard` (from its `.idx` sidecar), checked against the shard."""
    path = index_path(shard)
    header = read_header(shard)
    size = path.stat().st_size if path.is_file() else -1
    if size < HEADER_BYTES:
        raise ShardError(f"{path}: missing or truncated document index")
    raw = np.fromfile(path, dtype="<i4", count=HEADER_INTS)
    magic, version, docs, tokens = (int(v) for v in raw[:4])
    if (magic, version) != (INDEX_MAGIC, INDEX_VERSION):
        raise ShardError(f"{path}: not a document index (magic {magic}, version {version})")
    if size != HEADER_BYTES + 8 * docs or tokens != header.num_tokens:
        raise ShardError(f"{path}: index of {docs} documents over {tokens} tokens does not match its size or its shard")
    offsets = np.fromfile(path, dtype="<i8", offset=HEADER_BYTES)
    if docs and (offsets[0] != 0 or np.any(np.diff(offsets) <= 0) or offsets[-1] >= tokens):
        raise ShardError(f"{path}: document offsets are not increasing from 0 within the shard")
    return offsets


def documents(shard: str | Path) -> Iterator[np.ndarray]:
    """Each document's text tokens (its leading end-of-text token dropped)."""
    tokens = load_shard(shard)
    bounds = np.append(load_index(shard), len(tokens))
    for start, end in zip(bounds[:-1], bounds[1:]):
        yield tokens[start + 1 : end]


@dataclass(frozen=True)
class ShardInfo:
    path: str  # relative to the manifest's folder
    tokens: int
    docs: int


def validate_shard(path: str | Path, vocab_size: int | None = None, eot_token: int | None = None) -> ShardInfo:
    """Everything `load_shard` checks, plus the sidecar: every document starts with end-of-text, and no
    end-of-text hides inside a document."""
    header = read_header(path)
    for name, expected, found in (("vocabulary size", vocab_size, header.vocab_size), ("end-of-text id", eot_token, header.eot_token)):
        if expected is not None and found and expected != found:
            raise ShardError(f"{path}: header says {name} {found}, the manifest says {expected}")
    if vocab_size is not None and token_dtype(vocab_size) != header.dtype:
        raise ShardError(f"{path}: holds {header.dtype.name} tokens, a vocabulary of {vocab_size} needs {token_dtype(vocab_size).name}")
    tokens = load_shard(path, vocab_size)
    offsets = load_index(path)
    eot = eot_token if eot_token is not None else header.eot_token
    if len(offsets) and np.any(tokens[offsets] != eot):
        raise ShardError(f"{path}: a document in the index does not start with end-of-text ({eot})")
    if int(np.count_nonzero(tokens == eot)) != len(offsets):
        raise ShardError(f"{path}: end-of-text count differs from the index's {len(offsets)} documents")
    return ShardInfo(Path(path).name, header.num_tokens, len(offsets))


class TokenShardWriter:
    """Writes one task's documents as `<split>-<task>-<part>.bin` + `.idx`, a new part every
    `shard_tokens` tokens. Names depend only on the task, so any worker count gives the same files.
    With a `shuffle_seed`, each part's documents are written in a seeded random order."""

    def __init__(
        self,
        directory: str | Path,
        task: str,
        vocab_size: int,
        eot_token: int,
        shard_tokens: int = DEFAULT_SHARD_TOKENS,
        shuffle_seed: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.task = task
        self.vocab_size = vocab_size
        self.eot_token = eot_token
        self.dtype = token_dtype(vocab_size)
        self.shard_tokens = shard_tokens
        self.shuffle_seed = shuffle_seed
        self._parts: dict[str, _Part] = {}
        self._part_numbers: dict[str, int] = {}

    def add(self, split: str, tokens: np.ndarray) -> None:
        part = self._parts.get(split)
        if part is not None and part.num_tokens and part.num_tokens + len(tokens) + 1 > self.shard_tokens:
            self._finish(split)
            part = None
        if part is None:
            number = self._part_numbers.get(split, 0)
            self._part_numbers[split] = number + 1
            name = f"{split}-{self.task}-{number:04d}.bin"
            rng = None if self.shuffle_seed is None else np.random.default_rng([self.shuffle_seed, zlib.crc32(name.encode())])
            part = self._parts[split] = _Part(self.directory / name, self.dtype, rng)
        doc = np.empty(len(tokens) + 1, dtype=self.dtype)
        doc[0] = self.eot_token
        doc[1:] = tokens
        part.add(doc)

    def close(self) -> None:
        for split in list(self._parts):
            self._finish(split)

    def _finish(self, split: str) -> None:
        self._parts.pop(split).close(self.vocab_size, self.eot_token)


class _Part:
    """One shard being written: streamed to `<name>.tmp` (or held until done, when shuffled), then renamed."""

    def __init__(self, path: Path, dtype: np.dtype, rng: np.random.Generator | None) -> None:
        self.path = path
        self.dtype = dtype
        self.rng = rng
        self.buffered: list[np.ndarray] | None = [] if rng is not None else None
        self.lengths: list[int] = []
        self.num_tokens = 0
        self.target = AtomicFile(path)
        self.file = open(self.target.tmp, "wb")
        self.file.write(bytes(HEADER_BYTES))

    def add(self, doc: np.ndarray) -> None:
        if self.buffered is not None:
            self.buffered.append(doc)
        else:
            self.file.write(doc.data)
        self.lengths.append(len(doc))
        self.num_tokens += len(doc)

    def close(self, vocab_size: int, eot_token: int) -> None:
        lengths = np.array(self.lengths, dtype="<i8")
        if self.rng is not None and self.buffered is not None:
            order = self.rng.permutation(len(self.buffered))
            for i in order:
                self.file.write(self.buffered[i].data)
            lengths = lengths[order]
        magic = MAGIC_UINT16 if self.dtype.itemsize == 2 else MAGIC_UINT32
        version = FORMATS[magic][0]
        self.file.seek(0)
        self.file.write(make_header(magic, version, self.num_tokens, vocab_size, eot_token).tobytes())
        self.file.close()
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype("<i8")
        header = make_header(INDEX_MAGIC, INDEX_VERSION, len(offsets), self.num_tokens)
        write_bytes_atomic(index_path(self.path), header.tobytes() + offsets.tobytes())
        self.target.commit()


def write_manifest(directory: str | Path, encoding: dict[str, str], vocab_size: int, eot_token: int) -> dict[str, Any]:
    """`manifest.json` from the shards in `directory` (so a resumed run lists every task's shards)."""
    directory = Path(directory)
    dtype = token_dtype(vocab_size)
    magic = MAGIC_UINT16 if dtype.itemsize == 2 else MAGIC_UINT32
    splits: dict[str, Any] = {}
    for split in SPLITS:
        shards = [read_shard_info(p) for p in sorted(directory.glob(f"{split}-*.bin"))]
        splits[split] = {
            "tokens": sum(s.tokens for s in shards),
            "docs": sum(s.docs for s in shards),
            "shards": [vars(s) for s in shards],
        }
    manifest = {
        **encoding,
        "vocab_size": vocab_size,
        "eot_token": eot_token,
        "dtype": dtype.name,
        "magic": magic,
        "version": FORMATS[magic][0],
        "header_int32": HEADER_INTS,
        "document_layout": "each document is the end-of-text token, then its text's tokens; <shard>.idx holds their start offsets",
        "splits": splits,
    }
    write_json_atomic(directory / MANIFEST, manifest)
    return manifest


def read_shard_info(path: Path) -> ShardInfo:
    """Token and document counts from the headers alone (cheap; `validate_shard` reads the tokens)."""
    header = read_header(path)
    index = np.fromfile(index_path(path), dtype="<i4", count=HEADER_INTS) if index_path(path).is_file() else None
    if index is None or int(index[0]) != INDEX_MAGIC:
        raise ShardError(f"{index_path(path)}: missing or not a document index")
    return ShardInfo(path.name, header.num_tokens, int(index[2]))


def read_manifest(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ShardError(f"{path}: no token manifest (is this a run's tokens/ folder?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ShardError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None


def shard_paths(directory: str | Path, split: str) -> list[Path]:
    """A split's shards in manifest order."""
    directory = Path(directory)
    return [directory / s["path"] for s in read_manifest(directory)["splits"].get(split, {}).get("shards", [])]
