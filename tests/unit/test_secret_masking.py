"""Issue 8 item 4a: a Secret's content never leaves regplan, wherever in the Secret it hides.

A table of live Secrets (the 4.x S3 credentials Secret, the 3.x ``registry-config`` Secret) carrying
their content in every place it can hide (data, stringData, kubectl's last-applied-configuration, other
annotations, managedFields); each is planned over and summarised, and no channel (plan text, ``-o json``,
the plan file, status text and JSON) holds a value, plain or base64. The rows of
``normalize.SECRET_MASKS`` are checked one by one too.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from regplan.base.model import LiveState, Obj, Ref, Target
from regplan.base.normalize import SECRET_MASKS, mask_secret
from regplan.engine import status as statusmod
from regplan.engine.plan import make_plan
from regplan.engine.planfile import plan_from_json
from regplan.present import views

OLD_AK, OLD_SK = "AKIAOLDOLDOLDOLD0001", "old/Secret+Key/wJalrXUtnFEMIK7MDENGbPxRfi"
NEW_AK, NEW_SK = "AKIANEWNEWNEWNEW0002", "new/Secret+Key/zzzzXUtnFEMIK7MDENGbPxRfi"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.service-account-token"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def s3_secret(ns: str, name: str, ak: str, sk: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "type": "Opaque",
        "data": {"REGISTRY_STORAGE_S3_ACCESSKEY": b64(ak), "REGISTRY_STORAGE_S3_SECRETKEY": b64(sk)},
    }


def config_secret(ak: str, sk: str) -> Obj:
    config = f"version: 0.1\nstorage:\n  s3:\n    accesskey: {ak}\n    secretkey: {sk}\n    bucket: b\n"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "registry-config", "namespace": "default"},
        "type": "Opaque",
        "data": {"config.yml": b64(config)},
    }


def with_hiding_places(secret: Obj, where: str) -> Obj:
    """The live form of ``secret`` with its content also in ``where``."""
    live: Any = json.loads(json.dumps(secret))
    live["metadata"].update(uid="u-1", resourceVersion="7")
    match where:
        case "last-applied":
            applied = {k: v for k, v in secret.items() if k != "status"}
            live["metadata"]["annotations"] = {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)
            }
        case "token-annotation":
            live["metadata"]["annotations"] = {"openshift.io/token-secret.value": TOKEN}
        case "stringData":
            live["stringData"] = {"extra": OLD_SK}
        case "managedFields":
            live["metadata"]["managedFields"] = [
                {"manager": "kubectl", "fieldsV1": {"f:data": {f"f:{OLD_SK}": {}}}}
            ]
    return dict(live)


@dataclass
class _Rendered:
    objects: list[Obj]
    target: Target
    profile: str = "masking"


CASES = [
    (
        target,
        where,
        desired,
        old,
    )
    for target, desired, old in (
        (
            Target.OCP4,
            s3_secret(
                "openshift-image-registry", "image-registry-private-configuration-user", NEW_AK, NEW_SK
            ),
            s3_secret(
                "openshift-image-registry", "image-registry-private-configuration-user", OLD_AK, OLD_SK
            ),
        ),
        (Target.OCP3, config_secret(NEW_AK, NEW_SK), config_secret(OLD_AK, OLD_SK)),
    )
    for where in ("last-applied", "token-annotation", "stringData", "managedFields")
]


def _leaks(text: str) -> list[str]:
    values = [OLD_AK, OLD_SK, NEW_AK, NEW_SK, TOKEN]
    encoded = [b64(v) for v in values]
    # base64 of a value inside a longer document (the 3.x config.yml) and the JSON-escaped forms too
    docs = [json.dumps(v)[1:-1] for v in values]
    return [v for v in (*values, *encoded, *docs) if v in text]


@pytest.mark.parametrize(("target", "where", "desired", "old"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_no_channel_shows_a_secret_value(target: Target, where: str, desired: Obj, old: Obj) -> None:
    live_secret = with_hiding_places(old, where)
    live = LiveState(target=target, objects={Ref.of(live_secret): live_secret})
    plan = make_plan(_Rendered([desired], target), live)
    assert plan.writes and plan.writes[0].secret  # an update: the PUT body carries the live annotations
    loaded = plan_from_json(json.loads(plan.dumps()))
    status = statusmod.summarize(target, live)
    channels = {
        "plan text": views.plan_text(plan),
        "plan -o json / plan file": views.plan_json(plan),
        "plan file, loaded and saved again": loaded.dumps(),
        "status json": views.status_json(status),
        "status text": views.status_text(status),
    }
    for channel, text in channels.items():
        assert _leaks(text) == [], channel
        for value in (*old["data"].values(), *desired["data"].values()):
            assert value not in text, channel  # the base64 of a whole document (3.x config.yml)


@pytest.mark.parametrize("row", SECRET_MASKS, ids=lambda r: ".".join(r.path))
def test_each_mask_row_hides_its_place(row: Any) -> None:
    secret = with_hiding_places(s3_secret("ns", "s", OLD_AK, OLD_SK), "last-applied")
    secret["stringData"] = {"plain": OLD_SK}
    secret["metadata"]["managedFields"] = [{"fieldsV1": {"f:data": {"f:REGISTRY_STORAGE_S3_SECRETKEY": {}}}}]
    masked = mask_secret(secret)
    node: Any = masked
    for key in row.path[:-1]:
        node = node.get(key) or {}
    if row.how == "drop" or row.path[0] == "stringData":
        assert row.path[-1 if row.how == "drop" else 0] not in node  # dropped, or merged into data
    else:
        assert node and all(str(v).startswith("sha256:") for v in node.values())
    assert _leaks(json.dumps(masked)) == []
    assert mask_secret(masked)["metadata"] == masked["metadata"]  # masking a masked Secret changes nothing
