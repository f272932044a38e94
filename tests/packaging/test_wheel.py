"""The artifact users install: `python -m build` makes an sdist and a wheel (the wheel built from the sdist,
so the sdist is complete); the wheel holds regplan, its templates and profiles and nothing of the project's
test tooling; installed into a fresh venv outside the tree it reports its version and runs every offline
command of the README, from a scratch directory holding only a copy of examples/. And the README's install
line, run as written in a copy of the repository, installs a regplan that works once the copy is gone."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from test_readme import commands, expected_exit, needs_cluster
from wheeltools import ROOT, Dist, Installed

from regplan import __version__

TEST_TOOLING = ("import pytest", "from pytest", "tests/fixtures", "tests/scenarios", "FAKE_ENV")


def shipped(root: Path, pattern: str) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file()}


def test_sdist_holds_the_sources_and_no_build_outputs(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "regplan/__init__.py", "regplan/cli/app.py"} <= names
    assert {f"profiles/{n}" for n in shipped(ROOT / "profiles", "*.yaml")} <= names
    assert {f"templates/{n}" for n in shipped(ROOT / "templates", "**/*")} <= names
    assert not [n for n in names if re.search(r"(^|/)(\.venv|__pycache__|dist|\.git|golden|tests)(/|$)", n)]


def test_wheel_holds_regplan_its_templates_and_profiles_and_no_test_tooling(dist: Dist) -> None:
    assert dist.wheel.name == f"regplan-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(dist.wheel) as whl:
        names = set(whl.namelist())
        texts = {n: whl.read(n).decode() for n in names if n.endswith(".py")}
    meta = f"regplan-{__version__}.dist-info/"
    assert all(n.startswith(("regplan/", meta)) for n in names), sorted(names)
    assert {n for n in names if n.startswith("regplan/profiles/")} == {
        f"regplan/profiles/{n}" for n in shipped(ROOT / "profiles", "*.yaml")
    }
    assert {n for n in names if n.startswith("regplan/templates/")} == {
        f"regplan/templates/{n}" for n in shipped(ROOT / "templates", "**/*")
    }
    sources = {f"regplan/{n}" for n in shipped(ROOT / "regplan", "**/*.py")}
    assert {n for n in names if n.endswith(".py")} == sources  # the package, nothing added or left out
    assert "regplan/golden.py" not in names and "regplan/scenarios.py" not in names  # tools/, not shipped
    tooling = {n: [t for t in TEST_TOOLING if t in text] for n, text in texts.items()}
    assert {n: found for n, found in tooling.items() if found} == {}


def test_installed_wheel_reports_its_version(installed: Installed, tmp_path: Path) -> None:
    p = subprocess.run([str(installed.regplan), "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.strip() == f"regplan {__version__}", p.stdout + p.stderr
    meta = subprocess.run(
        [str(installed.python), "-c", "import importlib.metadata as m, regplan; print(m.version('regplan'));"
         "print(regplan.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    version, where = meta.stdout.split()
    assert version == __version__
    assert Path(where).is_relative_to(installed.venv), where  # the installed copy, not this checkout


def test_offline_readme_commands_run_with_the_installed_wheel(installed: Installed, tmp_path: Path) -> None:
    """test_readme's walk through the README, with the venv's `regplan` and no trace of this checkout."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {
        "PATH": f"{installed.venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "NO_COLOR": "1",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    cwd, ran, parsed = tmp_path, 0, 0
    for line in commands():
        if line == "#block":
            cwd = tmp_path
            continue
        code_part = line.split(" #", 1)[0].strip()
        if line.startswith("cd "):
            cwd = cwd / code_part[3:].strip()
            continue
        if line.startswith("export "):
            env.update(a.partition("=")[::2] for a in shlex.split(code_part)[1:])
            continue
        if code_part.startswith(("regplan completion", "source ")):
            continue
        redirect = None
        if " > " in code_part:
            code_part, redirect = (p.strip() for p in code_part.split(" > ", 1))
        argv = shlex.split(code_part)[1:]
        if needs_cluster(argv):
            parsed += 1  # needs a cluster: test_readme checks its options; nothing to run offline
            continue
        p = subprocess.run(
            [str(installed.regplan), *argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
        )
        assert p.returncode == expected_exit(line), (line, p.stderr)
        assert "Traceback" not in p.stderr, line
        if redirect:
            (cwd / redirect).write_text(p.stdout)
        ran += 1
    assert ran > 20 and parsed > 5, (ran, parsed)


def install_block() -> str:
    """The sh block of the README's "Install" section: the line someone with only the repository runs."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Install\n") :]
    section = section[: section.index("\n## ", 1)]
    return section[section.index("```sh\n") + len("```sh\n") : section.index("\n```", section.index("```sh"))]


def test_the_readme_install_line_works_from_a_copy_of_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "regplan-src"
    skip = shutil.ignore_patterns(".git", ".venv*", "dist", "build", "*.egg-info", "__pycache__", ".*_cache")
    shutil.copytree(ROOT, repo, ignore=skip)
    home = tmp_path / "home"
    home.mkdir()
    # `python3`: the base interpreter under this suite's venv (>= 3.11), not the venv (which holds regplan)
    base = Path(sys.base_prefix) / "bin"
    assert (base / "python3").exists() and not (base / "regplan").exists()
    env = {"PATH": f"{base}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    block = install_block()
    assert "pip install" in block and "constraints.txt" in block, block
    p = subprocess.run(
        ["bash", "-euc", block], cwd=repo, env=env, capture_output=True, text=True, timeout=600
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    regplan = home / ".local" / "share" / "regplan" / "bin" / "regplan"  # where the block puts it
    out = subprocess.run([str(regplan), "--version"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.stdout.strip() == f"regplan {__version__}", out.stderr
    shutil.rmtree(repo)  # an installed copy, not a link to the sources
    render = subprocess.run(
        [str(regplan), "render", "-p", "ebs-gp2-rwo"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    golden = ROOT / "golden" / "render" / "ebs-gp2-rwo" / "ocp4" / "default.yaml"
    assert render.returncode == 0 and render.stdout == golden.read_text(), render.stderr
