"""Inputs and outputs named by s3:// and gs:// URLs (a local S3-compatible server, a local GCS emulator): same
listing, same documents, same output as local files."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
from pathlib import Path
from typing import Iterator

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from curate.config import parse_config
from curate.errors import CurateError
from curate.executors import execute
from curate.io.inputs import list_shards
from curate.io.remote import open_url

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

BUCKET = "curate-inputs"


@contextlib.contextmanager
def s3_server() -> Iterator[None]:
    """moto's S3 server on 127.0.0.1, with the AWS variables that point s3fs (and Ray workers started after) at it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    s3fs.S3FileSystem.clear_instance_cache()  # cached filesystems still point at an earlier server
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            yield
        finally:
            server.stop()


@contextlib.contextmanager
def gcs_server() -> Iterator[None]:
    """gcp-storage-emulator on 127.0.0.1, in memory, holding BUCKET (a run writes into a bucket, never makes one),
    with the variables that point gcsfs (and worker processes started after) at it, anonymously. gcsfs probes each
    bucket's layout over gRPC, which the emulator does not speak (every call would wait out a 60 s retry): its own
    switch turns the probe off, read when gcsfs is imported."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        gcsfs = pytest.importorskip("gcsfs")
        emulator = pytest.importorskip("gcp_storage_emulator.server")
        assert fsspec.get_filesystem_class("gs") is gcsfs.core.GCSFileSystem, "gcsfs was imported before the switch"
        port = free_port()
        server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
        server.start()
        gcsfs.GCSFileSystem.clear_instance_cache()  # cached filesystems still point at an earlier emulator
        patch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
        patch.setenv("FSSPEC_GCS_TOKEN", "anon")  # fsspec's own setting, read when a (worker) process imports fsspec;
        patch.setitem(fsspec.config.conf, "gcs", {"token": "anon"})  # this process read its variables already
        try:
            yield
        finally:
            server.stop()


SERVERS = {"s3": s3_server, "gs": gcs_server}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def input_folder(root: Path, shared_data: Path) -> Path:
    """Real shared files (a WARC, a JSONL.gz, a plain JSONL) beside crafted .zst and Parquet copies, in subfolders."""
    folder = root / "inputs"
    (folder / "text").mkdir(parents=True)
    (folder / "web").mkdir()
    (folder / "web" / "sample-0000.warc.gz").symlink_to(shared_data / "web-warc-dolma" / "sample-0000.warc.gz")
    dolma = shared_data / "cc-text-jsonl-dolma"
    (folder / "text" / "cc.jsonl.gz").symlink_to(dolma / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz")
    (folder / "text" / "head.jsonl").symlink_to(dolma / "cc_en_head-0091.jsonl")
    (folder / "text" / "head.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress((dolma / "cc_en_head-0174.jsonl").read_bytes()))
    rows = [json.loads(line) for line in gzip.open(dolma / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz", "rt")][:50]
    pq.write_table(pa.table({"id": [f"pq-{i}" for i in range(len(rows))], "text": [r["text"] for r in rows]}), folder / "text" / "rows.parquet")
    (folder / "text" / ".hidden.jsonl").write_text('{"text": "never read"}\n')
    return folder


def upload(folder: Path, prefix: str, protocol: str = "s3") -> str:
    fs = fsspec.filesystem(protocol, skip_instance_cache=True)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        fs.put_file(str(path), f"{BUCKET}/{prefix}/{path.relative_to(folder)}")
    return f"{protocol}://{BUCKET}/{prefix}"


def outcome(out: Path) -> tuple:
    stats = json.loads((out / "stats.json").read_text())
    tables = [pq.read_table(f) for f in sorted((out / "data").glob("*.parquet"))]
    kept = [(t["id"].to_pylist(), t["source"].to_pylist(), t["text"].to_pylist()) for t in tables]
    counts = [(s["name"], s["docs_in"], s["docs_out"], s["bytes_out"], s["removed"]) for s in stats["stages"]]
    return kept, counts, stats["docs_read"], stats["docs_written"], stats.get("skipped")


def pipeline(paths: list[str]):
    # shard_bytes splits the plain JSONL into byte ranges, so ranged reads (seek + readline) run on S3 too
    return parse_config({"input": {"paths": paths, "shard_bytes": 40_000}, "stages": ["extract", "normalize"]})


def test_s3_inputs_give_the_output_of_local_files(tmp_path, shared_data):
    check_inputs_give_the_output_of_local_files(tmp_path, shared_data, "s3")


def test_gs_inputs_give_the_output_of_local_files(tmp_path, shared_data):
    check_inputs_give_the_output_of_local_files(tmp_path, shared_data, "gs")


def check_inputs_give_the_output_of_local_files(tmp_path: Path, shared_data: Path, protocol: str) -> None:
    folder = input_folder(tmp_path, shared_data)
    with SERVERS[protocol]():
        url = upload(folder, "crawl", protocol)
        remote = list_shards(pipeline([url]).input)
        execute(pipeline([url]), str(tmp_path / protocol))
    local = list_shards(pipeline([str(folder)]).input)
    execute(pipeline([str(folder)]), str(tmp_path / "local"))
    assert [(s.source, s.format, s.start, s.end) for s in remote] == [(s.source, s.format, s.start, s.end) for s in local]
    assert [s.source for s in remote] == ["text/cc.jsonl.gz", "text/head.jsonl", "text/head.jsonl", "text/head.jsonl",
                                          "text/head.jsonl.zst", "text/rows.parquet", "web/sample-0000.warc.gz"]
    assert all(s.path.startswith(f"{protocol}://{BUCKET}/crawl/") for s in remote)
    expected = outcome(tmp_path / "local")
    assert expected[2] == 697 + 10 + 10 + 50 + 22  # every document of every format was read
    assert outcome(tmp_path / protocol) == expected
    run = json.loads((tmp_path / protocol / "stats.json").read_text())["run"]
    assert run["inputs"][0] == f"{protocol}://{BUCKET}/crawl/text/cc.jsonl.gz"


def test_a_single_object_url_and_bad_urls(tmp_path, shared_data):
    folder = input_folder(tmp_path, shared_data)
    with s3_server():
        url = upload(folder, "one")
        [shard] = list_shards(pipeline([f"{url}/web/sample-0000.warc.gz"]).input)
        assert (shard.source, shard.format) == ("sample-0000.warc.gz", "warc")
        with pytest.raises(CurateError, match="input not found: s3://curate-inputs/nothing-here"):
            list_shards(pipeline([f"s3://{BUCKET}/nothing-here"]).input)
    with pytest.raises(CurateError, match="cannot read nosuchfs://x"):
        list_shards(pipeline(["nosuchfs://x/y.jsonl"]).input)


def test_an_s3_output_receives_the_finished_run(tmp_path, shared_data):
    check_an_output_receives_the_finished_run(tmp_path, shared_data, "s3")


def test_a_gs_output_receives_the_finished_run(tmp_path, shared_data):
    check_an_output_receives_the_finished_run(tmp_path, shared_data, "gs")


def check_an_output_receives_the_finished_run(tmp_path: Path, shared_data: Path, protocol: str) -> None:
    config = pipeline([str(input_folder(tmp_path, shared_data))])
    local = tmp_path / "local"
    execute(config, str(local))
    expected = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file() and ".curate" not in p.parts)
    url, prefix = f"{protocol}://{BUCKET}/runs/one", f"{BUCKET}/runs/one/"
    with SERVERS[protocol]():
        fs = fsspec.filesystem(protocol, skip_instance_cache=True)
        first = execute(config, url, work_dir=str(tmp_path / "work"))
        assert first.report == f"{url}/report.html" and first.tasks_run > 0
        assert sorted(p[len(prefix):] for p in fs.find(prefix)) == expected
        for name in expected:
            if name.startswith("data/"):
                assert fs.cat(prefix + name) == (local / name).read_bytes(), name
        assert json.loads(fs.cat(prefix + "stats.json"))["docs_written"] == json.loads((local / "stats.json").read_text())["docs_written"]

        again = execute(config, url, work_dir=str(tmp_path / "work"))  # resumes from its work folder, publishes again
        assert again.tasks_run == 0 and again.tasks_resumed == first.tasks_run
        with pytest.raises(CurateError, match=f"{url} already holds files; use --overwrite"):
            execute(config, url, work_dir=str(tmp_path / "elsewhere"))
        fs.pipe(prefix + "data/stray.parquet", b"not ours")
        execute(config, url, work_dir=str(tmp_path / "elsewhere"), overwrite=True)
        assert sorted(p[len(prefix):] for p in fs.find(prefix)) == expected


def test_closing_a_compressed_url_closes_the_file_beneath(tmp_path, monkeypatch):
    """A decompressor leaves the file it reads open; open_url's stream closes both (an open gcsfs file goes on
    prefetching)."""
    from fsspec.implementations.local import LocalFileSystem

    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"text": "x"}\n' * 3))
    beneath = []
    real_open = LocalFileSystem._open

    def recording_open(*args, **kwargs):
        beneath.append(real_open(*args, **kwargs))
        return beneath[-1]

    monkeypatch.setattr(LocalFileSystem, "_open", recording_open)
    with open_url(f"file://{tmp_path}/a.jsonl.gz", compression="gzip") as stream:
        assert list(stream) == [b'{"text": "x"}\n'] * 3
    assert [file.closed for file in beneath] == [True]
