"""url_filter: domain lists (exact and subdomains), hard and soft URL words, opt-outs, options, real URLs."""

from __future__ import annotations

import gzip
import json

import pytest

from curate.config import parse_config
from curate.document import Document
from curate.errors import ConfigError
from curate.stages.url_filter import UrlFilter
from curate.stats import StageStats


@pytest.fixture(scope="module")
def default() -> UrlFilter:
    stage = UrlFilter()
    stage.setup()
    return stage


@pytest.mark.parametrize(
    "url,verdict",
    [
        ("https://www.pornhub.com/view_video", "blocked_domain:pornhub.com"),
        ("http://de.xhamster.com/", "blocked_domain:xhamster.com"),
        ("HTTPS://XVIDEOS.COM/", "blocked_domain:xvideos.com"),
        ("xnxx.com/search", "blocked_domain:xnxx.com"),  # no scheme
        ("https://www.freeporntube.example/", "banned_url_word:porn"),
        ("https://blog.example/cheap-viagra-online", "banned_url_word:viagra"),
        ("https://example.com/casino-bonus-codes", "soft_banned_url_words:bonus,casino"),
        ("https://example.com/nude/xxx/gallery", "soft_banned_url_words:nude,xxx"),
    ],
)
def test_removed(default, url, verdict):
    assert default.judge(url) == verdict


@pytest.mark.parametrize(
    "url",
    [
        "https://www.sussex.ac.uk/sex-education",  # one soft word, and "sex" is not a hard word
        "https://www.essex.gov.uk/",
        "https://en.wikipedia.org/wiki/Sex",
        "https://shop.example/xxxl-shirts",
        "https://example.com/hot-dog-recipes",
        "https://example.org/strip-steak",
        "https://mycasino.example/",  # soft words are whole URL words
        "http://[::1",  # unparsable: kept, no crash
    ],
)
def test_kept(default, url):
    assert default.judge(url) is None


def test_subdomains_and_lookalikes():
    stage = UrlFilter(domains=["bad.example", "*.worse.example", "https://evil.example/path"], default_lists=False)
    stage.setup()
    assert stage.judge("https://bad.example/") == "blocked_domain:bad.example"
    assert stage.judge("https://a.b.bad.example/x") == "blocked_domain:bad.example"
    assert stage.judge("https://worse.example") == "blocked_domain:worse.example"
    assert stage.judge("https://evil.example./") == "blocked_domain:evil.example"  # trailing dot
    assert stage.judge("https://notbad.example/") is None
    assert stage.judge("https://bad.example.org/") is None
    assert stage.judge("http://[::1") is None  # unparsable URL: kept, no crash


def test_opt_out_comes_first_and_lists_come_from_files(tmp_path):
    opt_out = tmp_path / "opt_out.txt"
    opt_out.write_text("# publishers who asked to be left out\nnews.example  # inline comment\n\n", encoding="utf-8")
    hard = tmp_path / "hard.txt"
    hard.write_text("forbiddenword\n", encoding="utf-8")
    stage = UrlFilter(
        opt_out_files=[str(opt_out)],
        opt_out_domains=["Blog.Example"],
        hard_word_files=[str(hard)],
        soft_words=["alpha", "beta"],
        soft_word_min=2,
        domains=["news.example"],
    )
    stage.setup()
    assert stage.judge("https://www.news.example/a") == "opted_out:news.example"
    assert stage.judge("https://blog.example/") == "opted_out:blog.example"
    assert stage.judge("https://x.example/forbiddenword") == "banned_url_word:forbiddenword"
    assert stage.judge("https://x.example/alpha/beta") == "soft_banned_url_words:alpha,beta"
    assert stage.judge("https://x.example/alpha/alpha") is None  # distinct words count
    assert stage.judge("https://www.pornhub.com/") == "blocked_domain:pornhub.com"  # defaults still on


def test_stage_keeps_documents_without_url_and_accounts(default):
    docs = [
        Document(id="none", text="x"),
        Document(id="empty", text="x", url=""),
        Document(id="ok", text="x", url="https://example.com/"),
        Document(id="bad", text="x", url="https://www.pornhub.com/"),
    ]
    stats = StageStats("url_filter")
    kept, removed = default(docs, stats)
    assert [d.id for d in kept] == ["none", "empty", "ok"]
    assert [(d.id, reason) for d, reason in removed] == [("bad", "blocked_domain:pornhub.com")]
    assert stats.removed == {"url_filter:blocked_domain": 1}
    annotate = UrlFilter(mode="annotate")
    annotate.setup()
    kept, removed = annotate(docs, StageStats("url_filter"))
    assert len(kept) == 4 and docs[3].signals["url_filter_reason"] == "blocked_domain:pornhub.com"


def test_options_are_validated(tmp_path):
    config = parse_config({"stages": [{"url_filter": {"opt_out_domains": ["a.example"], "soft_word_min": 3}}]})
    assert config.stages[0] == ("url_filter", {"opt_out_domains": ["a.example"], "soft_word_min": 3})
    with pytest.raises(ConfigError, match="domain_files"):
        parse_config({"stages": [{"url_filter": {"domain_files": "one.txt"}}]})
    with pytest.raises(ConfigError, match="soft_word_min"):
        UrlFilter(soft_word_min=0)
    with pytest.raises(ConfigError, match="missing.txt"):
        UrlFilter(domain_files=[str(tmp_path / "missing.txt")]).setup()


def test_real_urls_are_kept(default, shared_data):
    """697 real Common Crawl URLs (blogs, wikis, shops in many languages): no false hit."""
    path = shared_data / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        urls = [json.loads(line)["metadata"]["warc_url"] for line in lines]
    assert len(urls) == 697
    assert [url for url in urls if default.judge(url)] == []
