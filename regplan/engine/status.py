"""``regplan status``: what the registry uses now, summarised from live state. Pure: no I/O.

Reading happens in two rounds (workflow): ``first_query`` asks for ``Config/cluster`` (4.x) or
``dc/docker-registry`` (3.x) plus the objects the profiles would touch; ``second_query`` then asks for
the claim the registry actually mounts (its events and pods) and, on 3.x, the Secret holding the
mounted registry config. ``summarize`` turns the answers into a ``StatusSummary`` (a typed value;
``to_json()`` is the ``-o json`` document); secret-looking env values (normalize.secret_name) and
registry-config credentials (normalize.redact_config: the one table, at any depth) are redacted. Which
profile the live state matches is decided by the caller with ``plan.make_plan`` (a profile matches when
its defaults plan to no-op, Secrets aside since their values cannot be compared without the sources).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from regplan.base import yamlio
from regplan.base.errors import InvalidInput
from regplan.base.model import (
    CONFIG_REF,
    DC_REF,
    NOT_DRIVERS,
    OPERATOR_ANNOTATION,
    OPERATOR_CLAIM,
    REGISTRY_NAMESPACE,
    STORAGE_MOUNT,
    LiveQuery,
    LiveState,
    Obj,
    Ref,
    Target,
    events_of,
    pod_volumes,
    registry_container,
)
from regplan.base.normalize import REDACTED, outside_text, redact_config, secret_env

EVENTS_SHOWN = 5


def registry_ref(target: Target) -> Ref:
    return CONFIG_REF if target is Target.OCP4 else DC_REF


def first_query(target: Target, extra_refs: tuple[Ref, ...] = ()) -> LiveQuery:
    refs = tuple(dict.fromkeys((registry_ref(target), *extra_refs)))
    return LiveQuery(target=target, refs=refs)


def _env_value(container: Obj, name: str) -> str | None:
    for e in container.get("env") or []:
        if e.get("name") == name:
            return None if e.get("value") is None else str(e.get("value"))
    return None


def _volume_at(dc: Obj, mount_prefix: str) -> Obj | None:
    """The volume mounted at (or above) ``mount_prefix`` in the registry container."""
    best: tuple[int, str] | None = None
    for m in registry_container(dc).get("volumeMounts") or []:
        path = str(m.get("mountPath", "")).rstrip("/")
        covers = path and (mount_prefix == path or mount_prefix.startswith(path + "/"))
        if covers and (best is None or len(path) > best[0]):
            best = (len(path), str(m.get("name")))
    if best is None:
        return None
    return pod_volumes(dc).get(best[1])


def used_claim(target: Target, registry: Obj | None) -> tuple[str, str] | None:
    """(namespace, claim) the registry mounts now, or None (object storage, emptyDir, nothing)."""
    if registry is None:
        return None
    ns = REGISTRY_NAMESPACE[target]
    if target is Target.OCP4:
        pvc = ((registry.get("spec") or {}).get("storage") or {}).get("pvc")
        if not isinstance(pvc, dict):
            return None
        return ns, str(pvc.get("claim") or OPERATOR_CLAIM)
    volume = _volume_at(registry, STORAGE_MOUNT)
    claim = ((volume or {}).get("persistentVolumeClaim") or {}).get("claimName")
    return (ns, str(claim)) if claim else None


def config_secret_name(dc: Obj) -> tuple[str, str] | None:
    """3.x: (secret name, file name) of the registry config the container is told to read."""
    path = _env_value(registry_container(dc), "REGISTRY_CONFIGURATION_PATH")
    if not path:
        return None
    volume = _volume_at(dc, path)
    secret = ((volume or {}).get("secret") or {}).get("secretName")
    return (str(secret), path.rsplit("/", 1)[-1]) if secret else None


def merged(states: Sequence[LiveState]) -> LiveState:
    """One LiveState holding what the reads of several rounds returned (later rounds win): the one merge
    of status' two rounds (``workflow.status_data``; ``recording`` keeps the rounds apart and lists them)."""
    out = LiveState(target=states[0].target, server_dry_run=states[0].server_dry_run, source=states[0].source)
    for s in states:
        out.objects.update(s.objects)
        out.storage_classes.update(s.storage_classes)
        out.events.update(s.events)
        out.pods_using_claim.update(s.pods_using_claim)
    return out


def second_query(target: Target, live: LiveState) -> LiveQuery:
    """The claim in use (events, pods, its class) and, on 3.x, the mounted config Secret."""
    registry = live.objects.get(registry_ref(target))
    refs: list[Ref] = []
    claims: tuple[tuple[str, str], ...] = ()
    claim = used_claim(target, registry)
    if claim is not None:
        refs.append(Ref("v1", "PersistentVolumeClaim", *claim))
        claims = (claim,)
    if target is Target.OCP3 and registry is not None:
        secret = config_secret_name(registry)
        if secret is not None:
            refs.append(Ref("v1", "Secret", REGISTRY_NAMESPACE[target], secret[0]))
    return LiveQuery(target=target, refs=tuple(refs), claims=claims)


def _redact_env(e: Obj) -> str:
    name = str(e.get("name"))
    if "valueFrom" in e:
        src = e["valueFrom"]
        ref = src.get("secretKeyRef") or src.get("configMapKeyRef") or src.get("fieldRef") or {}
        return f"{name} from {next(iter(src), '?')} {ref.get('name') or ref.get('fieldPath') or ''}".rstrip()
    if secret_env(name, str(e.get("value", ""))):  # the one table of secret-looking names (normalize)
        return f"{name}={REDACTED}"
    return f"{name}={e.get('value', '')}"


def _registry_config(secret: Obj | None, key: str) -> dict[str, Any] | None:
    if secret is None:
        return None
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return None
    try:
        docs = yamlio.load_all_safe(base64.b64decode(str(raw)).decode(), f"Secret {key}")
    except (binascii.Error, UnicodeDecodeError, InvalidInput):
        return None
    return docs[0] if docs and isinstance(docs[0], dict) else None


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str

    @classmethod
    def of(cls, c: Obj) -> Condition:
        return cls(
            outside_text(c.get("type")),
            outside_text(c.get("status")),
            outside_text(c.get("reason")),
            outside_text(c.get("message")),
        )

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "status": self.status, "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class ClaimEvent:
    type: str
    reason: str
    message: str
    count: Any = 1

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "reason": self.reason, "message": self.message, "count": self.count}


@dataclass(frozen=True)
class ClaimSummary:
    """The claim the registry mounts. ``missing``: the registry names it but it does not exist."""

    namespace: str
    name: str
    missing: bool = False
    phase: str = ""
    capacity: str = ""
    requested: str = ""
    access_modes: tuple[str, ...] = ()
    storage_class: str = ""
    operator_owned: bool = False
    mounted_by: tuple[str, ...] = ()
    events: tuple[ClaimEvent, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"namespace": self.namespace, "name": self.name}
        if self.missing:
            out["missing"] = True
            return out
        out.update(
            {
                "phase": self.phase,
                "capacity": self.capacity,
                "requested": self.requested,
                "accessModes": list(self.access_modes),
                "storageClass": self.storage_class,
                "operatorOwned": self.operator_owned,
                "mountedBy": list(self.mounted_by),
                "events": [e.to_json() for e in self.events],
            }
        )
        return out


@dataclass
class StatusSummary:
    """What ``regplan status`` reports. ``to_json()`` is the ``-o json`` document: which keys appear
    depends on the target (4.x: the operator's states; 3.x: volumes and env) and on ``error``.
    ``matches``/``match_note`` are filled by the caller (profile matching plans, see workflow)."""

    target: Target
    source: str
    error: str = ""  # the registry object was not found; nothing else is known
    backend: str | None = None
    settings: dict[str, Any] | None = None  # None: not shown (4.x with no single backend)
    replicas: Any = None
    rollout_strategy: str = ""
    management_state: str = ""  # 4.x
    storage_management_state: str = ""  # 4.x
    storage_managed: Any = None  # 4.x
    volumes: list[str] = field(default_factory=list)  # 3.x
    env: list[str] = field(default_factory=list)  # 3.x, secret values redacted
    conditions: list[Condition] = field(default_factory=list)
    claim: ClaimSummary | None = None
    matches: list[str] = field(default_factory=list)
    match_note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": str(self.target), "source": self.source}
        if self.error:
            out["error"] = self.error
        else:
            out["backend"] = self.backend
            if self.settings is not None:
                out["settings"] = self.settings
            out["replicas"] = self.replicas
            out["rolloutStrategy"] = self.rollout_strategy
            if self.target is Target.OCP4:
                out["managementState"] = self.management_state
                out["storageManagementState"] = self.storage_management_state
                out["storageManaged"] = self.storage_managed
            else:
                out["volumes"] = list(self.volumes)
                out["env"] = list(self.env)
            out["conditions"] = [c.to_json() for c in self.conditions]
            if self.claim is not None:
                out["claim"] = self.claim.to_json()
        out["matches"] = list(self.matches)
        out["matchNote"] = self.match_note
        return out


def _claim_summary(ns: str, name: str, live: LiveState) -> ClaimSummary:
    ref = Ref("v1", "PersistentVolumeClaim", ns, name)
    obj = live.objects.get(ref)
    if obj is None:
        return ClaimSummary(ns, name, missing=True)
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return ClaimSummary(
        ns,
        name,
        phase=str(st.get("phase", "")),
        capacity=str((st.get("capacity") or {}).get("storage", "")),
        requested=str(((spec.get("resources") or {}).get("requests") or {}).get("storage", "")),
        access_modes=tuple(str(m) for m in spec.get("accessModes") or []),
        storage_class=str(spec.get("storageClassName") or ""),
        operator_owned=annotations.get(OPERATOR_ANNOTATION) == "true",
        mounted_by=tuple(live.pods_using_claim.get(name, [])),
        # this claim's own events (by uid): a deleted namesake's ProvisioningFailed is not its state
        events=tuple(
            ClaimEvent(
                outside_text(e.get("type")),
                outside_text(e.get("reason")),
                outside_text(e.get("message")),
                e.get("count", 1),
            )
            for e in events_of(obj, live.events.get(ref, []))[-EVENTS_SHOWN:]
        ),
    )


def summarize(target: Target, live: LiveState) -> StatusSummary:
    """The registry's storage, summarised (no secret values)."""
    registry = live.objects.get(registry_ref(target))
    out = StatusSummary(target=target, source=live.source)
    if registry is None:
        out.error = f"{registry_ref(target)} not found"
        return out
    spec = registry.get("spec") or {}
    claim = used_claim(target, registry)
    out.replicas = spec.get("replicas")
    out.conditions = [Condition.of(c) for c in (registry.get("status") or {}).get("conditions") or []]
    if target is Target.OCP4:
        storage = spec.get("storage") or {}
        backends = sorted(k for k in storage if k != "managementState" and storage[k] is not None)
        out.backend = ", ".join(backends) if backends else None
        if len(backends) == 1 and isinstance(storage[backends[0]], dict):
            out.settings = redact_config(storage[backends[0]])
        elif len(backends) > 1:
            out.settings = {"problem": "exactly one storage type should be configured at the same time"}
        out.rollout_strategy = spec.get("rolloutStrategy") or ""
        out.management_state = spec.get("managementState") or ""
        out.storage_management_state = storage.get("managementState") or ""
        out.storage_managed = (registry.get("status") or {}).get("storageManaged")
    else:
        container = registry_container(registry)
        env_driver = _env_value(container, "REGISTRY_STORAGE")
        secret_file = config_secret_name(registry)
        cfg = None
        if secret_file is not None:
            cfg = _registry_config(
                live.objects.get(Ref("v1", "Secret", REGISTRY_NAMESPACE[target], secret_file[0])),
                secret_file[1],
            )
        storage_cfg = (cfg or {}).get("storage") or {}
        drivers = [k for k in storage_cfg if k not in NOT_DRIVERS]
        driver = env_driver or (drivers[0] if len(drivers) == 1 else None) or "filesystem"
        volume = _volume_at(registry, STORAGE_MOUNT)
        settings: dict[str, Any] = {}
        if driver == "filesystem":
            source = next((k for k in (volume or {}) if k != "name"), "none")
            settings["volume"] = f"{(volume or {}).get('name', '-')} ({source})"
        elif driver in storage_cfg:
            settings = dict(redact_config(storage_cfg[driver]))
        settings["config"] = f"Secret {secret_file[0]}" if secret_file else "the image's built-in config.yml"
        if env_driver:
            settings["override"] = f"env REGISTRY_STORAGE={env_driver} overrides the config file"
        out.backend = driver if not claim else f"{driver} on claim {claim[1]}"
        out.settings = settings
        out.rollout_strategy = (spec.get("strategy") or {}).get("type", "")
        out.volumes = [
            f"{v.get('name')}: {next((k for k in v if k != 'name'), '?')}"
            for v in pod_volumes(registry).values()
        ]
        out.env = [_redact_env(e) for e in container.get("env") or []]
    if claim is not None:
        out.claim = _claim_summary(claim[0], claim[1], live)
    return out
