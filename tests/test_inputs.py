"""What a run makes of its input as a whole: config mistakes caught before the first task (exit 2, one
line naming the fix), `--text-field` and `--limit`, and large compressed JSONL split for workers."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.cli import main as cli_main
from curate.config import parse_config
from curate.errors import CurateError
from curate.document import stable_id
from curate.driver import execute
from curate.io.base import InputOptions
from curate.io.inputs import list_shards
from curate.io.reshard import reshard

PIPELINE = "stages:\n  - normalize: {}\n"


def run_cli(tmp_path: Path, *args: str) -> int:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(PIPELINE)
    return cli_main(["run", str(pipeline), "--quiet", *args])


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# --- config mistakes: one line, exit 2, before any task --------------------------------------------


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "input is empty: no records in"),
        (os.urandom(3000) + b"\n" + os.urandom(3000), "does not parse as jsonl"),  # a binary file renamed .jsonl
        (b"".join(json.dumps({"id": i, "content": f"text {i} " * 20, "lang": "en"}).encode() + b"\n" for i in range(5)),
         "has a string field 'text'; their fields: content, lang; use --text-field content"),
        (b"".join(json.dumps({"html": "<html><body><p>a page</p></body></html>", "t": "x"}).encode() + b"\n" for _ in range(3)),
         "it looks like HTML: set input.html_field: html"),
    ],
    ids=["empty", "binary", "content_field", "html_field"],
)
def test_input_mistakes_exit_2_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture, content: bytes, expected: str) -> None:
    (tmp_path / "in.jsonl").write_bytes(content)
    assert run_cli(tmp_path, "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()  # caught before the output folder was claimed


def test_text_field_flag_fixes_it_and_is_part_of_the_fingerprint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = jsonl(tmp_path / "in.jsonl", [{"id": str(i), "content": f"text number {i}"} for i in range(5)])
    out = str(tmp_path / "out")
    assert run_cli(tmp_path, "--input", str(source), "--output", out, "--text-field", "content") == 0
    assert [r["text"] for r in pq.read_table(Path(out) / "data").to_pylist()] == [f"text number {i}" for i in range(5)]
    capsys.readouterr()
    assert run_cli(tmp_path, "--input", str(source), "--output", out, "--text-field", "content", "--limit", "2") == 2
    err = capsys.readouterr().err
    assert "holds a run of a different config (changed: input.limit)" in err


def test_partial_damage_is_counted_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a-broken.jsonl").write_bytes(os.urandom(2000))
    jsonl(tmp_path / "in" / "b-good.jsonl", [{"text": "fine"}, {"content": "no text"}])
    config = parse_config({"input": {"paths": [str(tmp_path / "in")]}, "stages": ["normalize"]})
    stats = execute(config, str(tmp_path / "out")).stats
    assert stats.docs_read == 1 and stats.skipped["jsonl:missing_text"] == 1 and sum(stats.skipped.values()) >= 2


def test_a_run_that_reads_no_document_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Records of mixed faults, none a document (a first look names no single fix): still one line, exit 2."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": 5}\n{broken\n' * 30)
    assert run_cli(tmp_path, "--input", str(source), "--output", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "read 0 documents" in err and "jsonl:invalid_json 30" in err, err
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["docs_read"] == 0  # the stats are there to look at


# --- several inputs: one source per file, so ids made from it never collide ----------------------------


def test_two_inputs_holding_the_same_file_name_give_distinct_sources_and_ids(tmp_path: Path) -> None:
    """`--input a b`, each holding x.jsonl without ids: sources a/x.jsonl and b/x.jsonl, four ids; one
    input alone keeps the source (and ids) it always had."""
    for folder, texts in (("a", ["first in a", "second in a"]), ("b", ["first in b", "second in b"])):
        (tmp_path / folder).mkdir()
        jsonl(tmp_path / folder / "x.jsonl", [{"text": t} for t in texts])
    both = [str(tmp_path / "a"), str(tmp_path / "b")]
    assert [s.source for s in list_shards(InputOptions(paths=both))] == ["a/x.jsonl", "b/x.jsonl"]
    assert [s.source for s in list_shards(InputOptions(paths=both[:1]))] == ["x.jsonl"]
    assert run_cli(tmp_path, "--input", *both, "--output", str(tmp_path / "out")) == 0
    rows = pq.read_table(tmp_path / "out" / "data").to_pylist()
    assert len({r["id"] for r in rows}) == len(rows) == 4
    assert {r["text"]: r["source"] for r in rows}["first in b"] == "b/x.jsonl"
    assert run_cli(tmp_path, "--input", both[0], "--output", str(tmp_path / "alone")) == 0
    alone = pq.read_table(tmp_path / "alone" / "data").to_pylist()
    first_line = len(json.dumps({"text": "first in a"})) + 1
    assert [r["id"] for r in alone] == [stable_id("x.jsonl", 0), stable_id("x.jsonl", first_line)]  # file, byte offset
    assert {r["source"] for r in alone} == {"x.jsonl"}


def test_sources_of_several_inputs_name_as_much_of_their_folders_as_tells_them_apart(tmp_path: Path) -> None:
    for folder in ("p/data", "q/data", "one"):
        (tmp_path / folder).mkdir(parents=True)
        jsonl(tmp_path / folder / "x.jsonl", [{"text": "t"}])
    jsonl(tmp_path / "one" / "y.jsonl", [{"text": "t"}])

    def sources(*paths: str) -> list[str]:
        return [s.source for s in list_shards(InputOptions(paths=[str(tmp_path / p) for p in paths]))]

    assert sources("p/data", "q/data") == ["p/data/x.jsonl", "q/data/x.jsonl"]  # the same folder name twice
    assert sources("one/x.jsonl", "one/y.jsonl") == ["x.jsonl", "y.jsonl"]  # files of one folder: as ever
    assert sources("one/x.jsonl", "p/data") == ["one/x.jsonl", "data/x.jsonl"]  # a file: its folder's name


# --- --limit: the first N documents in shard order --------------------------------------------------


def test_limit_takes_the_first_documents_in_shard_order(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    jsonl(tmp_path / "in" / "a.jsonl", [{"id": f"a{i}", "text": "x"} for i in range(3)] + [{"nothing": 1}])
    jsonl(tmp_path / "in" / "b.jsonl", [{"id": f"b{i}", "text": "y"} for i in range(5)])
    jsonl(tmp_path / "in" / "c.jsonl", [{"id": "c0", "text": "z"}])
    config = parse_config({"input": {"paths": [str(tmp_path / "in")], "limit": 5}, "stages": ["normalize"]})
    outcome = execute(config, str(tmp_path / "out"), workers=1)
    assert [r["id"] for r in pq.read_table(outcome.layout.data).to_pylist()] == ["a0", "a1", "a2", "b0", "b1"]
    assert outcome.stats.docs_read == 5 and outcome.stats.skipped == {"jsonl:missing_text": 1}


# --- large compressed JSONL: decompressed once, then split ------------------------------------------


def test_reshard_splits_a_compressed_file_with_the_same_documents(tmp_path: Path) -> None:
    rows = [{"text": f"document {i} " + os.urandom(60 + i % 50).hex()} for i in range(3000)]  # ~150 KB compressed
    source = tmp_path / "big.jsonl.gz"
    with gzip.open(source, "wt") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    options = InputOptions(paths=[str(source)], shard_bytes=100_000)
    [whole] = list_shards(options)
    split = reshard([whole], tmp_path / "work", options)
    assert len(split) == 6 and [s.index for s in split] == list(range(6)) and {s.source for s in split} == {"big.jsonl.gz"}

    def run(workers: int, name: str) -> list[dict]:
        config = parse_config({"input": {"paths": [str(source)], "shard_bytes": 100_000}, "stages": ["normalize"]})
        return pq.read_table(execute(config, str(tmp_path / name), workers=workers).layout.data).to_pylist()

    resharded = run(2, "two")
    assert len(list((tmp_path / "two" / "data").glob("*.parquet"))) == 6
    config = parse_config({"input": {"paths": [str(source)]}, "stages": ["normalize"]})  # the default: one shard
    single = pq.read_table(execute(config, str(tmp_path / "one")).layout.data).to_pylist()
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(resharded, key=key) == sorted(single, key=key)  # same ids, texts and metadata


def test_a_half_written_reshard_is_made_again(tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl.gz"
    with gzip.open(source, "wt") as out:
        out.writelines(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(2000))
    options = InputOptions(paths=[str(source)], shard_bytes=10_000)
    work = tmp_path / "work"
    first = reshard(list_shards(options), work, options)
    copy = Path(first[0].path)
    expected = copy.read_bytes()
    copy.unlink()
    copy.with_name(copy.name + ".tmp").write_bytes(expected[:100])  # an interrupted copy
    again = reshard(list_shards(options), work, options)
    assert again == first and copy.read_bytes() == expected


def test_a_damaged_compressed_file_is_not_resharded(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b'{"text": "doc %d"}\n' % i for i in range(5000)))
    source = tmp_path / "cut.jsonl.gz"
    source.write_bytes(data[: len(data) // 2])
    options = InputOptions(paths=[str(source)], shard_bytes=1000)
    [shard] = reshard(list_shards(options), tmp_path / "work", options)
    assert shard.path == str(source)  # read as it is, so the reader counts the damage


def test_limit_refuses_nonsense(tmp_path: Path) -> None:
    with pytest.raises(CurateError, match="input.limit"):
        parse_config({"input": {"paths": ["x"], "limit": 0}, "stages": ["normalize"]})


# --- progress inside a shard -------------------------------------------------------------------------


def test_a_task_reports_what_it_has_read_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import curate.pipeline
    from curate.progress import reading_so_far

    reports: list[dict] = []
    write = curate.pipeline.write_json_atomic

    def recording(path: Path, data) -> None:
        if path.name.startswith("reading-"):
            reports.append(data)
            assert reading_so_far(path.parent) == ((reports[-2]["docs"], reports[-2]["bytes"]) if len(reports) > 1 else (0, 0))
        write(path, data)

    monkeypatch.setattr(curate.pipeline, "write_json_atomic", recording)
    monkeypatch.setattr(curate.pipeline, "PROGRESS_SECONDS", 0.0)
    source = jsonl(tmp_path / "in.jsonl", [{"text": f"document {i}"} for i in range(2000)])
    outcome = execute(parse_config({"input": {"paths": [str(source)]}, "stages": ["normalize"]}), str(tmp_path / "out"))
    assert [r["docs"] for r in reports] == [255 + 256 * i for i in range(len(reports))] and len(reports) == 7
    assert reports[-1]["bytes"] == sum(len(f"document {i}") for i in range(reports[-1]["docs"]))
    assert reading_so_far(outcome.layout.readings) == (0, 0)  # the reports go when the task is done


def test_parquet_and_hf_without_the_text_column_name_the_column(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import datasets
    import pyarrow as pa

    table = {"id": ["a", "b"], "body": ["a long enough text " * 5, "another one " * 8], "lang": ["en", "fi"]}
    pq.write_table(pa.table(table), tmp_path / "rows.parquet")
    datasets.Dataset.from_dict(table).save_to_disk(str(tmp_path / "rows_hf"))
    for path in ("rows.parquet", "rows_hf"):
        assert run_cli(tmp_path, "--input", str(tmp_path / path), "--output", str(tmp_path / f"out-{path}")) == 2
        err = capsys.readouterr().err
        assert "their fields: body, id, lang; use --text-field body" in err, err


def test_config_differences_name_the_key_paths() -> None:
    from curate.pipeline import config_differences

    old = parse_config({"input": {"paths": ["a"]}, "stages": [{"normalize": {}}, "language"]})
    new = parse_config({"input": {"paths": ["a"], "text_field": "body"}, "stages": [{"normalize": {"fix_mojibake": False}}, "language"]})
    recorded = json.loads(json.dumps(old.to_dict(), default=str))
    assert config_differences(recorded, new.to_dict()) == ["input.text_field", "stages[0].normalize.fix_mojibake"]
    longer = parse_config({"input": {"paths": ["a"]}, "stages": ["normalize", "language", "gopher_quality"]})
    assert config_differences(recorded, longer.to_dict()) == ["stages"]
    assert config_differences(recorded, old.to_dict()) == []
