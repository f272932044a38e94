"""Fixtures of the argocd tier: regplan's Config Management Plugin run by Argo CD's real argocd-cmp-server,
driven over its gRPC socket the way argocd-repo-server drives it (hack/build-argocd.sh builds both pieces
from the Argo CD Go module into the testbin cache; the Go sources are beside this file).

Every test under tests/argocd/ is marked ``argocd``. Fixtures:
- ``argocd_bin`` (session): the directory holding argocd-cmp-server and cmp-client. Missing: fail with the
  build command when CI is set, skip with the same one line otherwise.
- ``cmp_server`` (session): an argocd-cmp-server with deploy/argocd/plugin.yaml at its config path,
  listening on a unix socket in a short temp dir (sockets are limited to 107 bytes of path), `regplan` of
  this checkout on its PATH. ``cmp_server.call(op, repo, app_path, env=..., params=...)`` runs cmp-client.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PLUGIN = ROOT / "deploy" / "argocd" / "plugin.yaml"
BUILD_COMMAND = "bash hack/build-argocd.sh (or make testbin)"
SECRET = "AKIAARGOCDTIERSECRET1"  # in the sidecar's environment (FLEET_AWS_ACCESS): must never be echoed
SOCKET = "regplan-v1.sock"  # <metadata.name>-<spec.version>.sock, as the cmp-server names it


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.argocd)


def argocd_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    root = Path(env.get("REGPLAN_TESTBIN") or Path.home() / ".cache/regplan/testbin")
    return root / "argocd" / "current"


@pytest.fixture(scope="session")
def argocd_bin() -> Path:
    d = argocd_dir()
    missing = [n for n in ("argocd-cmp-server", "cmp-client") if not os.access(d / n, os.X_OK)]
    if missing:
        msg = f"argocd tier: {', '.join(missing)} not built in {d}: run {BUILD_COMMAND}"
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return d.resolve()


@dataclass
class CmpServer:
    """A running argocd-cmp-server and the client that talks to it."""

    client: Path
    socket: Path
    log: Path
    workdir: Path  # ARGOCD_CMP_WORKDIR: each request's repository is unpacked below <workdir>/_cmp_server/
    secret: str = SECRET

    def call(
        self,
        op: str,
        repo: Path,
        app_path: str = ".",
        *,
        env: Sequence[str] = (),
        params: list[dict[str, Any]] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.client), "-socket", str(self.socket), "-op", op, "-repo", str(repo)]
        argv += ["-app-path", app_path]
        for e in env:
            argv += ["-env", e]
        if params is not None:
            argv += ["-params", json.dumps(params)]
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)

    def ok(self, op: str, repo: Path, app_path: str = ".", **kw: Any) -> Any:
        p = self.call(op, repo, app_path, **kw)
        assert p.returncode == 0, f"{op} {app_path}: {p.stderr}\n--- server log tail:\n{self.tail()}"
        return json.loads(p.stdout)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def cmp_server(argocd_bin: Path) -> Iterator[CmpServer]:
    base = Path(tempfile.mkdtemp(prefix="cmp", dir="/tmp"))
    try:
        (base / "config").mkdir()
        (base / "plugins").mkdir()
        (base / "work").mkdir()
        shutil.copyfile(PLUGIN, base / "config" / "plugin.yaml")
        bin_dir = Path(sys.executable).parent  # this checkout's regplan
        env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(base),
            "ARGOCD_PLUGINSOCKFILEPATH": str(base / "plugins"),
            "ARGOCD_CMP_WORKDIR": str(base / "work"),
            "ARGOCD_CMP_SERVER_LOGFORMAT": "text",
            "FLEET_AWS_ACCESS": SECRET,
        }
        log = base / "server.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(argocd_bin / "argocd-cmp-server"), "--config-dir-path", str(base / "config")],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        socket = base / "plugins" / SOCKET
        try:
            deadline = time.monotonic() + 30
            while not socket.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"argocd-cmp-server did not start:\n{log.read_text()}", pytrace=False)
                time.sleep(0.05)
            yield CmpServer(client=argocd_bin / "cmp-client", socket=socket, log=log, workdir=base / "work")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        shutil.rmtree(base, ignore_errors=True)
