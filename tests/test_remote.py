"""Inputs and outputs named by s3://, gs:// and hf:// URLs (a local S3-compatible server, a local GCS emulator, a
local stand-in for the Hugging Face Hub's file API): same listing, same documents, same output as local files."""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import json
import re
import shutil
import socket
import tempfile
import threading
import urllib.parse
from pathlib import Path
from typing import Callable, Iterator

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from curate.config import parse_config
from curate.errors import CurateError
from curate.driver import execute
from curate.io.inputs import list_shards
from curate.io.remote import open_url
from conftest import require

s3fs = require("s3fs")
moto_server = require("moto.server")

BUCKET = "curate-inputs"
HF_REPO = "curate/inputs"  # the one dataset repo the Hub stand-in holds, at revision "main"
NO_OID = "0" * 40  # the git object ids (commit, blobs, trees) the Hub answers with; nothing here reads them
Upload = Callable[[Path, str], str]  # puts a folder's files under a prefix on a server; returns their URL


@contextlib.contextmanager
def s3_server() -> Iterator[Upload]:
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
            yield functools.partial(upload, protocol="s3")
        finally:
            server.stop()


@contextlib.contextmanager
def gcs_server() -> Iterator[Upload]:
    """gcp-storage-emulator on 127.0.0.1, in memory, holding BUCKET (a run writes into a bucket, never makes one),
    with the variables that point gcsfs (and worker processes started after) at it, anonymously. gcsfs probes each
    bucket's layout over gRPC, which the emulator does not speak (every call would wait out a 60 s retry): its own
    switch turns the probe off, read when gcsfs is imported."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        gcsfs = require("gcsfs")
        emulator = require("gcp_storage_emulator.server")
        assert fsspec.get_filesystem_class("gs") is gcsfs.core.GCSFileSystem, "gcsfs was imported before the switch"
        port = free_port()
        server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
        server.start()
        gcsfs.GCSFileSystem.clear_instance_cache()  # cached filesystems still point at an earlier emulator
        patch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
        patch.setenv("FSSPEC_GCS_TOKEN", "anon")  # fsspec's own setting, read when a (worker) process imports fsspec;
        patch.setitem(fsspec.config.conf, "gcs", {"token": "anon"})  # this process read its variables already
        try:
            yield functools.partial(upload, protocol="gs")
        finally:
            server.stop()


class HubStandIn(http.server.SimpleHTTPRequestHandler):
    """What huggingface_hub's HfFileSystem reads a dataset repo through, for HF_REPO at "main" with the files of
    `directory`: the repo's info (the revision check), a folder's tree (`recursive` or one level), a file's bytes
    (whole, or the `Range` a buffered read asks for). Unknown repos and paths answer 404 with the Hub's error codes,
    which HfFileSystem turns into FileNotFoundError. Not the Hub: no auth, pagination, LFS/Xet, writes or refs."""

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        tree, resolve = f"/api/datasets/{HF_REPO}/tree/main", f"/datasets/{HF_REPO}/resolve/main/"
        if url.path == f"/api/datasets/{HF_REPO}":
            self.send_json({"id": HF_REPO, "sha": NO_OID, "private": False})
        elif url.path == tree or url.path.startswith(tree + "/"):
            folder = self.in_repo(url.path[len(tree) + 1 :])
            if not folder.is_dir():
                return self.send_error_code("EntryNotFound")
            recursive = urllib.parse.parse_qs(url.query).get("recursive") == ["true"]
            self.send_json([self.entry(path) for path in sorted(folder.rglob("*") if recursive else folder.iterdir())])
        elif url.path.startswith(resolve):
            self.send_file(self.in_repo(url.path[len(resolve) :]))
        else:
            self.send_error_code("RepoNotFound")

    def in_repo(self, quoted: str) -> Path:
        return Path(self.directory, urllib.parse.unquote(quoted))

    def entry(self, path: Path) -> dict:
        name = path.relative_to(self.directory).as_posix()
        if path.is_dir():
            return {"type": "directory", "path": name, "oid": NO_OID}
        return {"type": "file", "path": name, "oid": NO_OID, "size": path.stat().st_size}

    def send_file(self, path: Path) -> None:
        if not path.is_file():
            return self.send_error_code("EntryNotFound")
        size = path.stat().st_size
        asked = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        start, end = (int(asked[1]), min(int(asked[2] or size - 1), size - 1)) if asked else (0, size - 1)
        with path.open("rb") as file:
            file.seek(start)
            body = file.read(end - start + 1)
        self.send_response(206 if asked else 200)
        if asked:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_body(body, "application/octet-stream")

    def send_json(self, value: object) -> None:
        self.send_response(200)
        self.send_body(json.dumps(value).encode(), "application/json")

    def send_error_code(self, code: str) -> None:
        self.send_response(404)
        self.send_header("X-Error-Code", code)
        self.send_body(b"", "text/plain")

    def send_body(self, body: bytes, content_type: str) -> None:
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet, as the other servers are
        pass


@contextlib.contextmanager
def hf_server() -> Iterator[Upload]:
    """HubStandIn on 127.0.0.1, its repo in a temporary folder (an upload copies files there), with HF_ENDPOINT
    pointing worker processes started after at it. This process read HF_ENDPOINT when it imported
    huggingface_hub: the two constants derived from it are patched. Offline mode would refuse every request."""
    hf_file_system = require("huggingface_hub.hf_file_system")
    constants = hf_file_system.constants
    with tempfile.TemporaryDirectory() as repo, pytest.MonkeyPatch.context() as patch:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(HubStandIn, directory=repo))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoint = f"http://127.0.0.1:{server.server_port}"
        hf_file_system.HfFileSystem.clear_instance_cache()  # cached filesystems still point at an earlier stand-in
        patch.setenv("HF_ENDPOINT", endpoint)
        patch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        patch.delenv("HF_HUB_OFFLINE", raising=False)
        patch.setattr(constants, "HF_HUB_OFFLINE", False)
        patch.setattr(constants, "ENDPOINT", endpoint)
        patch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")

        def copy_into_repo(folder: Path, prefix: str) -> str:
            shutil.copytree(folder, Path(repo, prefix), symlinks=True)  # links to the shared files stay links
            return f"hf://datasets/{HF_REPO}/{prefix}"

        try:
            yield copy_into_repo
        finally:
            server.shutdown()
            server.server_close()


SERVERS = {"s3": s3_server, "gs": gcs_server, "hf": hf_server}


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


def upload(folder: Path, prefix: str, protocol: str) -> str:
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


def test_hf_inputs_give_the_output_of_local_files(tmp_path, shared_data):
    check_inputs_give_the_output_of_local_files(tmp_path, shared_data, "hf")


def check_inputs_give_the_output_of_local_files(tmp_path: Path, shared_data: Path, protocol: str) -> None:
    folder = input_folder(tmp_path, shared_data)
    with SERVERS[protocol]() as put:
        url = put(folder, "crawl")
        remote = list_shards(pipeline([url]).input)
        execute(pipeline([url]), str(tmp_path / protocol))
    local = list_shards(pipeline([str(folder)]).input)
    execute(pipeline([str(folder)]), str(tmp_path / "local"))
    assert [(s.source, s.format, s.start, s.end) for s in remote] == [(s.source, s.format, s.start, s.end) for s in local]
    assert [s.source for s in remote] == ["text/cc.jsonl.gz", "text/head.jsonl", "text/head.jsonl", "text/head.jsonl",
                                          "text/head.jsonl.zst", "text/rows.parquet", "web/sample-0000.warc.gz"]
    assert all(s.path.startswith(f"{url}/") for s in remote)
    expected = outcome(tmp_path / "local")
    assert expected[2] == 697 + 10 + 10 + 50 + 22  # every document of every format was read
    assert outcome(tmp_path / protocol) == expected
    run = json.loads((tmp_path / protocol / "stats.json").read_text())["run"]
    assert run["inputs"][0] == f"{url}/text/cc.jsonl.gz"


@pytest.mark.parametrize("protocol", ["s3", "hf"])
def test_a_single_object_url_and_bad_urls(tmp_path, shared_data, protocol):
    folder = input_folder(tmp_path, shared_data)
    with SERVERS[protocol]() as put:
        url = put(folder, "one")
        [shard] = list_shards(pipeline([f"{url}/web/sample-0000.warc.gz"]).input)
        assert (shard.source, shard.format) == ("sample-0000.warc.gz", "warc")
        with pytest.raises(CurateError, match=re.escape(f"input not found: {url}/nothing-here")):
            list_shards(pipeline([f"{url}/nothing-here"]).input)
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


def test_a_file_url_output_gets_its_folders(tmp_path):
    """Object stores have no folders; a hierarchical filesystem behind a URL needs each one made."""
    (tmp_path / "in.jsonl").write_text('{"text": "a document"}\n')
    config = parse_config({"input": {"paths": [str(tmp_path / "in.jsonl")]}, "stages": ["normalize"]})
    execute(config, f"file://{tmp_path}/x/out", work_dir=str(tmp_path / "work"))
    written = sorted(p.relative_to(tmp_path / "x" / "out").parts[0] for p in (tmp_path / "x" / "out").rglob("*.*"))
    assert {"data", "report.html", "stats.json"} <= set(written)


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


class Unreachable(fsspec.AbstractFileSystem):
    """A filesystem whose every call fails with its own error type, as httpx or botocore errors are not OSError."""

    protocol = "unreachable"

    class Down(Exception):
        pass

    def _fail(self, *args, **kwargs):
        raise self.Down("no route to the server\n(second line of a long message)")

    ls = info = find = exists = isfile = _open = _fail


def test_a_filesystem_s_own_errors_are_one_line(tmp_path):
    fsspec.register_implementation("unreachable", Unreachable, clobber=True)
    with pytest.raises(CurateError) as listing:
        list_shards(pipeline(["unreachable://host/crawl"]).input)
    assert str(listing.value) == "cannot list input unreachable://host/crawl: Down: no route to the server"
    with pytest.raises(CurateError, match="^cannot read unreachable://host/a.jsonl: Down: no route to the server$"):
        open_url("unreachable://host/a.jsonl")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "a document"}\n')
    with pytest.raises(CurateError, match="^cannot check the output unreachable://host/out: Down: no route"):
        execute(pipeline([str(tmp_path / "in")]), "unreachable://host/out", work_dir=str(tmp_path / "work"))
