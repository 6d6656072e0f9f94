"""`curate ablate` end to end on a slice of real Common Crawl text: ablation.json's structure, equal token budgets,
one tokenizer trained on the pool, variants taken from one annotated pool run exactly as their own pipelines
would select, decontamination against the evaluation domains, paired differences; plus config errors."""

from __future__ import annotations

import gzip
import json
import math
import statistics
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
import yaml

from curate.ablate import load_ablation, parse_ablation, plan_pool, run_ablation
from curate.cli import main as cli_main
from curate.errors import ConfigError, CurateError
from curate.tokens.encodings import load_encoding
from curate.tokens.shards import documents, read_manifest, shard_paths

FIXED_KEYS = {"variant", "seed", "docs", "tokens", "val_loss", "val_bpb", "tokens_per_s"}  # DESIGN.md
SEEDS = [0, 1]
VARIANTS = ("raw", "language_only", "curated")
EVAL_TOKENS_PER_DOCUMENT = 1500
VOCAB_SIZE = 320
PLANTED = "planted-eval-copy"


def ablation_yaml(inputs: list[str], eval_paths: list[str], **changes) -> dict:
    """Three variants of a five-stage pipeline and a model so small that a run takes about a second."""
    config = {
        "input": {"paths": inputs},
        "pipeline": {"stages": [{"normalize": {}}, {"decontaminate": {"against": "eval"}}, {"language": {"keep": ["en"]}},
                                {"gopher_quality": {}}, {"exact_dedup": {}}]},
        "variants": {"raw": {"stages": ["normalize"]}, "language_only": {"stages": ["normalize", "language"]},
                     "curated": None},
        "tokenizer": {"vocab_size": VOCAB_SIZE},
        "eval": {"paths": eval_paths, "tokens_per_document": EVAL_TOKENS_PER_DOCUMENT},
        "threads": 1,
        "parallel": 2,
        "train": {"tokens": 2048, "seeds": SEEDS, "batch_size": 4, "evals": 2, "eval_tokens": 256,
                  "model": {"context": 16, "n_layer": 1, "d_model": 16, "n_head": 2}, "device": "cpu"},
    }
    return {**config, **changes}


@pytest.fixture(scope="module")
def real_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    """60 Common Crawl documents in several languages plus one that copies an evaluation paragraph; three
    evaluation domains of three kinds (cut at run time from the shared data, never stored in the repository):
    a .txt file (the head of a Gutenberg novel), a folder of .txt files (two more novels' heads) and a JSONL
    file (40 Reuters articles)."""
    folder = tmp_path_factory.mktemp("slice")
    crawl = shared_data / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(crawl, "rt", encoding="utf-8") as lines:
        head = [next(lines) for _ in range(60)]
    emma = (shared_data / "gutenberg-nltk" / "austen-emma.txt").read_text(encoding="utf-8")[:12_000]
    planted = {"id": PLANTED, "text": "A page that quotes a novel. " + emma[5_000:6_500]}
    (folder / "crawl.jsonl").write_text("".join(head) + json.dumps(planted) + "\n", encoding="utf-8")
    (folder / "emma.txt").write_text(emma, encoding="utf-8")
    (folder / "books").mkdir()
    for name in ("chesterton-brown", "melville-moby_dick"):
        text = (shared_data / "gutenberg-nltk" / f"{name}.txt").read_text(encoding="utf-8")[:8_000]
        (folder / "books" / f"{name}.txt").write_text(text, encoding="utf-8")
    with gzip.open(shared_data / "news-reuters21578" / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        (folder / "reuters.jsonl").write_text("".join(next(lines) for _ in range(40)), encoding="utf-8")
    return [str(folder / "crawl.jsonl")], [str(folder / "emma.txt"), str(folder / "books"), str(folder / "reuters.jsonl")]


@pytest.fixture(scope="module")
def ablation(real_slice: tuple[list[str], list[str]], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    config = parse_ablation(ablation_yaml(*real_slice))
    out = tmp_path_factory.mktemp("ablation") / "out"
    threads = torch.get_num_threads()
    result = run_ablation(config, out, quiet=True)
    assert torch.get_num_threads() == threads  # `threads: 1` held for the training only
    return result, out


def test_ablation_json_has_every_variant_seed_and_domain(ablation: tuple[dict, Path]) -> None:
    result, out = ablation
    stored = json.loads((out / "ablation.json").read_text())
    assert stored == json.loads(json.dumps(result))
    runs = stored["runs"]
    assert sorted((r["variant"], r["seed"]) for r in runs) == sorted((v, s) for v in VARIANTS for s in SEEDS)
    assert [d["name"] for d in stored["eval"]["domains"]] == ["emma", "books", "reuters"]
    for run in runs:
        assert FIXED_KEYS | {"epochs", "curve", "domains"} <= set(run)
        assert 0 < run["val_loss"] < math.log(VOCAB_SIZE)  # trained: better than a uniform guess over the vocabulary
        assert 0 < run["val_bpb"] < math.inf and 0 < run["tokens_per_s"] < math.inf
        assert set(run["domains"]) == {"emma", "books", "reuters"}
        assert run["val_bpb"] == pytest.approx(statistics.fmean(d["val_bpb"] for d in run["domains"].values()))
        assert len(run["curve"]) == 2 and run["curve"][-1][0] == run["tokens_trained"]
    assert len({r["val_loss"] for r in runs}) == len(runs)  # each seed trains its own model
    assert {row["variant"] for row in stored["summary"]} == set(VARIANTS)
    assert all((out / "variants" / v / "ablation.json").is_file() for v in VARIANTS)
    assert "id='ablation'" in (out / "report.html").read_text()


def test_paired_differences_are_per_seed(ablation: tuple[dict, Path]) -> None:
    result, _ = ablation
    bpb = {(r["variant"], r["seed"]): r["val_bpb"] for r in result["runs"]}
    curated = next(row for row in result["summary"] if row["variant"] == "curated")
    assert result["baselines"] == ["raw", "language_only"] and set(curated["vs"]) == {"raw", "language_only"}
    for baseline in ("raw", "language_only"):
        diffs = [bpb["curated", s] - bpb[baseline, s] for s in SEEDS]
        paired = curated["vs"][baseline]
        assert paired["val_bpb"] == pytest.approx(statistics.fmean(diffs))
        assert paired["sd"] == pytest.approx(statistics.stdev(diffs))
        spread = max(statistics.stdev([bpb[v, s] for s in SEEDS]) for v in ("curated", baseline))
        assert paired["spread"] == pytest.approx(spread)
        assert paired["beyond_2x_spread"] == (abs(paired["val_bpb"]) > 2 * spread)
    raw = next(row for row in result["summary"] if row["variant"] == "raw")
    assert set(raw["vs"]) == {"language_only"}  # never against itself


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
    assert by_variant["curated"]["docs"] < by_variant["language_only"]["docs"] < by_variant["raw"]["docs"]
    assert by_variant["curated"]["epochs"] > by_variant["raw"]["epochs"]
    summary = {row["variant"]: row for row in result["summary"]}
    assert all(row["repeats"] == (row["epochs"] > 2) for row in summary.values())


def test_one_tokenizer_trained_on_the_pool(ablation: tuple[dict, Path]) -> None:
    result, out = ablation
    encoding = result["tokenizer"]["encoding"]
    manifests = [read_manifest(out / "variants" / v / "tokens") for v in VARIANTS]
    manifests += [read_manifest(d["folder"]) for d in result["eval"]["domains"]]
    assert {(m["encoding"], m["encoding_sha256"], m["vocab_size"]) for m in manifests} == {
        (encoding, result["tokenizer"]["encoding_sha256"], VOCAB_SIZE)
    }
    assert "sample of the pool" in result["tokenizer"]["trained_on"]
    assert not (out / "tokenizer" / "source").exists()  # no variant's output trains it


def test_variants_from_the_pool_keep_what_their_own_pipelines_keep(ablation: tuple[dict, Path],
                                                                   real_slice: tuple[list[str], list[str]],
                                                                   tmp_path: Path) -> None:
    """The derived variants (annotated pool, filtered by `<stage>_reason`, dedup rerun) keep exactly the
    documents, in the same text, that running each variant's whole pipeline keeps."""
    from curate.config import parse_config
    from curate.driver import execute

    result, out = ablation
    assert all(v["from_pool"] for v in result["variants"].values())
    config = parse_ablation(ablation_yaml(*real_slice))
    for name in ("curated", "language_only"):
        stages = [{n: o} for n, o in config.variant(name).stages]
        execute(parse_config({"input": {"paths": real_slice[0]}, "stages": stages}), str(tmp_path / name))
        assert _kept(out / "variants" / name) == _kept(tmp_path / name)


def test_every_variant_is_decontaminated(ablation: tuple[dict, Path]) -> None:
    result, out = ablation
    assert result["eval"]["decontaminated_by"] == ["decontaminate"]
    for name in VARIANTS:  # raw and language_only did not name it: the ablation added it
        assert "decontaminate" in result["variants"][name]["stages"]
        assert PLANTED not in {i for i, _ in _kept(out / "variants" / name)}
        assert result["variants"][name]["eval_overlap"] == {"emma": 0.0, "books": 0.0, "reuters": 0.0}
    encoding = load_encoding(result["tokenizer"]["encoding"])
    eval_lines = [line.strip() for line in Path(result["eval"]["paths"][0]).read_text().splitlines() if len(line.strip()) > 40]
    for name in VARIANTS:  # no line of the planted novel reached any variant's training tokens
        shards = shard_paths(out / "variants" / name / "tokens", "train")
        trained = "".join(encoding.decode(doc.tolist()) for shard in shards for doc in documents(shard))
        assert trained and eval_lines and not [line for line in eval_lines if line in trained]
    removed = pq.read_table(out / "pool" / "removed").to_pylist()
    assert [(r["id"], r["reason"]) for r in removed if r["stage"] == "decontaminate"] == [(PLANTED, "decontaminate:eval_overlap")]
    before = {d["name"]: d["overlap_before"] for d in result["eval"]["domains"]}
    assert before["emma"] > 0.05 and before["books"] == 0.0 and before["reuters"] == 0.0


def test_rerun_resumes_every_training_run(ablation: tuple[dict, Path], real_slice: tuple[list[str], list[str]]) -> None:
    result, out = ablation
    config = parse_ablation(ablation_yaml(*real_slice, parallel=1))
    again = run_ablation(config, out, quiet=True)
    assert [r["val_bpb"] for r in again["runs"]] == [r["val_bpb"] for r in result["runs"]]


def test_eval_as_plain_txt_paths_still_works(tmp_path: Path) -> None:
    raw = ablation_yaml(["x"], [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")])
    config = parse_ablation(raw)
    assert config.eval_paths == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    assert dict(config.base.stages)["decontaminate"] == {"against": config.eval_paths}


def test_variant_stages_from_drop_and_from_names(tmp_path: Path) -> None:
    base = {"stages": [{"normalize": {"fix_mojibake": False}}, {"language": {"keep": ["en"]}},
                       {"gopher_quality": {}}, {"tokenize": {"shard_tokens": 5000, "val_fraction": 0.5}}]}
    raw = ablation_yaml(["x"], [str(tmp_path / "eval.txt")], pipeline=base, variants={
        "no_quality": {"drop": ["gopher_quality"]}, "two": {"stages": ["language", {"normalize": {}}]}, "full": None})
    config = parse_ablation(raw)
    stages = {v.name: v.stages for v in config.variants}
    assert stages["no_quality"] == [("normalize", {"fix_mojibake": False}), ("language", {"keep": ["en"]})]
    assert stages["two"] == [("language", {"keep": ["en"]}), ("normalize", {})]
    assert [n for n, _ in stages["full"]] == ["normalize", "language", "gopher_quality"]  # tokenize is the ablation's
    assert config.tokenize_options == {"shard_tokens": 5000}
    assert config.reference == "no_quality"  # no variant is called curated: the first one
    plan = plan_pool(config.base.stages, config.variants)
    # "two" reorders and changes options: it runs its own pipeline; the others come from the pool
    assert set(plan.derived) == {"no_quality", "full"}
    assert plan.stages == [("normalize", {"fix_mojibake": False}), ("language", {"keep": ["en"]}),
                           ("gopher_quality", {"mode": "annotate"})]
    assert plan.derived["no_quality"] == ([], []) and plan.derived["full"] == (["gopher_quality"], [])


def test_pool_filters_by_stage_key(tmp_path: Path) -> None:
    """Two language stages told apart by `id`: a variant dropping one filters on the other's `<key>_reason`."""
    base = {"stages": [{"normalize": {}}, {"language": {"keep": ["en"], "id": "lang_en"}},
                       {"language": {"keep": ["en", "fr"], "id": "lang_en_fr"}}, {"exact_dedup": {}}]}
    raw = ablation_yaml(["x"], [str(tmp_path / "eval.txt")], pipeline=base, variants={
        "strict": {"drop": ["lang_en_fr"]}, "loose": {"drop": ["lang_en"]}, "raw": {"stages": ["normalize"]}})
    plan = plan_pool(parse_ablation(raw).base.stages, parse_ablation(raw).variants)
    assert [(n, o.get("id"), o.get("mode")) for n, o in plan.stages] == [
        ("normalize", None, None), ("language", "lang_en", "annotate"), ("language", "lang_en_fr", "annotate")]
    assert plan.derived["strict"] == (["lang_en"], [("exact_dedup", {})])
    assert plan.derived["loose"] == (["lang_en_fr"], [("exact_dedup", {})])
    assert plan.derived["raw"] == ([], [])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"variants": {"a": {"drop": ["minhash"]}}}, "variants.a.drop: 'minhash' is not a stage"),
        ({"variants": {"a": {"stages": ["nonsense"]}}}, "unknown stage 'nonsense'"),
        ({"variants": {"a": {"stages": [{"tokenize": {}}]}}}, "the tokens are the ablation's own last stage"),
        ({"variants": {"a": {"drop": [], "stages": []}}}, "either 'drop' or 'stages'"),
        ({"variants": {"../a": None}}, "a variant name is a folder name"),
        ({"reference": "b"}, "reference: 'b' is not a variant"),
        ({"tokenizer": {"train_on": "a"}}, "tokenizer: unknown key 'train_on'"),
        ({"baselines": ["b"]}, "baselines: 'b' is not a variant"),
        ({"parallel": 0}, "parallel: expected an integer >= 1, got 0"),
        ({"tokenizer": {"encoding": "nope"}}, "unknown encoding 'nope'"),
        ({"train": {"tokens": "many"}}, "train.tokens: expected an integer"),
        ({"train": {"seed": 3}}, "train: unknown key 'seed'"),
        ({"train": {"seeds": [1, 1]}}, "train.seeds: expected distinct seeds"),
        ({"train": {"device": "gpu"}}, "train.device: expected auto, cpu or cuda, got 'gpu'"),
        ({"eval": {"path": "x"}}, "eval: expected {paths"),
        ({"eval": {"paths": ["x"], "tokens_per_document": 0}}, "eval.tokens_per_document: expected an integer >= 1 or null, got 0"),
        ({"colour": 1}, "ablation: unknown key 'colour'"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, change: dict, message: str) -> None:
    raw = ablation_yaml(["x"], [str(tmp_path / "eval.txt")], variants={"a": None}) | change
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("{", r"\{")):
        parse_ablation(raw)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(ablation_yaml(["x"], [str(tmp_path / "eval.txt")], variants={"a": {"drop": ["pii"]}})))
    assert cli_main(["ablate", str(path), "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert cli_main(["ablate", str(tmp_path / "missing.yaml")]) == 2
    assert "ablation file not found" in capsys.readouterr().err
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "notes.txt").write_text("mine")
    path.write_text(yaml.safe_dump(ablation_yaml(["x"], [str(tmp_path / "eval.txt")], variants={"a": None})))
    assert cli_main(["ablate", str(path), "--output", str(tmp_path / "occupied")]) == 2
    assert "is not an ablation's output" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["cuda", None])
def test_cuda_asked_for_without_one_stops_before_any_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         flag: str | None) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    raw = ablation_yaml([str(tmp_path / "missing.jsonl")], [str(tmp_path / "eval.txt")])
    config = parse_ablation({**raw, "train": {**raw["train"], "device": "cpu" if flag else "cuda"}})
    with pytest.raises(CurateError, match="cuda was asked for but no CUDA device is available; use cpu or auto$"):
        run_ablation(config, tmp_path / "out", device=flag, quiet=True)  # the input is missing: the pool never ran
    assert not (tmp_path / "out").exists()


def test_a_variant_whose_filters_remove_every_document_is_named(tmp_path: Path) -> None:
    french = ["Le comité s'est réuni mardi pour examiner le budget de l'année prochaine et publiera ses conclusions.",
              "La ville a ouvert une nouvelle bibliothèque près de la gare, avec une salle de lecture pour les enfants.",
              "Les agriculteurs attendent la pluie depuis le mois de mai, et la récolte de blé sera plus petite cette année."]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(french)))
    (tmp_path / "eval.txt").write_text("The committee met on Tuesday to review the budget for the coming year. " * 20)
    raw = ablation_yaml([str(tmp_path / "in.jsonl")], [str(tmp_path / "eval.txt")],
                        pipeline={"stages": [{"normalize": {}}, {"language": {"keep": ["en"]}}]},
                        variants={"language_only": None, "raw": {"stages": ["normalize"]}},
                        tokenizer={"encoding": "cl100k_base"})
    with pytest.raises(CurateError, match=r"^variant 'language_only' kept no documents \(language marked 3 of the "
                                          r"pool's 3\); there is nothing to train on$"):
        run_ablation(parse_ablation(raw), tmp_path / "out", quiet=True)


def test_shipped_ablation_yaml_is_valid() -> None:
    config = load_ablation(Path(__file__).resolve().parents[1] / "pipelines" / "ablation.yaml")
    names = [v.name for v in config.variants]
    assert {"raw", "language_only", "curated"} <= set(names) and config.reference == "curated" and len(config.seeds) >= 3
    assert config.baselines == ["raw", "language_only"]
    assert [n for n, _ in config.variant("raw").stages] == ["extract", "normalize", "decontaminate"]
    assert [n for n, _ in config.variant("language_only").stages] == ["extract", "normalize", "decontaminate", "language"]
    assert set(plan_pool(config.base.stages, config.variants).derived) == set(names)  # one pool run serves them all
    assert all(path.startswith("out/ablation-data/") for path in config.eval_paths)


def _kept(run_dir: Path) -> set[tuple[str, str]]:
    return {(r["id"], r["text"]) for path in sorted((run_dir / "data").glob("*.parquet"))
            for r in pq.read_table(path, columns=["id", "text"]).to_pylist()}
