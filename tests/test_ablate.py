"""`curate ablate` end to end on a slice of real Common Crawl text: structure of ablation.json, equal token
budgets, one shared tokenizer, and an evaluation text that no variant trains on; plus config errors."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from curate.ablate import load_ablation, ngram_overlap, parse_ablation, run_ablation
from curate.cli import main as cli_main
from curate.errors import ConfigError
from curate.tokens.encodings import load_encoding
from curate.tokens.shards import documents, read_manifest, shard_paths

FIXED_KEYS = {"variant", "seed", "docs", "tokens", "val_loss", "val_bpb", "tokens_per_s"}  # DESIGN.md
SEEDS = [0, 1]
EVAL_TOKENS_PER_DOCUMENT = 1500
VOCAB_SIZE = 320


def ablation_yaml(inputs: list[str], eval_files: list[Path], **changes) -> dict:
    """Two variants of a three-stage pipeline and a model so small that a run takes about a second."""
    config = {
        "input": {"paths": inputs},
        "pipeline": {"stages": [{"normalize": {}}, {"language": {"keep": ["en"]}}, {"gopher_quality": {}}]},
        "variants": {"raw": {"stages": ["normalize"]}, "curated": None},
        "tokenizer": {"vocab_size": VOCAB_SIZE},
        "eval": {"paths": [str(f) for f in eval_files], "tokens_per_document": EVAL_TOKENS_PER_DOCUMENT},
        "threads": 1,
        "train": {"tokens": 2048, "seeds": SEEDS, "batch_size": 4, "evals": 2, "eval_tokens": 256,
                  "model": {"context": 16, "n_layer": 1, "d_model": 16, "n_head": 2}, "device": "cpu"},
    }
    return {**config, **changes}


@pytest.fixture(scope="module")
def real_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[Path]]:
    """60 Common Crawl documents in several languages, and the first 12 KB of WikiText-2 validation and of a
    Gutenberg book as held-out text (cut at run time from the shared data, never stored in the repository)."""
    folder = tmp_path_factory.mktemp("slice")
    crawl = shared_data / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(crawl, "rt", encoding="utf-8") as lines:
        head = [next(lines) for _ in range(60)]
    (folder / "crawl.jsonl").write_text("".join(head), encoding="utf-8")
    eval_files = []
    for name, source in (("wikitext-valid", "wikitext2-valid-test/valid.txt"), ("emma", "gutenberg-nltk/austen-emma.txt")):
        eval_files.append(folder / f"{name}-head.txt")
        eval_files[-1].write_text((shared_data / source).read_text(encoding="utf-8")[:12_000], encoding="utf-8")
    return [str(folder / "crawl.jsonl")], eval_files


@pytest.fixture(scope="module")
def ablation(real_slice: tuple[list[str], list[Path]], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    config = parse_ablation(ablation_yaml(*real_slice))
    out = tmp_path_factory.mktemp("ablation") / "out"
    threads = torch.get_num_threads()
    result = run_ablation(config, out, quiet=True)
    assert torch.get_num_threads() == threads  # `threads: 1` held for the training only
    return result, out


def test_ablation_json_has_every_variant_and_seed(ablation: tuple[dict, Path]) -> None:
    result, out = ablation
    stored = json.loads((out / "ablation.json").read_text())
    assert stored == json.loads(json.dumps(result))
    runs = stored["runs"]
    assert sorted((r["variant"], r["seed"]) for r in runs) == sorted((v, s) for v in ("raw", "curated") for s in SEEDS)
    for run in runs:
        assert FIXED_KEYS | {"epochs", "curve"} <= set(run)
        assert 0 < run["val_loss"] < math.log(VOCAB_SIZE)  # trained: better than a uniform guess over the vocabulary
        assert 0 < run["val_bpb"] < math.inf and 0 < run["tokens_per_s"] < math.inf
        assert len(run["curve"]) == 2 and run["curve"][-1] == [run["tokens_trained"], run["val_loss"]]
    assert len({r["val_loss"] for r in runs}) == len(runs)  # each seed trains its own model
    assert {row["variant"] for row in stored["summary"]} == {"raw", "curated"}
    assert all((out / "variants" / v / "ablation.json").is_file() for v in ("raw", "curated"))
    assert "id='ablation'" in (out / "report.html").read_text()


def test_equal_token_budgets_and_epochs(ablation: tuple[dict, Path]) -> None:
    result, out = ablation
    runs = result["runs"]
    assert len({r["tokens_trained"] for r in runs}) == 1  # the same tokens for every variant and seed
    for run in runs:
        split = read_manifest(out / "variants" / run["variant"] / "tokens")["splits"]
        assert (run["docs"], run["tokens"]) == (split["train"]["docs"], split["train"]["tokens"])
        assert split["val"]["tokens"] == 0  # the held-out text is the only validation
        assert run["epochs"] == pytest.approx(run["tokens_trained"] / run["tokens"])
    by_variant = {r["variant"]: r for r in runs}
    # The language filter removed the non-English pages, so curated has less data and repeats it more.
    assert by_variant["curated"]["docs"] < by_variant["raw"]["docs"]
    assert by_variant["curated"]["epochs"] > by_variant["raw"]["epochs"]


def test_one_tokenizer_trained_on_the_curated_text(ablation: tuple[dict, Path]) -> None:
    result, out = ablation
    encoding = result["tokenizer"]["encoding"]
    manifests = [read_manifest(out / "variants" / v / "tokens") for v in ("raw", "curated")]
    manifests.append(read_manifest(result["eval"]["folder"]))
    assert {(m["encoding"], m["encoding_sha256"], m["vocab_size"]) for m in manifests} == {
        (encoding, result["tokenizer"]["encoding_sha256"], 320)
    }
    assert result["tokenizer"]["trained_on"] == "curated"
    source_ids = _kept_ids(out / "tokenizer" / "source")
    assert source_ids == _kept_ids(out / "variants" / "curated") and source_ids < _kept_ids(out / "variants" / "raw")


def test_eval_text_is_in_no_training_shard(ablation: tuple[dict, Path], real_slice: tuple[list[str], list[Path]]) -> None:
    result, out = ablation
    encoding = load_encoding(result["tokenizer"]["encoding"])
    eval_lines = [line.strip() for f in real_slice[1] for line in f.read_text().splitlines() if len(line.strip()) > 40]
    eval_shards = shard_paths(result["eval"]["folder"], "val")
    assert eval_lines and eval_shards
    for variant in ("raw", "curated"):
        train_shards = shard_paths(out / "variants" / variant / "tokens", "train")
        trained_text = "".join(encoding.decode(doc.tolist()) for shard in train_shards for doc in documents(shard))
        assert trained_text and not [line for line in eval_lines if line in trained_text]
        assert result["variants"][variant]["eval_overlap"] == ngram_overlap(train_shards, eval_shards) < 0.05
    # The overlap measure does see a leak: the eval shards against themselves, and one planted paragraph.
    assert ngram_overlap(eval_shards, eval_shards) == 1.0


def test_ngram_overlap_counts_a_planted_paragraph(tmp_path: Path) -> None:
    from curate.tokens.shards import TokenShardWriter

    rng = np.random.default_rng(0)
    eval_tokens, train_tokens = rng.integers(1, 999, 1000), rng.integers(1, 999, 5000)
    train_tokens[100:300] = eval_tokens[:200]  # the eval shard is end-of-text + 1000 tokens: 188 of its 989 13-grams leak
    for name, tokens in (("eval", eval_tokens), ("train", train_tokens)):
        writer = TokenShardWriter(tmp_path / name, name, vocab_size=1000, eot_token=0)
        writer.add("train", tokens)
        writer.close()
    overlap = ngram_overlap(sorted((tmp_path / "train").glob("*.bin")), sorted((tmp_path / "eval").glob("*.bin")))
    assert overlap == pytest.approx(188 / 989)


def test_eval_documents_are_cut_alike(ablation: tuple[dict, Path]) -> None:
    val = read_manifest(ablation[0]["eval"]["folder"])["splits"]["val"]
    assert (val["docs"], val["tokens"]) == (2, 2 * (1 + EVAL_TOKENS_PER_DOCUMENT))  # end-of-text + the first N tokens


def test_rerun_resumes_every_training_run(ablation: tuple[dict, Path], real_slice: tuple[list[str], list[Path]]) -> None:
    result, out = ablation
    config = parse_ablation(ablation_yaml(*real_slice))
    again = run_ablation(config, out, quiet=True)
    assert [r["val_loss"] for r in again["runs"]] == [r["val_loss"] for r in result["runs"]]


def test_variant_stages_from_drop_and_from_names(tmp_path: Path) -> None:
    base = {"stages": [{"normalize": {"fix_mojibake": False}}, {"language": {"keep": ["en"]}},
                       {"gopher_quality": {}}, {"tokenize": {"shard_tokens": 5000, "val_fraction": 0.5}}]}
    raw = ablation_yaml(["x"], [tmp_path / "eval.txt"], pipeline=base, variants={
        "no_quality": {"drop": ["gopher_quality"]}, "two": {"stages": ["language", {"normalize": {}}]}, "full": None})
    config = parse_ablation(raw)
    stages = {v.name: v.stages for v in config.variants}
    assert stages["no_quality"] == [("normalize", {"fix_mojibake": False}), ("language", {"keep": ["en"]})]
    assert stages["two"] == [("language", {"keep": ["en"]}), ("normalize", {})]
    assert [n for n, _ in stages["full"]] == ["normalize", "language", "gopher_quality"]  # tokenize is the ablation's
    assert config.tokenize_options == {"shard_tokens": 5000}
    assert config.reference == "no_quality"  # no variant is called curated: the first one


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"variants": {"a": {"drop": ["minhash"]}}}, "variants.a.drop: 'minhash' is not a stage"),
        ({"variants": {"a": {"stages": ["nonsense"]}}}, "unknown stage 'nonsense'"),
        ({"variants": {"a": {"stages": [{"tokenize": {}}]}}}, "tokenize is the ablation's own last stage"),
        ({"variants": {"a": {"drop": [], "stages": []}}}, "either 'drop' or 'stages'"),
        ({"variants": {"../a": None}}, "a variant name is a folder name"),
        ({"reference": "b"}, "reference: 'b' is not a variant"),
        ({"tokenizer": {"train_on": "b"}}, "tokenizer.train_on: 'b' is not a variant"),
        ({"tokenizer": {"encoding": "nope"}}, "unknown encoding 'nope'"),
        ({"train": {"tokens": "many"}}, "train.tokens: expected an integer"),
        ({"train": {"seed": 3}}, "train: unknown key 'seed'"),
        ({"train": {"seeds": [1, 1]}}, "train.seeds: expected distinct seeds"),
        ({"eval": {"path": "x"}}, "eval: expected {paths"),
        ({"eval": {"paths": ["x"], "tokens_per_document": 0}}, "eval.tokens_per_document: expected at least 1"),
        ({"colour": 1}, "ablation: unknown key 'colour'"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, change: dict, message: str) -> None:
    raw = ablation_yaml(["x"], [tmp_path / "eval.txt"], variants={"a": None}) | change
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("{", r"\{")):
        parse_ablation(raw)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(ablation_yaml(["x"], [tmp_path / "eval.txt"], variants={"a": {"drop": ["pii"]}})))
    assert cli_main(["ablate", str(path), "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert cli_main(["ablate", str(tmp_path / "missing.yaml")]) == 2
    assert "ablation file not found" in capsys.readouterr().err
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "notes.txt").write_text("mine")
    path.write_text(yaml.safe_dump(ablation_yaml(["x"], [tmp_path / "eval.txt"], variants={"a": None})))
    assert cli_main(["ablate", str(path), "--output", str(tmp_path / "occupied")]) == 2
    assert "is not an ablation's output" in capsys.readouterr().err


def test_shipped_ablation_yaml_is_valid() -> None:
    config = load_ablation(Path(__file__).resolve().parents[1] / "pipelines" / "ablation.yaml")
    names = [v.name for v in config.variants]
    assert {"raw", "curated"} <= set(names) and config.reference == "curated" and len(config.seeds) >= 2
    assert [n for n, _ in config.variant("raw").stages] == ["extract", "normalize"]


def _kept_ids(run_dir: Path) -> set[str]:
    import pyarrow.parquet as pq

    return {i for path in sorted((run_dir / "data").glob("*.parquet")) for i in pq.read_table(path, columns=["id"])["id"].to_pylist()}
