"""Snapshot: `oc get -o yaml` files answer a LiveQuery like the cluster does (file I/O on tmp files only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regplan.base.errors import InvalidInput
from regplan.base.model import LiveQuery, Ref, Target
from regplan.engine import snapshot

ROOT = Path(__file__).resolve().parents[2]
CLAIM = Ref("v1", "PersistentVolumeClaim", "openshift-image-registry", "image-registry-storage")
CFG = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")


def test_list_file_answers_only_what_is_asked() -> None:
    objs = snapshot.read_objects(ROOT / "examples/snapshots/ocp4-pvc-pending.yaml")
    q = LiveQuery(
        target=Target.OCP4,
        refs=(CFG, CLAIM),
        storage_classes=("gp2", "missing"),
        claims=(("openshift-image-registry", "image-registry-storage"),),
    )
    live = snapshot.answer(objs, q, source="x")
    assert set(live.objects) == {CFG, CLAIM}
    assert set(live.storage_classes) == {"gp2"}  # gp2-csi is in the file but was not asked for
    reasons = [e["reason"] for e in live.events[CLAIM]]
    assert reasons == ["WaitForFirstConsumer", "ProvisioningFailed"]  # oldest first
    assert live.pods_using_claim == {"image-registry-storage": ["image-registry-5f8d9c7b6-q2mzx"]}
    assert live.server_dry_run is False and live.source == "x"


def test_multi_document_and_single_object_and_timestamps(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: a\n  namespace: n\n"
        "  creationTimestamp: 2019-03-05T10:21:33Z\n---\n"
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps.openshift.io/v1\n  kind: DeploymentConfig\n"
        "  metadata: {name: docker-registry, namespace: default}\n"
    )
    objs = snapshot.read_objects(f)
    assert [o["kind"] for o in objs] == ["PersistentVolumeClaim", "DeploymentConfig"]
    assert objs[0]["metadata"]["creationTimestamp"] == "2019-03-05T10:21:33Z"
    assert snapshot.detect_target(objs, "s") is Target.OCP3


def test_other_api_version_of_the_same_group_still_matches(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(
        "apiVersion: imageregistry.operator.openshift.io/v1beta1\nkind: Config\nmetadata: {name: cluster}\n"
    )
    live = snapshot.load(f, LiveQuery(target=Target.OCP4, refs=(CFG,)))
    assert CFG in live.objects


def test_detect_target_and_errors(tmp_path: Path) -> None:
    assert (
        snapshot.detect_target(snapshot.read_objects(ROOT / "examples/snapshots/ocp4-aws-fresh.yaml"), "s")
        is Target.OCP4
    )
    with pytest.raises(InvalidInput, match="cannot detect the target"):
        snapshot.detect_target([], "empty.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Thing\n")
    with pytest.raises(InvalidInput, match="not a Kubernetes object"):
        snapshot.read_objects(bad)
    with pytest.raises(InvalidInput, match="cannot read snapshot"):
        snapshot.read_objects(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("written", "served"),
    [
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
        ("2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z"),
        ("2024-01-01T10:00:00.5-01:30", "2024-01-01T11:30:00Z"),
        ("2024-01-01 10:00:00", "2024-01-01T10:00:00Z"),
        ('"2024-01-01T10:00:00+02:00"', "2024-01-01T10:00:00+02:00"),  # quoted: a string, kept
    ],
)
def test_timestamps_read_as_the_api_serves_them(tmp_path: Path, written: str, served: str) -> None:
    f = tmp_path / "snap.yaml"
    f.write_text(
        "apiVersion: v1\nkind: Event\nmetadata: {name: e, namespace: n, creationTimestamp: "
        + written
        + "}\ninvolvedObject: {kind: PersistentVolumeClaim, name: c}\nreason: R\nmessage: m\n"
    )
    (obj,) = snapshot.read_objects(f)
    assert obj["metadata"]["creationTimestamp"] == served
