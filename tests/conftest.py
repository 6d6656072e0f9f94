"""Shared fixtures. Real data lives in ../shared/data and is read in place, never copied."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; skipped outside CI when absent, a failure under CI."""
    if not SHARED_DATA.is_dir():
        message = f"shared data not found at {SHARED_DATA}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


def require(module: str):
    """`pytest.importorskip`, except under CI (`CI=true`), where a missing optional test dependency
    is a failure: a CI run must not pass by skipping what it was meant to test."""
    if os.environ.get("CI") != "true":
        return pytest.importorskip(module)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"{module} is needed by this test under CI=true: {exc}", pytrace=False)
