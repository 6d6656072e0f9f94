"""Pipeline YAML -> a validated config. Every error names the offending key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .io.base import InputOptions
from .io.readers import INPUT_FORMATS
from .options import check_value, parse, reject_unknown
from .sinks import sink_class
from .stages import ID_KEY, KEY_PATTERN, stage_key, validate_options

TOP_LEVEL_KEYS = {"input", "output", "outputs", "stages", "workers", "batch_size"}
AT_LEAST_ONE = {"bounds": {"ge": 1}}


@dataclass
class PipelineConfig:
    input: InputOptions
    stages: list[tuple[str, dict[str, Any]]]  # (stage name, options); options may hold the reserved `id`
    output: str | None = None
    workers: int = 1
    batch_size: int = 1000
    source_file: str | None = None
    outputs: list[tuple[str, dict[str, Any]]] | None = None  # the sinks (name, options); None: the defaults

    def fingerprint(self) -> str:
        """What decides the output: input, stages and sinks. A resumed run must match it."""
        body = {"input": vars(self.input), "stages": self.stages} | ({"outputs": self.outputs} if self.outputs else {})
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": vars(self.input),
            "output": self.output,
            "workers": self.workers,
            "batch_size": self.batch_size,
            "stages": [{name: opts} for name, opts in self.stages],
        } | ({"outputs": [{name: opts} for name, opts in self.outputs]} if self.outputs else {})


def load_config(path: str | Path) -> PipelineConfig:
    config = parse_config(read_yaml(Path(path), "pipeline"))
    config.source_file = str(path)
    return config


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file's content; a missing file, bytes that are not UTF-8 or bad YAML is one line naming the
    file (and the byte or the line)."""
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.end]!r})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None


def parse_config(raw: Any) -> PipelineConfig:
    if not isinstance(raw, dict):
        raise ConfigError("pipeline: expected a mapping with 'input', 'output' and 'stages'")
    reject_unknown(raw, TOP_LEVEL_KEYS, "pipeline")
    if "stages" not in raw:
        raise ConfigError("pipeline: missing 'stages'")
    return PipelineConfig(
        input=_parse_input(raw.get("input") or {}),
        stages=_parse_stages(raw["stages"]),
        outputs=_parse_outputs(raw.get("outputs")),
        output=check_value("output", raw.get("output"), str | None),
        workers=check_value("workers", raw.get("workers", 1), int, AT_LEAST_ONE),
        batch_size=check_value("batch_size", raw.get("batch_size", 1000), int, AT_LEAST_ONE),
    )


def _parse_input(raw: Any) -> InputOptions:
    if not isinstance(raw, dict):
        raise ConfigError("input: expected a mapping with 'format' and 'paths'")
    paths = raw.get("paths", [])
    options = parse(InputOptions, raw | {"paths": [paths] if isinstance(paths, str) else paths}, "input")
    if options.format not in INPUT_FORMATS:
        raise ConfigError(f"input.format: expected one of {', '.join(INPUT_FORMATS)}, got {options.format!r}")
    options.paths = list(options.paths)  # the config's own list, not the caller's
    return options


def _parse_stages(raw: Any) -> list[tuple[str, dict[str, Any]]]:
    stages = _named_items(raw, "stages", "stage")
    check_stages(stages, "stages")
    return stages


def _parse_outputs(raw: Any) -> list[tuple[str, dict[str, Any]]] | None:
    """`outputs:` the sinks to write, each at most once; absent: the defaults (see `curate.sinks`)."""
    if raw is None:
        return None
    outputs = _named_items(raw, "outputs", "output")
    for i, (name, options) in enumerate(outputs):
        if name in (n for n, _ in outputs[:i]):
            raise ConfigError(f"outputs[{i}].{name}: listed twice")
        parse(sink_class(name, f"outputs[{i}]").Options, options, f"outputs[{i}].{name}")
    return outputs


def _named_items(raw: Any, where: str, what: str) -> list[tuple[str, dict[str, Any]]]:
    """A YAML list of names or one-key maps (name -> options) as (name, options) pairs."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: expected a non-empty list of one-key maps ({what} name -> options)")
    items = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(f"{where}[{i}]: expected a one-key map ({what} name -> options), got {item!r}")
        (name, options), = item.items()
        options = options or {}
        if not isinstance(options, dict):
            raise ConfigError(f"{where}[{i}].{name}: options must be a mapping, got {options!r}")
        items.append((name, options))
    return items


def check_stages(stages: list[tuple[str, dict[str, Any]]], where: str) -> None:
    """Every stage's options, and one key per stage instance: a repeated name needs an `id:`."""
    seen: dict[str, int] = {}
    for i, (name, options) in enumerate(stages):
        here = f"{where}[{i}].{name}"
        if ID_KEY in options:
            check_value(f"{here}.{ID_KEY}", options[ID_KEY], str)
            if not KEY_PATTERN.match(options[ID_KEY]):
                raise ConfigError(f"{here}.{ID_KEY}: expected an identifier (letters, digits, _), got {options[ID_KEY]!r}")
        validate_options(name, options, here)
        key = stage_key(name, options)
        if key in seen:
            first = seen[key]
            raise ConfigError(
                f"{here}: the stage key {key!r} repeats {where}[{first}]; give one of them a unique `{ID_KEY}:`"
            )
        seen[key] = i
