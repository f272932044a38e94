"""Faults between regplan and the apiserver at each write of an apply, in turn.

The plan is the known-failure one (replace the operator's RWX claim, patch Config/cluster), so apply makes
five write requests: Lease create, claim delete, claim create, Config patch, Lease delete. For each, the
harness proxy resets the connection or answers 503 instead of forwarding it, once (apply must retry and
finish) or persistently (apply must stop, say which objects are old / new / partial, and a new apply must
finish the job). Afterwards every object is in its old or its new state, never half-patched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from harness import TargetCluster, is_write
from harness.proxy import Request
from test_apply_cluster import CLAIM

STEPS = ("lease create", "claim delete", "claim create", "config patch", "lease delete")


def regplan_write(req: Request) -> bool:
    return is_write(req) and req.user_agent.startswith("regplan/") and "dryRun" not in req.path


def claim_state(c: TargetCluster, old_uid: str) -> str:
    claim = c.admin.get_or_none("PersistentVolumeClaim", CLAIM, c.namespace)
    if claim is None:
        return "partial"  # deleted, not yet created again
    if claim["metadata"]["uid"] == old_uid:
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
        return "old"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    return "new"


def config_state(c: TargetCluster) -> str:
    spec = c.admin.get("Config", "cluster")["spec"]
    storage = spec["storage"]
    if "s3" in storage and "pvc" not in storage:
        assert spec["replicas"] == 2
        return "old"
    assert "s3" not in storage and storage["pvc"] == {"claim": CLAIM}, storage  # never both, never half
    assert spec["replicas"] == 1 and spec["rolloutStrategy"] == "Recreate"
    return "new"


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "persistent"])
@pytest.mark.parametrize("action", ["reset", "503"])
@pytest.mark.parametrize("step", range(1, len(STEPS) + 1), ids=list(STEPS))
def test_fault_at_each_write(
    ocp4_cluster: TargetCluster, tmp_path: Path, step: int, action: str, persistent: bool
) -> None:
    c = ocp4_cluster
    old_uid = c.operator_claim()["metadata"]["uid"]
    c.emit_provisioning_failed(CLAIM)
    plan_file = tmp_path / "plan.json"
    r = c.run_regplan("plan", "-p", "ebs-gp2-rwo", "--out", str(plan_file))
    assert r.returncode == 0, r.stderr

    with c.proxy() as p:
        p.fail_nth(step, action, regplan_write, repeat=persistent)  # type: ignore[arg-type]
        r = c.run_regplan(
            "apply", str(plan_file), "--allow-replace", "--no-wait", "-o", "json", kubeconfig=p.kubeconfig
        )
        failed_requests = [q for q in p.requests if regplan_write(q)]
    assert "Traceback" not in r.stderr
    assert len(failed_requests) >= step

    states = {"claim": claim_state(c, old_uid), "config": config_state(c)}
    if not persistent or step == len(STEPS):
        # one lost request is retried (after re-reading whether it took effect); a Lease that cannot be
        # deleted only delays the next apply until it expires, and apply says so
        assert r.returncode == 0, r.stderr
        assert states == {"claim": "new", "config": "new"}
        if persistent:
            assert "could not release the lock" in r.stderr
    else:
        assert r.returncode == 4, r.stderr
        if step == 1:  # the lock itself could not be taken: nothing was written
            assert "Lease" in r.stderr or "leases" in r.stderr
            assert states == {"claim": "old", "config": "old"}
        else:
            report: dict[str, Any] = json.loads(r.stdout)
            said = report["objects"]
            assert said[f"PersistentVolumeClaim/{c.namespace}/{CLAIM}"] == states["claim"], (said, states)
            assert said["Config/cluster"] == states["config"], (said, states)
            assert [s["result"] for s in report["steps"]].count("failed") == 1
    # a lock left behind by a run that could not delete it would expire after 60s; clear it now
    c.admin.delete("Lease", "regplan-apply", c.namespace)

    # a new plan shows exactly what remains, and applying it finishes the job
    again = c.run_regplan("plan", "-p", "ebs-gp2-rwo", "--detailed-exitcode")
    remaining = again.returncode == 2
    assert again.returncode in (0, 2), again.stderr
    assert remaining == (states != {"claim": "new", "config": "new"})
    fin = c.run_regplan("apply", "-p", "ebs-gp2-rwo", "--yes", "--allow-replace", "--no-wait")
    assert fin.returncode == 0, fin.stderr
    assert {"claim": claim_state(c, old_uid), "config": config_state(c)} == {"claim": "new", "config": "new"}
    done = c.run_regplan("plan", "-p", "ebs-gp2-rwo", "--detailed-exitcode")
    assert done.returncode == 0, done.stdout


def test_reads_failing_before_the_first_write_leave_everything_untouched(
    ocp4_cluster: TargetCluster, tmp_path: Path
) -> None:
    """Every GET answers 503 while applying a saved plan: retried, then exit 4 with no write at all."""
    c = ocp4_cluster
    assert c.audit is not None
    plan_file = tmp_path / "plan.json"
    r = c.run_regplan("plan", "-p", "ebs-gp2-rwo", "--out", str(plan_file), "--target", "ocp4")
    assert r.returncode == 0, r.stderr
    mark = c.audit.mark()
    with c.proxy() as p:
        p.fail_nth(1, "503", lambda q: q.method == "GET" and q.user_agent.startswith("regplan/"), repeat=True)
        r = c.run_regplan("apply", str(plan_file), "--target", "ocp4", "--no-wait", kubeconfig=p.kubeconfig)
        gets = [q for q in p.requests if q.method == "GET" and q.user_agent.startswith("regplan/")]
    assert r.returncode == 4, r.stderr
    assert "HTTP 503" in r.stderr and "Traceback" not in r.stderr
    assert len(gets) >= 4  # retried with backoff before giving up
    assert c.audit.writes(mark, agent="regplan/") == []
