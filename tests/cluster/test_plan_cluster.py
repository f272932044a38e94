"""`regplan plan` end to end against the real control plane (seeded 4.x and 3.x states).

Each test runs the CLI as a subprocess (real exit codes, real stdout) with the harness kubeconfig.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import TargetCluster, matching
from harness.cluster import kubectl

# Extra value options per (target, profile): what a 3.x admin would pass for a class the cluster has.
EXTRA: dict[tuple[str, str], list[str]] = {
    ("ocp3", "aws-s3"): ["--set", "s3.bucket=regplan-registry-bucket", "--set", "s3.region=us-east-1"],
    ("ocp3", "cephfs-rwx"): ["--set", "claim.storageClass=cephfs"],
}
ROOT = Path(__file__).resolve().parents[2]
# The built-in profiles, read from profiles/: a new profile is tested here without editing this file.
PROFILES = tuple(sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml")))

# What each profile must plan from the seeded state: object -> action.
EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    ("ocp4", "aws-s3"): {"Config/cluster": "no-op"},  # a fresh AWS cluster is already on S3
    ("ocp4", "ebs-gp2-rwo"): {
        "PersistentVolumeClaim/openshift-image-registry/image-registry-storage": "create",
        "Config/cluster": "update",
    },
    ("ocp4", "glusterfs"): {
        "PersistentVolumeClaim/openshift-image-registry/image-registry-storage": "create",
        "Config/cluster": "update",
    },
    ("ocp4", "cephfs-rwx"): {
        "PersistentVolumeClaim/openshift-image-registry/image-registry-storage": "create",
        "Config/cluster": "update",
    },
    ("ocp3", "aws-s3"): {
        "Secret/default/registry-config": "create",
        "DeploymentConfig/default/docker-registry": "update",
    },
    ("ocp3", "ebs-gp2-rwo"): {
        "Secret/default/registry-config": "create",
        "PersistentVolumeClaim/default/image-registry-storage": "create",
        "DeploymentConfig/default/docker-registry": "update",
    },
    ("ocp3", "glusterfs"): {
        "Secret/default/registry-config": "create",
        "PersistentVolumeClaim/default/image-registry-storage": "create",
        "DeploymentConfig/default/docker-registry": "update",
    },
    ("ocp3", "cephfs-rwx"): {
        "Secret/default/registry-config": "create",
        "PersistentVolumeClaim/default/image-registry-storage": "create",
        "DeploymentConfig/default/docker-registry": "update",
    },
}

GP2 = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "gp2"},
    "provisioner": "kubernetes.io/aws-ebs",
    "volumeBindingMode": "WaitForFirstConsumer",
}


def prepare(cluster: TargetCluster, profile: str) -> list[str]:
    """Per-target setup a real cluster of that kind would already have; returns the extra CLI args."""
    if (
        cluster.target == "ocp3"
        and profile == "ebs-gp2-rwo"
        and cluster.admin.get_or_none("StorageClass", "gp2") is None
    ):
        cluster.admin.create(GP2)  # a 3.11 cluster on AWS has gp2; the seed has only gluster and cephfs
    return EXTRA.get((cluster.target, profile), [])


def plan_json(
    cluster: TargetCluster, profile: str, *args: str, codes: tuple[int, ...] = (0, 2), **kw: Any
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    r = cluster.run_regplan("plan", "-p", profile, "-o", "json", *args, **kw)
    assert r.returncode in codes, f"exit {r.returncode}: {r.stderr} {r.stdout[-2000:]}"
    return json.loads(r.stdout), r


def actions(doc: dict[str, Any]) -> dict[str, str]:
    return {c["ref"]: c["action"] for c in doc["changes"]}


@pytest.mark.parametrize("cluster", ["ocp4", "ocp3"], indirect=True)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_plans_from_the_seeded_state(cluster: TargetCluster, profile: str) -> None:
    extra = prepare(cluster, profile)
    mark = cluster.audit.mark() if cluster.audit else 0
    doc, _ = plan_json(cluster, profile, *extra, "--target", "auto")
    assert doc["target"] == cluster.target  # auto-detected from what the cluster serves
    assert actions(doc) == EXPECTED[(cluster.target, profile)]
    assert doc["summary"]["errors"] == 0, doc["diagnostics"]
    if cluster.target == "ocp4":
        # switching backend removes the seeded s3 block (rule 1) unless the profile is s3
        cfg = next(c for c in doc["changes"] if c["ref"] == "Config/cluster")
        removed = {f["path"] for f in cfg["fields"] if f["change"] == "removed"}
        assert any(p.startswith("spec.storage.s3") for p in removed) == (profile != "aws-s3")
    # plan never writes; on 4.x its only write requests are the server-side dry runs of the planned writes
    if cluster.audit:
        writes = cluster.audit.writes(mark, agent="regplan/")
        assert [w for w in writes if not w.dry_run] == []
        expected_dry = len(doc["writes"]) if cluster.target == "ocp4" else 0
        assert len(writes) == expected_dry


def test_text_plan_shows_fields_and_removal(ocp4_cluster: TargetCluster) -> None:
    r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", "--detailed-exitcode")
    assert r.returncode == 2, r.stderr
    assert "+ PersistentVolumeClaim/openshift-image-registry/image-registry-storage" in r.stdout
    assert "~ spec.replicas: 2 -> 1" in r.stdout
    bucket = "regplan-test-7xk2p-image-registry-us-east-1-qwertyuiopasdfgh"
    assert f'- spec.storage.s3.bucket: "{bucket}" -> (removed)' in r.stdout
    assert "\x1b[" not in r.stdout  # not a terminal: no colour


@pytest.mark.parametrize("cluster", ["ocp4", "ocp3"], indirect=True)
def test_limited_user_gets_exit_4_with_the_403_explained(cluster: TargetCluster) -> None:
    r = cluster.run_regplan("plan", "-p", "glusterfs", "--target", cluster.target, context="limited")
    assert r.returncode == 4, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("regplan:")]
    assert len(lines) == 1, r.stderr
    line = lines[0]
    assert "forbidden (403): cannot get" in line and 'User "limited"' in line
    assert f"in namespace {cluster.namespace}" in line or "cluster-scoped" in line
    assert "Traceback" not in r.stderr


def test_unreachable_cluster_is_exit_4_one_line(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    cfg = yaml.safe_load(ocp4_cluster.kubeconfig.read_text())
    cfg["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"  # nothing listens there
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    r = ocp4_cluster.run_regplan("plan", "-p", "glusterfs", kubeconfig=path)
    assert r.returncode == 4
    assert "cannot reach the cluster at https://127.0.0.1:1" in r.stderr and "connection refused" in r.stderr
    assert "Traceback" not in r.stderr


def test_kubeconfig_several_files_and_context(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    """--kubeconfig a:b merges like KUBECONFIG; --context picks the user."""
    cfg = yaml.safe_load(ocp4_cluster.kubeconfig.read_text())
    clusters_only = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": cfg["clusters"],
        "contexts": cfg["contexts"],
        "current-context": "admin",
    }
    users_only = {"apiVersion": "v1", "kind": "Config", "users": cfg["users"]}
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text(yaml.safe_dump(clusters_only))
    b.write_text(yaml.safe_dump(users_only))
    joined = f"{a}:{b}"
    ok = ocp4_cluster.run_regplan("plan", "-p", "glusterfs", "--kubeconfig", joined)
    assert ok.returncode == 0, ok.stderr
    denied = ocp4_cluster.run_regplan(
        "plan", "-p", "glusterfs", "--kubeconfig", joined, "--context", "limited"
    )
    assert denied.returncode == 4 and "forbidden" in denied.stderr


def dump_live(cluster: TargetCluster, path: Path) -> None:
    """What an admin would record: `oc get <kinds> -o yaml` of the registry namespace plus the cluster-scoped
    objects, as multi-document YAML (kubectl when present, else the harness client)."""
    ns = cluster.namespace
    exe = kubectl()
    docs: list[Any] = []
    top = (
        "configs.imageregistry.operator.openshift.io,storageclasses"
        if cluster.target == "ocp4"
        else "storageclasses"
    )
    namespaced = "persistentvolumeclaims,secrets,events,pods" + (
        ",deploymentconfigs.apps.openshift.io" if cluster.target == "ocp3" else ""
    )
    if exe:
        for args in (["get", top, "-o", "yaml"], ["get", namespaced, "-n", ns, "-o", "yaml"]):
            out = subprocess.run(
                [exe, "--kubeconfig", str(cluster.kubeconfig), *args],
                capture_output=True,
                text=True,
                check=True,
            )
            docs.append(yaml.safe_load(out.stdout))
    else:
        items: list[Any] = []
        kinds = ["StorageClass"] + (["Config"] if cluster.target == "ocp4" else [])
        for kind in kinds:
            items.extend(dict(o, apiVersion=o.get("apiVersion"), kind=kind) for o in cluster.admin.list(kind))
        for kind in ["PersistentVolumeClaim", "Secret", "Event", "Pod"] + (
            ["DeploymentConfig"] if cluster.target == "ocp3" else []
        ):
            items.extend(dict(o, kind=kind) for o in cluster.admin.list(kind, ns))
        docs.append({"apiVersion": "v1", "kind": "List", "items": items})
    path.write_text(yaml.safe_dump_all(docs))


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The plan without where the live state came from (and without server dry-run diagnostics or the record
    of what the dry run checked: a snapshot is never dry-run)."""
    out = dict(doc)
    out.pop("source", None)
    out.pop("serverDryRun", None)
    out["diagnostics"] = [d for d in doc["diagnostics"] if d.get("origin") != "server dry-run"]
    return out


@pytest.mark.parametrize("cluster", ["ocp4", "ocp3"], indirect=True)
@pytest.mark.parametrize("profile", ["ebs-gp2-rwo", "cephfs-rwx"])
def test_snapshot_plan_equals_live_plan(cluster: TargetCluster, profile: str, tmp_path: Path) -> None:
    extra = prepare(cluster, profile)
    # A non-trivial live state: an RWX claim, Pending, with a ProvisioningFailed event. No class, so the
    # real binder adds no events of its own while the test runs (its repeated events would reorder).
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "image-registry-storage",
            "namespace": cluster.namespace,
            "annotations": {"imageregistry.openshift.io": "true"},
        },
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": "100Gi"}},
            "storageClassName": "glusterfs-storage",
        },
    }
    cluster.admin.create(claim)
    cluster.emit_provisioning_failed("image-registry-storage")
    snap = tmp_path / "live.yaml"
    # Events are written asynchronously by the controllers too; take the pair again if one of them was
    # read across such a change (at most twice), then require equality key by key.
    for _ in range(3):
        live_doc, _ = plan_json(cluster, profile, *extra, codes=(0, 2, 3))
        dump_live(cluster, snap)
        snap_doc, _ = plan_json(cluster, profile, *extra, "--snapshot", str(snap), codes=(0, 2, 3))
        a, b = comparable(snap_doc), comparable(live_doc)
        if a == b:
            break
    for key in sorted(set(a) | set(b)):
        assert json.dumps(a.get(key), sort_keys=True) == json.dumps(b.get(key), sort_keys=True), key
    assert any("ProvisioningFailed" in d["message"] for d in live_doc["diagnostics"])


def test_request_count_does_not_grow_with_the_cluster(ocp4_cluster: TargetCluster) -> None:
    """Same requests with 0 and with 60 unrelated PVCs + Secrets in another namespace."""

    def count() -> list[tuple[str, str]]:
        with ocp4_cluster.proxy() as p:
            r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", kubeconfig=p.kubeconfig)
            assert r.returncode == 0, r.stderr
            pred = matching(agent="regplan/")
            return sorted((q.method, q.path.split("?")[0]) for q in p.requests if pred(q))

    before = count()
    ocp4_cluster.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "noise"}})
    for i in range(30):
        ocp4_cluster.admin.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"s{i}", "namespace": "noise"},
                "stringData": {"k": "v"},
            }
        )
        ocp4_cluster.admin.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": f"c{i}", "namespace": "noise"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        )
    after = count()
    assert after == before
    assert len(before) <= 12, before  # discovery + objects by name + class + events + pods + dry runs


def test_bad_token_is_exit_4_unauthorized(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    cfg = yaml.safe_load(ocp4_cluster.kubeconfig.read_text())
    for user in cfg["users"]:
        user["user"]["token"] = "not-a-valid-token"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    r = ocp4_cluster.run_regplan("plan", "-p", "glusterfs", kubeconfig=path)
    assert r.returncode == 4, r.stderr
    assert "unauthorized (401)" in r.stderr and "not-a-valid-token" not in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("regplan:")]) == 1


def test_tls_is_verified(ocp4_cluster: TargetCluster, ocp3_cluster: TargetCluster, tmp_path: Path) -> None:
    """A kubeconfig whose CA is another cluster's: refused, one line, exit 4 (no silent insecure fallback)."""
    import base64

    assert ocp3_cluster.control_plane is not None
    cfg = yaml.safe_load(ocp4_cluster.kubeconfig.read_text())
    other_ca = ocp3_cluster.control_plane.ca_file.read_bytes()
    cfg["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other_ca).decode()
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    r = ocp4_cluster.run_regplan("plan", "-p", "glusterfs", kubeconfig=path)
    assert r.returncode == 4, r.stderr
    assert "TLS verification failed" in r.stderr and "certificate verify failed" in r.stderr


def test_dry_run_delete_leaves_the_claim(ocp4_cluster: TargetCluster) -> None:
    """DELETE options travel in the body, where the apiserver reads dryRun: a dry run must not delete."""
    from regplan.base.model import Ref, Verb, Write
    from regplan.cluster import Cluster

    ns = ocp4_cluster.namespace
    claim = ocp4_cluster.admin.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "dry-run-probe", "namespace": ns},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    )
    ref = Ref("v1", "PersistentVolumeClaim", ns, "dry-run-probe")
    meta = claim["metadata"]
    delete = Write(ref, Verb.DELETE, uid=meta["uid"], resource_version=meta["resourceVersion"])
    assert Cluster(kubeconfig=str(ocp4_cluster.kubeconfig), context="admin").dry_run([delete]) == []
    still = ocp4_cluster.admin.get_or_none("PersistentVolumeClaim", "dry-run-probe", ns)
    assert still is not None and still["metadata"]["uid"] == meta["uid"]
