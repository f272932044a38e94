"""Tests of the test control plane itself: real validation, RBAC, patch semantics, binder events,
audit counting, reset, controller stand-ins and the fault proxy behave as the cluster tests rely on."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from harness import (
    APPLY_PATCH,
    JSON_PATCH,
    ApiError,
    AuditLog,
    ClusterPool,
    Kube,
    TargetCluster,
    controlplane,
    is_write,
)
from harness.audit import parse_line
from harness.cluster import kubectl
from harness.process import ManagedProcess, ProcessDied

IMMUTABLE = (
    "spec: Forbidden: spec is immutable after creation except resources.requests and "
    "volumeAttributesClassName for bound claims"
)


def pvc(
    name: str, namespace: str, *, mode: str = "ReadWriteOnce", cls: str | None = None, size: str = "1Gi"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": [mode], "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def wait_event(c: TargetCluster, name: str, reason: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in c.events(name):
            if e["reason"] == reason:
                return e
        time.sleep(0.2)
    raise AssertionError(f"no {reason} event for {name}; have {[e['reason'] for e in c.events(name)]}")


# -- the issue's required checks ----------------------------------------------------------------------


@pytest.mark.parametrize("cluster", ["ocp4", "ocp3"], indirect=True)
def test_admin_can_create_pvc(cluster: TargetCluster) -> None:
    created = cluster.admin.create(pvc("registry", cluster.namespace))
    assert created["metadata"]["uid"]
    got = cluster.admin.get("PersistentVolumeClaim", "registry", cluster.namespace)
    assert got["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_limited_user_is_forbidden_until_granted(cluster: TargetCluster, limited: Kube) -> None:
    with pytest.raises(ApiError) as err:
        limited.create(pvc("registry", cluster.namespace))
    assert err.value.status == 403
    assert err.value.reason == "Forbidden"
    assert 'User "limited" cannot create resource "persistentvolumeclaims"' in err.value.message

    cluster.grant(
        [{"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["create", "get"]}],
        namespace=cluster.namespace,
    )
    assert limited.create(pvc("registry", cluster.namespace))["metadata"]["name"] == "registry"


def test_pvc_access_mode_change_is_rejected_as_immutable(cluster: TargetCluster) -> None:
    cluster.admin.create(pvc("registry", cluster.namespace, cls="gp2"))
    with pytest.raises(ApiError) as err:
        cluster.admin.patch(
            "PersistentVolumeClaim",
            "registry",
            {"spec": {"accessModes": ["ReadWriteMany"]}},
            cluster.namespace,
        )
    assert err.value.status == 422
    assert IMMUTABLE in err.value.message


def test_merge_patch_null_removes_s3(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    before = c.admin.get("Config", "cluster")
    assert "s3" in before["spec"]["storage"]
    after = c.admin.patch(
        "Config", "cluster", {"spec": {"storage": {"s3": None, "pvc": {"claim": "registry"}}}}
    )
    assert "s3" not in after["spec"]["storage"]
    assert after["spec"]["storage"]["pvc"] == {"claim": "registry"}
    assert after["spec"]["storage"]["managementState"] == "Managed"  # siblings untouched
    assert after["spec"]["replicas"] == 2
    # The status is the operator's, not changed by a spec patch.
    assert after["status"]["storage"]["s3"]["region"] == "us-east-1"


def test_wait_for_first_consumer_pvc_stays_pending_with_event(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    c.admin.create(pvc("registry", c.namespace, cls="gp2"))
    ev = wait_event(c, "registry", "WaitForFirstConsumer")
    assert ev["message"] == "waiting for first consumer to be created before binding"
    assert ev["type"] == "Normal"
    assert c.admin.get("PersistentVolumeClaim", "registry", c.namespace)["status"]["phase"] == "Pending"


# -- seed state ----------------------------------------------------------------------------------------


def test_ocp4_seed_is_a_fresh_aws_install(ocp4_cluster: TargetCluster) -> None:
    cfg = ocp4_cluster.admin.get("Config", "cluster")
    assert cfg["spec"]["replicas"] == 2
    assert cfg["spec"]["rolloutStrategy"] == "RollingUpdate"
    assert cfg["spec"]["managementState"] == "Managed"
    assert set(cfg["spec"]["storage"]) == {"s3", "managementState"}
    assert cfg["status"]["storageManaged"] is True
    assert {x["type"] for x in cfg["status"]["conditions"]} >= {"Available", "Progressing", "Degraded"}
    gp2 = ocp4_cluster.admin.get("StorageClass", "gp2")
    assert gp2["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert gp2["volumeBindingMode"] == "WaitForFirstConsumer"
    # The real CRD validates: replicas is required, managementState has a pattern.
    with pytest.raises(ApiError) as err:
        ocp4_cluster.admin.patch("Config", "cluster", {"spec": {"managementState": "Sometimes"}})
    assert err.value.status == 422 and "spec.managementState" in err.value.message


def test_ocp3_seed_has_the_dc_and_no_operator_api(ocp3_cluster: TargetCluster) -> None:
    c = ocp3_cluster
    with pytest.raises(ApiError) as err:
        c.admin.request("GET", "/apis/imageregistry.operator.openshift.io")
    assert err.value.status == 404
    dc = c.admin.get("DeploymentConfig", "docker-registry", "default")
    pod = dc["spec"]["template"]["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["registry-storage"] == {
        "name": "registry-storage",
        "emptyDir": {},
    }
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts == {"registry-storage": "/registry", "registry-certificates": "/etc/secrets"}
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["REGISTRY_HTTP_TLS_KEY"] == "/etc/secrets/registry.key"
    assert dc["spec"]["strategy"]["type"] == "Rolling" and dc["spec"]["replicas"] == 1
    # JSON patch works on the stand-in CRD; strategic merge patch does not (CRDs never support it).
    out = c.admin.patch(
        "DeploymentConfig",
        "docker-registry",
        [{"op": "replace", "path": "/spec/replicas", "value": 2}],
        "default",
        content_type=JSON_PATCH,
    )
    assert out["spec"]["replicas"] == 2
    with pytest.raises(ApiError) as err:
        c.admin.patch(
            "DeploymentConfig",
            "docker-registry",
            {"spec": {"replicas": 3}},
            "default",
            content_type="application/strategic-merge-patch+json",
        )
    assert err.value.status == 415


def test_stale_resource_version_is_a_real_conflict(cluster: TargetCluster) -> None:
    cm = cluster.admin.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": cluster.namespace}}
    )
    cluster.admin.patch("ConfigMap", "x", {"data": {"k": "v"}}, cluster.namespace)  # someone else writes
    cm["data"] = {"k": "mine"}
    with pytest.raises(ApiError) as err:
        cluster.admin.replace(cm)  # PUT with the old resourceVersion
    assert err.value.status == 409 and err.value.reason == "Conflict"
    assert (
        "the object has been modified; please apply your changes to the latest version" in err.value.message
    )


def test_server_side_apply_reports_field_manager_conflicts(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    body = {
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": "cluster"},
        "spec": {"replicas": 1},
    }
    # force: the seed's creator owns spec.replicas (2) until "operator" takes it.
    c.admin.patch(
        "Config",
        "cluster",
        body,
        content_type=APPLY_PATCH,
        query={"fieldManager": "operator", "force": "true"},
    )
    with pytest.raises(ApiError) as err:
        c.admin.patch(
            "Config",
            "cluster",
            dict(body, spec={"replicas": 3}),
            content_type=APPLY_PATCH,
            query={"fieldManager": "regplan"},
        )
    assert err.value.status == 409
    assert 'conflict with "operator"' in err.value.message and ".spec.replicas" in err.value.message


# -- reset ---------------------------------------------------------------------------------------------


def test_reset_restores_seed_and_removes_test_objects(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    seed_cfg = c.admin.get("Config", "cluster")
    c.admin.patch(
        "Config", "cluster", {"spec": {"replicas": 1, "storage": {"s3": None, "pvc": {"claim": "r"}}}}
    )
    c.report_condition("Degraded", "True", "Broken", "test")
    c.admin.create(pvc("registry", c.namespace, cls="ocs-storagecluster-cephfs", mode="ReadWriteMany"))
    c.bind_pvc("registry")  # PV + finalizers: the hard case
    c.admin.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "image-registry-private-configuration-user", "namespace": c.namespace},
            "stringData": {"REGISTRY_STORAGE_S3_ACCESSKEY": "a", "REGISTRY_STORAGE_S3_SECRETKEY": "b"},
        }
    )
    c.admin.delete("StorageClass", "gp3-csi")

    done = c.reset()

    cfg = c.admin.get("Config", "cluster")
    assert cfg["spec"] == seed_cfg["spec"]
    if not c.byo:  # on a brought cluster the operator owns the status: reset leaves it alone
        assert cfg["status"] == seed_cfg["status"]
    assert c.admin.list("PersistentVolumeClaim", c.namespace) == []
    assert c.admin.list("PersistentVolume") == []
    assert c.admin.get_or_none("Secret", "image-registry-private-configuration-user", c.namespace) is None
    assert c.admin.get_or_none("StorageClass", "gp3-csi") is not None
    assert any(d.startswith("restored Config") for d in done)
    assert c.reset() == []  # idempotent: nothing left to do


# -- controller stand-ins -------------------------------------------------------------------------------


def test_bind_pvc_makes_the_real_binder_bind(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    c.admin.create(
        pvc("registry", c.namespace, cls="ocs-storagecluster-cephfs", mode="ReadWriteMany", size="100Gi")
    )
    pv = c.bind_pvc("registry")
    got = c.admin.get("PersistentVolumeClaim", "registry", c.namespace)
    assert got["status"]["phase"] == "Bound"
    assert got["spec"]["volumeName"] == pv
    assert got["status"]["capacity"]["storage"] == "100Gi"
    assert "kubernetes.io/pvc-protection" in got["metadata"]["finalizers"]  # real protection controller
    # Growing a bound claim on an expandable class is accepted; shrinking is the real error.
    with pytest.raises(ApiError) as err:
        c.admin.patch(
            "PersistentVolumeClaim",
            "registry",
            {"spec": {"resources": {"requests": {"storage": "1Gi"}}}},
            c.namespace,
        )
    # Kubernetes >= 1.34 (RecoverVolumeExpansionFailure GA) compares with status.capacity; older
    # servers (and docs/domain.md) say "field can not be less than previous value".
    assert "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity" in (
        err.value.message
    )


def test_provisioning_failed_event_and_operator_condition(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    c.admin.create(pvc("image-registry-storage", c.namespace, cls="gp2", mode="ReadWriteMany", size="100Gi"))
    c.emit_provisioning_failed("image-registry-storage")
    ev = wait_event(c, "image-registry-storage", "ProvisioningFailed")
    assert ev["type"] == "Warning"
    assert ev["message"] == (
        'Failed to provision volume with StorageClass "gp2": invalid AccessModes '
        "[ReadWriteMany]: only AccessModes [ReadWriteOnce] are supported"
    )
    c.report_condition("StorageExists", "False", "PVC Issues Found", "PVC image-registry-storage is Pending")
    conds = {x["type"]: x for x in c.admin.get("Config", "cluster")["status"]["conditions"]}
    assert conds["StorageExists"]["status"] == "False"
    assert conds["StorageExists"]["reason"] == "PVC Issues Found"
    assert conds["Available"]["status"] == "True"  # others kept


@pytest.mark.parametrize("cluster", ["ocp4", "ocp3"], indirect=True)
def test_no_spurious_provisioning_events_and_external_provisioning(cluster: TargetCluster) -> None:
    cluster.admin.create(pvc("registry", cluster.namespace, cls="glusterfs-storage", mode="ReadWriteMany"))
    time.sleep(1.5)  # the binder syncs a new claim at once; nothing may come of it (no provisioners)
    assert cluster.events("registry") == []
    cluster.emit_external_provisioning("registry")
    (ev,) = cluster.events("registry")
    assert ev["reason"] == "ExternalProvisioning" and ev["type"] == "Normal"
    assert ev["message"].startswith(
        "Waiting for a volume to be created either by the external provisioner 'kubernetes.io/glusterfs' or "
        "manually by the system administrator."
    )


# -- audit ---------------------------------------------------------------------------------------------


def test_audit_counts_writes_per_user_agent(cluster: TargetCluster, audit: AuditLog) -> None:
    mark = audit.mark()
    regplan = cluster.admin.with_agent("regplan/0.0-test")
    regplan.create(pvc("registry", cluster.namespace))
    regplan.patch(
        "PersistentVolumeClaim", "registry", {"metadata": {"labels": {"a": "b"}}}, cluster.namespace
    )
    regplan.get("PersistentVolumeClaim", "registry", cluster.namespace)  # reads are not counted
    with pytest.raises(ApiError):  # a refused write is still a write request (code 422)
        regplan.patch(
            "PersistentVolumeClaim",
            "registry",
            {"spec": {"accessModes": ["ReadWriteMany"]}},
            cluster.namespace,
        )
    regplan.create(pvc("dry", cluster.namespace), query={"dryRun": "All"})
    cluster.admin.delete("PersistentVolumeClaim", "registry", cluster.namespace)  # harness agent

    writes = audit.writes(mark, agent="regplan/")
    assert [w.short() for w in writes] == [
        f"create persistentvolumeclaims {cluster.namespace}/registry -> 201",
        f"patch persistentvolumeclaims {cluster.namespace}/registry -> 200",
        f"patch persistentvolumeclaims {cluster.namespace}/registry -> 422",
        f"create persistentvolumeclaims {cluster.namespace}/dry -> 201",
    ]
    assert audit.count(mark, agent="regplan/", dry_run=False) == 3
    assert audit.count(mark, agent="regplan/", dry_run=True) == 1
    assert audit.by_agent(mark)["regplan-test-harness/1"] >= 1
    assert audit.count(audit.mark(), agent="regplan/") == 0


def test_parse_line_ignores_reads_and_other_stages() -> None:
    base = {
        "verb": "patch",
        "stage": "ResponseComplete",
        "userAgent": "regplan/1",
        "objectRef": {"resource": "configs", "name": "cluster", "subresource": "status"},
        "responseStatus": {"code": 200},
        "user": {"username": "admin"},
        "requestURI": "/x",
    }
    w = parse_line(json.dumps(base))
    assert w is not None and w.resource == "configs/status" and w.code == 200 and not w.dry_run
    assert parse_line(json.dumps(dict(base, verb="get"))) is None
    assert parse_line(json.dumps(dict(base, stage="ResponseStarted"))) is None
    assert parse_line('{"truncated') is None


# -- kubeconfig, kubectl, proxy ------------------------------------------------------------------------


def test_kubeconfig_contexts_work_with_kubectl(cluster: TargetCluster) -> None:
    exe = kubectl()
    if exe is None:
        pytest.skip("kubectl not found: run hack/get-kubectl.sh")
    base = [exe, "--kubeconfig", str(cluster.kubeconfig)]
    ok = subprocess.run(
        [*base, "--context", "admin", "get", "storageclasses", "-o", "name"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "storageclass.storage.k8s.io/glusterfs-storage" in ok.stdout.split()
    if cluster.limited is not None:
        no = subprocess.run(
            [*base, "--context", "limited", "get", "pvc", "-n", cluster.namespace],
            capture_output=True,
            text=True,
            check=False,
        )
        assert no.returncode != 0 and "Forbidden" in no.stderr


def test_proxy_adds_latency_and_injects_faults(cluster: TargetCluster) -> None:
    cp = cluster.control_plane
    if cp is None:
        pytest.skip("the proxy serves with the local apiserver's cert: not on a brought cluster")
    with cluster.proxy(latency_ms=100) as p:
        assert p.kubeconfig is not None
        via = Kube(p.url, str(cp.ca_file), cp.admin_token)
        t0 = time.monotonic()
        via.get("Namespace", cluster.namespace)
        assert time.monotonic() - t0 >= 0.1
        p.latency_ms = 0

        p.fail_nth(2, "503")  # the 2nd write answers 503, not forwarded
        via.create(pvc("one", cluster.namespace))
        with pytest.raises(ApiError) as err:
            via.create(pvc("two", cluster.namespace))
        assert err.value.status == 503
        assert cluster.admin.get_or_none("PersistentVolumeClaim", "two", cluster.namespace) is None

        p.fail_nth(1, "reset", lambda r: is_write(r) and "/persistentvolumeclaims" in r.path)
        with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected, OSError)):
            via.create(pvc("three", cluster.namespace))
        assert [r.method for r in p.writes()] == ["POST", "POST", "POST"]

        exe = kubectl()
        if exe is not None:  # a Go client through the proxy (HTTP/1.1, same CA)
            out = subprocess.run(
                [exe, "--kubeconfig", str(p.kubeconfig), "get", "pvc", "-n", cluster.namespace, "-o", "name"],
                capture_output=True,
                text=True,
                check=False,
            )
            assert out.returncode == 0, out.stderr
            assert out.stdout.split() == ["persistentvolumeclaim/one"]


def test_proxy_callback_races_a_write_into_a_real_conflict(ocp4_cluster: TargetCluster) -> None:
    c = ocp4_cluster
    cp = c.control_plane
    if cp is None:
        pytest.skip("needs the local control plane")
    with c.proxy() as p:
        via = Kube(p.url, str(cp.ca_file), cp.admin_token, user_agent="regplan/0.0-test")
        cfg = via.get("Config", "cluster")
        p.on_nth(1, lambda req: c.touch("Config", "cluster"))  # someone writes just before us
        cfg["spec"]["replicas"] = 1
        with pytest.raises(ApiError) as err:
            via.replace(cfg)
        assert err.value.status == 409
    assert c.admin.get("Config", "cluster")["spec"]["replicas"] == 2


def test_a_dying_process_reports_its_log(tmp_path: Path) -> None:
    p = ManagedProcess(
        "fake",
        [sys.executable, "-c", "print('bind: address already in use'); raise SystemExit(3)"],
        tmp_path / "fake.log",
    )
    p.start()
    deadline = time.monotonic() + 10
    while p.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(ProcessDied) as err:
        p.check()
    assert "exited with code 3" in str(err.value)
    assert "bind: address already in use" in str(err.value)


def test_start_retries_when_a_free_port_was_taken(
    cluster_pool: ClusterPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if cluster_pool.binaries is None:
        pytest.skip("needs the local binaries")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    real = controlplane.free_port
    ports = iter([taken.getsockname()[1]])  # etcd's client port: already in use
    monkeypatch.setattr(controlplane, "free_port", lambda: next(ports, None) or real())
    cp = controlplane.ControlPlane(cluster_pool.binaries, tmp_path / "cp")
    try:
        cp.start()
        assert cp.admin().request("GET", "/readyz", timeout=5) is not None
        assert "address already in use" in (tmp_path / "cp" / "etcd.log").read_text()
    finally:
        cp.stop()
        taken.close()
    assert not any(p.alive() for p in cp.processes)
