"""pii: crafted positives and negatives per type, the stage's signals and modes, and real Common Crawl text."""

from __future__ import annotations

import gzip
import json
import random
import re

import pytest

from curate.config import parse_config
from curate.document import Document
from curate.errors import ConfigError
from curate.stages.pii import _NUMBER_RUN, PLACEHOLDERS, Pii, redact
from curate.stats import StageStats

ALL = {"email", "ip_address", "phone"}

POSITIVES = [
    ("Write to john.doe@example.com today", "Write to <EMAIL> today"),
    ("mail: Jane_O'Neil+news@mail.co.uk.", "mail: <EMAIL>."),
    ("Contact <info@sub.domain.org>", "Contact <<EMAIL>>"),
    ("Server at 93.184.216.34 responded", "Server at <IP_ADDRESS> responded"),
    ("ping 8.8.8.8.", "ping <IP_ADDRESS>."),
    ("IPv6 2001:4860:4860::8888 is public", "IPv6 <IP_ADDRESS> is public"),
    ("addr 2a00:1450:4001:82b:0:0:0:200e, ok", "addr <IP_ADDRESS>, ok"),
    ("Call +1 (555) 123-4567 now", "Call <PHONE> now"),
    ("Tel: +44 20 7946 0958", "Tel: <PHONE>"),
    ("+49 (0)30 12345678", "<PHONE>"),
    ("+33 1 23 45 67 89", "<PHONE>"),
    ("+91 98765 43210", "<PHONE>"),
    ("+86 138 0013 8000", "<PHONE>"),
    ("+4930123456", "<PHONE>"),
    ("0049 30 1234567", "<PHONE>"),
    ("Phone: (555) 123-4567", "Phone: <PHONE>"),
    ("call 555-123-4567 or 555.123.4567", "call <PHONE> or <PHONE>"),
    ("1-800-555-0199 toll free", "<PHONE> toll free"),
    ("London 020 7946 0958", "London <PHONE>"),
    ("mobile 07700 900123", "mobile <PHONE>"),
    ("Berlin 030 12345678", "Berlin <PHONE>"),
    ("0171/1234567", "<PHONE>"),
    ("01 23 45 67 89", "<PHONE>"),
    ("(030) 1234567", "<PHONE>"),
    ("06-12345678", "<PHONE>"),
    ("Fax: 089 1234 5678", "Fax: <PHONE>"),
    ("Tel.: 123 45 67", "Tel.: <PHONE>"),  # short numbers count after a phone keyword
    ("phone: 555-1234", "phone: <PHONE>"),
]

NEGATIVES = [
    "version 1.2.3.4 released", "v1.2.3.4", "update to 10.0.19041.1", "Windows 6.1.7601", "section 3.1.2.4.5",
    "private 192.168.1.1 and 10.0.0.1", "loopback 127.0.0.1", "documentation range 192.0.2.1", "300.1.2.3",
    "fe80::1", "::1", "a::b", "std::vector<int>", "MAC 00:1a:2b:3c:4d:5e", "at 12:30:45",
    "on 2024-01-15 we", "am 15.01.2024 um 12 Uhr", "01.02.2024 12:00", "05/12/2023", "2023/2024 season", "20240115",
    "price $1,234.56", "1.234,56 €", "costs 1 234 567 EUR", "€ 030 1234567", "pop. 1,234,567", "1.000.000 Einwohner",
    "ISBN 978-3-16-148410-0", "ISBN 0-306-40615-2", "ISSN 0071-0822", "DOI 10.1000/182",
    "order 12345678901234", "id 5551234567", "4111 1111 1111 1111", "zip 90210-1234",
    "1990-2000", "the years 1914-1918", "rooms 101-105", "score 100-98", "(2019) 123 pages",
    "coordinates 52.5200, 13.4050", "ratio 3.14159", "10 000 000 people", "+5 points",
    "995 996 997 998 999 1000 1001 1002", "tel aviv 2019",
    "logo@2x.png", "image icon@3x.jpg", "@username on twitter", "user@localhost",
]  # fmt: skip


@pytest.mark.parametrize("text,expected", POSITIVES)
def test_positives(text, expected):
    assert redact(text, ALL)[0] == expected


@pytest.mark.parametrize("text", NEGATIVES)
def test_negatives(text):
    redacted, counts = redact(text, ALL)
    assert redacted == text and sum(counts.values()) == 0


def test_types_are_configurable_and_counted():
    text = "Mail a@example.com or b@example.org, call +44 20 7946 0958, server 8.8.8.8."
    assert redact(text, ALL)[1] == {"email": 2, "ip_address": 1, "phone": 1}
    redacted, counts = redact(text, {"phone"})
    assert redacted == "Mail a@example.com or b@example.org, call <PHONE>, server 8.8.8.8."
    assert counts == {"email": 0, "ip_address": 0, "phone": 1}


def test_stage_rewrites_records_signals_and_never_removes():
    docs = [
        Document(id="a", text="Reach me at jane@example.com or +1 (555) 123-4567."),
        Document(id="b", text="Nothing personal here, version 1.2.3.4."),
        Document(id="c", text=""),
    ]
    stats = StageStats("pii")
    kept, removed = Pii()(docs, stats)
    assert kept == docs and not removed
    assert docs[0].text == "Reach me at <EMAIL> or <PHONE>."
    assert docs[0].signals == {"pii_emails": 1, "pii_ip_addresses": 0, "pii_phones": 1, "pii_count": 2}
    assert docs[1].signals["pii_count"] == 0 and docs[1].text.endswith("1.2.3.4.")
    assert stats.counters["pii_emails"] == 1 and stats.counters["pii_phones"] == 1
    assert sum(stats.histograms["pii_count"].counts) == 3


def test_annotate_mode_counts_without_rewriting():
    doc = Document(id="a", text="Reach me at jane@example.com.")
    stage = Pii(mode="annotate")
    stage([doc], StageStats("pii"))
    assert doc.text == "Reach me at jane@example.com." and doc.signals["pii_emails"] == 1
    assert "pii_reason" not in stage.output_signals()


def test_options_are_validated():
    assert parse_config({"stages": [{"pii": {"types": ["email", "phone"]}}]}).stages[0][1] == {"types": ["email", "phone"]}
    with pytest.raises(ConfigError, match="types"):
        parse_config({"stages": [{"pii": {"types": ["ssn"]}}]})


def test_real_common_crawl_text(shared_data):
    """Hits on 697 real pages: a floor per type, and every replaced span checked for a tell-tale shape."""
    path = shared_data / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    totals = {"email": 0, "ip_address": 0, "phone": 0}
    for text in texts:
        for pii_type in totals:
            redacted, counts = redact(text, {pii_type})
            totals[pii_type] += counts[pii_type]
            for original in _replaced_spans(text, redacted, PLACEHOLDERS[pii_type]):
                assert _looks_right(pii_type, original), f"{pii_type}: {original!r}"
    # Measured: 50 emails, 1 IP address (a Wikipedia anonymous user), 37 phones (spot-checked by hand).
    assert totals["email"] >= 45 and totals["ip_address"] >= 1 and totals["phone"] >= 30
    assert totals["phone"] <= 45  # a looser phone rule shows up here first (lists of numbers, ids)


def _replaced_spans(original: str, redacted: str, placeholder: str) -> list[str]:
    """The original text under each placeholder (the text around placeholders is unchanged)."""
    pieces = redacted.split(placeholder)
    if len(pieces) == 1:
        return []
    pattern = "(.+?)".join(re.escape(piece) for piece in pieces)
    match = re.fullmatch(pattern, original, re.DOTALL)
    assert match, "redaction changed text outside the placeholders"
    return list(match.groups())


def _looks_right(pii_type: str, span: str) -> bool:
    if pii_type == "email":
        return re.fullmatch(r"[^\s@]+@[^\s@]+\.[a-zA-Z]{2,}", span) is not None
    if pii_type == "ip_address":
        return re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+", span) is not None
    return re.fullmatch(r"\+?[\d ()./-]+", span) is not None and sum(c.isdigit() for c in span) >= 7


def test_number_runs_are_those_of_the_plain_pattern(shared_data):
    """The number-run scan (its first character matched before its look back) finds exactly the runs
    of the plain pattern, on real pages and on random strings of digits, separators and signs."""
    plain = re.compile(r"(?<![\w.,+/-])[+(]?\d[\d ()./-]{5,30}\d(?![\w]|[.,]\d|-\d)")
    path = shared_data / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    rng = random.Random(0)
    texts += ["".join(rng.choices("1111+(.-a ,/", k=24)) for _ in range(50_000)]
    spans = [[m.span() for m in plain.finditer(text)] for text in texts]
    assert sum(map(len, spans)) > 1000
    assert [[m.span() for m in _NUMBER_RUN.finditer(text)] for text in texts] == spans
