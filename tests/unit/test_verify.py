"""`regplan verify`: the checks that say whether the registry really uses the intended storage (pure)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import pytest

from regplan.base.model import LiveState, Obj, Ref, Target
from regplan.engine.verify import CONFIG, WORKLOAD, Intent, query_for, verify

NS4, NS3 = "openshift-image-registry", "default"
PVC4 = Intent(Target.OCP4, "pvc", claim="image-registry-storage")
S34 = Intent(Target.OCP4, "s3", bucket="acme-registry", region="eu-west-1")
PVC3 = Intent(Target.OCP3, "pvc", claim="registry-claim")


def workload(env: dict[str, str], volume: Obj | None, *, replicas: int = 1, kind: str = "Deployment") -> Obj:
    return {
        "kind": kind,
        "metadata": {"generation": 4},
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "registry",
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                            "volumeMounts": [{"name": "registry-storage", "mountPath": "/registry"}]
                            if volume
                            else [],
                        }
                    ],
                    "volumes": [volume] if volume else [],
                }
            },
        },
        "status": {"observedGeneration": 4, "updatedReplicas": replicas, "availableReplicas": replicas},
    }


def claim_volume(name: str) -> Obj:
    return {"name": "registry-storage", "persistentVolumeClaim": {"claimName": name}}


def claim(name: str, ns: str, phase: str = "Bound") -> Obj:
    return {
        "metadata": {"name": name, "namespace": ns},
        "status": {"phase": phase, "capacity": {"storage": "100Gi"}},
    }


def config(storage: Obj, status_storage: Obj | None = None, conditions: list[Obj] | None = None) -> Obj:
    return {
        "spec": {"storage": storage},
        "status": {"storage": status_storage or storage, "conditions": conditions or []},
    }


def state4(intent: Intent, wl: Obj | None, cfg: Obj, pvc: Obj | None = None) -> LiveState:
    live = LiveState(target=Target.OCP4)
    if wl is not None:
        live.objects[WORKLOAD[Target.OCP4]] = wl
    live.objects[CONFIG] = cfg
    if pvc is not None:
        live.objects[Ref("v1", "PersistentVolumeClaim", NS4, intent.claim)] = pvc
    return live


PVC_ENV = {"REGISTRY_STORAGE": "filesystem", "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/registry"}
S3_ENV = {
    "REGISTRY_STORAGE": "s3",
    "REGISTRY_STORAGE_S3_BUCKET": "acme-registry",
    "REGISTRY_STORAGE_S3_REGION": "eu-west-1",
}
PVC_CFG = {"managementState": "Unmanaged", "pvc": {"claim": "image-registry-storage"}}


def good_pvc4() -> LiveState:
    return state4(
        PVC4,
        workload(PVC_ENV, claim_volume("image-registry-storage")),
        config(PVC_CFG),
        claim("image-registry-storage", NS4),
    )


def good_s34() -> LiveState:
    return state4(
        S34,
        workload(S3_ENV, {"name": "registry-storage", "emptyDir": {}}),
        config({"s3": {"bucket": "acme-registry"}}),
    )


def failed(intent: Intent, live: LiveState) -> dict[str, str]:
    return {f.name: f.detail for f in verify(intent, live) if not f.ok}


def test_pvc_and_s3_verified() -> None:
    assert failed(PVC4, good_pvc4()) == {}
    assert failed(S34, good_s34()) == {}
    assert [f.name for f in verify(PVC4, good_pvc4())] == [
        "workload",
        "operator",
        "storage-volume",
        "storage-mount",
        "storage-driver",
        "claim-bound",
        "rollout",
    ]


def _edit(path: list[Any], value: Any) -> Callable[[LiveState], None]:
    def apply(live: LiveState) -> None:
        node: Any = live.objects
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


W4 = WORKLOAD[Target.OCP4]
TEMPLATE = [W4, "spec", "template", "spec"]


@pytest.mark.parametrize(
    ("intent", "base", "edit", "check", "words"),
    [
        # a hand-made `oc set volume` on the Deployment that the operator reverted: back to emptyDir
        (
            PVC4,
            good_pvc4,
            _edit([*TEMPLATE, "volumes"], [{"name": "registry-storage", "emptyDir": {}}]),
            "storage-volume",
            "registry-storage is emptyDir, not claim image-registry-storage (a hand edit",
        ),
        (
            PVC4,
            good_pvc4,
            _edit([*TEMPLATE, "volumes"], [claim_volume("old-claim")]),
            "storage-volume",
            "claim old-claim",
        ),
        (
            PVC4,
            good_pvc4,
            _edit([*TEMPLATE, "containers", 0, "volumeMounts"], []),
            "storage-mount",
            "not mounted",
        ),
        # a claim mounted while the registry still writes to S3
        (
            PVC4,
            good_pvc4,
            _edit(
                [*TEMPLATE, "containers", 0, "env"],
                [
                    {"name": "REGISTRY_STORAGE", "value": "s3"},
                    {"name": "REGISTRY_STORAGE_S3_BUCKET", "value": "b"},
                ],
            ),
            "storage-driver",
            "still writes to s3",
        ),
        (PVC4, good_pvc4, _edit([W4, "status", "updatedReplicas"], 0), "rollout", "rollout not finished"),
        (
            PVC4,
            good_pvc4,
            _edit([W4, "metadata", "generation"], 5),
            "rollout",
            "has not seen the current template",
        ),
        (
            PVC4,
            good_pvc4,
            _edit(
                [Ref("v1", "PersistentVolumeClaim", NS4, "image-registry-storage"), "status", "phase"],
                "Pending",
            ),
            "claim-bound",
            "is Pending",
        ),
        (
            PVC4,
            good_pvc4,
            _edit(
                [CONFIG, "status", "conditions"],
                [
                    {
                        "type": "Progressing",
                        "status": "True",
                        "reason": "Error",
                        "message": "exactly one storage type should be configured",
                    }
                ],
            ),
            "operator",
            "exactly one storage type",
        ),
        (
            PVC4,
            good_pvc4,
            _edit([CONFIG, "status", "storage"], {"s3": {"bucket": "x"}}),
            "operator",
            "has not applied spec.storage",
        ),
        (
            S34,
            good_s34,
            _edit(
                [*TEMPLATE, "containers", 0, "env"],
                [
                    {"name": "REGISTRY_STORAGE", "value": "s3"},
                    {"name": "REGISTRY_STORAGE_S3_BUCKET", "value": "other"},
                ],
            ),
            "storage-driver",
            "REGISTRY_STORAGE_S3_BUCKET=other, not acme-registry",
        ),
        (
            S34,
            good_s34,
            _edit([*TEMPLATE, "containers", 0, "env"], [{"name": "REGISTRY_STORAGE", "value": "filesystem"}]),
            "storage-driver",
            "REGISTRY_STORAGE=filesystem, not s3",
        ),
    ],
)
def test_what_is_not_verified_says_why(
    intent: Intent, base: Callable[[], LiveState], edit: Callable[[LiveState], None], check: str, words: str
) -> None:
    live = base()
    edit(live)
    assert words in failed(intent, live).get(check, ""), failed(intent, live)


def test_a_missing_workload_is_the_only_finding() -> None:
    live = good_pvc4()
    del live.objects[W4]
    findings = verify(PVC4, live)
    assert [(f.name, f.ok) for f in findings] == [("workload", False)]


# --- 3.x ------------------------------------------------------------------------------------------


def config_secret(driver: Obj) -> Obj:
    import yaml

    text = yaml.safe_dump({"version": 0.1, "storage": {**driver, "delete": {"enabled": True}}})
    return {"data": {"config.yml": base64.b64encode(text.encode()).decode()}}


def good_pvc3() -> LiveState:
    live = LiveState(target=Target.OCP3)
    env = {"REGISTRY_CONFIGURATION_PATH": "/etc/registryconfig/config.yml"}
    live.objects[WORKLOAD[Target.OCP3]] = workload(
        env, claim_volume("registry-claim"), kind="DeploymentConfig"
    )
    live.objects[Ref("v1", "Secret", NS3, "registry-config")] = config_secret(
        {"filesystem": {"rootdirectory": "/registry"}}
    )
    live.objects[Ref("v1", "PersistentVolumeClaim", NS3, "registry-claim")] = claim("registry-claim", NS3)
    return live


W3 = WORKLOAD[Target.OCP3]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            _edit(
                [W3, "spec", "template", "spec", "containers", 0, "env"],
                [
                    {"name": "REGISTRY_CONFIGURATION_PATH", "value": "/etc/registryconfig/config.yml"},
                    {"name": "REGISTRY_STORAGE", "value": "s3"},
                ],
            ),
            "REGISTRY_STORAGE override",
        ),
        (
            _edit([W3, "spec", "template", "spec", "containers", 0, "env"], []),
            "does not read regplan's config",
        ),
        (
            _edit(
                [Ref("v1", "Secret", NS3, "registry-config")],
                config_secret({"s3": {"bucket": "b", "accesskey": "AKIASECRET"}}),
            ),
            "storage driver is s3, not filesystem",
        ),
    ],
)
def test_ocp3_driver(edit: Callable[[LiveState], None], words: str) -> None:
    assert failed(PVC3, good_pvc3()) == {}
    live = good_pvc3()
    edit(live)
    detail = failed(PVC3, live).get("storage-driver", "")
    assert words in detail and "AKIASECRET" not in detail


def test_query_reads_the_workload_and_what_it_checks() -> None:
    q = query_for(PVC4)
    assert W4 in q.refs and CONFIG in q.refs and q.claims == ((NS4, "image-registry-storage"),)
    q3 = query_for(Intent(Target.OCP3, "s3", bucket="b"))
    assert W3 in q3.refs and Ref("v1", "Secret", NS3, "registry-config") in q3.refs and q3.claims == ()


def test_inputs_are_not_modified() -> None:
    live = good_pvc4()
    before = copy.deepcopy(live.objects)
    verify(PVC4, live)
    assert live.objects == before
