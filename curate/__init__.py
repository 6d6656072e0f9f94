"""curate: turn raw web dumps into pretraining data and measure what each step did.

`curate.run(pipeline, ...)` runs a pipeline from Python; `curate.as_filter(stage)` and
`curate.as_map(stage)` apply one map stage to a batch of columns (a `datasets.Dataset` with
`batched=True`, or plain lists). They load on first use, so `import curate` stays light.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["as_filter", "as_map", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'curate' has no attribute {name!r}")
