"""The lines of a page as resiliparse renders it whole (`main_content` off), each with features a
classifier can tell main text from boilerplate by: its length, link share, markup, punctuation,
whether resiliparse's own main-content heuristic kept it, what the element it starts says it holds
(its tag name, words in its class or id, its ARIA role or schema.org itemprop), and the same around
it. No Python runs per line beyond C-level calls mapped over all lines and a look at the few lines
that may be the title or hold a clock time: the counts come from numba passes over code points
(scan.py), the rest from calls made once on the whole rendering. With the two renderings and the hint marks a page costs about a sixth of one
trafilatura call (0.8 ms of it is resiliparse's main content)."""

from __future__ import annotations

import html as html_entities
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from ..text import code_points
from . import RENDER_CHOICES
from .scan import (COMMAS, COPYRIGHT_SIGN, ENDS_TERMINAL, HEADING, LINK_CHARS, LIST_ITEM, LISTED, MAYBE_CLOCK, PARAGRAPH, TOKENS,
                   UNSPACED_CHARS, WORDS, hint_columns, line_counts, rendering_lines, tables)

# punctuation and symbols that end up beside words in short lines ("Share:", "(3 comments)", "© 2012"),
# blanked so that a short line's words are a plain split
_BLANKED = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»‹›“”‘’„–—…·•©®™|¦"
_BULLET = re.compile(r"^[ \t]*•", re.MULTILINE)  # plain text's list bullets, absent from minimal HTML
_TAG = re.compile(r"<[^>]*>")
# lower-case words that mark a short line as page furniture (sharing, sign-in, legal, navigation,
# bylines), in English and the other languages most common on the web (de, fr, es, it, pt, nl, pl):
# the model learns from English pages what such a word says, and the same column carries it elsewhere
_FURNITURE = frozenset(
    "cookie cookies privacy terms login log sign subscribe newsletter share tweet"
    " follow print email related advertisement advertisements comments comment reply permalink tags tag category"
    " categories posted menu home search contact next previous prev more click archive archives rss skip"
    # de
    " datenschutz datenschutzerklärung impressum anmelden einloggen registrieren abonnieren abo teilen drucken"
    " kommentare kommentar kommentieren antworten werbung anzeige startseite suche kontakt weiter zurück mehr"
    " weiterlesen schlagworte themen kategorie archiv veröffentlicht agb menü"
    # fr
    " confidentialité connexion inscription abonnez abonner abonnement partager imprimer commentaires commentaire"
    " répondre publicité accueil rechercher recherche suivant précédent lire mentions légales catégorie catégories publié"
    # es, pt
    " privacidad iniciar sesión registrarse regístrate suscríbete suscribirse compartir imprimir comentarios"
    " comentario responder publicidad inicio buscar búsqueda contacto siguiente anterior etiquetas categoría"
    " categorías publicado privacidade cadastre assine compartilhe compartilhar partilhar comentários comentário"
    " publicidade início pesquisar contato próximo"
    # it, nl, pl
    " accedi registrati iscriviti abbonati condividi stampa commenti commento rispondi pubblicità cerca contatti"
    " successivo precedente categoria categorie pubblicato archivio inloggen aanmelden abonneren delen reacties"
    " reageren advertentie zoeken volgende vorige zaloguj zarejestruj subskrybuj udostępnij drukuj komentarze"
    " komentarz odpowiedz reklama szukaj wyszukaj następny poprzedni kategoria kategorie opublikowano prywatności".split()
)
_LEGAL = frozenset("copyright reserved vorbehalten réservés reservados riservati zastrzeżone voorbehouden".split())  # or ©
_MONTHS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august"
    " september october november december"
    " januar jänner februar märz mai juni juli oktober dezember okt dez"  # de
    " janvier février mars avril juin juillet août septembre octobre novembre décembre janv févr avr juil déc"  # fr
    " enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre"  # es
    " janeiro fevereiro março maio junho julho setembro outubro dezembro"  # pt
    " gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre"  # it
    " januari februari maart mei augustus"  # nl
    " stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia"  # pl
    " styczeń luty marzec kwiecień maj czerwiec lipiec sierpień wrzesień październik listopad grudzień".split()
)
# scripts written without spaces between words (Han, kana, Thai): two characters count as a word
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TERMINAL = ".!?\"'”’)…:;"
# what an element's class or id (or its tag) says its text is. One regex pass per attribute over the
# raw HTML puts a group's mark right after each such start tag, so the rendered line that follows
# carries it: where the element starts, not where it ends (finding ends needs the DOM, and walking
# resiliparse's DOM from Python costs about 0.3 ms an element)
_HINTS = {
    "comments": "comment disqus respond reply komment comentar",
    "byline": "byline author autor dateline posted timestamp meta date",
    "related": "related recommend promo teaser popular trending outbrain taboola more- recirc readmore read-more most-"
               " similar suggest relacionad correlat weitere empfehl",
    "sharing": "share sharing social follow facebook whatsapp pinterest linkedin teilen partage compartir condivi",
    "furniture": "nav menu footer sidebar breadcrumb widget banner cookie consent gdpr newsletter subscribe subscription"
                 " signup sign-up paywall modal popup login sponsor advert adslot ad-slot adunit ad-unit werbung anzeige"
                 " publicidad masthead toolbar pagination sr-only screen-reader visually-hidden visuallyhidden",
    "caption": "caption credit gallery thumb photo",
    "tags": "tag categor topic keyword",
    "article": "article content entry story artikel articulo artigo inhalt contenido",
}
_HINT_TAGS = {"aside": "related", "nav": "furniture", "footer": "furniture", "form": "furniture",
              "dialog": "furniture", "time": "byline", "address": "byline", "figure": "caption", "figcaption": "caption",
              "article": "article", "main": "article"}
# ARIA landmark roles and schema.org properties name what an element holds outright
_HINT_VALUES = {
    "role": {"navigation": "furniture", "menu": "furniture", "menubar": "furniture", "search": "furniture",
             "banner": "furniture", "contentinfo": "furniture", "dialog": "furniture", "alertdialog": "furniture",
             "complementary": "related", "main": "article", "article": "article"},
    "itemprop": {"articleBody": "article", "author": "byline", "creator": "byline", "datePublished": "byline",
                 "dateModified": "byline", "comment": "comments", "keywords": "tags", "caption": "caption"},
}
# a mark is _MARK and its group's letter, Unicode noncharacters (never in real text): one str.find finds them all
_MARK = "\ufdd0"
_GROUPS = "".join(chr(0xFDD1 + i) for i in range(len(_HINTS)))
_GROUP_MARK = {group: _MARK + letter for group, letter in zip(_HINTS, _GROUPS)}
_MARK_OF = {word: _GROUP_MARK[group] for group, words in _HINTS.items() for word in words.split()}
_MARK_OF_TAG = {tag: _GROUP_MARK[group] for tag, group in _HINT_TAGS.items()}
# a mark and its group, or a lone mark: one the page wrote as a character reference (`&#xfdd0;`), which
# the parser decodes after `_marked_hints` ran; a mark counts only with a group after it. The renderer
# drops a space that follows whitespace, but a mark between them kept it: taken out with the marks. The
# pattern starts with the mark itself, so `re` skips to each one (a leading look-behind made it try
# every position: 0.47 ms a page against 0.03)
_GROUP_LETTER = f"[{_GROUPS[0]}-{_GROUPS[-1]}]"
_MARK_AND_GROUP = re.compile(f"{_MARK}(?:(?<![^ \t\n\r\f]{_MARK}){_GROUP_LETTER}?(?:{_MARK}{_GROUP_LETTER}?)* |{_GROUP_LETTER}?)")
# start tags after which a mark would change the page or mark nothing: text in the head ends it (the
# title would render as a body line), the raw-text elements' text is not rendered, and void elements
# have no content (a mark after one would be its parent's text)
_UNMARKED_TAGS = frozenset("html head title meta link base script style noscript template textarea"
                           " area br col embed hr img input param source track wbr".split())
_TAG_NAME = re.compile(r"<([A-Za-z][A-Za-z0-9]*)")
TAG_LOOK_BACK, TAG_LOOK_BACK_STEPS = 4000, 8  # the hint patterns' own reach is 2,000 characters


def _trie(words: list[str]) -> str:
    """An alternation of `words` as a trie (`c(?:omment|aption)|...`): at each character of an attribute
    the regex tries a branch per first letter, not one per word (a third less time marking a page).
    Where one word begins another (date, dateline) the longer is tried first."""
    tree: dict = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def alternation(node: dict) -> str:
        branches = [re.escape(char) + alternation(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return alternation(tree)


# bounded, so that a page of unclosed tags costs linear time, not quadratic (each try would scan to its end)
_HINTED = [re.compile(r'%s="[^"]{0,300}?(%s)[^>]{0,2000}>' % (attribute, _trie(list(_MARK_OF)))) for attribute in ("class", " id")]
_HINTED_TAG = re.compile(r"<(%s)\b[^>]{0,2000}>" % "|".join(_MARK_OF_TAG))
# one pass per attribute, on pages that have it: a pattern that starts with a literal is searched for
# ahead (both in one: 4x the time), and str's own search is faster still
_HINTED_VALUE = [(f' {attribute}="', re.compile(r' %s="(%s)"[^>]{0,2000}>' % (attribute, "|".join(values))),
                  {value: _GROUP_MARK[group] for value, group in values.items()})
                 for attribute, values in _HINT_VALUES.items()]
_FIRST_GROUP = ord(_GROUPS[0])
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b")
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

_AT = {name: i for i, name in enumerate(FEATURES)}


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
    rendered = _unmarked(marked)
    raw_lines = rendered.split("\n")
    texts = _plain(rendered).split("\n")
    if len(raw_lines) != len(texts):  # a link's address with a line break in it: line by line
        texts = list(map(_plain, raw_lines))
    stripped = list(map(str.strip, texts))
    worded = np.flatnonzero(np.fromiter(map(bool, stripped), dtype=bool, count=len(stripped)))
    if not len(worded):
        return PageLines([], np.zeros((0, len(FEATURES))))
    lines = [stripped[i] for i in worded.tolist()]
    classes = _scan_tables()[0]
    markup = rendering_lines(code_points(rendered), classes)[worded]
    columns = _line_columns(lines, markup, main_keys, (tree.title or "").lower())
    hints = hint_columns(code_points(marked), worded, ord(_MARK), _FIRST_GROUP, len(_HINTS))
    return PageLines(lines, _with_context(columns, hints, lines))


def _line_columns(lines: list[str], markup: np.ndarray, main_keys: set[str], title: str) -> np.ndarray:
    """The per-line columns, one row per line: column 0 the word count (FEATURES' log_words is its
    log1p, taken in `_with_context`), 1-13 FEATURES' next 13. Counts from one pass over the lines'
    code points (`line_counts`), link characters and markup from one over their minimal HTML (`markup`,
    from `rendering_lines`), the rest C-level calls mapped over all lines."""
    count = len(lines)
    chars = np.fromiter(map(len, lines), dtype=np.int64, count=count)
    ends = np.cumsum(chars + 1) - 1
    counts = line_counts(code_points("\n".join(lines)), ends - chars, ends, *_scan_tables(), SHORT_WORDS)
    words = (counts[:, WORDS] + counts[:, UNSPACED_CHARS] // 2).astype(np.float64)  # two unspaced characters make a word
    out = np.zeros((count, 14))
    out[:, 0], out[:, 1] = words, np.minimum(1.0, markup[:, LINK_CHARS] / chars)
    out[:, 2] = np.fromiter(map(main_keys.__contains__, lines), dtype=bool, count=count)
    out[:, 3:6] = markup[:, [HEADING, LIST_ITEM, PARAGRAPH]]
    out[:, 6] = counts[:, ENDS_TERMINAL]
    out[:, 7] = chars / words
    out[:, 8] = counts[:, COMMAS] / words
    for i in np.flatnonzero((chars >= 15) & (chars <= len(title))).tolist():  # lowering never shortens a line
        out[i, 9] = lines[i].lower() in title
    # short lines with a word once punctuation is blanked: what their words say
    worded, listed = counts[:, TOKENS] > 0, counts[:, LISTED]
    out[:, 10] = listed & 1 != 0
    out[:, 11] = worded & ((listed & 2 != 0) | (counts[:, COPYRIGHT_SIGN] != 0))
    out[:, 12] = listed & 4 != 0
    for i in np.flatnonzero(worded & (counts[:, MAYBE_CLOCK] != 0)).tolist():
        out[i, 13] = _CLOCK.search(lines[i]) is not None
    return out


def _scan_tables() -> tuple[np.ndarray, ...]:
    return tables(_BLANKED, _UNSPACED.pattern, _TERMINAL, (_FURNITURE, _LEGAL, _MONTHS))


def _plain(rendered: str) -> str:
    """Minimal HTML (its hint marks already taken out) with its tags taken out and its entities decoded."""
    return html_entities.unescape(_TAG.sub("", rendered)) if "<" in rendered or "&" in rendered else rendered


def _unmarked(text: str) -> str:
    """The rendering without its marks: each mark with its group, a lone mark alone."""
    return _MARK_AND_GROUP.sub("", text) if _MARK in text else text


def _marked_hints(html: str) -> str:
    """The page with a group's mark right after each start tag whose class, id, role, itemprop or tag
    name hints at it (and without any noncharacter of its own that would read as a mark). Each pass
    puts its mark right after the tag's `>`, ahead of the marks of the passes before it, and a line's
    `after_` group is its last mark: within one tag the class mark holds, then id, role or itemprop,
    the tag name (the order the shipped model was trained with)."""
    if _MARK in html:
        html = html.replace(_MARK, "")
    for pattern in _HINTED:
        html = pattern.sub(lambda m: _marked_tag(m, _MARK_OF[m.group(1)]), html)
    for attribute, pattern, marks in _HINTED_VALUE:
        if attribute in html:
            html = pattern.sub(lambda m, marks=marks: _marked_tag(m, marks[m.group(1)]), html)
    return _HINTED_TAG.sub(lambda m: m.group(0) + _MARK_OF_TAG[m.group(1)], html)


def _marked_tag(match: re.Match, mark: str) -> str:
    """An attribute's match (up to its tag's `>`) with `mark` after it, unless its tag is one of
    _UNMARKED_TAGS."""
    tag = _tag_before(match.string, match.start())
    return match.group(0) if tag in _UNMARKED_TAGS else match.group(0) + mark


def _tag_before(html: str, at: int) -> str | None:
    """The lowercased name of the start tag that the attribute at `at` belongs to: the nearest `<name`
    before it that is not inside a quoted value (an even number of `"` between them), looked for within
    TAG_LOOK_BACK characters and TAG_LOOK_BACK_STEPS `<` back, so a page of many attributes stays linear."""
    floor, end = max(0, at - TAG_LOOK_BACK), at
    for _ in range(TAG_LOOK_BACK_STEPS):
        start = html.rfind("<", floor, end)
        if start < 0:
            return None
        if html.count('"', start, at) % 2 == 0:
            tag = _TAG_NAME.match(html, start)
            return tag.group(1).lower() if tag else None
        end = start
    return None


def _with_context(base: np.ndarray, hints: np.ndarray, lines: list[str]) -> np.ndarray:
    """The per-line columns plus where each line sits: in the page, against resiliparse's main
    content, among its neighbours (written into one array, column by column)."""
    count = len(lines)
    words, link, in_main = base[:, 0], base[:, 1], base[:, 2]
    log_words = np.log1p(words)
    seen = Counter(lines)
    index = np.arange(count)
    main_at = np.flatnonzero(in_main)
    first, last = (main_at[0], main_at[-1]) if len(main_at) else (count, -1)
    total = words.sum()
    cumulative = np.zeros((count + 1, 4 + len(_HINTS)))
    np.cumsum(np.column_stack([in_main, link, log_words, words >= 12, hints[:, : len(_HINTS)]]), axis=0, out=cumulative[1:])
    lo, hi = np.maximum(index - WINDOW, 0), np.minimum(index + WINDOW + 1, count)
    window = (cumulative[hi] - cumulative[lo]) / (hi - lo)[:, None]
    out = np.zeros((count, len(FEATURES)))
    out[:, 0], out[:, 1:14] = log_words, base[:, 1:14]
    out[:, _AT["repeated"]] = np.fromiter(map(seen.__getitem__, lines), dtype=np.int64, count=count) > 1
    out[:, _AT["position"]] = index / count
    out[:, _AT["before_main"]], out[:, _AT["after_main"]] = index < first, index > last
    out[:, _AT["page_main_share"]] = (words * in_main).sum() / total
    out[:, _AT["log_page_lines"]] = np.log1p(count)
    out[:, _AT["share_of_page_words"]] = words / total
    for name, values in (("log_words", log_words), ("in_main", in_main), ("link_share", link)):
        out[1:, _AT[f"prev_{name}"]], out[:-1, _AT[f"next_{name}"]] = values[:-1], values[1:]
    window_at, hints_at, window_hints_at = _AT["window_in_main"], _AT["starts_comments"], _AT["window_starts_comments"]
    out[:, window_at : window_at + 4] = window[:, :4]
    out[:, hints_at : hints_at + 2 * len(_HINTS)] = hints
    out[:, window_hints_at:] = window[:, 4:]
    return out
