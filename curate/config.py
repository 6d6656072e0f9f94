"""Pipeline YAML -> a validated config. Every error names the offending key."""

from __future__ import annotations

import hashlib
import inspect
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import ConfigError
from .io.base import InputOptions
from .io.readers import INPUT_FORMATS
from .stages import stage_class

TOP_LEVEL_KEYS = {"input", "output", "stages", "workers", "batch_size"}
INPUT_TYPES: dict[str, Any] = {k: v for k, v in typing.get_type_hints(InputOptions).items() if k not in ("paths", "format")}


@dataclass
class PipelineConfig:
    input: InputOptions
    stages: list[tuple[str, dict[str, Any]]]
    output: str | None = None
    workers: int = 1
    batch_size: int = 1000
    source_file: str | None = None

    def fingerprint(self) -> str:
        """What decides the output: input and stages. A resumed run must match it."""
        body = {"input": vars(self.input), "stages": self.stages}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": vars(self.input),
            "output": self.output,
            "workers": self.workers,
            "batch_size": self.batch_size,
            "stages": [{name: opts} for name, opts in self.stages],
        }


def load_config(path: str | Path) -> PipelineConfig:
    config = parse_config(read_yaml(Path(path), "pipeline"))
    config.source_file = str(path)
    return config


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file's content; a missing file or bad YAML is one line naming the file (and the line)."""
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
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
        output=check_value("output", raw.get("output"), str | None),
        workers=check_value("workers", raw.get("workers", 1), int),
        batch_size=check_value("batch_size", raw.get("batch_size", 1000), int),
    )


def _parse_input(raw: Any) -> InputOptions:
    if not isinstance(raw, dict):
        raise ConfigError("input: expected a mapping with 'format' and 'paths'")
    reject_unknown(raw, {"paths", "format", *INPUT_TYPES}, "input")
    paths = raw.get("paths", [])
    paths = [paths] if isinstance(paths, str) else paths
    check_value("input.paths", paths, list[str])
    fmt = raw.get("format", "auto")
    if fmt not in INPUT_FORMATS:
        raise ConfigError(f"input.format: expected one of {', '.join(INPUT_FORMATS)}, got {fmt!r}")
    kwargs = {k: check_value(f"input.{k}", v, INPUT_TYPES[k]) for k, v in raw.items() if k in INPUT_TYPES}
    for key in ("shard_bytes", "limit"):
        if kwargs.get(key) is not None and kwargs[key] < 1:
            raise ConfigError(f"input.{key}: expected at least 1, got {kwargs[key]}")
    return InputOptions(paths=list(paths), format=fmt, **kwargs)


def _parse_stages(raw: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("stages: expected a non-empty list of one-key maps (stage name -> options)")
    stages = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(f"stages[{i}]: expected a one-key map (stage name -> options), got {item!r}")
        (name, options), = item.items()
        options = options or {}
        if not isinstance(options, dict):
            raise ConfigError(f"stages[{i}].{name}: options must be a mapping, got {options!r}")
        validate_options(name, options, where=f"stages[{i}].{name}")
        stages.append((name, options))
    return stages


def validate_options(name: str, options: dict[str, Any], where: str) -> None:
    """Check options against the stage's `__init__` signature: names and types."""
    cls = stage_class(name)
    params = inspect.signature(cls.__init__).parameters
    hints = typing.get_type_hints(cls.__init__)
    allowed = [p for p in params if p != "self"]
    for key, value in options.items():
        if key not in allowed:
            raise ConfigError(f"{where}: unknown option {key!r}; options are: {', '.join(allowed)}")
        if key in hints:
            check_value(f"{where}.{key}", value, hints[key])


def reject_unknown(raw: dict, allowed: set[str], where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}; expected: {', '.join(sorted(allowed))}")


def check_value(where: str, value: Any, hint: Any) -> Any:
    if not _matches(value, hint):
        raise ConfigError(f"{where}: expected {_describe(hint)}, got {value!r}")
    return value


def _matches(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is Literal:
        return value in args
    if origin in (list, tuple, set, frozenset):
        return isinstance(value, list) and (not args or all(_matches(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict) and all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if hint is type(None):
        return "nothing (null)"
    if origin is list:
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin is dict:
        return "a mapping"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(hint, str(hint))
