"""Apply writes exactly what the plan shows (no silent side effect of a write)."""

from __future__ import annotations

import base64
import copy
import json

from regplan.base.model import LiveState, Obj, Ref, Target, Verb
from regplan.engine.plan import Action, Plan, make_plan
from regplan.present.views import plan_text

NS = "openshift-image-registry"


class _Rendered:
    def __init__(self, objects: list[Obj]) -> None:
        self.objects = objects
        self.target = Target.OCP4
        self.profile = "review"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "image-registry-private-configuration-user", "namespace": NS},
        "type": "Opaque",
        "data": {"REGISTRY_STORAGE_S3_ACCESSKEY": _b64("a"), "REGISTRY_STORAGE_S3_SECRETKEY": _b64("s")},
    }


def _plan(live: Obj) -> Plan:
    return make_plan(_Rendered([_secret()]), LiveState(target=Target.OCP4, objects={Ref.of(live): live}))


def test_a_secret_key_the_put_would_drop_is_in_the_plan() -> None:
    live = copy.deepcopy(_secret())
    live["metadata"].update(uid="u", resourceVersion="1")
    live["data"]["EXTRA_KEY"] = _b64("extra-value-review")
    plan = _plan(live)
    (change,) = plan.changes
    assert change.action is Action.UPDATE  # was a no-op while a PUT would have removed EXTRA_KEY
    (write,) = plan.writes
    assert write.verb is Verb.UPDATE and "EXTRA_KEY" not in write.body["data"]
    text = plan_text(plan)
    assert "- data.EXTRA_KEY: (sensitive value)" in text
    assert "extra-value-review" not in text and _b64("extra-value-review") not in text
    doc = plan.dumps()
    assert "extra-value-review" not in doc and _b64("extra-value-review") not in doc
    fields = [f for c in json.loads(doc)["changes"] for f in c["fields"]]
    assert fields == [
        {
            "change": "removed",
            "path": "data.EXTRA_KEY",
            "segments": ["data", "EXTRA_KEY"],
            "sensitive": True,
        }
    ]


def test_a_matching_secret_is_still_a_no_op() -> None:
    live = copy.deepcopy(_secret())
    live["metadata"].update(uid="u", resourceVersion="1", labels={"someone": "else"})
    plan = _plan(live)
    assert not plan.writes


def _dc(mounts: list[Obj], volumes: list[Obj]) -> Obj:
    return {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": {"name": "docker-registry", "namespace": "default", "uid": "d", "resourceVersion": "4"},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [{"name": "registry", "volumeMounts": mounts}],
                    "volumes": volumes,
                }
            },
        },
    }


def _desired_dc() -> Obj:
    dc = _dc(
        [{"name": "registry-config", "mountPath": "/etc/registryconfig"}],
        [{"name": "registry-config", "secret": {"secretName": "registry-config"}}],
    )
    del dc["metadata"]["uid"], dc["metadata"]["resourceVersion"]
    return dc


class _Rendered3(_Rendered):
    def __init__(self, objects: list[Obj]) -> None:
        super().__init__(objects)
        self.target = Target.OCP3


def test_a_mount_landing_on_a_kept_mounts_path_is_a_plan_error() -> None:
    # docs/domain.md: the hand-made 3.x setup: volume dockersecrets mounted at /etc/registryconfig
    live = _dc(
        [
            {"name": "registry-certificates", "mountPath": "/etc/secrets"},
            {"name": "dockersecrets", "mountPath": "/etc/registryconfig/"},
        ],
        [
            {"name": "registry-certificates", "secret": {"secretName": "registry-certificates"}},
            {"name": "dockersecrets", "secret": {"secretName": "dockerregistry"}},
        ],
    )
    plan = make_plan(_Rendered3([_desired_dc()]), LiveState(target=Target.OCP3, objects={Ref.of(live): live}))
    (error,) = plan.errors
    assert "dockersecrets" in error.message and "/etc/registryconfig" in error.message
    assert "volumeMounts[registry-config]" in error.key


def test_remounting_regplans_own_volume_is_fine() -> None:
    live = _dc(
        [
            {"name": "registry-certificates", "mountPath": "/etc/secrets"},
            {"name": "registry-config", "mountPath": "/etc/registryconfig"},
        ],
        [{"name": "registry-config", "secret": {"secretName": "old"}}],
    )
    plan = make_plan(_Rendered3([_desired_dc()]), LiveState(target=Target.OCP3, objects={Ref.of(live): live}))
    assert not plan.errors and plan.has_changes
