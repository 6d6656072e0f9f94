"""Train the small GPT on token shards for a token budget; `train(config)` returns the final numbers and curve.

The token budget is the knob: steps = tokens // (batch_size * context * grad_accum), so variants compared at
equal budgets see equal numbers of tokens. With `out` set, a run writes `config.json`, `log.jsonl`,
`checkpoint.pt` (after each evaluation) and `result.json`; calling `train` again on the same `out` resumes
from the checkpoint exactly (model, optimizer, step, sampler and torch RNG states), or returns the stored
result when the run had finished, provided the settings and the data (by content, see `data_identity`) are
the same.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..atomic import AtomicFile, write_json_atomic
from ..tokens.shards import ShardError
from .data import (
    TokenSplit, TrainError, WindowSampler, data_identity, eval_batches, has_split, held_out_tail, read_split,
    token_byte_lengths,
)
from .model import GPT, PRESETS, GPTConfig

DEFAULT_LR = {"tiny": 2e-3, "small": 6e-4, "medium": 3e-4}
# Settings that may change between a run and its resumption; everything else must match the checkpoint.
RUNTIME_ONLY = {"out", "device", "compile", "progress", "stop_after", "threads"}
DATA_PATHS = {"shards", "val"}  # compared by what they hold (data_identity), not by how they are spelled
SMALL_MACHINE_CORES = 4  # up to this many cores, CPU training defaults to one thread (see cpu_threads)
ESTIMATE_AFTER = 5  # steps timed (after the first, which pays for warm-up) before the run's duration is estimated
ESTIMATE_SECONDS = 10.0  # or fewer steps, once this long has passed: a slow run says so early
EVAL_COST = 1 / 3  # a validation token costs about a third of a training token (forward pass only)


@dataclass
class TrainConfig:
    shards: str  # a run's output folder or its tokens/ folder
    out: str | None = None  # where config, log, checkpoint and result go; None writes nothing
    val: str | None = None  # another token folder to validate on (its `val` split); default: `shards`' val split
    preset: str = "tiny"
    model: dict[str, int] = field(default_factory=dict)  # overrides of the preset: context, n_layer, n_head, d_model
    tokens: int = 1_000_000  # training token budget
    seed: int = 0
    batch_size: int = 8  # sequences per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float | None = None  # peak learning rate; None takes the preset's
    min_lr_ratio: float = 0.1  # the cosine decays to lr * min_lr_ratio
    warmup: float = 0.05  # share of the steps spent warming up linearly
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    align_to_documents: bool = False  # start training windows at document starts (from the .idx sidecars)
    evals: int = 10  # validations spread evenly over the run, the last one at the final step
    eval_tokens: int = 65_536  # validation target tokens per evaluation
    log_every: int = 10  # steps between train-loss lines in log.jsonl
    device: str = "auto"  # auto (CUDA when present), cpu, cuda
    compile: bool = False
    progress: bool = True
    stop_after: int | None = None  # end this call after this step, with a checkpoint to resume from
    threads: int | None = None  # torch CPU threads; None: see cpu_threads()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class EvalSums:
    """Running sums for validation loss and bits per byte.

    Bits per byte = (sum of target-token losses in nats) / ln 2 / (UTF-8 bytes those targets decode to).
    Special tokens (end-of-text) decode to no text, so they are left out of both sums for bits per byte
    (as nanochat does); the plain loss averages over every target token, special ones included.
    """

    nats: float = 0.0
    tokens: int = 0
    text_nats: float = 0.0
    text_bytes: int = 0

    def add(self, token_losses: torch.Tensor, targets: torch.Tensor, token_bytes: torch.Tensor) -> None:
        token_losses, targets = token_losses.flatten().double(), targets.flatten()
        byte_counts = token_bytes.to(targets.device)[targets]
        self.nats += token_losses.sum().item()
        self.tokens += targets.numel()
        self.text_nats += token_losses[byte_counts > 0].sum().item()
        self.text_bytes += int(byte_counts.sum().item())

    @property
    def loss(self) -> float:
        return self.nats / self.tokens

    @property
    def bits_per_byte(self) -> float:
        return self.text_nats / math.log(2) / self.text_bytes


def evaluate(model: torch.nn.Module, batches: list[np.ndarray], token_bytes: torch.Tensor, device: str) -> EvalSums:
    sums = EvalSums()
    model.eval()
    with torch.no_grad():
        for batch in batches:
            tokens = torch.from_numpy(batch).to(device)
            with _autocast(device):
                logits = model(tokens[:, :-1])
            targets = tokens[:, 1:]
            losses = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none")
            sums.add(losses, targets, token_bytes)
    model.train()
    return sums


def learning_rate(step: int, steps: int, config: TrainConfig, peak: float) -> float:
    """Linear warmup to `peak`, then cosine decay to `peak * min_lr_ratio` at the last step (steps count from 1)."""
    warmup_steps = max(1, round(config.warmup * steps))
    if step <= warmup_steps:
        return peak * step / warmup_steps
    progress = (step - warmup_steps) / max(1, steps - warmup_steps)
    floor = peak * config.min_lr_ratio
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def cpu_threads(requested: int | None) -> int:
    """Threads for CPU training: as asked, else 1 on a machine of up to 4 cores, else torch's default.

    On a small machine a second thread mostly waits for the first and spins: the tiny preset ran at 1,029
    tokens/s with one thread and 282 with two on a busy 2-core machine (`python -m bench.bench_train_speed`)."""
    if requested is not None:
        return requested
    return 1 if (os.cpu_count() or 1) <= SMALL_MACHINE_CORES else torch.get_num_threads()


def train(config: TrainConfig, say: Callable[[str], None] | None = None) -> dict:
    """Train (or resume, or return the finished result of) the run the config describes, with torch's CPU threads
    set for the run (see cpu_threads) and restored afterwards."""
    _validate(config)
    before = torch.get_num_threads()
    torch.set_num_threads(cpu_threads(config.threads))
    try:
        return _train(config, say)
    finally:
        torch.set_num_threads(before)


def _train(config: TrainConfig, say: Callable[[str], None] | None = None) -> dict:
    """Train (or resume, or return the finished result of) the run `config` describes.

    `say` receives one-line notes for the user: the plan, where validation comes from, and an estimate of the
    run's duration from its first steps."""
    say = say or (lambda message: None)
    out = Path(config.out) if config.out else None
    if out and (out / "result.json").is_file():
        return _finished_result(out, config)
    train_split, val_split, held_out, model_config = _read_data(config)
    context, per_step = model_config.context, config.batch_size * model_config.context * config.grad_accum
    steps = config.tokens // per_step
    if steps < 1:
        raise TrainError(f"a budget of {config.tokens} tokens is less than one step ({per_step} tokens)")
    data = data_identity(train_split, None if held_out else val_split)
    device = pick_device(config.device)
    if held_out:
        say(f"no 'val' shards in {config.shards}: validating on the last {held_out:,} tokens of its train shards "
            f"(from the end of {train_split.shards[-1].name}), held out from training")

    torch.manual_seed(config.seed)
    model = GPT(model_config).to(device)
    optimizer = _optimizer(model, config, device)
    sampler = WindowSampler(train_split.shards, context, config.batch_size, config.seed, vocab_size=train_split.vocab_size,
                            align_to_documents=config.align_to_documents, held_out=held_out,
                            eot_token=train_split.eot_token)
    val_batches = list(eval_batches(val_split.shards, context, config.batch_size, config.eval_tokens,
                                    vocab_size=val_split.vocab_size, tail=held_out or None))
    if not val_batches:
        raise TrainError(f"the {len(val_split.shards)} validation shard(s) hold fewer than {context + 1} tokens in all: "
                         f"{val_split.shards[0]} ...")
    token_bytes = token_byte_lengths(train_split.encoding)
    step_model = torch.compile(model) if config.compile else model

    state = {"step": 0, "train_seconds": 0.0, "curve": [], "interval_losses": []}
    if out:
        state = _start_or_resume(out, config, data, model, optimizer, sampler, state)
    eval_steps = {max(1, round(steps * i / config.evals)) for i in range(1, config.evals + 1)} | {steps}
    last_step = min(steps, config.stop_after or steps)
    peak_lr = config.lr or DEFAULT_LR[config.preset]

    threads = f" with {torch.get_num_threads()} thread(s)" if device == "cpu" else ""
    say(f"training {steps * per_step:,} tokens: {steps:,} steps of {per_step:,}, {config.preset} preset "
        f"({model.num_parameters() / 1e6:.1f}M parameters, vocabulary {train_split.vocab_size:,}) on {device}{threads}"
        + (f", resuming after step {state['step']:,}" if state["step"] else ""))
    timer = _DurationEstimate(first_step=state["step"] + 1, last_step=last_step, per_step=per_step, eval_steps=eval_steps,
                              eval_targets=sum(batch.shape[0] * context for batch in val_batches))

    segment_started = time.perf_counter()
    interval_losses = [torch.tensor(loss, device=device) for loss in state["interval_losses"]]
    with _progress_bar(config.progress) as bar:
        task = bar.add_task("train", total=steps, completed=state["step"], rate="", loss="")
        for step in range(state["step"] + 1, last_step + 1):
            lr = learning_rate(step, steps, config, peak_lr)
            step_started = time.perf_counter()
            step_loss = _optimizer_step(step_model, model, optimizer, sampler, lr, config, device)
            interval_losses.append(step_loss)
            state["step"] = step
            estimate = timer.after(step, step_started, device)
            if estimate:
                say(estimate)

            tokens_per_s = step * per_step / max(state["train_seconds"] + time.perf_counter() - segment_started, 1e-9)
            if step % config.log_every == 0 or step in eval_steps:
                _log(out, {"event": "train", "step": step, "tokens": step * per_step, "loss": step_loss.item(),
                           "lr": lr, "tokens_per_s": round(tokens_per_s)})
                bar.update(task, loss=f"loss {step_loss.item():.3f}")
            bar.update(task, completed=step, rate=f"{tokens_per_s:,.0f} tok/s")

            if step in eval_steps or step == last_step:
                _synchronize(device)
                state["train_seconds"] += time.perf_counter() - segment_started
                if step in eval_steps:
                    sums = evaluate(model, val_batches, token_bytes, device)
                    point = {"step": step, "tokens": step * per_step, "lr": lr,
                             "train_loss": torch.stack(interval_losses).mean().item(),
                             "val_loss": sums.loss, "val_bpb": sums.bits_per_byte}
                    interval_losses = []
                    state["curve"].append(point)
                    _log(out, {"event": "eval", **point})
                if out:
                    state["interval_losses"] = [loss.item() for loss in interval_losses]
                    _save_checkpoint(out, model, optimizer, sampler, state)
                segment_started = time.perf_counter()

    if state["step"] < steps:
        return {"finished": False, "step": state["step"], "steps": steps, "curve": state["curve"]}
    final = state["curve"][-1]
    result = {
        "finished": True, "val_loss": final["val_loss"], "val_bpb": final["val_bpb"],
        "tokens_per_s": steps * per_step / max(state["train_seconds"], 1e-9), "tokens": steps * per_step,
        "steps": steps, "parameters": model.num_parameters(), "device": device, "curve": state["curve"],
        "val_held_out_of_train": held_out,
    }
    if out:
        write_json_atomic(out / "result.json", result)
    return result


class _DurationEstimate:
    """Times the optimizer steps after the first (which pays for warm-up) and, once five are timed or ten seconds
    of them have passed, says how long the rest of the run will take, evaluations included."""

    def __init__(self, first_step: int, last_step: int, per_step: int, eval_steps: set[int], eval_targets: int) -> None:
        self.first_step, self.last_step, self.per_step = first_step, last_step, per_step
        self.eval_steps, self.eval_targets = eval_steps, eval_targets  # eval_targets: tokens one evaluation scores
        self.seconds = 0.0
        self.said = False

    def after(self, step: int, started: float, device: str) -> str | None:
        """`started`: when this step began. Returns the estimate once, else None."""
        if self.said or step == self.last_step:
            return None
        _synchronize(device)
        if step == self.first_step:
            return None
        self.seconds += time.perf_counter() - started
        timed = step - self.first_step
        if timed < ESTIMATE_AFTER and self.seconds < ESTIMATE_SECONDS:
            return None
        self.said = True
        tokens_per_s = timed * self.per_step / max(self.seconds, 1e-9)
        evals_left = sum(1 for s in self.eval_steps if step < s <= self.last_step)
        remaining = ((self.last_step - step) * self.per_step + evals_left * self.eval_targets * EVAL_COST) / tokens_per_s
        return (f"{tokens_per_s:,.0f} tokens/s over steps {self.first_step + 1}-{step}: about "
                f"{_duration(remaining)} to go ({self.last_step - step:,} steps and {evals_left} evaluations)")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _optimizer_step(
    step_model: torch.nn.Module,
    model: GPT,
    optimizer: torch.optim.Optimizer,
    sampler: WindowSampler,
    lr: float,
    config: TrainConfig,
    device: str,
) -> torch.Tensor:
    """One optimizer step over `grad_accum` micro-batches; returns their mean loss (on the device, unsynced)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    step_loss = torch.zeros((), device=device)
    for _ in range(config.grad_accum):
        batch = torch.from_numpy(sampler.next_batch()).to(device, non_blocking=True)
        with _autocast(device):
            logits = step_model(batch[:, :-1])
        loss = F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].flatten())
        (loss / config.grad_accum).backward()
        step_loss += loss.detach() / config.grad_accum
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return step_loss


def _validate(config: TrainConfig) -> None:
    if config.preset not in PRESETS:
        raise TrainError(f"unknown preset {config.preset!r}; choose one of {', '.join(PRESETS)}")
    unknown = set(config.model) - set(PRESETS["tiny"])
    if unknown:
        raise TrainError(f"unknown model setting(s) {', '.join(sorted(unknown))}; allowed: {', '.join(PRESETS['tiny'])}")
    shape = {**PRESETS[config.preset], **config.model}
    for name, value in shape.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TrainError(f"model {name} must be a whole number of at least 1, got {value!r}")
    if shape["d_model"] % shape["n_head"]:
        raise TrainError(f"d_model {shape['d_model']} is not divisible by n_head {shape['n_head']}")
    if config.threads is not None and config.threads < 1:
        raise TrainError(f"threads must be at least 1, got {config.threads}")
    for name in ("tokens", "batch_size", "grad_accum", "evals", "eval_tokens", "log_every"):
        if getattr(config, name) < 1:
            raise TrainError(f"{name} must be at least 1, got {getattr(config, name)}")
    if config.device not in ("auto", "cpu", "cuda"):
        raise TrainError(f"device must be auto, cpu or cuda, got {config.device!r}")


def pick_device(requested: str) -> str:
    """`auto` is CUDA where present, else CPU; `cuda` without a CUDA device is an error, not a quiet CPU run."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda was asked for but no CUDA device is available")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def _autocast(device: str) -> torch.autocast:
    """bf16 autocast on CUDA; plain float32 on CPU, where bf16 matmuls are slower, not faster."""
    return torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda")


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _optimizer(model: GPT, config: TrainConfig, device: str) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices and embeddings only, not on norm gains."""
    decayed = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decayed, "weight_decay": config.weight_decay}, {"params": plain, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=0.0, betas=(0.9, 0.95), fused=device == "cuda")


def _progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled,
    )


def _read_data(config: TrainConfig) -> tuple[TokenSplit, TokenSplit, int, GPTConfig]:
    """The train and validation splits, the tokens held out of train for validation (0 with a val split) and the
    model's shape (its vocabulary is the shards')."""
    train_split = read_split(config.shards, "train")
    model_config = GPTConfig.from_preset(config.preset, train_split.vocab_size, **config.model)
    held_out = 0
    if config.val is None and not has_split(config.shards, "val"):
        val_split = train_split
        held_out = held_out_tail(train_split, model_config.context, config.eval_tokens)
    else:
        val_split = read_split(config.val or config.shards, "val")
    if val_split.encoding != train_split.encoding:
        raise TrainError(f"validation encoding {val_split.encoding!r} differs from training {train_split.encoding!r}")
    return train_split, val_split, held_out, model_config


def _finished_result(out: Path, config: TrainConfig) -> dict:
    """The stored result of the finished run in `out`: the same settings, and the same data where it can still be
    read (a finished run's shards may have been removed; its result stands without them)."""
    try:
        train_split, val_split, held_out, _ = _read_data(config)
        data: dict[str, str | int] | None = data_identity(train_split, None if held_out else val_split)
    except (TrainError, ShardError):  # gone, or no longer shards
        data = None
    _check_same_run(out, config, data)
    return json.loads((out / "result.json").read_text())


def _check_same_run(out: Path, config: TrainConfig, data: dict[str, str | int] | None) -> None:
    """`out` may only resume (or return) the run it holds: the same settings, and the same data by content."""
    stored = json.loads((out / "config.json").read_text())
    # A run folder written before config.json recorded its data is checked by its folders' spelling instead.
    ignored = RUNTIME_ONLY | (DATA_PATHS if "data" in stored else set())
    stored_data = stored.pop("data", data)
    differences = [f"{k}: {stored.get(k)!r} then, {v!r} now"
                   for k, v in config.to_dict().items() if k not in ignored and stored.get(k) != v]
    if differences:
        raise TrainError(f"{out} holds a run with other settings ({'; '.join(differences)}); choose another --out")
    if data is None or stored_data is None:  # the data is gone (a finished run's result stands without it)
        return
    changed = [f"{k}: {stored_data.get(k)!r} then, {v!r} now" for k, v in data.items() if stored_data.get(k) != v]
    if changed:
        raise TrainError(f"{out} holds a run on other data ({'; '.join(changed)}); choose another --out, "
                         "or give the data it trained on")


def _start_or_resume(
    out: Path, config: TrainConfig, data: dict[str, str | int], model: GPT, optimizer: torch.optim.Optimizer,
    sampler: WindowSampler, state: dict,
) -> dict:
    checkpoint_path = out / "checkpoint.pt"
    if not checkpoint_path.is_file():
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "config.json", {**config.to_dict(), "data": data})
        (out / "log.jsonl").write_text("")
        return state
    if "data" not in json.loads((out / "config.json").read_text()):
        raise TrainError(f"{out} holds a run an older curate started, which held out and validated on other tokens; "
                         "choose another --out")
    _check_same_run(out, config, data)
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as exc:  # a checkpoint of another model shape
        detail = str(exc).strip().splitlines()[-1].strip()
        raise TrainError(f"{checkpoint_path} does not fit this model ({detail}); choose another --out") from None
    optimizer.load_state_dict(checkpoint["optimizer"])
    sampler.load_state_dict(checkpoint["sampler"])
    torch.set_rng_state(checkpoint["torch_rng"])
    if torch.cuda.is_available() and checkpoint["cuda_rng"] is not None:
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
    # Lines written after the checkpoint (a run killed between two checkpoints) will be written again.
    log = out / "log.jsonl"
    kept = [line for line in log.read_text().splitlines() if json.loads(line)["step"] <= checkpoint["step"]]
    log.write_text("".join(line + "\n" for line in kept))
    return {key: checkpoint[key] for key in state}


def _save_checkpoint(
    out: Path, model: GPT, optimizer: torch.optim.Optimizer, sampler: WindowSampler, state: dict
) -> None:
    checkpoint = {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "sampler": sampler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None, **state,
    }
    with AtomicFile(out / "checkpoint.pt") as partial:  # a crash mid-write never leaves a broken checkpoint
        torch.save(checkpoint, partial)


def _log(out: Path | None, record: dict) -> None:
    if out:
        with open(out / "log.jsonl", "a") as log:
            log.write(json.dumps(record) + "\n")

