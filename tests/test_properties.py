"""Property tests of the bookkeeping: stats merge in any grouping and order to the same totals."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from curate.stats import Histogram, RunStats, StageStats

REASONS = st.sampled_from(["s:a", "s:b", "s:c"])


@st.composite
def task_stats(draw) -> RunStats:
    removed = Counter(draw(st.dictionaries(REASONS, st.integers(0, 50))))
    out = draw(st.integers(0, 100))
    stage = StageStats("s", docs_in=out + sum(removed.values()), docs_out=out, removed=removed)
    stage.bytes_in = draw(st.integers(0, 10**6))
    hist = Histogram.empty(0, 1, 8)
    hist.add(draw(st.lists(st.floats(-1, 2, allow_nan=False), max_size=20)))
    stage.histograms["score"] = hist
    stats = RunStats(stages=[stage], docs_read=stage.docs_in, docs_written=out)
    stats.skipped.update(draw(st.dictionaries(st.sampled_from(["r:x", "r:y"]), st.integers(0, 5))))
    return stats


def merged(parts: list[RunStats]) -> dict:
    total = RunStats.for_stages(["s"])
    for part in parts:
        total.merge(RunStats.from_dict(part.to_dict()))
    d = total.to_dict()
    d["stages"][0].pop("docs_per_s")
    return d


@given(st.lists(task_stats(), min_size=1, max_size=6), st.randoms())
def test_merge_is_commutative_and_associative(parts, rnd):
    shuffled = parts[:]
    rnd.shuffle(shuffled)
    assert merged(parts) == merged(shuffled)
    cut = len(parts) // 2
    left, right = RunStats.from_dict(merged(parts[:cut])), RunStats.from_dict(merged(parts[cut:]))
    assert merged([left, right]) == merged(parts)
    assert merged(parts)["conservation"]["ok"]
