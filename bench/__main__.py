"""Run every benchmark module (`bench/bench_*.py`, each with a `main()`), or those named on the command line;
options after the names go to each named module (`python -m bench pipeline --datatrove-tokenizers whitespace`)."""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    first_option = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:first_option], argv[first_option:]
    names = names or sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.{name if name.startswith('bench_') else 'bench_' + name}")
        print(f"\n=== {name}", flush=True)
        started = time.perf_counter()
        sys.argv = [name, *options]  # for the modules that read sys.argv themselves
        try:
            module.main(options) if inspect.signature(module.main).parameters else module.main()
        except Exception as exc:  # noqa: BLE001 - report and go on to the next benchmark
            failed.append(name)
            print(f"FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"--- {name}: {time.perf_counter() - started:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
