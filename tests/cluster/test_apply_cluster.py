"""`regplan apply` end to end against the real control plane: every profile on 4.x and 3.x, the audit log
showing exactly the planned writes, idempotence, the known RWX-on-gp2 failure, stale plans, two applies at
once, and waits. Faults and the kubectl cross-check are in test_apply_faults.py / test_apply_kubectl.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from harness import AuditWrite, TargetCluster
from test_plan_cluster import EXTRA, PROFILES, prepare

PLURAL = {
    "Secret": "secrets",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "Config": "configs",
    "DeploymentConfig": "deploymentconfigs",
}
CLAIM = "image-registry-storage"


def planned(doc: dict[str, Any]) -> list[str]:
    """The plan's writes as the audit log will show them."""
    out = []
    for w in doc["writes"]:
        o = w["object"]
        where = f"{o['namespace']}/" if o["namespace"] else "/"
        out.append(f"{w['verb']} {PLURAL[o['kind']]} {where}{o['name']}")
    return out


def made(writes: list[AuditWrite]) -> list[str]:
    """Real (not dry-run) writes regplan made, the Lease excluded (it is the lock, not the plan)."""
    return [
        f"{w.verb} {w.resource} {w.namespace}/{w.name}"
        for w in writes
        if not w.dry_run and w.resource != "leases"
    ]


def save_plan(cluster: TargetCluster, profile: str, path: Path, *extra: str) -> dict[str, Any]:
    r = cluster.run_regplan("plan", "-p", profile, *extra, "--out", str(path), "-o", "json")
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def storage_keys(cluster: TargetCluster) -> set[str]:
    return set(cluster.admin.get("Config", "cluster")["spec"]["storage"]) - {"managementState"}


BACKEND = {"aws-s3": "s3", "ebs-gp2-rwo": "pvc", "glusterfs": "pvc", "cephfs-rwx": "pvc"}


@pytest.mark.parametrize("cluster", ["ocp4", "ocp3"], indirect=True)
@pytest.mark.parametrize("profile", PROFILES)
def test_apply_each_profile_exactly_the_planned_writes_then_zero(
    cluster: TargetCluster, profile: str, tmp_path: Path
) -> None:
    assert cluster.audit is not None
    extra = prepare(cluster, profile)
    plan_file = tmp_path / "plan.json"
    doc = save_plan(cluster, profile, plan_file, *extra)
    deploy_before = cluster.admin.get_or_none("Deployment", "image-registry", cluster.namespace)
    mark = cluster.audit.mark()
    r = cluster.run_regplan("apply", str(plan_file), "--no-wait", "-o", "json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["exitCode"] == 0 and report["writesDone"] == len(doc["writes"])
    writes = cluster.audit.writes(mark, agent="regplan/")
    assert made(writes) == planned(doc)  # exactly the planned writes, in order
    assert all(w.code < 300 for w in writes)
    if doc["writes"]:  # the lock: one Lease create and one delete around them
        assert [w.verb for w in writes if w.resource == "leases"] == ["create", "delete"]
    if cluster.target == "ocp3":
        assert not any(w.dry_run for w in writes)  # 3.11 has no server dry run: never used on 3.x

    # live objects are as the profile says
    if cluster.target == "ocp4":
        assert storage_keys(cluster) == {BACKEND[profile]}
        after = cluster.admin.get_or_none("Deployment", "image-registry", cluster.namespace)
        if deploy_before is not None:
            assert after is not None
            assert after["metadata"]["resourceVersion"] == deploy_before["metadata"]["resourceVersion"]
    else:
        dc = cluster.admin.get("DeploymentConfig", "docker-registry", "default")
        pod = dc["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["registry-certificates"]["secret"]["secretName"] == "registry-certificates"
        container = next(c for c in pod["containers"] if c["name"] == "registry")
        mounts = {m["name"] for m in container["volumeMounts"]}
        env = {e["name"] for e in container.get("env", [])}
        assert "registry-certificates" in mounts
        assert {"REGISTRY_HTTP_TLS_CERTIFICATE", "REGISTRY_HTTP_TLS_KEY"} <= env
        assert "REGISTRY_CONFIGURATION_PATH" in env
        if BACKEND[profile] == "pvc":
            assert volumes["registry-storage"]["persistentVolumeClaim"]["claimName"] == CLAIM
            assert "emptyDir" not in volumes["registry-storage"]

    # second apply: nothing to do, zero write requests of any kind (no dry run, no lock)
    mark2 = cluster.audit.mark()
    again = cluster.run_regplan("apply", "-p", profile, *extra, "--yes", "--no-wait")
    assert again.returncode == 0, again.stderr
    assert "0 writes" in again.stdout
    assert cluster.audit.writes(mark2, agent="regplan/") == []


def test_known_failure_end_to_end(ocp4_cluster: TargetCluster) -> None:
    """Fresh 4.x on S3 -> ebs-gp2-rwo while the operator's RWX claim sits Pending on gp2."""
    c = ocp4_cluster
    assert c.audit is not None
    old = c.operator_claim()
    c.emit_provisioning_failed(CLAIM)

    plan = c.run_regplan("plan", "-p", "ebs-gp2-rwo")
    assert plan.returncode == 0, plan.stderr
    assert "-/+ PersistentVolumeClaim/openshift-image-registry/image-registry-storage" in plan.stdout
    assert "spec.accessModes is immutable" in plan.stdout
    # the claim never bound (Pending, no volume): a replace, but no data is lost, and the plan says so
    assert "no data exists on it" in plan.stdout and "DESTRUCTIVE" not in plan.stdout
    assert "only AccessModes [ReadWriteOnce] are supported" in plan.stdout  # the event, quoted

    mark = c.audit.mark()
    refused = c.run_regplan("apply", "-p", "ebs-gp2-rwo", "--yes")
    assert refused.returncode == 6, refused.stderr
    assert "--allow-replace" in refused.stderr
    assert made(c.audit.writes(mark, agent="regplan/")) == []
    assert (
        c.admin.get("PersistentVolumeClaim", CLAIM, c.namespace)["metadata"]["uid"] == old["metadata"]["uid"]
    )

    mark = c.audit.mark()
    ok = c.run_regplan("apply", "-p", "ebs-gp2-rwo", "--yes", "--allow-replace", "--no-wait")
    assert ok.returncode == 0, ok.stderr
    assert made(c.audit.writes(mark, agent="regplan/")) == [
        f"delete persistentvolumeclaims {c.namespace}/{CLAIM}",
        f"create persistentvolumeclaims {c.namespace}/{CLAIM}",
        "patch configs /cluster",
    ]
    claim = c.admin.get("PersistentVolumeClaim", CLAIM, c.namespace)
    assert claim["metadata"]["uid"] != old["metadata"]["uid"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    spec = c.admin.get("Config", "cluster")["spec"]
    assert spec["replicas"] == 1 and spec["rolloutStrategy"] == "Recreate"
    assert "s3" not in spec["storage"] and spec["storage"]["pvc"] == {"claim": CLAIM}
    assert "deleted and gone" in ok.stdout or "done     delete" in ok.stdout


def test_stale_plan_is_refused_with_nothing_written(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    c = ocp4_cluster
    assert c.audit is not None
    plan_file = tmp_path / "plan.json"
    save_plan(c, "ebs-gp2-rwo", plan_file)
    c.admin.patch("Config", "cluster", {"spec": {"replicas": 3}})  # someone edits a field the plan sets
    mark = c.audit.mark()
    r = c.run_regplan("apply", str(plan_file))
    assert r.returncode == 5, r.stderr
    assert "Config/cluster" in r.stderr and "changed since the plan" in r.stderr
    assert c.audit.writes(mark, agent="regplan/") == []  # not even the lock
    assert c.admin.get_or_none("PersistentVolumeClaim", CLAIM, c.namespace) is None


def test_config_edited_elsewhere_in_what_the_plan_does_not_set_still_applies(
    ocp4_cluster: TargetCluster, tmp_path: Path
) -> None:
    """The operator (or a person) writes the Config all the time; a saved plan whose change to it is still
    the same applies, on the new version, and keeps the other writer's field."""
    c = ocp4_cluster
    plan_file = tmp_path / "plan.json"
    save_plan(c, "ebs-gp2-rwo", plan_file)
    c.admin.patch("Config", "cluster", {"spec": {"logLevel": "Debug"}})  # not a field the plan sets
    r = c.run_regplan("apply", str(plan_file), "--no-wait")
    assert r.returncode == 0, r.stderr
    spec = c.admin.get("Config", "cluster")["spec"]
    assert spec["logLevel"] == "Debug" and spec["replicas"] == 1 and "s3" not in spec["storage"]


def test_stale_secret_source_is_refused(ocp3_cluster: TargetCluster, tmp_path: Path) -> None:
    """A plan file keeps digests only; apply re-reads the sources and refuses when one changed."""
    c = ocp3_cluster
    plan_file = tmp_path / "plan.json"
    env = {
        "REGPLAN_TEST_AK": "AKIAIOSFODNN7EXAMPLE",
        "REGPLAN_TEST_SK": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    }
    args = [
        *EXTRA[("ocp3", "aws-s3")],
        "--set",
        "s3.accessKeyFrom=env:REGPLAN_TEST_AK",
        "--set",
        "s3.secretKeyFrom=env:REGPLAN_TEST_SK",
    ]
    r = c.run_regplan("plan", "-p", "aws-s3", *args, "--out", str(plan_file), env=env)
    assert r.returncode == 0, r.stderr
    assert env["REGPLAN_TEST_SK"] not in plan_file.read_text() + r.stdout + r.stderr
    changed = dict(env, REGPLAN_TEST_SK="a-different-secret-key-value-0000000000")
    stale = c.run_regplan("apply", str(plan_file), env=changed)
    assert stale.returncode == 5, stale.stderr
    assert "changed since the plan" in stale.stderr
    ok = c.run_regplan("apply", str(plan_file), "--no-wait", env=env)
    assert ok.returncode == 0, ok.stderr
    for text in (ok.stdout, ok.stderr, stale.stderr):
        assert env["REGPLAN_TEST_SK"] not in text and env["REGPLAN_TEST_AK"] not in text


def test_two_applies_at_once_do_not_interleave(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    assert c.audit is not None
    mark = c.audit.mark()
    with c.proxy(latency_ms=60) as p:  # slow enough that the two runs overlap
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "regplan",
                    "apply",
                    "-p",
                    "ebs-gp2-rwo",
                    "--yes",
                    "--no-wait",
                    "--lock-timeout",
                    "30",
                ],
                env=c.env(extra={"KUBECONFIG": str(p.kubeconfig)}),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(proc.wait(timeout=120), proc.communicate()) for proc in procs]
    codes = sorted(code for code, _ in results)
    # the loser either waited and then found its plan stale (5), or was refused at the lock (5);
    # if it planned after the winner finished, it found nothing to do (0)
    assert codes in ([0, 0], [0, 5]), results
    writes = [w for w in c.audit.writes(mark, agent="regplan/") if not w.dry_run]
    holding = False
    for w in writes:  # every plan write happens while exactly one run holds the Lease
        if w.resource == "leases":
            if w.verb in ("create", "update") and w.code < 300:
                assert not holding, [x.short() for x in writes]
                holding = True
            elif w.verb == "delete" and w.code < 300:
                holding = False
        else:
            assert holding, [x.short() for x in writes]
    assert made(writes).count(f"create persistentvolumeclaims {c.namespace}/{CLAIM}") == 1
    if 5 in codes:
        loser = next(err for code, (_, err) in results if code == 5)
        assert "stale" in loser or "holds the lock" in loser, loser


def test_lock_held_by_another_exits_5_naming_the_holder(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    c.admin.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "regplan-apply", "namespace": c.namespace},
            "spec": {"holderIdentity": "alice@bastion:4242", "leaseDurationSeconds": 600, "renewTime": now},
        }
    )
    t0 = time.monotonic()
    r = c.run_regplan("apply", "-p", "ebs-gp2-rwo", "--yes", "--lock-timeout", "2", "--no-wait")
    assert r.returncode == 5, r.stderr
    assert "alice@bastion:4242" in r.stderr and "--lock-timeout" in r.stderr
    assert 2 <= time.monotonic() - t0 < 30
    assert c.admin.get_or_none("PersistentVolumeClaim", CLAIM, c.namespace) is None


def test_expired_lock_of_a_crashed_run_is_taken_over(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    c.admin.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "regplan-apply", "namespace": c.namespace},
            "spec": {
                "holderIdentity": "crashed@host:1",
                "leaseDurationSeconds": 60,
                "renewTime": "2020-01-01T00:00:00.000000Z",
            },
        }
    )
    r = c.run_regplan("apply", "-p", "ebs-gp2-rwo", "--yes", "--lock-timeout", "2", "--no-wait")
    assert r.returncode == 0, r.stderr
    assert "crashed@host:1" in r.stderr  # "took over the expired lock of ..."
    assert c.admin.get_or_none("Lease", "regplan-apply", c.namespace) is None


def test_no_terminal_and_no_yes_refuses(ocp4_cluster: TargetCluster) -> None:
    r = ocp4_cluster.run_regplan("apply", "-p", "ebs-gp2-rwo")
    assert r.returncode == 3 and "--yes" in r.stderr
    assert ocp4_cluster.admin.get_or_none("PersistentVolumeClaim", CLAIM, ocp4_cluster.namespace) is None


# test_wait_until_operator_available_and_claim_fine asserted that a WaitForFirstConsumer claim counts as
# fine (issue 8 item 7: it is not); the same scenario, the claim then Bound or failed, is in
# test_apply_wait_cluster.py.


def test_wait_reports_provisioning_failed_at_once(ocp4_cluster: TargetCluster) -> None:
    """A ProvisioningFailed event on the new claim fails apply at once, not at the timeout. The event comes
    from the harness's provisioner stand-in as soon as the claim exists (the real binder says the same for
    glusterfs-storage, whose in-tree plugin is gone since 1.26, but only once its caches have synced)."""
    c = ocp4_cluster
    emitted: list[float] = []

    def provisioner() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if c.admin.get_or_none("PersistentVolumeClaim", CLAIM, c.namespace) is not None:
                c.emit_provisioning_failed(
                    CLAIM, why="no volume plugin matched name: kubernetes.io/glusterfs"
                )
                emitted.append(time.monotonic())
                return
            time.sleep(0.1)

    t = threading.Thread(target=provisioner, daemon=True)
    t.start()
    r = c.run_regplan("apply", "-p", "glusterfs", "--yes", "--timeout", "100", timeout=150)
    done = time.monotonic()
    t.join(5)
    assert r.returncode == 4, r.stderr
    out = r.stdout
    assert (
        "FAILED   PersistentVolumeClaim/openshift-image-registry/image-registry-storage: ProvisioningFailed"
        in out
    )
    assert "skipped  Config/cluster" in out
    assert emitted and done - emitted[0] < 15, done - emitted[0] if emitted else None


def _act_as_dc_controller(c: TargetCluster, stop: threading.Event) -> None:
    """Stand-in for the 3.x DeploymentConfig controller: roll out each new generation."""
    start = c.admin.get("DeploymentConfig", "docker-registry", "default")["metadata"]["generation"]
    while not stop.is_set():
        dc = c.admin.get("DeploymentConfig", "docker-registry", "default")
        gen = dc["metadata"]["generation"]
        if gen > start:
            want = dc["spec"].get("replicas", 1)
            status = dict(
                dc.get("status") or {},
                observedGeneration=gen,
                latestVersion=2,
                replicas=want,
                updatedReplicas=want,
                availableReplicas=want,
                readyReplicas=want,
            )
            c.admin.replace(dict(dc, status=status), sub="status")
            return
        time.sleep(0.2)


def test_wait_for_dc_rollout_on_3x(ocp3_cluster: TargetCluster) -> None:
    c = ocp3_cluster
    stop = threading.Event()
    t = threading.Thread(target=_act_as_dc_controller, args=(c, stop), daemon=True)
    t.start()
    try:
        # aws-s3: no claim to wait for (nothing binds claims here), only the rollout
        r = c.run_regplan(
            "apply", "-p", "aws-s3", *EXTRA[("ocp3", "aws-s3")], "--yes", "--timeout", "60", "-o", "json"
        )
    finally:
        stop.set()
        t.join(5)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    checks = {ch["object"]: ch for ch in report["checks"]}
    dc = checks["DeploymentConfig/default/docker-registry"]
    assert dc["ok"] and "rolled out (latestVersion 2" in dc["detail"], checks


def test_replace_waits_while_a_pod_holds_the_claim(ocp4_cluster: TargetCluster) -> None:
    """The pvc-protection finalizer keeps a deleted claim while a scheduled pod mounts it: apply says which
    pod, waits, and creates the new claim only once the old one is really gone."""
    c = ocp4_cluster
    old = c.operator_claim()
    c.admin.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "image-registry-7d9f-abcde", "namespace": c.namespace},
            "spec": {
                "nodeName": "node-1",  # scheduled (no kubelet here: it stays Pending, holding the claim)
                "containers": [{"name": "registry", "image": "registry.example/registry:1"}],
                "volumes": [{"name": "registry-storage", "persistentVolumeClaim": {"claimName": CLAIM}}],
            },
        }
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regplan",
            "apply",
            "-p",
            "ebs-gp2-rwo",
            "--yes",
            "--allow-replace",
            "--no-wait",
            "--timeout",
            "60",
        ],
        env=c.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the claim is Terminating, held by the finalizer
            claim = c.admin.get_or_none("PersistentVolumeClaim", CLAIM, c.namespace)
            if claim is not None and claim["metadata"].get("deletionTimestamp"):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the claim was never marked for deletion")
        time.sleep(2)
        assert proc.poll() is None  # still waiting
        assert (
            c.admin.get("PersistentVolumeClaim", CLAIM, c.namespace)["metadata"]["uid"]
            == old["metadata"]["uid"]
        )
        c.admin.request(
            "DELETE",
            f"/api/v1/namespaces/{c.namespace}/pods/image-registry-7d9f-abcde",
            {"gracePeriodSeconds": 0},
        )
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "used by pod image-registry-7d9f-abcde" in err
    claim = c.admin.get("PersistentVolumeClaim", CLAIM, c.namespace)
    assert claim["metadata"]["uid"] != old["metadata"]["uid"] and claim["spec"]["accessModes"] == [
        "ReadWriteOnce"
    ]
