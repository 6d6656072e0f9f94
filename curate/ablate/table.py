"""The ablation's figures: per variant, the mean and sd over seeds and the paired differences to each baseline
(`summarize`), and the table of them as text cells, for the terminal, the report and the README alike."""

from __future__ import annotations

import statistics
from typing import Any

from rich.console import Console
from rich.table import Table

MAX_EPOCHS = 2.0  # beyond this many passes over its data a variant's score also measures repetition


def summarize(runs: list[dict[str, Any]], baselines: list[str]) -> list[dict[str, Any]]:
    """Per variant: mean and standard deviation over seeds of bits per byte (macro and per domain) and loss,
    and per baseline the paired difference (same seed) as mean and standard deviation. `spread` is the larger
    of the two variants' standard deviations, and `beyond_2x_spread` whether the mean difference exceeds twice
    it (the issue's test)."""
    by_variant: dict[str, dict[int, dict[str, Any]]] = {}
    for run in runs:
        by_variant.setdefault(run["variant"], {})[run["seed"]] = run
    rows = []
    for name, by_seed in by_variant.items():
        items = list(by_seed.values())
        first = items[0]
        row = {
            "variant": name, "seeds": len(items), "docs": first["docs"], "tokens": first["tokens"],
            "epochs": first["epochs"], "repeats": first["epochs"] > MAX_EPOCHS,
            **_mean_sd("val_bpb", [r["val_bpb"] for r in items]), **_mean_sd("val_loss", [r["val_loss"] for r in items]),
            "domains": {d: _mean_sd("val_bpb", [r["domains"][d]["val_bpb"] for r in items]) for d in first["domains"]},
            "tokens_per_s": statistics.fmean(r["tokens_per_s"] for r in items), "vs": {},
        }
        for baseline in baselines:
            if baseline == name or baseline not in by_variant:
                continue
            other = by_variant[baseline]
            seeds = sorted(set(by_seed) & set(other))
            if not seeds:
                continue
            diff = _mean_sd("diff", [by_seed[s]["val_bpb"] - other[s]["val_bpb"] for s in seeds])
            spread = max(_sd([by_seed[s]["val_bpb"] for s in seeds]), _sd([other[s]["val_bpb"] for s in seeds]))
            row["vs"][baseline] = {
                "val_bpb": diff["diff"], "sd": diff["diff_sd"], "seeds": len(seeds), "spread": spread,
                "beyond_2x_spread": len(seeds) > 1 and abs(diff["diff"]) > 2 * spread,  # one seed shows no spread
                "domains": {d: _mean_sd("diff", [by_seed[s]["domains"][d]["val_bpb"] - other[s]["domains"][d]["val_bpb"]
                                                 for s in seeds]) for d in first["domains"]},
            }
        rows.append(row)
    return rows


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _mean_sd(key: str, values: list[float]) -> dict[str, float]:
    return {key: statistics.fmean(values), f"{key}_sd": _sd(values)}


TABLE_TITLE = ("bits per byte on each held-out domain and their macro mean, mean ± sd over seeds; vs: paired "
               "difference (same seed) as mean ± sd, * where beyond twice the larger of the two variants' seed sd")


def ablation_table(ablation: dict[str, Any]) -> dict[str, Any]:
    """The ablation table as text cells, for the terminal, the report and the README alike: per variant, bits per
    byte per domain and macro, and the paired difference to each baseline."""
    domains = [d["name"] for d in ablation["eval"]["domains"]]
    baselines = ablation.get("baselines", [])
    header = ["variant", "docs", "tokens", "epochs", *domains, "bpb (macro)", *(f"vs {b}" for b in baselines)]
    rows = []
    for row in ablation["summary"]:
        cells = [row["variant"], f"{row['docs']:,}", f"{row['tokens']:,}",
                 f"{row['epochs']:.2f}" + (" (>2: repeats)" if row["repeats"] else "")]
        cells += [f"{row['domains'][d]['val_bpb']:.3f} ± {row['domains'][d]['val_bpb_sd']:.3f}" for d in domains]
        cells.append(f"{row['val_bpb']:.3f} ± {row['val_bpb_sd']:.3f}")
        for baseline in baselines:
            paired = row["vs"].get(baseline)
            cells.append("-" if paired is None else
                         f"{paired['val_bpb']:+.3f} ± {paired['sd']:.3f}{' *' if paired['beyond_2x_spread'] else ''}")
        rows.append(cells)
    return {"title": TABLE_TITLE, "header": header, "rows": rows}


def print_ablation(ablation: dict[str, Any], console: Console) -> None:
    table = Table(title=f"ablation: {ablation['table']['title']}", title_justify="left")
    for column in ablation["table"]["header"]:
        table.add_column(column, justify="left" if column == "variant" else "right")
    for cells in ablation["table"]["rows"]:
        table.add_row(*cells)
    console.print(table)
    overlap = ", ".join(f"{d['name']} {d['overlap_before']:.3%}" for d in ablation["eval"]["domains"])
    console.print(f"eval 13-gram overlap with the pool before decontamination: {overlap}; after, per variant: "
                  + "; ".join(f"{name} {max(v['eval_overlap'].values(), default=0):.3%}" for name, v in ablation["variants"].items()))
