"""Paths in regplan's messages are one line, and a command regplan suggests is quoted for the shell.

The outside check of issue 16: a path given on the command line, or a name found on disk, was printed with
its line breaks (``wrote bad`` then a line of the attacker's choosing; ``plan saved to p``...), and the
suggested ``regplan apply FILE`` spliced the file name unquoted. Now every path option and argument is one
line of printable text or refused (``app._one_line_path``, exit 3, nothing written), names found on disk
are shown escaped (``Root.show``, ``Workspace.relative``, the golden diff's headers), and suggested
commands are shell words (``escape.shell_words``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "examples" / "fleet"
SNAP = ROOT / "examples" / "fleet" / "snapshots" / "dev-us.yaml"
FORGED = "FORGED LINE"
BAD = f"bad\n{FORGED}"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regplan", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def forged(text: str) -> bool:
    return any(line.startswith(FORGED) for line in re.split(r"\r\n|[\n\r\u2028\u2029\x85]", text))


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    shutil.copytree(FLEET, tmp_path / "ws")
    return tmp_path / "ws"


SNAPSHOT = str(SNAP)
ONE = ["--no-workspace", "-p", "ebs-gp2-rwo"]


PATH_ARGS = [
    ["render", *ONE, "-f", "{}"],
    ["render", *ONE, "-f", "a.yaml,{}"],
    ["render", *ONE, "--out-dir", "{}"],
    ["render", *ONE, "--profiles-dir", "{}"],
    ["plan", *ONE, "--snapshot", "{}"],
    ["plan", *ONE, "--snapshot", SNAPSHOT, "--out", "{}"],
    ["plan", *ONE, "--snapshot", SNAPSHOT, "--out", "{}/p.json"],
    ["plan", "--snapshot-dir", "{}"],
    ["plan", "--snapshot-dir", "snapshots", "--out", "{}"],
    ["apply", "--plan-dir", "{}", "--yes"],
    ["apply", "{}", "--yes"],
    ["show", "{}"],
    ["status", "--no-workspace", "--kubeconfig", "{}"],
    ["render", "--workspace", "{}"],
]
# every path option with a line break; every kind of breaker on one of them
CASES = [(a, "\n") for a in PATH_ARGS] + [
    (PATH_ARGS[2], b) for b in ("\r", "\u2028", "\x85", "\t", "\x1b", "\u202e")
]


@pytest.mark.parametrize(("args", "breaker"), CASES)
def test_a_path_with_a_line_break_or_control_character_is_refused(
    ws: Path, args: list[str], breaker: str
) -> None:
    bad = f"bad{breaker}{FORGED}"
    before = tree(ws)
    r = run(*[a.replace("{}", bad) for a in args], cwd=ws)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "is refused" in r.stderr and not forged(r.stdout + r.stderr), r.stderr
    assert "\x1b" not in r.stderr
    assert tree(ws) == before  # nothing written


def test_the_profiles_dir_from_the_environment_is_checked_too(ws: Path) -> None:
    r = run("profiles", cwd=ws, env={"REGPLAN_PROFILES_DIR": BAD})
    assert r.returncode == 3 and "is refused" in r.stderr and not forged(r.stderr), r.stderr


def test_plain_paths_still_work(ws: Path) -> None:
    r = run("plan", *ONE, "--snapshot", SNAPSHOT, "--out", "my plan.json", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert (ws / "my plan.json").is_file()


def test_a_plan_file_name_found_on_disk_is_shown_escaped(ws: Path) -> None:
    (ws / "plans").mkdir()
    (ws / "plans" / f"x\n{FORGED}.json").write_text("{}")
    r = run("apply", "--plan-dir", "plans", "--yes", cwd=ws)
    assert r.returncode == 3 and "x\\u000a" in r.stderr and not forged(r.stderr), r.stderr


def test_a_stale_directory_name_found_on_disk_is_shown_escaped(ws: Path) -> None:
    stale = ws / "rendered" / f"x\n{FORGED}"
    shutil.copytree(ws / "rendered" / "dev-us", stale)
    check = run("golden", "--check", cwd=ws)
    assert check.returncode == 2 and not forged(check.stdout + check.stderr), check.stdout
    assert "a/rendered/x\\u000a" in check.stdout
    update = run("golden", "--update", cwd=ws)
    assert update.returncode == 0 and not forged(update.stdout + update.stderr), update.stderr
    assert "removed rendered/x\\u000a" in update.stderr
    assert not stale.exists()


@pytest.mark.parametrize(
    ("args", "suggested"),
    [
        (
            ["plan", *ONE, "--snapshot", SNAPSHOT, "--out", "p;touch x.json"],
            "`regplan apply 'p;touch x.json'`",
        ),
        (
            ["plan", "--snapshot-dir", "snapshots", "--out", "$(touch x)"],
            "`regplan apply --plan-dir '$(touch x)'`",
        ),
    ],
)
def test_a_suggested_command_quotes_the_path(ws: Path, args: list[str], suggested: str) -> None:
    r = run(*args, cwd=ws)
    assert r.returncode == 0, r.stderr
    assert suggested in r.stderr, r.stderr
