"""Fixtures of the wheel tier: regplan's sdist and wheel as `python -m build` makes them, installed into a
fresh venv outside the tree. Every test under tests/packaging/ is marked ``wheel``.

- ``dist`` (session): the sdist and the wheel built from it (`python -m build --no-isolation`: the backend,
  hatchling, is pinned in the test extra, so the build needs no network).
- ``installed`` (session): a venv in a temp directory with that wheel and its runtime dependencies (pip,
  pinned by constraints.txt), nothing else: ``installed.regplan`` is its console script.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from wheeltools import ROOT, Dist, Installed

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests" / "unit"))  # test_readme: how README commands are extracted


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.wheel)


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600, **kw)  # type: ignore[call-overload]
    assert p.returncode == 0, f"{' '.join(argv)}:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}"
    return p  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)])
    sdists, wheels = sorted(out.glob("regplan-*.tar.gz")), sorted(out.glob("regplan-*-py3-none-any.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return Dist(sdist=sdists[0], wheel=wheels[0])


@pytest.fixture(scope="session")
def installed(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    venv = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "-c", str(ROOT / "constraints.txt"), str(dist.wheel)], cwd=venv)
    yield Installed(venv=venv)
