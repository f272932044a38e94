"""Each stand-in behaviour the fast cluster tests rely on, checked against the REAL operator (a binary
the user supplies, REGPLAN_OPERATOR_BIN): same scenario, both ways, same outcome, and the outcome is the
fact test_standin_contract.py records (``OBSERVED_*``) and checks the stand-ins against on every run. If
one of these fails, the stand-in (harness/controllers.py, harness/operator.py, manifests/ocp4) or the
recorded fact no longer tells the truth: fix it, and docs/control-plane.md with it.

Also what the operator rejects: regplan refuses the same configuration first (exit 3, no write).
"""

from __future__ import annotations

from typing import Any

from harness import TargetCluster
from harness.operator import NAMESPACE, AutoRollout, conditions, observed
from test_operator_journey import CLAIM, config, wait_for
from test_standin_contract import (
    OBSERVED_CLAIM,
    OBSERVED_CONDITION_TYPES,
    OBSERVED_OWN_FIELDS,
    OBSERVED_READY,
    OBSERVED_REFUSALS,
    claim_shape,
    seed_config,
)

# Where the seed's Config differs from what the real operator writes, and why that is harmless.
SEED_DIFFERS = {
    "observedConfig": "its config observer writes servingInfo (the APIServer TLS profile); the seed has "
    "null; regplan neither reads nor writes it (the aws-s3 no-drift test runs against the real value)",
}


def test_operator_claim_standin_matches_the_claim_the_operator_makes(operator_cluster: TargetCluster) -> None:
    c = operator_cluster
    c.admin.patch("Config", "cluster", {"spec": {"storage": {"s3": None, "pvc": {"claim": ""}}}})
    real = wait_for(
        "the operator's claim", lambda: c.admin.get_or_none("PersistentVolumeClaim", CLAIM, NAMESPACE)
    )
    real_shape = claim_shape(real)
    assert real_shape == OBSERVED_CLAIM
    c.reset()  # the claim is gone, the Config back on S3: now the stand-in makes its claim
    assert c.admin.get_or_none("PersistentVolumeClaim", CLAIM, NAMESPACE) is None
    assert claim_shape(c.operator_claim()) == real_shape


def test_seeded_config_is_what_the_operator_keeps(operator_cluster: TargetCluster) -> None:
    """manifests/ocp4's Config (the fast tests' starting point) is a fixed point of the real operator:
    after it synced, every field the seed sets is unchanged, finalizer included."""
    seed = seed_config()
    live = config(operator_cluster)
    differ = {k for k in seed["spec"] if live["spec"].get(k) != seed["spec"][k]}
    assert differ == set(SEED_DIFFERS), {k: live["spec"].get(k) for k in differ}
    assert live["metadata"].get("finalizers") == seed["metadata"]["finalizers"]
    assert live["metadata"]["finalizers"] == OBSERVED_OWN_FIELDS["finalizers"]
    assert live["spec"]["storage"]["managementState"] == OBSERVED_OWN_FIELDS["storage.managementState"]
    assert set(conditions(live)) >= OBSERVED_CONDITION_TYPES


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
    assert {t: (conds[t]["status"], conds[t]["reason"], conds[t]["message"]) for t in OBSERVED_READY} == (
        OBSERVED_READY
    )
    assert observed(cfg)  # status.storage records spec.storage: report_ready writes that too


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
    for type_, status, reason, text in OBSERVED_REFUSALS["RWO claim, 2 replicas"]:
        assert (conds[type_]["status"], conds[type_]["reason"]) == (status, reason)
        assert text in conds[type_]["message"]
    assert conds.get("Degraded", {}).get("status") != "True"


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
    assert OBSERVED_REFUSALS["two backends"][0][3] in msg
