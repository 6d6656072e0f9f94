"""pii: replace email addresses, public IP addresses and phone numbers with typed placeholders.

Never removes a document. Filter mode rewrites the text (`<EMAIL>`, `<IP_ADDRESS>`, `<PHONE>`);
annotate mode only counts. Either way `pii_count` and one count per type (`pii_emails`,
`pii_ip_addresses`, `pii_phones`) are recorded, and the stage's counters in stats.json hold the totals.

Precision comes first: a false hit destroys text a model should see (versions, dates, prices, ids),
a miss leaves a number that was public on the page anyway.
- Emails: `local@domain.tld`; image names such as `logo@2x.png` are not emails.
- IP addresses: dotted quads with every octet <= 255 (no leading zeros), and IPv6, checked by
  `ipaddress`; private, loopback, link-local, documentation and other reserved ranges are left
  alone (IPv6 only inside global unicast 2000::/3). A dotted quad after `version`/`v`/`build`,
  or inside a longer dotted sequence (`10.0.19041.1`), is a version number.
- Phones: a run of digits and separators that is exactly one of the shapes people write (a bare
  run of digits is an id, a run of several numbers is a list): international `+CC ...` or
  `00CC ...`; `(area) local`; North American `555-123-4567`/`555.123.4567`; national numbers with a
  trunk `0` and at least 9 digits (`020 7946 0958`, `0171/1234567`, `01 23 45 67 89`). After
  `tel`, `phone`, `fax`, `mobile`... any run of 7-15 digits counts. A run that reads as a date,
  follows `ISBN`/`ISSN`/`DOI`, or touches a currency sign is never a phone.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from ..document import Document
from ..options import option
from .base import Signal, Stage, StageOptions, Verdict

PiiType = Literal["email", "ip_address", "phone"]
PLACEHOLDERS: dict[str, str] = {"email": "<EMAIL>", "ip_address": "<IP_ADDRESS>", "phone": "<PHONE>"}
COUNT_SIGNALS: dict[str, str] = {"email": "pii_emails", "ip_address": "pii_ip_addresses", "phone": "pii_phones"}
CONTEXT_CHARS = 20  # how far before a match its context (a keyword, a currency sign) is looked for

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+'-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?P<tld>[A-Za-z]{2,24})(?![\w-])"
)
FILE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "pdf", "js", "css"}

# One scan finds every run of digits and separators; IPv4 addresses and phones are told apart inside it.
# It is `(?<![\w.,+/-])[+(]?\d[\d ()./-]{5,30}\d(?![\w]|[.,]\d|-\d)` with its first character
# matched first (then the look back past it), so that `re` skips to candidates: twice as fast.
_NUMBER_RUN = re.compile(r"[+(\d](?<![\w.,+/-].)(?:(?<=[+(])\d|(?<=\d))[\d ()./-]{5,30}\d(?![\w]|[.,]\d|-\d)")
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d]|\.\d)")
_VERSION_BEFORE = re.compile(r"(?:\bversions?|\bver|\brelease|\bbuild|\bv)[\s.:=]*$", re.IGNORECASE)
_IPV6 = re.compile(r"(?<![\w:.])[23][0-9A-Fa-f]{0,3}:(?:[0-9A-Fa-f]{0,4}:){1,6}[0-9A-Fa-f]{0,4}(?![\w:]|\.\d)")
# Part of every _IPV6 match: found far faster (it starts at colons, _IPV6 at every 2 and 3).
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

_SEP = r"[ .\-/]"
_PHONE_SHAPES = re.compile(
    "|".join(
        [
            rf"\+[1-9]\d{{0,2}}(?:{_SEP}?\(0\))?(?:{_SEP}?(?:\(\d{{1,5}}\)|\d{{1,6}})){{1,7}}",  # +CC ...
            rf"00[1-9]\d{{0,2}}(?:{_SEP}\d{{1,6}}){{2,6}}",  # 00CC ... (separated, or it is an id)
            rf"\(\d{{2,5}}\) ?\d{{2,8}}(?:{_SEP}\d{{2,5}}){{0,3}}",  # (area) local
            r"(?:1([.-]))?\d{3}([.-])\d{3}\2\d{4}",  # North American, one kind of separator
            rf"0\d{{1,4}}(?:{_SEP}\d{{2,8}}){{1,4}}",  # national, trunk prefix 0
        ]
    )
)
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15
MIN_UNLABELLED_DIGITS = 9  # without `tel:` or `+`, shorter numbers are too often something else
_PHONE_KEYWORD_BEFORE = re.compile(
    r"(?:\b(?:tel|tél|telefon|telephone|téléphone|teléfono|phone|ph|fax|mobile|mob|cell|call|handy)\.?|☎|📞)"
    r"\s*(?:\([^)]{1,12}\))?\s*[:.]?\s*$",
    re.IGNORECASE,
)
_DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\d{4}[./-]\d{1,2}[./-]\d{1,2}\b")
_ISSN = re.compile(r"\d{4}-\d{3}[\dX]")
_NOT_A_PHONE_BEFORE = re.compile(r"(?:isbn|issn|doi|arxiv|[$€£¥₹])[\s:-]*$", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(r"\s?(?:[$€£¥₹%]|eur\b|usd\b)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class PiiOptions(StageOptions):
    types: list[PiiType] | None = option(None, "which kinds to replace (email, ip_address, phone); null: all")


class Pii(Stage):
    name = "pii"
    signals = {
        "pii_count": Signal(pa.int32(), bins=(1, 1000, 30), log=True),
        **{signal: Signal(pa.int32()) for signal in COUNT_SIGNALS.values()},
    }

    Options = PiiOptions
    options: PiiOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.types = set(PLACEHOLDERS) if self.options.types is None else set(self.options.types)

    def output_signals(self) -> dict[str, Signal]:
        return dict(self.signals)  # never removes, so annotate mode has no reason column

    def process(self, docs: list[Document]) -> list[Verdict]:
        for doc in docs:
            text, counts = redact(doc.text, self.types)
            if self.mode == "filter":
                doc.text = text
            for pii_type, signal in COUNT_SIGNALS.items():
                doc.signals[signal] = counts[pii_type]
                self.tally[signal] += counts[pii_type]
            doc.signals["pii_count"] = sum(counts.values())
        return [None] * len(docs)


def redact(text: str, types: set[str]) -> tuple[str, dict[str, int]]:
    """The text with PII of `types` replaced by placeholders, and how many of each type were found.

    Emails go first, so the digits of `jane.555@example.com` are not read as a phone."""
    counts = dict.fromkeys(PLACEHOLDERS, 0)
    if "email" in types and "@" in text:
        text = _EMAIL.sub(lambda m: _replace(m, "email", counts, m["tld"].lower() not in FILE_EXTENSIONS), text)
    # "::" is itself a hint; without it, an address has 7 colons, and somewhere a hint
    if "ip_address" in types and ("::" in text or (text.count(":") >= 7 and _IPV6_HINT.search(text))):
        text = _IPV6.sub(lambda m: _replace(m, "ip_address", counts, _is_public_ipv6(m[0])), text)
    if types & {"ip_address", "phone"}:
        text = _NUMBER_RUN.sub(lambda m: _redact_number_run(m, types, counts), text)
    return text, counts


def _replace(match: re.Match, pii_type: str, counts: dict[str, int], accept: bool) -> str:
    if not accept:
        return match[0]
    counts[pii_type] += 1
    return PLACEHOLDERS[pii_type]


def _redact_number_run(run: re.Match, types: set[str], counts: dict[str, int]) -> str:
    """A run holding dotted quads is about addresses (or versions), never a phone; else maybe a phone."""
    before = run.string[max(0, run.start() - CONTEXT_CHARS) : run.start()]
    if _IPV4.search(run[0]):
        if "ip_address" not in types:
            return run[0]
        return _IPV4.sub(
            lambda m: _replace(m, "ip_address", counts, _is_public_ipv4(m[0], before + run[0][: m.start()])), run[0]
        )
    return _replace(run, "phone", counts, "phone" in types and _is_phone(run, before))


def _is_public_ipv4(candidate: str, before: str) -> bool:
    octets = candidate.split(".")
    if any(len(octet) > 1 and octet.startswith("0") for octet in octets) or any(int(o) > 255 for o in octets):
        return False  # leading zeros: a code or a version, not how addresses are written
    address = ipaddress.IPv4Address(candidate)
    return address.is_global and not address.is_multicast and not _VERSION_BEFORE.search(before)


def _is_public_ipv6(candidate: str) -> bool:
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return address in _GLOBAL_UNICAST and address.is_global


def _is_phone(run: re.Match, before: str) -> bool:
    candidate = run[0]
    digits = sum(map(str.isdigit, candidate))
    if not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS + (2 if candidate.startswith("00") else 0):
        return False
    if _DATE.match(candidate) or _ISSN.fullmatch(candidate) or _NOT_A_PHONE_BEFORE.search(before):
        return False
    if _CURRENCY_AFTER.match(run.string, run.end()):
        return False
    if _PHONE_KEYWORD_BEFORE.search(before):
        return True
    return bool(_PHONE_SHAPES.fullmatch(candidate)) and (candidate.startswith("+") or digits >= MIN_UNLABELLED_DIGITS)
