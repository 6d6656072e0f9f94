"""`njit_cached`: numba's `njit(cache=True)` for every kernel in curate, working where numba cannot cache.

numba caches a compiled kernel beside its source (`__pycache__`) or, where that is read-only, under
the user's home; with neither writable (a read-only install run with no writable HOME) `cache=True`
raises at decoration, that is when the module is imported, and a stage would die with a traceback.
There the kernels compile without a cache, in every process (seconds), after one line on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from numba import njit

_warned = False


def _numpy_registries_without_scipy() -> None:
    """numba loads its NumPy registries with the first kernel a process loads or compiles, and one of them
    (`numba.np.arraymath`) imports scipy.linalg (~0.16 CPU s) only to choose how `np.correlate` and
    `np.convolve` take inner products: BLAS where scipy is, a plain loop where not. No kernel in curate
    calls either, so that module is imported here with scipy.linalg out of reach (the plain loop). `np.dot`
    and `np.linalg` still load scipy when a kernel using them compiles; a process that has scipy.linalg
    already keeps it."""
    if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # importing it now fails at once
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules["scipy.linalg"]


_numpy_registries_without_scipy()


def njit_cached(function: Callable | None = None, /, **options: Any) -> Any:
    """`numba.njit(cache=True, **options)`, as `@njit_cached` or `@njit_cached(inline="always")`;
    without the cache where numba has nowhere to write it."""

    def compiled(function: Callable) -> Any:
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError as error:
            if "no locator available" not in str(error):
                raise
            _warn_once()
            return njit(**options)(function)

    return compiled if function is None else compiled(function)


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        print("curate: numba has no writable folder to cache compiled kernels in (beside the code or in HOME), so each"
              " process compiles them again; set NUMBA_CACHE_DIR to a writable folder to cache them", file=sys.stderr)
