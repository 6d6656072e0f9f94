"""The Python API: the README's examples run as written, and its edges say what is wrong."""

from __future__ import annotations

import gzip
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

import curate
from curate.errors import ConfigError, CurateError

REPO = Path(__file__).resolve().parents[1]


def readme_examples(section: str) -> list[str]:
    """The ```python blocks of one README section, as the README shows them."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    body = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    examples = readme_examples("Python")
    assert len(examples) == 2
    (tmp_path / "sample_data").symlink_to(REPO / "sample_data")
    monkeypatch.chdir(tmp_path)  # the examples use paths relative to a checkout, and write out/
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    for example in examples:
        exec(compile(example, "README.md", "exec"), {})
    stats = json.loads((tmp_path / "out" / "python" / "stats.json").read_text())
    assert (tmp_path / "out" / "python" / "tokens" / "manifest.json").is_file() and stats["docs_written"] > 0


def test_run_takes_a_yaml_path_and_returns_stats_json(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"id": str(i), "text": f"text {i}"}) + "\n" for i in range(5)))
    (tmp_path / "p.yaml").write_text("input: {paths: [nowhere]}\nstages: [normalize]\n")
    stats = curate.run(tmp_path / "p.yaml", inputs=tmp_path / "a.jsonl", output=tmp_path / "out")
    assert stats == json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["docs_written"] == 5
    with pytest.raises(CurateError, match="no output folder"):
        curate.run({"input": {"paths": [str(tmp_path / "a.jsonl")]}, "stages": ["normalize"]})


def test_run_takes_the_pipelines_workers_unless_given(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"id": str(i), "text": f"text {i}"}) + "\n" for i in range(5)))
    pipeline = {"input": {"paths": [str(tmp_path / "a.jsonl")]}, "stages": ["normalize"], "workers": 2}
    assert curate.run(pipeline, output=tmp_path / "yaml")["run"]["workers"] == 2
    assert curate.run(pipeline, output=tmp_path / "given", workers=1)["run"]["workers"] == 1


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: curate.as_filter("minhash_dedup"), "global stage"),
        (lambda: curate.as_map("exact_dedup"), "run it in a pipeline with curate.run"),
        (lambda: curate.as_filter("gopher_quality", mode="annotate"), "mode is set by the function"),
        (lambda: curate.as_filter("gopher_quality", min_word="x"), "gopher_quality: unknown option 'min_word'"),
        (lambda: curate.as_map("nope"), "unknown stage 'nope'"),
    ],
)
def test_stage_functions_refuse_what_they_cannot_do(make, message):
    with pytest.raises(CurateError) as error:
        make()
    assert message in str(error.value)


def test_a_batch_without_the_text_column_is_named():
    with pytest.raises(CurateError, match="no 'content' column"):
        curate.as_filter("gopher_quality", text_field="content")({"text": ["a"]})


def test_stage_function_pickles_without_its_model():
    language = curate.as_map("language")
    language({"text": ["Some English words here."]})  # loads lid.176
    restored = pickle.loads(pickle.dumps(language))
    assert len(pickle.dumps(language)) < 1000 and restored._stage is None
    assert restored({"text": ["Noch ein deutscher Satz, bitte."]})["language"] == ["de"]


def test_filter_and_map_agree_on_real_documents(shared_data):
    rows = [json.loads(line) for line in (shared_data / "cc-text-jsonl-dolma" / "cc_en_head-0174.jsonl").read_text().splitlines()]
    batch = {"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}
    keep = curate.as_filter("c4_quality")(batch)
    reasons = curate.as_map("c4_quality")(batch)["c4_quality_reason"]
    assert keep == [reason == "" for reason in reasons]
    assert 0 < sum(keep) < len(keep)


def test_import_curate_stays_light():
    loaded = subprocess.run(
        [sys.executable, "-c", "import curate, sys; print(sorted(m for m in ('pyarrow', 'yaml', 'numpy', 'datasets') if m in sys.modules))"],
        capture_output=True, text=True, check=True,
    )
    assert loaded.stdout.strip() == "[]"
    assert isinstance(curate.as_filter, type(curate.run)) and curate.__all__ == ["as_filter", "as_map", "run"]
    with pytest.raises(AttributeError):
        curate.no_such_thing  # noqa: B018
    with pytest.raises(ConfigError):
        curate.as_filter("normalize", fix_mojibake="yes")


def test_a_stage_function_takes_an_id_as_a_pipeline_stage_does():
    batch = {"text": ["short", "The cat sat on the mat, and it was happy with the warm day. " * 5]}
    columns = curate.as_map("gopher_quality", id="gopher_again", min_words=10)(batch)
    assert columns["gopher_again_reason"] == ["word_count", ""]


def _gold_page(shared_data: Path) -> dict:
    with gzip.open(shared_data / "html-cleaning-gold" / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        return json.loads(next(lines))  # the BBC's "One couple's mission to find a better work/life balance"


def test_extract_reads_the_page_from_the_html_column_else_the_text_column(shared_data):
    page = _gold_page(shared_data)["html"]
    from_text = curate.as_map("extract")({"text": [page]})
    from_html = curate.as_map("extract")({"html": [page, ""], "text": ["", "already text"]})
    assert from_html["text"][0] == from_text["text"][0] and "One couple's mission" in from_text["text"][0]
    assert "<" not in from_text["text"][0] and from_text["extracted_chars"] == [len(from_text["text"][0])]
    assert from_html["text"][1] == "already text" and from_html["extract_reason"] == ["", ""]  # an empty page keeps its text
    assert curate.as_filter("extract")({"text": [page, "<html><body></body></html>"]}) == [True, False]


@pytest.mark.parametrize(
    "batch, message",
    [
        ({"text": ["a b", "c d", "e f"], "id": ["a"]}, r"columns differ in length \(text: 3, id: 1\)"),
        ({"text": (t for t in ["a b"])}, "column 'text' is a generator; expected a list or array"),
        ({"text": "a b"}, "column 'text' is a str"),
        ({"text": ["a b", 3]}, "column 'text' row 1 is int, not a string"),
        (["a b"], "a batch is a mapping of columns"),
    ],
)
def test_a_batch_of_the_wrong_shape_is_refused(batch, message):
    with pytest.raises(CurateError, match=message):
        curate.as_filter("gopher_quality")(batch)


def test_numpy_and_arrow_columns_are_read():
    import numpy as np
    import pyarrow as pa
    from datasets import Dataset

    good = "The committee met on Tuesday to review the budget for the coming year, and agreed to publish its findings."
    ds = Dataset.from_dict({"id": ["a", "b"], "text": [good, "click here"]}).with_format("numpy")
    assert list(ds.filter(curate.as_filter("gopher_quality", min_words=5), batched=True)["id"]) == ["a"]
    keep = curate.as_filter("gopher_quality", min_words=5)
    assert keep({"text": pa.array([good, "click here"]), "id": np.array([1, 2])}) == [True, False]
    # a whole batch as a pandas DataFrame or an Arrow table (Ray Data's batch formats), with or without ids
    import pandas as pd

    assert keep(pd.DataFrame({"text": [good, "click here"]})) == [True, False]
    assert keep(pa.table({"id": ["a", "b"], "text": [good, "click here"]})) == [True, False]


def test_a_stage_is_given_by_its_name():
    from curate.stages import stage_class

    gopher = stage_class("gopher_quality")
    for given, what in [(gopher, "not the class GopherQuality"), (gopher(), "not a GopherQuality"), (("gopher_quality", {}), "not a tuple")]:
        with pytest.raises(CurateError, match=what):
            curate.as_filter(given)


def test_a_document_without_an_id_is_split_by_its_text_not_its_place_in_the_batch():
    tokenize = curate.as_map("tokenize", val_fraction=0.5)
    texts = [f"document number {i}" for i in range(12)]
    splits = dict(zip(texts, tokenize({"text": texts})["split"]))
    assert set(splits.values()) == {"train", "val"}
    assert tokenize({"text": texts[::-1]})["split"] == [splits[t] for t in texts[::-1]]
    assert tokenize({"text": texts[5:6]})["split"] == [splits[texts[5]]]
