"""The verdicts apply's wait is built from (pure): one table per verdict, one row per case and why.

The same behaviour is tested end to end against the real operator in tests/cluster/test_operator_*.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from regplan.engine import apply as ap

UID = "new-uid"


def claim(phase: str = "Pending") -> dict[str, Any]:
    return {"metadata": {"uid": UID}, "status": {"phase": phase}}


def event(reason: str, message: str = "", uid: str | None = UID) -> dict[str, Any]:
    return {"reason": reason, "message": message, "involvedObject": {"uid": uid} if uid else {}}


# (case, claim, events, verdict, detail contains)
CLAIM_CASES = [
    ("bound", claim("Bound"), [], True, "Bound"),
    ("not created yet", None, [], None, "not found"),
    # issue 8 item 7: WFFC is where gp2 waits for the pod; its ProvisioningFailed comes later
    (
        "WaitForFirstConsumer keeps waiting",
        claim(),
        [event("WaitForFirstConsumer")],
        None,
        "WaitForFirstConsumer",
    ),
    (
        "WFFC then ProvisioningFailed fails, quoting it",
        claim(),
        [event("WaitForFirstConsumer"), event("ProvisioningFailed", "only AccessModes [ReadWriteOnce]")],
        False,
        "ProvisioningFailed: only AccessModes [ReadWriteOnce]",
    ),
    ("external provisioner pending", claim(), [event("ExternalProvisioning", "waiting")], None, "waiting"),
    # a replaced claim's predecessor had the same name: its events are not this claim's
    (
        "predecessor's failure ignored",
        claim(),
        [event("ProvisioningFailed", "old", uid="old-uid")],
        None,
        "Pending",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "events", "verdict", "detail"), CLAIM_CASES, ids=[c[0] for c in CLAIM_CASES]
)
def test_claim_verdict(case: str, obj: Any, events: list[Any], verdict: bool | None, detail: str) -> None:
    got, text = ap.claim_verdict(obj, events)
    assert got is verdict and detail in text


def cfg(gen: int, observed: int, *conds: tuple[str, str, str, str]) -> dict[str, Any]:
    return {
        "metadata": {"generation": gen},
        "status": {
            "observedGeneration": observed,
            "conditions": [{"type": t, "status": s, "reason": r, "message": m} for t, s, r, m in conds],
        },
    }


AVAILABLE = ("Available", "True", "Ready", "The registry is ready")
NOT_PROGRESSING = ("Progressing", "False", "Ready", "The registry is ready")
TWO = (
    "Unable to apply resources: exactly one storage type should be configured at the same time, "
    "got 2: [S3 PVC]"
)
CONFIG_CASES = [
    ("not observed", cfg(3, 2, AVAILABLE), None, "not observed generation 3"),
    ("available", cfg(3, 3, AVAILABLE, NOT_PROGRESSING), True, "Available"),
    (
        "degraded",
        cfg(3, 3, AVAILABLE, ("Degraded", "True", "Unavailable", "gone")),
        False,
        "Degraded: Unavailable",
    ),
    # issue 9: Progressing=True reason Error is the operator refusing the change: fail at once, quoting it
    ("progressing error", cfg(3, 3, ("Progressing", "True", "Error", TWO)), False, "got 2: [S3 PVC]"),
    (
        "storage refused",
        cfg(3, 3, ("StorageExists", "False", "PVC Issues Found", "cannot use ReadWriteOnce")),
        False,
        "StorageExists: PVC Issues Found: cannot use ReadWriteOnce",
    ),
    (
        "still rolling out",
        cfg(
            3,
            3,
            ("Available", "False", "NoReplicasAvailable", ""),
            ("Progressing", "True", "DeploymentNotCompleted", ""),
        ),
        None,
        "Available=False",
    ),
    # an error of an OLD generation is not this change's answer
    ("old error not yet re-synced", cfg(4, 3, ("Progressing", "True", "Error", TWO)), None, "not observed"),
]


@pytest.mark.parametrize(("case", "obj", "verdict", "detail"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_verdict(case: str, obj: Any, verdict: bool | None, detail: str) -> None:
    got, text = ap.config_verdict(obj)
    assert got is verdict and detail in text, text


def deploy(gen: int, replicas: int, status: dict[str, Any] | None) -> dict[str, Any]:
    return {"metadata": {"generation": gen}, "spec": {"replicas": replicas}, "status": status}


def st(observed: int, updated: int, available: int, total: int) -> dict[str, Any]:
    return {
        "observedGeneration": observed,
        "updatedReplicas": updated,
        "availableReplicas": available,
        "replicas": total,
    }


DEPLOY_CASES = [
    ("absent", None, None, "not created"),
    ("no controller: reported, not waited on", deploy(2, 1, None), True, "no rollout status"),
    # issue 9: the operator's Available=True right after a change is computed from the OLD status
    ("new template not observed", deploy(3, 1, st(2, 1, 1, 1)), None, "rollout not started"),
    ("old pods still there", deploy(3, 1, st(3, 1, 1, 2)), None, "rolling out"),
    ("new pods not available", deploy(3, 2, st(3, 2, 1, 2)), None, "1/2 available"),
    ("rolled out", deploy(3, 1, st(3, 1, 1, 1)), True, "rolled out (1/1"),
]


@pytest.mark.parametrize(("case", "obj", "verdict", "detail"), DEPLOY_CASES, ids=[c[0] for c in DEPLOY_CASES])
def test_deployment_verdict(case: str, obj: Any, verdict: bool | None, detail: str) -> None:
    got, text = ap.deployment_verdict(obj)
    assert got is verdict and detail in text, text


LIVE = {
    "metadata": {"resourceVersion": "9"},
    "spec": {
        "replicas": 1,
        "rolloutStrategy": "Recreate",
        "storage": {"pvc": {"claim": "c"}, "managementState": "Managed"},
    },
}
LOST_CASES = [
    (
        "all held",
        {"metadata": {"resourceVersion": "5"}, "spec": {"replicas": 1, "storage": {"s3": None}}},
        [],
    ),
    ("overwritten value", {"spec": {"replicas": 2}}, ["spec.replicas (wanted 2, live 1)"]),
    (
        "removed key came back",
        {"spec": {"storage": {"pvc": None}}},
        ['spec.storage.pvc (wanted absent, live {"claim": "c"})'],
    ),
    (
        "nested value",
        {"spec": {"storage": {"pvc": {"claim": "d"}}}},
        ['spec.storage.pvc.claim (wanted "d", live "c")'],
    ),
    ("value held", {"spec": {"rolloutStrategy": "Recreate"}}, []),
]


@pytest.mark.parametrize(("case", "patch", "lost"), LOST_CASES, ids=[c[0] for c in LOST_CASES])
def test_lost_fields(case: str, patch: Any, lost: list[str]) -> None:
    assert ap.lost_fields(patch, LIVE) == lost
