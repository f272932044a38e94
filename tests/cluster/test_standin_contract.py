"""The stand-ins' contract: what the harness plays instead of the image-registry operator (and the
controllers it drives), checked against what the real operator was observed to do, on the ordinary 4.x
control plane, WITHOUT the operator binary. Each ``OBSERVED_*`` is a fact observed against the real
operator, see docs/control-plane.md "What the real operator was observed to do"; the operator tier
(test_operator_standins.py) checks the same facts against a binary when one is supplied.

If one of these fails, a stand-in (harness/controllers.py, harness/operator.py, manifests/ocp4) no longer
does what the operator does, and every fast test built on it proves less: fix the stand-in, not the fact.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from harness import TargetCluster
from harness.controllers import EBS_RWX_WHY, write_stale_spec
from harness.operator import DEPLOYMENT, NAMESPACE, AutoRollout, conditions, deployment_claims

from regplan.engine.apply import config_verdict, deployment_verdict, lost_fields

MANIFESTS = Path(__file__).resolve().parent / "manifests" / "ocp4"
CLAIM = "image-registry-storage"
# For `storage: {pvc: {claim: ""}}` the operator creates this claim: ReadWriteMany, 100Gi, its annotation,
# and no storage class, so the cluster's default class is put in by admission (gp2 on AWS, the seed's).
OBSERVED_CLAIM: dict[str, Any] = {
    "name": CLAIM,
    "annotations": {"imageregistry.openshift.io": "true"},
    "accessModes": ["ReadWriteMany"],
    "requests": {"storage": "100Gi"},
    "storageClassName": "gp2",
}
# Conditions it writes on Config/cluster at every sync.
OBSERVED_CONDITION_TYPES = frozenset({"Available", "Progressing", "Degraded", "Removed", "StorageExists"})
# Once the registry runs what the spec asks: (status, reason, message) per condition.
OBSERVED_READY = {
    "Available": ("True", "Ready", "The registry is ready"),
    "Progressing": ("False", "Ready", "The registry is ready"),
}
# What it answers to a storage it refuses (the Deployment is left alone, Degraded stays False):
# (condition, status, reason, a piece of its message).
OBSERVED_REFUSALS = {
    "two backends": [
        (
            "Progressing",
            "True",
            "Error",
            "exactly one storage type should be configured at the same time, got 2: [S3 PVC]",
        )
    ],
    "RWO claim, 2 replicas": [
        ("StorageExists", "False", "PVC Issues Found", ""),
        ("Progressing", "True", "Error", "cannot use ReadWriteOnce access mode with more than one replica"),
    ],
}
# Its fields on the Config it writes itself (the seed is a Config it has synced).
OBSERVED_OWN_FIELDS = {
    "finalizers": ["imageregistry.operator.openshift.io/finalizer"],
    "storage.managementState": "Managed",
}


def seed_config() -> dict[str, Any]:
    """manifests/ocp4's Config/cluster: the fast tests' starting point."""
    docs = yaml.safe_load_all((MANIFESTS / "30-config-cluster.yaml").read_text())
    return dict(next(d for d in docs if d and d["kind"] == "Config"))


def claim_shape(pvc: dict[str, Any]) -> dict[str, Any]:
    """What ``OBSERVED_CLAIM`` records of a claim."""
    return {
        "name": pvc["metadata"]["name"],
        "annotations": pvc["metadata"].get("annotations"),
        "accessModes": pvc["spec"]["accessModes"],
        "requests": pvc["spec"]["resources"]["requests"],
        "storageClassName": pvc["spec"].get("storageClassName"),
    }


def test_seeded_config_carries_what_the_operator_writes(ocp4_cluster: TargetCluster) -> None:
    """Observed against the real operator, see docs/control-plane.md: every sync writes the conditions
    Available, Progressing, Degraded, Removed and StorageExists; a synced Config carries its finalizer and
    storage.managementState Managed, and once ready Available=True / Progressing=False, both reason Ready,
    "The registry is ready". The seed every fast test starts from is such a Config."""
    cfg = ocp4_cluster.admin.get("Config", "cluster")
    conds = conditions(cfg)
    assert set(conds) >= OBSERVED_CONDITION_TYPES
    assert {t: (conds[t]["status"], conds[t]["reason"], conds[t]["message"]) for t in OBSERVED_READY} == (
        OBSERVED_READY
    )
    assert cfg["metadata"]["finalizers"] == OBSERVED_OWN_FIELDS["finalizers"]
    assert cfg["spec"]["storage"]["managementState"] == OBSERVED_OWN_FIELDS["storage.managementState"]
    assert cfg["status"]["storage"] == cfg["spec"]["storage"]
    assert cfg["spec"] == seed_config()["spec"]


def test_claim_standin_is_the_claim_the_operator_creates(ocp4_cluster: TargetCluster) -> None:
    """Observed against the real operator, see docs/control-plane.md: for claim "" it creates
    image-registry-storage, ReadWriteMany, 100Gi, annotation imageregistry.openshift.io "true", without a
    storage class (the default class gets in by admission: gp2 here, as on AWS). The stand-in sends the
    same claim, so this apiserver's admission must fill in gp2 the same way."""
    made = ocp4_cluster.operator_claim()
    assert claim_shape(made) == OBSERVED_CLAIM
    assert made["status"].get("phase") == "Pending"


def test_ready_report_standin_says_what_the_operator_says(ocp4_cluster: TargetCluster) -> None:
    """Observed against the real operator, see docs/control-plane.md: once a generation is applied and
    the registry rolled out it reports observedGeneration == generation, status.storage == spec.storage,
    Available=True and Progressing=False, both reason Ready, "The registry is ready"; regplan reads that
    as done."""
    c = ocp4_cluster
    c.admin.patch("Config", "cluster", {"spec": {"storage": {"s3": None, "pvc": {"claim": CLAIM}}}})
    c.report_condition("Progressing", "True", "DeploymentNotCompleted", "The deployment has not completed")
    cfg = c.report_ready()
    conds = conditions(cfg)
    assert {t: (conds[t]["status"], conds[t]["reason"], conds[t]["message"]) for t in OBSERVED_READY} == (
        OBSERVED_READY
    )
    assert cfg["status"]["observedGeneration"] == cfg["metadata"]["generation"] > 1
    want = {"managementState": "Managed", "pvc": {"claim": CLAIM}}
    assert cfg["status"]["storage"] == cfg["spec"]["storage"] == want
    assert set(conds) >= OBSERVED_CONDITION_TYPES  # the others kept
    assert config_verdict(cfg)[0] is True


def test_refusals_as_the_operator_words_them_fail_regplans_wait(ocp4_cluster: TargetCluster) -> None:
    """Observed against the real operator, see docs/control-plane.md: s3 and a claim both set ->
    Progressing=True reason Error "exactly one storage type should be configured at the same time, got 2:
    [S3 PVC]"; an RWO claim with 2 replicas -> StorageExists=False "PVC Issues Found" and Progressing=True
    Error "... cannot use ReadWriteOnce access mode with more than one replica ...". The stand-in
    (report_condition) writes them; regplan's wait must stop at once on each, quoting it."""
    c = ocp4_cluster
    for case, conds in OBSERVED_REFUSALS.items():
        c.reset()
        generation = c.admin.get("Config", "cluster")["metadata"]["generation"]
        c.patch_config_status({"observedGeneration": generation})  # it refuses in the sync that observed it
        for type_, status, reason, text in conds:
            c.report_condition(type_, status, reason, text)
        cfg = c.admin.get("Config", "cluster")
        verdict, detail = config_verdict(cfg)
        said = next(t for _, _, _, t in conds if t)
        assert verdict is False and said in detail, (case, detail)
        assert conditions(cfg)["Degraded"]["status"] == "False"


def _operator_switches_the_deployment_to(c: TargetCluster, claim: str) -> int:
    """What the operator does to deploy/image-registry for a claim (observed: < 1 s after the Config
    change): mounts it at /registry as volume registry-storage, filesystem storage, replicas 1, Recreate."""
    d = deployment(c)
    spec = d["spec"]
    spec["replicas"], spec["strategy"] = 1, {"type": "Recreate"}
    pod = spec["template"]["spec"]
    pod["volumes"].append({"name": "registry-storage", "persistentVolumeClaim": {"claimName": claim}})
    container = pod["containers"][0]
    container["volumeMounts"].append({"name": "registry-storage", "mountPath": "/registry"})
    container["env"] = [{"name": "REGISTRY_STORAGE", "value": "filesystem"}]
    return int(c.admin.replace(d)["metadata"]["generation"])


def deployment(c: TargetCluster) -> dict[str, Any]:
    return dict(c.admin.get("Deployment", DEPLOYMENT, NAMESPACE))


def _wait(what: str, fn: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (v := fn()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return v


def test_rollout_standin_rolls_out_what_the_operator_asks_once_the_claim_binds(
    ocp4_cluster: TargetCluster,
) -> None:
    """Observed against the real operator, see docs/control-plane.md: it points deploy/image-registry at the
    claim and waits for the rollout; Available=True follows once the Deployment's status reports the
    current generation with every replica available and Progressing NewReplicaSetAvailable (plus the
    node-ca DaemonSet's). The stand-in (AutoRollout: scheduler, provisioner, Deployment controller,
    kubelets) provisions the claims the template mounts, then writes that status; a claim that cannot bind
    (RWX on gp2, EBS) keeps the pod from starting: the real ProvisioningFailed text and no rollout."""
    c = ocp4_cluster
    try:
        with AutoRollout(c.admin, delay=0.2) as kubelet:
            c.operator_claim(klass="ocs-storagecluster-cephfs")
            gen = _operator_switches_the_deployment_to(c, CLAIM)
            d = _wait(
                "the rollout",
                lambda: ((x := deployment(c)).get("status") or {}).get("observedGeneration") and x,
            )
            st = d["status"]
            assert st["observedGeneration"] == gen and st["availableReplicas"] == st["updatedReplicas"] == 1
            kinds = {k["type"]: (k["status"], k["reason"]) for k in st["conditions"]}
            assert kinds == {
                "Available": ("True", "MinimumReplicasAvailable"),
                "Progressing": ("True", "NewReplicaSetAvailable"),
            }
            assert deployment_verdict(d)[0] is True and deployment_claims(d) == [CLAIM]
            pvc = c.admin.get("PersistentVolumeClaim", CLAIM, NAMESPACE)
            assert pvc["status"]["phase"] == "Bound"  # by the real binder, to the stand-in's PV
            assert kubelet.rollouts == 1 and not kubelet.errors

            # the operator's own claim on gp2 (RWX on EBS): never binds, never rolls out
            c.admin.delete("PersistentVolumeClaim", CLAIM, NAMESPACE)
            _wait(
                "the claim gone",
                lambda: c.admin.get_or_none("PersistentVolumeClaim", CLAIM, NAMESPACE) is None,
            )
            c.operator_claim()
            d = deployment(c)
            d["spec"]["template"]["metadata"].setdefault("annotations", {})["regplan.test/restart"] = "1"
            gen = int(c.admin.replace(d)["metadata"]["generation"])
            _wait("gp2 to refuse the RWX claim", lambda: CLAIM in kubelet.failed_claims)
            events = [e for e in c.events(CLAIM) if e["reason"] == "ProvisioningFailed"]
            said = f'Failed to provision volume with StorageClass "gp2": {EBS_RWX_WHY}'
            assert [e["message"] for e in events] == [said]
            time.sleep(0.5)
            d = deployment(c)
            assert d["status"]["observedGeneration"] < gen and kubelet.rollouts == 1
            assert deployment_verdict(d)[0] is None  # regplan keeps waiting, as for a pod that never starts
    finally:
        # the reset restores the Deployment's spec, not its status: delete it, the reset recreates it
        c.admin.delete("Deployment", DEPLOYMENT, NAMESPACE)


def test_lost_update_standin_loses_a_write_as_the_operator_does(ocp4_cluster: TargetCluster) -> None:
    """Observed against the real operator, see docs/control-plane.md: after the user sets claim "", the
    operator writes the spec back from the snapshot its sync began with, plus its own rewrites (the claim
    name, storage.managementState); a replicas patch sent 0-200 ms after claim "" was lost in 2 of 5 tries,
    so that write carries no precondition that fails. The stand-in (write_stale_spec) makes the same write:
    accepted by the apiserver although the Config moved, the other client's field gone, and regplan's
    lost_fields names it."""
    c = ocp4_cluster
    c.admin.patch("Config", "cluster", {"spec": {"storage": {"s3": None, "pvc": {"claim": ""}}}})
    snapshot = c.admin.get("Config", "cluster")  # what the operator's sync reads
    regplan_patch = {"spec": {"replicas": 1}}
    moved = c.admin.patch("Config", "cluster", regplan_patch)  # lands while the operator syncs
    assert moved["metadata"]["resourceVersion"] != snapshot["metadata"]["resourceVersion"]

    own = snapshot["spec"]
    own["storage"]["pvc"]["claim"] = CLAIM
    own["storage"]["managementState"] = "Managed"
    written = write_stale_spec(c.admin, own)  # no 409
    assert written["spec"]["replicas"] == 2  # the seed's: regplan's 1 is lost
    assert written["spec"]["storage"]["pvc"] == {"claim": CLAIM}
    assert written["metadata"]["generation"] > moved["metadata"]["generation"]
    assert lost_fields(regplan_patch, written) == ["spec.replicas (wanted 1, live 2)"]
