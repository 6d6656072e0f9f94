"""`curate ablate`: what curation does to a model. Pipeline variants run on the same input; the same small
GPT trains on each at the same token budget and seeds, with one shared tokenizer, and every run is scored
on one held-out text that no variant trained on.

Equal budgets mean a variant that kept less data repeats it: its epochs are printed and recorded.
The output folder:
  tokenizer/source/           the `train_on` variant's stages without tokenize: the text the BPE learns from
  tokenizer/bpe-<V>-<sha>.tiktoken  the shared vocabulary, named by its content
  eval/<sha>/                 the evaluation text's `val` shards, named by their content
  variants/<name>/            each variant's run (data/, removed/, tokens/, stats.json, report.html with the
                              ablation section) and train/seed<k>/ (the trainer's checkpoint, log, result)
  ablation.json, report.html  all runs; the reference variant's report
Running the same command again resumes: finished pipeline tasks and training runs are not repeated, and
because the tokenizer and eval folders are named by content, a changed one can never be mixed with old runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import statistics
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from .config import PipelineConfig, check_value, parse_config, read_yaml, reject_unknown, validate_options
from .errors import ConfigError, CurateError
from .io.writers import write_json_atomic
from .tokens.bpe import iter_texts, train_to_file
from .tokens.encodings import check_spec, describe, load_encoding
from .tokens.shards import TokenShardWriter, load_shard, read_manifest, shard_paths, write_manifest

TOP_LEVEL_KEYS = {"pipeline", "input", "output", "workers", "threads", "variants", "reference", "tokenizer", "eval", "train"}
VARIANT_KEYS = {"drop", "stages"}
TOKENIZER_KEYS = {"train_on", "vocab_size", "encoding"}
# TrainConfig fields an ablation sets for every run alike; shards, val, out and seed are the ablation's.
TRAIN_KEYS = {"preset", "model", "tokens", "batch_size", "grad_accum", "lr", "min_lr_ratio", "warmup", "weight_decay",
              "grad_clip", "align_to_documents", "evals", "eval_tokens", "log_every", "device", "compile"}
OVERLAP_NGRAM = 13  # GPT-3's contamination check: an evaluation 13-gram found in the training tokens
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Variant:
    name: str
    stages: list[tuple[str, dict[str, Any]]]  # the curation stages; the shared tokenize stage is appended


@dataclass
class AblationConfig:
    base: PipelineConfig  # input, batch size and stages every variant starts from (tokenize taken out)
    tokenize_options: dict[str, Any]  # the base's tokenize options; encoding and val_fraction are the ablation's
    variants: list[Variant]
    reference: str  # the variant others are compared with; its text trains the tokenizer by default
    eval_paths: list[str]  # held-out text: .txt files (one document each), Parquet files or run folders
    eval_tokens_per_document: int | None  # cut each evaluation document to its first N tokens (books weigh alike)
    train: dict[str, Any]  # TrainConfig settings shared by every run
    seeds: list[int]
    encoding: str | None = None  # a named encoding or .tiktoken path instead of training one
    train_on: str | None = None  # the variant whose kept text trains the tokenizer
    vocab_size: int = 8192
    output: str | None = None
    workers: int = 1
    threads: int | None = None  # torch threads for training; None keeps torch's default (one per core)
    source_file: str | None = None

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)


# --- configuration ---------------------------------------------------------------------------------------


def load_ablation(path: str | Path) -> AblationConfig:
    raw = read_yaml(Path(path), "ablation")
    config = parse_ablation(raw)
    config.source_file = str(path)
    return config


def parse_ablation(raw: Any) -> AblationConfig:
    """Validate an ablation mapping. Relative paths are taken from the working directory, as in pipelines."""
    if not isinstance(raw, dict):
        raise ConfigError("ablation: expected a mapping with 'pipeline', 'variants', 'eval' and 'train'")
    reject_unknown(raw, TOP_LEVEL_KEYS, "ablation")
    for key in ("pipeline", "variants", "eval", "train"):
        if key not in raw:
            raise ConfigError(f"ablation: missing {key!r}")
    base, tokenize_options = _parse_base(raw["pipeline"], raw.get("input"))
    variants = _parse_variants(raw["variants"], base.stages)
    names = [v.name for v in variants]
    reference = check_value("reference", raw.get("reference", "curated" if "curated" in names else names[0]), str)
    if reference not in names:
        raise ConfigError(f"reference: {reference!r} is not a variant ({', '.join(names)})")
    train, seeds = _parse_train(raw["train"])
    eval_paths, tokens_per_document = _parse_eval(raw["eval"])
    config = AblationConfig(
        base=base, tokenize_options=tokenize_options, variants=variants, reference=reference,
        eval_paths=eval_paths, eval_tokens_per_document=tokens_per_document, train=train, seeds=seeds,
        output=check_value("output", raw.get("output"), str | None), workers=check_value("workers", raw.get("workers", 1), int),
        threads=check_value("threads", raw.get("threads"), int | None),
    )
    _parse_tokenizer(raw.get("tokenizer") or {}, config)
    return config


def _parse_base(raw: Any, input_override: Any) -> tuple[PipelineConfig, dict[str, Any]]:
    """`pipeline:` is a pipeline YAML's path or an inline mapping; `input:` beside it replaces its input."""
    if isinstance(raw, str):
        raw = read_yaml(Path(raw), "pipeline")
    if not isinstance(raw, dict):
        raise ConfigError("pipeline: expected a pipeline YAML's path or a mapping with 'stages'")
    raw = {k: v for k, v in raw.items() if k != "output"}  # each variant writes into the ablation's folder
    if input_override is not None:
        raw["input"] = input_override
    if not raw.get("input"):
        raise ConfigError("ablation: no input; give 'input' beside 'pipeline' or in the pipeline")
    try:
        base = parse_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"pipeline: {exc}") from None
    tokenize = [options for name, options in base.stages if name == "tokenize"]
    base.stages = [(name, options) for name, options in base.stages if name != "tokenize"]
    options = {k: v for k, v in (tokenize[0] if tokenize else {}).items() if k not in ("encoding", "val_fraction")}
    return base, options


def _parse_variants(raw: Any, base_stages: list[tuple[str, dict[str, Any]]]) -> list[Variant]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("variants: expected a mapping of variant name -> {drop: [...]} or {stages: [...]}")
    base_names = [name for name, _ in base_stages]
    base_options = dict(base_stages)
    variants = []
    for name, spec in raw.items():
        where = f"variants.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}: a variant name is a folder name (letters, digits, _ . -)")
        spec = spec or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected {{drop: [...]}}, {{stages: [...]}} or nothing (the whole pipeline)")
        reject_unknown(spec, VARIANT_KEYS, where)
        if len(spec) > 1:
            raise ConfigError(f"{where}: give either 'drop' or 'stages', not both")
        if "drop" in spec:
            dropped = check_value(f"{where}.drop", spec["drop"], list[str])
            unknown = [d for d in dropped if d not in base_names]
            if unknown:
                raise ConfigError(f"{where}.drop: {unknown[0]!r} is not a stage of the pipeline ({', '.join(base_names)})")
            stages = [(n, o) for n, o in base_stages if n not in dropped]
        elif "stages" in spec:
            stages = [_variant_stage(item, base_options, f"{where}.stages[{i}]") for i, item in enumerate(check_value(
                f"{where}.stages", spec["stages"], list))]
        else:
            stages = list(base_stages)
        if not stages:
            raise ConfigError(f"{where}: no stages left")
        if any(n == "tokenize" for n, _ in stages):
            raise ConfigError(f"{where}: tokenize is the ablation's own last stage; leave it out")
        variants.append(Variant(name, stages))
    return variants


def _variant_stage(item: Any, base_options: dict[str, dict[str, Any]], where: str) -> tuple[str, dict[str, Any]]:
    """A stage name takes the pipeline's options for it (its defaults when the pipeline lacks it); a one-key
    map gives options of its own."""
    if isinstance(item, str):
        validate_options(item, {}, where)
        return item, base_options.get(item, {})
    if isinstance(item, dict) and len(item) == 1:
        (name, options), = item.items()
        options = options or {}
        if not isinstance(options, dict):
            raise ConfigError(f"{where}.{name}: options must be a mapping")
        validate_options(name, options, f"{where}.{name}")
        return name, options
    raise ConfigError(f"{where}: expected a stage name or a one-key map (stage name -> options), got {item!r}")


def _parse_tokenizer(raw: Any, config: AblationConfig) -> None:
    if not isinstance(raw, dict):
        raise ConfigError("tokenizer: expected {train_on: VARIANT, vocab_size: N} or {encoding: NAME}")
    reject_unknown(raw, TOKENIZER_KEYS, "tokenizer")
    if "encoding" in raw:
        if len(raw) > 1:
            raise ConfigError("tokenizer: 'encoding' names a finished tokenizer; it takes no train_on or vocab_size")
        config.encoding = check_value("tokenizer.encoding", raw["encoding"], str)
        try:
            check_spec(config.encoding)
        except CurateError as exc:
            raise ConfigError(f"tokenizer.encoding: {exc}") from None
        return
    config.train_on = check_value("tokenizer.train_on", raw.get("train_on", config.reference), str)
    if config.train_on not in [v.name for v in config.variants]:
        raise ConfigError(f"tokenizer.train_on: {config.train_on!r} is not a variant")
    config.vocab_size = check_value("tokenizer.vocab_size", raw.get("vocab_size", config.vocab_size), int)


def _parse_eval(raw: Any) -> tuple[list[str], int | None]:
    if not isinstance(raw, dict) or "paths" not in raw:
        raise ConfigError("eval: expected {paths: [held-out .txt or Parquet files], tokens_per_document: N}")
    reject_unknown(raw, {"paths", "tokens_per_document"}, "eval")
    paths = [raw["paths"]] if isinstance(raw["paths"], str) else check_value("eval.paths", raw["paths"], list[str])
    if not paths:
        raise ConfigError("eval.paths: give at least one file")
    per_document = check_value("eval.tokens_per_document", raw.get("tokens_per_document"), int | None)
    if per_document is not None and per_document < 1:
        raise ConfigError(f"eval.tokens_per_document: expected at least 1, got {per_document}")
    return paths, per_document


def _parse_train(raw: Any) -> tuple[dict[str, Any], list[int]]:
    from .train.train import TrainConfig

    if not isinstance(raw, dict):
        raise ConfigError("train: expected a mapping (preset, tokens, seeds, ...)")
    reject_unknown(raw, TRAIN_KEYS | {"seeds"}, "train")
    seeds = check_value("train.seeds", raw.get("seeds", [0, 1]), list[int])
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"train.seeds: expected distinct seeds (two or more to measure the spread), got {seeds}")
    hints = typing.get_type_hints(TrainConfig)
    settings = {k: v for k, v in raw.items() if k != "seeds"}
    for key, value in settings.items():
        check_value(f"train.{key}", value, hints[key])
    return settings, seeds


# --- running ----------------------------------------------------------------------------------------------


@dataclass
class VariantData:
    """A variant's finished run: its folder and what its training shards hold."""

    name: str
    folder: Path
    docs: int
    tokens: int
    eval_overlap: float  # share of the evaluation text's 13-grams found in this variant's training tokens


def run_ablation(
    config: AblationConfig,
    output: str | Path,
    workers: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    quiet: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run every variant, train every (variant, seed), write ablation.json and the reports; return ablation.json."""
    root = Path(output)
    _claim(root, overwrite)
    session = _Session(config, root, workers or config.workers, quiet, console or _console())
    encoding = config.encoding or session.train_tokenizer()
    eval_dir = tokenize_eval(config.eval_paths, encoding, root / "eval", config.eval_tokens_per_document)
    eval_tokens = read_manifest(eval_dir)["splits"]["val"]["tokens"]
    session.console.print(f"[bold]eval[/bold]: {eval_tokens:,} tokens of {', '.join(config.eval_paths)} in {eval_dir}")
    variants = [session.run_variant(variant, encoding, eval_dir) for variant in config.variants]
    train_settings = {**config.train, **({"device": device} if device else {})}
    runs = session.train_all(variants, eval_dir, train_settings)
    ablation = {
        "runs": runs,
        "summary": summarize(runs, config.reference),
        "variants": {v.name: {"stages": [n for n, _ in config.variant(v.name).stages], "docs": v.docs, "tokens": v.tokens,
                              "eval_overlap": v.eval_overlap} for v in variants},
        "reference": config.reference,
        "tokenizer": {**describe(encoding), "vocab_size": load_encoding(encoding).n_vocab, "trained_on": config.train_on},
        "eval": {"paths": config.eval_paths, "tokens_per_document": config.eval_tokens_per_document,
                 "tokens": eval_tokens, "folder": str(eval_dir)},
        "train": {**train_settings, "seeds": config.seeds, "threads": config.threads},
    }
    _write_outputs(root, ablation, variants, config.reference)
    print_ablation(ablation, session.console)
    session.console.print(f"ablation: {root / 'ablation.json'}\nreport: {root / 'report.html'}")
    return ablation


@dataclass
class _Session:
    """One ablation's steps, sharing its settings and console."""

    config: AblationConfig
    root: Path
    workers: int
    quiet: bool
    console: Console

    def run_pipeline(self, stages: list[tuple[str, dict[str, Any]]], folder: Path) -> None:
        from .executors import execute
        from .progress import RichProgress

        pipeline = dataclasses.replace(self.config.base, stages=stages, output=None, source_file=self.config.source_file)
        with RichProgress(disabled=self.quiet) as progress:
            outcome = execute(pipeline, str(folder), self.workers, progress=progress)
        problems = outcome.stats.conservation_problems()
        if problems:
            raise CurateError(f"{folder}: conservation failed: {'; '.join(problems)}")
        self.console.print(f"  read {outcome.stats.docs_read:,} documents, kept {outcome.stats.docs_written:,} "
                           f"({outcome.seconds:.1f}s)")

    def train_tokenizer(self) -> str:
        """Run the chosen variant's stages (without tokenize) and train the shared vocabulary on what it kept.
        The file is named by its content, so a changed vocabulary gets a new name, the variants' pipeline
        fingerprints change with it, and shards of an older vocabulary are never resumed."""
        config, folder = self.config, self.root / "tokenizer"
        self.console.print(f"[bold]tokenizer[/bold]: {config.vocab_size:,} ids trained on the kept text of variant {config.train_on}")
        assert config.train_on is not None
        self.run_pipeline(config.variant(config.train_on).stages, folder / "source")
        scratch = folder / "training.tiktoken"
        train_to_file([str(folder / "source")], config.vocab_size, scratch)
        final = folder / f"bpe-{config.vocab_size}-{hashlib.sha256(scratch.read_bytes()).hexdigest()[:12]}.tiktoken"
        scratch.replace(final)
        return str(final.resolve())

    def run_variant(self, variant: Variant, encoding: str, eval_dir: Path) -> VariantData:
        """The variant's stages, then tokenize with the shared encoding into train shards only."""
        self.console.print(f"[bold]variant {variant.name}[/bold]: {' -> '.join(n for n, _ in variant.stages)} -> tokenize")
        folder = self.root / "variants" / variant.name
        tokenize = ("tokenize", {**self.config.tokenize_options, "encoding": encoding, "val_fraction": 0.0})
        self.run_pipeline([*variant.stages, tokenize], folder)
        train_split = read_manifest(folder / "tokens")["splits"]["train"]
        if not train_split["tokens"]:
            raise CurateError(f"variant {variant.name!r} kept no documents; there is nothing to train on")
        overlap = ngram_overlap(shard_paths(folder / "tokens", "train"), shard_paths(eval_dir, "val"))
        return VariantData(variant.name, folder, train_split["docs"], train_split["tokens"], overlap)

    def train_all(self, variants: list[VariantData], eval_dir: Path, settings: dict[str, Any]) -> list[dict[str, Any]]:
        """Every variant at every seed with the same settings; seed-major, so that a half-finished ablation
        already compares every variant."""
        import torch

        from .train.train import TrainConfig

        budget = settings.get("tokens", TrainConfig.tokens)
        for v in variants:
            self.console.print(f"{v.name}: {v.docs:,} docs, {v.tokens:,} training tokens: a {budget:,}-token budget is "
                               f"{budget / v.tokens:.2f} epochs; eval 13-gram overlap {v.eval_overlap:.2%}")
        threads = torch.get_num_threads()
        torch.set_num_threads(self.config.threads or threads)
        try:
            return [self.train_one(v, seed, eval_dir, settings) for seed in self.config.seeds for v in variants]
        finally:
            torch.set_num_threads(threads)

    def train_one(self, v: VariantData, seed: int, eval_dir: Path, settings: dict[str, Any]) -> dict[str, Any]:
        from .train.data import TrainError
        from .train.train import TrainConfig, train

        out = v.folder / "train" / f"seed{seed}"
        try:
            result = train(TrainConfig(shards=str(v.folder), val=str(eval_dir), out=str(out), seed=seed,
                                       progress=not self.quiet, **settings))
        except TrainError as exc:
            raise CurateError(f"{exc} (to start the ablation over, use --overwrite)") from exc
        self.console.print(f"[bold]train[/bold] {v.name} seed {seed}: val loss {result['val_loss']:.4f}, "
                           f"{result['tokens_per_s']:,.0f} tokens/s")
        return {
            "variant": v.name, "seed": seed, "docs": v.docs, "tokens": v.tokens,
            "val_loss": result["val_loss"], "val_bpb": result["val_bpb"], "tokens_per_s": result["tokens_per_s"],
            "epochs": result["tokens"] / v.tokens, "tokens_trained": result["tokens"],
            "curve": [[point["tokens"], point["val_loss"]] for point in result["curve"]],
        }


def _claim(root: Path, overwrite: bool) -> None:
    """An output folder is new, empty, or an earlier ablation (resumed, or replaced with `overwrite`)."""
    if not root.exists() or not any(root.iterdir()):
        return
    if not (root / "variants").is_dir():
        raise CurateError(f"{root} exists and is not an ablation's output; refusing to write into it")
    if overwrite:
        shutil.rmtree(root)


def tokenize_eval(paths: list[str], encoding: str, folder: Path, tokens_per_document: int | None = None) -> Path:
    """The evaluation text as `val` shards (each .txt file, or each Parquet row, one document; each cut to its
    first `tokens_per_document` tokens when given), in a folder named by the tokens' content so that a changed
    evaluation never resumes an old training run."""
    enc = load_encoding(encoding)
    texts = list(iter_texts(paths))
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".tokenizing-", dir=folder))
    writer = TokenShardWriter(scratch, "eval", vocab_size=enc.n_vocab, eot_token=enc.eot_token)
    for ids in enc.encode_ordinary_batch(texts):
        writer.add("val", np.asarray(ids[:tokens_per_document], dtype=np.uint32))
    writer.close()
    write_manifest(scratch, describe(encoding), enc.n_vocab, enc.eot_token)
    digest = hashlib.sha256()
    for shard in shard_paths(scratch, "val"):
        digest.update(shard.read_bytes())
    final = folder / digest.hexdigest()[:12]
    if final.is_dir():
        shutil.rmtree(scratch)
    else:
        scratch.rename(final)
    return final.resolve()


def ngram_overlap(train_shards: list[Path], eval_shards: list[Path], n: int = OVERLAP_NGRAM) -> float:
    """Share of the evaluation tokens' n-grams that also occur in the training tokens (0 means no leak)."""
    seen = np.unique(np.concatenate([_ngram_hashes(load_shard(p), n) for p in train_shards]))
    probe = np.concatenate([_ngram_hashes(load_shard(p), n) for p in eval_shards])
    if not len(probe) or not len(seen):
        return 0.0
    found = seen[np.minimum(np.searchsorted(seen, probe), len(seen) - 1)] == probe
    return float(found.mean())


def _ngram_hashes(tokens: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit polynomial hash of every n-token window (numpy's uint64 arithmetic wraps, as wanted)."""
    count = len(tokens) - n + 1
    if count < 1:
        return np.zeros(0, dtype=np.uint64)
    tokens = np.asarray(tokens, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    for k in range(n):
        hashes = hashes * np.uint64(1_000_003) + tokens[k : k + count]
    return hashes


def summarize(runs: list[dict[str, Any]], reference: str) -> list[dict[str, Any]]:
    """Per variant: mean and spread (max - min) over seeds, and the difference to the reference's mean;
    `beyond_spread` says whether that difference is larger than both variants' seed spreads."""
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_variant.setdefault(run["variant"], []).append(run)
    rows = []
    for name, items in by_variant.items():
        losses = [r["val_loss"] for r in items]
        rows.append({
            "variant": name, "seeds": len(items), "docs": items[0]["docs"], "tokens": items[0]["tokens"],
            "epochs": items[0]["epochs"], "val_loss": statistics.fmean(losses), "spread": max(losses) - min(losses),
            "val_bpb": statistics.fmean(r["val_bpb"] for r in items),
            "tokens_per_s": statistics.fmean(r["tokens_per_s"] for r in items),
        })
    ref = next(row for row in rows if row["variant"] == reference)
    for row in rows:
        row["vs_reference"] = row["val_loss"] - ref["val_loss"]
        row["beyond_spread"] = abs(row["vs_reference"]) > max(row["spread"], ref["spread"])
    return rows


def _write_outputs(root: Path, ablation: dict[str, Any], variants: list[VariantData], reference: str) -> None:
    """ablation.json at the top and in every variant's folder, whose report then shows the comparison; the
    reference variant's report is also the ablation's report.html."""
    from .report.html import write_report

    write_json_atomic(root / "ablation.json", ablation)
    for v in variants:
        write_json_atomic(v.folder / "ablation.json", ablation)
        report = write_report(v.folder)
        if v.name == reference:
            shutil.copyfile(report, root / "report.html")


def _console() -> Console:
    """The terminal's width; 140 columns when writing to a file or pipe, so the table is not cut."""
    console = Console()
    return console if console.is_terminal else Console(width=140)


def print_ablation(ablation: dict[str, Any], console: Console) -> None:
    reference = ablation["reference"]
    table = Table(title=f"ablation: validation loss on held-out text (reference: {reference})", title_justify="left")
    for column in ("variant", "seeds", "docs", "tokens", "epochs", "val loss", "seed spread", f"vs {reference}",
                   "beyond spread", "bits/byte", "tokens/s"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in ablation["summary"]:
        table.add_row(
            row["variant"], str(row["seeds"]), f"{row['docs']:,}", f"{row['tokens']:,}", f"{row['epochs']:.2f}",
            f"{row['val_loss']:.4f}", f"{row['spread']:.4f}",
            "-" if row["variant"] == reference else f"{row['vs_reference']:+.4f}",
            "-" if row["variant"] == reference else ("yes" if row["beyond_spread"] else "no"),
            f"{row['val_bpb']:.4f}", f"{row['tokens_per_s']:,.0f}",
        )
    console.print(table)
