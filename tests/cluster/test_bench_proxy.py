"""The benchmarks' Go latency proxy (bench/latencyproxy, bench/netproxy.py) is the network the figures in
docs/performance.md claim: every request waits the latency, reaches the real apiserver with the caller's
credentials, is logged once (method, path, user agent, control characters blanked) and in order, and
HTTP/1.1 is what Go and Python clients get."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from harness import Kube, TargetCluster
from harness.cluster import kubectl

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import netproxy

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="the bench proxy is built with Go")


def test_latency_credentials_and_the_request_log(cluster: TargetCluster) -> None:
    cp = cluster.control_plane
    if cp is None:
        pytest.skip("the proxy serves with the local apiserver's cert: not on a brought cluster")
    with netproxy.latency_proxy(cluster, 120, "go") as p:
        assert isinstance(p, netproxy.GoProxy)
        via = Kube(p.url, str(cp.ca_file), cp.admin_token)
        t0 = time.monotonic()
        via.get("Namespace", cluster.namespace)
        assert time.monotonic() - t0 >= 0.12
        seen = p.requests
        assert [(r.method, r.path) for r in seen] == [("GET", f"/api/v1/namespaces/{cluster.namespace}")]
        assert "/__latencyproxy_sync" not in "".join(r.path for r in p.requests)

        limited = Kube(p.url, str(cp.ca_file), cp.limited_token)  # the caller's credentials, not the proxy's
        with pytest.raises(Exception, match=r"403|[Ff]orbidden"):
            limited.get("Secret", "anything", "kube-system")

        # Go's server refuses other control characters in a header; a tab is the one that reaches the log
        headers = {"User-Agent": "bench\tagent", "Authorization": f"Bearer {cp.admin_token}"}
        tls = ssl.create_default_context(cafile=str(cp.ca_file))
        version = urllib.request.Request(f"{p.url}/version", headers=headers)
        urllib.request.urlopen(version, context=tls, timeout=30).close()
        agents = [r.user_agent for r in p.requests if r.user_agent.startswith("bench")]
        assert agents == ["bench agent"], agents

        exe = kubectl()
        if exe is not None:  # a Go client through it
            out = subprocess.run(
                [exe, "--kubeconfig", str(p.kubeconfig), "get", "ns", cluster.namespace, "-o", "name"],
                capture_output=True, text=True, check=False, timeout=60,
            )  # fmt: skip
            assert out.returncode == 0 and out.stdout.strip() == f"namespace/{cluster.namespace}", out.stderr
            assert any(r.user_agent.startswith("kubectl") for r in p.requests)

def test_the_python_kind_is_the_harness_proxy(cluster: TargetCluster) -> None:
    if cluster.control_plane is None:
        pytest.skip("the proxy serves with the local apiserver's cert: not on a brought cluster")
    with netproxy.latency_proxy(cluster, 0, "python") as p:
        assert not isinstance(p, netproxy.GoProxy) and p.kubeconfig is not None
