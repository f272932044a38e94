"""Start-up: `regplan render` / `validate` take the typer-free path; never import kubernetes or deepdiff."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from regplan import entry

PROBE = (
    "import atexit, sys\n"
    "heavy = ('kubernetes', 'deepdiff', 'typer', 'pydantic', 'rich', 'urllib3')\n"
    "top = lambda: {m.split('.')[0] for m in sys.modules} & set(heavy)\n"
    "atexit.register(lambda: sys.stderr.write('LOADED=' + ','.join(sorted(top())) + '\\n'))\n"
    "sys.argv = ['regplan', *sys.argv[1:]]\n"
    "from regplan.entry import main\n"
    "main()\n"
)


def loaded(*args: str) -> tuple[int, str, set[str]]:
    p = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REGPLAN_PROFILES_DIR": ""},
    )
    line = [x for x in p.stderr.splitlines() if x.startswith("LOADED=")][-1]
    return p.returncode, p.stdout, set(filter(None, line[len("LOADED=") :].split(",")))


@pytest.mark.parametrize(
    "args",
    [
        ["render", "-p", "ebs-gp2-rwo"],
        ["render", "-p", "aws-s3", "-o", "oc"],
        ["render", "--profile=glusterfs", "--target", "ocp3", "-o", "json"],
        ["validate", "-p", "cephfs-rwx"],
    ],
)
def test_render_imports_nothing_heavy(args: list[str]) -> None:
    code, out, mods = loaded(*args)
    assert code == 0
    assert mods == set(), mods
    if args[0] == "render":
        assert out


def test_invalid_values_also_fast_and_exit_3() -> None:
    code, out, mods = loaded("render", "-p", "ebs-gp2-rwo", "--set", "replicas=2")
    assert (code, out, mods) == (3, "", set())


def test_other_commands_use_typer() -> None:
    code, _, mods = loaded("profiles")
    assert code == 0 and "typer" in mods


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["render", "-p", "x"], ("render", {"profile": ["x"]})),
        (
            ["render", "--profile=x", "-f", "a.yaml", "--values", "b.yaml", "--set", "a=b=c", "--set=d=e"],
            ("render", {"profile": ["x"], "values": ["a.yaml", "b.yaml"], "sets": ["a=b=c", "d=e"]}),
        ),
        (["validate", "-p", "x", "--target", "ocp3"], ("validate", {"profile": ["x"], "target": ["ocp3"]})),
        (
            ["render", "-p", "x", "--out-dir", "d", "-o", "json"],
            ("render", {"profile": ["x"], "out_dir": ["d"], "output": ["json"]}),
        ),
    ],
)
def test_parse_plain_invocations(argv: list[str], expected: tuple[str, dict[str, list[str]]]) -> None:
    assert entry.parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["plan", "-p", "x"],
        ["render"],
        ["render", "-p"],
        ["render", "-p", "x", "--help"],
        ["render", "-p", "x", "-h"],
        ["render", "-p", "x", "--bogus", "1"],
        ["render", "-p", "x", "-p", "y"],
        ["render", "-px"],
        ["render", "-p=x"],
        ["render", "-p", "x", "extra"],
        ["validate", "-p", "x", "-o", "json"],
        ["render", "-p", "x", "--set", "-weird"],
    ],
)
def test_anything_else_defers_to_typer(argv: list[str]) -> None:
    assert entry.parse(argv) is None


@pytest.mark.parametrize(
    "args",
    [
        [
            "render",
            "-p",
            "aws-s3",
            "--set",
            "s3.bucket=b-1",
            "--set",
            "s3.region=r",
            "--target",
            "ocp3",
            "-o",
            "oc",
        ],
        ["render", "-p", "ebs-gp2-rwo", "--set", "replicas=2"],
        ["validate", "-p", "glusterfs"],
    ],
)
def test_fast_path_and_typer_path_agree(args: list[str]) -> None:
    fast = subprocess.run(
        [sys.executable, "-c", "from regplan.entry import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    full = subprocess.run(
        [sys.executable, "-m", "regplan.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert (fast.returncode, fast.stdout, fast.stderr) == (full.returncode, full.stdout, full.stderr)
