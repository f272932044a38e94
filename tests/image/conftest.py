"""Fixtures of the image tier: regplan's container image (deploy/image/Containerfile), built by
hack/build-image.sh (an mmdebstrap base + buildah, cached under ~/.cache/regplan/image). Every test under
tests/image/ is marked ``image``; imagerun.py says how a process runs inside the image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from imagerun import BUILD, Image, buildah_argv

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.image)


@pytest.fixture(scope="session")
def image() -> Iterator[Image]:
    if os.geteuid() != 0 and not shutil.which("buildah"):
        pytest.skip("image tier: buildah is missing and installing it needs root (apt-get install buildah)")
    p = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=1800, check=False)
    if p.returncode != 0:
        pytest.fail(f"hack/build-image.sh failed (exit {p.returncode}):\n{p.stderr[-4000:]}", pytrace=False)
    name = p.stdout.strip().splitlines()[-1]
    ctr = subprocess.run(
        [*buildah_argv(), "from", "--pull=never", name], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield Image(name=name, container=ctr)
    finally:
        subprocess.run([*buildah_argv(), "rm", ctr], capture_output=True, check=False)
