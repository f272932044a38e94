"""The benchmarks' network: a proxy adding a fixed wait before each request, in front of the test apiserver.

``latency_proxy(cluster, latency_ms)`` yields an object with what the benchmarks use of the harness proxy
(``tests/cluster/harness/proxy.py``): ``kubeconfig`` (contexts admin/limited, pointing at the proxy),
``url``, ``latency_ms`` and ``requests`` (each with ``method``, ``path``, ``user_agent``).

Two kinds:
- ``go`` (default): ``bench/latencyproxy``, built here with the machine's Go into a cache keyed by its
  source. The fault proxy is Python with TLS on both sides under one interpreter lock; at the fleet's
  hundreds of requests a second it, not the client, was the limit (docs/performance.md).
- ``python``: the harness's own proxy, as earlier figures were measured (``--proxy python``).

Without Go on PATH the ``go`` kind falls back to ``python`` and says so on stderr.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "cluster"))

from harness.proxy import Request  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "latencyproxy"
KINDS = ("go", "python")


def build() -> Path | None:
    """The proxy's binary, built once per source and Go version; None without Go."""
    go = shutil.which("go")
    if go is None:
        return None
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout
    digest = hashlib.sha256(version.encode())
    for name in ("go.mod", "main.go"):
        digest.update((SOURCE / name).read_bytes())
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "regplan" / "bench"
    binary = cache / f"latencyproxy-{digest.hexdigest()[:16]}"
    if not binary.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{binary.name}.{os.getpid()}"
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
        subprocess.run([go, "build", "-o", str(tmp), "."], cwd=SOURCE, env=env, check=True)
        tmp.replace(binary)
    return binary


class GoProxy:
    """A running ``latencyproxy``: its request lines are read by a thread into ``requests``."""

    def __init__(self, binary: Path, cluster: Any, latency_ms: float, workdir: Path) -> None:
        cp = cluster.control_plane
        self.latency_ms = latency_ms
        self._requests: list[Request] = []
        self._synced: set[str] = set()
        self._cond = threading.Condition()
        self._n = 0
        self._proc = subprocess.Popen(
            [str(binary), "-upstream", f"https://127.0.0.1:{cp.port}", "-ca", str(cp.ca_file),
             "-cert", str(cp.ca_file), "-key", str(cp.key_file), "-latency", f"{latency_ms}ms"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline().split()
        if len(first) != 2 or first[0] != "LISTEN":
            self._proc.kill()
            raise RuntimeError(f"latencyproxy did not start: {first!r}")
        self.url = f"https://{first[1]}"
        self._ctx = ssl.create_default_context(cafile=str(cp.ca_file))
        threading.Thread(target=self._read, name="latencyproxy-reader", daemon=True).start()
        self.kubeconfig = workdir / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(cp.kubeconfig_for(self.url)))

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            kind, _, rest = line.rstrip("\n").partition("\t")
            with self._cond:
                if kind == "REQ":
                    method, path, agent = [*rest.split("\t"), "", "", ""][:3]
                    self._requests.append(Request(method, path, {"user-agent": agent}, b""))
                elif kind == "SYNC":
                    self._synced.add(rest)
                    self._cond.notify_all()

    @property
    def requests(self) -> list[Request]:
        """Every request so far: a marker goes through first, so none still in the pipe is missed."""
        self._n += 1
        mark = str(self._n)
        urllib.request.urlopen(
            f"{self.url}/__latencyproxy_sync?n={mark}", context=self._ctx, timeout=30
        ).close()
        with self._cond:
            if not self._cond.wait_for(lambda: mark in self._synced, timeout=30):
                raise RuntimeError("latencyproxy: its request log stopped")
            return list(self._requests)

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


@contextlib.contextmanager
def latency_proxy(cluster: Any, latency_ms: float, kind: str = "go") -> Iterator[Any]:
    """A proxy of ``kind`` adding ``latency_ms`` before every request, for the benchmark's duration."""
    binary = build() if kind == "go" else None
    if kind == "go" and binary is None:
        print("bench: no Go on PATH; using the Python harness proxy (--proxy python)", file=sys.stderr)
    if binary is None:
        with cluster.proxy(latency_ms=latency_ms) as p:
            yield p
        return
    with tempfile.TemporaryDirectory(prefix="regplan-latencyproxy-") as tmp:
        p = GoProxy(binary, cluster, latency_ms, Path(tmp))
        try:
            yield p
        finally:
            p.stop()
