"""The evaluation shards and the trainings: each domain tokenized once into `val` shards (and a slice of each
into a mix, for the loss curves), then one (variant, seed) training per job, in this process or a worker,
scored on every domain in bits per byte."""

from __future__ import annotations

import hashlib
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_json_atomic
from ..errors import CurateError
from ..evalsets import domain_names, domain_texts
from ..tokens.encodings import describe, load_encoding
from ..tokens.shards import TokenShardWriter, read_manifest, shard_paths, write_manifest
from ..train.train import TrainConfig


@dataclass
class EvalDomain:
    name: str
    path: str
    folder: Path  # its `val` shards
    tokens: int


def tokenize_eval(paths: list[str], encoding: str, folder: Path, tokens_per_document: int | None,
                  mix_tokens: int) -> tuple[list[EvalDomain], Path]:
    """Each domain's documents as `val` shards (each cut to its first `tokens_per_document` tokens when given),
    and a `mix` of the first `mix_tokens / domains` tokens of each, which the loss curves are drawn on. All
    in a folder named by the tokens' content, so that a changed evaluation never resumes an old run."""
    enc = load_encoding(encoding)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".tokenizing-", dir=folder))
    names = domain_names(paths)
    share = -(-mix_tokens // len(paths))
    mix = TokenShardWriter(scratch / "mix", "eval", vocab_size=enc.n_vocab, eot_token=enc.eot_token)
    digest = hashlib.sha256()
    for name, path in zip(names, paths):
        writer = TokenShardWriter(scratch / name, "eval", vocab_size=enc.n_vocab, eot_token=enc.eot_token)
        mixed = 0
        for ids in enc.encode_ordinary_batch(list(domain_texts(path))):
            tokens = np.asarray(ids[:tokens_per_document], dtype=np.uint32)
            writer.add("val", tokens)
            if mixed < share:
                mix.add("val", tokens[: share - mixed])
                mixed += len(tokens[: share - mixed]) + 1  # and its end-of-text
        writer.close()
        write_manifest(scratch / name, describe(encoding), enc.n_vocab, enc.eot_token)
        digest.update(f"{name}:{share}".encode())
        for shard in shard_paths(scratch / name, "val"):
            digest.update(shard.read_bytes())
    mix.close()
    write_manifest(scratch / "mix", describe(encoding), enc.n_vocab, enc.eot_token)
    final = folder / digest.hexdigest()[:12]
    if final.is_dir():
        shutil.rmtree(scratch)
    else:
        scratch.rename(final)
    final = final.resolve()
    domains = [EvalDomain(name, path, final / name, read_manifest(final / name)["splits"]["val"]["tokens"])
               for name, path in zip(names, paths)]
    return domains, final / "mix"


@dataclass
class TrainJob:
    """One (variant, seed) training, picklable for a worker process."""

    variant: str
    seed: int
    docs: int
    tokens: int
    folder: str
    mix: str
    domains: list[tuple[str, str]]  # (name, val folder)
    settings: dict[str, Any]
    threads: int | None
    quiet: bool


def check_device(device: str, where: str) -> None:
    """The trainer's device rule (`pick_device`), asked before the ablation's first step: CUDA asked for where
    there is none stops it then, not after every variant ran."""
    from ..train.data import TrainError
    from ..train.train import pick_device

    try:
        pick_device(device)
    except TrainError:
        raise CurateError(f"{where} cuda was asked for but no CUDA device is available; use cpu or auto") from None


def train_and_score(job: TrainJob) -> dict[str, Any]:
    """Train (or resume) one run on the variant's shards, with the mixed eval slice for its loss curve, then
    score the final model on every domain. The run's figures: macro means over the domains."""
    import torch

    from ..train.data import TrainError
    from ..train.train import train

    threads = torch.get_num_threads()
    torch.set_num_threads(job.threads or threads)
    out = Path(job.folder) / "train" / f"seed{job.seed}"
    try:
        config = TrainConfig(shards=job.folder, val=job.mix, out=str(out), seed=job.seed, progress=not job.quiet,
                             threads=job.threads, **job.settings)
        result = train(config)
        domains = score_domains(config, job.domains)
    except TrainError as exc:
        raise CurateError(f"{exc} (to start the ablation over, use --overwrite)") from exc
    finally:
        torch.set_num_threads(threads)
    return {
        "variant": job.variant, "seed": job.seed, "docs": job.docs, "tokens": job.tokens,
        "val_loss": statistics.fmean(d["val_loss"] for d in domains.values()),
        "val_bpb": statistics.fmean(d["val_bpb"] for d in domains.values()),
        "tokens_per_s": result["tokens_per_s"], "epochs": result["tokens"] / job.tokens,
        "tokens_trained": result["tokens"], "domains": domains,
        "curve": [[point["tokens"], point["val_loss"]] for point in result["curve"]],
    }


def score_domains(config: TrainConfig, domains: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """The finished run's model (its last checkpoint) on the first `eval_tokens` tokens of each domain;
    stored beside the run as domains.json, so a resumed ablation does not score again."""
    import json

    import torch

    from ..train.data import eval_batches, read_split, token_byte_lengths
    from ..train.model import GPT, GPTConfig
    from ..train.train import evaluate, pick_device

    out = Path(config.out)
    stored = out / "domains.json"
    if stored.is_file():
        scores = json.loads(stored.read_text())
        if list(scores) == [name for name, _ in domains]:
            return scores
    device = pick_device(config.device)
    train_split = read_split(config.shards, "train")
    model = GPT(GPTConfig.from_preset(config.preset, train_split.vocab_size, **config.model)).to(device)
    model.load_state_dict(torch.load(out / "checkpoint.pt", map_location=device, weights_only=True)["model"])
    token_bytes = token_byte_lengths(train_split.encoding)
    scores = {}
    for name, folder in domains:
        split = read_split(folder, "val")
        batches = list(eval_batches(split.shards, model.config.context, config.batch_size, config.eval_tokens,
                                    vocab_size=split.vocab_size))
        sums = evaluate(model, batches, token_bytes, device)
        scores[name] = {"val_loss": sums.loss, "val_bpb": sums.bits_per_byte}
    write_json_atomic(stored, scores)
    return scores
