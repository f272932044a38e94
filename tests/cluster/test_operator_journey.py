"""regplan against the REAL cluster-image-registry-operator (issue 9): the seed's journey end to end,
every 4.x profile from the S3 default, the lost-update race, and what the operator rejects.

The operator runs in its own 4.x control plane (``operator_cluster``); the CLI runs as a subprocess with
the harness kubeconfig. There is no kubelet, scheduler, Deployment controller or cloud: ``AutoRollout``
plays them (claims the registry pod mounts are provisioned by the stand-in, EBS refusing RWX; the
Deployment is marked rolled out once every claim is Bound). There is no AWS either, so S3 storage fails
in the operator here (its DNS lookup of the bucket endpoint fails): the S3 default is that failing state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from harness import TargetCluster
from harness.operator import (
    DEPLOYMENT,
    NAMESPACE,
    AutoRollout,
    conditions,
    deployment_claims,
    observed,
    registry_env,
)

CLAIM = "image-registry-storage"
ROOT = Path(__file__).resolve().parents[2]
# The built-in profiles, read from profiles/: a new profile is tested here without editing this file.
PROFILES = tuple(sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml")))
# What each profile's claim must look like once applied (the S3 profile has none).
CLAIM_SPEC = {
    "ebs-gp2-rwo": (["ReadWriteOnce"], "gp2"),
    "glusterfs": (["ReadWriteMany"], "glusterfs-storage"),
    "cephfs-rwx": (["ReadWriteMany"], "ocs-storagecluster-cephfs"),
}
T = TypeVar("T")


def wait_for(what: str, fn: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def config(c: TargetCluster) -> dict[str, Any]:
    return c.admin.get("Config", "cluster")


def deployment(c: TargetCluster) -> dict[str, Any]:
    return c.admin.get("Deployment", DEPLOYMENT, NAMESPACE)


def rolled_out(d: dict[str, Any]) -> bool:
    st = d.get("status") or {}
    want = int(d["spec"].get("replicas") or 0)
    return (
        int(st.get("observedGeneration") or 0) >= int(d["metadata"]["generation"])
        and int(st.get("updatedReplicas") or 0) >= want
        and int(st.get("availableReplicas") or 0) >= want
    )


def no_error_condition(cfg: dict[str, Any]) -> list[str]:
    """Conditions that say something is wrong (empty when the operator is content)."""
    conds = conditions(cfg)
    bad = []
    for t in ("Degraded",):
        if conds.get(t, {}).get("status") == "True":
            bad.append(f"{t}: {conds[t].get('message')}")
    prog = conds.get("Progressing", {})
    if prog.get("status") == "True" and prog.get("reason") == "Error":
        bad.append(f"Progressing Error: {prog.get('message')}")
    if conds.get("StorageExists", {}).get("status") == "False":
        bad.append(f"StorageExists False: {conds['StorageExists'].get('message')}")
    return bad


def plan_doc(c: TargetCluster, profile: str) -> dict[str, Any]:
    r = c.run_regplan("plan", "-p", profile, "-o", "json")
    assert r.returncode in (0, 2), f"exit {r.returncode}: {r.stderr}"
    return dict(json.loads(r.stdout))


def assert_uses_claim(c: TargetCluster, profile: str) -> None:
    d = deployment(c)
    assert deployment_claims(d) == [CLAIM]
    container = d["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts") or []}
    assert mounts.get("registry-storage") == "/registry", mounts
    env = registry_env(d)
    assert env.get("REGISTRY_STORAGE") == "filesystem", env
    assert not [k for k in env if k.startswith("REGISTRY_STORAGE_S3")], env  # no S3 left behind
    modes, klass = CLAIM_SPEC[profile]
    pvc = c.admin.get("PersistentVolumeClaim", CLAIM, NAMESPACE)
    assert pvc["spec"]["accessModes"] == modes and pvc["spec"].get("storageClassName") == klass
    assert pvc["status"]["phase"] == "Bound"


def test_the_seed_journey_end_to_end(operator_cluster: TargetCluster) -> None:
    """S3 default -> the user sets claim "" -> the operator's RWX claim fails on gp2 -> plan shows the
    destructive replace -> apply --allow-replace -> the operator rolls the registry onto the RWO claim."""
    c = operator_cluster
    with AutoRollout(c.admin, delay=2.0) as kubelet:
        # the user, following the docs, asks the operator for a claim
        c.admin.patch("Config", "cluster", {"spec": {"storage": {"s3": None, "pvc": {"claim": ""}}}})
        old = wait_for(
            "the operator's claim", lambda: c.admin.get_or_none("PersistentVolumeClaim", CLAIM, NAMESPACE)
        )
        assert old["spec"]["accessModes"] == ["ReadWriteMany"]
        assert old["metadata"]["annotations"]["imageregistry.openshift.io"] == "true"
        assert old["spec"]["storageClassName"] == "gp2"  # the default class, by admission
        wait_for(
            "the operator to rewrite the claim name",
            lambda: (config(c)["spec"]["storage"].get("pvc") or {}).get("claim") == CLAIM,
        )
        wait_for(f"gp2 to refuse the RWX claim {kubelet.errors[-3:]}", lambda: CLAIM in kubelet.failed_claims)

        # verify names the silent failure: the claim the registry mounts never bound
        before = c.run_regplan("verify", "-p", "ebs-gp2-rwo", "-o", "json")
        assert before.returncode == 2, before.stderr
        failing = {x["check"] for x in json.loads(before.stdout)["checks"] if not x["ok"]}
        assert "claim-bound" in failing, before.stdout

        plan = c.run_regplan("plan", "-p", "ebs-gp2-rwo")
        assert plan.returncode in (0, 2), plan.stderr
        assert f"-/+ PersistentVolumeClaim/{NAMESPACE}/{CLAIM}" in plan.stdout, plan.stdout
        assert "no data exists on it" in plan.stdout  # the operator's claim never bound: nothing to lose
        assert "only AccessModes [ReadWriteOnce] are supported" in plan.stdout  # the event, quoted

        r = c.run_regplan(
            "apply",
            "-p",
            "ebs-gp2-rwo",
            "--yes",
            "--allow-replace",
            "--timeout",
            "120",
            "-o",
            "json",
            timeout=180,
        )
        returned = deployment(c)
        assert r.returncode == 0, r.stderr + r.stdout
        # --wait returned on the real outcome: the new template rolled out, not a stale Available
        assert rolled_out(returned), returned.get("status")

    new = c.admin.get("PersistentVolumeClaim", CLAIM, NAMESPACE)
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    assert_uses_claim(c, "ebs-gp2-rwo")
    d = deployment(c)
    assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"]["type"] == "Recreate"
    cfg = config(c)
    assert observed(cfg), (cfg["spec"]["storage"], cfg["status"].get("storage"))
    assert no_error_condition(cfg) == []
    assert conditions(cfg)["Available"]["status"] == "True"
    assert plan_doc(c, "ebs-gp2-rwo")["writes"] == []  # nothing the operator wrote shows as drift
    after = c.run_regplan("verify", "-p", "ebs-gp2-rwo")
    assert after.returncode == 0, after.stdout + after.stderr  # the registry really uses the new claim


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_from_the_s3_default(operator_cluster: TargetCluster, profile: str) -> None:
    c = operator_cluster
    with AutoRollout(c.admin, delay=2.0):
        r = c.run_regplan("apply", "-p", profile, "--yes", "--timeout", "120", "-o", "json", timeout=180)
        returned = deployment(c)
    assert r.returncode == 0, r.stderr + r.stdout
    cfg = config(c)
    if profile == "aws-s3":
        # the S3 default already: nothing to write, and the operator's own spec fields are no drift
        assert json.loads(r.stdout)["writesDone"] == 0
        env = registry_env(deployment(c))
        assert env.get("REGISTRY_STORAGE") == "s3" and deployment_claims(deployment(c)) == []
        # No AWS here: the operator cannot reach the bucket, so it never records S3 in status.storage;
        # it says so, and that is the one thing this profile cannot show against it.
        prog = conditions(cfg)["Progressing"]
        assert prog["reason"] == "Error" and "unable to sync storage configuration" in prog["message"]
    else:
        assert rolled_out(returned), returned.get("status")
        assert_uses_claim(c, profile)
        assert no_error_condition(cfg) == []
        assert observed(cfg), (cfg["spec"]["storage"], cfg["status"].get("storage"))
        v = c.run_regplan("verify", "-p", profile)
        assert v.returncode == 0, v.stdout + v.stderr
    assert plan_doc(c, profile)["writes"] == []


def test_apply_while_the_operator_rewrites_the_config_loses_nothing(operator_cluster: TargetCluster) -> None:
    """The lost update (observed, docs/control-plane.md): the operator writes the Config spec from the
    snapshot it read at the start of its sync (no precondition). The user has just set claim "" (the
    operator will rewrite the name and storage.managementState); regplan applies meanwhile. Whatever the
    interleaving, apply either reports success and every planned field is live once the operator has
    settled, or fails with exit 5 naming what was lost; never "Apply complete" over a lost write."""
    c = operator_cluster
    outcomes = []
    with AutoRollout(c.admin, delay=0.5):
        for attempt in range(3):
            c.admin.patch(
                "Config",
                "cluster",
                {"spec": {"storage": {"s3": None, "pvc": {"claim": ""}, "managementState": None}}},
            )
            r = c.run_regplan(
                "apply",
                "-p",
                "cephfs-rwx",
                "--yes",
                "--allow-replace",
                "--timeout",
                "120",
                "-o",
                "json",
                timeout=180,
            )
            time.sleep(2)  # let the operator finish whatever it was doing
            cfg = config(c)
            live = (
                cfg["spec"]["replicas"],
                cfg["spec"]["storage"].get("pvc"),
                "s3" in cfg["spec"]["storage"],
            )
            outcomes.append((attempt, r.returncode, live))
            # the operator may create its claim or write the Config between plan and apply (exit 5, the
            # plan is stale, nothing written), keep changing it through plan's retries (exit 5), or
            # overwrite regplan's patch (exit 5 naming the lost fields); never a silent success
            assert r.returncode in (0, 5), r.stderr + r.stdout
            if r.returncode == 0:
                assert live == (2, {"claim": CLAIM}, False), (r.stdout, live)
            else:
                said = (r.stderr + r.stdout).lower()
                safe = ("lost", "changed while planning", "the plan is stale")
                assert any(w in said for w in safe), r.stderr
            c.reset()
    assert outcomes


def test_operator_error_fails_wait_at_once_quoting_it(operator_cluster: TargetCluster) -> None:
    """From a claim, back to S3: the operator cannot reach S3 here and reports Progressing=True reason
    Error. apply --wait fails at once (not at --timeout) with the operator's own message."""
    c = operator_cluster
    with AutoRollout(c.admin, delay=0.5):
        first = c.run_regplan("apply", "-p", "glusterfs", "--yes", "--timeout", "120", timeout=180)
        assert first.returncode == 0, first.stderr + first.stdout
        t0 = time.monotonic()
        r = c.run_regplan("apply", "-p", "aws-s3", "--yes", "--timeout", "200", "-o", "json", timeout=260)
        took = time.monotonic() - t0
    assert r.returncode == 4, r.stderr + r.stdout
    prog = conditions(config(c)).get("Progressing", {})
    assert prog.get("reason") == "Error", prog
    report = json.loads(r.stdout)
    assert "Unable to apply resources" in report["error"], report["error"]
    assert took < 60, took
