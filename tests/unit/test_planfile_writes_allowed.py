"""A plan file is only executed when its writes are the kind of writes regplan plans.

``regplan apply PLANFILE`` sends ``writes[]`` from the file. A file edited by hand (or by a tool, or
corrupted) must not turn into a request regplan would never plan: a DELETE under an "update" (which
would skip the ``--allow-replace`` refusal), a write to ``deploy/image-registry`` (docs/domain.md),
a create whose body is not the desired object the plan shows.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from regplan.base.errors import InvalidInput
from regplan.base.model import LiveState, Obj, Ref, Target
from regplan.engine.plan import Action, make_plan
from regplan.engine.planfile import plan_from_json

NS = "openshift-image-registry"


class _Rendered:
    def __init__(self, objects: list[Obj]) -> None:
        self.objects = objects
        self.target = Target.OCP4
        self.profile = "review"


def _pvc(mode: str, **meta: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "registry-claim", "namespace": NS, **meta},
        "spec": {
            "accessModes": [mode],
            "resources": {"requests": {"storage": "100Gi"}},
            "storageClassName": "gp2",
        },
    }


def _cfg(storage: dict[str, Any], **meta: str) -> Obj:
    return {
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": "cluster", **meta},
        "spec": {"replicas": 1, "storage": storage},
    }


SC = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "gp2"},
    "provisioner": "x",
}


def _doc(live_pvc: Obj | None) -> dict[str, Any]:
    desired = [_pvc("ReadWriteOnce"), _cfg({"pvc": {"claim": "registry-claim"}, "s3": None})]
    objs = [_cfg({"s3": {"bucket": "b"}}, uid="c", resourceVersion="3")]
    if live_pvc is not None:
        objs.append(live_pvc)
    live = LiveState(target=Target.OCP4, objects={Ref.of(o): o for o in objs}, storage_classes={"gp2": SC})
    return make_plan(_Rendered(desired), live).to_json()


def test_untouched_plan_files_load() -> None:
    for live_pvc in (None, _pvc("ReadWriteMany", uid="p", resourceVersion="9")):
        doc = json.loads(json.dumps(_doc(live_pvc)))
        plan = plan_from_json(doc)
        assert plan.writes


def test_a_delete_under_an_update_is_refused() -> None:
    doc = _doc(_pvc("ReadWriteMany", uid="p", resourceVersion="9"))
    change = next(c for c in doc["changes"] if c["object"]["kind"] == "PersistentVolumeClaim")
    assert change["action"] == str(Action.REPLACE)
    change["action"], change["destructive"] = "update", False  # hides the replace from --allow-replace
    with pytest.raises(InvalidInput, match=r"PersistentVolumeClaim.*update.*delete"):
        plan_from_json(doc)


def test_a_write_to_the_operator_deployment_is_refused() -> None:
    doc = _doc(None)
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": NS, "name": "image-registry"}
    write = copy.deepcopy(doc["writes"][-1])
    write["object"] = deploy
    doc["writes"].append(write)
    doc["changes"].append(
        {"object": deploy, "ref": "x", "action": "update", "reason": "", "destructive": False, "fields": []}
    )
    with pytest.raises(InvalidInput, match=r"Deployment.*image-registry"):
        plan_from_json(doc)


def test_a_write_for_no_change_is_refused() -> None:
    doc = _doc(None)
    stray = copy.deepcopy(doc["writes"][0])
    stray["object"] = dict(stray["object"], name="someone-elses-claim")
    doc["writes"].append(stray)
    with pytest.raises(InvalidInput, match="someone-elses-claim"):
        plan_from_json(doc)


def test_a_create_body_that_is_not_the_desired_object_is_refused() -> None:
    doc = _doc(None)
    create = next(w for w in doc["writes"] if w["verb"] == "create")
    create["body"]["spec"]["accessModes"] = ["ReadWriteMany"]
    with pytest.raises(InvalidInput, match=r"PersistentVolumeClaim.*desired"):
        plan_from_json(doc)


GOLDEN_PLANS = sorted((Path(__file__).resolve().parents[2] / "golden" / "plan").glob("*/plan.json"))


@pytest.mark.parametrize("path", GOLDEN_PLANS, ids=lambda p: p.parent.name)
def test_every_golden_plan_file_passes_the_checks(path: Path) -> None:
    plan = plan_from_json(json.loads(path.read_text(encoding="utf-8")), origin=str(path))
    assert len(plan.writes) == len(json.loads(path.read_text(encoding="utf-8"))["writes"])


def test_golden_plans_cover_secrets_replaces_and_3x() -> None:
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in GOLDEN_PLANS]
    writes = [w for d in docs for w in d["writes"]]
    assert any(w["secret"] for w in writes)
    assert any(w["verb"] == "delete" for w in writes)
    assert any(w["object"]["kind"] == "DeploymentConfig" for w in writes)


def test_a_secret_write_unmarked_secret_is_refused() -> None:
    doc = next(
        json.loads(p.read_text(encoding="utf-8"))
        for p in GOLDEN_PLANS
        if any(w["secret"] for w in json.loads(p.read_text(encoding="utf-8"))["writes"])
    )
    write = next(w for w in doc["writes"] if w["secret"])
    write["secret"] = False  # apply would then PUT the digests as the Secret's data
    with pytest.raises(InvalidInput, match=r"Secret.*not marked secret"):
        plan_from_json(doc)
