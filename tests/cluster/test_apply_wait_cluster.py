"""apply --wait on the stand-in control plane: a WaitForFirstConsumer claim is watched until Bound or
failed (issue 8 item 7). The kube-controller-manager's real binder emits WaitForFirstConsumer for gp2
claims; the provisioner's verdict comes later, when the registry pod is scheduled (here: the test).
The same waits against the real operator: test_operator_journey.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
from harness import TargetCluster
from harness.controllers import write_stale_spec

CLAIM = "image-registry-storage"
QUOTA = "UnauthorizedOperation: You are not authorized to perform this operation (ec2:CreateVolume)"


def _wffc_then(c: TargetCluster, outcome: Callable[[], object], seen: list[float]) -> None:
    """Once the binder said WaitForFirstConsumer and the operator stand-in reported the Config done,
    the (pretend) scheduled registry pod makes the provisioner act: ``outcome``."""
    deadline = time.monotonic() + 90
    start = c.admin.get("Config", "cluster")["metadata"].get("generation") or 0
    reported = False
    while time.monotonic() < deadline:
        cfg = c.admin.get("Config", "cluster")
        gen = cfg["metadata"].get("generation") or 0
        if not reported and gen > start:
            c.report_ready()
            reported = True
        wffc = [e for e in c.events(CLAIM) if e.get("reason") == "WaitForFirstConsumer"]
        if reported and wffc:
            time.sleep(2)  # well after apply saw WaitForFirstConsumer
            outcome()
            seen.append(time.monotonic())
            return
        time.sleep(0.2)


@pytest.mark.parametrize("outcome", ["bound", "failed"])
def test_wait_watches_a_wffc_claim_until_bound_or_failed(ocp4_cluster: TargetCluster, outcome: str) -> None:
    c = ocp4_cluster
    seen: list[float] = []
    act = (
        (lambda: c.bind_pvc(CLAIM))
        if outcome == "bound"
        else (lambda: c.emit_provisioning_failed(CLAIM, why=QUOTA))
    )
    t = threading.Thread(target=_wffc_then, args=(c, act, seen), daemon=True)
    t.start()
    r = c.run_regplan("apply", "-p", "ebs-gp2-rwo", "--yes", "--timeout", "120", "-o", "json", timeout=180)
    done = time.monotonic()
    t.join(5)
    assert seen, "the provisioner stand-in never acted (no WaitForFirstConsumer event?)"
    report = json.loads(r.stdout)
    checks = {ch["object"]: ch for ch in report["checks"]}
    claim = checks[f"PersistentVolumeClaim/{c.namespace}/{CLAIM}"]
    if outcome == "bound":
        assert r.returncode == 0, r.stderr
        assert claim["ok"] and claim["detail"] == "Bound"
        assert checks["Config/cluster"]["ok"] and "Available" in checks["Config/cluster"]["detail"]
    else:
        assert r.returncode == 4, r.stderr
        assert not claim["ok"] and QUOTA in claim["detail"]  # the event, quoted
        assert done - seen[0] < 15  # at once, not at the timeout


def test_wait_reports_a_lost_update_as_exit_5(ocp4_cluster: TargetCluster) -> None:
    """The operator's lost update (observed, docs/control-plane.md), replayed: once regplan's Config patch
    landed, the 'operator' writes back the spec of the snapshot its sync began with (write_stale_spec: an
    UPDATE with the fresh resourceVersion, no 409) and reports that generation ready. apply must not say
    "Apply complete": exit 5 naming the lost fields."""
    c = ocp4_cluster
    before = c.admin.get("Config", "cluster")

    def operator_overwrites() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cfg = c.admin.get("Config", "cluster")
            if cfg["metadata"]["generation"] > before["metadata"]["generation"]:
                write_stale_spec(c.admin, before["spec"])
                c.report_ready()
                return
            time.sleep(0.05)

    t = threading.Thread(target=operator_overwrites, daemon=True)
    t.start()
    r = c.run_regplan("apply", "-p", "glusterfs", "--yes", "--timeout", "60", "-o", "json", timeout=120)
    t.join(5)
    assert r.returncode == 5, r.stderr + r.stdout
    error = json.loads(r.stdout)["error"]
    assert "lost update" in error and "spec.storage.pvc" in error and "spec.storage.s3" in error, error
    assert "Apply complete" not in r.stdout + r.stderr
