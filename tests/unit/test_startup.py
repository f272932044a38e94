"""Start-up: the CLI imports nothing a command does not use. typer is the CLI, but never its pydantic
converters or rich (help and errors are plain text); render and validate never import kubernetes or
deepdiff; a snapshot plan needs no client either; `--help` builds no command and imports no pipeline
module."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import atexit, sys\n"
    "heavy = ('kubernetes', 'deepdiff', 'pydantic', 'rich', 'urllib3', 'annotated_types')\n"
    "top = lambda: {m.split('.')[0] for m in sys.modules} & set(heavy)\n"
    "atexit.register(lambda: sys.stderr.write('LOADED=' + ','.join(sorted(top())) + '\\n'))\n"
    "sys.argv = ['regplan', *sys.argv[1:]]\n"
    "from regplan.cli.app import main\n"
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


WORKSPACE = str(Path(__file__).resolve().parents[2] / "examples" / "fleet" / "regplan.yaml")


@pytest.mark.parametrize(
    "args",
    [["profiles"], ["golden", "--check", "--workspace", WORKSPACE], ["--help"], ["render", "--help"],
     ["completion", "bash"], ["completion", "zsh"], ["plan", "-p", "x", "-o", "toml"], ["rendr"]],
)  # fmt: skip
def test_no_command_imports_pydantic_rich_or_the_client(args: list[str]) -> None:
    code, _, mods = loaded(*args)
    assert code in (0, 3) and mods == set(), mods


PIPELINE = (
    "import atexit, sys\n"
    "sys.argv = ['regplan', *sys.argv[1:]]\n"
    "mine = lambda: sorted(m for m in sys.modules if m.startswith('regplan.'))\n"
    "atexit.register(lambda: sys.stderr.write('MODULES=' + ','.join(mine()) + '\\n'))\n"
    "from regplan.cli.app import main\n"
    "main()\n"
)


def test_help_imports_no_pipeline_module() -> None:
    """`regplan --help` is typer and the CLI module: no command body, options object or pipeline step."""
    p = subprocess.run([sys.executable, "-c", PIPELINE, "--help"], capture_output=True, text=True, timeout=60)
    line = [x for x in p.stderr.splitlines() if x.startswith("MODULES=")][-1]
    loaded = set(line[len("MODULES=") :].split(","))
    # the two packages' __init__ are docstrings only
    allowed = {
        "regplan.cli", "regplan.cli.app", "regplan.cli.choices", "regplan.base", "regplan.base.errors",
        "regplan.base.record", "regplan.base.lazyre",
    }  # fmt: skip
    assert p.returncode == 0 and loaded <= allowed, loaded


ROOT = Path(__file__).resolve().parents[2]
SNAP4 = str(ROOT / "examples/snapshots/ocp4-pvc-pending.yaml")


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "-p", "ebs-gp2-rwo", "--snapshot", SNAP4],
        ["status", "--snapshot", SNAP4, "-o", "json"],
    ],
)
def test_cluster_commands_skip_pydantic_and_the_client(args: list[str]) -> None:
    code, out, mods = loaded(*args)
    assert code == 0 and out
    assert mods == set(), mods  # a snapshot needs no client either


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


SHAPE = (
    "import atexit, io, sys\n"
    "sys.argv = ['regplan', *sys.argv[1:]]\n"
    "def report():\n"
    "    mods = {n: m for n, m in sys.modules.items() if n.startswith('regplan')}\n"
    "    made = sorted(f'{n}.{k}' for n, m in mods.items() for k, v in vars(m).items()\n"
    "                  if isinstance(v, type) and v.__module__ == n and '__dataclass_params__' in vars(v))\n"
    "    files = sorted(m.__file__ for m in mods.values() if getattr(m, '__file__', None))\n"
    "    sys.stderr.write('MODULES=' + ','.join(sorted(mods)) + '\\n')\n"
    "    sys.stderr.write('DATACLASSES=' + ','.join(made) + '\\n')\n"
    "    sys.stderr.write('FILES=' + ','.join(files) + '\\n')\n"
    "    sys.stderr.write('DECIMAL=' + str('decimal' in sys.modules) + '\\n')\n"
    "atexit.register(report)\n"
    "from regplan.cli.app import main\n"
    "main()\n"
)


def test_render_path_builds_no_dataclass_compiles_no_pattern_at_import_and_skips_normalize() -> None:
    """What made ``render`` slow to start, kept out (docs/performance.md, "Start-up"): a ``@dataclass``
    compiles its methods at import (the row and value classes are ``base.record.Record``s); a module-level
    ``re.compile`` runs whether the pattern is used or not (``base.lazyre.Pattern`` compiles on first use);
    ``normalize`` (the diff's rule tables and the redaction patterns) is only for messages here; ``decimal``
    only for a fractional or exponent quantity."""
    p = subprocess.run(
        [sys.executable, "-c", SHAPE, "render", "-p", "ebs-gp2-rwo"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REGPLAN_PROFILES_DIR": ""},
    )
    lines = dict(x.split("=", 1) for x in p.stderr.splitlines() if x.split("=", 1)[0].isupper() and "=" in x)
    assert p.returncode == 0 and p.stdout
    modules = set(lines["MODULES"].split(","))
    assert "regplan.core.rules" in modules and "regplan.base.normalize" not in modules, modules
    assert lines["DATACLASSES"] == ""
    assert lines["DECIMAL"] == "False"  # 100Gi is whole: int arithmetic (model._whole_quantity)
    compiled = [
        f"{Path(f).name}:{n}"
        for f in lines["FILES"].split(",")
        for n, line in enumerate(Path(f).read_text().splitlines(), 1)
        if re.match(r"[A-Za-z_]\w*\s*(:[^=]*)?=\s*re\.compile\(", line)
    ]
    assert compiled == []
