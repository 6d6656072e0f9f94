"""exact_dedup and minhash_dedup: datasketch-equal signatures, LSH, survivors, spills, whole runs."""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.config import parse_config
from curate.document import Document
from curate.errors import ConfigError
from curate.driver import execute
from curate.io.inputs import list_shards
from curate.pipeline import Pipeline
from curate.clusters import SortedRuns, in_memory, join
from curate.minhash import MinHasher, band_keys, lsh_params, shingle_hash, shingles, tokens
from curate.stages.exact_dedup import ExactDedup, _collapse_whitespace
from curate.stages.minhash_dedup import MinhashDedup
from curate.stats import StageStats
from curate.text import simplify

CC_GZ = "cc-text-jsonl-dolma/CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
CRAFTED = [
    "",
    "   \n\t ",
    "one",
    "İstanbul ÇOK güzel, 1984 ve ٣٤ yıl!",
    "日本語のテキストです。東京都に住んでいます。",
    "ภาษาไทยไม่มีช่องว่าง ระหว่างคำ",
    "mixed 中文 and english words, here: ok",
    "emoji 😀 test ß ﬁ Σσς — “quotes” and a_b-c.d",
]


@pytest.fixture(scope="module")
def cc_texts(shared_data: Path) -> list[str]:
    with gzip.open(shared_data / CC_GZ, "rt", encoding="utf-8") as stream:
        return [json.loads(line)["text"] for line in stream]


def _edit(text: str, rng: random.Random, changes: int) -> str:
    """A near-duplicate: `changes` single-word substitutions."""
    words = text.split(" ")
    for _ in range(changes):
        words[rng.randrange(len(words))] = f"edit{rng.randrange(10**6)}"
    return " ".join(words)


def _jaccard(a: str, b: str) -> float:
    sa, sb = set(shingles(a)), set(shingles(b))
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


# --- signatures -----------------------------------------------------------------------------------


def test_tokens_follow_simplify_and_split_no_space_scripts():
    assert tokens("Hello, World! 2024") == simplify("Hello, World! 2024").split() == ["hello", "world", "0000"]
    assert tokens("東京 is big") == ["東", "京", "is", "big"]
    assert shingles("a b c", ngram=5) == ["a b c"]
    assert shingles("a b c d e f", ngram=5) == ["a b c d e", "b c d e f"]
    assert shingles(" ,. ") == []


def test_signatures_equal_datasketch_on_real_text(cc_texts):
    for hasher, texts in ((MinHasher(), cc_texts[:80] + CRAFTED), (MinHasher(num_perm=64, seed=7, ngram=3), cc_texts[80:100] + CRAFTED)):
        signatures, counts = hasher.signatures(texts)
        for text, signature, count in zip(texts, signatures, counts):
            reference = hasher.datasketch(text)
            assert count == len(shingles(text, hasher.ngram))
            np.testing.assert_array_equal(signature, reference.digest())
            lean = LeanMinHash(seed=hasher.seed, hashvalues=signature, scheme="affine32")
            assert lean.jaccard(LeanMinHash(reference)) == 1.0


def test_signatures_are_datasketch_affine32_with_shingle_hash():
    """The documented datasketch configuration reproduces a signature from scratch."""
    text = "The quick brown fox jumps over the lazy dog near the river bank today"
    sketch = MinHash(num_perm=128, seed=1, hashfunc=shingle_hash)  # scheme defaults to affine32
    sketch.update_batch([s.encode("utf-8") for s in shingles(text)])
    np.testing.assert_array_equal(MinHasher().signatures([text])[0][0], sketch.hashvalues)


def test_signatures_equal_datasketch_on_edge_cases(monkeypatch):
    """The compiled kernel on what tokenizing gets wrong: lengths that `lower()` changes ahead of
    other texts, no tokens, exactly `ngram` tokens, lone surrogates, non-ASCII digits, a 1 MB text."""
    rng = random.Random(11)
    words = ["alpha", "beta", "gamma", "delta", "épsilon", "ζήτα", "東", "ไทย", "42", "٣٤"]
    texts = [
        "İİİ İstanbul then words after it",
        "!!! ... ??? — «» ・ 。",
        "a b c d e",
        "a b c d e f",
        "lone \ud800 surrogate \udfff and a pair \ud83d\ude00 written apart",
        "๑๒๓ thai digits ๓ and 2024-11-29 and ٣٤ arabic",
        "ΣΑΣ İI ﬁﬂ ẞ",
        "latin中文mixed東京abc,ไทยword 7東",
        " ".join(rng.choice(words) for _ in range(170_000)),  # about 1 MB
    ]
    hasher = MinHasher()
    signatures, counts = hasher.signatures(texts)
    for text, signature, count in zip(texts, signatures, counts):
        assert count == len(shingles(text))
        np.testing.assert_array_equal(signature, hasher.datasketch(text).hashvalues)
    assert counts[1] == 0 and (signatures[1] == 0xFFFFFFFF).all() and counts[2] == 1 and counts[3] == 2
    monkeypatch.setattr("curate.minhash.CHARS_PER_BLOCK", 40)  # every text its own block
    blocked, blocked_counts = hasher.signatures(texts[:-1])
    np.testing.assert_array_equal(blocked, signatures[:-1])
    np.testing.assert_array_equal(blocked_counts, counts[:-1])


def test_lsh_params_are_datasketchs_choice():
    """The numpy optimiser picks datasketch's (bands, rows) across thresholds and signature sizes."""
    from datasketch.lsh import _optimal_param

    for num_perm in (16, 64, 128, 256):
        for threshold in (0.05, 0.3, 0.5, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99):
            assert lsh_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5), (threshold, num_perm)


def test_band_keys_give_the_candidates_of_minhashlsh(cc_texts):
    rng = random.Random(3)
    originals = [t for t in cc_texts if len(t.split()) > 200][:40]
    texts = originals + [_edit(t, rng, rng.choice([2, 10, 40])) for t in originals]
    hasher = MinHasher()
    signatures, _ = hasher.signatures(texts)
    bands, rows = lsh_params(0.8, 128)
    keys = band_keys(signatures, bands, rows)
    ours = {(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts)) if (keys[i] == keys[j]).any()}
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    assert (lsh.b, lsh.r) == (bands, rows)
    for i, signature in enumerate(signatures):
        lsh.insert(i, LeanMinHash(seed=1, hashvalues=signature, scheme="affine32"))
    theirs = set()
    for i, signature in enumerate(signatures):
        theirs |= {(min(i, j), max(i, j)) for j in lsh.query(LeanMinHash(seed=1, hashvalues=signature, scheme="affine32")) if j != i}
    assert ours == theirs
    assert len(ours) >= 20  # the lightly edited copies are found


# --- grouping, spills, union-find -----------------------------------------------------------------


def _random_records(n_docs: int, rng: np.random.Generator):
    keys = rng.integers(0, 2**63, size=n_docs * 4, dtype=np.uint64)
    keys[rng.integers(0, len(keys), size=n_docs)] = rng.integers(0, 50, size=n_docs, dtype=np.uint64)  # shared keys
    return keys, np.repeat(np.arange(n_docs), 4)


def test_spilled_runs_give_the_same_components(tmp_path):
    keys, indexes = _random_records(3000, np.random.default_rng(0))
    results = []
    for budget, folder in ((2**30, "memory"), (3000, "spill")):
        (tmp_path / folder).mkdir()
        runs = SortedRuns(tmp_path / folder, budget)
        for lo in range(0, len(keys), 700):
            runs.add(keys[lo : lo + 700], indexes[lo : lo + 700])
        results.append((join(runs.edges(), 3000), len(runs.runs)))
    (in_memory, no_runs), (spilled, run_count) = results
    assert no_runs == 0 and run_count >= 5
    np.testing.assert_array_equal(in_memory, spilled)
    # the components are those of the equal-key relation, rooted at their smallest index
    expected = {}
    for key, index in sorted(zip(keys.tolist(), indexes.tolist()), key=lambda r: r[1]):
        expected.setdefault(key, []).append(index)
    for members in expected.values():
        assert len({int(in_memory[m]) for m in members}) == 1
        assert all(in_memory[m] <= min(members) for m in members)
    assert (in_memory <= np.arange(3000)).all()


def _resolve(stage, docs_by_shard: list[list[Document]], scratch: Path):
    tables = [stage.keys(docs) for docs in docs_by_shard]
    stats = StageStats(stage.name)
    scratch.mkdir(exist_ok=True)
    return stage.resolve(in_memory(tables), scratch, stats), stats


def _apply(stage, decisions: pa.Table, shard: int, docs: list[Document]) -> list[str | None]:
    """The verdicts on shard number `shard` (its documents `docs`, all of them, in order)."""
    stage.load_decisions(decisions, str(shard))
    return stage.process(list(docs))


def test_minhash_spill_path_gives_the_same_decisions(cc_texts, tmp_path):
    rng = random.Random(5)
    docs = [Document(id=f"d{i:04d}", text=t) for i, t in enumerate(cc_texts[:300])]
    docs += [Document(id=f"e{i:04d}", text=_edit(d.text, rng, 2)) for i, d in enumerate(docs[:60]) if len(d.text.split()) > 150]
    shards = [docs[i::3] for i in range(3)]
    roomy = MinhashDedup()
    tight = MinhashDedup()
    tight.memory_bytes = 8192  # a few hundred records per run
    decided, _ = _resolve(roomy, shards, tmp_path / "a")
    spilled, stats = _resolve(tight, shards, tmp_path / "b")
    assert stats.counters["spilled_runs"] >= 3
    assert decided.equals(spilled)
    assert decided.num_rows >= 40


# --- survivors and verdicts -----------------------------------------------------------------------


def test_survivor_is_the_earliest_document_in_input_order(cc_texts, tmp_path):
    text = next(t for t in cc_texts[1:] if len(t.split()) > 300)
    near = _edit(text, random.Random(1), 3)
    shards = [
        [Document(id="b-first", text=cc_texts[0]), Document(id="z-shard0", text=near)],
        [Document(id="a-shard1", text=text), Document(id="c-shard1", text=text)],
    ]
    stage = MinhashDedup()
    decisions, stats = _resolve(stage, shards, tmp_path / "m")
    verdicts = [_apply(stage, decisions, n, docs) for n, docs in enumerate(shards)]
    assert verdicts == [[None, None], ["duplicate_of:z-shard0", "duplicate_of:z-shard0"]]
    assert shards[0][1].signals["minhash_cluster"] == shards[1][0].signals["minhash_cluster"] == 0
    assert "minhash_cluster" not in shards[0][0].signals
    assert stats.counters["clusters"] == 1 and stats.histograms["cluster_size"].counts[0] == 1

    exact = ExactDedup()
    decisions, _ = _resolve(exact, shards, tmp_path / "e")
    assert _apply(exact, decisions, 1, shards[1]) == [None, "exact_duplicate_of:a-shard1"]


def test_exact_dedup_normalization_and_urls(tmp_path):
    docs = [
        Document(id="1", text="Same  text\nhere ", url="http://a"),
        Document(id="2", text="Same text here", url="http://b"),
        Document(id="3", text="SAME text, here!", url="http://c"),
        Document(id="4", text="other", url="http://a"),
    ]
    expected = {
        "none": [None, None, None, None],
        "whitespace": [None, "exact_duplicate_of:1", None, None],
        "simplify": [None, "exact_duplicate_of:1", "exact_duplicate_of:1", None],
    }
    for normalize, verdicts in expected.items():
        stage = ExactDedup(normalize=normalize)
        decisions, _ = _resolve(stage, [docs], tmp_path / normalize)
        stage.load_decisions(decisions)
        assert stage.process(docs) == verdicts, normalize
    by_url = ExactDedup(match_url=True)
    decisions, _ = _resolve(by_url, [docs], tmp_path / "url")
    by_url.load_decisions(decisions)
    assert by_url.process(docs) == [None, "exact_duplicate_of:1", None, "exact_duplicate_of:1"]


def test_whitespace_normalization_is_the_regex_reference():
    """Blanks collapse as `\\s+` -> " " then strip would, for every code point."""
    every = "".join(map(chr, range(0x110000)))
    for text in (every, "a" + every[::-1] + "b", " \u2028x\x1c\x1fy\u3000 "):
        assert ExactDedup(normalize="whitespace")._normalized(text) == re.sub(r"\s+", " ", text).strip()


def test_bad_options_name_the_key():
    with pytest.raises(ConfigError, match="threshold"):
        MinhashDedup(threshold=1.5)
    with pytest.raises(ConfigError, match="bands"):
        MinhashDedup(bands=4)
    with pytest.raises(ConfigError, match="normalize"):
        ExactDedup(normalize="lower")  # type: ignore[arg-type]
    assert (MinhashDedup(bands=16, rows=8).bands, MinhashDedup().bands) == (16, 9)


# --- whole runs -----------------------------------------------------------------------------------


def _write_corpus(folder: Path, texts: list[str]) -> dict[str, str]:
    """Four JSONL files of real text with planted duplicates across files; returns planted id -> original id."""
    rng = random.Random(11)
    originals = [(f"doc{i:04d}", t) for i, t in enumerate(texts)]
    planted: dict[str, str] = {}
    rows = list(originals)
    long_ones = [(i, t) for i, t in originals if len(t.split()) > 200]
    for n, (orig_id, text) in enumerate(long_ones[:40]):
        copy_id = f"dup{n:04d}"
        rows.append((copy_id, text if n % 4 == 0 else _edit(text, rng, 1 + n % 3)))
        planted[copy_id] = orig_id
    folder.mkdir()
    for k in range(4):
        with open(folder / f"part{k}.jsonl", "w", encoding="utf-8") as out:
            for doc_id, text in rows[k::4]:
                out.write(json.dumps({"id": doc_id, "text": text}) + "\n")
    return planted


def test_runs_agree_across_worker_counts_and_find_planted_duplicates(cc_texts, tmp_path):
    planted = _write_corpus(tmp_path / "in", cc_texts[:320])
    config = parse_config(
        {
            "input": {"format": "jsonl", "paths": [str(tmp_path / "in")]},
            "stages": [{"normalize": {}}, {"exact_dedup": {}}, {"minhash_dedup": {"threshold": 0.8}}],
        }
    )
    kept, removals = [], []
    for workers in (1, 2):
        outcome = execute(config, str(tmp_path / f"out{workers}"), workers=workers)
        assert not outcome.stats.conservation_problems()
        table = pq.read_table(tmp_path / f"out{workers}" / "data")
        kept.append(sorted(table.column("id").to_pylist()))
        removed = pq.read_table(tmp_path / f"out{workers}" / "removed").to_pylist()
        removals.append(sorted((r["id"], r["stage"], r["detail"]) for r in removed))
    assert kept[0] == kept[1] and removals[0] == removals[1]
    removed_dups = {r["id"]: r for r in removed if r["stage"] in ("exact_dedup", "minhash_dedup")}
    texts = dict(_read_ids(tmp_path / "in"))
    similar = [i for i in planted if _jaccard(texts[i], texts[planted[i]]) >= 0.9]
    found = [i for i in similar if i in removed_dups or planted[i] in removed_dups]
    assert len(similar) >= 30 and len(found) >= 0.95 * len(similar)
    for doc_id, row in removed_dups.items():  # nothing unrelated is merged
        assert _jaccard(texts[doc_id], texts[row["detail"]]) >= 0.5
    stats = json.loads((tmp_path / "out2" / "stats.json").read_text())
    minhash = next(s for s in stats["stages"] if s["name"] == "minhash_dedup")
    assert sum(minhash["histograms"]["cluster_size"]["counts"]) == minhash["counters"]["clusters"] > 0
    assert pa.types.is_int64(table.schema.field("minhash_cluster").type)
    work = tmp_path / "out2" / ".curate"
    assert len(list((work / "phase1").glob("pairs-*.json"))) == ExactDedup().parts() > 1  # the barriers ran as parts
    assert len(list((work / "phase2").glob("pairs-*.json"))) == MinhashDedup().bands > 1
    assert minhash["counters"]["band_records"] == MinhashDedup().bands * minhash["counters"]["documents_with_shingles"]


def test_a_pipeline_of_dedup_alone(cc_texts, tmp_path):
    """A global stage first: phase 0 only reads the shards and writes their keys."""
    planted = _write_corpus(tmp_path / "in", cc_texts[:120])
    config = parse_config({"input": {"paths": [str(tmp_path / "in")]}, "stages": ["exact_dedup", "minhash_dedup"]})
    outcome = execute(config, str(tmp_path / "out"), workers=2)
    assert not outcome.stats.conservation_problems()
    exact, minhash = outcome.stats.stages
    assert exact.docs_in == outcome.stats.docs_read == 120 + len(planted)
    texts = dict(_read_ids(tmp_path / "in"))
    removed = pq.read_table(tmp_path / "out" / "removed").to_pylist()
    by_stage = {name: [r for r in removed if r["stage"] == name] for name in ("exact_dedup", "minhash_dedup")}
    unedited = [c for n, c in enumerate(sorted(planted)) if n % 4 == 0]  # _write_corpus plants every 4th copy unedited
    exact_ids = {r["id"] for r in by_stage["exact_dedup"]}
    assert all(len({copy, planted[copy]} & exact_ids) == 1 for copy in unedited)  # the later of the two in input order
    assert all(" ".join(texts[r["id"]].split()) == " ".join(texts[r["detail"]].split()) for r in by_stage["exact_dedup"])
    assert len(by_stage["minhash_dedup"]) >= 0.8 * (len(planted) - len(unedited))
    assert all(_jaccard(texts[r["id"]], texts[r["detail"]]) >= 0.5 for r in by_stage["minhash_dedup"])


def test_every_task_and_barrier_step_releases_freed_memory(cc_texts, tmp_path, monkeypatch):
    """A worker hands its freed pages back after each phase task, each part of the pairs barrier and the
    decision, so its memory does not ratchet up from one task to the next (bench/bench_memory.py measures
    how much)."""
    import curate.pipeline as pipeline_module

    releases: list[int] = []
    monkeypatch.setattr(pipeline_module, "_release_freed_memory", lambda: releases.append(1))
    _write_corpus(tmp_path / "in", cc_texts[:60])
    config = parse_config({"input": {"paths": [str(tmp_path / "in")]}, "stages": ["minhash_dedup"]})
    execute(config, str(tmp_path / "out"), workers=1)
    shards = len(list_shards(config.input))
    # phase 0 writes the keys, phase 1 applies the decisions; one part per band; one decision
    assert len(releases) == 2 * shards + MinhashDedup().bands + 1 and shards > 1


def test_a_task_loads_only_its_shards_decisions(cc_texts, tmp_path):
    _write_corpus(tmp_path / "in", cc_texts[:200])
    config = parse_config({"input": {"paths": [str(tmp_path / "in")]}, "stages": ["normalize", "minhash_dedup"]})
    layout = execute(config, str(tmp_path / "out")).layout
    decisions = pq.read_table(layout.decisions(1))
    shards = list_shards(config.input)
    assert set(decisions.column("shard").to_pylist()) == {shard.name for shard in shards} and len(shards) == 4
    pipeline = Pipeline(config)
    for shard in shards:
        pipeline.run_task(1, shard, layout)
        loaded = pipeline.phases[1].stages[0].decisions.by_row
        mine = decisions.filter(pa.compute.equal(decisions.column("shard"), shard.name))
        assert sorted(loaded) == sorted(mine.column("row").to_pylist()) and loaded


# --- reused ids -----------------------------------------------------------------------------------


def _words(seed: int, count: int = 90) -> str:
    """A distinct text of about 500 characters."""
    rng = random.Random(seed)
    return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 7))) for _ in range(count))


def _run(tmp_path: Path, name: str, input: dict, stages: list, workers: int = 1, batch_size: int = 1000) -> tuple[list[dict], list[dict]]:
    """(kept, removed) rows of a run, each in file order (shard, position)."""
    config = parse_config({"input": input, "stages": stages, "batch_size": batch_size})
    outcome = execute(config, str(tmp_path / name), workers=workers)
    assert not outcome.stats.conservation_problems()
    rows = []
    for folder in ("data", "removed"):
        files = sorted((tmp_path / name / folder).glob("*.parquet"))
        rows.append([r for f in files for r in pq.read_table(f).select(["id", "text", *(["stage", "detail"] if folder == "removed" else [])]).to_pylist()])
    return rows[0], rows[1]


def test_documents_sharing_an_id_are_decided_each_on_its_own(tmp_path):
    """Decisions follow a document's place in the run, not its id: with ids 1, 1, 2, 2 on texts A, B, A, C,
    the second A goes (as a duplicate of id 1) and C, whose id a removed document shares, stays."""
    a, b, c = _words(1), _words(2), _words(3)
    (tmp_path / "in").mkdir()
    rows = [{"id": "1", "text": a}, {"id": "1", "text": b}, {"id": "2", "text": a}, {"id": "2", "text": c}]
    (tmp_path / "in" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    kept, removed = _run(tmp_path, "out", {"format": "jsonl", "paths": [str(tmp_path / "in")]}, ["normalize", "exact_dedup"])
    assert [(r["id"], r["text"]) for r in kept] == [("1", a), ("1", b), ("2", c)]
    assert removed == [{"id": "2", "text": a, "stage": "exact_dedup", "detail": "1"}]


def test_identical_warc_records_sharing_a_record_id_are_deduplicated(tmp_path):
    """Crawls repeat WARC-Record-IDs: two identical pages under one id are one kept, one removed."""

    def conversion(record_id: int, text: str) -> bytes:
        block = text.encode()
        head = (
            f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: http://example.com/{record_id}\r\n"
            f"WARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{record_id:012d}>\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(block)}\r\n\r\n"
        )
        return head.encode() + block + b"\r\n\r\n"

    page, other = _words(4), _words(5)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.warc.wet.gz").write_bytes(
        b"".join(gzip.compress(r) for r in (conversion(7, page), conversion(8, other), conversion(7, page)))
    )
    kept, removed = _run(tmp_path, "out", {"format": "warc", "paths": [str(tmp_path / "in")]}, ["normalize", "exact_dedup"])
    record = "00000000-0000-0000-0000-000000000007"  # the reader drops `<urn:uuid:` and `>`
    assert [r["id"] for r in kept] == [record, "00000000-0000-0000-0000-000000000008"]
    assert [(r["id"], r["text"], r["detail"]) for r in removed] == [(record, page, record)]


def test_reused_ids_across_shards_and_batches_agree_across_worker_counts(tmp_path):
    """Ids repeated within and across shards, positions across batches (of 2) and phases (minhash reads
    what exact_dedup kept): 1 and 2 workers remove the same documents in favour of the same ids."""
    a, b, c, d = (_words(seed, 200) for seed in range(10, 14))
    near_d = d.replace(d.split()[5], "changed", 1)
    files = {
        "p0.jsonl": [("1", a), ("1", b), ("2", a), ("2", c), ("3", _words(20))],
        "p1.jsonl": [("1", c), ("2", d), ("2", near_d), ("3", b), ("3", _words(21)), ("4", d)],
    }
    (tmp_path / "in").mkdir()
    for name, rows in files.items():
        (tmp_path / "in" / name).write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows), encoding="utf-8")
    stages = ["normalize", "exact_dedup", {"minhash_dedup": {"threshold": 0.8}}]
    outcomes = [_run(tmp_path, f"out{w}", {"format": "jsonl", "paths": [str(tmp_path / "in")]}, stages, w, batch_size=2) for w in (1, 2)]
    assert outcomes[0] == outcomes[1]
    kept, removed = outcomes[0]
    assert [(r["id"], r["text"]) for r in kept] == [("1", a), ("1", b), ("2", c), ("3", _words(20)), ("2", d), ("3", _words(21))]
    assert [(r["id"], r["text"], r["stage"], r["detail"]) for r in removed] == [
        ("2", a, "exact_dedup", "1"),  # p0
        ("1", c, "exact_dedup", "2"),  # p1: phase 1's removals, then phase 2's
        ("3", b, "exact_dedup", "1"),
        ("4", d, "exact_dedup", "2"),
        ("2", near_d, "minhash_dedup", "2"),
    ]


def _read_ids(folder: Path):
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            yield row["id"], row["text"]


def test_groups_cut_across_merge_blocks_stay_whole(tmp_path):
    """Few keys, several checks per key, indexes out of order, tiny runs: groups span many blocks."""
    rng = np.random.default_rng(1)
    n = 3000
    keys, checks = rng.integers(0, 5, n).astype(np.uint64), rng.integers(0, 3, n).astype(np.uint64)
    indexes = rng.permutation(n)
    runs = SortedRuns(tmp_path, 256 * 72)
    for lo in range(0, n, 97):
        runs.add(keys[lo : lo + 97], indexes[lo : lo + 97], checks[lo : lo + 97])
    roots = join(runs.edges(), n)
    assert len(runs.runs) > 5
    expected = np.arange(n)
    for key in range(5):
        for check in range(3):
            group = indexes[(keys == key) & (checks == check)]
            expected[group] = group.min()
    np.testing.assert_array_equal(roots, expected)


_BLANKS = "".join(c for c in map(chr, range(0x110000)) if c.isspace())  # what str.split splits on (29)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_BLANKS + "ab", max_size=30) | st.text(alphabet=" \nab", max_size=30))
def test_whitespace_collapse_is_split_and_join(text: str) -> None:
    assert _collapse_whitespace(text) == " ".join(text.split())
