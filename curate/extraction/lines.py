"""The lines of a page as resiliparse renders it whole (`main_content` off), each with features a
classifier can tell main text from boilerplate by: its length, link share, markup, punctuation,
whether resiliparse's own main-content heuristic kept it, what the class and id names of the
element it starts say, and the same around it. Per-line work is a few C-level string calls (no regex
over long lines, no per-character Python): with the two renderings and the hint marks it costs
about a fifth of one trafilatura call (0.8 ms of it is resiliparse's main content)."""

from __future__ import annotations

import html as html_entities
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

# punctuation and symbols that end up beside words in short lines ("Share:", "(3 comments)", "© 2012"),
# blanked so that a short line's words are a plain split
_BLANKED = str.maketrans({c: " " for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»‹›“”‘’„–—…·•©®™|¦"})
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
_TERMINAL = frozenset(".!?\"'”’)…:;")
RENDER_CHOICES = {"post_meta": False, "alt_texts": False, "noscript": False}  # every resiliparse rendering curate makes
# what an element's class or id (or its tag) says its text is. One regex pass per attribute over the
# raw HTML puts a group's mark right after each such start tag, so the rendered line that follows
# carries it: where the element starts, not where it ends (finding ends needs the DOM, and walking
# resiliparse's DOM from Python costs about 0.3 ms an element)
_HINTS = {
    "comments": "comment disqus respond reply",
    "byline": "byline author dateline posted timestamp meta date",
    "related": "related recommend promo teaser popular trending outbrain taboola more-",
    "sharing": "share sharing social follow",
    "furniture": "nav menu footer sidebar breadcrumb widget banner cookie newsletter subscribe login sponsor advert masthead",
    "caption": "caption credit gallery thumb",
    "tags": "tag categor topic keyword",
    "article": "article content entry story",
}
_HINT_TAGS = {"aside": "related", "nav": "furniture", "footer": "furniture", "form": "furniture", "time": "byline",
              "address": "byline", "figcaption": "caption", "article": "article", "main": "article"}
# a mark is _MARK and its group's letter, Unicode noncharacters (never in real text): one str.find finds them all
_MARK = "\ufdd0"
_GROUPS = "".join(chr(0xFDD1 + i) for i in range(len(_HINTS)))
_MARK_OF = {word: _MARK + _GROUPS[g] for g, words in enumerate(_HINTS.values()) for word in words.split()}
_MARK_OF_TAG = {tag: _MARK + _GROUPS[list(_HINTS).index(group)] for tag, group in _HINT_TAGS.items()}
# bounded, so that a page of unclosed tags costs linear time, not quadratic (each try would scan to its end)
_HINTED = [
    re.compile(r'class="[^"]{0,300}?(%s)[^>]{0,2000}>' % "|".join(map(re.escape, _MARK_OF))),
    re.compile(r' id="[^"]{0,300}?(%s)[^>]{0,2000}>' % "|".join(map(re.escape, _MARK_OF))),
]
_HINTED_TAG = re.compile(r"<(%s)\b[^>]{0,2000}>" % "|".join(_MARK_OF_TAG))
_FIRST_GROUP = ord(_GROUPS[0])
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b")
_NO_WORDING = (False,) * 4
SHORT_WORDS = 30  # only lines up to this long are checked for furniture words and dates
WINDOW = 3  # lines either side averaged into context features

FEATURES = (
    "log_words", "link_share", "in_main", "heading", "list_item", "paragraph", "terminal",
    "mean_word_chars", "commas_per_word", "in_title", "furniture", "legal", "date", "clock",
    "repeated",
    "position", "before_main", "after_main", "page_main_share", "log_page_lines", "share_of_page_words",
    "prev_log_words", "next_log_words", "prev_in_main", "next_in_main", "prev_link_share", "next_link_share",
    "window_in_main", "window_link_share", "window_log_words", "long_lines_near",
    *(f"starts_{group}" for group in _HINTS), *(f"after_{group}" for group in _HINTS),
    *(f"window_starts_{group}" for group in _HINTS),
)


@dataclass
class PageLines:
    """A page's non-empty lines (plain text, no markup) and their features (one row per line)."""

    lines: list[str]
    features: np.ndarray


def page_lines(html: str, comments: bool) -> PageLines:
    """Renders the page twice (whole, as minimal HTML with links; and resiliparse's main content)
    and describes each line of the whole."""
    tree = HTMLTree.parse(_marked_hints(html))
    marked = extract_plain_text(tree, preserve_formatting="minimal_html", links=True, main_content=False, comments=comments, **RENDER_CHOICES)
    main = extract_plain_text(tree, preserve_formatting=True, main_content=True, comments=comments, **RENDER_CHOICES)
    main_keys = set(map(str.strip, _BULLET.sub("", _unmarked(main)).split("\n")))  # its lines as the minimal HTML has them
    title = (tree.title or "").lower()
    lines: list[str] = []
    rows: list[tuple] = []
    pending = ""  # marks on lines with no text of their own, for the next line that has some
    group = len(_HINTS)  # the group of the last mark so far (none yet: one past the last)
    groups: list[int] = []  # per line
    started: list[tuple[int, str]] = []  # (line, the groups marked on it)
    marks_at = _marks_by_line(marked)
    plain = _plain(marked)
    raw_lines, texts, lowered = marked.split("\n"), plain.split("\n"), plain.lower().split("\n")
    if len(raw_lines) != len(texts):  # a link's address with a line break in it: line by line
        texts = list(map(_plain, raw_lines))
        lowered = [text.lower() for text in texts]
    for i, (raw, text, lower) in enumerate(zip(raw_lines, texts, lowered)):
        if not raw:  # most lines: the blank line between two blocks
            continue
        starts = pending
        if i in marks_at:
            starts += marks_at[i]
            raw = _unmarked(raw)
        text = text.strip()
        words = text.split()
        if not words:
            pending = starts
            continue
        pending = ""
        if starts:
            group = ord(starts[-1]) - _FIRST_GROUP
            started.append((len(lines), starts))
        groups.append(group)
        n = len(words) if text.isascii() else len(words) + len(_UNSPACED.findall(text)) // 2
        chars = len(text)
        linked = sum(map(len, _LINK.findall(raw))) if "<a" in raw else 0
        lower = lower.strip()
        short = set(lower.translate(_BLANKED).split()) if n <= SHORT_WORDS else None
        if short:
            wording = (not _FURNITURE.isdisjoint(short), "©" in text or "copyright" in short or "reserved" in short,
                       not _MONTHS.isdisjoint(short), _CLOCK.search(text) is not None)
        else:
            wording = _NO_WORDING
        lines.append(text)
        rows.append((
            n, min(1.0, linked / chars), text in main_keys, raw.startswith("<h"), "<li" in raw, raw.startswith("<p>"), text[-1] in _TERMINAL,
            chars / n, text.count(",") / n, chars >= 15 and lower in title,
        ) + wording)
    if not rows:
        return PageLines([], np.zeros((0, len(FEATURES))))
    hints = np.zeros((len(rows), 2 * len(_HINTS)))
    for line, marks in started:
        for mark in marks:
            hints[line, ord(mark) - _FIRST_GROUP] = 1.0
    hints[:, len(_HINTS):] = np.equal.outer(groups, np.arange(len(_HINTS)))
    return PageLines(lines, _with_context(np.array(rows, dtype=np.float64), hints, lines))


def _plain(marked: str) -> str:
    """Minimal HTML with its tags and hint marks taken out and its entities decoded."""
    plain = _unmarked(marked)
    return html_entities.unescape(_TAG.sub("", plain)) if "<" in plain or "&" in plain else plain


def _marks_by_line(text: str) -> dict[int, str]:
    """The groups marked on each line of `text` that has any, in order."""
    marks: dict[int, str] = {}
    line = last = 0
    at = text.find(_MARK)
    while at >= 0:
        line += text.count("\n", last, at)
        marks[line] = marks.get(line, "") + text[at + 1]
        last, at = at, text.find(_MARK, at + 2)
    return marks


def _unmarked(text: str) -> str:
    if _MARK not in text:
        return text
    first, *rest = text.split(_MARK)
    return first + "".join(part[1:] for part in rest)


def _marked_hints(html: str) -> str:
    """The page with a group's mark right after each start tag whose class, id or name hints at it
    (and without any noncharacter of its own that would read as a mark)."""
    if _MARK in html:
        html = html.replace(_MARK, "")
    for pattern in _HINTED:
        html = pattern.sub(lambda m: m.group(0) + _MARK_OF[m.group(1)], html)
    return _HINTED_TAG.sub(lambda m: m.group(0) + _MARK_OF_TAG[m.group(1)], html)


def _with_context(base: np.ndarray, hints: np.ndarray, lines: list[str]) -> np.ndarray:
    """The per-line columns plus where each line sits: in the page, against resiliparse's main
    content, among its neighbours."""
    count = len(lines)
    words, link, in_main = base[:, 0], base[:, 1], base[:, 2]
    log_words = np.log1p(words)
    seen = Counter(lines)
    repeated = np.fromiter((seen[line] > 1 for line in lines), dtype=np.float64, count=count)
    index = np.arange(count)
    main_at = np.flatnonzero(in_main)
    first, last = (main_at[0], main_at[-1]) if len(main_at) else (count, -1)
    total = words.sum()
    starts = hints[:, : len(_HINTS)]
    cumulative = np.zeros((count + 1, 4 + len(_HINTS)))
    np.cumsum(np.column_stack([in_main, link, log_words, words >= 12, starts]), axis=0, out=cumulative[1:])
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
        window[:, :4], hints, window[:, 4:],
    ])
