"""C4's and FineWeb's line rules against people: which lines of real web pages they would drop.

`line-quality-turku` holds 1,290 pages (sv, fr, de, en, fi, es) whose 52,028 lines people labelled
good (1) or bad (0). A rule "drops" a line when it predicts it bad; precision is the share of dropped
lines people called bad, recall the share of bad lines dropped. Nothing here was tuned on these
labels: the rules run with their published defaults, and the baselines are fixed lengths chosen
before looking (drop lines under 3, 5 or 10 whitespace words), beside the base rate (what a rule
dropping lines at random would score as precision).

Rows:
- `c4 line rules`: each line judged alone by C4's line rules (`C4Quality.line_verdict`), with
  terminal punctuation required (the paper) and not (web.yaml, FineWeb's setting); a line that
  would remove its page (curly bracket, lorem ipsum) counts as dropped.
- `c4 stage`: the stage on the whole page: the lines it drops, or every line of a page it removes.
- `fineweb: ...`: FineWeb's rules are page rules over line features; each feature is scored as a
  line classifier (no FineWeb line end, at most 30 characters, repeats an earlier line), and
  `fineweb stage` drops every line of a page the stage removes.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Callable

from curate.document import Document
from curate.stages.c4_quality import C4Quality
from curate.stages.fineweb_quality import LINE_ENDS, FinewebQuality

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
LANGUAGES = ["sv", "fr", "de", "en", "fi", "es"]

Page = tuple[str, list[str], list[bool]]  # language label, stripped lines, bad (label 0)
LineRule = Callable[[list[str]], list[bool]]  # a page's lines -> dropped, one per line


def pages() -> list[Page]:
    found = []
    with gzip.open(SHARED_DATA / "line-quality-turku" / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for row in map(json.loads, f):
            label = row["lang_label"] if row["lang_label"] in LANGUAGES else "other"
            found.append((label, [line.strip() for line in row["lines"]], [x == "0" for x in row["line_labels"]]))
    return found


def c4_lines(require_terminal_punctuation: bool) -> LineRule:
    stage = C4Quality(require_terminal_punctuation=require_terminal_punctuation)
    return lambda lines: [not line or stage.line_verdict(line) is not None for line in lines]


def c4_stage(lines: list[str]) -> list[bool]:
    doc = Document(id="0", text="\n".join(lines))
    if C4Quality(require_terminal_punctuation=False).process([doc])[0] is not None:
        return [True] * len(lines)
    kept = set(doc.text.split("\n"))
    return [line not in kept for line in lines]


def fineweb_stage(lines: list[str]) -> list[bool]:
    removed = FinewebQuality().process([Document(id="0", text="\n".join(lines))])[0] is not None
    return [removed] * len(lines)


def repeats(lines: list[str]) -> list[bool]:
    seen: set[str] = set()
    dropped = []
    for line in lines:
        dropped.append(line in seen)
        seen.add(line)
    return dropped


def shorter_than(n: int) -> LineRule:
    return lambda lines: [len(line.split()) < n for line in lines]


RULES: dict[str, LineRule] = {
    "c4 line rules (punctuation required)": c4_lines(True),
    "c4 line rules (web.yaml: not required)": c4_lines(False),
    "c4 stage (web.yaml), page removals drop all": c4_stage,
    "fineweb: no FineWeb line end": lambda lines: [not line.endswith(LINE_ENDS) for line in lines],
    "fineweb: at most 30 characters": lambda lines: [len(line) <= 30 for line in lines],
    "fineweb: repeats an earlier line": repeats,
    "fineweb stage, page removals drop all": fineweb_stage,
    "baseline: under 3 words": shorter_than(3),
    "baseline: under 5 words": shorter_than(5),
    "baseline: under 10 words": shorter_than(10),
}


def main() -> None:
    data = pages()
    bad = defaultdict(int)
    total = defaultdict(int)
    for label, _, labels in data:
        for group in (label, "all"):
            bad[group] += sum(labels)
            total[group] += len(labels)
    groups = [g for g in [*LANGUAGES, "other"] if total[g]]
    print(f"{len(data)} pages, {total['all']} lines, {bad['all']} labelled bad ({bad['all'] / total['all']:.1%})")
    print("base rate (precision of dropping at random): " + ", ".join(f"{g} {bad[g] / total[g]:.2f}" for g in ["all", *groups] if total[g]))
    print(f"\n{'dropped lines: precision / recall':44} {'all':>11} " + " ".join(f"{g:>11}" for g in groups))
    for name, rule in RULES.items():
        hits = defaultdict(lambda: [0, 0])  # group -> [dropped, dropped and bad]
        for label, lines, labels in data:
            for dropped, is_bad in zip(rule(lines), labels):
                if dropped:
                    for group in (label, "all"):
                        hits[group][0] += 1
                        hits[group][1] += is_bad
        cells = []
        for group in ["all", *groups]:
            dropped, true = hits[group]
            precision = true / dropped if dropped else float("nan")
            cells.append(f"{precision:.2f}/{true / bad[group]:.2f}" if bad[group] else "-")
        print(f"{name:44} " + " ".join(f"{c:>11}" for c in cells))


if __name__ == "__main__":
    main()
