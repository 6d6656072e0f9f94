"""Deduplication: near-duplicate quality, signature speed against datasketch, scale, and datatrove.

1. Quality: documents built from real paragraphs (Gutenberg books, Common Crawl text) with planted
   near-duplicates (substitutions, insertions, deletions, reordered sentences, added boilerplate);
   every planted pair's exact Jaccard similarity is computed, and we report which pairs end up in one
   cluster at threshold 0.8; then the Clough & Stevenson plagiarism corpus (cut / light / heavy / non).
2. Signatures per second on 1 KB documents: the bulk numpy path against one `datasketch.MinHash`
   per document (its default configuration), in this process, on one core.
3. Scale: 100k synthetic documents (1M with CURATE_BENCH_1M=1): keys and resolve time, peak memory,
   and the same decisions with a tiny memory budget (spilled runs).
4. datatrove's four MinHash stages (its own venv in bench/.work, created here when missing) against
   curate end to end, same corpus and worker count.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
WORK = REPO / "bench" / ".work"
DATATROVE_VENV = WORK / "datatrove-venv"
DATATROVE = "datatrove[processing,io]==0.10.1"
BOILERPLATE = (
    "Accept cookies. We use cookies to improve your experience on our website. By browsing this website, "
    "you agree to our use of cookies. Home | About us | Contact | Privacy policy | Terms of service. "
    "Subscribe to our newsletter for the latest updates and offers. Copyright all rights reserved."
)


# --- corpus ---------------------------------------------------------------------------------------


def paragraphs() -> list[str]:
    """Real paragraphs of 20+ words: Gutenberg books, then Common Crawl documents' lines."""
    found = []
    for book in sorted((DATA / "gutenberg-nltk").glob("*.txt")):
        for block in re.split(r"\n\s*\n", book.read_text(encoding="latin-1")):
            block = " ".join(block.split())
            if len(block.split()) >= 20:
                found.append(block)
    with gzip.open(DATA / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz", "rt") as stream:
        for line in stream:
            found += [p.strip() for p in json.loads(line)["text"].split("\n") if len(p.split()) >= 20]
    return found


def documents(paras: list[str], words: int = 250) -> list[str]:
    """Consecutive paragraphs joined until a document has about `words` words."""
    docs, current, count = [], [], 0
    for para in paras:
        current.append(para)
        count += len(para.split())
        if count >= words:
            docs.append("\n".join(current))
            current, count = [], 0
    return docs


def edit(text: str, kind: str, strength: float, rng: random.Random, vocabulary: list[str]) -> str:
    words = text.split(" ")
    n = max(1, round(len(words) * strength))
    if kind == "substitute":
        for i in rng.sample(range(len(words)), min(n, len(words))):
            words[i] = rng.choice(vocabulary)
    elif kind == "insert":
        for _ in range(n):
            words.insert(rng.randrange(len(words) + 1), rng.choice(vocabulary))
    elif kind == "delete":
        for i in sorted(rng.sample(range(len(words)), min(n, len(words) - 1)), reverse=True):
            del words[i]
    elif kind == "reorder":
        sentences = re.split(r"(?<=[.!?])\s+", text)
        for _ in range(max(1, round(len(sentences) * strength))):
            i, j = rng.randrange(len(sentences)), rng.randrange(len(sentences))
            sentences[i], sentences[j] = sentences[j], sentences[i]
        return " ".join(sentences)
    elif kind == "boilerplate":
        extra = " ".join(BOILERPLATE.split()[: max(5, round(len(words) * strength))])
        return f"{extra}\n{text}" if rng.random() < 0.5 else f"{text}\n{extra}"
    return " ".join(words)


def planted_corpus(originals: int, seed: int = 0):
    """(texts, planted pairs (i, j, kind, exact Jaccard))."""
    from curate.minhash import shingles

    rng = random.Random(seed)
    base = documents(paragraphs())
    rng.shuffle(base)
    base = base[:originals]
    vocabulary = sorted({w for t in base[:200] for w in t.split()})
    kinds = ["substitute", "insert", "delete", "reorder", "boilerplate"]
    strengths = [0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3]
    texts, pairs = list(base), []
    for i in range(len(base) // 2):
        kind, strength = kinds[i % len(kinds)], strengths[(i // len(kinds)) % len(strengths)]
        texts.append(edit(base[i], kind, strength, rng, vocabulary))
        a, b = set(shingles(base[i])), set(shingles(texts[-1]))
        pairs.append((i, len(texts) - 1, kind, len(a & b) / len(a | b)))
    return texts, pairs


# --- running the stage directly -------------------------------------------------------------------


def resolve_clusters(texts: list[str], shards: int = 4, **options) -> tuple[dict[int, int], dict]:
    """Index -> cluster for documents in clusters, via the stage's keys and resolve."""
    from curate.document import Document
    from curate.clusters import in_memory
    from curate.stages.minhash_dedup import MinhashDedup
    from curate.stats import StageStats

    stage = MinhashDedup(**options)
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    tables = [stage.keys(docs[lo : lo + 1000]) for lo in range(0, len(docs), 1000)]
    stats = StageStats("minhash_dedup")
    with tempfile.TemporaryDirectory() as scratch:
        decisions = stage.resolve(in_memory(tables), Path(scratch), stats)
    clusters = dict(zip(map(int, decisions.column("id").to_pylist()), decisions.column("cluster").to_pylist()))
    return clusters, dict(stats.counters)


def quality() -> None:
    texts, pairs = planted_corpus(3000)
    print(f"quality: {len(texts)} documents of ~250 words, {len(pairs)} planted pairs (exact Jaccard of word 5-grams)")
    bins = [(0.9, 1.01, "J >= 0.9"), (0.8, 0.9, "0.8 <= J < 0.9"), (0.5, 0.8, "0.5 < J < 0.8"), (-1, 0.5001, "J <= 0.5")]
    for options in ({"verify": True}, {"verify": False}, {"verify": True, "num_perm": 256}):
        started = time.perf_counter()
        clusters, counters = resolve_clusters(texts, **options)
        seconds = time.perf_counter() - started
        merged = [(j, clusters.get(a) is not None and clusters.get(a) == clusters.get(b)) for a, b, _, j in pairs]
        cells = []
        for lo, hi, label in bins:
            inside = [m for j, m in merged if lo <= j < hi]
            cells.append(f"{label}: {sum(inside)}/{len(inside)} = {sum(inside) / max(len(inside), 1):.3f}")
        planted = {(a, b) for a, b, _, _ in pairs}
        members: dict[int, list[int]] = {}
        for doc, cluster in clusters.items():
            members.setdefault(cluster, []).append(doc)
        unplanted = sum(1 for m in members.values() for x in m for y in m if x < y and (x, y) not in planted)
        print(f"  {options}: merged share by planted-pair Jaccard -> " + "; ".join(cells))
        print(f"    other pairs sharing a cluster: {unplanted}; candidate pairs {counters.get('candidate_pairs', '-')}, {seconds:.1f}s")
    by_kind: dict[str, list[float]] = {}
    for _, _, kind, j in pairs:
        by_kind.setdefault(kind, []).append(j)
    print("  planted Jaccard by edit kind (min / median / max): " + "; ".join(
        f"{k} {min(v):.2f}/{float(np.median(v)):.2f}/{max(v):.2f}" for k, v in by_kind.items()))


def plagiarism() -> None:
    from curate.minhash import shingles

    rows = [json.loads(line) for line in (DATA / "neardup-plagiarism-clough" / "plagiarism-pairs.jsonl").read_text().splitlines()]
    answers = [r for r in rows if r["category"] != "orig"]
    sources = sorted({r["source_file"]: r["source_text"] for r in rows}.items())
    texts = [t for _, t in sources] + [r["text"] for r in answers]
    source_index = {name: i for i, (name, _) in enumerate(sources)}
    clusters, _ = resolve_clusters(texts)
    print("plagiarism corpus (Clough & Stevenson): answer clustered with its source, at threshold 0.8")
    for category in ("cut", "light", "heavy", "non"):
        hits, jaccards = 0, []
        for k, row in enumerate(answers):
            if row["category"] != category:
                continue
            a, b = len(sources) + k, source_index[row["source_file"]]
            hits += clusters.get(a) is not None and clusters.get(a) == clusters.get(b)
            sa, sb = set(shingles(row["text"])), set(shingles(row["source_text"]))
            jaccards.append(len(sa & sb) / len(sa | sb))
        print(f"  {category:5s}: {hits}/{len(jaccards)} merged; exact Jaccard median {np.median(jaccards):.2f}, max {max(jaccards):.2f}")


# --- signature speed ------------------------------------------------------------------------------


def one_kb_documents(n: int) -> list[str]:
    text = " ".join(paragraphs())
    docs, position = [], 0
    while len(docs) < n:
        cut = text.find(" ", position + 1000)
        docs.append(text[position:cut])
        position = cut + 1
    return docs


def signature_speed() -> None:
    from datasketch import MinHash

    from curate.minhash import MinHasher, shingles

    docs = one_kb_documents(20000)
    hasher = MinHasher()
    hasher.signatures(docs[:100])  # builds the character table and loads (or compiles) the kernel once
    started = time.perf_counter()
    for lo in range(0, len(docs), 1000):
        hasher.signatures(docs[lo : lo + 1000])
    ours = len(docs) / (time.perf_counter() - started)
    sample = docs[:2000]
    started = time.perf_counter()
    for text in sample:
        sketch = MinHash(num_perm=128)
        sketch.update_batch([s.encode("utf-8") for s in shingles(text)])
    baseline = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    for text in sample:
        hasher.datasketch(text)
    same_config = len(sample) / (time.perf_counter() - started)
    print(f"signatures, 1 KB documents, 128 permutations, one process (load average {os.getloadavg()[0]:.1f}):")
    print(f"  curate bulk (numba kernel):              {ours:9.0f} docs/s")
    print(f"  datasketch.MinHash per doc (sha1 default): {baseline:7.0f} docs/s   -> curate is {ours / baseline:.1f}x")
    print(f"  datasketch.MinHash per doc, our shingle_hash: {same_config:4.0f} docs/s (the equal-signature reference)")
    try:
        from rensa import RMinHash

        started = time.perf_counter()
        for text in sample:
            RMinHash(num_perm=128, seed=1).update(shingles(text))
        print(f"  rensa RMinHash per doc (not comparable):  {len(sample) / (time.perf_counter() - started):7.0f} docs/s")
    except ImportError:
        pass


# --- scale ----------------------------------------------------------------------------------------


def synthetic_doc(shard: int, i: int, vocabulary: list[str]) -> str:
    """~1 KB of random words, the same for the same (shard, i)."""
    rng = random.Random(shard * 1_000_003 + i)
    return " ".join(rng.choice(vocabulary) for _ in range(170))


def synthetic_shard(shard: int, size: int, vocabulary: list[str]) -> list[str]:
    """Random documents; every 20th is an earlier document (of any shard so far) with one word changed."""
    rng = random.Random(-shard - 1)
    docs = []
    for i in range(size):
        if i % 20 == 19:
            source = rng.randrange(i)
            source -= source % 20 == 19  # an original, not a position that holds an edited copy
            words = synthetic_doc(rng.randrange(shard + 1), source, vocabulary).split(" ")
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
            docs.append(" ".join(words))
        else:
            docs.append(synthetic_doc(shard, i, vocabulary))
    return docs


def scale_run(documents: int, folder: str, memory_mb: int, queue) -> None:
    from curate.document import Document
    from curate.pipeline import parquet_key_tables
    from curate.stages.minhash_dedup import MinhashDedup
    from curate.stats import StageStats

    vocabulary = sorted({w.lower() for p in paragraphs()[:3000] for w in p.split() if w.isalpha()})
    stage = MinhashDedup(memory_mb=memory_mb)
    shard_size = 10000
    paths = []
    keys_seconds = 0.0  # the stage's keys only, not making the documents or writing the tables
    for shard in range(documents // shard_size):
        texts = synthetic_shard(shard, shard_size, vocabulary)
        docs = [Document(id=f"{shard:04d}-{i:05d}", text=t) for i, t in enumerate(texts)]
        started = time.perf_counter()
        table = pa.concat_tables(stage.keys(docs[lo : lo + 1000], first_row=lo) for lo in range(0, len(docs), 1000))
        keys_seconds += time.perf_counter() - started
        paths.append(Path(folder) / f"keys-{shard:04d}.parquet")
        pq.write_table(table, paths[-1])
    scratch = Path(folder) / f"scratch-{memory_mb}"
    scratch.mkdir()
    stats = StageStats("minhash_dedup")
    started = time.perf_counter()
    decisions = stage.resolve(parquet_key_tables([(path.stem, path) for path in paths]), scratch, stats)
    resolve_seconds = time.perf_counter() - started
    queue.put(
        {
            "keys_s": keys_seconds,
            "resolve_s": resolve_seconds,
            "peak_mb": own_peak_rss_mb(),
            "removed": decisions.filter(decisions.column("survivor").is_valid()).num_rows,
            "spilled_runs": stats.counters["spilled_runs"],
            "digest": xxhash.xxh3_64_hexdigest(json.dumps(decisions.to_pydict()).encode()),
        }
    )


def own_peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: after fork + exec that starts at the parent's peak."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


BUDGETS_MB = (1024, 2)  # roomy, and small enough that every band's records spill in several runs


def scale() -> None:
    sizes = [100_000] + ([1_000_000] if os.environ.get("CURATE_BENCH_1M") == "1" else [])
    print(f"scale (synthetic 1 KB docs, 5% planted one-word edits, keys in 10k-doc shards; ran {sizes}; CURATE_BENCH_1M=1 adds 1M):")
    context = multiprocessing.get_context("spawn")
    for documents in sizes:
        with tempfile.TemporaryDirectory() as folder:
            results = []
            for memory_mb in BUDGETS_MB:
                queue = context.Queue()
                process = context.Process(target=scale_run, args=(documents, folder, memory_mb, queue))
                process.start()
                process.join()
                if process.exitcode:
                    raise RuntimeError(f"scale run of {documents} documents failed (exit {process.exitcode})")
                results.append(queue.get())
                for path in Path(folder).glob("keys-*.parquet"):
                    path.unlink()
            for memory_mb, r in zip(BUDGETS_MB, results):
                print(
                    f"  {documents:>9,d} docs, memory_mb={memory_mb:<5d} keys {r['keys_s']:6.1f}s ({documents / r['keys_s']:,.0f} docs/s), "
                    f"resolve {r['resolve_s']:5.1f}s, peak RSS {r['peak_mb']:,.0f} MB, spilled runs {r['spilled_runs']}, removed {r['removed']:,d}"
                )
            print(f"    same decisions with and without spilling: {results[0]['digest'] == results[1]['digest']}; planted copies: {documents // 20:,d}")


# --- datatrove ------------------------------------------------------------------------------------

DATATROVE_SCRIPT = r'''
import sys, time
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupSignature, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.word_tokenizers import WordTokenizer


class Whitespace(WordTokenizer):
    def word_tokenize(self, text, **kwargs):
        return text.split()

    def sent_tokenize(self, text, **kwargs):
        return text.split("\n")

    def span_tokenize(self, text, **kwargs):
        raise NotImplementedError


def main(source, work, workers, tokenizer_kind):
    config = MinhashConfig()  # 14 buckets x 8 hashes, 5-grams (datatrove's default)
    language = Whitespace() if tokenizer_kind == "whitespace" else "eng"  # "eng": its default (spacy) tokenizer
    started = time.perf_counter()
    stages = [
        [JsonlReader(source), MinhashDedupSignature(output_folder=f"{work}/sigs", config=config, language=language)],
        [MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/buckets", config=config)],
        [MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/ids", config=config)],
        [JsonlReader(source), MinhashDedupFilter(input_folder=f"{work}/ids", exclusion_writer=JsonlWriter(f"{work}/removed")), JsonlWriter(f"{work}/out")],
    ]
    tasks = [workers, config.num_buckets, 1, workers]
    for n, (pipeline, count) in enumerate(zip(stages, tasks)):
        LocalPipelineExecutor(pipeline=pipeline, tasks=count, workers=min(workers, count), logging_dir=f"{work}/logs{n}").run()
    print(f"SECONDS {time.perf_counter() - started:.2f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
'''


def datatrove_python() -> Path | None:
    python = DATATROVE_VENV / "bin" / "python"
    if not python.exists():
        print(f"  creating {DATATROVE_VENV} ({DATATROVE}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(DATATROVE_VENV)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", DATATROVE], capture_output=True, text=True)
        if done.returncode:
            print(f"  datatrove could not be installed: {done.stderr.strip().splitlines()[-1:]}")
            return None
    return python


def removal_f1(kept: set[int], documents: int, originals: int, pairs: list[tuple], threshold: float = 0.8) -> str:
    """Precision, recall and F1 of the removals against the truth at `threshold`, whoever survives.

    Document k holds text k % len(texts). A family is an original with its planted edit and all their
    repeats; a true cluster is a family, or its two halves when the planted pair's exact Jaccard is
    below `threshold`. A cluster of n documents should lose n - 1: removals beyond that (a whole
    cluster, or a document with no true duplicate) are false.
    """
    texts = originals + len(pairs)
    similar = {a: j >= threshold for a, _, _, j in pairs}
    clusters: dict[tuple[int, bool], list[int]] = {}
    for k in range(documents):
        text = k % texts
        family = text if text < originals else text - originals
        is_edit = text >= originals and not similar[family]  # an edit below the threshold is its own cluster
        clusters.setdefault((family, is_edit), []).append(k)
    correct = removed = should = 0
    for members in clusters.values():
        gone = sum(1 for k in members if k not in kept)
        removed += gone
        correct += min(gone, len(members) - 1)
        should += len(members) - 1
    precision, recall = correct / max(removed, 1), correct / max(should, 1)
    return f"precision {precision:.3f}, recall {recall:.3f}, F1 {2 * precision * recall / max(precision + recall, 1e-9):.3f}"


def versus_datatrove() -> None:
    from curate.config import parse_config
    from curate.driver import execute

    workers = 2
    originals = 3000
    texts, pairs = planted_corpus(originals, seed=1)
    texts = (texts * 3)[:10000]  # repeats become exact duplicates: both tools must remove them
    print(f"datatrove vs curate end to end: {len(texts)} documents of ~250 words, {workers} workers")
    python = datatrove_python()
    with tempfile.TemporaryDirectory(dir=WORK) as folder:
        source = Path(folder) / "in"
        source.mkdir()
        for k in range(workers * 2):
            with open(source / f"part{k}.jsonl", "w") as out:
                for i in range(k, len(texts), workers * 2):
                    out.write(json.dumps({"id": str(i), "text": texts[i]}) + "\n")
        variants = {
            "defaults: 9 bands x 13 rows of 128, verified": {},
            "datatrove's LSH: 14 bands x 8 rows, not verified": {"num_perm": 112, "bands": 14, "rows": 8, "verify": False},
        }
        curate_seconds: list[float] = []  # one per variant, in order
        for label, options in variants.items():
            config = parse_config(
                {
                    "input": {"format": "jsonl", "paths": [str(source)]},
                    "stages": [{"minhash_dedup": options}],  # dedup alone, as datatrove's four stages
                }
            )
            started = time.perf_counter()
            outcome = execute(config, str(Path(folder) / f"curate-{len(options)}"), workers=workers)
            seconds = time.perf_counter() - started
            curate_seconds.append(seconds)
            kept = {int(i) for i in pq.read_table(outcome.layout.data, columns=["id"]).column("id").to_pylist()}
            print(f"  curate, minhash_dedup ({label}), stats and report included: {seconds:6.1f}s, kept {len(kept)}, "
                  + removal_f1(kept, len(texts), originals, pairs))
        if python is None:
            return
        for tokenizer in ("whitespace", "default"):
            work = Path(folder) / f"datatrove-{tokenizer}"
            script = Path(folder) / "datatrove_minhash.py"
            script.write_text(DATATROVE_SCRIPT)
            done = subprocess.run(
                [str(python), str(script), str(source), str(work), str(workers), tokenizer],
                capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
            seconds = re.findall(r"SECONDS ([\d.]+)", done.stdout)
            if done.returncode or not seconds:
                print(f"  datatrove ({tokenizer} tokenizer) failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
                continue
            kept_dt = {int(json.loads(line)["id"]) for path in (work / "out").glob("*") for line in gzip.open(path, "rt")}
            print(f"  datatrove ({tokenizer} word tokenizer), 4 stages: {float(seconds[0]):6.1f}s, kept {len(kept_dt)}, "
                  f"{removal_f1(kept_dt, len(texts), originals, pairs)}   -> curate takes "
                  + " / ".join(f"{mine / float(seconds[0]):.2f}x" for mine in curate_seconds) + " its time")


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    for part in (quality, plagiarism, signature_speed, scale, versus_datatrove):
        started = time.perf_counter()
        part()
        print(f"  ({part.__name__}: {time.perf_counter() - started:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
