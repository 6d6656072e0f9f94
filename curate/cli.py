"""The `curate` command: parses, validates, hands over. Errors are one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import CurateError, one_line
from .executors import RUNNERS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + traceback
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="curate", description="Curate raw web dumps into pretraining data.")
    parser.add_argument("--version", action="version", version=f"curate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a pipeline YAML over raw input", description="Run a curation pipeline.")
    run.add_argument("pipeline", help="pipeline YAML (see pipelines/)")
    run.add_argument("--input", action="extend", nargs="+", metavar="PATH", help="input files or folders (override the YAML)")
    run.add_argument("--output", metavar="DIR", help="output folder or URL, e.g. s3://bucket/run (overrides the YAML)")
    run.add_argument("--work-dir", metavar="DIR", help="for a URL --output: where the run works before uploading "
                     "(on a cluster, a folder every node sees; default: $CURATE_WORK_DIR, else ~/.cache/curate/runs)")
    run.add_argument("--workers", type=int, help="parallel worker processes (default: the YAML's, else 1)")
    run.add_argument("--text-field", metavar="F", help="the JSONL/Parquet/HF field holding the text (overrides input.text_field)")
    run.add_argument("--limit", type=int, metavar="N", help="only the first N documents, in input order (to try a pipeline)")
    run.add_argument("--executor", choices=list(RUNNERS), default="local", help="where tasks run (default: local)")
    run.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    run.add_argument("--overwrite", action="store_true", help="replace an earlier run in --output")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.set_defaults(handler=cmd_run)

    stats = sub.add_parser("stats", help="print a run's statistics", description="Print stats.json as a table.")
    stats.add_argument("run_dir", metavar="DIR")
    stats.set_defaults(handler=cmd_stats)

    report = sub.add_parser("report", help="(re)write a run's report.html", description="Write DIR/report.html.")
    report.add_argument("run_dir", metavar="DIR")
    report.set_defaults(handler=cmd_report)

    train = sub.add_parser("train", help="train a small GPT on token shards",
                           description="Train a small GPT on a run's token shards for a token budget; resumes from --out.")
    train.add_argument("--shards", required=True, metavar="DIR", help="a run's output folder or its tokens/ folder")
    train.add_argument("--val", metavar="DIR", help="validate on this token folder's val split (default: --shards')")
    train.add_argument("--preset", default="tiny", help="model size: tiny (CPU), small, medium (default: tiny)")
    train.add_argument("--tokens", type=int, default=1_000_000, help="training token budget (default: 1,000,000)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", required=True, metavar="DIR", help="checkpoint, log.jsonl and result.json go here")
    train.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    train.add_argument("--compile", action="store_true", help="torch.compile the model")
    train.add_argument("--batch-size", type=int, default=8, help="sequences per micro-batch (default: 8)")
    train.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step (default: 1)")
    train.add_argument("--context", type=int, help="context length (default: the preset's)")
    train.add_argument("--lr", type=float, help="peak learning rate (default: the preset's)")
    train.add_argument("--align-to-documents", action="store_true", help="start training windows at document starts")
    train.add_argument("--threads", type=int, help="CPU threads for torch (default: 1 on a machine of up to 4 cores, "
                       "where more threads mostly wait, else torch's, one per core)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=cmd_train)

    tokenizer = sub.add_parser("tokenizer", help="train a BPE tokenizer", description="Tokenizer tools.")
    tokenizer_sub = tokenizer.add_subparsers(dest="tokenizer_command", required=True, parser_class=_Parser)
    tok_train = tokenizer_sub.add_parser(
        "train", help="train a byte-level BPE vocabulary (rustbpe) into a .tiktoken file",
        description="Train a BPE vocabulary with GPT-4's split pattern and <|endoftext|> as its last id.",
    )
    tok_train.add_argument("--input", action="extend", nargs="+", required=True, metavar="PATH",
                           help="a run folder (its data/), Parquet, JSONL (.jsonl, .jsonl.gz, .jsonl.zst), CSV or .txt files, or folders of them")
    tok_train.add_argument("--text-field", default="text", metavar="F", help="JSONL, CSV, Parquet: the field holding the text (default: text)")
    tok_train.add_argument("--vocab-size", type=int, default=8192, help="ids including <|endoftext|> (default: 8192)")
    tok_train.add_argument("--output", required=True, metavar="FILE.tiktoken")
    tok_train.set_defaults(handler=cmd_tokenizer_train)

    classifier = sub.add_parser("classifier", help="train and evaluate fastText text classifiers", description="Classifier tools.")
    classifier_sub = classifier.add_subparsers(dest="classifier_command", required=True, parser_class=_Parser)
    clf_train = classifier_sub.add_parser(
        "train", help="train a fastText classifier (toxicity stage: scorer: fasttext; quality_classifier stage)",
        description="Train a fastText classifier on labelled files (--input) or on files of positive and negative text "
        "(--positives/--negatives), on a seeded train/dev split of the documents, and report precision, recall, F1 "
        "and ROC-AUC on the dev documents beside a document-length baseline. Models over 10 MB are quantized.",
    )
    _add_data_arguments(clf_train, "train")
    clf_train.add_argument("--labels", nargs=2, metavar=("POSITIVE", "NEGATIVE"),
                           help="label names written into the model (default: toxic non_toxic; the quality model uses hq lq)")
    clf_train.add_argument("--chunk-words", type=int, default=0, metavar="N",
                           help="train on pieces of at most N words of each document (default: 0, whole documents)")
    clf_train.add_argument("--max-per-file", type=int, default=0, metavar="N",
                           help="at most N training examples from each input path, a seeded sample (default: 0, all)")
    clf_train.add_argument("--output", required=True, metavar="MODEL.bin")
    clf_train.add_argument("--dev-fraction", type=float, default=0.2, help="held-out share of documents (default: 0.2)")
    clf_train.add_argument("--epochs", type=int, default=2, help="passes over the data (default: 2; more overfit tweets)")
    clf_train.add_argument("--dim", type=int, default=16, help="embedding size (default: 16)")
    clf_train.add_argument("--seed", type=int, default=0)
    clf_train.set_defaults(handler=cmd_classifier_train)
    clf_eval = classifier_sub.add_parser(
        "eval", help="ROC-AUC of a fastText classifier per test set, beside a document-length baseline",
        description="Score test sets with a fastText model: ROC-AUC per labelled file (--test), or per file of "
        "positives against all negatives and per file of negatives against all positives (--positives/--negatives), "
        "each beside the ROC-AUC of document length.",
    )
    clf_eval.add_argument("model", metavar="MODEL", help="a fastText .bin or .ftz file")
    _add_data_arguments(clf_eval, "eval")
    clf_eval.add_argument("--label", help="the model's positive label (default: toxic; "
                          "the shipped quality model: hq)")
    clf_eval.add_argument("--no-tokenize", dest="tokenize", action="store_false",
                          help="score text as is (one line), for models trained on raw text such as DCLM's")
    clf_eval.set_defaults(handler=cmd_classifier_eval)
    clf_calibrate = classifier_sub.add_parser(
        "calibrate", help="a model's score quantiles on raw text, for the quality_classifier stage's keep_top",
        description="Score a sample of raw text and write the 1,001 quantiles of the scores as JSON: the "
        "quality_classifier stage's `calibration:`, from which `keep_top: f` takes its cut (the 1 - f quantile).",
    )
    clf_calibrate.add_argument("model", metavar="MODEL", help="a fastText .bin or .ftz file")
    clf_calibrate.add_argument("--texts", action="extend", nargs="+", required=True, metavar="PATH",
                               help="raw text like the pool to filter: .jsonl/.parquet (text field), .txt, .gz, folders")
    clf_calibrate.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    clf_calibrate.add_argument("--id-split", choices=["train", "held_out"], help="only records whose id falls in this part")
    clf_calibrate.add_argument("--label", default="hq", help="the model's positive label (default: hq)")
    clf_calibrate.add_argument("--no-tokenize", dest="tokenize", action="store_false", help="score text as is (one line)")
    clf_calibrate.add_argument("--output", required=True, metavar="FILE.json")
    clf_calibrate.set_defaults(handler=cmd_classifier_calibrate)

    shards = sub.add_parser("shards", help="token shard tools", description="Token shard tools.")
    shards_sub = shards.add_subparsers(dest="shards_command", required=True, parser_class=_Parser)
    inspect = shards_sub.add_parser(
        "inspect", help="validate token shards and show a few documents",
        description="Check every shard's header, size, ids and document index against tokens/manifest.json.",
    )
    inspect.add_argument("directory", metavar="DIR", help="a run folder or its tokens/ folder")
    inspect.add_argument("--docs", type=int, default=3, help="documents to decode and show (default: 3)")
    inspect.set_defaults(handler=cmd_shards_inspect)

    ablate = sub.add_parser(
        "ablate", help="compare pipeline variants by the loss of a small GPT trained on each",
        description="Run pipeline variants (raw, curated, one stage left out, ...), train the same small GPT on each "
        "at an equal token budget and several seeds with one shared tokenizer, and score every run in bits per byte "
        "on each held-out evaluation domain. Writes DIR/ablation.json and DIR/report.html; running it again resumes.",
    )
    ablate.add_argument("ablation", metavar="ABLATION.yaml", help="ablation YAML (see pipelines/ablation.yaml)")
    ablate.add_argument("--output", metavar="DIR", help="output folder (overrides the YAML)")
    ablate.add_argument("--workers", type=int, help="pipeline worker processes (default: the YAML's, else 1)")
    ablate.add_argument("--device", choices=["auto", "cpu", "cuda"], help="training device (default: the YAML's, else auto)")
    ablate.add_argument("--overwrite", action="store_true", help="replace an earlier ablation in --output")
    ablate.add_argument("--quiet", action="store_true", help="no progress bars")
    ablate.set_defaults(handler=cmd_ablate)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from .config import load_config
    from .driver import execute, output_of
    from .io.remote import is_url
    from .pipeline import OutputLayout, prepare_task_process
    from .progress import RichProgress
    from .report.terminal import print_stats

    config = load_config(args.pipeline)
    if args.input:
        config.input.paths = list(args.input)
    if args.text_field:
        config.input.text_field = args.text_field
    if args.limit is not None:
        if args.limit < 1:
            raise CurateError(f"--limit must be at least 1, got {args.limit}")
        config.input.limit = args.limit
    output = output_of(config, args.output)
    readings = None if is_url(output) else OutputLayout(output).readings  # not shown for URL outputs
    prepare_task_process()
    with RichProgress(disabled=args.quiet, readings=readings) as progress:
        outcome = execute(config, output, args.workers, args.executor, args.overwrite, progress, args.ray_address, args.work_dir)
    print_stats(outcome.stats.to_dict())
    resumed = f", {outcome.tasks_resumed} resumed from an earlier run" if outcome.tasks_resumed else ""
    print(f"{outcome.tasks_run} tasks in {outcome.seconds:.1f}s{resumed}")
    print(f"report: {outcome.report}")
    return 0 if not outcome.stats.conservation_problems() else 1


def cmd_stats(args: argparse.Namespace) -> int:
    from .report.terminal import load_stats, print_stats

    print_stats(load_stats(args.run_dir))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report.html import write_report

    print(write_report(args.run_dir))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train.data import TrainError
    from .train.train import TrainConfig, train

    config = TrainConfig(
        shards=args.shards, val=args.val, out=args.out, preset=args.preset, tokens=args.tokens, seed=args.seed,
        device=args.device, compile=args.compile, batch_size=args.batch_size, grad_accum=args.grad_accum,
        model={"context": args.context} if args.context is not None else {}, lr=args.lr,
        align_to_documents=args.align_to_documents, progress=not args.quiet, threads=args.threads,
    )
    try:
        result = train(config, say=print)
    except (TrainError, OSError) as exc:
        raise CurateError(str(exc)) from exc
    print(f"val_loss {result['val_loss']:.4f} val_bpb {result['val_bpb']:.4f} "
          f"{result['tokens_per_s']:,.0f} tokens/s ({result['steps']} steps, {result['tokens']:,} tokens)")
    print(f"result: {Path(args.out) / 'result.json'}")
    return 0


def cmd_tokenizer_train(args: argparse.Namespace) -> int:
    import itertools
    import time

    from .io.texts import MissingColumn, file_format, iter_texts, text_files
    from .tokens.bpe import train_to_file

    if not args.output.endswith(".tiktoken"):
        raise CurateError(f"--output must end in .tiktoken (that is how encodings are told from names), got {args.output}")
    started = time.perf_counter()
    texts = iter_texts(args.input, args.text_field, lenient=True)  # a line without that text is passed over
    try:
        first = next(texts, None)
    except MissingColumn as exc:  # a CSV or Parquet file
        raise CurateError(f"{exc} (see --text-field)") from None
    if first is None:
        jsonl = any(file_format(path) == "jsonl" for path in text_files(args.input))
        raise CurateError(f"no text found in {', '.join(args.input)}"
                          + (f" (JSONL records are read from the field {args.text_field!r}; see --text-field)" if jsonl else ""))
    trained = train_to_file(itertools.chain([first], texts), args.vocab_size, Path(args.output))
    print(f"trained {trained.vocab_size:,} ids (with <|endoftext|>) on {trained.texts:,} texts "
          f"({trained.bytes / 1e6:.2f} MB) in {time.perf_counter() - started:.1f}s: {trained.path}")
    if trained.shortfall:
        print(trained.shortfall)
    return 0


def _add_data_arguments(parser: argparse.ArgumentParser, purpose: str) -> None:
    """The data options `classifier train` and `classifier eval` share."""
    labelled = "--input" if purpose == "train" else "--test"
    parser.add_argument(labelled, action="extend", nargs="+", metavar="PATH", dest="labelled",
                        help="labelled data: .csv, .jsonl or .parquet files (optionally .gz) or folders of them")
    parser.add_argument("--positives", action="extend", nargs="+", metavar="PATH", help="files of positive text (e.g. reference text): "
                        ".jsonl/.parquet with a text field, .txt (one document per file), optionally .gz, or folders")
    parser.add_argument("--negatives", action="extend", nargs="+", metavar="PATH", help="files of negative text (e.g. raw web text), as --positives")
    parser.add_argument("--text-field", "--text-column", dest="text_field", default="text",
                        help="field or column holding the text (default: text)")
    parser.add_argument("--label-column", default="label", help="column holding the label (default: label)")
    parser.add_argument("--positive", action="extend", nargs="+", metavar="VALUE", help="label values that mean positive, the rest "
                        "negative (Davidson: --positive 0 1); needed when the column has more than two values "
                        "(default: 1/true/toxic)")
    parser.add_argument("--id-split", choices=["train", "held_out"], help="only records whose id falls in this part "
                        "of the project's fixed split (curate.classifier.id_split: 20%% held out by hash of the id)")
    parser.add_argument("--threshold", type=float, default=0.5, help="cut for precision/recall (default: 0.5)")


def _read_sets(args: argparse.Namespace) -> list[tuple[str, list[str], list[bool]]]:
    """(name, texts, labels) per input path: labelled files, or positive and negative files."""
    from .classifier import read_labelled, read_texts

    flag = "--input" if args.classifier_command == "train" else "--test"
    if args.labelled and (args.positives or args.negatives):
        raise CurateError(f"give {flag} (labelled files) or --positives/--negatives, not both")
    if not args.labelled and not (args.positives and args.negatives):
        raise CurateError(f"give {flag} (labelled files), or --positives and --negatives (files of each)")
    if args.labelled:
        return [(path, *read_labelled(path, args.text_field, args.label_column, args.positive, args.id_split)) for path in args.labelled]
    sets = []
    for paths, positive in ((args.positives, True), (args.negatives, False)):
        for path in paths:
            texts = read_texts(path, args.text_field, args.id_split)
            sets.append((path, texts, [positive] * len(texts)))
    return sets


def cmd_classifier_train(args: argparse.Namespace) -> int:
    import time

    from .classifier import Corpus, TrainOptions, train_and_evaluate

    for flag, value, least in (("--epochs", args.epochs, 1), ("--dim", args.dim, 1), ("--chunk-words", args.chunk_words, 0),
                               ("--max-per-file", args.max_per_file, 0)):
        if value < least:
            raise CurateError(f"{flag} must be at least {least}, got {value}")
    corpus = Corpus()
    for _, texts, labels in _read_sets(args):
        corpus.add(texts, labels)
    started = time.perf_counter()
    labels = tuple(args.labels) if args.labels else TrainOptions.labels
    options = TrainOptions(epochs=args.epochs, dim=args.dim, seed=args.seed, labels=labels)
    model, examples, metrics = train_and_evaluate(corpus, options, args.dev_fraction, args.threshold,
                                                  args.chunk_words, args.max_per_file)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(output))
    trained = len(corpus.texts) - metrics.count
    pieces = f", as {examples:,} examples" if examples != trained else ""
    print(f"trained on {trained:,} of {len(corpus.texts):,} records ({sum(corpus.labels):,} {labels[0]}){pieces} "
          f"in {time.perf_counter() - started:.1f}s")
    print(f"dev: {metrics.describe()}")
    quantized = ", quantized" if model.is_quantized() else ""
    print(f"model: {output} ({output.stat().st_size / 1e6:.1f} MB{quantized}; positive label {labels[0]!r})")
    return 0


def cmd_classifier_eval(args: argparse.Namespace) -> int:
    import numpy as np

    from .classifier import POSITIVE_LABEL, evaluate, load_model, score_texts

    label = args.label or POSITIVE_LABEL
    model = load_model(args.model, label)
    sets = [(name, texts, labels, score_texts(model, texts, label, args.tokenize)) for name, texts, labels in _read_sets(args)]
    rows = list(sets)
    if not args.labelled:
        rows = []  # each file against every file of the other class, then everything
        for name, texts, labels, scores in sets:
            others = [s for s in sets if s[2][0] != labels[0]]
            rows.append((f"{name} vs all {'negatives' if labels[0] else 'positives'}",
                         texts + [t for s in others for t in s[1]], labels + [flag for s in others for flag in s[2]],
                         np.concatenate([scores, *(s[3] for s in others)])))
        rows.append(("all", [t for s in sets for t in s[1]], [flag for s in sets for flag in s[2]], np.concatenate([s[3] for s in sets])))
    width = max(len(row[0]) for row in rows)
    print(f"{'test set':<{width}}  {'docs':>7}  {'positive':>8}  {'roc_auc':>7}  {'length_auc':>10}  {'f1@' + format(args.threshold, 'g'):>7}")
    for name, texts, labels, scores in rows:
        m = evaluate(scores, labels, args.threshold, texts)
        print(f"{name:<{width}}  {m.count:>7,}  {m.positives:>8,}  {m.roc_auc:>7.3f}  {m.length_auc:>10.3f}  {m.f1:>7.3f}")
    print("length_auc: ROC-AUC of document length in characters as the score (below 0.5: shorter documents are the positives)")
    return 0


def cmd_classifier_calibrate(args: argparse.Namespace) -> int:
    from .atomic import write_json_atomic
    from .classifier import Calibration, load_model, read_texts, score_texts

    model = load_model(args.model, args.label)
    texts = [text for path in args.texts for text in read_texts(path, args.text_field, args.id_split)]
    calibration = Calibration.of(score_texts(model, texts, args.label, args.tokenize),
                                 f"{', '.join(args.texts)}" + (f" ({args.id_split} ids)" if args.id_split else ""))
    output = Path(args.output)
    write_json_atomic(output, calibration.__dict__)
    cuts = ", ".join(f"keep_top {f:g} -> {calibration.cut(f):.3f}" for f in (0.1, 0.3, 0.5))
    print(f"{len(texts):,} documents scored; {cuts}")
    print(f"calibration: {output}")
    return 0


def cmd_shards_inspect(args: argparse.Namespace) -> int:
    from .tokens.inspect import inspect_tokens

    result = inspect_tokens(args.directory, samples=args.docs)
    m = result.manifest
    print(f"encoding {m['encoding']}, vocabulary {m['vocab_size']:,}, {m['dtype']} tokens, end-of-text {m['eot_token']}")
    for split, (count, tokens, docs) in result.splits.items():
        print(f"{split}: {count} shards, {tokens:,} tokens, {docs:,} documents")
    empty = [split for split in ("train", "val") if not result.splits.get(split, (0, 0, 0))[2]]
    print("all shards valid (header, size, ids, document index, manifest counts)"
          + (f", but the {' and '.join(empty)} split is empty" if empty else ""))
    if "val" in empty:
        print("  (too few documents for tokenize.val_fraction; `curate train` then validates on the end of train, "
              "held out from training)")
    for i, text in enumerate(result.samples):
        print(f"--- document {i}: {text!r}")
    if result.decode_problem:
        print(f"(documents not decoded: {result.decode_problem})")
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    from .ablate import load_ablation, run_ablation

    config = load_ablation(args.ablation)
    output = args.output or config.output
    if not output:
        raise CurateError("no output folder: give --output or `output:` in the ablation YAML")
    if args.workers is not None and args.workers < 1:
        raise CurateError(f"--workers must be at least 1, got {args.workers}")
    run_ablation(config, output, workers=args.workers, device=args.device, overwrite=args.overwrite, quiet=args.quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except CurateError as exc:
        sys.stderr.write(f"curate: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("curate: interrupted; run the same command again to resume\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: still one line, the traceback on request
        if os.environ.get("CURATE_DEBUG"):
            raise
        sys.stderr.write(f"curate: internal error: {one_line(exc)} (CURATE_DEBUG=1 shows the traceback)\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
