"""Start-up: the console script parses render / validate / plan / apply / status itself (no typer, no
pydantic); render and validate never import kubernetes or deepdiff; both paths answer the same."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[2]
SNAP4 = str(ROOT / "examples/snapshots/ocp4-pvc-pending.yaml")


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "-p", "ebs-gp2-rwo", "--snapshot", SNAP4],
        ["status", "--snapshot", SNAP4, "-o", "json"],
    ],
)
def test_cluster_commands_skip_typer(args: list[str]) -> None:
    code, out, mods = loaded(*args)
    assert code == 0 and out
    assert mods == set(), mods  # a snapshot needs no client either


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["render", "-p", "x"], ("render", {"profile": ["x"]})),
        (
            ["render", "--profile=x", "-f", "a.yaml", "--values", "b.yaml", "--set", "a=b=c", "--set=d=e"],
            ("render", {"profile": ["x"], "values_files": ["a.yaml", "b.yaml"], "sets": ["a=b=c", "d=e"]}),
        ),
        (["validate", "-p", "x", "--target", "ocp3"], ("validate", {"profile": ["x"], "target": ["ocp3"]})),
        (
            ["render", "-p", "x", "--out-dir", "d", "-o", "json"],
            ("render", {"profile": ["x"], "out_dir": ["d"], "output": ["json"]}),
        ),
        (
            ["plan", "-p", "x", "--kubeconfig", "k", "--context=c", "--detailed-exitcode", "--out", "p.json"],
            (
                "plan",
                {
                    "profile": ["x"],
                    "kubeconfig": ["k"],
                    "context": ["c"],
                    "detailed_exitcode": ["true"],
                    "out": ["p.json"],
                },
            ),
        ),
        (
            ["apply", "p.json", "--allow-replace", "--no-wait", "--timeout", "12.5", "-y"],
            (
                "apply",
                {
                    "planfile": ["p.json"],
                    "allow_replace": ["true"],
                    "wait": ["false"],
                    "timeout": ["12.5"],
                    "yes": ["true"],
                },
            ),
        ),
        (
            ["apply", "-p", "x", "--set", "a=1", "--lock-timeout=5", "-o", "json"],
            ("apply", {"profile": ["x"], "sets": ["a=1"], "lock_timeout": ["5"], "output": ["json"]}),
        ),
        (["status"], ("status", {})),
        (
            ["status", "--target", "ocp3", "--snapshot", "s.yaml"],
            ("status", {"target": ["ocp3"], "snapshot": ["s.yaml"]}),
        ),
    ],
)
def test_parse_plain_invocations(argv: list[str], expected: tuple[str, dict[str, list[str]]]) -> None:
    assert entry.parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["profiles"],
        ["plan"],
        ["plan", "x"],
        ["plan", "-p", "x", "--yes"],
        ["plan", "-p", "x", "--detailed-exitcode=1"],
        ["apply"],
        ["apply", "p.json", "-p", "x"],
        ["apply", "a.json", "b.json"],
        ["apply", "-p", "x", "--timeout", "soon"],
        ["apply", "-p", "x", "--timeout", "1e3"],
        ["apply", "-p", "x", "--wait", "--no-wait"],
        ["apply", "-p", "x", "--kubeconfig", ""],
        ["apply", "-p", "x", "--", "p.json"],
        ["status", "--help"],
        ["status", "-p", "x"],
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
        ["plan", "-p", "ebs-gp2-rwo", "--snapshot", SNAP4],
        ["plan", "-p", "ebs-gp2-rwo", "--snapshot", SNAP4, "-o", "json", "--detailed-exitcode"],
        ["plan", "-p", "glusterfs", "--snapshot", SNAP4, "--detailed-exitcode"],
        ["plan", "-p", "ebs-gp2-rwo", "--snapshot", SNAP4, "-o", "yaml"],
        ["status", "--snapshot", SNAP4],
        [
            "status",
            "--snapshot",
            str(ROOT / "examples/snapshots/ocp3-emptydir.yaml"),
            "--target",
            "ocp3",
            "-o",
            "json",
        ],
        ["apply", "-p", "ebs-gp2-rwo", "--kubeconfig", "/nonexistent/kubeconfig", "--yes", "--no-wait"],
        ["apply", "/nonexistent/plan.json", "--allow-replace", "--timeout", "5"],
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


LEAN = (
    "import sys\n"
    "sys.argv = ['regplan']\n"
    "from regplan import cluster\n"
    "cluster._client_modules()\n"
    "early = sorted({m.split('.')[0] for m in sys.modules} & {'requests', 'pydantic'})\n"
    "kube_config = sys.modules['kubernetes.config.kube_config']\n"
    "error = kube_config.oauthlib.oauth2.rfc6749.errors.InvalidClientIdError\n"
    "session = kube_config.OAuth2Session(client_id='x')\n"
    "print(early, error.__name__, type(session).__module__, type(sys.modules['oauthlib']).__name__)\n"
)


def test_lean_client_import_defers_oauthlib_until_used() -> None:
    """Only an OIDC token refresh needs oauthlib / requests_oauthlib (and requests): loaded on first use."""
    p = subprocess.run([sys.executable, "-c", LEAN], capture_output=True, text=True, timeout=60, check=True)
    assert p.stdout.split() == ["[]", "InvalidClientIdError", "requests_oauthlib.oauth2_session", "module"]
