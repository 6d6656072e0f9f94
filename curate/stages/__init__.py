"""The stage registry: YAML stage name -> class, imported only when a pipeline uses it. A name of the
form `module:ClassName` loads a user's own `Stage` subclass from any importable module (plugins)."""

from __future__ import annotations

import importlib
import re
from typing import Any

from ..errors import ConfigError, one_line
from ..options import parse, unknown_key
from .base import GlobalStage, Signal, Stage, StageOptions

STAGES: dict[str, str] = {
    "extract": "curate.stages.extract:Extract",
    "normalize": "curate.stages.normalize:Normalize",
    "url_filter": "curate.stages.url_filter:UrlFilter",
    "language": "curate.stages.language:Language",
    "gopher_quality": "curate.stages.gopher_quality:GopherQuality",
    "gopher_repetition": "curate.stages.gopher_repetition:GopherRepetition",
    "c4_quality": "curate.stages.c4_quality:C4Quality",
    "fineweb_quality": "curate.stages.fineweb_quality:FinewebQuality",
    "quality_classifier": "curate.stages.quality_classifier:QualityClassifier",
    "toxicity": "curate.stages.toxicity:Toxicity",
    "pii": "curate.stages.pii:Pii",
    "decontaminate": "curate.stages.decontaminate:Decontaminate",
    "exact_dedup": "curate.stages.exact_dedup:ExactDedup",
    "minhash_dedup": "curate.stages.minhash_dedup:MinhashDedup",
    "tokenize": "curate.stages.tokenize:Tokenize",
}
ID_KEY = "id"  # the reserved option key that names a stage instance where its name repeats
KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a key becomes a column name (`<key>_reason`)


def stage_class(name: str, where: str = "stages") -> type[Stage]:
    """The class behind a stage name: a built-in, or `module:ClassName` (a plugin: importing the
    module runs its code). Errors start with `where`."""
    if name in STAGES:
        module, cls = STAGES[name].split(":")
        return getattr(importlib.import_module(module), cls)
    if ":" not in name:
        raise ConfigError(unknown_key(where, name, STAGES, "stage") + "; or module:ClassName for your own")
    return _plugin_class(name, where)


def _plugin_class(name: str, where: str) -> type[Stage]:
    module_name, _, class_name = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"{where}: plugin module {exc.name!r} not found (is it on PYTHONPATH?)") from None
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything while it loads
        raise ConfigError(f"{where}: importing plugin module {module_name} failed: {one_line(exc)}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ConfigError(f"{where}: plugin module {module_name} has no class {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Stage)):
        raise ConfigError(f"{where}: {name} is not a subclass of curate.stages.Stage")
    if not isinstance(getattr(cls, "name", None), str) or not KEY_PATTERN.match(cls.name):
        raise ConfigError(f"{where}: {name} must set `name` to an identifier (letters, digits, _)")
    return cls


def validate_options(name: str, options: dict[str, Any], where: str) -> StageOptions:
    """The stage's validated options (the reserved `id` aside); errors name `where` and the key."""
    return parse(stage_class(name, where).Options, {k: v for k, v in options.items() if k != ID_KEY}, where)


def stage_key(name: str, options: dict[str, Any]) -> str:
    """A stage instance's identity: its `id:` option, else its class's `name`."""
    return options.get(ID_KEY) or stage_class(name).name


def build_stage(name: str, options: dict[str, Any]) -> Stage:
    """A stage from its config entry, keyed by its identity."""
    stage = stage_class(name)(**{k: v for k, v in options.items() if k != ID_KEY})
    stage.key = stage_key(name, options)
    return stage


def build_stages(entries: list[tuple[str, dict[str, Any]]]) -> list[Stage]:
    """A pipeline's stages in order. A stage whose name an earlier one has writes its signals as `<key>_<signal>`
    columns, so a later instance's scores sit beside the first's instead of overwriting them."""
    stages: list[Stage] = []
    for name, options in entries:
        stage = build_stage(name, options)
        if any(earlier.name == stage.name for earlier in stages):
            stage.column_prefix = f"{stage.key}_"
        stages.append(stage)
    return stages


__all__ = [
    "ID_KEY", "KEY_PATTERN", "STAGES", "GlobalStage", "Signal", "Stage", "StageOptions", "build_stage",
    "build_stages", "stage_class", "stage_key", "validate_options",
]
