"""The import graph of `curate` is a stack of layers (DESIGN.md, "Arrows point one way"): a part imports
only parts of its own layer or below, and no group of modules imports itself round in a cycle.
The graph is read from the source with `ast`, so lazy imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "curate"

# Top first. A part is a top-level module or subpackage of `curate`; `curate` itself is its public API.
LAYERS = [
    {"curate", "__main__", "cli", "api"},
    {"ablate"},
    {"driver"},  # runs a pipeline's phases on a runner
    {"executors"},
    {"pipeline"},
    {"config"},  # YAML -> stages: knows the stage registry
    # evalsets: evaluation text, read by ablate and decontaminate; classifier: reads its training files with io
    {"stages", "io", "sinks", "train", "report", "evalsets", "classifier"},
    {"errors", "document", "stats", "text", "models", "tokens", "lists", "clusters", "minhash", "mojibake",
     "progress", "analysis", "ngrams", "options", "atomic", "extraction", "profanity", "jit", "fasttext_quantized", "lingua_detectors"},
]
RANK = {part: depth for depth, parts in enumerate(LAYERS) for part in parts}

# Known leaks, each with a comment naming who removes it; keep these short (both empty since the io and sinks work).
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_CYCLES: set[frozenset[str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The `curate` modules a file imports (`from . import x` names the module `x` where there is one)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): imports(f, modules) for f in files}


def part(module: str) -> str:
    return "curate" if module == "curate" else module.split(".")[1]


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{source} imports {target}"
        for source, targets in edges.items()
        for target in targets
        if RANK[part(source)] > RANK[part(target)] and (part(source), part(target)) not in KNOWN_UPWARD
    )


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected groups of two or more modules (Tarjan), except those within a known one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while not group or member != node:
                member = stack.pop()
                group.add(member)
            if len(group) > 1:
                found.append(group)

    for node in edges:
        if node not in index:
            visit(node)
    return [group for group in found if not any(group <= known for known in KNOWN_CYCLES)]


def test_every_part_has_a_layer():
    assert {part(m) for m in graph()} - RANK.keys() == set(), "a new part of curate: give it a layer in LAYERS"


def test_no_upward_imports():
    assert upward_imports(graph()) == []


def test_no_import_cycles():
    assert cycles(graph()) == []


@pytest.mark.parametrize(
    "edges, upward, cyclic",
    [
        ({"curate.stats": {"curate.pipeline"}, "curate.pipeline": set()}, ["curate.stats imports curate.pipeline"], []),
        ({"curate.text": {"curate.stats"}, "curate.stats": {"curate.text"}}, [], [{"curate.text", "curate.stats"}]),
        ({"curate.cli": {"curate.stats"}, "curate.stats": set()}, [], []),
    ],
)
def test_the_checks_catch_what_they_claim(edges, upward, cyclic):
    assert upward_imports(edges) == upward and cycles(edges) == cyclic
