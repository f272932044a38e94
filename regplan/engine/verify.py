"""``regplan verify``: is the registry really using the storage the profile says? Pure, no I/O.

A plan being empty means the objects regplan writes are as intended; it does not mean the registry uses
them: the operator may not have rolled the change out, may have reverted a hand edit of
``deploy/image-registry``, or the registry may still write to S3 while a claim is mounted. This module
compares what the registry's workload actually runs (4.x ``deploy/image-registry``, 3.x
``dc/docker-registry``) with the intended storage: the checks are a table, each row a name, the targets and
backends it applies to, and a function returning (ok, detail). Details never hold secret values (of the 3.x
config Secret only the driver name and bucket are read).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from regplan.base.model import (
    CONFIG_REF,
    DC_REF,
    DEPLOYMENT_REF,
    NOT_DRIVERS,
    OPERATOR_CLAIM,
    REGISTRY_NAMESPACE,
    STORAGE_MOUNT,
    LiveQuery,
    LiveState,
    Obj,
    Ref,
    Target,
    pod_volumes,
    registry_container,
)
from regplan.base.normalize import outside_text

CONFIG_SECRET = "registry-config"  # regplan's 3.x config Secret (render.CONFIG_SECRET)

WORKLOAD: dict[Target, Ref] = {Target.OCP4: DEPLOYMENT_REF, Target.OCP3: DC_REF}
CONFIG = CONFIG_REF


@dataclass(frozen=True)
class Intent:
    """The storage the profile says the registry uses."""

    target: Target
    backend: str  # "pvc" | "s3"
    claim: str = ""
    bucket: str = ""  # "" on 4.x: the operator's own bucket
    region: str = ""


def intent_of(target: Target, desired: list[Obj], data: dict[str, Any]) -> Intent:
    """The intended storage from the rendered objects (the Config / DC) and the values."""
    s3 = data.get("s3") if isinstance(data.get("s3"), dict) else None
    bucket, region = (str((s3 or {}).get("bucket") or ""), str((s3 or {}).get("region") or ""))
    if target is Target.OCP4:
        cfg = next((o for o in desired if o.get("kind") == "Config"), {})
        storage = (cfg.get("spec") or {}).get("storage") or {}
        if isinstance(storage.get("pvc"), dict):
            return Intent(target, "pvc", claim=str(storage["pvc"].get("claim") or OPERATOR_CLAIM))
        return Intent(target, "s3", bucket=bucket, region=region)
    dc = next((o for o in desired if o.get("kind") == "DeploymentConfig"), {})
    claim = pod_volumes(dc).get("registry-storage", {}).get("persistentVolumeClaim")
    if isinstance(claim, dict):
        return Intent(target, "pvc", claim=str(claim.get("claimName") or ""))
    return Intent(target, "s3", bucket=bucket, region=region)


def query_for(intent: Intent) -> LiveQuery:
    """What verify reads: the workload, the operator Config (4.x), the claim and its pods, the 3.x config."""
    ns = REGISTRY_NAMESPACE[intent.target]
    refs = [WORKLOAD[intent.target]]
    if intent.target is Target.OCP4:
        refs.append(CONFIG)
    else:
        refs.append(Ref("v1", "Secret", ns, CONFIG_SECRET))
    claims: tuple[tuple[str, str], ...] = ()
    if intent.backend == "pvc":
        refs.append(Ref("v1", "PersistentVolumeClaim", ns, intent.claim))
        claims = ((ns, intent.claim),)
    return LiveQuery(target=intent.target, refs=tuple(refs), claims=claims)


# --- snapshots: what was not recorded is not "not verified" ------------------------------------------------


def unrecorded(intent: Intent, live: LiveState, recorded: frozenset[str] | None) -> list[Ref]:
    """The objects verify needs that a snapshot does not hold AND did not record as absent. ``recorded``:
    what a regplan snapshot says it asked for (``snapshot.recorded_refs``); None for a snapshot that does
    not say (``oc get``, older regplan): then only the workload is required, since without it no check
    means anything, while the other objects may truly be absent (no claim on S3)."""
    needed = query_for(intent).refs if recorded is not None else (WORKLOAD[intent.target],)
    return [r for r in needed if r not in live.objects and (recorded is None or str(r) not in recorded)]


def check_recorded(intent: Intent, live: LiveState, recorded: frozenset[str] | None, source: str) -> None:
    """Refuse (exit 3) to verify against a snapshot that lacks what verify reads: a missing object there
    means "not recorded", and reporting it as "not found" would be a false "not verified"."""
    missing = unrecorded(intent, live, recorded)
    if not missing:
        return
    from regplan.base.errors import InvalidInput

    ns = REGISTRY_NAMESPACE[intent.target]
    raise InvalidInput(
        f"{source}: {', '.join(map(str, missing))} not recorded in the snapshot, so `regplan verify` cannot "
        f"tell whether the registry uses the intended storage; nothing was verified. Record the snapshot "
        f"again with `regplan snapshot` (it records what verify reads), or add the output of `oc get "
        f"{' '.join(f'{r.kind.lower()}/{r.name}' for r in missing)} -n {ns} -o yaml` to it"
    )


# --- what the workload runs ------------------------------------------------------------------------------


def _env(workload: Obj | None) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", "")) for e in registry_container(workload).get("env") or []
    }


@dataclass
class Subject:
    """One verification: the intent and what was read."""

    intent: Intent
    live: LiveState
    workload: Obj | None = field(init=False)

    def __post_init__(self) -> None:
        self.workload = self.live.objects.get(WORKLOAD[self.intent.target])

    def obj(self, ref: Ref) -> Obj | None:
        return self.live.objects.get(ref)


Result = tuple[bool, str]


def _volume(s: Subject) -> Result:
    vol = pod_volumes(s.workload).get("registry-storage")
    if vol is None:
        return False, "the pod template has no registry-storage volume"
    claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
    if claim == s.intent.claim:
        return True, f"registry-storage is claim {claim}"
    what = f"claim {claim}" if claim else next((k for k in vol if k != "name"), "something else")
    hint = " (a hand edit the operator reverted?)" if s.intent.target is Target.OCP4 else ""
    return False, f"registry-storage is {what}, not claim {s.intent.claim}{hint}"


def _mount(s: Subject) -> Result:
    mounts = {
        str(m.get("name")): m.get("mountPath")
        for m in registry_container(s.workload).get("volumeMounts") or []
    }
    path = mounts.get("registry-storage")
    if path == STORAGE_MOUNT:
        return True, f"registry-storage is mounted at {STORAGE_MOUNT}"
    return (
        False,
        f"registry-storage is {'mounted at ' + str(path) if path else 'not mounted'}, not at {STORAGE_MOUNT}",
    )


def _env_ocp4(s: Subject) -> Result:
    env = _env(s.workload)
    driver = env.get("REGISTRY_STORAGE", "")
    if s.intent.backend == "pvc":
        leftover = sorted(k for k in env if k.startswith("REGISTRY_STORAGE_S3_"))
        if driver != "filesystem" or leftover:
            return False, (
                f"the registry still writes to {driver or 'an unset driver'} (REGISTRY_STORAGE={driver}"
                + (f", {', '.join(leftover)} set" if leftover else "")
                + "), not the claim"
            )
        return True, "REGISTRY_STORAGE=filesystem (the claim)"
    if driver != "s3":
        return False, f"REGISTRY_STORAGE={driver or '(unset)'}, not s3"
    for key, want in (
        ("REGISTRY_STORAGE_S3_BUCKET", s.intent.bucket),
        ("REGISTRY_STORAGE_S3_REGION", s.intent.region),
    ):
        if want and env.get(key) != want:
            return False, f"{key}={env.get(key) or '(unset)'}, not {want}"
    return True, f"REGISTRY_STORAGE=s3, bucket {env.get('REGISTRY_STORAGE_S3_BUCKET') or '(unset)'}"


def _config_storage(s: Subject) -> dict[str, Any] | None:
    """The storage section of the 3.x config Secret's config.yml (driver names and bucket only)."""
    from regplan.base import safeload
    from regplan.base.errors import UnreadableInput

    secret = s.obj(Ref("v1", "Secret", REGISTRY_NAMESPACE[Target.OCP3], CONFIG_SECRET))
    raw = ((secret or {}).get("data") or {}).get("config.yml")
    if not isinstance(raw, str):
        return None
    try:
        doc = safeload.load_yaml(base64.b64decode(raw, validate=True), source=f"Secret {CONFIG_SECRET}")
    except (binascii.Error, ValueError, UnreadableInput):
        return None
    storage = doc.get("storage") if isinstance(doc, dict) else None
    return storage if isinstance(storage, dict) else None


def _env_ocp3(s: Subject) -> Result:
    env = _env(s.workload)
    overrides = sorted(
        k for k in env if k.startswith("REGISTRY_STORAGE") and k != "REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS"
    )
    if overrides:
        return False, f"{', '.join(overrides)} override the config file's storage"
    path = env.get("REGISTRY_CONFIGURATION_PATH", "")
    if not path.startswith("/etc/registryconfig/"):
        return (
            False,
            f"REGISTRY_CONFIGURATION_PATH={path or '(unset)'}: the registry does not read regplan's config",
        )
    storage = _config_storage(s)
    if storage is None:
        return False, f"Secret {CONFIG_SECRET} has no readable config.yml"
    want = "filesystem" if s.intent.backend == "pvc" else "s3"
    drivers = sorted(k for k in storage if k not in NOT_DRIVERS)
    if drivers != [want]:
        return False, f"the mounted config's storage driver is {', '.join(drivers) or 'none'}, not {want}"
    bucket = (storage.get("s3") or {}).get("bucket") if want == "s3" else None
    if want == "s3" and s.intent.bucket and bucket != s.intent.bucket:
        return False, f"the mounted config's bucket is {bucket}, not {s.intent.bucket}"
    return True, f"the mounted config ({path}) uses {want}" + (f", bucket {bucket}" if bucket else "")


def _rollout(s: Subject) -> Result:
    w = s.workload or {}
    meta, spec, status = w.get("metadata") or {}, w.get("spec") or {}, w.get("status") or {}
    want = int(spec.get("replicas") or 0)
    observed, generation = int(status.get("observedGeneration") or 0), int(meta.get("generation") or 0)
    updated, available = int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0)
    if observed < generation:
        return (
            False,
            f"the controller has not seen the current template (generation {generation}, "
            f"observed {observed})",
        )
    if updated < want or available < want:
        return False, f"rollout not finished: {updated}/{want} updated, {available}/{want} available"
    return True, f"{available}/{want} pods run the current template"


def _claim_bound(s: Subject) -> Result:
    claim = s.obj(Ref("v1", "PersistentVolumeClaim", REGISTRY_NAMESPACE[s.intent.target], s.intent.claim))
    if claim is None:
        return False, f"claim {s.intent.claim} not found"
    status = claim.get("status") or {}
    phase = status.get("phase") or "(no phase)"
    capacity = (status.get("capacity") or {}).get("storage")
    if phase != "Bound":
        return False, f"claim {s.intent.claim} is {phase}"
    return True, f"claim {s.intent.claim} is Bound, {capacity or 'capacity unknown'}"


def _operator(s: Subject) -> Result:
    cfg = s.obj(CONFIG) or {}
    spec, status = (cfg.get("spec") or {}).get("storage") or {}, cfg.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    for kind, bad in (("Progressing", "Error"), ("Degraded", None)):
        c = conditions.get(kind) or {}
        if c.get("status") == "True" and (bad is None or c.get("reason") == bad):
            return (
                False,
                f"operator {kind}={c.get('status')} ({outside_text(c.get('reason'))}): "
                f"{outside_text(c.get('message'))}".strip(),
            )
    if _backends(spec) != _backends(status.get("storage") or {}):
        return False, "the operator has not applied spec.storage yet (status.storage differs)"
    return True, "the operator applied spec.storage (status.storage equals it)"


def _backends(storage: Obj) -> Obj:
    return {k: v for k, v in storage.items() if k != "managementState" and v is not None}


def _exists(s: Subject) -> Result:
    ref = WORKLOAD[s.intent.target]
    return (True, f"{ref} found") if s.workload is not None else (False, f"{ref} not found")


@dataclass(frozen=True)
class Check:
    name: str
    targets: tuple[Target, ...]
    backends: tuple[str, ...]
    run: Callable[[Subject], Result]
    why: str


BOTH, PVC, ANY = (Target.OCP4, Target.OCP3), ("pvc",), ("pvc", "s3")
CHECKS: tuple[Check, ...] = (
    Check("workload", BOTH, ANY, _exists, "the registry runs as this Deployment (4.x) or DC (3.x)"),
    Check("operator", (Target.OCP4,), ANY, _operator, "the operator reports what it applied, or its refusal"),
    Check("storage-volume", BOTH, PVC, _volume, "the registry-storage volume is the intended claim"),
    Check("storage-mount", BOTH, PVC, _mount, "the registry writes under /registry"),
    Check("storage-driver", (Target.OCP4,), ANY, _env_ocp4, "the operator's env picks the driver: a claim "
          "mounted while REGISTRY_STORAGE=s3 is unused"),
    Check("storage-driver", (Target.OCP3,), ANY, _env_ocp3, "the mounted config picks the driver unless "
          "REGISTRY_STORAGE* env overrides it"),
    Check("claim-bound", BOTH, PVC, _claim_bound, "a Pending claim holds no data"),
    Check("rollout", BOTH, ANY, _rollout, "pods of an older template still use the old storage"),
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def verify(intent: Intent, live: LiveState) -> list[Finding]:
    """Every check of the table that applies; after a missing workload only that finding."""
    subject = Subject(intent, live)
    findings: list[Finding] = []
    for check in CHECKS:
        if intent.target not in check.targets or intent.backend not in check.backends:
            continue
        ok, detail = check.run(subject)
        findings.append(Finding(check.name, ok, detail))
        if check.name == "workload" and not ok:
            break
    return findings
