"""Each stand-in behaviour the fast cluster tests rely on, checked once against the REAL operator: same
scenario, both ways, same outcome. If one of these fails, the stand-in (controllers.py, manifests/ocp4,
test_apply_cluster.operator_claim, test_apply_wait_cluster._wffc_then) no longer tells the truth: fix it.

Also what the operator rejects: regplan refuses the same configuration first (exit 3, no write).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from harness import TargetCluster
from harness.operator import NAMESPACE, AutoRollout, conditions
from test_apply_cluster import operator_claim
from test_operator_journey import CLAIM, config, wait_for

MANIFESTS = Path(__file__).resolve().parent / "manifests" / "ocp4"


def seed_config() -> dict[str, Any]:
    docs = yaml.safe_load_all((MANIFESTS / "30-config-cluster.yaml").read_text())
    return next(d for d in docs if d and d["kind"] == "Config")


# Where the seed's Config differs from what the real operator writes, and why that is harmless.
SEED_DIFFERS = {
    "observedConfig": "its config observer writes servingInfo (the APIServer TLS profile); the seed has "
    "null; regplan neither reads nor writes it (the aws-s3 no-drift test runs against the real value)",
}


def claim_shape(pvc: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": pvc["metadata"]["name"],
        "annotations": pvc["metadata"].get("annotations"),
        "accessModes": pvc["spec"]["accessModes"],
        "requests": pvc["spec"]["resources"]["requests"],
        "storageClassName": pvc["spec"].get("storageClassName"),
    }


def test_operator_claim_standin_matches_the_claim_the_operator_makes(operator_cluster: TargetCluster) -> None:
    c = operator_cluster
    c.admin.patch("Config", "cluster", {"spec": {"storage": {"s3": None, "pvc": {"claim": ""}}}})
    real = wait_for(
        "the operator's claim", lambda: c.admin.get_or_none("PersistentVolumeClaim", CLAIM, NAMESPACE)
    )
    real_shape = claim_shape(real)
    c.reset()  # the claim is gone, the Config back on S3: now the stand-in makes its claim
    assert c.admin.get_or_none("PersistentVolumeClaim", CLAIM, NAMESPACE) is None
    assert claim_shape(operator_claim(c)) == real_shape


def test_seeded_config_is_what_the_operator_keeps(operator_cluster: TargetCluster) -> None:
    """manifests/ocp4's Config (the fast tests' starting point) is a fixed point of the real operator:
    after it synced, every field the seed sets is unchanged, finalizer included."""
    seed = seed_config()
    live = config(operator_cluster)
    differ = {k for k in seed["spec"] if live["spec"].get(k) != seed["spec"][k]}
    assert differ == set(SEED_DIFFERS), {k: live["spec"].get(k) for k in differ}
    assert live["metadata"].get("finalizers") == seed["metadata"]["finalizers"]


def test_act_as_operator_standin_reports_what_the_operator_reports(operator_cluster: TargetCluster) -> None:
    """test_apply_wait_cluster._wffc_then (its operator part): observedGeneration == generation,
    Available=True and Progressing=False, both reason Ready, "The registry is ready", once rolled out."""
    c = operator_cluster
    with AutoRollout(c.admin, delay=0.2):
        r = c.run_regplan("apply", "-p", "cephfs-rwx", "--yes", "--no-wait")
        assert r.returncode == 0, r.stderr

        def ready() -> dict[str, Any] | None:
            cfg = config(c)
            conds = conditions(cfg)
            ok = (
                conds.get("Available", {}).get("status") == "True"
                and conds.get("Progressing", {}).get("status") == "False"
            )
            return (
                cfg if ok and cfg["status"]["observedGeneration"] == cfg["metadata"]["generation"] else None
            )

        cfg = wait_for("the operator to report the registry ready", ready)
    conds = conditions(cfg)
    standin = {
        "Available": ("True", "Ready", "The registry is ready"),
        "Progressing": ("False", "Ready", "The registry is ready"),
    }
    assert {t: (conds[t]["status"], conds[t]["reason"], conds[t]["message"]) for t in standin} == standin


def test_rwo_with_two_replicas_refused_by_both(operator_cluster: TargetCluster) -> None:
    """regplan refuses an RWO claim with 2 replicas (exit 3, nothing written); the real operator, given
    the same Config by hand, refuses it too: StorageExists=False "PVC Issues Found" (the condition the
    fast tests' stand-in reports) and Progressing=True reason Error naming ReadWriteOnce."""
    c = operator_cluster
    r = c.run_regplan("plan", "-p", "ebs-gp2-rwo", "--set", "replicas=2")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "ReadWriteOnce" in r.stdout + r.stderr

    c.admin.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "registry-rwo", "namespace": NAMESPACE},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "100Gi"}},
                "storageClassName": "gp2",
            },
        }
    )
    c.admin.patch(
        "Config",
        "cluster",
        {"spec": {"replicas": 2, "storage": {"s3": None, "pvc": {"claim": "registry-rwo"}}}},
    )

    def refused() -> dict[str, Any] | None:
        conds = conditions(config(c))
        se, pr = conds.get("StorageExists", {}), conds.get("Progressing", {})
        return conds if se.get("status") == "False" and pr.get("reason") == "Error" else None

    conds = wait_for("the operator to refuse RWO with 2 replicas", refused)
    assert conds["StorageExists"]["reason"] == "PVC Issues Found"
    assert "ReadWriteOnce" in conds["Progressing"]["message"]


def test_two_backends_refused_by_both(operator_cluster: TargetCluster) -> None:
    """Both s3 and a claim: regplan refuses (exit 3); the operator's message for it is the one the fast
    tests quote ("exactly one storage type should be configured at the same time, got 2: [S3 PVC]")."""
    c = operator_cluster
    r = c.run_regplan("plan", "-p", "aws-s3", "--set", "claim.name=image-registry-storage")
    assert r.returncode == 3, r.stdout + r.stderr

    c.admin.patch("Config", "cluster", {"spec": {"storage": {"pvc": {"claim": CLAIM}}}})  # s3 still set

    def refused() -> str | None:
        msg = str(conditions(config(c)).get("Progressing", {}).get("message", ""))
        return msg if "exactly one storage type" in msg else None

    msg = wait_for("the operator to refuse two backends", refused)
    assert "got 2: [S3 PVC]" in msg
