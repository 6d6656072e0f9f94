"""curate.io.texts: the one reader of "the texts of a path" that evaluation sets, BPE training, the classifier
tools and scripts share. Small files written here in every format, and real JSONL recompressed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from curate.errors import CurateError
from curate.io.texts import iter_records, iter_texts, text_files


def test_every_format_in_a_stable_order(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"a whole\r\nbook\r\n")  # Gutenberg's line ends read as \n
    with gzip.open(folder / "b.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("a gzipped book")
    (folder / "c.csv").write_text("id,body\n1,csv row\n2,\n", encoding="utf-8")
    lines = "\n".join(json.dumps({"body": t}) for t in ["zst one", "   ", "zst two"]) + "\n"
    (folder / "d.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))
    pq.write_table(pa.table({"body": ["parquet row", None], "other": [1, 2]}), folder / "e.parquet")
    (folder / "notes.md").write_text("not read", encoding="utf-8")
    assert list(iter_texts(folder, "body")) == ["a whole\nbook\n", "a gzipped book", "csv row", "zst one", "zst two", "parquet row"]
    assert [where for where, _ in iter_records(folder / "c.csv", "body")] == [f"{folder / 'c.csv'}: record 1", f"{folder / 'c.csv'}: record 2"]


def test_a_run_folder_means_its_kept_documents(tmp_path: Path) -> None:
    for sub, text in (("data", "kept"), ("removed", "removed")):
        (tmp_path / "run" / sub).mkdir(parents=True)
        pq.write_table(pa.table({"id": ["x"], "text": [text]}), tmp_path / "run" / sub / "part-00000.parquet")
    assert list(iter_texts(tmp_path / "run")) == ["kept"]
    assert text_files([tmp_path / "run", tmp_path / "run" / "removed" / "part-00000.parquet"])[1].parent.name == "removed"


def test_strict_and_lenient(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "one"}\nnot json\n{"content": "no text field"}\n{"text": "two"}\n', encoding="utf-8")
    assert list(iter_texts(path, lenient=True)) == ["one", "two"]  # bulk corpora (BPE): other lines are passed over
    with pytest.raises(CurateError, match=r"d.jsonl: line 2 is not JSON"):
        list(iter_texts(path))
    path.write_text('{"text": "one"}\n{"content": "x"}\n', encoding="utf-8")
    with pytest.raises(CurateError, match=r"d.jsonl: record 2 has no field 'text'; fields: content"):
        list(iter_texts(path))
    path.write_text('{"text": 3}\n', encoding="utf-8")
    with pytest.raises(CurateError, match=r"record 1: field 'text' holds int, not text"):
        list(iter_texts(path))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("d.tsv", b"text\n", "expected a .csv, .jsonl"),
        ("d.txt", b"\x00\x01binary", "binary data, not text"),
        ("d.jsonl.gz", b"\x1f\x8b\x08 cut short", "not readable"),
        ("d.parquet", b"PAR1 not really", "not a readable Parquet file"),
        ("d.csv", b"a\n1,2\n", "more fields than the header"),
    ],
)
def test_unreadable_input_is_one_line_naming_the_file(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CurateError, match=message) as error:
        list(iter_texts(tmp_path / name))
    assert name in str(error.value) and "\n" not in str(error.value)


def test_parquet_without_the_text_column_names_the_columns(tmp_path: Path) -> None:
    pq.write_table(pa.table({"content": ["x"]}), tmp_path / "d.parquet")
    with pytest.raises(CurateError, match="no column 'text'; columns: content"):
        list(iter_texts(tmp_path / "d.parquet", lenient=True))
    with pytest.raises(CurateError, match="input not found"):
        text_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CurateError, match="no .csv, .jsonl"):
        text_files(tmp_path / "empty")


def test_real_jsonl_reads_alike_plain_gzip_and_zstd(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "news-reuters21578" / "docs.jsonl.gz"
    raw = gzip.decompress(source.read_bytes())
    (tmp_path / "docs.jsonl").write_bytes(raw)
    (tmp_path / "docs.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    expected = [text for line in raw.splitlines() if (text := json.loads(line)["text"]).strip()]
    assert len(expected) > 20_000
    for path in (source, tmp_path / "docs.jsonl", tmp_path / "docs.jsonl.zst"):
        assert list(iter_texts(path)) == expected
