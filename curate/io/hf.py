"""Hugging Face `datasets`: a `save_to_disk` folder (a Dataset or a DatasetDict), read from disk with no hub access."""

from __future__ import annotations

from typing import Iterator

from ..config import InputConfig
from ..document import Document
from .inputs import InputShard, Skipped
from .parquet import to_document


def read_hf(shard: InputShard, config: InputConfig) -> Iterator[Document | Skipped]:
    import datasets

    try:
        data = datasets.load_from_disk(shard.path)
    except (FileNotFoundError, ValueError, OSError):
        yield Skipped("hf:unreadable_dataset")
        return
    splits = [data[name] for name in sorted(data)] if isinstance(data, datasets.DatasetDict) else [data]
    row = 0
    for split in splits:
        if config.text_field not in split.column_names:
            for _ in range(split.num_rows):  # every row is accounted for, none silently lost
                yield Skipped("hf:missing_text_column")
            row += split.num_rows
            continue
        for batch in split.iter(batch_size=1024):
            for values in zip(*batch.values()):
                yield to_document(dict(zip(batch.keys(), values)), row, shard, config, "hf")
                row += 1
