"""Normalize: the rule tables do what their reasons say (no I/O)."""

from __future__ import annotations

import base64

from regplan.base.normalize import (
    IGNORE,
    REBASE,
    Item,
    NamedList,
    equal,
    format_path,
    mask_secret,
    normalize,
    parse_quantity,
    rebased_body,
)


def _pvc(**spec: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "c", "namespace": "ns"},
        "spec": dict(spec),
    }


def test_every_rule_has_a_reason() -> None:
    assert all(r.reason for r in IGNORE + REBASE)


def test_quantities_compare_canonically() -> None:
    path = ("spec", "resources", "requests", "storage")
    assert equal("PersistentVolumeClaim", path, "100Gi", "107374182400")
    assert equal("PersistentVolumeClaim", path, "1Gi", "1024Mi")
    assert not equal("PersistentVolumeClaim", path, "100Gi", "100G")
    assert parse_quantity("1.5Ki") == 1536
    assert parse_quantity("lots") is None


def test_access_modes_compare_as_a_set_but_other_lists_do_not() -> None:
    assert equal("PersistentVolumeClaim", ("spec", "accessModes"), ["A", "B"], ["B", "A"])
    assert not equal("X", ("spec", "args"), ["A", "B"], ["B", "A"])


def test_booleans_are_not_numbers() -> None:
    assert not equal("Config", ("spec", "storage", "s3", "encrypt"), True, 1)


def test_ignore_drops_server_bookkeeping() -> None:
    live = _pvc(accessModes=["ReadWriteOnce"])
    live["metadata"] = {
        "name": "c",
        "namespace": "ns",
        "uid": "u",
        "resourceVersion": "9",
        "managedFields": [{}],
        "creationTimestamp": "t",
    }
    live["status"] = {"phase": "Bound"}
    pair = normalize(_pvc(accessModes=["ReadWriteOnce"]), live)
    assert pair.live is not None
    assert pair.live["metadata"] == {"name": "c", "namespace": "ns"}
    assert "status" not in pair.live


def test_rebase_copies_server_set_claim_fields_only_when_desired_leaves_them_unset() -> None:
    live = _pvc(volumeName="pv-1", storageClassName="gp2", volumeMode="Filesystem")
    live["metadata"] = {
        "name": "c",
        "namespace": "ns",
        "annotations": {"pv.kubernetes.io/bind-completed": "yes", "someone/else": "x"},
        "finalizers": ["kubernetes.io/pvc-protection"],
    }
    pair = normalize(_pvc(storageClassName="gp3"), live)
    assert pair.desired["spec"]["volumeName"] == "pv-1"
    assert pair.desired["spec"]["storageClassName"] == "gp3"  # desired wins where it speaks
    assert pair.desired["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes"}
    assert pair.desired["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]


def test_secret_values_become_digests_on_both_sides() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"K": base64.b64encode(b"hunter2").decode()},
        "stringData": {"L": "plain"},
    }
    masked = mask_secret(secret)
    assert "stringData" not in masked
    assert set(masked["data"]) == {"K", "L"}
    assert all(v.startswith("sha256:") for v in masked["data"].values())
    assert "hunter2" not in str(masked) and "plain" not in str(masked)
    assert mask_secret({**secret, "stringData": {}})["data"]["K"] == masked["data"]["K"]


def test_named_lists_become_maps_and_removals_mark_storage_env() -> None:
    def dc(env: list[dict[str, str]]) -> dict[str, object]:
        return {
            "apiVersion": "apps.openshift.io/v1",
            "kind": "DeploymentConfig",
            "metadata": {"name": "docker-registry", "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{"name": "registry", "env": env}]}}},
        }

    live = dc(
        [
            {"name": "REGISTRY_HTTP_ADDR", "value": ":5000"},
            {"name": "REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS", "value": "100"},
        ]
    )
    pair = normalize(dc([{"name": "REGISTRY_CONFIGURATION_PATH", "value": "/x"}]), live)
    env = pair.desired["spec"]["template"]["spec"]["containers"]["registry"]["env"]
    assert isinstance(env, NamedList)
    assert env["REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS"] is None  # to be removed
    assert "REGISTRY_HTTP_ADDR" not in env  # not owned: left alone


def test_config_removal_marks_every_other_backend() -> None:
    desired = {
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": "cluster"},
        "spec": {"storage": {"pvc": {"claim": "c"}, "managementState": "Unmanaged"}},
    }
    live = {**desired, "spec": {"storage": {"s3": {"bucket": "b"}, "gcs": {}, "managementState": "Managed"}}}
    pair = normalize(desired, live)
    assert pair.desired["spec"]["storage"]["s3"] is None
    assert pair.desired["spec"]["storage"]["gcs"] is None
    assert pair.desired["spec"]["storage"]["managementState"] == "Unmanaged"


def test_rebased_body_keeps_foreign_secret_labels_and_is_api_form() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "labels": {"a": "1"}},
        "data": {"K": "dg=="},
    }
    live = {**desired, "metadata": {"name": "s", "labels": {"a": "0", "b": "2"}}, "type": "Opaque"}
    body = rebased_body(desired, live)
    assert body["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert body["type"] == "Opaque"
    assert body["data"] == {"K": "dg=="}


def test_format_path_quotes_keys_with_dots() -> None:
    assert format_path(("metadata", "annotations", "a.b/c")) == 'metadata.annotations["a.b/c"]'
    assert format_path(("spec", "containers", Item("registry"), "env")) == "spec.containers[registry].env"
