"""The README's worked example, run as written on a fresh copy: commands are read from README.md and the Makefile,
so the test follows the text. Only `curate train`'s token budget is cut (to one step), to keep the test short."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TRAIN_BUDGET = "--tokens 2048"  # one step of the tiny preset's 8 x 256 tokens


def worked_example() -> tuple[str, list[str]]:
    """The README's worked example: its printed `make demo` output and the commands that follow it."""
    section = README.split("## A worked example", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, re.S)
    demo_output, follow_up = blocks[0], blocks[1]
    commands = [line.split("  #")[0].strip() for line in follow_up.splitlines() if line.strip()]
    return demo_output, commands


def make_recipe(target: str) -> list[str]:
    """The shell lines of a Makefile target, with $(VENV) expanded."""
    makefile = (REPO / "Makefile").read_text()
    body = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    return [line.strip().replace("$(VENV)", ".venv") for line in body.splitlines()]


README = (REPO / "README.md").read_text()


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a clone holds for the example (pipelines, sample data) and the venv `make setup` made."""
    root = tmp_path_factory.mktemp("clone")
    for name in ("pipelines", "sample_data", ".venv"):
        (root / name).symlink_to(REPO / name)
    return root


def stage_rows(table: str) -> list[tuple[str, ...]]:
    """(stage, docs in, docs out, kept) for each row of a printed stage table, whatever its border style."""
    return re.findall(r"^[│ ]*(\w+) +│ +([\d,]+) │ +([\d,]+) │ +([\d.]+%) │", table, re.M)


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_readme_worked_example_runs_as_written(fresh_copy: Path) -> None:
    printed, commands = worked_example()
    assert printed.startswith("$ make demo") and len(commands) >= 4

    demo = shell(" && ".join(make_recipe("demo")), fresh_copy)
    assert demo.returncode == 0, demo.stderr[-2000:]
    # The README's table and summary are what the demo prints (its docs/s column aside: timings vary).
    readme_rows = stage_rows(printed)
    assert len(readme_rows) >= 10, printed  # the table is there and parsed
    assert readme_rows == stage_rows(demo.stdout), demo.stdout
    for line in printed.splitlines():
        if line.startswith(("  ", "read ", "conservation")) and "│" not in line:
            assert line.strip() in demo.stdout, line

    for command in commands:
        if " train " in command:
            command = re.sub(r"--tokens \d+", TRAIN_BUDGET, command)
        done = shell(command, fresh_copy)
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        if " stats " in command:
            assert "conservation: ok" in done.stdout
        if " inspect " in command:
            assert "all shards valid" in done.stdout and "val split is empty" in done.stdout
        if " train " in command:
            assert "validating on the last" in done.stdout and "val_bpb" in done.stdout
        if "datasets" in command:
            assert "num_rows: 31" in done.stdout


def test_the_code_tree_names_every_script() -> None:
    tree = README.split("## The code", 1)[1].split("```")[1]
    scripts = tree.split("\nscripts/", 1)[1].split("\nbench/", 1)[0]
    assert [path.name for path in sorted((REPO / "scripts").glob("*.py")) if path.name not in scripts] == []
