"""The 4.x `render -o oc` script against the real kube-apiserver, with kubectl v1.37 standing in for `oc`
(the verbs the script uses: create --dry-run=client, replace, apply, get --ignore-not-found -o jsonpath,
delete --wait, patch of the Config CRD, are kubectl's own in `oc` 4.x).

The README's headline case: the operator's ReadWriteMany claim sits on gp2; the profile wants
ReadWriteOnce. The script must not `oc apply` an immutable claim part-way: it stops before any write
(exit 6) unless REGPLAN_ALLOW_REPLACE=1, then replaces the claim and finishes. Keys from `file:` sources
reach the Secret as render strips them.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from harness import TargetCluster
from harness.cluster import kubectl

CLAIM = "image-registry-storage"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


def oc_dir(tmp_path: Path, c: TargetCluster) -> Path:
    exe = kubectl()
    if exe is None:
        pytest.skip("kubectl not found: run hack/get-kubectl.sh")
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    oc = d / "oc"
    oc.write_text(f'#!/bin/sh\nexec {exe} --kubeconfig {c.kubeconfig} "$@"\n')
    oc.chmod(0o755)
    return d


def run(script: str, tmp_path: Path, c: TargetCluster, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env, "PATH": f"{oc_dir(tmp_path, c)}:{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=environ, timeout=300)


def operator_claim(c: TargetCluster) -> dict[str, Any]:
    return dict(
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
    )


def test_headline_case_stops_before_writing_then_replaces_when_allowed(
    ocp4_cluster: TargetCluster, tmp_path: Path
) -> None:
    c = ocp4_cluster
    assert c.audit is not None
    old = operator_claim(c)
    config_before = c.admin.get("Config", "cluster")["spec"]
    script = c.run_regplan("render", "-p", "ebs-gp2-rwo", "-o", "oc")
    assert script.returncode == 0, script.stderr

    mark = c.audit.mark()
    refused = run(script.stdout, tmp_path, c)
    assert refused.returncode == 6, refused.stderr
    assert "never bound (Pending, no volume): no data exists on it" in refused.stderr
    assert "REGPLAN_ALLOW_REPLACE=1" in refused.stderr
    # nothing written by the script (kubectl's user agent): not the Secret, not the Config, not the claim
    assert c.audit.writes(mark, agent="kubectl") == []
    assert c.admin.get("Config", "cluster")["spec"] == config_before

    done = run(script.stdout, tmp_path, c, REGPLAN_ALLOW_REPLACE="1")
    assert done.returncode == 0, done.stderr
    # the Config names the claim first (the operator recreates a deleted claim only while it says ""),
    # then the claim is deleted and created
    writes = [(w.verb, w.resource) for w in c.audit.writes(mark, agent="kubectl")]
    assert writes[:3] == [("patch", "configs"), ("delete", "persistentvolumeclaims"),
                          ("create", "persistentvolumeclaims")], writes  # fmt: skip
    new = c.admin.get("PersistentVolumeClaim", CLAIM, c.namespace)
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    assert new["spec"]["accessModes"] == ["ReadWriteOnce"]
    storage = c.admin.get("Config", "cluster")["spec"]["storage"]
    assert storage["pvc"] == {"claim": CLAIM} and "s3" not in storage

    again = run(script.stdout, tmp_path, c)  # the claim matches now: runs through without the variable
    assert again.returncode == 0, again.stderr


def test_file_keys_reach_the_secret_stripped(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    c = ocp4_cluster
    (tmp_path / "ak").write_text("AKIDCLUSTERFILE\n")
    (tmp_path / "sk").write_text('se"cret\\key\r\n')
    script = c.run_regplan(
        "render", "-p", "aws-s3", "-o", "oc", "--set", "s3.bucket=acme-reg", "--set", "s3.region=eu-west-1",
        "--set", f"s3.accessKeyFrom=file:{tmp_path / 'ak'}",
        "--set", f"s3.secretKeyFrom=file:{tmp_path / 'sk'}",
    )  # fmt: skip
    assert script.returncode == 0, script.stderr
    done = run(script.stdout, tmp_path, c)
    assert done.returncode == 0, done.stderr
    secret = c.admin.get("Secret", "image-registry-private-configuration-user", c.namespace)
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {
        "REGISTRY_STORAGE_S3_ACCESSKEY": "AKIDCLUSTERFILE",
        "REGISTRY_STORAGE_S3_SECRETKEY": 'se"cret\\key',
    }
