"""`curate shards inspect`: validate every shard against its header, its sidecar and the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CurateError
from .shards import MANIFEST, ShardError, documents, read_manifest, validate_shard


@dataclass
class Inspection:
    manifest: dict
    splits: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # split -> (shards, tokens, docs)
    samples: list[str] = field(default_factory=list)
    decode_problem: str | None = None


def tokens_folder(path: str | Path) -> Path:
    """A run folder or its tokens/ folder."""
    path = Path(path)
    if (path / "tokens" / MANIFEST).is_file():
        return path / "tokens"
    if not path.is_dir():
        raise ShardError(f"{path}: not a folder")
    return path


def inspect_tokens(path: str | Path, samples: int = 3, sample_chars: int = 200) -> Inspection:
    """Validate all shards (raises ShardError on the first bad one) and decode a few documents."""
    directory = tokens_folder(path)
    manifest = read_manifest(directory)
    try:
        vocab_size, eot, splits = int(manifest["vocab_size"]), int(manifest["eot_token"]), manifest["splits"]
    except (KeyError, TypeError, ValueError):
        raise ShardError(f"{directory / MANIFEST}: lacks vocab_size, eot_token or splits") from None
    result = Inspection(manifest)
    listed = set()
    for split, entry in splits.items():
        tokens = docs = 0
        for shard in entry.get("shards", []):
            info = validate_shard(directory / shard["path"], vocab_size, eot)
            if (info.tokens, info.docs) != (shard.get("tokens"), shard.get("docs")):
                raise ShardError(
                    f"{directory / shard['path']}: holds {info.tokens} tokens in {info.docs} documents, "
                    f"the manifest says {shard.get('tokens')} in {shard.get('docs')}"
                )
            listed.add(shard["path"])
            tokens, docs = tokens + info.tokens, docs + info.docs
        result.splits[split] = (len(entry.get("shards", [])), tokens, docs)
    unlisted = sorted(p.name for p in directory.glob("*.bin") if p.name not in listed)
    if unlisted:
        raise ShardError(f"{directory}: {len(unlisted)} shard(s) not in the manifest, first {unlisted[0]}")
    first = next((directory / e["shards"][0]["path"] for e in splits.values() if e.get("shards")), None)
    if first is not None and samples:
        result.samples, result.decode_problem = _decode_some(first, manifest["encoding"], samples, sample_chars)
    return result


def _decode_some(shard: Path, encoding: str, count: int, chars: int) -> tuple[list[str], str | None]:
    from .encodings import load_encoding

    try:
        enc = load_encoding(encoding)
    except CurateError as exc:  # the shards are valid; only the sample cannot be shown
        return [], str(exc)
    texts = []
    for tokens, _ in zip(documents(shard), range(count)):
        text = enc.decode(tokens.tolist())
        texts.append(text[:chars] + ("…" if len(text) > chars else ""))
    return texts, None
