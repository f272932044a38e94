"""The README's commands work as written, top to bottom, for a newcomer without a cluster.

Every `regplan ...` line of the README's `sh` blocks runs, in order, in a scratch directory holding a copy
of examples/ (so `--out plan.json`, `--out-dir deploy/` and `> switch.sh` land there). Lines that need a
cluster (plan/apply/status without --snapshot) are only parsed (`cli.parse`): their options must be valid.
The exit code a line is documented with (e.g. validate ... # exit 3) is expected.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from regplan.cli import app as cli

ROOT = Path(__file__).resolve().parents[2]


def commands() -> list[str]:
    """The README's command lines in order; ``#block`` marks the start of each sh block (cwd resets)."""
    text = (ROOT / "README.md").read_text()
    out: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        out.append("#block")
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.strip()
            if line.startswith(("regplan ", "export ", "cd ")):
                out.append(line)
    return out


def needs_cluster(argv: list[str]) -> bool:
    offline = "--snapshot" in argv or "--snapshot-dir" in argv
    return argv[0] == "snapshot" or (argv[0] in ("plan", "apply", "status", "verify") and not offline)


def expected_exit(line: str) -> int:
    found = re.search(r"#.*\bexit (\d)", line)
    return int(found.group(1)) if found else 0


def test_the_readme_has_commands() -> None:
    assert len(commands()) > 25


def test_readme_commands_run_top_to_bottom(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {**os.environ, "NO_COLOR": "1"}
    cwd = tmp_path
    for line in commands():
        if line == "#block":
            cwd = tmp_path
            continue
        code_part = line.split(" #", 1)[0].strip()
        if line.startswith("cd "):
            cwd = cwd / code_part[3:].strip()
            continue
        if line.startswith("export "):
            for assignment in shlex.split(code_part)[1:]:
                key, _, value = assignment.partition("=")
                env[key] = value
            continue
        if code_part.startswith("regplan completion") or code_part.startswith("source "):
            continue
        redirect = None
        if " > " in code_part:
            code_part, redirect = (p.strip() for p in code_part.split(" > ", 1))
        argv = shlex.split(code_part)[1:]
        if needs_cluster(argv):
            cli.parse(argv, environ=env)  # valid options, at least
            continue
        p = subprocess.run(
            [sys.executable, "-m", "regplan", *argv], capture_output=True, text=True, cwd=cwd, env=env,
            timeout=120,
        )  # fmt: skip
        assert p.returncode == expected_exit(line), (line, p.stderr)
        if redirect:
            (cwd / redirect).write_text(p.stdout)
        assert "Traceback" not in p.stderr, line


@pytest.mark.parametrize("doc", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))])
def test_docs_stand_alone(doc: str) -> None:
    """Users clone the project alone: nothing points at the team's ../shared."""
    path = ROOT / doc if doc == "README.md" else ROOT / "docs" / doc
    assert "../shared" not in path.read_text()
