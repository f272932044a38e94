"""Plan: one action per object, the exact writes, live-context diagnostics, the plan file (no I/O)."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest

from regplan.base.errors import InvalidInput, StaleError
from regplan.base.model import LiveState, Obj, PatchType, Ref, Target, Verb
from regplan.base.normalize import normalize
from regplan.engine.diff import diff_objects
from regplan.engine.plan import Action, make_plan, merge_patch, query_for
from regplan.engine.planfile import plan_from_json, resolve_secrets

NS = "openshift-image-registry"


@dataclass
class R:
    objects: list[Obj]
    target: Target = Target.OCP4
    profile: str = "test"


def pvc(modes: list[str], size: str = "100Gi", klass: str = "gp2", **live: Any) -> Obj:
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "image-registry-storage",
            "namespace": NS,
            "annotations": {"imageregistry.openshift.io": "true"},
        },
        "spec": {
            "accessModes": modes,
            "resources": {"requests": {"storage": size}},
            "storageClassName": klass,
        },
    }
    if live:
        obj["metadata"].update({"uid": "u-1", "resourceVersion": "7"})
        obj["status"] = {"phase": live.get("phase", "Bound")}
    return obj


def cfg(storage: dict[str, Any], replicas: int = 1, rv: str | None = None) -> Obj:
    obj: Obj = {
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": "cluster"},
        "spec": {"replicas": replicas, "storage": storage},
    }
    if rv:
        obj["metadata"].update({"uid": "u-cfg", "resourceVersion": rv})
    return obj


def sc(name: str = "gp2", provisioner: str = "kubernetes.io/aws-ebs", expand: bool = True) -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": provisioner,
        "allowVolumeExpansion": expand,
    }


def state(*objs: Obj, classes: tuple[Obj, ...] = (sc(),), **kw: Any) -> LiveState:
    return LiveState(
        target=Target.OCP4,
        objects={Ref.of(o): o for o in objs},
        storage_classes={c["metadata"]["name"]: c for c in classes},
        **kw,
    )


def action_of(plan: Any, kind: str) -> Any:
    return next(c for c in plan.changes if c.ref.kind == kind)


def test_query_asks_for_each_object_its_class_and_claim() -> None:
    q = query_for(R([pvc(["ReadWriteOnce"]), cfg({"pvc": {"claim": "image-registry-storage"}})]))
    assert len(q.refs) == 2
    assert q.storage_classes == ("gp2",)
    assert q.claims == ((NS, "image-registry-storage"),)


def test_create_when_absent_update_config_with_merge_patch_and_precondition() -> None:
    desired = [pvc(["ReadWriteOnce"]), cfg({"pvc": {"claim": "image-registry-storage"}, "s3": None})]
    live = state(cfg({"s3": {"bucket": "b"}}, replicas=2, rv="42"))
    plan = make_plan(R(desired), live)
    assert action_of(plan, "PersistentVolumeClaim").action is Action.CREATE
    change = action_of(plan, "Config")
    assert change.action is Action.UPDATE
    (write,) = change.writes
    assert write.verb is Verb.PATCH and write.patch_type is PatchType.MERGE
    assert write.body == {
        "metadata": {"resourceVersion": "42"},
        "spec": {"replicas": 1, "storage": {"pvc": {"claim": "image-registry-storage"}, "s3": None}},
    }
    assert [w.ref.kind for w in plan.writes] == ["PersistentVolumeClaim", "Config"]  # dependency order
    assert plan.has_changes and not plan.errors


def test_merge_patch_applied_gives_desired_storage() -> None:
    live = cfg({"s3": {"bucket": "b"}, "managementState": "Managed"}, replicas=2)
    desired = cfg({"pvc": {"claim": "c"}, "s3": None, "managementState": "Unmanaged"})
    patch = merge_patch(tuple(diff_objects(normalize(desired, live))), "1")

    def apply(target: Any, p: Any) -> Any:  # RFC 7386
        if not isinstance(p, dict):
            return p
        out = dict(target) if isinstance(target, dict) else {}
        for k, v in p.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = apply(out.get(k), v)
        return out

    assert apply(live, patch)["spec"]["storage"] == {"pvc": {"claim": "c"}, "managementState": "Unmanaged"}


def test_no_op_makes_no_write() -> None:
    live_pvc = pvc(["ReadWriteOnce"], phase="Bound")
    live_pvc["spec"].update({"volumeName": "pv-1", "volumeMode": "Filesystem"})
    live_pvc["metadata"]["finalizers"] = ["kubernetes.io/pvc-protection"]
    plan = make_plan(R([pvc(["ReadWriteOnce"])]), state(live_pvc))
    assert [c.action for c in plan.changes] == [Action.NOOP]
    assert plan.writes == [] and not plan.has_changes


@pytest.mark.parametrize(
    ("phase", "destructive", "says"),
    [
        ("Bound", True, "data on the claim is lost"),
        ("Pending", False, "never bound (Pending, no volume): no data"),
    ],
)
def test_immutable_access_mode_is_a_replace_delete_then_create(
    phase: str, destructive: bool, says: str
) -> None:
    """A replace either way (--allow-replace gates both); destructive only when the claim may hold data."""
    plan = make_plan(R([pvc(["ReadWriteOnce"])]), state(pvc(["ReadWriteMany"], phase=phase)))
    change = plan.changes[0]
    assert change.action is Action.REPLACE and change.destructive is destructive
    assert change.reason.startswith("spec.accessModes is immutable") and says in change.reason
    delete, create = change.writes
    assert (delete.verb, delete.uid, delete.resource_version, delete.wait_gone) == (
        Verb.DELETE,
        "u-1",
        "7",
        True,
    )
    assert create.verb is Verb.CREATE and create.body["spec"]["accessModes"] == ["ReadWriteOnce"]


@pytest.mark.parametrize(
    ("size", "phase", "expand", "action", "reason"),
    [
        ("200Gi", "Bound", True, Action.UPDATE, ""),
        ("50Gi", "Bound", True, Action.BLOCKED, "field can not be less than previous value"),
        ("200Gi", "Bound", False, Action.BLOCKED, "does not allow volume expansion"),
        ("200Gi", "Pending", True, Action.BLOCKED, "only a Bound claim can be expanded"),
        ("107374182400", "Bound", False, Action.NOOP, ""),
    ],
)
def test_claim_size_rules(size: str, phase: str, expand: bool, action: Action, reason: str) -> None:
    live = state(pvc(["ReadWriteOnce"], phase=phase), classes=(sc(expand=expand),))
    plan = make_plan(R([pvc(["ReadWriteOnce"], size=size)]), live)
    change = plan.changes[0]
    assert change.action is action
    assert reason in change.reason
    if action is Action.BLOCKED:
        assert change.writes == () and any(reason in d.message for d in plan.errors)
    if action is Action.UPDATE:
        (w,) = change.writes
        assert w.patch_type is PatchType.MERGE
        assert w.body["spec"] == {"resources": {"requests": {"storage": "200Gi"}}}
        assert w.body["metadata"]["resourceVersion"] == "7"


def test_storage_class_checks() -> None:
    missing = make_plan(R([pvc(["ReadWriteOnce"], klass="nope")]), state(classes=()))
    assert any("StorageClass nope not found" in d.message for d in missing.errors)
    rwx_on_ebs = make_plan(R([pvc(["ReadWriteMany"])]), state())
    assert any("cannot give ReadWriteMany" in d.message for d in rwx_on_ebs.errors)
    cephfs = make_plan(
        R([pvc(["ReadWriteMany"], klass="c")]), state(classes=(sc("c", "cephfs.csi.ceph.com"),))
    )
    assert cephfs.errors == []


def test_pending_claim_events_are_quoted_and_holders_named() -> None:
    msg = 'Failed to provision volume with StorageClass "gp2": invalid AccessModes [ReadWriteMany]'
    ev = {"kind": "Event", "reason": "ProvisioningFailed", "type": "Warning", "message": msg}
    claim = Ref("v1", "PersistentVolumeClaim", NS, "image-registry-storage")
    live = state(
        pvc(["ReadWriteMany"], phase="Pending"),
        events={claim: [ev]},
        pods_using_claim={"image-registry-storage": ["image-registry-abc"]},
    )
    plan = make_plan(R([pvc(["ReadWriteOnce"])]), live)
    text = " ".join(d.message for d in plan.diagnostics)
    assert f"ProvisioningFailed: {msg}" in text
    assert "image-registry-abc" in text
    assert plan.errors == []  # warnings: the replace is the fix


def test_config_management_state_and_missing_config() -> None:
    removed = cfg({"s3": {}}, rv="1")
    removed["spec"]["managementState"] = "Removed"
    plan = make_plan(R([cfg({"s3": {}})]), state(removed))
    assert any("Removed" in d.message for d in plan.errors)
    absent = make_plan(R([cfg({"s3": {}})]), state())
    assert absent.changes[0].action is Action.BLOCKED and absent.writes == []


def test_rwo_claim_with_many_live_replicas_is_an_error_unless_the_plan_fixes_it() -> None:
    live = state(
        pvc(["ReadWriteOnce"], phase="Bound"), cfg({"pvc": {"claim": "image-registry-storage"}}, 3, "5")
    )
    keeps = make_plan(R([pvc(["ReadWriteOnce"])]), live)
    assert any("more than one replica" in d.message for d in keeps.errors)
    fixes = make_plan(R([pvc(["ReadWriteOnce"]), cfg({"pvc": {"claim": "image-registry-storage"}}, 1)]), live)
    assert fixes.errors == []


def _dc(env: list[dict[str, str]], volumes: list[Obj], rv: str = "99") -> Obj:
    return {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": {"name": "docker-registry", "namespace": "default", "resourceVersion": rv, "uid": "d"},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Rolling", "rollingParams": {"intervalSeconds": 1}},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "sidecar",
                            "env": [{"name": "REGISTRY_STORAGE", "value": "keep-not-registry"}],
                        },
                        {
                            "name": "registry",
                            "env": env,
                            "volumeMounts": [
                                {"name": v["name"], "mountPath": f"/{v['name']}"} for v in volumes
                            ],
                        },
                    ],
                    "volumes": volumes,
                }
            },
        },
    }


def test_dc_json_patch_applies_to_live_and_keeps_what_it_does_not_own() -> None:
    jsonpatch = pytest.importorskip("jsonpatch")
    live = _dc(
        [
            {"name": "A", "value": "1"},
            {"name": "REGISTRY_STORAGE_S3_BUCKET", "value": "x"},
            {"name": "B", "value": "2"},
            {"name": "REGISTRY_STORAGE", "value": "s3"},
        ],
        [
            {"name": "registry-storage", "emptyDir": {}},
            {"name": "registry-certificates", "secret": {"secretName": "registry-certificates"}},
        ],
    )
    desired: Obj = {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": {"name": "docker-registry", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "template": {
                "spec": {
                    "containers": [{"name": "registry", "env": [{"name": "P", "value": "/p"}]}],
                    "volumes": [{"name": "registry-storage", "persistentVolumeClaim": {"claimName": "c"}}],
                }
            },
        },
    }
    plan = make_plan(R([desired], Target.OCP3), LiveState(target=Target.OCP3, objects={Ref.of(live): live}))
    (write,) = plan.writes
    assert write.patch_type is PatchType.JSON
    assert write.body[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "99"}
    after = jsonpatch.apply_patch(copy.deepcopy(live), write.body)
    reg = after["spec"]["template"]["spec"]["containers"][1]
    assert [e["name"] for e in reg["env"]] == ["A", "B", "P"]
    assert (
        after["spec"]["template"]["spec"]["containers"][0]
        == live["spec"]["template"]["spec"]["containers"][0]
    )
    assert after["spec"]["template"]["spec"]["volumes"] == [
        {"name": "registry-storage", "persistentVolumeClaim": {"claimName": "c"}},
        {"name": "registry-certificates", "secret": {"secretName": "registry-certificates"}},
    ]
    assert after["spec"]["strategy"] == {"type": "Recreate"}
    # the patch is complete: planning again against the result changes nothing
    again = make_plan(
        R([desired], Target.OCP3), LiveState(target=Target.OCP3, objects={Ref.of(after): after})
    )
    assert not again.has_changes


def _secret(value: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": NS},
        "type": "Opaque",
        "data": {"K": base64.b64encode(value.encode()).decode()},
    }


def test_plan_file_round_trip_holds_digests_only_and_resolves_from_fresh_objects() -> None:
    live_secret = {
        **_secret("old-value-1"),
        "metadata": {
            "name": "s",
            "namespace": NS,
            "resourceVersion": "3",
            "uid": "us",
            "labels": {"other": "x"},
        },
    }
    plan = make_plan(R([_secret("new-value-2")]), state(live_secret))
    (write,) = plan.writes
    assert write.verb is Verb.UPDATE and write.secret and write.resource_version == "3"
    assert write.body["metadata"]["labels"] == {"other": "x"}  # PUT keeps what others set
    text = plan.dumps()
    assert "new-value-2" not in text and base64.b64encode(b"new-value-2").decode() not in text
    loaded = plan_from_json(json.loads(text))
    assert not loaded.secrets_resolved
    assert [c.action for c in loaded.changes] == [Action.UPDATE]
    assert loaded.changes[0].fields[0].sensitive
    resolved = resolve_secrets(loaded, [_secret("new-value-2")])
    assert resolved.secrets_resolved
    assert resolved.writes[0].body["data"] == _secret("new-value-2")["data"]
    assert resolved.writes[0].body["metadata"]["resourceVersion"] == "3"
    with pytest.raises(StaleError, match="data key K changed"):
        resolve_secrets(loaded, [_secret("rotated-3")])


def test_plan_file_version_is_checked() -> None:
    with pytest.raises(InvalidInput, match="formatVersion"):
        plan_from_json({"formatVersion": 99})
    with pytest.raises(InvalidInput, match="not a regplan plan"):
        plan_from_json({"formatVersion": 1})


def test_dc_without_the_registry_container_is_blocked() -> None:
    live = _dc([], [])
    live["spec"]["template"]["spec"]["containers"] = [{"name": "other", "image": "x"}]
    desired: Obj = {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": {"name": "docker-registry", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "registry", "env": []}]}}},
    }
    plan = make_plan(R([desired], Target.OCP3), LiveState(target=Target.OCP3, objects={Ref.of(live): live}))
    assert plan.changes[0].action is Action.BLOCKED
    assert "has no container registry" in plan.changes[0].reason
    assert plan.writes == []


@pytest.mark.parametrize(
    ("provisioner", "mode", "refused"),
    [
        ("kubernetes.io/aws-ebs", "ReadWriteMany", True),
        ("ebs.csi.aws.com", "ReadWriteMany", True),
        ("rbd.csi.ceph.com", "ReadWriteMany", True),
        ("openshift-storage.rbd.csi.ceph.com", "ReadWriteMany", True),
        ("cephfs.csi.ceph.com", "ReadWriteMany", False),
        ("ebs.csi.aws.com", "ReadWriteOnce", False),
        ("openshift-storage.cephfs.csi.ceph.com", "ReadWriteMany", False),
    ],
)
def test_provisioner_access_modes(provisioner: str, mode: str, refused: bool) -> None:
    plan = make_plan(R([pvc([mode], klass="c")]), state(classes=(sc("c", provisioner),)))
    found = [d for d in plan.errors if f"cannot give {mode}" in d.message]
    assert bool(found) == refused
    if refused:
        assert found[0].origin == "live StorageClass/c"


def test_odf_rbd_class_cannot_give_rwx() -> None:
    klass = sc("ocs-storagecluster-ceph-rbd", "openshift-storage.rbd.csi.ceph.com")
    plan = make_plan(
        R([pvc(["ReadWriteMany"], klass="ocs-storagecluster-ceph-rbd")]), state(classes=(klass,))
    )
    assert any("cannot give ReadWriteMany" in d.message for d in plan.errors)


def test_config_naming_the_claim_goes_before_a_replace_while_the_operator_would_recreate_it() -> None:
    desired = [pvc(["ReadWriteOnce"]), cfg({"pvc": {"claim": "image-registry-storage"}, "s3": None})]
    pending = pvc(["ReadWriteMany"], phase="Pending")
    unnamed = make_plan(R(desired), state(pending, cfg({"pvc": {"claim": ""}}, replicas=2, rv="8")))
    assert [(w.ref.kind, w.verb) for w in unnamed.writes] == [
        ("Config", Verb.PATCH),
        ("PersistentVolumeClaim", Verb.DELETE),
        ("PersistentVolumeClaim", Verb.CREATE),
    ]
    named = make_plan(R(desired), state(pending, cfg({"pvc": {"claim": "image-registry-storage"}}, 2, "8")))
    assert [w.ref.kind for w in named.writes] == ["PersistentVolumeClaim", "PersistentVolumeClaim", "Config"]


@pytest.mark.parametrize(
    ("kind", "field", "live_value", "destructive"),
    [
        ("Secret", "type", "kubernetes.io/opaque-legacy", False),
        ("PersistentVolumeClaim", "storageClassName", "gp3-csi", True),
    ],
)
def test_an_immutable_field_is_a_replace(kind: str, field: str, live_value: str, destructive: bool) -> None:
    """Every IMMUTABLE row (one per kind here): a change there is delete + create, never an update."""
    desired: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "openshift-image-registry"},
    }
    if kind == "Secret":
        desired.update(type="Opaque", data={"K": "dg=="})
    else:
        desired["spec"] = {"storageClassName": "gp2", "accessModes": ["ReadWriteOnce"]}
    live_obj = copy.deepcopy(desired)
    live_obj["metadata"].update(uid="u", resourceVersion="1")
    if kind == "Secret":
        live_obj["type"] = live_value
    else:
        live_obj["spec"][field] = live_value

    class R:
        objects = [desired]
        target = Target.OCP4
        profile = "p"

    plan = make_plan(R(), LiveState(target=Target.OCP4, objects={Ref.of(live_obj): live_obj}))
    change = plan.changes[0]
    assert change.action is Action.REPLACE and change.destructive is destructive
    assert [str(w.verb) for w in change.writes] == ["delete", "create"]
