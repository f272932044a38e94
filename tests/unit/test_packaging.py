"""A non-editable `pip install .` ships templates and profiles: run elsewhere, it renders every profile.
And the image build's one environment input (the base's date key) is checked before anything runs."""

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
    target = tmp_path_factory.mktemp("site")
    # hatchling is in the test extra (pinned): the build needs no network
    p = subprocess.run(
        [*PIP, "--no-build-isolation", "--target", str(target), str(ROOT)],
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


HOSTILE_KEYS = ["../../up", "a/b", "x\ny", "2026-w49\n", "x\ry", "w\u2028x", "..", "a..b", "-rf", " ", "a b"]


@pytest.mark.parametrize("value", [*HOSTILE_KEYS, "a" * 65, "w\x1b[2J", "$(id)", "*"])
def test_image_build_refuses_a_base_date_key_that_is_not_one_word(value: str, tmp_path: Path) -> None:
    # the key names a file under the cache and an image tag: refused before anything is installed or built
    env = {**os.environ, "REGPLAN_IMAGE_BASE_DATE": value, "REGPLAN_IMAGE_CACHE": str(tmp_path / "cache")}
    p = subprocess.run(
        ["bash", str(ROOT / "hack" / "build-image.sh")], env=env, capture_output=True, text=True, timeout=30
    )
    assert p.returncode == 2 and "REGPLAN_IMAGE_BASE_DATE must be one word" in p.stderr
    assert "\x1b" not in p.stderr and not (tmp_path / "cache").exists()
