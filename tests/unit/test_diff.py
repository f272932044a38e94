"""Diff: left-scoped field changes (no I/O)."""

from __future__ import annotations

import base64

from regplan.base.normalize import normalize
from regplan.engine.diff import ChangeKind, diff_objects


def _cfg(storage: dict[str, object], **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": "cluster"},
        "spec": {**spec, "storage": storage},
    }


def test_fields_live_has_but_desired_does_not_set_are_not_changes() -> None:
    live = _cfg({"s3": {"bucket": "b", "region": "r", "trustedCA": {"name": ""}}}, replicas=2, httpSecret="x")
    assert diff_objects(normalize(_cfg({"s3": {"bucket": "b"}}, replicas=2), live)) == []


def test_empty_map_asks_for_existence_only() -> None:
    live = _cfg({"s3": {"bucket": "generated"}})
    assert diff_objects(normalize(_cfg({"s3": {}}), live)) == []
    added = diff_objects(normalize(_cfg({"emptyDir": {}, "s3": None}), live))
    assert [(f.dotted, f.kind) for f in added] == [
        ("spec.storage.emptyDir", ChangeKind.ADDED),
        ("spec.storage.s3", ChangeKind.REMOVED),
    ]


def test_switch_backend_adds_one_subtree_and_removes_the_old() -> None:
    live = _cfg({"s3": {"bucket": "b"}, "managementState": "Managed"}, replicas=2)
    desired = _cfg({"pvc": {"claim": "c"}, "s3": None, "managementState": "Unmanaged"}, replicas=1)
    changes = {f.dotted: f for f in diff_objects(normalize(desired, live))}
    assert changes["spec.replicas"].kind is ChangeKind.CHANGED
    assert (changes["spec.replicas"].old, changes["spec.replicas"].new) == (2, 1)
    assert changes["spec.storage.pvc"].new == {"claim": "c"}
    assert changes["spec.storage.s3"].kind is ChangeKind.REMOVED
    assert changes["spec.storage.s3"].old == {"bucket": "b"}


def test_removing_a_key_live_lacks_is_no_change() -> None:
    assert (
        diff_objects(normalize(_cfg({"s3": None, "pvc": {"claim": "c"}}), _cfg({"pvc": {"claim": "c"}})))
        == []
    )


def test_quantity_written_differently_is_no_change() -> None:
    def pvc(size: str) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "c", "namespace": "n"},
            "spec": {"resources": {"requests": {"storage": size}}},
        }

    assert diff_objects(normalize(pvc("100Gi"), pvc("107374182400"))) == []
    assert len(diff_objects(normalize(pvc("200Gi"), pvc("100Gi")))) == 1


def test_secret_changes_are_sensitive_and_hold_no_value() -> None:
    def secret(value: bytes) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "n"},
            "data": {"K": base64.b64encode(value).decode()},
        }

    (change,) = diff_objects(normalize(secret(b"new-secret"), secret(b"old-secret")))
    assert change.sensitive and change.kind is ChangeKind.CHANGED
    assert "secret" not in str(change.to_json()).replace("sensitive", "")
    assert "old" not in change.to_json() and "new" not in change.to_json()
    assert diff_objects(normalize(secret(b"same"), secret(b"same"))) == []


def test_absent_object_lists_each_leaf() -> None:
    desired = _cfg({"pvc": {"claim": "c"}}, replicas=1)
    paths = [f.dotted for f in diff_objects(normalize(desired, None))]
    assert "spec.storage.pvc.claim" in paths and "spec.replicas" in paths


def test_named_item_added_whole_and_removed_whole() -> None:
    def dc(env: list[dict[str, str]]) -> dict[str, object]:
        return {
            "apiVersion": "apps.openshift.io/v1",
            "kind": "DeploymentConfig",
            "metadata": {"name": "docker-registry", "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{"name": "registry", "env": env}]}}},
        }

    live = dc([{"name": "REGISTRY_STORAGE", "value": "s3"}, {"name": "KEEP", "value": "1"}])
    changes = diff_objects(normalize(dc([{"name": "REGISTRY_CONFIGURATION_PATH", "value": "/p"}]), live))
    got = {(f.dotted, f.kind) for f in changes}
    base = "spec.template.spec.containers[registry].env"
    assert got == {
        (f"{base}[REGISTRY_CONFIGURATION_PATH]", ChangeKind.ADDED),
        (f"{base}[REGISTRY_STORAGE]", ChangeKind.REMOVED),
    }
