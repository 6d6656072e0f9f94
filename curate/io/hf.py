"""Hugging Face `datasets`: a `save_to_disk` folder (a Dataset or a DatasetDict), read from disk with no hub access."""

from __future__ import annotations

from typing import Iterator

from ..document import Document
from .base import InputOptions, InputShard, Skipped
from .parquet import SAMPLE_ROWS, has_content_column, missing_column
from .records import row_to_document


def read_hf(shard: InputShard, options: InputOptions) -> Iterator[Document | Skipped]:
    import datasets

    try:
        data = datasets.load_from_disk(shard.path)
    except (FileNotFoundError, ValueError, OSError):
        yield Skipped("hf:unreadable_dataset")
        return
    splits = [data[name] for name in sorted(data)] if isinstance(data, datasets.DatasetDict) else [data]
    row = 0
    for split in splits:
        if not has_content_column(split.column_names, options):
            yield from missing_column(split.num_rows, split.select(range(min(SAMPLE_ROWS, split.num_rows))).to_list(), "hf")
            row += split.num_rows
            continue
        for batch in split.iter(batch_size=1024):
            for values in zip(*batch.values()):
                yield row_to_document(dict(zip(batch.keys(), values)), row, shard, options, "hf")
                row += 1
