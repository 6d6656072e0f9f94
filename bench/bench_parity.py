"""curate's heuristics beside datatrove 0.10.1's, rule by rule, on the same real pages.

Pages: `CURATE_PARITY_PAGES` (default all 697) Common Crawl texts of `cc-text-jsonl-dolma` (the
CC-MAIN file) and as many human-cleaned articles of `html-cleaning-gold` (every fourth; tags `<p>`,
`<h>`, `<l>` removed), all with their real line breaks. datatrove's side takes about 35 CPU minutes
at the default (spaCy tokenizes every page in 22 of the 31 runs). Each rule runs alone on both sides (every other rule of its filter switched off),
and then each whole filter with its defaults. A page agrees when both keep it or both remove it;
for C4, whose line rules rewrite the text, when both keep the same lines (a removed page keeps none).
datatrove uses its default English word tokenizer (spaCy) and runs in its own venv
(`bench_filters.datatrove_python`); the fixtures of its own tests are checked too
(tests/fixtures/datatrove_filter_cases.json). Where they disagree, the stages' docstring tables say
whose definition follows the paper.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

from bench.bench_filters import WORK, DatatroveUnavailable, datatrove_python
from curate.document import Document
from curate.stages import stage_class

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
FIXTURES = REPO / "tests" / "fixtures" / "datatrove_filter_cases.json"
GOLD_TAG = re.compile(r"<[phl]>")

OFF_GOPHER = {k: None for k in ("min_doc_words", "max_doc_words", "min_avg_word_length", "max_avg_word_length",
                                "max_symbol_word_ratio", "max_bullet_lines_ratio", "max_ellipsis_lines_ratio",
                                "max_non_alpha_words_ratio", "min_stop_words")}  # fmt: skip
OFF_CURATE_GOPHER = {k: None for k in ("min_words", "max_words", "min_mean_word_length", "max_mean_word_length",
                                       "max_symbol_word_ratio", "max_bullet_lines", "max_ellipsis_lines",
                                       "min_alpha_words", "min_stop_words")}  # fmt: skip
OFF_REPETITION = {"dup_line_frac": None, "dup_para_frac": None, "dup_line_char_frac": None,
                  "dup_para_char_frac": None, "top_n_grams": [], "dup_n_grams": []}  # fmt: skip
OFF_CURATE_REPETITION = {"max_dup_paragraphs": None, "max_dup_paragraph_chars": None, "max_dup_lines": None,
                         "max_dup_line_chars": None, "max_top_ngram_chars": {}, "max_dup_ngram_chars": {}}  # fmt: skip
OFF_C4 = {"filter_no_terminal_punct": False, "min_num_sentences": -1, "min_words_per_line": -1,
          "max_word_length": -1, "filter_lorem_ipsum": False, "filter_javascript": False,
          "filter_curly_bracket": False, "filter_policy": False}  # fmt: skip
OFF_CURATE_C4 = {"require_terminal_punctuation": False, "min_sentences": None, "min_words_per_line": None,
                 "max_word_length": None, "remove_lorem_ipsum": False, "drop_javascript_lines": False,
                 "remove_curly_brackets": False, "drop_policy_lines": False}  # fmt: skip
OFF_FINEWEB = {"line_punct_thr": -1.0, "short_line_thr": 2.0, "char_duplicates_ratio": 2.0, "new_line_ratio": 1e9}
OFF_CURATE_FINEWEB = {"min_line_punct_ratio": None, "max_short_line_ratio": None, "max_dup_line_chars": None,
                      "max_newline_ratio": None}  # fmt: skip
FINEWEB_STOP_CHARS = [".", "'", '"', "!", "?"]  # the stop_chars FineWeb was made with

# (label, datatrove filter, its options, curate stage, its options)
RUNS: list[tuple[str, str, dict, str, dict]] = [
    ("word_count", "GopherQualityFilter", {**OFF_GOPHER, "min_doc_words": 50, "max_doc_words": 100_000},
     "gopher_quality", {**OFF_CURATE_GOPHER, "min_words": 50, "max_words": 100_000}),
    ("mean_word_length", "GopherQualityFilter", {**OFF_GOPHER, "min_avg_word_length": 3, "max_avg_word_length": 10},
     "gopher_quality", {**OFF_CURATE_GOPHER, "min_mean_word_length": 3, "max_mean_word_length": 10}),
    ("symbol_word_ratio", "GopherQualityFilter", {**OFF_GOPHER, "max_symbol_word_ratio": 0.1},
     "gopher_quality", {**OFF_CURATE_GOPHER, "max_symbol_word_ratio": 0.1}),
    ("bullet_lines", "GopherQualityFilter", {**OFF_GOPHER, "max_bullet_lines_ratio": 0.9},
     "gopher_quality", {**OFF_CURATE_GOPHER, "max_bullet_lines": 0.9}),
    ("ellipsis_lines", "GopherQualityFilter", {**OFF_GOPHER, "max_ellipsis_lines_ratio": 0.3},
     "gopher_quality", {**OFF_CURATE_GOPHER, "max_ellipsis_lines": 0.3}),
    ("alpha_words", "GopherQualityFilter", {**OFF_GOPHER, "max_non_alpha_words_ratio": 0.8},
     "gopher_quality", {**OFF_CURATE_GOPHER, "min_alpha_words": 0.8}),
    ("stop_words", "GopherQualityFilter", {**OFF_GOPHER, "min_stop_words": 2},
     "gopher_quality", {**OFF_CURATE_GOPHER, "min_stop_words": 2}),
    ("gopher_quality (all)", "GopherQualityFilter", {}, "gopher_quality", {}),
    ("dup_paragraphs", "GopherRepetitionFilter", {**OFF_REPETITION, "dup_para_frac": 0.3},
     "gopher_repetition", {**OFF_CURATE_REPETITION, "max_dup_paragraphs": 0.3}),
    ("dup_paragraph_chars", "GopherRepetitionFilter", {**OFF_REPETITION, "dup_para_char_frac": 0.2},
     "gopher_repetition", {**OFF_CURATE_REPETITION, "max_dup_paragraph_chars": 0.2}),
    ("dup_lines", "GopherRepetitionFilter", {**OFF_REPETITION, "dup_line_frac": 0.3},
     "gopher_repetition", {**OFF_CURATE_REPETITION, "max_dup_lines": 0.3}),
    ("dup_line_chars", "GopherRepetitionFilter", {**OFF_REPETITION, "dup_line_char_frac": 0.2},
     "gopher_repetition", {**OFF_CURATE_REPETITION, "max_dup_line_chars": 0.2}),
    ("top_2..4gram", "GopherRepetitionFilter", {**OFF_REPETITION, "top_n_grams": [[2, 0.2], [3, 0.18], [4, 0.16]]},
     "gopher_repetition", {**OFF_CURATE_REPETITION, "max_top_ngram_chars": None}),
    ("dup_5..10gram", "GopherRepetitionFilter",
     {**OFF_REPETITION, "dup_n_grams": [[5, 0.15], [6, 0.14], [7, 0.13], [8, 0.12], [9, 0.11], [10, 0.1]]},
     "gopher_repetition", {**OFF_CURATE_REPETITION, "max_dup_ngram_chars": None}),
    ("gopher_repetition (all)", "GopherRepetitionFilter", {}, "gopher_repetition", {}),
    ("long_word", "C4QualityFilter", {**OFF_C4, "max_word_length": 1000},
     "c4_quality", {**OFF_CURATE_C4, "max_word_length": 1000}),
    ("no_terminal_punctuation", "C4QualityFilter", {**OFF_C4, "filter_no_terminal_punct": True},
     "c4_quality", {**OFF_CURATE_C4, "require_terminal_punctuation": True}),
    ("too_few_words", "C4QualityFilter", {**OFF_C4, "min_words_per_line": 3},
     "c4_quality", {**OFF_CURATE_C4, "min_words_per_line": 3}),
    ("too_few_sentences", "C4QualityFilter", {**OFF_C4, "min_num_sentences": 5},
     "c4_quality", {**OFF_CURATE_C4, "min_sentences": 5}),
    ("lorem_ipsum", "C4QualityFilter", {**OFF_C4, "filter_lorem_ipsum": True},
     "c4_quality", {**OFF_CURATE_C4, "remove_lorem_ipsum": True}),
    ("javascript", "C4QualityFilter", {**OFF_C4, "filter_javascript": True},
     "c4_quality", {**OFF_CURATE_C4, "drop_javascript_lines": True}),
    ("curly_bracket", "C4QualityFilter", {**OFF_C4, "filter_curly_bracket": True},
     "c4_quality", {**OFF_CURATE_C4, "remove_curly_brackets": True}),
    ("policy", "C4QualityFilter", {**OFF_C4, "filter_policy": True},
     "c4_quality", {**OFF_CURATE_C4, "drop_policy_lines": True}),
    ("c4_quality (all)", "C4QualityFilter", {}, "c4_quality", {}),
    ("c4_quality (web.yaml)", "C4QualityFilter", {"filter_no_terminal_punct": False},
     "c4_quality", {"require_terminal_punctuation": False}),
    ("line_punct_ratio", "FineWebQualityFilter", {**OFF_FINEWEB, "line_punct_thr": 0.12},
     "fineweb_quality", {**OFF_CURATE_FINEWEB, "min_line_punct_ratio": 0.12}),
    ("line_punct_ratio, FineWeb's line ends", "FineWebQualityFilter",
     {**OFF_FINEWEB, "line_punct_thr": 0.12, "stop_chars": FINEWEB_STOP_CHARS},
     "fineweb_quality", {**OFF_CURATE_FINEWEB, "min_line_punct_ratio": 0.12}),
    ("short_line_ratio", "FineWebQualityFilter", {**OFF_FINEWEB, "short_line_thr": 0.67},
     "fineweb_quality", {**OFF_CURATE_FINEWEB, "max_short_line_ratio": 0.67}),
    ("dup_line_chars", "FineWebQualityFilter", {**OFF_FINEWEB, "char_duplicates_ratio": 0.01},
     "fineweb_quality", {**OFF_CURATE_FINEWEB, "max_dup_line_chars": 0.01}),
    ("newline_ratio", "FineWebQualityFilter", {**OFF_FINEWEB, "new_line_ratio": 0.3},
     "fineweb_quality", {**OFF_CURATE_FINEWEB, "max_newline_ratio": 0.3}),
    ("fineweb_quality (all)", "FineWebQualityFilter", {}, "fineweb_quality", {}),
]


def real_pages(per_source: int) -> list[tuple[str, str]]:
    """(source, text) of the first `per_source` Common Crawl texts and as many human-cleaned
    articles (every fourth)."""
    pages = []
    path = SHARED_DATA / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        pages += [("cc", json.loads(line)["text"]) for line, _ in zip(f, range(per_source))]
    with gzip.open(SHARED_DATA / "html-cleaning-gold" / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            gold = json.loads(line).get("gold_text") if i % 4 == 0 else None
            if gold and gold.strip():
                pages.append(("gold", html.unescape(GOLD_TAG.sub("", gold)).strip()))
            if len(pages) == 2 * per_source:
                break
    return pages


def outcomes(stage_name: str, options: dict, texts: list[str]) -> list[object]:
    """Per text: True (kept), a reason, or for C4 the kept non-empty lines."""
    docs = [Document(id=str(i), text=text) for i, text in enumerate(texts)]
    verdicts = stage_class(stage_name)(**options).process(docs)
    if stage_name == "c4_quality":
        return [[] if v is not None else [ln for ln in d.text.split("\n") if ln.strip()] for d, v in zip(docs, verdicts)]
    return [True if v is None else v for v in verdicts]


def main() -> None:
    pages = real_pages(int(os.environ.get("CURATE_PARITY_PAGES", 700)))
    try:
        python = datatrove_python()
    except DatatroveUnavailable as exc:
        print(f"datatrove could not run: {exc}")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "parity-pages.json").write_text(json.dumps([text for _, text in pages]))
    (WORK / "parity-runs.json").write_text(json.dumps([(run[1], run[2]) for run in RUNS]))
    script = WORK / "datatrove_parity.py"
    script.write_text(DATATROVE_SCRIPT)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(WORK / "hf-home")}
    result = subprocess.run(
        [str(python), str(script), str(WORK / "parity-pages.json"), str(WORK / "parity-runs.json"), str(FIXTURES)],
        capture_output=True, text=True, env=env, cwd=WORK, timeout=3600,
    )  # fmt: skip
    if result.returncode != 0:
        print(f"datatrove's run failed: {result.stderr.strip()[-800:]}")
        return
    theirs = json.loads(result.stdout.strip().splitlines()[-1])
    cases = json.loads(FIXTURES.read_text())["cases"]
    same = sum(got == case["datatrove"] for got, case in zip(theirs["fixtures"], cases))
    print(f"datatrove 0.10.1 on its own test cases (fixtures): {same}/{len(cases)} as its tests assert")
    sources = sorted({source for source, _ in pages})
    print(f"{len(pages)} pages ({', '.join(f'{s} {sum(p[0] == s for p in pages)}' for s in sources)})")
    print(f"\n{'rule':40} {'agree':>7} " + " ".join(f"{s:>7}" for s in sources) + f" {'only curate':>12} {'only dt':>8} {'dt error':>8}")
    for (label, _, _, stage_name, options), results in zip(RUNS, theirs["runs"]):
        mine = outcomes(stage_name, options, [text for _, text in pages])
        agree = [_agrees(a, b) for a, b in zip(mine, results)]
        by_source = [sum(a for a, (s, _) in zip(agree, pages) if s == src) / sum(p[0] == src for p in pages) for src in sources]
        only_mine = sum(_removed(a) and not _removed(b) for a, b in zip(mine, results))
        only_theirs = sum(_removed(b) and not _removed(a) for a, b in zip(mine, results))
        errors = sum(isinstance(b, str) and b.startswith("error:") for b in results)
        print(f"{label:40} {sum(agree) / len(agree):7.1%} " + " ".join(f"{x:7.1%}" for x in by_source)
              + f" {only_mine:12d} {only_theirs:8d} {errors:8d}")  # fmt: skip


def _removed(result: object) -> bool:
    return result == [] or isinstance(result, str)


def _agrees(mine: object, theirs: object) -> bool:
    if isinstance(mine, list) or isinstance(theirs, list):
        return mine == theirs
    return _removed(mine) == _removed(theirs)


DATATROVE_SCRIPT = textwrap.dedent(
    '''
    """Written by bench/bench_parity.py: datatrove's side, one result per page and run."""
    import json
    import sys

    from datatrove.data import Document
    from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    FILTERS = {f.__name__: f for f in (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter)}
    pages, runs, fixtures = (json.load(open(p)) for p in sys.argv[1:4])


    def make(name, options):
        if name == "GopherRepetitionFilter":
            options = {k: tuple(map(tuple, v)) if isinstance(v, list) else v for k, v in options.items()}
        if name == "FineWebQualityFilter" and "stop_chars" in options:
            options = {**options, "stop_chars": tuple(options["stop_chars"])}
        return FILTERS[name](**options)


    def verdict(filter_, text):
        """True (kept), its reason, or error:<exception>; and the document, whose text C4 rewrites."""
        doc = Document(text=text, id="0")
        try:
            result = filter_.filter(doc)
        except Exception as exc:
            return "error:" + type(exc).__name__, doc
        return (True if result is True else result[1]), doc


    def outcomes(name, options):
        filter_ = make(name, options)
        for text in pages:
            result, doc = verdict(filter_, text)
            if name == "C4QualityFilter":
                yield [line for line in doc.text.split("\\n") if line.strip()] if result is True else []
            else:
                yield result


    out = {
        "runs": [list(outcomes(name, options)) for name, options in runs],
        "fixtures": [verdict(make(c["filter"], c["datatrove_options"]), c["text"])[0] for c in fixtures["cases"]],
    }
    print(json.dumps(out))
    '''
)


if __name__ == "__main__":
    main()
