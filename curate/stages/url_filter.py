"""url_filter: remove documents by their URL, RefinedWeb-style (Penedo et al. 2023, section G.1).

Checks, in order, each with its own reason:

| reason | removes a document when |
| --- | --- |
| `opted_out` | its domain (or a parent domain) is on an opt-out list: the publisher asked to be left out |
| `blocked_domain` | its domain (or a parent domain) is on a blocklist |
| `banned_url_word` | a hard-banned word occurs anywhere in the lowercased URL (`freeporn.example`) |
| `soft_banned_url_words` | at least `soft_word_min` different soft-banned words are words of the URL |

The detail after the reason names the domain or the words. Lists are plain text, one entry a line,
`#` comments; the shipped defaults (curate/lists/) are short lists written for this project, and
`*_files` options add files, the inline options add entries. Documents without a URL are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..document import Document
from ..errors import ConfigError
from ..lists import default_list, read_list
from ..options import option
from .base import Stage, StageOptions, Verdict

DEFAULT_DOMAINS = "blocked_domains.txt"
DEFAULT_HARD_WORDS = "banned_url_words_hard.txt"
DEFAULT_SOFT_WORDS = "banned_url_words_soft.txt"
_URL_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, kw_only=True)
class UrlFilterOptions(StageOptions):
    domains: list[str] = option([], "domains to block, beside the shipped list")
    domain_files: list[str] = option([], "files of domains to block, one a line", file=True)
    hard_words: list[str] = option([], "words that block a URL wherever they occur in it")
    hard_word_files: list[str] = option([], "files of hard-banned words", file=True)
    soft_words: list[str] = option([], "words that block a URL when soft_word_min of them are its words")
    soft_word_files: list[str] = option([], "files of soft-banned words", file=True)
    soft_word_min: int = option(2, "how many different soft-banned words block a URL", ge=1)
    opt_out_domains: list[str] = option([], "domains whose publishers opted out")
    opt_out_files: list[str] = option([], "files of opted-out domains", file=True)
    default_lists: bool = option(True, "use the shipped lists (curate/lists/)")


class UrlFilter(Stage):
    name = "url_filter"

    Options = UrlFilterOptions
    options: UrlFilterOptions

    def __init__(self, **options: Any) -> None:
        """Inline entries and extra files add to the shipped lists; `default_lists: false` drops those."""
        super().__init__(**options)
        o = self.options

        def shipped(name: str) -> list:
            return [default_list(name)] if o.default_lists else []

        self.sources = {  # list -> (inline entries, files)
            "domains": (o.domains, shipped(DEFAULT_DOMAINS) + o.domain_files),
            "hard": (o.hard_words, shipped(DEFAULT_HARD_WORDS) + o.hard_word_files),
            "soft": (o.soft_words, shipped(DEFAULT_SOFT_WORDS) + o.soft_word_files),
            "opt_out": (o.opt_out_domains, o.opt_out_files),
        }
        self.soft_word_min = o.soft_word_min
        self.blocked_domains: set[str] = set()
        self.opted_out_domains: set[str] = set()
        self.hard_words: re.Pattern | None = None
        self.soft_words: set[str] = set()

    def setup(self) -> None:
        lists: dict[str, list[str]] = {}
        for key, (inline, paths) in self.sources.items():
            lists[key] = [entry.strip().lower() for entry in inline if entry.strip()]
            for path in paths:
                try:
                    lists[key] += read_list(path)
                except OSError as exc:
                    raise ConfigError(f"url_filter: cannot read list {path}: {exc.strerror or exc}") from None
        self.blocked_domains = {_domain_entry(entry) for entry in lists["domains"]}
        self.opted_out_domains = {_domain_entry(entry) for entry in lists["opt_out"]}
        hard = sorted(set(lists["hard"]), key=len, reverse=True)
        self.hard_words = re.compile("|".join(map(re.escape, hard))) if hard else None
        self.soft_words = set(lists["soft"])

    def process(self, docs: list[Document]) -> list[Verdict]:
        return [self.judge(doc.url) if doc.url else None for doc in docs]

    def judge(self, url: str) -> Verdict:
        """The reason to remove a document with this URL, or None to keep it."""
        url = url.strip().lower()
        host = _host(url)
        if host and (domain := _listed_domain(host, self.opted_out_domains)):
            return f"opted_out:{domain}"
        if host and (domain := _listed_domain(host, self.blocked_domains)):
            return f"blocked_domain:{domain}"
        if self.hard_words and (word := self.hard_words.search(url)):
            return f"banned_url_word:{word[0]}"
        soft = sorted(self.soft_words.intersection(_URL_WORD_SPLIT.split(url)))
        if len(soft) >= self.soft_word_min:
            return f"soft_banned_url_words:{','.join(soft)}"
        return None


def _host(url: str) -> str | None:
    """The host name of a URL (with or without a scheme); None when it cannot be parsed."""
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def _listed_domain(host: str, domains: set[str]) -> str | None:
    """The listed domain that is the host or one of its parents (`a.b.example.com` -> `example.com`)."""
    if not domains:
        return None
    parts = host.split(".")
    for i in range(len(parts)):
        candidate = ".".join(parts[i:])
        if candidate in domains:
            return candidate
    return None


def _domain_entry(entry: str) -> str:
    """A list entry as a bare domain: `*.example.com`, `https://example.com/` -> `example.com`."""
    return (_host(entry) or entry).removeprefix("*.").strip(".")
