"""The lines of a page as resiliparse renders it whole (`main_content` off), each with features a
classifier can tell main text from boilerplate by: its length, link share, markup, punctuation,
whether resiliparse's own main-content heuristic kept it, and the same around it. Per-line work is
a few C-level string calls (no regex over long lines, no per-character Python): with the two
renderings it costs about a third of one trafilatura call."""

from __future__ import annotations

import html as html_entities
import re
from dataclasses import dataclass

import numpy as np
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

_WORD = re.compile(r"\w+")
_BULLET = re.compile(r"^[ \t]*•", re.MULTILINE)  # plain text's list bullets, absent from minimal HTML
_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r"<a\b[^>]*>(.*?)</a>", re.DOTALL)
# lower-case words that mark a short line as page furniture (sharing, sign-in, legal, navigation, bylines)
_FURNITURE = frozenset(
    "cookie cookies privacy terms login log sign subscribe newsletter share tweet"
    " follow print email related advertisement advertisements comments comment reply permalink tags tag category"
    " categories posted menu home search contact next previous prev more click archive archives rss skip".split()
)
_MONTHS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august"
    " september october november december".split()
)
# scripts written without spaces between words (Han, kana, Thai): two characters count as a word
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SEPARATORS = frozenset("| » › > · • - – — / :: ::".split())
_TERMINAL = frozenset(".!?\"'”’)…:;")
_CHOICES = {"post_meta": False, "alt_texts": False, "noscript": False}
SHORT_WORDS = 30  # only lines up to this long are checked for furniture words and dates
WINDOW = 3  # lines either side averaged into context features

FEATURES = (
    "log_words", "link_share", "in_main", "heading", "list_item", "paragraph", "terminal", "furniture", "legal",
    "date", "separators", "number_share", "mean_word_chars", "commas_per_word", "repeated",
    "position", "before_main", "after_main", "page_main_share", "log_page_lines", "share_of_page_words",
    "prev_log_words", "next_log_words", "prev_in_main", "next_in_main", "prev_link_share", "next_link_share",
    "window_in_main", "window_link_share", "window_log_words", "long_lines_near",
)


@dataclass
class PageLines:
    """A page's non-empty lines (plain text, no markup) and their features (one row per line)."""

    lines: list[str]
    features: np.ndarray


def page_lines(html: str | HTMLTree, comments: bool) -> PageLines:
    """Renders the page twice (whole, as minimal HTML with links; and resiliparse's main content)
    and describes each line of the whole."""
    tree = HTMLTree.parse(html) if isinstance(html, str) else html
    marked = extract_plain_text(tree, preserve_formatting="minimal_html", links=True, main_content=False, comments=comments, **_CHOICES)
    main = extract_plain_text(tree, preserve_formatting=True, main_content=True, comments=comments, **_CHOICES)
    main_keys = set(map(str.strip, _BULLET.sub("", main).split("\n")))  # its lines as the minimal HTML has them
    lines: list[str] = []
    rows: list[tuple] = []
    for raw in marked.split("\n"):
        text = html_entities.unescape(_TAG.sub("", raw)).strip() if "<" in raw or "&" in raw else raw.strip()
        words = text.split()
        if not words:
            continue
        n = len(words) if text.isascii() else len(words) + len(_UNSPACED.findall(text)) // 2
        chars = len(text)
        linked = sum(map(len, _LINK.findall(raw))) if "<a" in raw else 0
        short = set(_WORD.findall(text.lower())) if n <= SHORT_WORDS else ()
        lines.append(text)
        rows.append((
            n, min(1.0, linked / chars), text in main_keys,
            raw.startswith("<h"), "<li" in raw, raw.startswith("<p>"),
            text[-1] in _TERMINAL, bool(short) and not _FURNITURE.isdisjoint(short),
            bool(short) and ("©" in text or "copyright" in short or "reserved" in short), bool(short) and not _MONTHS.isdisjoint(short),
            sum(map(_SEPARATORS.__contains__, words)) / n, sum(map(str.isdigit, words)) / n, chars / n, text.count(",") / n,
        ))
    if not rows:
        return PageLines([], np.zeros((0, len(FEATURES))))
    base = np.array(rows, dtype=np.float64)
    return PageLines(lines, _with_context(base, lines))


def _with_context(base: np.ndarray, lines: list[str]) -> np.ndarray:
    """The per-line columns plus where each line sits: in the page, against resiliparse's main
    content, among its neighbours."""
    count = len(lines)
    words, link, in_main = base[:, 0], base[:, 1], base[:, 2]
    log_words = np.log1p(words)
    seen: dict[str, int] = {}
    for line in lines:
        seen[line] = seen.get(line, 0) + 1
    repeated = np.fromiter((seen[line] > 1 for line in lines), dtype=np.float64, count=count)
    index = np.arange(count)
    main_at = np.flatnonzero(in_main)
    first, last = (main_at[0], main_at[-1]) if len(main_at) else (count, -1)
    total = words.sum()
    cumulative = np.zeros((count + 1, 4))
    np.cumsum(np.column_stack([in_main, link, log_words, words >= 12]), axis=0, out=cumulative[1:])
    lo, hi = np.maximum(index - WINDOW, 0), np.minimum(index + WINDOW + 1, count)
    window = (cumulative[hi] - cumulative[lo]) / (hi - lo)[:, None]

    def shifted(values: np.ndarray, by: int) -> np.ndarray:
        out = np.zeros(count)
        if by > 0:
            out[by:] = values[:-by]
        else:
            out[:by] = values[-by:]
        return out

    return np.column_stack([
        log_words, link, in_main, base[:, 3:14], repeated,
        index / count, index < first, index > last, np.full(count, (words * in_main).sum() / total), np.full(count, np.log1p(count)),
        words / total,
        shifted(log_words, 1), shifted(log_words, -1), shifted(in_main, 1), shifted(in_main, -1), shifted(link, 1), shifted(link, -1),
        window,
    ])
