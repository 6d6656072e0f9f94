"""The backbone: config validation, stats, conservation, resume, output safety, CLI errors."""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import curate
from curate.cli import build_parser, main as cli_main
from curate.config import parse_config
from curate.errors import ConfigError, CurateError
from curate.document import Document
from curate.driver import execute
from curate.stages import Stage
from curate.stats import Histogram, RunStats, StageStats

CURATE = [sys.executable, "-m", "curate"]


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def config_for(inputs: list[Path], **extra) -> dict:
    return {"input": {"paths": [str(p) for p in inputs]}, "stages": [{"normalize": {}}], **extra}


# --- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"input": {}, "stages": [{"no_such_stage": {}}]}, "no_such_stage"),
        ({"input": {}, "stages": [{"normalize": {"fix_mojibak": True}}]}, "fix_mojibak"),
        ({"input": {}, "stages": [{"normalize": {"fix_mojibake": "yes"}}]}, "fix_mojibake"),
        ({"input": {}, "stages": [{"normalize": {"mode": "drop"}}]}, "mode"),
        ({"input": {}, "stagse": []}, "stagse"),
        ({"input": {"format": "csv"}, "stages": ["normalize"]}, "input.format"),
        ({"input": {"pathz": []}, "stages": ["normalize"]}, "pathz"),
        ({"input": {}, "stages": [{"normalize": {}, "extract": {}}]}, "stages[0]"),
        # paths the stages read only at setup: checked with the config, before a run claims its output
        ({"input": {}, "stages": [{"tokenize": {"encoding": "/nope/bpe.tiktoken"}}]}, "stages[0].tokenize.encoding: tokenizer file not found"),
        ({"input": {}, "stages": [{"toxicity": {"wordlist_dir": "/nope"}}]}, "stages[0].toxicity.wordlist_dir: not a folder"),
        ({"input": {}, "stages": [{"toxicity": {"wordlist_languages": ["xx"]}}]}, "stages[0].toxicity.wordlist_languages: no list for xx"),
    ],
)
def test_config_errors_name_the_offending_key(raw, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        parse_config(raw)


def test_config_accepts_stage_shorthand_and_annotate_mode():
    config = parse_config({"input": {"paths": ["x"]}, "stages": ["extract", {"normalize": {"mode": "annotate"}}]})
    assert [name for name, _ in config.stages] == ["extract", "normalize"]


# --- stats ----------------------------------------------------------------------------------


def test_histogram_merge_equals_histogram_of_all_values():
    a, b, both = (Histogram.empty(0, 1, 10) for _ in range(3))
    a.add([0.05, 0.5, 0.99])
    b.add([0.5, 1.5, -3])
    both.add([0.05, 0.5, 0.99, 0.5, 1.5, -3])
    a.merge(b)
    assert a.counts == both.counts and sum(a.counts) == 6


def test_run_stats_round_trip_and_conservation_check():
    stats = RunStats.for_stages(["a", "b"])
    stats.docs_read = 10
    stats.stage("a").docs_in, stats.stage("a").docs_out = 10, 7
    stats.stage("a").removed["a:x"] = 3
    stats.stage("b").docs_in, stats.stage("b").docs_out = 7, 7
    stats.docs_written = 7
    assert RunStats.from_dict(stats.to_dict()).conservation_problems() == []
    stats.stage("b").docs_out = 6
    stats.docs_written = 6
    assert any("b:" in p for p in stats.conservation_problems())


# --- runs -----------------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    good = [json.dumps({"id": f"d{i}", "text": f"Document number {i}.\n\n\n  with  spaces "}) for i in range(30)]
    bad = ["{not json", "[1, 2]", "42", json.dumps({"id": "e", "text": "   "}), json.dumps({"id": "n"})]
    return [write_jsonl(tmp_path / "a.jsonl", good[:20] + bad), write_jsonl(tmp_path / "b.jsonl", good[20:])]


def stage_counts(out: Path) -> list[tuple]:
    stages = json.loads((out / "stats.json").read_text())["stages"]
    return [(s["name"], s["docs_in"], s["docs_out"], s["bytes_in"], s["bytes_out"], s["removed"]) for s in stages]


def kept_ids(out: Path) -> list[str]:
    return sorted(i for f in sorted((out / "data").glob("*.parquet")) for i in pq.read_table(f)["id"].to_pylist())


def test_run_accounts_for_every_record(tmp_path, corpus):
    out = tmp_path / "out"
    execute(parse_config(config_for(corpus)), str(out))
    stats = json.loads((out / "stats.json").read_text())
    assert stats["docs_read"] == 31 and stats["docs_written"] == 30
    assert stats["skipped"] == {"jsonl:invalid_json": 1, "jsonl:missing_text": 1, "jsonl:not_an_object": 2}
    assert stats["stages"][0]["removed"] == {"normalize:empty": 1}
    assert stats["conservation"]["ok"]
    removed = pq.read_table(next((out / "removed").glob("*.parquet"))).to_pylist()
    assert [(r["id"], r["stage"], r["reason"]) for r in removed] == [("e", "normalize", "normalize:empty")]
    text = pq.read_table(out / "data" / "part-00001.parquet")["text"][0].as_py()
    assert text == "Document number 20.\n\nwith spaces"
    assert (out / "report.html").exists()


def test_same_output_for_one_and_two_workers(tmp_path, corpus):
    config = parse_config(config_for(corpus))
    execute(config, str(tmp_path / "w1"), workers=1)
    execute(config, str(tmp_path / "w2"), workers=2)
    assert kept_ids(tmp_path / "w1") == kept_ids(tmp_path / "w2")
    assert stage_counts(tmp_path / "w1") == stage_counts(tmp_path / "w2")


def test_interrupted_run_resumes_to_the_same_output(tmp_path, corpus):
    config = parse_config(config_for(corpus))
    out = tmp_path / "out"
    execute(config, str(out))
    expected = kept_ids(out), stage_counts(out)
    # Simulate a crash inside shard 1: its output half-written, its done marker never written.
    (out / ".curate" / "phase0" / "done-00001.json").unlink()
    (out / "data" / "part-00001.parquet").rename(out / "data" / "part-00001.parquet.tmp")
    outcome = execute(config, str(out))
    assert (outcome.tasks_run, outcome.tasks_resumed) == (1, 1)
    assert (kept_ids(out), stage_counts(out)) == expected


def test_changed_config_is_refused_unless_overwrite(tmp_path, corpus):
    out = tmp_path / "out"
    execute(parse_config(config_for(corpus)), str(out))
    changed = parse_config({**config_for(corpus), "stages": [{"normalize": {"fix_mojibake": False}}]})
    with pytest.raises(CurateError, match="different config"):
        execute(changed, str(out))
    execute(changed, str(out), overwrite=True)
    assert kept_ids(out)


def test_changed_input_files_are_refused_unless_overwrite(tmp_path, corpus):
    """A task's shard is a position in the input's file list: a file added before the others (or changed) under
    a finished run would pair its tasks with other files' results, so the rerun is refused, naming the file."""
    folder = tmp_path / "in"
    folder.mkdir()
    corpus[1].rename(folder / "b.jsonl")
    config = parse_config(config_for([folder]))
    out = tmp_path / "out"
    execute(config, str(out))
    (folder / "a.jsonl").write_text(json.dumps({"id": "new", "text": "A new document."}) + "\n")
    with pytest.raises(CurateError, match=r"different input \(files: .*a\.jsonl added\)"):
        execute(config, str(out))
    execute(config, str(out), overwrite=True)
    assert "new" in kept_ids(out)


def test_a_run_that_finished_no_task_gives_way_to_a_changed_config(tmp_path, corpus):
    """A config mistake found only when a stage sets itself up fails the run before any task finishes; once the
    mistake is fixed the run starts afresh instead of being refused as a different config."""
    out = tmp_path / "out"
    broken = parse_config(config_for(corpus, stages=[{"language": {"keep": ["english"], "threshold": 0}}]))
    with pytest.raises(CurateError, match="language.keep: neither lid.176 nor lingua knows english"):
        execute(broken, str(out))
    assert (out / ".curate" / "run.json").exists() and not list(out.glob(".curate/phase*/done-*.json"))
    fixed = parse_config(config_for(corpus, stages=[{"language": {"keep": ["en"], "threshold": 0}}]))
    assert execute(fixed, str(out)).tasks_run == 2 and len(kept_ids(out)) == 30  # the blank document is `und`


def test_lone_surrogates_outside_the_text_are_written_as_replacement_characters(tmp_path):
    """A JSON line may escape a lone surrogate in any field (`"\\ud800"`): Arrow and the outputs need UTF-8, so
    in the id, url, source, timestamp and metadata it becomes U+FFFD, as in the text (it stopped the run)."""
    line = '{"id": "a\\udfff", "text": "hello world", "url": "http://e.com/\\ud800", "source": "s\\ud800", "title": "bad \\udc80", "timestamp": "2020\\ud800"}'
    source = tmp_path / "in.jsonl"
    source.write_text(line + "\n")
    out = tmp_path / "out"
    execute(parse_config({**config_for([source]), "outputs": ["data", "removed", "dolma"]}), str(out))
    row = pq.read_table(out / "data").to_pylist()[0]
    assert (row["id"], row["url"], row["source"], row["timestamp"]) == ("a\ufffd", "http://e.com/\ufffd", "s\ufffd", "2020\ufffd")
    assert json.loads(row["metadata"]) == {"title": "bad \ufffd"}


def test_output_that_is_a_file_is_one_line_error(tmp_path, corpus):
    with pytest.raises(CurateError, match="is a file"):
        execute(parse_config(config_for(corpus)), str(corpus[0]))


def test_output_that_is_not_a_curate_run_is_never_touched(tmp_path, corpus):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    with pytest.raises(CurateError, match="not a curate output"):
        execute(parse_config(config_for(corpus)), str(foreign), overwrite=True)
    assert (foreign / "precious.txt").read_text() == "keep me"


def test_output_inside_input_is_refused(tmp_path, corpus):
    with pytest.raises(CurateError, match="inside input"):
        execute(parse_config(config_for([tmp_path])), str(tmp_path / "out"))


# --- CLI ------------------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CURATE, *args], capture_output=True, text=True, cwd=cwd)


def test_cli_help_for_every_command(capsys):
    """Every subcommand (and sub-subcommand) the parser knows prints its help, named in its usage line."""
    assert run_cli("--help").returncode == 0  # the installed entry point
    parser = build_parser()
    commands = [[]]
    for path in commands:
        sub = subcommands(parser, path)
        commands += [[*path, name] for name in sub]
    assert {"run", "stats", "report", "train", "tokenizer", "classifier", "shards", "ablate"} <= {c[0] for c in commands if c}
    for command in commands:
        with pytest.raises(SystemExit) as exit:
            cli_main([*command, "--help"])
        usage = capsys.readouterr().out.split("\n")[0]
        assert exit.value.code == 0 and usage.startswith(f"usage: curate {' '.join(command)}".strip()), (command, usage)


def test_a_repeated_list_option_keeps_every_value():
    """argparse's nargs='+' alone keeps only the last `--input A --input B`; every list option extends."""
    assert build_parser().parse_args(["run", "p.yaml", "--input", "A", "B", "--input", "C"]).input == ["A", "B", "C"]

    def every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return [parser] + [p for sub in subs for child in sub.choices.values() for p in every_parser(child)]

    last_only = [(parser.prog, action.option_strings) for parser in every_parser(build_parser())
                 for action in parser._actions if action.nargs == "+" and not isinstance(action, argparse._ExtendAction)]
    assert last_only == []


def subcommands(parser: argparse.ArgumentParser, path: list[str]) -> list[str]:
    """The subcommand names under `path` (a list of names from the top)."""
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(actions[0].choices) if actions else []


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "missing.yaml", "--output", "x"], "pipeline file not found"),
        (["run"], "required"),
        (["run", "p.yaml", "--workers", "many"], "invalid int value"),
        (["stats", "/nonexistent"], "no stats.json"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_cli_bad_arguments_give_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "yaml_text, extra, message",
    [
        ("stages: [normalize]\n", [], "no output folder: give --output"),
        ("output: out\nstages: [normalize]\n", ["--workers", "0"], "workers must be at least 1, got 0"),
        ("output: out\nstages: [normalize]\n", ["--workers", "-2"], "workers must be at least 1, got -2"),
    ],
)
def test_cli_run_refuses_no_output_and_too_few_workers(tmp_path, corpus, capsys, monkeypatch, yaml_text, extra, message):
    """The driver's checks, as the CLI shows them: one line, exit 2, nothing written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(f"input:\n  paths: [{corpus[0]}]\n{yaml_text}")
    assert cli_main(["run", "p.yaml", "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()
    with pytest.raises(CurateError, match=message):
        curate.run(tmp_path / "p.yaml", **({"output": "out", "workers": int(extra[1])} if extra else {}))


def test_cli_run_and_stats(tmp_path, corpus):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input:\n  paths: []\nstages:\n  - normalize: {}\n")
    out = tmp_path / "out"
    result = run_cli("run", str(pipeline), "--input", *map(str, corpus), "--output", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "conservation: ok" in result.stdout and "report:" in result.stdout
    assert "normalize" in run_cli("stats", str(out)).stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: {}\nstages:\n  - normalize: {bogus: 1}\n")
    result = run_cli("run", str(bad), "--output", str(out))
    assert result.returncode == 2 and "bogus" in result.stderr


def test_cli_run_settles_its_process_before_the_tasks(tmp_path, corpus):
    """What `curate run` loaded before its tasks is out of the collector's full passes and its first pass
    waits for more objects; pyarrow in that process still reads pandas objects as pandas (a NaN is null)."""
    from curate.pipeline import GC_YOUNG_THRESHOLD

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"input:\n  paths: [{corpus[0]}]\nstages:\n  - normalize: {{}}\n  - exact_dedup: {{}}\n")
    argv = ["run", str(pipeline), "--output", str(tmp_path / "out"), "--quiet"]
    script = (f"import gc\nfrom curate.cli import main\nbefore = gc.get_freeze_count()\nmain({argv!r})\n"
              "import pandas as pd, pyarrow as pa\n"
              "print(before, gc.get_freeze_count() > 0, gc.get_threshold()[0], pa.array(pd.Series([1.0, float('nan')])).null_count)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["0", "True", str(GC_YOUNG_THRESHOLD), "1"]


def test_large_jsonl_split_into_byte_ranges_reads_every_line_once(tmp_path, shared_data):
    lines = (shared_data / "cc-text-jsonl-dolma" / "cc_en_head-0091.jsonl").read_text().splitlines()
    source = write_jsonl(tmp_path / "big.jsonl", [l for l in lines if l] * 3)
    whole = parse_config(config_for([source]))
    split = parse_config({**config_for([source]), "input": {"paths": [str(source)], "shard_bytes": 20_000}})
    execute(whole, str(tmp_path / "whole"))
    outcome = execute(split, str(tmp_path / "split"), workers=2)
    assert outcome.tasks_run > 5
    assert kept_ids(tmp_path / "split") == kept_ids(tmp_path / "whole")
    assert stage_counts(tmp_path / "split") == stage_counts(tmp_path / "whole")


def test_two_runs_never_write_one_output_folder(tmp_path, corpus):
    from curate.pipeline import OutputLayout

    config = parse_config(config_for(corpus))
    first = OutputLayout(tmp_path / "out")
    first.prepare(config, overwrite=False, inputs=[])
    with pytest.raises(CurateError, match="another curate run"):
        OutputLayout(tmp_path / "out").prepare(config, overwrite=False, inputs=[])


class CountsSetups(Stage):
    """A stage that counts how often it was set up (at module level, so a copy can be pickled)."""

    name = "counts_setups"
    setups = 0

    def setup(self) -> None:
        type(self).setups += 1
        self.loaded = "model"

    def process(self, docs: list[Document]) -> list[str | None]:
        return [None if self.loaded else "unloaded" for _ in docs]


def test_a_stage_sets_itself_up_once_per_process() -> None:
    """Calling a stage runs `setup` before its first batch and never again; a pickled copy sets itself
    up afresh where it is unpickled, as models loaded here may not travel (workers build theirs from the config)."""
    stage = CountsSetups()
    for _ in range(3):
        kept, removed = stage([Document("a", "text")], StageStats("counts_setups"))
        assert len(kept) == 1 and not removed
    assert CountsSetups.setups == 1
    stage.loaded = ""  # what a copy carries does not count: it loads its own
    copy = pickle.loads(pickle.dumps(stage))
    assert len(copy([Document("b", "text")], StageStats("counts_setups"))[0]) == 1 and CountsSetups.setups == 2
