"""The background connection (regplan.engine.prefetch): what it overlaps, and that errors keep their order."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import regplan.cluster
from regplan.base.errors import ClusterError
from regplan.base.model import Target
from regplan.engine import prefetch, workflow


class SlowCluster:
    """Stands in for the adapter: building it and detecting take a while, on the connecting thread."""

    built_on: list[str] = []
    closed = 0

    def __init__(self, *, kubeconfig: str | None, context: str | None) -> None:
        SlowCluster.built_on.append(threading.current_thread().name)
        self.warnings = ("careful",)

    def detect_target(self) -> Target:
        return Target.OCP3

    def close(self) -> None:
        SlowCluster.closed += 1


class BrokenCluster:
    def __init__(self, **_: Any) -> None:
        raise ClusterError("kubeconfig not found: /nowhere")


def test_the_adapter_is_built_and_the_target_detected_on_the_connecting_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(regplan.cluster, "Cluster", SlowCluster)
    warned: list[str] = []
    conn = prefetch.Connection(kubeconfig=None, context=None, detect=True)
    live = workflow.Live(snapshot=None, kubeconfig=None, context=None, warn=warned.append, connection=conn)
    assert live.target("auto") is Target.OCP3
    assert SlowCluster.built_on[-1] == "regplan-connect"
    assert warned == ["careful"]  # the connection's warnings, said once
    closed = SlowCluster.closed
    live.close()
    assert SlowCluster.closed == closed + 1


def test_errors_wait_where_they_would_have_been_met(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regplan.cluster, "Cluster", BrokenCluster)
    conn = prefetch.Connection(kubeconfig="/nowhere", context=None, detect=True)
    live = workflow.Live(snapshot=None, kubeconfig=None, context=None, connection=conn)
    with pytest.raises(ClusterError, match="kubeconfig not found"):
        live.target("auto")
    live.close()  # does not raise: the error was reported where it arose


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        # the values cannot be loaded AND the cluster is unreachable: the values' error, as without the
        # overlap (the domain rules need the target, so they come after detection, as they always did)
        (["plan", "-p", "ebs-gp2-rwo", "-f", "/nonexistent/values.yaml"], 3, "/nonexistent/values.yaml"),
        (["plan", "-p", "nope"], 3, "unknown profile"),
        (["plan", "-p", "ebs-gp2-rwo", "--set", "novalue"], 3, "expected KEY=VALUE"),
        (["status", "--target", "bogus"], 3, "invalid choice"),
        (["apply", "-p", "nope", "--yes"], 3, "unknown profile"),
        (["plan", "-p", "ebs-gp2-rwo", "--target", "ocp4", "--set", "replicas=2"], 3, "rwo-replicas"),
        (["plan", "-p", "ebs-gp2-rwo"], 4, "kubeconfig not found"),
        (["status"], 4, "kubeconfig not found"),
    ],
)
def test_cli_error_order_with_an_unreachable_kubeconfig(args: list[str], code: int, words: str) -> None:
    env = {**os.environ, "KUBECONFIG": "/nonexistent/kubeconfig"}
    p = subprocess.run(
        [sys.executable, "-m", "regplan", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert p.returncode == code, p.stderr
    assert words in p.stderr and "Traceback" not in p.stderr and "Fatal" not in p.stderr
