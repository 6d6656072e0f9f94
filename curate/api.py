"""The Python API: run a pipeline, or apply one map stage to columns of documents in memory.

`run` is the CLI's `curate run` as a function. `as_filter` and `as_map` make a stage into a function
over a batch of columns (`{"text": [...], "id": [...], ...}`, the form `datasets.Dataset.filter` and
`.map` pass with `batched=True`), so a stage filters or annotates a `Dataset` already in hand, or
plain lists. Global stages (deduplication) must see every document and run only through `run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from .config import load_config, parse_config
from .document import Document, content_id
from .errors import CurateError
from .stages import Stage, build_stage, stage_class, validate_options
from .stats import StageStats

HTML_FIELD = "html"  # the column `extract` reads a page from where a batch has one


def run(
    pipeline: str | Path | Mapping[str, Any],
    inputs: str | Path | Sequence[str | Path] | None = None,
    output: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run a pipeline (a YAML path, or a dict of the same shape) and return its stats: the content of
    stats.json. `inputs`, `output` and `workers` override the pipeline's; a rerun resumes, as on the CLI."""
    from .driver import execute, output_of

    config = load_config(pipeline) if isinstance(pipeline, (str, Path)) else parse_config(dict(pipeline))
    if inputs is not None:
        config.input.paths = [str(p) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
    return execute(config, output_of(config, output), workers, executor, overwrite).summary


def as_filter(stage: str, text_field: str = "text", **options: Any) -> StageFunction:
    """A batched predicate: `keep = f({"text": [...]})` is one bool per document, True where the stage
    keeps it (`Dataset.filter(f, batched=True)`). Options are the stage's, as in the YAML."""
    return StageFunction(stage, options, "filter", text_field)


def as_map(stage: str, text_field: str = "text", **options: Any) -> StageFunction:
    """A batched annotator: `f({"text": [...]})` returns the batch's text as the stage leaves it, the
    stage's signals and `<stage>_reason` (what it would remove, and why; "" where it keeps), one
    value per document, and `tokens` for a stage that sets them (`Dataset.map(f, batched=True)`).
    Nothing is removed: filter on the reason column, or use `as_filter`."""
    return StageFunction(stage, options, "annotate", text_field)


class StageFunction:
    """A map stage as a function over a batch of columns. The stage is built (and its model loaded)
    at the first call; pickling carries only its name and options, so `datasets` can hash it and
    send it to worker processes."""

    def __init__(self, name: str, options: dict[str, Any], mode: str, text_field: str) -> None:
        if not isinstance(name, str):
            given = f"the class {name.__name__}" if isinstance(name, type) else f"a {type(name).__name__}"
            raise CurateError(f"a stage is given by its name ('gopher_quality', or 'module:ClassName' for your own) "
                              f"and its options as keywords, not {given}")
        if "mode" in options:
            raise CurateError(f"{name}: mode is set by the function: as_filter filters, as_map annotates")
        cls = stage_class(name)
        if cls.is_global:
            raise CurateError(
                f"{name} must see every document at once (a global stage); run it in a pipeline with curate.run"
            )
        validate_options(name, options, where=name)
        self.name, self.options, self.mode, self.text_field = name, options, mode, text_field
        self.extracts = cls.name == "extract"
        self._stage: Stage | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_stage": None}

    @property
    def stage(self) -> Stage:
        if self._stage is None:
            self._stage = build_stage(self.name, {**self.options, "mode": self.mode})
        return self._stage

    def __call__(self, batch: Mapping[str, Sequence[Any]]) -> Any:
        if not isinstance(batch, Mapping):  # a pandas DataFrame or an Arrow table (Ray Data's batch formats)
            columns = getattr(batch, "column_names", None)
            columns = getattr(batch, "columns", None) if columns is None else columns
            names = [] if columns is None else list(columns)
            batch = {name: batch[name] for name in names} if names and all(isinstance(n, str) for n in names) else batch
        if not isinstance(batch, Mapping):
            raise CurateError(f"{self.name}: a batch is a mapping of columns ({{'text': [...]}}), not a {type(batch).__name__}")
        # extract reads the page from an `html` column (as a pipeline's input.html_field), else from the text column
        html_field = (HTML_FIELD if HTML_FIELD in batch else self.text_field) if self.extracts else None
        if self.text_field not in batch and html_field != HTML_FIELD:
            raise CurateError(f"{self.name}: the batch has no {self.text_field!r} column (columns: {', '.join(batch)})")
        docs = _documents(batch, self.text_field, html_field, self.name)
        kept, _ = self.stage(docs, StageStats(self.stage.key))
        if self.mode == "filter":
            kept_ids = {id(d) for d in kept}
            return [id(d) in kept_ids for d in docs]
        columns: dict[str, list[Any]] = {self.text_field: [d.text for d in docs]}
        for key in self.stage.signals:
            columns[key] = [d.signals.get(key) for d in docs]
        # "" where the stage keeps: a column all None in the first batch would be typed null by `datasets`
        reason = f"{self.stage.key}_reason"
        columns[reason] = [d.signals.get(reason, "") for d in docs]
        if any(d.tokens is not None for d in docs):
            columns["tokens"] = [None if d.tokens is None else d.tokens.tolist() for d in docs]
        return columns


def _documents(batch: Mapping[str, Any], text_field: str, html_field: str | None, where: str) -> list[Document]:
    """Documents from a batch's columns: the text, the page (`html_field`; a row whose page is empty keeps its
    text, as a pipeline's row does), and `id` and `url` where the batch has them. A document without an id
    gets one from its content, so it does not depend on the document's place in the batch."""
    names = dict.fromkeys(n for n in (text_field, html_field, "id", "url") if n is not None and n in batch)
    columns = {name: _column(batch[name], name, where) for name in names}
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise CurateError(f"{where}: the batch's columns differ in length ({', '.join(f'{n}: {k}' for n, k in lengths.items())})")
    count = next(iter(lengths.values()))
    texts = [_string(v, text_field, i, where) for i, v in enumerate(columns.get(text_field, [None] * count))]
    pages = [None] * count if html_field is None else [_string(v, html_field, i, where) for i, v in enumerate(columns[html_field])]
    ids, urls = columns.get("id", [None] * count), columns.get("url", [None] * count)
    docs = []
    for text, page, doc_id, url in zip(texts, pages, ids, urls):
        if html_field == text_field:
            page, text = text or "", ""
        elif page is not None and page.strip():
            text = ""
        else:
            page, text = None, text or ""
        content = text if page is None else page
        docs.append(Document(id=content_id(content) if doc_id is None or doc_id == "" else str(doc_id), text=text,
                             html=page, url=None if url is None else str(url)))
    return docs


def _column(values: Any, name: str, where: str) -> list[Any]:
    """A column as a list: a list or tuple, or an array with `tolist`/`to_pylist` (NumPy, pandas, Arrow: the
    formats `datasets` hands over). Anything else (a generator, a string) is refused, not read partly."""
    if isinstance(values, (list, tuple)):
        return list(values)
    for method in ("to_pylist", "tolist"):
        convert = getattr(values, method, None)
        column = convert() if callable(convert) and not isinstance(values, (str, bytes)) else None
        if isinstance(column, list):
            return column
    raise CurateError(f"{where}: column {name!r} is a {type(values).__name__}; expected a list or array, one value per document")


def _string(value: Any, name: str, row: int, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise CurateError(f"{where}: column {name!r} row {row} is {type(value).__name__}, not a string")


__all__ = ["StageFunction", "as_filter", "as_map", "run"]
