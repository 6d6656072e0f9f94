"""The whole shipped ablation (pipelines/ablation.yaml) from scratch, against its 25-minute budget on 2 cores.

Prepares its inputs (bench.ablation_data), runs `curate ablate` into bench/.work/ablation with --overwrite, and
prints the wall time of each step beside the budget, the trainings' tokens/s, and the table. The baseline in
the same run is one training alone: (ablation wall) / (trainings x one training's seconds / parallel) says how
much the pipeline work and the scheduling cost on top of the trainings themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench import ablation_data

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work" / "ablation"
BUDGET_S = 25 * 60


def main() -> None:
    ablation_data.main()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curate", "ablate", "pipelines/ablation.yaml", "--output", str(WORK),
                    "--overwrite", "--quiet"], cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    ablation = json.loads((WORK / "ablation.json").read_text())
    runs = ablation["runs"]
    per_run = [r["tokens_trained"] / r["tokens_per_s"] for r in runs]
    trainings_alone = sum(per_run) / ablation["train"]["parallel"]
    steps = ", ".join(f"{step} {seconds:.0f}s" for step, seconds in ablation["seconds"].items())
    print(f"ablation wall {wall / 60:.1f} min (budget {BUDGET_S / 60:.0f} min): {steps}")
    print(f"{len(runs)} trainings, {sum(per_run) / len(per_run):.0f}s each on average "
          f"({sum(r['tokens_per_s'] for r in runs) / len(runs):,.0f} tokens/s); wall / trainings alone = "
          f"{wall / trainings_alone:.2f}")
    if wall > BUDGET_S:
        raise RuntimeError(f"the ablation took {wall / 60:.1f} min, over its {BUDGET_S / 60:.0f}-minute budget")


if __name__ == "__main__":
    main()
