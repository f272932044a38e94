"""Fixtures of the image tier: regplan's container image (deploy/image/Containerfile), built by
hack/build-image.sh (mmdebstrap base + buildah, cached under ~/.cache/regplan/image), and processes run inside it.

Every test under tests/image/ is marked ``image``. How a process runs in the image: one working container
(``buildah from``) per session, and ``buildah run --isolation chroot --user 999:999 -v HOST:PATH ...`` per
command, with the image's config (PATH, HOME, working directory) applied. Bind mounts are how Argo CD's
volumes (the cmp-server binary, the plugins socket directory, /tmp) are stood in for. deploy/image/README.md
says the same for people.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILD = ROOT / "hack" / "build-image.sh"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.image)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def cache_dir() -> Path:
    return Path(os.environ.get("REGPLAN_IMAGE_CACHE") or Path.home() / ".cache/regplan/image")


def buildah_argv() -> list[str]:
    """buildah with the storage hack/build-image.sh builds into."""
    cache = cache_dir()
    return [
        "buildah", "--storage-driver", "vfs", "--root", str(cache / "containers"), "--runroot", str(cache / "run"),
    ]  # fmt: skip


@dataclass
class Image:
    """The built image and one working container of it."""

    name: str  # e.g. localhost/regplan:0.1.0
    container: str
    mounted: list[str] = field(default_factory=list)

    def argv(
        self,
        command: Sequence[str],
        *,
        user: str = "999:999",
        volumes: Mapping[Path, str] = {},  # noqa: B006 - read only
        env: Mapping[str, str] = {},  # noqa: B006
        workdir: str | None = None,
    ) -> list[str]:
        """The command line that runs ``command`` inside the image (``volumes``: host path -> PATH[:ro])."""
        out = [*buildah_argv(), "run", "--isolation", "chroot", "--user", user]
        for host, inside in volumes.items():
            out += ["-v", f"{host}:{inside}"]
        for key, value in env.items():
            out += ["--env", f"{key}={value}"]
        if workdir is not None:
            out += ["--workingdir", workdir]
        return [*out, self.container, "--", *command]

    def run(self, *command: str, timeout: float = 120, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(command, **kw),  # type: ignore[arg-type]
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


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
