"""Every numba kernel in curate is compiled through `curate.jit.njit_cached`: cached where numba can
write a cache, and still working, after one line on stderr, where it cannot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "curate"

# every module holding a kernel imported, and kernels of two of them run, where numba finds no place
# to cache (as with a read-only install and no writable HOME: here its only locator is IPython's)
_NO_CACHE = """
import curate.minhash, curate.stages.gopher_quality, curate.stages.gopher_repetition
from curate.analysis import TextAnalysis
from curate.extraction.model import shipped_line_model
import numpy as np
from curate.extraction.lines import FEATURES
print(TextAnalysis("two words").word_count, shipped_line_model().probability(np.zeros((1, len(FEATURES)))).shape)
"""


def test_kernels_work_where_numba_cannot_cache() -> None:
    env = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator"}
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", _NO_CACHE], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "(1,)"]
    assert len(done.stderr.splitlines()) == 1 and "NUMBA_CACHE_DIR" in done.stderr


def test_every_kernel_goes_through_njit_cached() -> None:
    """A bare `numba.njit` (or `numba.jit`, `vectorize`, `cfunc`) with cache=True would raise at import where numba
    cannot cache: no module but curate/jit.py imports numba at all."""
    bare = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
            if path.name != "jit.py" and re.search(r"^\s*(import numba|from numba)\b", path.read_text(encoding="utf-8"), re.M)]
    assert bare == []


def test_no_kernel_calls_correlate_or_convolve() -> None:
    """curate/jit.py loads numba's NumPy registries without scipy.linalg, for the whole process, so a kernel
    calling np.correlate or np.convolve would take the plain loop, not BLAS: none may, without revisiting that."""
    kernels = [path for path in PACKAGE.rglob("*.py") if path.name != "jit.py" and re.search(r"\bnjit_cached\b", path.read_text(encoding="utf-8"))]
    assert len(kernels) >= 4  # the scan finds the kernel modules
    calling = [str(path.relative_to(PACKAGE)) for path in kernels
               if re.search(r"\b(correlate|convolve)\b", path.read_text(encoding="utf-8"))]
    assert calling == []


_NO_SCIPY = """
import sys
from curate.analysis import TextAnalysis
print(TextAnalysis("two words").word_count, "scipy.linalg" in sys.modules)
import numba, numpy as np
print(numba.njit(lambda a, b: np.dot(a, b))(np.ones(3), np.ones(3)), "scipy.linalg" in sys.modules)
"""


def test_kernels_load_without_scipy() -> None:
    """A process running curate's kernels never imports scipy.linalg (numba's NumPy registries asked for it,
    ~0.16 CPU s); a kernel that does need it (np.dot) still gets it."""
    done = subprocess.run([sys.executable, "-c", _NO_SCIPY], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "False", "3.0", "True"]
