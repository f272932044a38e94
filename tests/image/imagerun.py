"""Running processes inside regplan's image (the image tier's helpers; fixtures in conftest.py).

How a process runs in the image: one working container (``buildah from``) per session, and ``buildah run
--isolation chroot --user 999:999 -v HOST:PATH --env K=V --workingdir DIR CONTAINER -- COMMAND`` per command,
with the image's config (PATH, HOME, working directory) applied. Bind mounts stand in for Argo CD's volumes
(the cmp-server binary, the plugins socket directory, /tmp). deploy/image/README.md says the same for people.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "hack" / "build-image.sh"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def cache_dir() -> Path:
    return Path(os.environ.get("REGPLAN_IMAGE_CACHE") or Path.home() / ".cache/regplan/image")


def buildah_argv() -> list[str]:
    """buildah with the storage hack/build-image.sh builds into."""
    cache = cache_dir()
    storage = ["--root", str(cache / "containers"), "--runroot", str(cache / "run")]
    return ["buildah", "--storage-driver", "vfs", *storage]


@dataclass
class Image:
    """The built image and one working container of it."""

    name: str  # e.g. localhost/regplan:0.1.0
    container: str

    def argv(
        self,
        command: Sequence[str],
        *,
        user: str = "999:999",
        volumes: Mapping[Path, str] = {},
        env: Mapping[str, str] = {},
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
