"""Hugging Face `datasets`: a `save_to_disk` folder, read from disk with no hub access."""

from __future__ import annotations

from typing import Iterator

from ..config import InputConfig
from ..document import Document, stable_id
from ..errors import CurateError
from .inputs import InputShard, Skipped
from .jsonl import clean_text


def read_hf(shard: InputShard, config: InputConfig) -> Iterator[Document | Skipped]:
    import datasets

    try:
        data = datasets.load_from_disk(shard.path)
    except (FileNotFoundError, ValueError) as exc:
        raise CurateError(f"{shard.path}: not a datasets folder made by save_to_disk ({exc})") from None
    if isinstance(data, datasets.DatasetDict):
        splits = [data[name] for name in sorted(data)]
    else:
        splits = [data]
    row = 0
    for split in splits:
        if config.text_field not in split.column_names:
            raise CurateError(f"{shard.path}: no {config.text_field!r} column (columns: {', '.join(split.column_names)})")
        for record in split:
            text = record.pop(config.text_field)
            if not isinstance(text, str):
                yield Skipped("hf:missing_text")
                row += 1
                continue
            raw_id = record.pop(config.id_field, None)
            url = record.pop(config.url_field, None)
            yield Document(
                id=str(raw_id) if raw_id not in (None, "") else stable_id(shard.source, row),
                text=clean_text(text),
                source=shard.source,
                url=url if isinstance(url, str) else None,
                metadata={k: v for k, v in record.items() if isinstance(v, (str, int, float, bool))},
            )
            row += 1
