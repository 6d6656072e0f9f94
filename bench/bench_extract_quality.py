"""Extraction quality on html-cleaning-gold: token F1 (precision, recall) against human-cleaned text,
per source, for curate's two extractors and the two bare libraries, with pages per CPU second.

Gold: CleanEval-style sources mark paragraphs with `<p>`/`<h>`/`<l>` and start with a `URL:` line
(both stripped, entities decoded); readability's gold is HTML (its text is used); the L3S pages
(page-signal) carry the page itself with content spans classed `x-nc-sel1` (headline) and
`x-nc-sel2` (full text): their text is the gold (supplemental, comments and related links are not).
Tokens are lower-cased `\\w+` runs, compared as bags; scores are means over pages. Dragnet's gold
keeps user comments (bare trafilatura keeps them too), hence the `comments: true` row.

The pages are split in two halves by a hash of their id: extractor tuning, and the line model's
training (scripts/train_extract_model.py), may look only at the `tune` half; the `report` half is
what gets quoted. The "via its helper process" row runs the stage as a run does and counts the
helper's CPU too.

Article bodies, the task of ScrapingHub's article-extraction-benchmark (181 English news pages whose gold is
the article body alone, issue 14's 181 pages; not shared here): the same report-half pages of the two sources
whose gold is one article's body (L3S Google News with its headline, readability's test pages), scored as
that benchmark scores: the `\\w+` tokens of gold and output as 4-token shingles, true / false positives and
false negatives counted per page and scaled to sum to 1, precision and recall each a mean over pages, F1
from the two means.

Then trafilatura's own 181 labelled pages (html-trafilatura-eval; never trained on, nothing chosen by them), scored
as trafilatura's evaluation does: a `with` snippet (main text) found in the output is a true
positive, one missing a false negative; a `without` snippet (boilerplate) found is a false positive
(whitespace-normalised substring match). `python -m bench.bench_extract_quality
[--half tune|report|all] [--limit N]`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html as html_entities
import json
import re
import tarfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import lxml.html

from bench.proc import read_cpu_seconds
from curate.document import Document
from curate.io.charset import decode_html
from curate.stages.extract import Extract, extract_page

GOLD = Path(__file__).resolve().parents[2] / "shared" / "data" / "html-cleaning-gold" / "docs.jsonl.gz"
SNIPPET_PAGES = GOLD.parents[1] / "html-trafilatura-eval"
_SPACES = re.compile(r"\s+")
_MARKUP = re.compile(r"<[phl]>", re.IGNORECASE)
_TOKEN = re.compile(r"\w+")
_L3S_CONTENT = "x-nc-sel1 x-nc-sel2".split()


@dataclass(frozen=True)
class Page:
    id: str
    source: str
    html: str
    gold_text: str
    gold: Counter

    @property
    def half(self) -> str:
        return "tune" if hashlib.sha1(self.id.encode()).digest()[0] % 2 == 0 else "report"


def tokens(text: str) -> Counter:
    return Counter(_TOKEN.findall(text.lower()))


def gold_text(source: str, gold: str) -> str:
    """The human-cleaned text of a page, whatever form its source gives it in."""
    if source == "page-signal-master":
        tree = lxml.html.fromstring(gold)
        spans = tree.xpath(" | ".join(f"//*[contains(@class, '{c}')]" for c in _L3S_CONTENT))
        outer = [s for s in spans if not any(a in spans for a in s.iterancestors())]
        return "\n".join(s.text_content() for s in outer)
    if source == "readability":
        return lxml.html.fromstring(gold).text_content()
    if gold.lstrip().startswith("URL:"):
        gold = gold.lstrip().split("\n", 1)[-1]
    return html_entities.unescape(_MARKUP.sub("", gold))


def read_pages(half: str, limit: int | None) -> Iterator[Page]:
    with gzip.open(GOLD, "rt", encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if limit is not None and n >= limit:
                return
            row = json.loads(line)
            if not row.get("gold_text"):
                continue
            text = gold_text(row["source"], row["gold_text"])
            page = Page(row["id"], row["source"], row["html"], text, tokens(text))
            if page.gold and half in ("all", page.half):
                yield page


ARTICLE_SOURCES = ("page-signal-master", "readability")  # html-cleaning-gold sources whose gold is one article's body


def shingle_shares(gold: str, predicted: str, n: int = 4) -> tuple[float, float, float]:
    """A page's true positive, false positive and false negative 4-token shingles (case kept), scaled to sum to 1
    so each page weighs the same."""
    counts = [_shingles(gold, n), _shingles(predicted, n)]
    true_positive = sum((counts[0] & counts[1]).values())
    false_positive, false_negative = sum((counts[1] - counts[0]).values()), sum((counts[0] - counts[1]).values())
    total = true_positive + false_positive + false_negative
    return (true_positive / total, false_positive / total, false_negative / total) if total else (0.0, 0.0, 0.0)


def _shingles(text: str, n: int) -> Counter:
    words = _TOKEN.findall(text)
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1)) if len(words) >= n else Counter([tuple(words)] if words else [])


def article_scores(shares: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(F1, precision, recall): precision a mean over pages with output, recall over pages with gold; a page
    whose output equals its gold scores 1 on both."""
    precisions = [1.0 if fp == fn == 0 else tp / (tp + fp) for tp, fp, fn in shares if tp + fp > 0]
    recalls = [1.0 if fp == fn == 0 else tp / (tp + fn) for tp, fp, fn in shares if tp + fn > 0]
    precision, recall = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0, precision, recall


def f1(predicted: Counter, gold: Counter) -> tuple[float, float, float]:
    overlap = sum((predicted & gold).values())
    precision = overlap / sum(predicted.values()) if predicted else 0.0
    recall = overlap / sum(gold.values())
    return precision, recall, 2 * precision * recall / (precision + recall) if overlap else 0.0


# the gate page: ten lines, a menu, an article with a title, a section heading, a line of links, a
# copyright line and a footer. A line model must keep the title and the five article lines and drop
# the rest (tests/test_extract.py; scripts/train_extract_model.py's selection rule)
GATE_ARTICLE = "A long sentence of the article body that goes on for well over twelve words in total. "
GATE_PAGE = (
    "<html><body><ul><li><a href=/>Home</a></li><li><a href=/n>World News</a></li></ul>"
    f"<main><h1>The Title</h1><p>{GATE_ARTICLE * 3}</p><h2>Section Two</h2>"
    "<p>See also <a href=/a>Another Story About Things</a> and <a href=/b>Yet More Stories</a></p>"
    f"<p>{GATE_ARTICLE * 2}</p>"
    "<p>Copyright 2024 Example Media. All rights reserved.</p></main>"
    "<footer><p>Contact us</p><p>Follow us on social media today</p></footer></body></html>"
)


def gate_problems(text: str) -> list[str]:
    """What a text extracted from GATE_PAGE gets wrong (empty: it passes)."""
    problems = [] if text.splitlines()[:1] == ["The Title"] else ["the title is not the first line"]
    if text.count(GATE_ARTICLE.strip()) != 5:
        problems.append(f"{text.count(GATE_ARTICLE.strip())} of the 5 article sentences kept")
    return problems + [f"{word!r} kept" for word in ("Home", "Copyright", "Contact", "Follow us", "See also") if word in text]


def trafilatura_eval_pages(folder: Path = SNIPPET_PAGES) -> list[tuple[str, dict]]:
    """(HTML decoded as the WARC reader would, evaldata entry) for trafilatura's 181 labelled pages."""
    entries = {entry["file"]: entry for entry in json.loads((folder / "evaldata-subset.json").read_text()).values()}
    pages = []
    with tarfile.open(folder / "trafilatura-eval-html-sample.tar.gz") as tar:
        for member in tar:
            if member.isfile():
                pages.append((member.name, decode_html(tar.extractfile(member).read()).text))  # type: ignore[union-attr]
    return [(html, entries[Path(name).name]) for name, html in sorted(pages)]


@dataclass
class SnippetCounts:
    """trafilatura's evaluation: `with` snippets found / missing, `without` snippets leaked / dropped."""

    found: int = 0
    missing: int = 0
    leaked: int = 0
    dropped: int = 0

    def add(self, text: str, entry: dict) -> None:
        text = _SPACES.sub(" ", text)
        for snippet in entry.get("with") or []:
            hit = _SPACES.sub(" ", snippet) in text
            self.found, self.missing = self.found + hit, self.missing + (not hit)
        for snippet in entry.get("without") or []:
            hit = _SPACES.sub(" ", snippet) in text
            self.leaked, self.dropped = self.leaked + hit, self.dropped + (not hit)

    @property
    def recall(self) -> float:
        """Share of main-text snippets kept."""
        return self.found / (self.found + self.missing)

    @property
    def dropped_share(self) -> float:
        return self.dropped / (self.dropped + self.leaked)

    @property
    def precision(self) -> float:
        return self.found / (self.found + self.leaked)

    @property
    def f1(self) -> float:
        return 2 * self.precision * self.recall / (self.precision + self.recall)


def _bare_resiliparse(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True)


def _bare_trafilatura(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


Batch = Callable[[list[str]], tuple[list[str], float]]  # pages -> (texts, CPU seconds)


def _per_page(extract: Callable[[str], str]) -> Batch:
    """Times each call in this process."""

    def run(pages: list[str]) -> tuple[list[str], float]:
        texts, cpu = [], 0.0
        for html in pages:
            started = time.process_time()
            texts.append(extract(html))
            cpu += time.process_time() - started
        return texts, cpu

    return run


def _stage_with_helper(pages: list[str]) -> tuple[list[str], float]:
    """The default stage as a run calls it: pages cross to its helper process and back. CPU is this
    process's plus the helper's, counted after the first page (start-up and imports are once a run)."""
    stage = Extract()
    docs = [Document(id=str(i), text="", html=html) for i, html in enumerate(pages)]
    stage.process(docs[:1])
    helper_started, started = _helper_cpu(stage), time.process_time()
    stage.process(docs[1:])
    cpu = time.process_time() - started + _helper_cpu(stage) - helper_started
    return [doc.text for doc in docs], cpu * len(pages) / max(1, len(pages) - 1)


def _helper_cpu(stage: Extract) -> float:
    """User + system CPU seconds of the stage's helper process so far (Linux /proc)."""
    assert stage._helper is not None
    seconds = read_cpu_seconds(stage._helper.process.pid)
    assert seconds is not None, "the extraction helper is gone"
    return seconds


def _curate(**options: object) -> Callable[[str], str]:
    """The stage's own per-page call with its defaults (and `options`), in this process."""
    extractor_options = Extract(timeout_s=None, **options).extractor_options

    def run(html: str) -> str:
        return extract_page(html, **extractor_options)[1] or ""

    return run


DEFAULT, TRAFILATURA = "curate resiliparse (default)", "bare trafilatura"
EXTRACTORS: dict[str, Callable[[], Batch]] = {  # built when run: importing this module loads no model
    DEFAULT: lambda: _per_page(_curate()),
    "curate default, via its helper process": lambda: _stage_with_helper,
    "curate resiliparse, no line model": lambda: _per_page(_curate(line_model=False)),
    "curate resiliparse, comments: true": lambda: _per_page(_curate(comments=True)),
    "curate trafilatura": lambda: _per_page(_curate(extractor="trafilatura")),
    "bare resiliparse (main_content)": lambda: _per_page(_bare_resiliparse),
    TRAFILATURA: lambda: _per_page(_bare_trafilatura),
}


def score(pages: list[Page], extract: Batch) -> tuple[dict[str, list[tuple[float, float, float]]], list[str], float]:
    """Per-source (precision, recall, F1) per page, the texts, and the CPU seconds extraction took."""
    by_source: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    texts, cpu = extract([page.html for page in pages])
    for page, text in zip(pages, texts):
        by_source[page.source].append(f1(tokens(text), page.gold))
    return by_source, texts, cpu


def _mean(rows: list[tuple[float, float, float]], i: int) -> float:
    return sum(r[i] for r in rows) / len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--half", choices=["tune", "report", "all"], default="report")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N rows (a quick look)")
    parser.add_argument("--only", action="append", choices=list(EXTRACTORS), help="run only these extractors")
    args = parser.parse_args(argv or [])
    pages = list(read_pages(args.half, args.limit))
    counts = Counter(p.source for p in pages)
    print(f"html-cleaning-gold, {args.half} half: {len(pages)} pages ({', '.join(f'{s} {n}' for s, n in sorted(counts.items()))})")
    print("token F1 / precision / recall, mean over pages; pages per CPU second of extraction")
    speed, articles = {}, {}
    for name in args.only or EXTRACTORS:
        by_source, texts, cpu = score(pages, EXTRACTORS[name]())
        speed[name] = len(pages) / cpu
        articles[name] = [shingle_shares(page.gold_text, text) for page, text in zip(pages, texts) if page.source in ARTICLE_SOURCES]
        every = [r for rows in by_source.values() for r in rows]
        print(f"{name:40s} all F1 {_mean(every, 2):.3f} P {_mean(every, 0):.3f} R {_mean(every, 1):.3f}  {speed[name]:7.1f} pages/s", flush=True)
        for source, rows in sorted(by_source.items()):
            print(f"  {source:36s}   F1 {_mean(rows, 2):.3f} P {_mean(rows, 0):.3f} R {_mean(rows, 1):.3f}", flush=True)
    if TRAFILATURA in speed:
        for name in [name for name in speed if name != TRAFILATURA]:
            print(f"{name}: {speed[name] / speed[TRAFILATURA]:.1f}x bare trafilatura's pages per CPU second")
    if any(articles.values()):
        print(f"\narticle bodies ({', '.join(ARTICLE_SOURCES)}: {len(next(iter(articles.values())))} pages): 4-token shingle F1 / precision / recall")
        for name, shares in articles.items():
            article_f1, precision, recall = article_scores(shares)
            print(f"{name:40s} F1 {article_f1:.3f} P {precision:.3f} R {recall:.3f}", flush=True)
    if SNIPPET_PAGES.exists():
        labelled = trafilatura_eval_pages()
        print(f"\ntrafilatura's {len(labelled)} labelled pages: snippet precision / recall (main text kept) / F1, boilerplate dropped")
        for name in args.only or EXTRACTORS:
            counts = SnippetCounts()
            for text, (_, entry) in zip(EXTRACTORS[name]()([html for html, _ in labelled])[0], labelled):
                counts.add(text, entry)
            print(f"{name:40s} P {counts.precision:.3f} R {counts.recall:.3f} F1 {counts.f1:.3f}  dropped {counts.dropped_share:.3f}", flush=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
