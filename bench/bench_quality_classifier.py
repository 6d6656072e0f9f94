"""quality_classifier against human judgement: line-quality-turku pages, scored by the share of their
lines people judged good, beside trivial baselines measured on the same pages.

Per page: the shipped model's P(hq); document length; mean line length; and whether the Gopher,
C4 and FineWeb heuristic stages (annotate mode, defaults) would keep the page. Figures: Spearman
correlation with the good-line share, and ROC-AUC for "most lines good" (share > 0.5). English pages
(the model is English) and, for reference, all pages. Also the share of held-out raw English web
pages that the default threshold keeps, and the throughput of the stage.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from curate import classifier
from curate.document import Document
from curate.models import QUALITY_MODEL
from curate.stages import stage_class
from curate.stages.quality_classifier import QualityClassifier
from curate.stats import StageStats

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HEURISTICS = ("gopher_quality", "c4_quality", "fineweb_quality")


def kept_by(name: str, texts: list[str]) -> np.ndarray:
    stage = stage_class(name)(mode="annotate")
    stage.ensure_setup()
    docs = [Document(id=str(i), text=text, signals={"language": "en"}) for i, text in enumerate(texts)]
    kept, _ = stage(docs, StageStats(name=name))
    return np.array([doc.signals.get(f"{name}_reason") is None for doc in kept], dtype=float)


def measure(pages: list[dict], label: str) -> None:
    texts = [page["text"] for page in pages]
    share = np.array([np.mean([value == "1" for value in page["line_labels"]]) for page in pages])
    mostly_good = share > 0.5
    model = classifier.load_model(QUALITY_MODEL, "hq")
    scores = {
        "quality_classifier (shipped)": classifier.score_texts(model, texts, "hq").astype(float),
        "length (characters)": np.array([len(text) for text in texts], dtype=float),
        "mean line length": np.array([np.mean([len(line) for line in page["lines"]]) for page in pages]),
        **{f"{name} keeps": kept_by(name, texts) for name in HEURISTICS},
    }
    print(f"{label}: {len(pages)} pages, {int(mostly_good.sum())} with most lines good")
    for name, values in scores.items():
        rho = spearmanr(values, share).correlation
        print(f"  {name:30s} spearman {rho:+.3f}  roc_auc {classifier.roc_auc(values, mostly_good):.3f}")


def main() -> None:
    with gzip.open(DATA / "line-quality-turku" / "docs.jsonl.gz", "rt", encoding="utf-8") as handle:
        pages = [json.loads(line) for line in handle]
    measure([page for page in pages if page["lang"] == "en"], "line-quality-turku, English")
    measure(pages, "line-quality-turku, all languages (the model is English: reference only)")
    with gzip.open(DATA / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as handle:
        web = [r["text"] for r in map(json.loads, handle) if r["lang"] == "en" and classifier.id_split(r["id"]) == "held_out"]
    stage = QualityClassifier()
    stage.ensure_setup()
    docs = [Document(id=str(i), text=text) for i, text in enumerate(web)]
    started = time.perf_counter()
    kept, _ = stage(docs, StageStats(name=stage.name))
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    stage.model.predict([" ".join(text.split()) for text in web], k=-1)  # the bare library on one-line text
    bare = time.perf_counter() - started
    print(f"default threshold 0.5 keeps {len(kept) / len(web):.1%} of {len(web)} held-out English register pages")
    print(f"stage {len(web) / seconds:,.0f} docs/s ({sum(len(t) for t in web) / seconds / 1e6:.1f} MB/s); bare "
          f"fastText predict {len(web) / bare:,.0f} docs/s: the stage takes {seconds / bare:.1f}x (text preparation)")


if __name__ == "__main__":
    main()
