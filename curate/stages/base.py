"""The stage contract: a batch in, one verdict per document out, accounting done here once for all."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Literal

import pyarrow as pa

from ..clusters import ClusterDecisions, KeyTables
from ..document import Document
from ..options import option, parse
from ..stats import Histogram, StageStats

Mode = Literal["filter", "annotate"]
Verdict = str | None  # None keeps the document; a string removes it and names why


@dataclass(frozen=True)
class Signal:
    """A per-document value a stage records as a column, optionally with a histogram in the stats."""

    dtype: pa.DataType
    bins: tuple[float, float, int] | None = None  # (lo, hi, count) for the histogram
    log: bool = False
    categorical: bool = False  # count each value (e.g. language) in the stage's counters as `name=value`


@dataclass(frozen=True, kw_only=True)
class StageOptions:
    """What every stage takes; a stage's own options subclass this (see `curate.options`)."""

    mode: Mode = option("filter", "filter removes documents; annotate keeps them and records `<key>_reason`")


class Stage:
    """Keeps, changes or removes documents, a batch at a time.

    Subclasses set `name`, declare `signals` and their `Options` (a `StageOptions` dataclass: the
    config is validated against it before anything runs), take those options as keywords of
    `__init__` and read them from `self.options`, and implement `process`, which may also count
    events finer than a document (lines dropped by rule, PII by type) in `self.tally`. `key` is the
    stage's identity in a pipeline: its name, or the `id:` given where a name repeats; a later instance of a
    repeated stage writes its signals as `<key>_<signal>` columns (`column_prefix`), beside the first's.
    A stage never reads files or knows about executors: models are loaded in `setup`, which calling the
    stage runs once per process (the pipeline runs it early, so its time is not a batch's); `process`
    assumes it has run.
    """

    name: ClassVar[str]
    signals: ClassVar[dict[str, Signal]] = {}
    is_global: ClassVar[bool] = False
    Options: ClassVar[type[StageOptions]] = StageOptions
    # A stage whose `process` spreads a batch over threads (tokenize with `threads` > 1) sets this, to
    # be timed by its process's CPU clock; every other by its thread's, which other work does not inflate.
    threaded: bool = False

    def __init__(self, **options: Any) -> None:
        self.options = parse(self.Options, options, self.name)
        self.mode = self.options.mode
        self.key = self.name
        self.column_prefix = ""  # `<key>_` on a later instance of a repeated stage (see `stages.build_stages`)
        self.tally: Counter[str] = Counter()  # what `process` counts beyond verdicts; moved to the stats per batch
        self.cpu_elsewhere = 0.0  # CPU seconds `process` had another process spend (extract's helper); added likewise
        self.is_set_up = False

    def __getstate__(self) -> dict[str, Any]:
        """A pickled copy sets itself up again where it is unpickled (workers build their stages from the
        config; a stage holding a loaded model may not pickle)."""
        return {**self.__dict__, "is_set_up": False}

    def setup(self) -> None:
        """Load models or lists; run by `ensure_setup`, once per process."""

    def ensure_setup(self) -> None:
        if not self.is_set_up:
            self.setup()
            self.is_set_up = True

    def process(self, docs: list[Document]) -> list[Verdict]:
        """Return one verdict per document; may rewrite `doc.text` and set `doc.signals`."""
        raise NotImplementedError

    def thresholds(self) -> dict[str, float]:
        """Signal name -> the threshold it is cut at, so reports can draw it on the histogram."""
        return {}

    def sink_requests(self) -> dict[str, dict[str, Any]]:
        """Sinks this stage's output needs, by registry name, with their options (tokenize: the token
        shards, with its encoding); the run adds them to its outputs."""
        return {}

    def output_signals(self) -> dict[str, Signal]:
        """Columns this stage adds; annotate mode adds `<key>_reason` (what filter mode would say)."""
        if self.mode == "annotate":
            return {**self.signals, f"{self.key}_reason": Signal(pa.string())}
        return dict(self.signals)

    def columns(self) -> dict[str, Signal]:
        """The columns this instance writes: `output_signals`, a later instance's signals under `column_prefix`."""
        return {(self.column_prefix + name if name in self.signals else name): s for name, s in self.output_signals().items()}

    def __call__(self, docs: list[Document], stats: StageStats) -> tuple[list[Document], list[tuple[Document, str]]]:
        """Run `process` on a batch and account for every document: kept, or removed with a reason."""
        self.ensure_setup()
        try:
            return self._account(docs, stats)
        finally:  # counted even if `process` failed part way, never carried to the next batch
            stats.cpu_seconds += self.cpu_elsewhere
            self.cpu_elsewhere = 0.0

    def _account(self, docs: list[Document], stats: StageStats) -> tuple[list[Document], list[tuple[Document, str]]]:
        with stats.timed(self.threaded):
            sizes_in = [d.nbytes for d in docs]
            stats.docs_in += len(docs)
            stats.bytes_in += sum(sizes_in)
            earlier = [{n: d.signals.pop(n) for n in self.signals if n in d.signals} for d in docs] if self.column_prefix else None
            verdicts = self.process(docs) if docs else []
            if len(verdicts) != len(docs):
                raise RuntimeError(f"stage {self.key} returned {len(verdicts)} verdicts for {len(docs)} documents")
            if earlier is not None:
                _key_own_signals(docs, earlier, self.signals, self.column_prefix)
            stats.counters.update(self.tally)
            self.tally.clear()
            kept: list[Document] = []
            removed: list[tuple[Document, str]] = []
            for doc, verdict in zip(docs, verdicts):
                if verdict is None:
                    kept.append(doc)
                elif self.mode == "annotate":
                    doc.signals[f"{self.key}_reason"] = verdict
                    kept.append(doc)
                else:
                    removed.append((doc, verdict))
                    stats.removed[split_verdict(self.key, verdict)[0]] += 1
            for key, signal in self.signals.items():
                column = self.column_prefix + key
                if signal.bins is not None:
                    _histogram(stats, key, signal.bins, signal.log).add(d.signals.get(column) for d in docs)
                if signal.categorical:
                    stats.counters.update(f"{key}={d.signals[column]}" for d in docs if d.signals.get(column) is not None)
            sizes_out = [d.nbytes for d in kept]
            _histogram(stats, "doc_bytes_in", DOC_BYTES_BINS, log=True).add(sizes_in)
            _histogram(stats, "doc_bytes_out", DOC_BYTES_BINS, log=True).add(sizes_out)
            stats.docs_out += len(kept)
            stats.bytes_out += sum(sizes_out)
        return kept, removed


DOC_BYTES_BINS = (1, 10_000_000, 28)


def _key_own_signals(docs: list[Document], earlier: list[dict[str, Any]], signals: dict[str, Signal], prefix: str) -> None:
    """A later instance's signals move under `prefix`, and the earlier instance's values (set aside) come back."""
    for doc, values in zip(docs, earlier):
        for name in signals:
            if name in doc.signals:
                doc.signals[prefix + name] = doc.signals.pop(name)
        doc.signals.update(values)


def _histogram(stats: StageStats, key: str, bins: tuple[float, float, int], log: bool) -> Histogram:
    if key not in stats.histograms:
        stats.histograms[key] = Histogram.empty(*bins, log=log)
    return stats.histograms[key]


def split_verdict(stage: str, verdict: str) -> tuple[str, str | None]:
    """A removal as (stats key `stage:reason`, detail). A verdict is `reason` or `reason:detail`
    (for example `duplicate_of:<id>`); the detail goes to the removed document's `detail` column."""
    reason, _, detail = verdict.partition(":")
    return f"{stage}:{reason}", detail or None


class GlobalStage(Stage):
    """A stage that must see every shard before it decides (deduplication): the executor's barrier.

    1. `keys` runs per shard on the documents reaching this stage and returns compact keys (never
       text), each row with its document's position in the shard (`row`); the executor persists them.
    2. `pairs` runs once per part (`parts()` of them, independent, so executors run them in
       parallel) and returns the index pairs of documents that part found to belong together,
       using `scratch` for spills.
    3. `decide` runs once over every part's pairs and returns the decisions table (`id`,
       `survivor`, `cluster`, `shard`, `row`), recording what it found (cluster sizes) in `stats`.
    4. `load_decisions` gives each task the decisions for its shard (`self.decisions`); `process`
       applies them, taking the shard's documents in order from the first (`decided`).
    A document is known by (shard, row), not by its id, which may repeat.
    """

    is_global = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.decisions = ClusterDecisions()
        self.next_row = 0  # the position in the shard of the next document `process` gets

    def keys(self, docs: list[Document], first_row: int = 0) -> pa.Table:
        """The keys of `docs`, which are the shard's documents from position `first_row` on; a column
        `row` (int64) holds each row's document's position in the shard (`first_row` + its index in
        `docs`). A document without keys may have no row."""
        raise NotImplementedError

    def parts(self) -> int:
        return 1

    def pairs(self, key_tables: KeyTables, part: int, scratch: Path, stats: StageStats) -> pa.Table:
        raise NotImplementedError

    def decide(self, pair_tables: Callable[[], Iterator[pa.Table]], key_tables: KeyTables, stats: StageStats) -> pa.Table:
        raise NotImplementedError

    def load_decisions(self, decisions: pa.Table, shard: str | None = None) -> None:
        """The decisions for one shard (`shard`'s rows of `decisions`, or all of them where it holds one
        shard's only); `process` then takes that shard's documents in order, from the first."""
        self.decisions = ClusterDecisions(decisions, shard)
        self.next_row = 0

    def decided(self, docs: list[Document]) -> list[tuple[str | None, int] | None]:
        """Each document's decision, (survivor id or None, cluster) or None in no cluster, by its
        position in the shard: `docs` are the shard's next documents."""
        first, self.next_row = self.next_row, self.next_row + len(docs)
        return [self.decisions.get(row) for row in range(first, self.next_row)]

    def resolve(self, key_tables: KeyTables, scratch: Path, stats: StageStats) -> pa.Table:
        """Every part, then the decision, in this process: what the executors spread over tasks."""
        pair_tables = []
        for part in range(self.parts()):
            (scratch / f"part-{part}").mkdir(parents=True, exist_ok=True)
            pair_tables.append(self.pairs(key_tables, part, scratch / f"part-{part}", stats))
        return self.decide(lambda: iter(pair_tables), key_tables, stats)


