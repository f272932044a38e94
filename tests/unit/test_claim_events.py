"""Issue 9: a claim's events are matched by its uid (involvedObject.uid), not by its name.

After a replace the new claim has the deleted one's name, and the deleted claim's ProvisioningFailed is
still listed under it: neither ``plan`` nor ``status`` may quote it as the new claim's state.
"""

from __future__ import annotations

from typing import Any

import pytest

from regplan.base.model import LiveState, Obj, Ref, Target, events_of
from regplan.engine import status as statusmod
from regplan.engine.plan import make_plan

NS = "openshift-image-registry"
CLAIM = Ref("v1", "PersistentVolumeClaim", NS, "image-registry-storage")
CONFIG = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")


def _event(reason: str, uid: str | None, message: str = "") -> Obj:
    involved: dict[str, Any] = {"kind": "PersistentVolumeClaim", "name": CLAIM.name, "namespace": NS}
    if uid is not None:
        involved["uid"] = uid
    return {"kind": "Event", "reason": reason, "message": message or reason, "involvedObject": involved}


def _claim(uid: str | None) -> Obj:
    meta: dict[str, Any] = {"name": CLAIM.name, "namespace": NS, "resourceVersion": "5"}
    if uid is not None:
        meta["uid"] = uid
    meta["annotations"] = {"imageregistry.openshift.io": "true"}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta,
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Pending"},
    }


OLD_FAILED = _event("ProvisioningFailed", "old", "invalid AccessModes [ReadWriteMany]")
NEW_FAILED = _event("ProvisioningFailed", "new", "quota exceeded")
NO_UID_FAILED = _event("ProvisioningFailed", None, "from a hand-written snapshot")

CASES = [
    # (claim uid, events under its name, messages quoted)
    ("new", [OLD_FAILED], []),
    ("new", [OLD_FAILED, NEW_FAILED], ["quota exceeded"]),
    ("new", [NEW_FAILED], ["quota exceeded"]),
    ("new", [NO_UID_FAILED], ["from a hand-written snapshot"]),  # nothing to tell them apart by
    (None, [OLD_FAILED], ["invalid AccessModes [ReadWriteMany]"]),  # a claim without uid: all its name's
    ("new", [], []),
]


@pytest.mark.parametrize(("uid", "events", "quoted"), CASES)
def test_plan_and_status_quote_only_the_claims_own_events(
    uid: str | None, events: list[Obj], quoted: list[str]
) -> None:
    claim = _claim(uid)
    assert [e["message"] for e in events_of(claim, events)] == quoted
    live = LiveState(target=Target.OCP4, objects={CLAIM: claim}, events={CLAIM: events})
    desired = {k: v for k, v in claim.items() if k != "status"}
    desired["metadata"] = {"name": CLAIM.name, "namespace": NS}

    class Rendered:
        objects = [desired]
        target = Target.OCP4
        profile = "p"

    plan = make_plan(Rendered(), live)
    pending = [d.message for d in plan.diagnostics if "Pending" in d.message]
    assert pending == [f"claim is Pending: ProvisioningFailed: {m}" for m in quoted] or (
        not quoted and pending == ["claim is Pending"]
    )
    config = {"kind": "Config", "spec": {"storage": {"pvc": {"claim": CLAIM.name}}}}
    live.objects[CONFIG] = config
    summary = statusmod.summarize(Target.OCP4, live)
    assert summary.claim is not None
    assert [e.message for e in summary.claim.events] == quoted
