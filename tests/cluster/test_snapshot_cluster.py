"""`regplan snapshot` against the real apiserver, on the README's classic case (the operator's RWX claim
Pending on gp2 with its ProvisioningFailed event): it records (events come from a list, without apiVersion
and kind: issue 16's KeyError), and plan, status and verify against the snapshot say what they say live."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from harness import TargetCluster

pytestmark = pytest.mark.cluster

CLAIM = "image-registry-storage"


def pending_claim(c: TargetCluster) -> None:
    c.admin.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": CLAIM,
                "namespace": c.namespace,
                "annotations": {"imageregistry.openshift.io": "true"},
            },
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "100Gi"}},
                "storageClassName": "gp2",
            },
        }
    )
    c.emit_provisioning_failed(CLAIM)


def test_snapshot_of_the_classic_case_answers_as_the_cluster(
    ocp4_cluster: TargetCluster, tmp_path: Path
) -> None:
    c = ocp4_cluster
    pending_claim(c)
    (tmp_path / "regplan.yaml").write_text(
        textwrap.dedent(
            f"""\
            clusters:
              - name: dev
                context: admin
                kubeconfig: {c.kubeconfig}
                profile: ebs-gp2-rwo
            """
        )
    )
    snap = subprocess.run(
        [sys.executable, "-m", "regplan", "snapshot"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert snap.returncode == 0, snap.stderr
    assert "Traceback" not in snap.stderr
    path = tmp_path / "snapshots" / "dev.yaml"
    doc = yaml.safe_load(path.read_text())
    events = [o for o in doc["items"] if o["kind"] == "Event"]
    assert "ProvisioningFailed" in [e["reason"] for e in events]  # and the PV controller's own
    assert all(e["apiVersion"] == "v1" for e in events)
    recorded = json.loads(doc["metadata"]["annotations"]["regplan.io/recorded"])
    assert "Deployment/openshift-image-registry/image-registry" in recorded  # asked for, found or not
    for argv in (
        ["plan", "-p", "ebs-gp2-rwo"],
        ["status"],
        ["verify", "-p", "ebs-gp2-rwo"],
    ):
        live = c.run_regplan(*argv, "-o", "json")
        offline = c.run_regplan(*argv, "-o", "json", "--snapshot", str(path))
        assert offline.returncode == live.returncode, (argv, live.stderr, offline.stderr)
        a, b = json.loads(live.stdout), json.loads(offline.stdout)
        for d in (a, b):
            d.pop("source", None)
            d.pop("serverDryRun", None)
        if argv[0] == "plan":
            assert [(x["ref"], x["action"]) for x in a["changes"]] == [
                (x["ref"], x["action"]) for x in b["changes"]
            ]
            assert a["writes"] == b["writes"]
        elif argv[0] == "status":
            assert (a.get("claim"), a["backend"], a["matches"]) == (
                b.get("claim"),
                b["backend"],
                b["matches"],
            )
        else:
            assert a == b


def test_key_material_quoted_by_an_event_stays_out_of_snapshot_plan_and_status(
    ocp4_cluster: TargetCluster, tmp_path: Path
) -> None:
    """An Event message quoting credentials (an S3 error naming the key id, a dumped config) is redacted in
    the committed snapshot and in what plan and status print live (normalize.SECRET_TEXT_PATTERNS)."""
    c = ocp4_cluster
    leaks = ("AKIAIOSFODNN7EXAMPLE", "MIIEpAIBsecretbody", "wJalrXUtnFEMIK7MDENG")
    c.admin.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": CLAIM, "namespace": c.namespace},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "100Gi"}},
                "storageClassName": "gp2",
            },
        }
    )
    c.emit_provisioning_failed(
        CLAIM,
        why=(
            "key AKIAIOSFODNN7EXAMPLE refused; REGISTRY_STORAGE_S3_SECRETKEY=wJalrXUtnFEMIK7MDENG; "
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBsecretbody\n-----END RSA PRIVATE KEY-----"
        ),
    )
    (tmp_path / "regplan.yaml").write_text(
        f"clusters:\n  - name: dev\n    context: admin\n    kubeconfig: {c.kubeconfig}\n"
        "    profile: ebs-gp2-rwo\n"
    )
    argv = [sys.executable, "-m", "regplan", "snapshot"]
    snap = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert snap.returncode == 0, snap.stderr
    recorded = (tmp_path / "snapshots" / "dev.yaml").read_text()
    assert "(redacted)" in recorded
    for argv in (["plan", "-p", "ebs-gp2-rwo"], ["status"], ["status", "-o", "json"]):
        live = c.run_regplan(*argv)
        assert live.returncode == 0, (argv, live.stderr)
        if argv[0] == "plan":  # status shows the claim in use only (this cluster's registry is on S3)
            assert "(redacted)" in live.stdout, live.stdout
        for text in (recorded, live.stdout, live.stderr):
            assert not any(leak in text for leak in leaks), argv
