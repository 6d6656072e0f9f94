"""`curate ablate`: what curation does to a model. Pipeline variants run on the same input; the same small
GPT trains on each at the same token budget and seeds, with one shared tokenizer, and every run is scored in
bits per byte on each evaluation domain (Paloma-style) and on their macro mean.

How variants are run: the per-document stages before the first dedup stage run ONCE over the input (the
pool): stages every variant has act as configured, the others in annotate mode. A variant whose stages are
a part of that shared list, in order and with the same options, keeps the pool's documents that none of its
own filters marked (`<stage>_reason` is empty) and runs only the rest of its pipeline (dedup) and tokenize.
Documents are selected exactly as the full pipeline would; text a left-out-in-some-variant stage would edit
(c4_quality's dropped lines) stays unedited in every variant, so variants differ only in which documents they
keep. Any other variant runs its whole pipeline. The value `eval` in a stage's options means the evaluation
paths, and a stage fed by them (`decontaminate: {against: eval}`) is given to every variant, so no variant
can win by training on the evaluation text.

Equal budgets mean a variant that kept less data repeats it: its epochs are recorded, and flagged above 2.
The output folder:
  pool/                       the shared run (kept documents with every stage's annotations)
  tokenizer/bpe-<V>-<sha>.tiktoken  the shared vocabulary, trained once on a seeded sample of the pool
  eval/<sha>/<domain>/        each evaluation domain's `val` shards; eval/<sha>/mix/ a slice of each, for
                              the loss curves; named by their content
  selections/<name>/          a derived variant's documents (Parquet), the input of its own run
  variants/<name>/            each variant's run (data/, removed/, tokens/, stats.json, report.html with the
                              ablation section) and train/seed<k>/ (checkpoint, log, result, domains.json)
  ablation.json, report.html  all runs; the reference variant's report
Running the same command again resumes: finished pipeline tasks and training runs are not repeated, and
because the tokenizer and eval folders are named by content, a changed one can never be mixed with old runs.

The package, a module a job: `config` (the YAML -> AblationConfig), `pool` (which variants come from the shared
pool, and their documents), `overlap` (eval n-grams in training text), `training` (eval shards, one training and
its scores), `table` (the figures over seeds and the table of them), `run` (the steps in order, the outputs).
"""

from .config import AblationConfig, Variant, load_ablation, parse_ablation
from .pool import plan_pool
from .run import run_ablation

__all__ = ["AblationConfig", "Variant", "load_ablation", "parse_ablation", "plan_pool", "run_ablation"]
