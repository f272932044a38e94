"""Cross-check with a client nobody here wrote: `regplan render | kubectl apply -f -` (kubectl v1.37 from
hack/get-kubectl.sh) must leave the same live fields as `regplan apply`.

4.x only: on the 3.x stand-in, `kubectl apply` of a partial DeploymentConfig would need strategic merge
patch (merging containers/volumes by name), which a CRD does not support (415); `oc apply` against a real
3.11 DC would do it. regplan's 3.x JSON patch is checked field by field in test_apply_cluster.py.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from harness import TargetCluster
from harness.cluster import kubectl

CLAIM = "image-registry-storage"


def live_fields(c: TargetCluster) -> dict[str, Any]:
    """The fields the profile sets, as the apiserver holds them."""
    cfg = c.admin.get("Config", "cluster")
    out: dict[str, Any] = {"config.spec": {k: v for k, v in cfg["spec"].items()}}
    claim = c.admin.get_or_none("PersistentVolumeClaim", CLAIM, c.namespace)
    if claim is not None:
        meta = claim["metadata"]
        out["claim.spec"] = {
            k: claim["spec"].get(k) for k in ("accessModes", "resources", "storageClassName")
        }
        out["claim.labels"] = meta.get("labels")
        out["claim.annotations"] = {
            k: v
            for k, v in (meta.get("annotations") or {}).items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"
        }
    return out


@pytest.mark.parametrize("profile", ["ebs-gp2-rwo", "cephfs-rwx", "glusterfs"])
def test_kubectl_apply_of_rendered_equals_regplan_apply(ocp4_cluster: TargetCluster, profile: str) -> None:
    exe = kubectl()
    if exe is None:
        pytest.skip("kubectl not found: run hack/get-kubectl.sh")
    c = ocp4_cluster
    rendered = c.run_regplan("render", "-p", profile)
    assert rendered.returncode == 0, rendered.stderr
    r = subprocess.run(
        [exe, "--kubeconfig", str(c.kubeconfig), "apply", "-f", "-"],
        input=rendered.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    by_kubectl = live_fields(c)

    c.reset()
    applied = c.run_regplan("apply", "-p", profile, "--yes", "--no-wait")
    assert applied.returncode == 0, applied.stderr
    by_regplan = live_fields(c)
    assert by_regplan == by_kubectl
    assert "s3" not in by_regplan["config.spec"]["storage"]
