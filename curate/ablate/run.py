"""Running an ablation, step by step: the pool, the shared tokenizer, the evaluation shards, each variant's
run, every training; then ablation.json, each variant's report and the table."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from ..atomic import write_json_atomic
from ..config import PipelineConfig
from ..errors import CurateError
from ..io.base import InputOptions
from ..tokens.bpe import train_bpe
from ..tokens.encodings import describe, load_encoding, write_ranks
from ..tokens.shards import read_manifest
from ..train.train import TrainConfig
from .config import AblationConfig, Variant
from .overlap import OverlapIndex
from .pool import PoolPlan, plan_pool, pool_sample, select_documents
from .table import MAX_EPOCHS, ablation_table, print_ablation, summarize
from .training import EvalDomain, TrainJob, check_device, tokenize_eval, train_and_score


@dataclass
class VariantData:
    """A variant's finished run: its folder and what its training shards hold."""

    name: str
    folder: Path
    docs: int
    tokens: int
    derived: bool  # taken from the pool rather than run on its own
    eval_overlap: dict[str, float]  # per domain: share of its n-grams found in this variant's training text


def run_ablation(
    config: AblationConfig,
    output: str | Path,
    workers: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    quiet: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run every variant, train every (variant, seed), write ablation.json and the reports; return ablation.json."""
    root = Path(output)
    check_device(device or config.train.get("device", "auto"), "--device" if device else "train.device:")
    _claim(root, overwrite)
    session = _Session(config, root, workers or config.workers, quiet, console or _console())
    clock = _Clock()
    plan = plan_pool(config.base.stages, config.variants)
    session.run_pool(plan)
    clock.lap("pool")
    encoding = config.encoding or session.train_tokenizer()
    clock.lap("tokenizer")
    domains, mix = tokenize_eval(config.eval_paths, encoding, root / "eval", config.eval_tokens_per_document,
                                 config.train.get("eval_tokens", 65_536))
    overlaps = OverlapIndex([d.path for d in domains], [d.name for d in domains])
    overlaps.index_run(root / "pool", removed_by=config.eval_fed)
    overlap_before = overlaps.before()
    session.console.print("[bold]eval[/bold]: " + ", ".join(
        f"{d.name} {d.tokens:,} tokens ({overlap_before[d.name]:.3%} of its 13-grams in the pool)" for d in domains))
    clock.lap("eval")
    variants = [session.run_variant(v, plan, encoding, overlaps) for v in config.variants]
    clock.lap("variants")
    train_settings = {**config.train, **({"device": device} if device else {})}
    runs = session.train_all(variants, mix, domains, train_settings)
    clock.lap("train")
    ablation = {
        "runs": runs,
        "summary": summarize(runs, config.baselines),
        "variants": {v.name: {"stages": [n for n, _ in config.variant(v.name).stages], "docs": v.docs, "tokens": v.tokens,
                              "from_pool": v.derived, "eval_overlap": v.eval_overlap} for v in variants},
        "reference": config.reference,
        "baselines": config.baselines,
        "pool": {"stages": [{n: o} for n, o in plan.stages], "folder": str(root / "pool")},
        "tokenizer": {**describe(encoding), "vocab_size": load_encoding(encoding).n_vocab,
                      "trained_on": None if config.encoding else f"a {config.sample_bytes:,}-byte sample of the pool"},
        "eval": {"paths": config.eval_paths, "tokens_per_document": config.eval_tokens_per_document,
                 "domains": [{"name": d.name, "path": d.path, "tokens": d.tokens, "folder": str(d.folder),
                              "overlap_before": overlap_before[d.name]} for d in domains],
                 "folder": str(mix), "decontaminated_by": config.eval_fed},
        "train": {**train_settings, "seeds": config.seeds, "threads": config.threads, "parallel": config.parallel,
                  "max_epochs": MAX_EPOCHS},
        "seconds": clock.laps,  # this call's wall time per step (a resumed step costs little)
    }
    ablation["table"] = ablation_table(ablation)
    _write_outputs(root, ablation, variants, config.reference)
    print_ablation(ablation, session.console)
    session.console.print(f"ablation: {root / 'ablation.json'}\nreport: {root / 'report.html'}")
    return ablation


class _Clock:
    """Wall seconds per step of the ablation."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = self.started = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round(now - self.last, 1)
        self.laps["total"] = round(now - self.started, 1)
        self.last = now


@dataclass
class _Session:
    """One ablation's steps, sharing its settings and console."""

    config: AblationConfig
    root: Path
    workers: int
    quiet: bool
    console: Console

    def run_pipeline(self, pipeline: PipelineConfig, folder: Path) -> None:
        from ..driver import execute
        from ..pipeline import OutputLayout
        from ..progress import RichProgress

        pipeline = dataclasses.replace(pipeline, output=None, source_file=self.config.source_file)
        with RichProgress(disabled=self.quiet, readings=OutputLayout(folder).readings) as progress:  # documents/s inside each shard too
            outcome = execute(pipeline, str(folder), self.workers, progress=progress)
        problems = outcome.stats.conservation_problems()
        if problems:
            raise CurateError(f"{folder}: conservation failed: {'; '.join(problems)}")
        self.console.print(f"  read {outcome.stats.docs_read:,} documents, kept {outcome.stats.docs_written:,} "
                           f"({outcome.seconds:.1f}s)")

    def run_pool(self, plan: PoolPlan) -> None:
        self.console.print(f"[bold]pool[/bold]: {' -> '.join(_describe_stage(s) for s in plan.stages)}")
        self.run_pipeline(dataclasses.replace(self.config.base, stages=plan.stages), self.root / "pool")

    def train_tokenizer(self) -> str:
        """One vocabulary for every variant and the eval text, learnt from a seeded sample of the pool (what
        every variant draws from). The file is named by its content, so a changed vocabulary gets a new name,
        the variants' pipeline fingerprints change with it, and shards of an older vocabulary never resume."""
        config, folder = self.config, self.root / "tokenizer"
        texts = pool_sample(self.root / "pool", config.sample_bytes)
        self.console.print(f"[bold]tokenizer[/bold]: {config.vocab_size:,} ids trained on {len(texts):,} pool documents "
                           f"({sum(len(t.encode()) for t in texts):,} bytes)")
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / "training.tiktoken"
        write_ranks(scratch, train_bpe(texts, config.vocab_size))
        final = folder / f"bpe-{config.vocab_size}-{hashlib.sha256(scratch.read_bytes()).hexdigest()[:12]}.tiktoken"
        scratch.replace(final)
        return str(final.resolve())

    def run_variant(self, variant: Variant, plan: PoolPlan, encoding: str, overlaps: OverlapIndex) -> VariantData:
        """A derived variant: the pool's documents its filters pass, then its own later stages and tokenize;
        any other: its whole pipeline. Either way tokenize writes train shards only."""
        folder = self.root / "variants" / variant.name
        tokenize = ("tokenize", {**self.config.tokenize_options, "encoding": encoding, "val_fraction": 0.0})
        derived = variant.name in plan.derived
        if derived:
            filters, tail = plan.derived[variant.name]
            self.console.print(f"[bold]variant {variant.name}[/bold]: pool documents no "
                               f"{', '.join(filters) or 'filter'} removed -> {' -> '.join(n for n, _ in tail + [tokenize])}")
            selected = self.root / "selections" / variant.name
            selection = select_documents(self.root / "pool", filters, selected)
            if not selection.kept:  # its run would stop at an empty input, naming no variant
                raise CurateError(f"variant {variant.name!r} kept no documents ({selection.why_empty()}); "
                                  "there is nothing to train on")
            pipeline = dataclasses.replace(self.config.base, input=InputOptions(paths=[str(selected)], format="parquet"),
                                           stages=[*tail, tokenize])
        else:
            self.console.print(f"[bold]variant {variant.name}[/bold]: {' -> '.join(n for n, _ in variant.stages)} -> tokenize")
            pipeline = dataclasses.replace(self.config.base, stages=[*variant.stages, tokenize])
        self.run_pipeline(pipeline, folder)
        train_split = read_manifest(folder / "tokens")["splits"]["train"]
        if not train_split["tokens"]:
            raise CurateError(f"variant {variant.name!r} kept no documents; there is nothing to train on")
        overlap = overlaps.after(folder) if derived else overlaps.of_run(folder)
        return VariantData(variant.name, folder, train_split["docs"], train_split["tokens"], derived, overlap)

    def train_all(self, variants: list[VariantData], mix: Path, domains: list[EvalDomain],
                  settings: dict[str, Any]) -> list[dict[str, Any]]:
        """Every variant at every seed with the same settings, `parallel` at a time; seed-major, so that a
        half-finished ablation already compares every variant."""
        budget = settings.get("tokens", TrainConfig.tokens)
        for v in variants:
            epochs = budget / v.tokens
            self.console.print(f"{v.name}: {v.docs:,} docs, {v.tokens:,} training tokens: a {budget:,}-token budget is "
                               f"{epochs:.2f} epochs{' (repeats its data)' if epochs > MAX_EPOCHS else ''}; eval overlap "
                               + ", ".join(f"{k} {share:.2%}" for k, share in v.eval_overlap.items()))
        jobs = [TrainJob(v.name, seed, v.docs, v.tokens, str(v.folder), str(mix),
                          [(d.name, str(d.folder)) for d in domains], settings, self.config.threads, self.quiet)
                for seed in self.config.seeds for v in variants]
        if self.config.parallel == 1:
            return [self._report(train_and_score(job)) for job in jobs]
        context = multiprocessing.get_context("spawn")  # torch is not fork-safe once it has threads
        with ProcessPoolExecutor(self.config.parallel, mp_context=context) as pool:
            futures = [pool.submit(train_and_score, dataclasses.replace(job, quiet=True)) for job in jobs]
            return [self._report(future.result()) for future in futures]

    def _report(self, run: dict[str, Any]) -> dict[str, Any]:
        self.console.print(f"[bold]train[/bold] {run['variant']} seed {run['seed']}: val bpb {run['val_bpb']:.4f} ("
                           + ", ".join(f"{k} {v['val_bpb']:.3f}" for k, v in run["domains"].items())
                           + f"), {run['tokens_per_s']:,.0f} tokens/s")
        return run


def _describe_stage(stage: tuple[str, dict[str, Any]]) -> str:
    return f"{stage[0]} (annotate)" if stage[1].get("mode") == "annotate" else stage[0]


def _claim(root: Path, overwrite: bool) -> None:
    """An output folder is new, empty, or an earlier ablation (resumed, or replaced with `overwrite`)."""
    if not root.exists() or not any(root.iterdir()):
        return
    if not (root / "pool").is_dir() and not (root / "variants").is_dir():
        raise CurateError(f"{root} exists and is not an ablation's output; refusing to write into it")
    if overwrite:
        shutil.rmtree(root)


def _write_outputs(root: Path, ablation: dict[str, Any], variants: list[VariantData], reference: str) -> None:
    """ablation.json at the top and in every variant's folder, whose report then shows the comparison; the
    reference variant's report is also the ablation's report.html."""
    from ..report.html import write_report

    write_json_atomic(root / "ablation.json", ablation)
    for v in variants:
        write_json_atomic(v.folder / "ablation.json", ablation)
        report = write_report(v.folder)
        if v.name == reference:
            shutil.copyfile(report, root / "report.html")


def _console() -> Console:
    """The terminal's width; 160 columns when writing to a file or pipe, so the table is not cut."""
    console = Console()
    return console if console.is_terminal else Console(width=160)
