"""The Ray executor runs the local executor's tasks: same kept ids, same stats, on one node or two."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.config import parse_config
from curate.executors import execute

ray = pytest.importorskip("ray")


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


def outcome(out: Path) -> tuple:
    stats = json.loads((out / "stats.json").read_text())
    ids = [pq.read_table(f)["id"].to_pylist() for f in sorted((out / "data").glob("*.parquet"))]
    counts = [(s["name"], s["docs_in"], s["docs_out"], s["bytes_out"], s["removed"]) for s in stats["stages"]]
    return ids, counts, stats["docs_read"], stats["docs_written"]


def pipeline(files: list[Path]):
    return parse_config({"input": {"paths": [str(f) for f in files]}, "stages": ["normalize"]})


def test_ray_matches_local_executor(tmp_path, inputs):
    config = pipeline(inputs)
    execute(config, str(tmp_path / "local1"), workers=1)
    execute(config, str(tmp_path / "local2"), workers=2)
    try:
        execute(config, str(tmp_path / "ray"), workers=2, executor="ray")
    finally:
        ray.shutdown()
    expected = outcome(tmp_path / "local1")
    assert expected[3] > 0
    assert outcome(tmp_path / "local2") == expected
    assert outcome(tmp_path / "ray") == expected


def test_ray_on_a_simulated_two_node_cluster(tmp_path, inputs):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        execute(pipeline(inputs), str(tmp_path / "ray2"), executor="ray")
        nodes = [n for n in ray.nodes() if n["Alive"]]
        assert len(nodes) == 2
    finally:
        ray.shutdown()
        cluster.shutdown()
    execute(pipeline(inputs), str(tmp_path / "local"), workers=1)
    assert outcome(tmp_path / "ray2") == outcome(tmp_path / "local")
