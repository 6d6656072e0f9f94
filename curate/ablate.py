"""`curate ablate`: what curation does to a model. Pipeline variants run on the same input; the same small
GPT trains on each at the same token budget and seeds, with one shared tokenizer, and every run is scored in
bits per byte on each evaluation domain (Paloma-style) and on their macro mean.

How variants are run: the per-document stages before the first dedup stage run ONCE over the input (the
pool): stages every variant has act as configured, the others in annotate mode. A variant whose stages are
a part of that shared list, in order and with the same options, keeps the pool's documents that none of its
own filters marked (`<stage>_reason` is empty) and runs only the rest of its pipeline (dedup) and tokenize.
Documents are selected exactly as the full pipeline would; text a left-out-in-some-variant stage would edit
(c4_quality's dropped lines) stays unedited in every variant, so variants differ only in which documents they
keep. Any other variant runs its whole pipeline. The value `eval` in a stage's options means the evaluation
paths, and a stage fed by them (`decontaminate: {against: eval}`) is given to every variant, so no variant
can win by training on the evaluation text.

Equal budgets mean a variant that kept less data repeats it: its epochs are recorded, and flagged above 2.
The output folder:
  pool/                       the shared run (kept documents with every stage's annotations)
  tokenizer/bpe-<V>-<sha>.tiktoken  the shared vocabulary, trained once on a seeded sample of the pool
  eval/<sha>/<domain>/        each evaluation domain's `val` shards; eval/<sha>/mix/ a slice of each, for
                              the loss curves; named by their content
  selections/<name>/          a derived variant's documents (Parquet), the input of its own run
  variants/<name>/            each variant's run (data/, removed/, tokens/, stats.json, report.html with the
                              ablation section) and train/seed<k>/ (checkpoint, log, result, domains.json)
  ablation.json, report.html  all runs; the reference variant's report
Running the same command again resumes: finished pipeline tasks and training runs are not repeated, and
because the tokenizer and eval folders are named by content, a changed one can never be mixed with old runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import re
import shutil
import statistics
import tempfile
import time
import typing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from .atomic import write_json_atomic
from .config import PipelineConfig, check_stages, check_value, parse_config, read_yaml, reject_unknown, validate_options
from .errors import ConfigError, CurateError
from .evalsets import domain_names, domain_texts
from .io.base import InputOptions
from .io.writers import write_parquet_atomic
from .ngrams import contains, ngram_hashes, ngram_set
from .options import docs
from .stages import build_stage, stage_class, stage_key
from .tokens.bpe import train_bpe
from .tokens.encodings import check_spec, describe, load_encoding, write_ranks
from .tokens.shards import TokenShardWriter, load_shard, read_manifest, shard_paths, write_manifest
from .train.train import TrainConfig

TOP_LEVEL_KEYS = {"pipeline", "input", "output", "workers", "threads", "parallel", "variants", "reference", "baselines",
                  "tokenizer", "eval", "train"}
VARIANT_KEYS = {"drop", "stages"}
TOKENIZER_KEYS = {"vocab_size", "sample_bytes", "encoding"}
# TrainConfig fields an ablation sets for every run alike; the ablation sets the others per run.
TRAIN_KEYS = {f.name for f in fields(TrainConfig)} - {"shards", "val", "out", "seed", "progress", "stop_after"}
EVAL_SET = "eval"  # as a stage option's value: the ablation's evaluation paths
MAX_EPOCHS = 2.0  # beyond this many passes over its data a variant's score also measures repetition
SELECTION_COLUMNS = ["id", "text", "url", "source"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

Stages = list[tuple[str, dict[str, Any]]]


@dataclass
class Variant:
    name: str
    stages: Stages  # the curation stages; the shared tokenize stage is appended


@dataclass
class AblationConfig:
    base: PipelineConfig  # input, batch size and stages every variant starts from (tokenize taken out)
    tokenize_options: dict[str, Any]  # the base's tokenize options; encoding and val_fraction are the ablation's
    variants: list[Variant]
    reference: str  # the variant whose report is the ablation's report
    baselines: list[str]  # every variant's paired differences are taken against each of these
    eval_paths: list[str]  # one evaluation domain each (see curate.evalsets)
    eval_tokens_per_document: int | None  # cut each evaluation document to its first N tokens (books weigh alike)
    train: dict[str, Any]  # TrainConfig settings shared by every run
    seeds: list[int]
    encoding: str | None = None  # a named encoding or .tiktoken path instead of training one
    vocab_size: int = 8192
    sample_bytes: int = 8_000_000  # the tokenizer learns from a seeded sample of the pool this large
    output: str | None = None
    workers: int = 1
    threads: int | None = None  # torch threads per training; None keeps torch's default (one per core)
    parallel: int = 1  # trainings run at once (each in its own process)
    eval_fed: list[str] = field(default_factory=list)  # stages whose options name the evaluation set
    source_file: str | None = None

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)


# --- configuration ---------------------------------------------------------------------------------------


def load_ablation(path: str | Path) -> AblationConfig:
    raw = read_yaml(Path(path), "ablation")
    config = parse_ablation(raw)
    config.source_file = str(path)
    return config


def parse_ablation(raw: Any) -> AblationConfig:
    """Validate an ablation mapping. Relative paths are taken from the working directory, as in pipelines."""
    if not isinstance(raw, dict):
        raise ConfigError("ablation: expected a mapping with 'pipeline', 'variants', 'eval' and 'train'")
    reject_unknown(raw, TOP_LEVEL_KEYS, "ablation")
    for key in ("pipeline", "variants", "eval", "train"):
        if key not in raw:
            raise ConfigError(f"ablation: missing {key!r}")
    eval_paths, tokens_per_document = _parse_eval(raw["eval"])
    base, tokenize_options = _parse_base(raw["pipeline"], raw.get("input"))
    eval_fed = [stage_key(n, o) for n, o in base.stages if resolve_eval(o, eval_paths) != o]
    base.stages = [(name, resolve_eval(options, eval_paths)) for name, options in base.stages]
    variants = _parse_variants(raw["variants"], base.stages, eval_paths)
    variants = [Variant(v.name, with_stages(v.stages, base.stages, eval_fed)) for v in variants]
    names = [v.name for v in variants]
    reference = check_value("reference", raw.get("reference", "curated" if "curated" in names else names[0]), str)
    if reference not in names:
        raise ConfigError(f"reference: {reference!r} is not a variant ({', '.join(names)})")
    default_baselines = [n for n in ("raw", "language_only") if n in names] or [reference]
    baselines = check_value("baselines", raw.get("baselines", default_baselines), list[str])
    for name in baselines:
        if name not in names:
            raise ConfigError(f"baselines: {name!r} is not a variant ({', '.join(names)})")
    train, seeds = _parse_train(raw["train"])
    config = AblationConfig(
        base=base, tokenize_options=tokenize_options, variants=variants, reference=reference, baselines=baselines,
        eval_paths=eval_paths, eval_tokens_per_document=tokens_per_document, train=train, seeds=seeds,
        output=check_value("output", raw.get("output"), str | None),
        workers=_at_least_one("workers", raw.get("workers", 1)),
        threads=check_value("threads", raw.get("threads"), int | None),
        parallel=_at_least_one("parallel", raw.get("parallel", 1)), eval_fed=eval_fed,
    )
    _parse_tokenizer(raw.get("tokenizer") or {}, config)
    return config


def resolve_eval(options: dict[str, Any], eval_paths: list[str]) -> dict[str, Any]:
    """`eval` as an option's value (alone or in a list) stands for the evaluation paths."""
    def resolve(value: Any) -> Any:
        if value == EVAL_SET:
            return list(eval_paths)
        if isinstance(value, list) and EVAL_SET in value:
            return [p for item in value for p in (eval_paths if item == EVAL_SET else [item])]
        return value

    return {key: resolve(value) for key, value in options.items()}


def with_stages(stages: Stages, base_stages: Stages, required: list[str]) -> Stages:
    """`stages` plus each `required` base stage (by key) it lacks, placed after the last of its stages that come
    before that stage in the base pipeline (at the start when none do)."""
    stages = list(stages)
    base_keys = [stage_key(n, o) for n, o in base_stages]
    for key in required:
        if any(stage_key(n, o) == key for n, o in stages):
            continue
        earlier = set(base_keys[: base_keys.index(key)])
        position = max((i + 1 for i, (n, o) in enumerate(stages) if stage_key(n, o) in earlier), default=0)
        stages.insert(position, base_stages[base_keys.index(key)])
    return stages


def _at_least_one(key: str, value: Any) -> int:
    if check_value(key, value, int) < 1:
        raise ConfigError(f"{key}: expected at least 1, got {value}")
    return value


def _parse_base(raw: Any, input_override: Any) -> tuple[PipelineConfig, dict[str, Any]]:
    """`pipeline:` is a pipeline YAML's path or an inline mapping; `input:` beside it replaces its input."""
    if isinstance(raw, str):
        raw = read_yaml(Path(raw), "pipeline")
    if not isinstance(raw, dict):
        raise ConfigError("pipeline: expected a pipeline YAML's path or a mapping with 'stages'")
    raw = {k: v for k, v in raw.items() if k != "output"}  # each variant writes into the ablation's folder
    if input_override is not None:
        raw["input"] = input_override
    if not raw.get("input"):
        raise ConfigError("ablation: no input; give 'input' beside 'pipeline' or in the pipeline")
    try:
        base = parse_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"pipeline: {exc}") from None
    tokenize = [options for name, options in base.stages if _writes_tokens(name, options)]
    base.stages = [(name, options) for name, options in base.stages if not _writes_tokens(name, options)]
    options = {k: v for k, v in (tokenize[0] if tokenize else {}).items() if k not in ("encoding", "val_fraction")}
    return base, options


def _writes_tokens(name: str, options: dict[str, Any]) -> bool:
    """Whether a stage makes the tokens the trainer reads (it asks for the `tokens` output): the ablation
    appends its own, with the shared tokenizer, so a pipeline's is taken out and a variant may not name one."""
    return "tokens" in build_stage(name, options).sink_requests()


def _parse_variants(raw: Any, base_stages: Stages, eval_paths: list[str]) -> list[Variant]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("variants: expected a mapping of variant name -> {drop: [...]} or {stages: [...]}")
    base_names = [stage_key(name, options) for name, options in base_stages]  # variants name stages by their key
    base_options = dict(zip(base_names, base_stages))
    variants = []
    for name, spec in raw.items():
        where = f"variants.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}: a variant name is a folder name (letters, digits, _ . -)")
        spec = spec or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected {{drop: [...]}}, {{stages: [...]}} or nothing (the whole pipeline)")
        reject_unknown(spec, VARIANT_KEYS, where)
        if len(spec) > 1:
            raise ConfigError(f"{where}: give either 'drop' or 'stages', not both")
        if "drop" in spec:
            dropped = check_value(f"{where}.drop", spec["drop"], list[str])
            unknown = [d for d in dropped if d not in base_names]
            if unknown:
                raise ConfigError(f"{where}.drop: {unknown[0]!r} is not a stage of the pipeline ({', '.join(base_names)})")
            stages = [(n, o) for n, o in base_stages if stage_key(n, o) not in dropped]
        elif "stages" in spec:
            stages = [_variant_stage(item, base_options, f"{where}.stages[{i}]", eval_paths) for i, item in enumerate(
                check_value(f"{where}.stages", spec["stages"], list))]
        else:
            stages = list(base_stages)
        if not stages:
            raise ConfigError(f"{where}: no stages left")
        check_stages(stages, f"{where}.stages")  # every variant is valid before the first one runs
        if any(_writes_tokens(n, o) for n, o in stages):
            raise ConfigError(f"{where}: the tokens are the ablation's own last stage; leave the tokenizing stage out")
        variants.append(Variant(name, stages))
    return variants


def _variant_stage(item: Any, base_options: dict[str, tuple[str, dict[str, Any]]], where: str,
                   eval_paths: list[str]) -> tuple[str, dict[str, Any]]:
    """A stage's key takes the pipeline's stage of that key (a stage name its defaults when the pipeline lacks
    it); a one-key map gives options of its own."""
    if isinstance(item, str):
        if item in base_options:
            return base_options[item]
        validate_options(item, {}, where)
        return item, {}
    if isinstance(item, dict) and len(item) == 1:
        (name, options), = item.items()
        options = options or {}
        if not isinstance(options, dict):
            raise ConfigError(f"{where}.{name}: options must be a mapping")
        validate_options(name, options, f"{where}.{name}")
        return name, resolve_eval(options, eval_paths)
    raise ConfigError(f"{where}: expected a stage name or a one-key map (stage name -> options), got {item!r}")


def _parse_tokenizer(raw: Any, config: AblationConfig) -> None:
    if not isinstance(raw, dict):
        raise ConfigError("tokenizer: expected {vocab_size: N, sample_bytes: B} or {encoding: NAME}")
    reject_unknown(raw, TOKENIZER_KEYS, "tokenizer")
    if "encoding" in raw:
        if len(raw) > 1:
            raise ConfigError("tokenizer: 'encoding' names a finished tokenizer; it takes no vocab_size or sample_bytes")
        config.encoding = check_value("tokenizer.encoding", raw["encoding"], str)
        try:
            check_spec(config.encoding)
        except CurateError as exc:
            raise ConfigError(f"tokenizer.encoding: {exc}") from None
        return
    config.vocab_size = check_value("tokenizer.vocab_size", raw.get("vocab_size", config.vocab_size), int)
    config.sample_bytes = _at_least_one("tokenizer.sample_bytes", raw.get("sample_bytes", config.sample_bytes))


def _parse_eval(raw: Any) -> tuple[list[str], int | None]:
    if not isinstance(raw, dict) or "paths" not in raw:
        raise ConfigError("eval: expected {paths: [one evaluation domain each], tokens_per_document: N}")
    reject_unknown(raw, {"paths", "tokens_per_document"}, "eval")
    paths = [raw["paths"]] if isinstance(raw["paths"], str) else check_value("eval.paths", raw["paths"], list[str])
    if not paths:
        raise ConfigError("eval.paths: give at least one file")
    per_document = check_value("eval.tokens_per_document", raw.get("tokens_per_document"), int | None)
    if per_document is not None and per_document < 1:
        raise ConfigError(f"eval.tokens_per_document: expected at least 1, got {per_document}")
    return paths, per_document


def _parse_train(raw: Any) -> tuple[dict[str, Any], list[int]]:
    if not isinstance(raw, dict):
        raise ConfigError("train: expected a mapping (preset, tokens, seeds, ...)")
    reject_unknown(raw, TRAIN_KEYS | {"seeds"}, "train")
    seeds = check_value("train.seeds", raw.get("seeds", [0, 1, 2]), list[int])
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"train.seeds: expected distinct seeds (three or more to measure the spread), got {seeds}")
    hints = typing.get_type_hints(TrainConfig)
    settings = {k: v for k, v in raw.items() if k != "seeds"}
    for key, value in settings.items():
        check_value(f"train.{key}", value, hints[key])
    return settings, seeds


# --- which variants come from the shared pool ------------------------------------------------------------


@dataclass
class PoolPlan:
    """The shared run's stages, and for each variant taken from it: the stages whose `<name>_reason` must be
    empty for a document to stay, and the stages it runs itself afterwards (dedup onwards)."""

    stages: Stages
    derived: dict[str, tuple[list[str], Stages]]


def plan_pool(base_stages: Stages, variants: list[Variant]) -> PoolPlan:
    prefix = base_stages[: _first_global(base_stages)]
    heads = {v.name: v.stages[: _first_global(v.stages)] for v in variants}
    candidates = {name for name, head in heads.items() if head and _in_order(head, prefix)}
    while True:
        used = [s for s in prefix if any(s in heads[c] for c in candidates)]
        common = [s for s in used if all(s in heads[c] for c in candidates)]
        unfit = {c for c in candidates if any(s not in common and not _can_annotate(s[0]) for s in heads[c])}
        if not unfit:
            break
        candidates -= unfit
    if not candidates:  # nothing to share: the pool is the base's first stages as they are, for the tokenizer
        used = common = prefix or base_stages[:1]
    stages = [s if s in common else (s[0], {**s[1], "mode": "annotate"}) for s in used]
    derived = {
        v.name: ([stage_key(n, o) for n, o in heads[v.name] if (n, o) not in common and o.get("mode", "filter") != "annotate"],
                 v.stages[len(heads[v.name]):])
        for v in variants if v.name in candidates
    }
    return PoolPlan(stages, derived)


def _first_global(stages: Stages) -> int:
    return next((i for i, (name, _) in enumerate(stages) if stage_class(name).is_global), len(stages))


def _in_order(head: Stages, prefix: Stages) -> bool:
    """Whether `head` is `prefix` with some stages left out (same options, same order, each key once)."""
    names = [stage_key(n, o) for n, o in head]
    if len(set(names)) != len(names):
        return False
    remaining = iter(prefix)
    return all(any(stage == candidate for candidate in remaining) for stage in head)


def _can_annotate(name: str) -> bool:
    return "mode" in docs(stage_class(name).Options)


# --- running ----------------------------------------------------------------------------------------------


@dataclass
class EvalDomain:
    name: str
    path: str
    folder: Path  # its `val` shards
    tokens: int


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
        from .driver import execute
        from .pipeline import OutputLayout
        from .progress import RichProgress

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
            selection = select_documents(self.root / "pool", filters, self.root / "selections" / variant.name)
            pipeline = dataclasses.replace(self.config.base, input=InputOptions(paths=[str(selection)], format="parquet"),
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
        jobs = [_TrainJob(v.name, seed, v.docs, v.tokens, str(v.folder), str(mix),
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


def pool_sample(pool: Path, sample_bytes: int, seed: int = 0) -> list[str]:
    """Documents of the pool in a seeded random order until `sample_bytes` of text."""
    texts = [t for path in sorted((pool / "data").glob("*.parquet"))
             for t in pq.read_table(path, columns=["text"])["text"].to_pylist() if t]
    if not texts:
        raise CurateError(f"{pool}: the pool kept no documents; there is nothing to train a tokenizer on")
    order = np.random.default_rng(seed).permutation(len(texts))
    sizes = np.array([len(texts[i].encode("utf-8", "surrogatepass")) for i in order])
    count = max(1, int(np.searchsorted(np.cumsum(sizes), sample_bytes)) + 1)
    return [texts[i] for i in order[:count]]


def select_documents(pool: Path, filters: list[str], folder: Path) -> Path:
    """The pool's documents that none of `filters` marked for removal, one Parquet file per pool file."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for path in sorted((pool / "data").glob("*.parquet")):
        table = pq.read_table(path, columns=SELECTION_COLUMNS + [f"{name}_reason" for name in filters])
        keep = pa.array(np.ones(table.num_rows, dtype=bool))
        for name in filters:
            keep = pc.and_(keep, pc.is_null(table[f"{name}_reason"]))
        write_parquet_atomic(folder / path.name, table.filter(keep).select(SELECTION_COLUMNS))
    return folder


class OverlapIndex:
    """Which evaluation n-grams (`curate.ngrams`, as `decontaminate` counts them) documents contain, per domain.

    `index_run` hashes the pool once (its kept documents and those an eval-fed stage removed); a variant
    taken from the pool is then a set of ids whose matches are unions of indexed ones."""

    def __init__(self, paths: list[str], names: list[str]) -> None:
        self.names = names
        self.sets = [ngram_set(domain_texts(path)) for path in paths]
        self.matches: dict[str, list[np.ndarray]] = {}  # document id -> per domain, indices of the n-grams it holds
        self.removed_ids: set[str] = set()

    def _match(self, text: str) -> list[np.ndarray] | None:
        hashes = ngram_hashes(text)
        found = [np.searchsorted(s, hashes[contains(s, hashes)]) for s in self.sets]
        return found if any(len(f) for f in found) else None

    def index_run(self, run: Path, removed_by: list[str]) -> None:
        for doc_id, text in _run_texts(run, removed_by):
            found = self._match(text)
            if found is not None:
                self.matches[doc_id] = found

    def _shares(self, matched: list[list[np.ndarray]]) -> dict[str, float]:
        shares = {}
        for k, (name, reference) in enumerate(zip(self.names, self.sets)):
            hit = np.unique(np.concatenate([m[k] for m in matched])) if matched else np.zeros(0)
            shares[name] = len(hit) / len(reference) if len(reference) else 0.0
        return shares

    def before(self) -> dict[str, float]:
        """The pool before decontamination: its kept documents and those an eval-fed stage removed."""
        return self._shares(list(self.matches.values()))

    def after(self, run: Path) -> dict[str, float]:
        """A variant taken from the pool: the indexed matches of the documents it kept."""
        ids = {i for path in sorted((run / "data").glob("*.parquet")) for i in pq.read_table(path, columns=["id"])["id"].to_pylist()}
        return self._shares([m for doc_id, m in self.matches.items() if doc_id in ids])

    def of_run(self, run: Path) -> dict[str, float]:
        """A variant run on its own: its kept documents, hashed."""
        return self._shares([m for _, text in _run_texts(run, []) if (m := self._match(text)) is not None])


def _run_texts(run: Path, removed_by: list[str]) -> typing.Iterator[tuple[str, str]]:
    """(id, text) of a run's kept documents, and of those the `removed_by` stages removed."""
    for path in sorted((run / "data").glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "text"])
        yield from zip(table["id"].to_pylist(), table["text"].to_pylist())
    for path in sorted((run / "removed").glob("*.parquet")) if removed_by else []:
        table = pq.read_table(path, columns=["id", "text", "stage"])
        table = table.filter(pc.is_in(table["stage"], pa.array(removed_by)))
        yield from zip(table["id"].to_pylist(), table["text"].to_pylist())


@dataclass
class _TrainJob:
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


def train_and_score(job: _TrainJob) -> dict[str, Any]:
    """Train (or resume) one run on the variant's shards, with the mixed eval slice for its loss curve, then
    score the final model on every domain. The run's figures: macro means over the domains."""
    import torch

    from .train.data import TrainError
    from .train.train import train

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

    from .train.data import eval_batches, read_split, token_byte_lengths
    from .train.model import GPT, GPTConfig
    from .train.train import evaluate, pick_device

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


def _claim(root: Path, overwrite: bool) -> None:
    """An output folder is new, empty, or an earlier ablation (resumed, or replaced with `overwrite`)."""
    if not root.exists() or not any(root.iterdir()):
        return
    if not (root / "pool").is_dir() and not (root / "variants").is_dir():
        raise CurateError(f"{root} exists and is not an ablation's output; refusing to write into it")
    if overwrite:
        shutil.rmtree(root)


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


def summarize(runs: list[dict[str, Any]], baselines: list[str]) -> list[dict[str, Any]]:
    """Per variant: mean and standard deviation over seeds of bits per byte (macro and per domain) and loss,
    and per baseline the paired difference (same seed) as mean and standard deviation. `spread` is the larger
    of the two variants' standard deviations, and `beyond_2x_spread` whether the mean difference exceeds twice
    it (the issue's test)."""
    by_variant: dict[str, dict[int, dict[str, Any]]] = {}
    for run in runs:
        by_variant.setdefault(run["variant"], {})[run["seed"]] = run
    rows = []
    for name, by_seed in by_variant.items():
        items = list(by_seed.values())
        first = items[0]
        row = {
            "variant": name, "seeds": len(items), "docs": first["docs"], "tokens": first["tokens"],
            "epochs": first["epochs"], "repeats": first["epochs"] > MAX_EPOCHS,
            **_mean_sd("val_bpb", [r["val_bpb"] for r in items]), **_mean_sd("val_loss", [r["val_loss"] for r in items]),
            "domains": {d: _mean_sd("val_bpb", [r["domains"][d]["val_bpb"] for r in items]) for d in first["domains"]},
            "tokens_per_s": statistics.fmean(r["tokens_per_s"] for r in items), "vs": {},
        }
        for baseline in baselines:
            if baseline == name or baseline not in by_variant:
                continue
            other = by_variant[baseline]
            seeds = sorted(set(by_seed) & set(other))
            if not seeds:
                continue
            diff = _mean_sd("diff", [by_seed[s]["val_bpb"] - other[s]["val_bpb"] for s in seeds])
            spread = max(_sd([by_seed[s]["val_bpb"] for s in seeds]), _sd([other[s]["val_bpb"] for s in seeds]))
            row["vs"][baseline] = {
                "val_bpb": diff["diff"], "sd": diff["diff_sd"], "seeds": len(seeds), "spread": spread,
                "beyond_2x_spread": len(seeds) > 1 and abs(diff["diff"]) > 2 * spread,  # one seed shows no spread
                "domains": {d: _mean_sd("diff", [by_seed[s]["domains"][d]["val_bpb"] - other[s]["domains"][d]["val_bpb"]
                                                 for s in seeds]) for d in first["domains"]},
            }
        rows.append(row)
    return rows


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _mean_sd(key: str, values: list[float]) -> dict[str, float]:
    return {key: statistics.fmean(values), f"{key}_sd": _sd(values)}


def _write_outputs(root: Path, ablation: dict[str, Any], variants: list[VariantData], reference: str) -> None:
    """ablation.json at the top and in every variant's folder, whose report then shows the comparison; the
    reference variant's report is also the ablation's report.html."""
    from .report.html import write_report

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


TABLE_TITLE = ("bits per byte on each held-out domain and their macro mean, mean ± sd over seeds; vs: paired "
               "difference (same seed) as mean ± sd, * where beyond twice the larger of the two variants' seed sd")


def ablation_table(ablation: dict[str, Any]) -> dict[str, Any]:
    """The ablation table as text cells, for the terminal, the report and the README alike: per variant, bits per
    byte per domain and macro, and the paired difference to each baseline."""
    domains = [d["name"] for d in ablation["eval"]["domains"]]
    baselines = ablation.get("baselines", [])
    header = ["variant", "docs", "tokens", "epochs", *domains, "bpb (macro)", *(f"vs {b}" for b in baselines)]
    rows = []
    for row in ablation["summary"]:
        cells = [row["variant"], f"{row['docs']:,}", f"{row['tokens']:,}",
                 f"{row['epochs']:.2f}" + (" (>2: repeats)" if row["repeats"] else "")]
        cells += [f"{row['domains'][d]['val_bpb']:.3f} ± {row['domains'][d]['val_bpb_sd']:.3f}" for d in domains]
        cells.append(f"{row['val_bpb']:.3f} ± {row['val_bpb_sd']:.3f}")
        for baseline in baselines:
            paired = row["vs"].get(baseline)
            cells.append("-" if paired is None else
                         f"{paired['val_bpb']:+.3f} ± {paired['sd']:.3f}{' *' if paired['beyond_2x_spread'] else ''}")
        rows.append(cells)
    return {"title": TABLE_TITLE, "header": header, "rows": rows}


def print_ablation(ablation: dict[str, Any], console: Console) -> None:
    table = Table(title=f"ablation: {ablation['table']['title']}", title_justify="left")
    for column in ablation["table"]["header"]:
        table.add_column(column, justify="left" if column == "variant" else "right")
    for cells in ablation["table"]["rows"]:
        table.add_row(*cells)
    console.print(table)
    overlap = ", ".join(f"{d['name']} {d['overlap_before']:.3%}" for d in ablation["eval"]["domains"])
    console.print(f"eval 13-gram overlap with the pool before decontamination: {overlap}; after, per variant: "
                  + "; ".join(f"{name} {max(v['eval_overlap'].values(), default=0):.3%}" for name, v in ablation["variants"].items()))
