"""Stage identity (a key per stage instance), declarative options (validated before anything runs, errors
naming the key path), and plugin stages (`module:ClassName`), on small cases and real Common Crawl text."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.ablate import parse_ablation
from curate.config import load_config, parse_config
from curate.errors import ConfigError
from curate.driver import execute
from curate.options import docs, option, parse
from curate.stages import STAGES, StageOptions, build_stage, stage_class
from curate.stages.minhash_dedup import MinhashDedup



def pipeline(*stages) -> dict:
    return {"input": {"paths": ["x.jsonl"]}, "stages": list(stages)}


@pytest.fixture(scope="module")
def crawl(shared_data: Path, tmp_path_factory) -> Path:
    """200 real Common Crawl documents in several languages, plus ftfy's real mojibake cases (which the first
    normalize repairs and a second, with `fix_mojibake: false`, then leaves alone)."""
    folder = tmp_path_factory.mktemp("crawl")
    with gzip.open(shared_data / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz", "rt") as f:
        lines = [next(f) for _ in range(200)]
    cases = json.loads((shared_data / "ftfy-test-cases" / "in-the-wild.json").read_text(encoding="utf-8"))
    lines += [json.dumps({"id": f"ftfy-{i}", "text": case["original"]}) + "\n" for i, case in enumerate(cases)]
    (folder / "crawl.jsonl").write_text("".join(lines), encoding="utf-8")
    return folder / "crawl.jsonl"


# --- identity ---------------------------------------------------------------------------------------


def test_a_repeated_name_without_ids_names_both_positions():
    with pytest.raises(ConfigError, match=r"^stages\[2\]\.normalize: the stage key 'normalize' repeats stages\[0\]"):
        parse_config(pipeline("normalize", "pii", {"normalize": {"fix_mojibake": False}}))
    with pytest.raises(ConfigError, match=r"stages\[1\]\.pii\.id: expected an identifier"):
        parse_config(pipeline("normalize", {"pii": {"id": "pii again"}}))
    with pytest.raises(ConfigError, match=r"stages\[1\]\.pii: the stage key 'normalize' repeats stages\[0\]"):
        parse_config(pipeline("normalize", {"pii": {"id": "normalize"}}))


def test_repeated_stages_keep_conservation_end_to_end(crawl: Path, tmp_path: Path):
    config = parse_config({"input": {"paths": [str(crawl)]}, "stages": [
        "normalize",
        {"normalize": {"id": "normalize_again", "fix_mojibake": False}},
        {"language": {"keep": ["en"], "threshold": 0.5}},
        {"language": {"id": "language_strict", "keep": ["en"], "threshold": 0.9, "mode": "annotate"}},
    ]})
    outcome = execute(config, str(tmp_path / "out"))
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["conservation"] == {"ok": True, "problems": []}
    assert [(s["name"], s["id"]) for s in stats["stages"]] == [
        ("normalize", "normalize"), ("normalize", "normalize_again"), ("language", "language"), ("language", "language_strict")]
    first, again, language, strict = stats["stages"]
    assert first["docs_in"] == 200 + 70
    assert again["docs_in"] == first["docs_out"] and language["docs_in"] == again["docs_out"]
    assert set(language["removed"]) and all(r.startswith("language:") for r in language["removed"])
    assert strict["removed"] == {} and strict["docs_out"] == language["docs_out"] == stats["docs_written"]
    kept = pq.read_table(tmp_path / "out" / "data").to_pylist()
    removed = pq.read_table(tmp_path / "out" / "removed").to_pylist()
    by_stage = {s["id"]: sum(s["removed"].values()) for s in stats["stages"] if s["removed"]}
    assert {key: sum(r["stage"] == key for r in removed) for key in by_stage} == by_stage and "language" in by_stage
    assert len(removed) == sum(by_stage.values()) and len(kept) == stats["docs_written"]
    # annotate records under the instance's key: what the stricter threshold would have removed
    doubtful = [d for d in kept if d["language_strict_reason"] is not None]
    assert doubtful and all(d["language_strict_language_score"] < 0.9 for d in doubtful)
    assert all(d["language_strict_language_score"] >= 0.9 for d in kept if d["language_strict_reason"] is None)
    # the later instances' signals are columns of their own; the first instances' keep their names
    assert all(d["language_score"] == d["language_strict_language_score"] for d in kept)  # one model, one score
    assert {"mojibake_fixed", "normalize_again_mojibake_fixed"} <= set(kept[0])
    assert strict["histograms"]["language_score"]["counts"] and language["histograms"]["language_score"]["counts"]
    assert outcome.stats.conservation_problems() == []


def test_a_later_instance_of_a_stage_does_not_overwrite_the_first_ones_signals(tmp_path: Path):
    """normalize repairs the mojibake; normalize_again finds none left: each says so in its own column."""
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "Sch\u00c3\u00b6ne Gr\u00c3\u00bc\u00c3\u0178e aus M\u00c3\u00bcnchen"}) + "\n"
                      + json.dumps({"id": "b", "text": "plain text"}) + "\n", encoding="utf-8")
    config = parse_config({"input": {"paths": [str(source)]}, "stages": ["normalize", {"normalize": {"id": "normalize_again"}}]})
    execute(config, str(tmp_path / "out"))
    kept = pq.read_table(tmp_path / "out" / "data").to_pylist()
    assert [(d["text"], d["mojibake_fixed"], d["normalize_again_mojibake_fixed"]) for d in kept] == [
        ("Schöne Grüße aus München", True, False), ("plain text", False, False)]


# --- declarative options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stage, message",
    [
        ({"minhash_dedup": {"num_perm": 1}}, r"stages\[4\]\.minhash_dedup\.num_perm: expected an integer >= 2, got 1$"),
        ({"minhash_dedup": {"threshold": 0}}, r"stages\[4\]\.minhash_dedup\.threshold: expected a number > 0 and <= 1, got 0$"),
        ({"minhash_dedup": {"bands": 4}}, r"stages\[4\]\.minhash_dedup\.rows: give both bands and rows, or neither$"),
        ({"minhash_dedup": {"bands": 20, "rows": 10}}, r"stages\[4\]\.minhash_dedup\.bands: bands x rows \(20 x 10\) must fit"),
        ({"exact_dedup": {"normalize": "lower"}}, r"stages\[4\]\.exact_dedup\.normalize: expected 'none' or 'whitespace' or 'simplify', got 'lower'$"),
        ({"exact_dedup": {"memory_mb": 0}}, r"stages\[4\]\.exact_dedup\.memory_mb: expected an integer >= 1, got 0$"),
        ({"language": {"threshold": 1.5}}, r"stages\[4\]\.language\.threshold: expected a number >= 0 and <= 1, got 1.5$"),
        ({"language": {"max_chars": 0}}, r"stages\[4\]\.language\.max_chars: expected an integer >= 1 or null, got 0$"),
        ({"language": {"model": "no/such/lid.176.ftz"}}, r"stages\[4\]\.language\.model: file not found: no/such/lid.176.ftz$"),
        ({"tokenize": {"val_fraction": -0.1}}, r"stages\[4\]\.tokenize\.val_fraction: expected a number >= 0 and <= 1"),
        ({"tokenize": {"encoding": "no_such_encoding"}}, r"stages\[4\]\.tokenize\.encoding: "),
        ({"url_filter": {"domain_files": ["missing.txt"]}}, r"stages\[4\]\.url_filter\.domain_files: file not found: missing.txt$"),
        ({"extract": {"timeout_s": 0}}, r"stages\[4\]\.extract\.timeout_s: expected a number > 0 or null, got 0$"),
        ({"normalize": {"fix_mojibak": True}}, r"stages\[4\]\.normalize: unknown option 'fix_mojibak'; did you mean 'fix_mojibake'\?"),
        ({"normalise": {}}, r"stages\[4\]\.normalise: unknown stage 'normalise'; did you mean 'normalize'\?"),
        ({"pii": {"mode": "drop"}}, r"stages\[4\]\.pii\.mode: expected 'filter' or 'annotate', got 'drop'$"),
    ],
)
def test_option_errors_name_the_key_path(stage, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(pipeline("extract", "normalize", "url_filter", "pii", stage))


def test_top_level_and_input_typos_get_the_nearest_name():
    with pytest.raises(ConfigError, match=r"pipeline: unknown key 'stagse'; did you mean 'stages'\?"):
        parse_config({"input": {"paths": ["x"]}, "stagse": []})
    with pytest.raises(ConfigError, match=r"input: unknown option 'text_feild'; did you mean 'text_field'\?"):
        parse_config({"input": {"paths": ["x"], "text_feild": "body"}, "stages": ["normalize"]})


def test_a_pipeline_file_that_is_not_utf8_is_one_line_naming_the_file_and_byte(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("stages: [normalize]  # café\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.yaml: not UTF-8 text \(byte 26: b'\\xe9'\)$"):
        load_config(path)


def test_stages_built_in_code_are_validated_like_the_config():
    with pytest.raises(ConfigError, match=r"^minhash_dedup\.num_perm: expected an integer >= 2, got 1$"):
        MinhashDedup(num_perm=1)
    stage = MinhashDedup(threshold=0.5, num_perm=64)
    assert (stage.options.threshold, stage.options.num_perm, stage.hasher.num_perm) == (0.5, 64, 64)


def test_every_stage_declares_documented_options():
    """Each built-in stage declares its options class and documents every field."""
    for name in STAGES:
        options = stage_class(name).Options
        assert issubclass(options, StageOptions) and options is not StageOptions and "mode" in docs(options), name
        assert all(docs(options).values()), f"{name}: every option needs a one-line doc"
        required = [f.name for f in dataclasses.fields(options) if f.default is f.default_factory is dataclasses.MISSING]
        if not required:
            assert parse(options, {}, name) == options(), name  # the defaults are valid
        else:
            with pytest.raises(ConfigError, match=rf"^{name}: missing option '{required[0]}'"):
                parse(options, {}, name)


def test_an_option_type_the_checker_cannot_check_fails_closed():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class PathOptions(StageOptions):
        where: Path = option(Path("."), "a type the YAML cannot hold")

    with pytest.raises(TypeError, match="not a type an option can have"):
        parse(PathOptions, {"where": "anything"}, "t")


def test_every_ablation_variant_is_validated_before_anything_runs(tmp_path: Path):
    (tmp_path / "eval.txt").write_text("held-out text", encoding="utf-8")
    raw = {
        "input": {"paths": [str(tmp_path / "in.jsonl")]},
        "pipeline": {"stages": ["normalize", {"minhash_dedup": {}}]},
        "variants": {
            "raw": {"stages": ["normalize"]},
            "curated": None,
            "loose": {"stages": ["normalize", {"minhash_dedup": {"num_perm": 1}}]},
        },
        "eval": {"paths": [str(tmp_path / "eval.txt")]},
        "train": {"tokens": 1000},
    }
    with pytest.raises(ConfigError, match=r"variants\.loose\.stages\[1\]\.minhash_dedup\.num_perm: expected an integer >= 2"):
        parse_ablation(raw)
    raw["variants"]["loose"] = {"stages": ["normalize", "normalize"]}
    with pytest.raises(ConfigError, match=r"variants\.loose\.stages\[1\]\.normalize: the stage key 'normalize' repeats"):
        parse_ablation(raw)
    raw["pipeline"]["stages"] = ["normalize", {"normalize": {"id": "normalize_again", "fix_mojibake": False}}]
    raw["variants"]["loose"] = {"drop": ["normalize_again"]}  # a repeated stage is dropped by its key
    raw["variants"]["again"] = {"stages": ["normalize_again"]}  # and picked by it
    config = parse_ablation(raw)
    assert config.variant("loose").stages == [("normalize", {})]
    assert config.variant("again").stages == [("normalize", {"id": "normalize_again", "fix_mojibake": False})]
    assert config.variant("raw").stages == [("normalize", {})]
    del raw["variants"]["again"]
    raw["train"] = {"tokens": 1000, "lr": "fast"}
    with pytest.raises(ConfigError, match=r"train\.lr: expected a number or null, got 'fast'"):
        parse_ablation(raw)


# --- plugin stages ----------------------------------------------------------------------------------


def test_a_plugin_stage_runs_and_is_counted_like_a_built_in(crawl: Path, tmp_path: Path):
    """`plugin_stage` is tests/plugin_stage.py, importable because tests/ is on the path; two workers
    import it in their own processes."""
    config = parse_config({"input": {"paths": [str(crawl)]}, "stages": [
        "normalize", {"plugin_stage:ShortDocs": {"min_words": 100}}, {"plugin_stage:ShortDocs": {"id": "long_docs", "min_words": 400}},
    ]})
    execute(config, str(tmp_path / "out"), workers=2)
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["conservation"]["ok"]
    short, long = stats["stages"][1:]
    assert (short["name"], short["id"], long["name"], long["id"]) == ("short_docs", "short_docs", "short_docs", "long_docs")
    removed = pq.read_table(tmp_path / "out" / "removed").to_pylist()
    kept = pq.read_table(tmp_path / "out" / "data").to_pylist()
    assert sum(short["removed"].values()) == sum(r["stage"] == "short_docs" for r in removed) > 0
    assert sum(long["removed"].values()) == sum(r["stage"] == "long_docs" for r in removed) > 0
    plugin_removed = [r for r in removed if r["stage"] != "normalize"]
    assert all(r["reason"] == f"{r['stage']}:too_few_words" and int(r["detail"]) < 400 for r in plugin_removed)
    assert kept and all(d["word_count"] == len(d["text"].split()) >= 400 for d in kept)


@pytest.mark.parametrize(
    "name, message",
    [
        ("no_such_module:Stage", r"stages\[0\]\.no_such_module:Stage: plugin module 'no_such_module' not found"),
        ("plugin_stage:Missing", r"plugin module plugin_stage has no class 'Missing'"),
        ("plugin_stage:NotAStage", r"plugin_stage:NotAStage is not a subclass of curate\.stages\.Stage"),
    ],
)
def test_plugin_errors_are_one_clear_line(name, message):
    with pytest.raises(ConfigError, match=message) as error:
        parse_config(pipeline({name: {}}))
    assert "\n" not in str(error.value)


def test_plugin_options_are_validated_like_a_built_in():
    with pytest.raises(ConfigError, match=r"stages\[0\]\.plugin_stage:ShortDocs\.min_words: expected an integer >= 1, got 0"):
        parse_config(pipeline({"plugin_stage:ShortDocs": {"min_words": 0}}))
    stage = build_stage("plugin_stage:ShortDocs", {"id": "tiny", "min_words": 2})
    assert (stage.key, stage.name, stage.options.min_words) == ("tiny", "short_docs", 2)
