"""A non-editable `pip install .` ships templates and profiles: run elsewhere, it renders every profile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIP = (sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check")
# The built-in profiles, read from profiles/: a new profile is tested here without editing this file.
PROFILES = tuple(sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml")))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import importlib.util

    target = tmp_path_factory.mktemp("site")
    # with hatchling at hand, build offline; else pip fetches it into an isolated build env (PyPI)
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    p = subprocess.run(
        [*PIP, *isolation, "--target", str(target), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    return target


def run(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    env.pop("REGPLAN_PROFILES_DIR", None)
    return subprocess.run(
        [str(installed / "bin" / "regplan"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


def test_wheel_contains_templates_and_profiles(installed: Path) -> None:
    pkg = installed / "regplan"
    assert sorted(p.name for p in (pkg / "profiles").glob("*.yaml")) == sorted(f"{n}.yaml" for n in PROFILES)
    assert list((pkg / "templates" / "ocp4").glob("*.yaml.j2"))
    assert list((pkg / "templates" / "ocp3").glob("*.yaml.j2"))


def test_installed_copy_renders_every_profile_from_elsewhere(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-c", "import regplan; print(regplan.__file__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(installed)), where.stdout  # not the editable checkout
    listing = run(installed, tmp_path, "profiles")
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == len(PROFILES)
    for profile in PROFILES:
        for target in ("ocp4", "ocp3"):
            args = ["--set", "s3.bucket=b-1", "--set", "s3.region=r"] if profile == "aws-s3" else []
            p = run(installed, tmp_path, "render", "-p", profile, "--target", target, *args)
            assert p.returncode == 0, (profile, target, p.stderr)
            expected = ROOT / "golden" / "render" / profile / target / "default.yaml"
            if expected.exists() and not args:
                assert p.stdout == expected.read_text(), (profile, target)
            assert "kind: " in p.stdout
