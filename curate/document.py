"""The document record that flows between stages, and its Arrow schema."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

BASE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("url", pa.string()),
        ("source", pa.string()),
        ("timestamp", pa.string()),
        ("metadata", pa.string()),  # JSON object; a string keeps the schema stable across shards
    ]
)
REMOVED_COLUMNS = [("stage", pa.string()), ("reason", pa.string()), ("detail", pa.string())]


@dataclass(slots=True)
class Document:
    """One document. `html` holds undecoded markup until the `extract` stage turns it into `text`."""

    id: str
    text: str
    source: str = ""
    url: str | None = None
    timestamp: str | None = None
    html: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, Any] = field(default_factory=dict)
    tokens: Any = None  # token ids set by `tokenize`; written to token shards, never to Parquet
    # what the heuristic stages computed on `text` (curate.analysis), shared between them; never written
    analysis: Any = field(default=None, repr=False, compare=False)
    # `nbytes` of the string it was last computed for: every stage asks before and after its work
    _sized: str | None = field(default=None, init=False, repr=False, compare=False)
    _size: int = field(default=0, init=False, repr=False, compare=False)

    def know_size(self, nbytes: int) -> None:
        """Take `nbytes` as the UTF-8 size of what the document now carries, where the caller has it at
        hand (a reader that encoded the text anyway, Arrow's offsets), so `nbytes` need not encode it."""
        self._sized = self.text if self.html is None else self.html
        self._size = nbytes

    @property
    def nbytes(self) -> int:
        """UTF-8 size of what the document currently carries (markup before extraction)."""
        content = self.text if self.html is None else self.html
        if content is not self._sized:
            self._size = len(content) if content.isascii() else len(content.encode("utf-8", "surrogatepass"))
            self._sized = content
        return self._size


def schema_for(
    signal_types: dict[str, pa.DataType], removed: bool = False, intermediate: bool = False
) -> pa.Schema:
    """The schema of kept (or removed) documents for a pipeline whose stages record these signals.

    Intermediate shards (between phases) also keep `html`, so a global stage may precede `extract`.
    """
    fields = list(BASE_SCHEMA) + [pa.field(name, dtype) for name, dtype in signal_types.items()]
    if removed:
        fields += [pa.field(name, dtype) for name, dtype in REMOVED_COLUMNS]
    if intermediate:
        fields.append(pa.field("html", pa.string()))
    return pa.schema(fields)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(value: Any) -> str:
    """Strict JSON in valid UTF-8, as other tools' readers require: Python would write NaN and Infinity
    (which a JSON line or a float column may hold), so a non-finite float becomes null, a numpy scalar a
    number, and a lone surrogate (a JSON line's `"\\ud800"`) U+FFFD."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_plain)
    except ValueError:  # a non-finite float somewhere: rare, so only then is the value walked
        text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, default=_plain)
    return valid_utf8(text)


def valid_utf8(text: str) -> str:
    """`text` with lone surrogates (a JSON line's `"\\ud800"`) as U+FFFD: Arrow and every output need UTF-8."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", text)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if hasattr(value, "item"):  # a numpy scalar
        return _finite(value.item())
    return value


def _plain(value: Any) -> Any:
    """numpy scalars (signals computed with numpy) as plain numbers."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_table(docs: list[Document], schema: pa.Schema, extra: dict[str, list] | None = None) -> pa.Table:
    """Columnar form of a batch; signals a document lacks become nulls."""
    columns: dict[str, list] = {
        "id": [d.id for d in docs],
        "text": [d.text for d in docs],
        "url": [d.url for d in docs],
        "source": [d.source for d in docs],
        "timestamp": [d.timestamp for d in docs],
        "metadata": [json_text(d.metadata) if d.metadata else None for d in docs],
        "html": [d.html for d in docs],
    }
    for name in schema.names:
        if name not in columns:
            columns[name] = (extra or {}).get(name) or [d.signals.get(name) for d in docs]
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)


def from_table(table: pa.Table) -> list[Document]:
    """Inverse of `to_table` for intermediate shards: base columns back to fields, the rest to signals."""
    base = set(BASE_SCHEMA.names) | {"html"}
    signal_names = [n for n in table.column_names if n not in base]
    rows = table.to_pylist()
    docs = []
    for row, text_bytes, html_bytes in zip(rows, _byte_lengths(table, "text"), _byte_lengths(table, "html")):
        meta = row.get("metadata")
        doc = Document(
            id=row["id"],
            text=row["text"] or "",
            url=row.get("url"),
            source=row.get("source") or "",
            timestamp=row.get("timestamp"),
            html=row.get("html"),
            metadata=json.loads(meta) if meta else {},
            signals={n: row[n] for n in signal_names if row[n] is not None},
        )
        doc.know_size((html_bytes if doc.html is not None else text_bytes) or 0)
        docs.append(doc)
    return docs


def _byte_lengths(table: pa.Table, column: str) -> list[int | None]:
    """Each value's UTF-8 size from Arrow's offsets (None where null or the column is absent)."""
    if column not in table.column_names:
        return [None] * table.num_rows
    return pc.binary_length(table.column(column)).to_pylist()


def stable_id(source: str, offset: int) -> str:
    """An id for a record without one: the same file and offset give the same id on every run."""
    import xxhash

    return xxhash.xxh3_64_hexdigest(f"{source}@{offset}".encode())


def content_id(content: str) -> str:
    """An id for an in-memory document without one: the same content gets the same id in any batch, so what
    hangs on the id (tokenize's train/val split) follows the document, not its place in the batch."""
    import xxhash

    return xxhash.xxh3_64_hexdigest(content.encode("utf-8", "surrogatepass"))
