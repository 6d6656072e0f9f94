"""The stage registry: YAML stage name -> class, imported only when a pipeline uses it."""

from __future__ import annotations

import importlib

from ..errors import ConfigError
from .base import GlobalStage, Signal, Stage

STAGES: dict[str, str] = {
    "extract": "curate.stages.extract:Extract",
    "normalize": "curate.stages.normalize:Normalize",
}


def stage_class(name: str) -> type[Stage]:
    if name not in STAGES:
        raise ConfigError(f"unknown stage {name!r}; known stages: {', '.join(STAGES)}")
    module, cls = STAGES[name].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["STAGES", "GlobalStage", "Signal", "Stage", "stage_class"]
