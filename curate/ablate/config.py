"""The ablation YAML -> a validated `AblationConfig`: the base pipeline (its tokenize stage taken out: the
ablation appends its own), the variants (`drop:` or `stages:`, each checked whole before anything runs), the
evaluation domains, the tokenizer and the training settings every run shares. Relative paths are taken from
the working directory, as in pipelines."""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import AT_LEAST_ONE, PipelineConfig, check_stages, parse_config, read_yaml
from ..errors import ConfigError, CurateError
from ..options import check_value, reject_unknown
from ..stages import build_stage, stage_key, validate_options
from ..tokens.encodings import check_spec
from ..train.train import TrainConfig

TOP_LEVEL_KEYS = {"pipeline", "input", "output", "workers", "threads", "parallel", "variants", "reference", "baselines",
                  "tokenizer", "eval", "train"}
VARIANT_KEYS = {"drop", "stages"}
TOKENIZER_KEYS = {"vocab_size", "sample_bytes", "encoding"}
# TrainConfig fields an ablation sets for every run alike; the ablation sets the others per run.
TRAIN_KEYS = {f.name for f in fields(TrainConfig)} - {"shards", "val", "out", "seed", "progress", "stop_after"}
EVAL_SET = "eval"  # as a stage option's value: the ablation's evaluation paths
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


def load_ablation(path: str | Path) -> AblationConfig:
    raw = read_yaml(Path(path), "ablation")
    config = parse_ablation(raw)
    config.source_file = str(path)
    return config


def parse_ablation(raw: Any) -> AblationConfig:
    """Validate an ablation mapping."""
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
        workers=check_value("workers", raw.get("workers", 1), int, AT_LEAST_ONE),
        threads=check_value("threads", raw.get("threads"), int | None),
        parallel=check_value("parallel", raw.get("parallel", 1), int, AT_LEAST_ONE), eval_fed=eval_fed,
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
    writes = [_writes_tokens(name, options) for name, options in base.stages]  # each stage built once
    tokenize = [options for (_, options), tokens in zip(base.stages, writes) if tokens]
    base.stages = [stage for stage, tokens in zip(base.stages, writes) if not tokens]
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
    config.sample_bytes = check_value("tokenizer.sample_bytes", raw.get("sample_bytes", config.sample_bytes), int, AT_LEAST_ONE)


def _parse_eval(raw: Any) -> tuple[list[str], int | None]:
    if not isinstance(raw, dict) or "paths" not in raw:
        raise ConfigError("eval: expected {paths: [one evaluation domain each], tokens_per_document: N}")
    reject_unknown(raw, {"paths", "tokens_per_document"}, "eval")
    paths = [raw["paths"]] if isinstance(raw["paths"], str) else check_value("eval.paths", raw["paths"], list[str])
    if not paths:
        raise ConfigError("eval.paths: give at least one file")
    per_document = check_value("eval.tokens_per_document", raw.get("tokens_per_document"), int | None, AT_LEAST_ONE)
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
    if settings.get("device", "auto") not in ("auto", "cpu", "cuda"):  # else found after the pool and every variant ran
        raise ConfigError(f"train.device: expected auto, cpu or cuda, got {settings['device']!r}")
    return settings, seeds
