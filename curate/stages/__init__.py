"""The stage registry: YAML stage name -> class, imported only when a pipeline uses it."""

from __future__ import annotations

import importlib

from ..errors import ConfigError
from .base import GlobalStage, Signal, Stage

STAGES: dict[str, str] = {
    "extract": "curate.stages.extract:Extract",
    "normalize": "curate.stages.normalize:Normalize",
    "url_filter": "curate.stages.url_filter:UrlFilter",
    "language": "curate.stages.language:Language",
    "gopher_quality": "curate.stages.gopher_quality:GopherQuality",
    "gopher_repetition": "curate.stages.gopher_repetition:GopherRepetition",
    "c4_quality": "curate.stages.c4_quality:C4Quality",
    "fineweb_quality": "curate.stages.fineweb_quality:FinewebQuality",
    "toxicity": "curate.stages.toxicity:Toxicity",
    "pii": "curate.stages.pii:Pii",
    "decontaminate": "curate.stages.decontaminate:Decontaminate",
    "exact_dedup": "curate.stages.exact_dedup:ExactDedup",
    "minhash_dedup": "curate.stages.minhash_dedup:MinhashDedup",
    "tokenize": "curate.stages.tokenize:Tokenize",
}


def stage_class(name: str) -> type[Stage]:
    if name not in STAGES:
        raise ConfigError(f"unknown stage {name!r}; known stages: {', '.join(STAGES)}")
    module, cls = STAGES[name].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["STAGES", "GlobalStage", "Signal", "Stage", "stage_class"]
