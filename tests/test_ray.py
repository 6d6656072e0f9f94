"""The Ray executor runs the local executor's tasks: same kept ids, same stats, on one node or two, from local or S3 inputs.

Ray's processes are shut down by each test or fixture that started them.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.config import parse_config
from curate.errors import CurateError
from curate.driver import execute
from curate.executors.ray import MAX_RETRIES
from curate.stages.exact_dedup import ExactDedup
from curate.stages.minhash_dedup import MinhashDedup
from curate.stats import RunStats
from conftest import require

ray = require("ray")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data) -> list[Path]:
    """Real Common Crawl text split over four files, with documents repeated across files."""
    tmp = tmp_path_factory.mktemp("ray-in")
    lines = [line for line in (shared_data / "cc-text-jsonl-dolma" / "cc_en_head-0091.jsonl").read_text().splitlines() if line]
    lines += [line for line in (shared_data / "cc-text-jsonl-dolma" / "cc_en_head-0174.jsonl").read_text().splitlines() if line]
    files = []
    for i in range(4):
        path = tmp / f"part-{i}.jsonl"
        chunk = lines[i::4] + [json.dumps({"id": f"copy-{i}", "text": json.loads(lines[0])["text"]})]
        path.write_text("\n".join(chunk) + "\n")
        files.append(path)
    return files


@pytest.fixture(scope="module")
def two_nodes():
    """A simulated two-node cluster (one CPU each), started after the S3 server so its workers see the AWS variables."""
    from ray.cluster_utils import Cluster
    from test_remote import s3_server

    with s3_server():
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        cluster.add_node(num_cpus=1)
        try:
            ray.init(address=cluster.address, log_to_driver=False)
            yield cluster
        finally:
            ray.shutdown()
            cluster.shutdown()


def outcome(out: Path) -> tuple:
    """Kept ids per shard, stats counts, and the bytes of every token shard and index."""
    stats = json.loads((out / "stats.json").read_text())
    ids = [pq.read_table(f)["id"].to_pylist() for f in sorted((out / "data").glob("*.parquet"))]
    counts = [(s["name"], s["docs_in"], s["docs_out"], s["bytes_out"], s["removed"]) for s in stats["stages"]]
    tokens = {p.name: p.read_bytes() for p in sorted((out / "tokens").glob("*.*")) if p.suffix in (".bin", ".idx")}
    return ids, counts, stats["docs_read"], stats["docs_written"], tokens


def pipeline(paths: list):
    stages = ["normalize", "exact_dedup", "minhash_dedup", {"tokenize": {"encoding": "cl100k_base", "val_fraction": 0.1}}]
    return parse_config({"input": {"paths": [str(p) for p in paths]}, "stages": stages})


def test_ray_matches_local_executor(tmp_path, inputs):
    """(The local executor's 1 and 2 workers agree: tests/test_core.py.)"""
    config = pipeline(inputs)
    execute(config, str(tmp_path / "local1"), workers=1)
    execute(config, str(tmp_path / "ray"), workers=2, executor="ray")  # starts and stops its own Ray
    assert not ray.is_initialized()
    expected = outcome(tmp_path / "local1")
    assert expected[3] > 0
    assert dict((c[0], c[4]) for c in expected[1])["exact_dedup"]  # the planted cross-file copies were removed
    assert any(name.startswith("train-") for name in expected[4])
    assert outcome(tmp_path / "ray") == expected
    for phase, parts in ((1, ExactDedup().parts()), (2, MinhashDedup().bands)):  # each barrier ran as parallel parts
        assert len(list((tmp_path / "ray" / ".curate" / f"phase{phase}").glob("pairs-*.json"))) == parts > 1


def test_an_unreachable_cluster_is_one_clear_error(tmp_path, inputs):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CurateError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        execute(pipeline(inputs), str(tmp_path / "out"), executor="ray", ray_address=f"127.0.0.1:{port}")
    assert not ray.is_initialized()


def test_ray_on_a_simulated_two_node_cluster(tmp_path, inputs, two_nodes):
    execute(pipeline(inputs), str(tmp_path / "ray2"), executor="ray")
    assert ray.is_initialized()  # the runner leaves a cluster it did not start alone
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    execute(pipeline(inputs), str(tmp_path / "local"), workers=1)
    assert outcome(tmp_path / "ray2") == outcome(tmp_path / "local")


def test_ray_workers_read_s3_inputs_and_write_an_s3_output(tmp_path, shared_data, two_nodes):
    from test_remote import BUCKET, input_folder, upload

    import fsspec

    folder = input_folder(tmp_path, shared_data)
    url = upload(folder, "ray", "s3")
    output = f"s3://{BUCKET}/ray-output"
    execute(pipeline([url]), output, executor="ray", work_dir=str(tmp_path / "work"))
    execute(pipeline([folder]), str(tmp_path / "local"), workers=1)
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.get(f"{BUCKET}/ray-output", str(tmp_path / "s3"), recursive=True)
    assert outcome(tmp_path / "s3")[2] == 697 + 10 + 10 + 50 + 22
    assert outcome(tmp_path / "s3") == outcome(tmp_path / "local")


class DeleteBeforeTasks:
    """A progress callback that deletes an input file after planning, before its task runs: a real failure."""

    def __init__(self, victim: Path) -> None:
        self.victim = victim
        self.finished = 0

    def phase_started(self, phase: int, total: int, already_done: int) -> None:
        if phase == 0:
            self.victim.unlink()

    def task_done(self, stats: RunStats) -> None:
        self.finished += 1


def test_a_failing_task_is_retried_then_fails_the_run_with_one_line(tmp_path, inputs, two_nodes):
    files = []
    for source in inputs:
        files.append(tmp_path / source.name)
        files[-1].write_bytes(source.read_bytes())
    progress = DeleteBeforeTasks(files[1])
    with pytest.raises(CurateError) as failure:
        execute(pipeline(files), str(tmp_path / "out"), executor="ray", progress=progress)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"a Ray task failed after {MAX_RETRIES} retries: FileNotFoundError:")
    assert str(files[1]) in message
    assert not (tmp_path / "out" / "stats.json").exists()  # a failed run writes no results
    assert ray.is_initialized() and len([n for n in ray.nodes() if n["Alive"]]) == 2  # the cluster survives the failure
