"""A quick look at the first records before any task starts, so a config mistake is one line and exit 2,
not a run that ends in "wrote 0": an empty input, a file that does not parse as its format, or a text
field that no record has (with the field to use instead). Partial damage is the readers' to count."""

from __future__ import annotations

from collections import Counter
from itertools import islice

from ..errors import CurateError
from .base import InputOptions, InputShard, Skipped
from .readers import read_shard

RECORDS_PER_SHARD = 20
SHARDS_LOOKED_AT = 16  # spread over the input: a broken file among good ones is partial damage, not a mistake
PARSE_FAILURES = {
    "invalid_json", "not_an_object", "line_too_long", "truncated_or_corrupt_file", "unreadable_file", "corrupt_data",
    "unreadable_dataset", "not_a_warc_file", "not_an_arc_file",
}
MISSING_TEXT = {"missing_text", "missing_text_column", "text_not_a_string"}


def check_inputs(shards: list[InputShard], options: InputOptions) -> None:
    """Raise `CurateError` naming the likely fix if the first records show the input cannot give documents."""
    step = max(len(shards) / SHARDS_LOOKED_AT, 1)
    looked = list(dict.fromkeys(shards[int(i * step)] for i in range(min(len(shards), SHARDS_LOOKED_AT))))
    skipped: list[Skipped] = []
    for shard in looked:
        for item in islice(read_shard(shard, options), RECORDS_PER_SHARD):
            if not isinstance(item, Skipped):
                return
            skipped.append(item)
    where = _paths(looked)
    if not skipped:
        if len(looked) == len(shards):
            raise CurateError(f"input is empty: no records in {where}; check input.paths or --input")
        return
    reasons = Counter(s.reason.split(":", 1)[1] for s in skipped)
    kind = "/".join(dict.fromkeys(s.format for s in looked))
    if set(reasons) <= MISSING_TEXT:
        raise CurateError(missing_text_message(skipped, options, where))
    if set(reasons) <= PARSE_FAILURES:
        raise CurateError(
            f"{where} does not parse as {kind} (the first records: {_counts(skipped)}); "
            f"check the file, or set input.format to its real format"
        )


def missing_text_message(skipped: list[Skipped], options: InputOptions, where: str) -> str:
    """The text field missing from every record looked at, and the field most likely meant instead."""
    seen: dict[str, list[int]] = {}
    markup: Counter[str] = Counter()
    for item in skipped:
        for field in item.fields:
            seen.setdefault(field.name, []).append(field.chars)
            markup[field.name] += field.markup
    wanted = f"a string field {options.text_field!r}" + (f" or {options.html_field!r}" if options.html_field else "")
    message = f"no record among the first {len(skipped)} looked at in {where} has {wanted}"
    if not seen:
        return message + "; set --text-field (input.text_field) to the field holding the text"
    message += f"; their fields: {', '.join(sorted(seen))}"
    longest = max(seen, key=lambda name: sum(seen[name]) / len(seen[name]))
    if markup[longest] > len(seen[longest]) / 2 and options.html_field is None:
        return message + f"; it looks like HTML: set input.html_field: {longest} (and keep the extract stage)"
    return message + f"; use --text-field {longest} (input.text_field: {longest})"


def no_documents_message(skipped: Counter[str], paths: list[str]) -> str:
    """For a run that read no document at all, whatever the first records looked like."""
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in skipped.most_common(4)) or "no records at all"
    return f"read 0 documents from {', '.join(paths)} (skipped: {reasons}); check --text-field, input.format and the paths"


def _paths(shards: list[InputShard]) -> str:
    names = list(dict.fromkeys(s.path for s in shards))
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _counts(skipped: list[Skipped]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in Counter(s.reason for s in skipped).most_common(3))
