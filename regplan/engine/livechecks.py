"""Live-context checks: what the cluster around the desired objects says about a plan. Pure, no I/O.

The offline rules (regplan.core.rules) judge values and rendered objects alone; these judge them against
what was read: the StorageClass a claim names, the claim's phase and events, the operator's state, the
pods holding a claim, the mounts already in the DC. ``LIVE_CHECKS`` is the table, one row per check:
its name, the desired kind it applies to, the function and the reason it exists. ``run_checks`` runs
every row on every desired object, in object order then row order (the order diagnostics are shown).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from regplan.base.errors import Diagnostic
from regplan.base.model import (
    OPERATOR_ANNOTATION,
    OPERATOR_CLAIM,
    LiveState,
    Obj,
    Ref,
    Target,
    events_of,
    pod_volumes,
)
from regplan.base.normalize import outside_text
from regplan.core.rules import CONFIG_BACKENDS, PROVISIONER_ACCESS_MODES
from regplan.engine.planvalue import Action, ObjectChange

DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)

# Events of a Pending claim worth quoting, and how serious each is.
CLAIM_EVENTS: dict[str, str] = {
    "ProvisioningFailed": "warning",  # terminal mismatch: the claim will never bind as it is
    "ExternalProvisioning": "warning",  # still waiting on an external provisioner
}


def find_live(live: LiveState, ref: Ref) -> Obj | None:
    """The live object for ``ref``; the same object served under another version of its group counts."""
    if ref in live.objects:
        return live.objects[ref]
    group = ref.api_version.rpartition("/")[0]
    for other, obj in live.objects.items():
        if (other.kind, other.namespace, other.name) == (
            ref.kind,
            ref.namespace,
            ref.name,
        ) and other.api_version.rpartition("/")[0] == group:
            return obj
    return None


@dataclass(frozen=True)
class Subject:
    """What one check looks at: a desired object, its live counterpart, its planned change, the rest."""

    ref: Ref
    desired: Obj
    live_obj: Obj | None
    change: ObjectChange
    live: LiveState
    desired_replicas: int | None  # of the Config / DC among the desired objects


@dataclass(frozen=True)
class LiveCheck:
    name: str
    kind: str  # the desired kind it applies to
    check: Callable[[Subject], list[Diagnostic]]
    reason: str


def _claim_modes(claim: Obj) -> list[str]:
    return [str(m) for m in (claim.get("spec") or {}).get("accessModes") or []]


def _live_replicas(live: LiveState) -> int | None:
    for r, obj in live.objects.items():
        if r.kind in ("Config", "DeploymentConfig"):
            value = (obj.get("spec") or {}).get("replicas")
            return int(value) if isinstance(value, int) else None
    return None


def _default_class(live: LiveState) -> str | None:
    for name, sc in sorted(live.storage_classes.items()):
        ann = (sc.get("metadata") or {}).get("annotations") or {}
        if any(ann.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS):
            return name
    return None


# --- the checks -----------------------------------------------------------------------------------


def config_state(s: Subject) -> list[Diagnostic]:
    if s.live_obj is None:
        return []
    state = str((s.live_obj.get("spec") or {}).get("managementState") or "Managed")
    if state == "Removed":
        return [
            Diagnostic(
                "Config/cluster spec.managementState",
                "is Removed: the registry is not deployed, a storage change has no effect",
                origin="live Config/cluster",
                hint="set it to Managed first",
                severity="error",
            )
        ]
    if state == "Unmanaged":
        return [
            Diagnostic(
                "Config/cluster spec.managementState",
                "is Unmanaged: the operator will not roll out the change",
                origin="live Config/cluster",
                severity="warning",
            )
        ]
    return []


def _mounts(dc: Obj | None) -> dict[str, dict[str, str]]:
    """Container name -> {mount name: mountPath} of a DC's pod template."""
    containers = ((((dc or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")
    out: dict[str, dict[str, str]] = {}
    for c in containers or []:
        if isinstance(c, dict):
            mounts = c.get("volumeMounts") or []
            out[str(c.get("name"))] = {
                str(m.get("name")): str(m.get("mountPath")) for m in mounts if isinstance(m, dict)
            }
    return out


def mount_clash(s: Subject) -> list[Diagnostic]:
    live_mounts = _mounts(s.live_obj)
    out: list[Diagnostic] = []
    for container, wanted in _mounts(s.desired).items():
        kept = {n: p for n, p in live_mounts.get(container, {}).items() if n not in wanted}
        for name, path in sorted(wanted.items()):
            clash = sorted(n for n, p in kept.items() if p.rstrip("/") == path.rstrip("/"))
            if clash:
                out.append(
                    Diagnostic(
                        f"{s.ref} spec.template.spec.containers[{container}].volumeMounts[{name}]",
                        f"mountPath {path} is already used by volume {', '.join(clash)}, which regplan "
                        "keeps: the apiserver refuses a pod template with a repeated mountPath",
                        origin=f"live {s.ref}",
                        hint=f"remove the volume {', '.join(clash)} and its mount from the DC first "
                        "(oc set volume dc/docker-registry --remove --name=...)",
                        severity="error",
                    )
                )
    return out


def storage_class(s: Subject) -> list[Diagnostic]:
    ref, spec, live = s.ref, s.desired.get("spec") or {}, s.live
    klass = spec.get("storageClassName")
    if klass == "":
        return []  # static binding to a pre-created PV: no class involved
    name = str(klass) if klass else _default_class(live)
    if name is None:
        return []  # no class named and none known as default: nothing to check offline
    sc = live.storage_classes.get(name)
    if sc is None:
        return [
            Diagnostic(
                f"{ref} spec.storageClassName",
                f"StorageClass {name} not found on the cluster",
                origin="live StorageClasses",  # not the source: a snapshot plan must equal the live one
                hint="create it or set claim.storageClass",
                severity="error",
            )
        ]
    provisioner = str(sc.get("provisioner", ""))
    # The provisioner table is the domain rules' (rules.PROVISIONER_ACCESS_MODES): one source of truth.
    for pattern, supported, what in PROVISIONER_ACCESS_MODES:
        if not fnmatch.fnmatchcase(provisioner, pattern):
            continue
        bad = [m for m in spec.get("accessModes") or [] if m not in supported]
        if bad:
            return [
                Diagnostic(
                    f"{ref} spec.accessModes",
                    f"StorageClass {name} ({provisioner}, {what}) cannot give {', '.join(bad)}: the claim "
                    f'would stay Pending (Failed to provision volume with StorageClass "{name}")',
                    origin=f"live StorageClass/{name}",
                    hint=f"valid for this class: {', '.join(sorted(supported))}",
                    severity="error",
                )
            ]
        break
    return []


def pending_claim(s: Subject) -> list[Diagnostic]:
    claim = s.live_obj
    if claim is None or (claim.get("status") or {}).get("phase", "") != "Pending":
        return []
    events = s.live.events.get(Ref("v1", "PersistentVolumeClaim", s.ref.namespace, s.ref.name), [])
    quoted = [e for e in events_of(claim, events) if e.get("reason") in CLAIM_EVENTS]
    out: list[Diagnostic] = []
    for e in quoted[-3:]:
        fix = " (the planned replace recreates it)" if s.change.action is Action.REPLACE else ""
        out.append(
            Diagnostic(
                str(s.ref),
                f"claim is Pending: {outside_text(e.get('reason'))}: {outside_text(e.get('message'))}{fix}",
                origin=f"live event on {s.ref}",
                severity=CLAIM_EVENTS[str(e.get("reason"))],
            )
        )
    if not quoted:
        out.append(Diagnostic(str(s.ref), "claim is Pending", origin=f"live {s.ref}", severity="warning"))
    return out


def operator_claim(s: Subject) -> list[Diagnostic]:
    if s.live_obj is None or s.live.target is not Target.OCP4 or s.ref.name != OPERATOR_CLAIM:
        return []
    annotations = (s.live_obj.get("metadata") or {}).get("annotations") or {}
    if annotations.get(OPERATOR_ANNOTATION) == "true":
        return []
    return [
        Diagnostic(
            str(s.ref),
            f"a claim named {OPERATOR_CLAIM} without annotation "
            f'{OPERATOR_ANNOTATION}: "true" is not owned by the operator '
            "(could not create default PVC, it already exists and is not owned by the operator)",
            origin=f"live {s.ref}",
            hint="the plan sets the annotation",
            severity="warning",
        )
    ]


def held_claim(s: Subject) -> list[Diagnostic]:
    pods = s.live.pods_using_claim.get(s.ref.name, [])
    if s.live_obj is None or s.change.action is not Action.REPLACE or not pods:
        return []
    return [
        Diagnostic(
            str(s.ref),
            f"the claim is mounted by pod {', '.join(sorted(pods))}; "
            "deleting it waits until they stop (kubernetes.io/pvc-protection)",
            origin=f"live {s.ref}",
            severity="warning",
        )
    ]


def rwo_replicas(s: Subject) -> list[Diagnostic]:
    if s.live_obj is None:
        return []
    live_replicas = _live_replicas(s.live)
    if (
        _claim_modes(s.live_obj) == ["ReadWriteOnce"]
        and live_replicas
        and live_replicas > 1
        and (s.desired_replicas is None or s.desired_replicas > 1)
    ):
        return [
            Diagnostic(
                str(s.ref),
                f"live claim is ReadWriteOnce with {live_replicas} registry replicas: "
                "cannot use ReadWriteOnce access mode with more than one replica",
                origin="live",
                severity="error",
            )
        ]
    return []


MIGRATING = "docs/migrating-data.md"


def _config_storage(cfg: Obj | None) -> tuple[str | None, str]:
    """(backend, where its images are) of a Config's spec.storage (None: no backend set)."""
    storage = ((cfg or {}).get("spec") or {}).get("storage") or {}
    backend = next((b for b in CONFIG_BACKENDS if storage.get(b) is not None), None)
    if backend == "s3":
        bucket = (storage.get("s3") or {}).get("bucket")
        return backend, f"S3 bucket {bucket}" if bucket else "the operator's S3 bucket"
    if backend == "pvc":
        claim = (storage.get("pvc") or {}).get("claim") or OPERATOR_CLAIM
        return backend, f"claim {claim}"
    if backend == "emptyDir":
        return backend, "the registry pods' emptyDir, which goes with them"
    return backend, f"{backend} storage" if backend else ""


def _dc_storage(dc: Obj | None) -> tuple[str | None, str]:
    """(backend, where its images are) of a DC: its registry-storage volume (None: the volume is absent)."""
    vol = pod_volumes(dc).get("registry-storage")
    if vol is None:
        return None, ""
    if "persistentVolumeClaim" in vol:
        claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
        return f"pvc:{claim}", f"claim {claim}"
    if "emptyDir" in vol:
        return "emptyDir", "the registry pod's emptyDir, which goes with the pod"
    return "other", "the registry-storage volume"


def data_left_behind(s: Subject) -> list[Diagnostic]:
    """A backend switch points the registry at empty storage: say where the images stay."""
    if s.live_obj is None or s.change.action is Action.NOOP:
        return []
    if s.ref.kind == "Config":
        (old, where), (new, _) = _config_storage(s.live_obj), _config_storage(s.desired)
        if new is not None and old == new == "pvc":
            old, new = where, _config_storage(s.desired)[1]
    else:
        (old, where), (new, _) = _dc_storage(s.live_obj), _dc_storage(s.desired)
        if new is None:  # S3 through the mounted config: the volume stays but is no longer used
            new = "s3"
    if old is None or new is None or old == new:
        return []
    return [
        Diagnostic(
            str(s.ref),
            f"the registry moves to new storage and starts empty there: the images stay in {where}",
            origin=f"live {s.ref}",
            hint=f"copy them first if they matter ({MIGRATING})",
            severity="warning",
        )
    ]


LIVE_CHECKS: tuple[LiveCheck, ...] = (
    LiveCheck(
        "data-left-behind",
        "Config",
        data_left_behind,
        "a backend switch does not move images: the user must copy them before, or lose them",
    ),
    LiveCheck(
        "data-left-behind",
        "DeploymentConfig",
        data_left_behind,
        "a backend switch does not move images: the user must copy them before, or lose them",
    ),
    LiveCheck(
        "config-management-state",
        "Config",
        config_state,
        "a Removed registry ignores storage changes; an Unmanaged one is never rolled out",
    ),
    LiveCheck(
        "dc-mount-clash",
        "DeploymentConfig",
        mount_clash,
        "the apiserver refuses a pod template whose mountPaths repeat (the hand-made 3.x dockersecrets "
        "volume at /etc/registryconfig, docs/domain.md), so the DC patch would fail after the Secret and PVC "
        "writes",
    ),
    LiveCheck(
        "storage-class",
        "PersistentVolumeClaim",
        storage_class,
        "a missing class, or one whose provisioner cannot give the access mode, leaves the claim Pending",
    ),
    LiveCheck(
        "pending-claim",
        "PersistentVolumeClaim",
        pending_claim,
        "a Pending claim's provisioner events (of this claim's uid, not a deleted namesake's) say why",
    ),
    LiveCheck(
        "operator-claim-annotation",
        "PersistentVolumeClaim",
        operator_claim,
        "the operator refuses to adopt its claim name without its annotation",
    ),
    LiveCheck(
        "replace-held-claim",
        "PersistentVolumeClaim",
        held_claim,
        "pvc-protection keeps a mounted claim until its pods stop: the replace will wait",
    ),
    LiveCheck(
        "rwo-replicas",
        "PersistentVolumeClaim",
        rwo_replicas,
        "the operator refuses a ReadWriteOnce claim with more than one replica",
    ),
)


def run_checks(objects: list[Obj], changes: list[ObjectChange], live: LiveState) -> list[Diagnostic]:
    """Every row of LIVE_CHECKS on every desired object of its kind."""
    by_ref = {c.ref: c for c in changes}
    desired_replicas: int | None = None
    for obj in objects:
        if obj.get("kind") in ("Config", "DeploymentConfig"):
            desired_replicas = (obj.get("spec") or {}).get("replicas")
    out: list[Diagnostic] = []
    for obj in objects:
        ref = Ref.of(obj)
        subject = Subject(ref, obj, find_live(live, ref), by_ref[ref], live, desired_replicas)
        for row in LIVE_CHECKS:
            if row.kind == ref.kind:
                out.extend(row.check(subject))
    return out
