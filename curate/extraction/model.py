"""The extract stage's line classifier: a gradient-boosted tree ensemble stored as plain JSON arrays
(`curate/data/extract-lines.json`, built by `make extract-model`; card: extract-lines.md) and
walked by a small numba kernel, every tree and line one level per step: no pickle to trust and no
scikit-learn at run time."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import CurateError
from ..jit import njit_cached
from .lines import FEATURES, PageLines, page_lines

_IN_MAIN = FEATURES.index("in_main")
SHIPPED_LINE_MODEL = Path(__file__).resolve().parents[1] / "data" / "extract-lines.json"


class TreeEnsemble:
    """P(a line is main text): the trees' leaf values summed onto `baseline`, through a logistic."""

    def __init__(self, spec: dict) -> None:
        if spec["features"] != list(FEATURES):
            raise ValueError("its features are not the ones curate.extraction.lines computes; rebuild it (make extract-model)")
        self.threshold: float = spec["threshold"]
        self.baseline: float = spec["baseline"]
        trees = spec["trees"]
        for t, tree in enumerate(trees):
            if problem := _problem(tree):
                raise ValueError(f"tree {t}: {problem}")
        self.depth = max(tree["depth"] for tree in trees)
        width = max(len(tree["feature"]) for tree in trees)
        self.roots = np.arange(len(trees)) * width  # tree t's node i is flat index t * width + i

        def flat(field: str, dtype: type, shift: bool = False) -> np.ndarray:
            out = np.zeros((len(trees), width), dtype=dtype)
            for i, tree in enumerate(trees):
                out[i, : len(tree[field])] = tree[field]
            return (out + self.roots[:, None] if shift else out).ravel()

        self.feature, self.split, self.value = flat("feature", np.intp), flat("split", np.float64), flat("value", np.float64)
        # node i's children at 2i (x <= split) and 2i + 1: one lookup a step instead of two and a choice
        self.children = np.column_stack([flat("left", np.intp, shift=True), flat("right", np.intp, shift=True)]).ravel()

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(main text) per row of `features` (columns in FEATURES order)."""
        if features.ndim != 2 or features.shape[1] != len(FEATURES):  # the kernel reads columns unchecked
            raise ValueError(f"features must be rows of {len(FEATURES)} columns, got shape {features.shape}")
        leaves = _leaf_sums(np.ascontiguousarray(features, dtype=np.float64), self.feature, self.split, self.children, self.value,
                            self.roots, self.depth)
        return 1.0 / (1.0 + np.exp(-(self.baseline + leaves)))

    def keeps(self, features: np.ndarray) -> np.ndarray:
        return self.probability(features) >= self.threshold


def _problem(tree: dict) -> str | None:
    """What makes a tree unsafe to walk (the kernel does not check indexes), or None: its arrays
    differ in length, a split on a feature outside FEATURES, a child outside the tree, or a walk of
    `depth` steps from the root ending off a leaf (a node whose children are itself)."""
    nodes, depth = len(tree["feature"]), tree["depth"]
    if not isinstance(depth, int) or depth < 0:
        return f"its depth {depth!r} is not a whole number >= 0"
    if not nodes or any(len(tree[field]) != nodes for field in ("split", "left", "right", "value")):
        return "its feature, split, left, right and value arrays are not all the same length (at least 1)"
    feature, left, right = (np.asarray(tree[field], dtype=np.int64) for field in ("feature", "left", "right"))
    if feature.min() < 0 or feature.max() >= len(FEATURES):
        return f"it splits on a feature outside 0..{len(FEATURES) - 1}"
    if min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= nodes:
        return f"a child index is outside its {nodes} nodes"
    reached = np.zeros(1, np.int64)
    for _ in range(depth):
        reached = np.union1d(left[reached], right[reached])
    if np.any((left[reached] != reached) | (right[reached] != reached)):
        return f"{depth} steps from its root do not always end on a leaf (whose children are itself)"
    return None


@njit_cached
def _leaf_sums(features: np.ndarray, feature: np.ndarray, split: np.ndarray, children: np.ndarray, value: np.ndarray,
               roots: np.ndarray, depth: int) -> np.ndarray:
    """Per row, the sum of the leaf values its trees lead to, added tree by tree, in order. Every
    (tree, row) pair takes one step per level before any takes the next, so the steps do not wait on
    each other; a leaf's children are itself."""
    rows = len(features)
    nodes = np.empty((len(roots), rows), np.int64)
    for tree in range(len(roots)):
        nodes[tree, :] = roots[tree]
    for _ in range(depth):
        for tree in range(len(roots)):
            for row in range(rows):
                node = nodes[tree, row]
                nodes[tree, row] = children[2 * node + (features[row, feature[node]] > split[node])]
    sums = np.zeros(rows)
    for tree in range(len(roots)):
        for row in range(rows):
            sums[row] += value[nodes[tree, row]]
    return sums


@cache
def shipped_line_model() -> TreeEnsemble:
    try:
        return TreeEnsemble(json.loads(SHIPPED_LINE_MODEL.read_text()))
    except (OSError, ValueError, KeyError) as error:
        raise CurateError(f"extract: cannot read its line model {SHIPPED_LINE_MODEL}: {error}") from None


def main_text(html: str, comments: bool) -> str:
    """The page's lines the shipped model calls main text. Where it finds none, resiliparse's own
    main content stands: such a page is more often one unlike the training pages than one without
    text (on the tune half 11 of 1,450 pages; their F1 0.17 instead of 0)."""
    page = page_lines(html, comments)
    return kept_text(page, shipped_line_model().keeps(page.features))


def kept_text(page: PageLines, keep: np.ndarray) -> str:
    """The lines `keep` marks, joined; resiliparse's main-content lines where it marks none."""
    if not keep.any():
        keep = page.features[:, _IN_MAIN] > 0
    return "\n".join(line for line, kept in zip(page.lines, keep) if kept)
