"""Shared value types of the pipeline: object identity, targets, live state.

Pure data, no I/O. Every other module may import this one; it imports nothing of regplan but errors.
Kubernetes objects travel as plain JSON-like dicts (``Obj``), exactly as the API serves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Obj = dict[str, Any]
"""A Kubernetes object as JSON-like data (apiVersion, kind, metadata, ...)."""


class Target(StrEnum):
    """Which OpenShift generation a profile is rendered for."""

    OCP4 = "ocp4"  # cluster-image-registry-operator: Config/cluster in openshift-image-registry
    OCP3 = "ocp3"  # dc/docker-registry in default


REGISTRY_NAMESPACE: dict[Target, str] = {Target.OCP4: "openshift-image-registry", Target.OCP3: "default"}

# The operator's own facts (DOMAIN.md), in one place: the claim it creates for ``claim: ""`` and the
# annotation (value "true") without which it refuses to adopt a claim of that name.
OPERATOR_CLAIM = "image-registry-storage"
OPERATOR_ANNOTATION = "imageregistry.openshift.io"


@dataclass(frozen=True, order=True)
class Ref:
    """The identity of an object: what the API addresses it by. ``namespace`` is "" when cluster-scoped."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Obj) -> Ref:
        meta = obj.get("metadata") or {}
        return cls(obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta["name"])

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


# Kubernetes quantity suffixes (resource.Quantity): binary and decimal multipliers of the base unit.
BINARY_SUFFIXES: dict[str, int] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
DECIMAL_SUFFIXES: dict[str, int] = {
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}


# Objects are written in this order (a Secret and a PVC before the Config or DC that uses them).
KIND_ORDER: dict[str, int] = {
    "Namespace": 0,
    "Secret": 10,
    "PersistentVolumeClaim": 20,
    "Config": 30,
    "DeploymentConfig": 30,
}


def sort_key(obj: Obj) -> tuple[int, str, str, str]:
    """Deterministic object order: dependencies first, then by namespace and name."""
    ref = Ref.of(obj)
    return (KIND_ORDER.get(ref.kind, 50), ref.kind, ref.namespace, ref.name)


@dataclass
class LiveState:
    """What the cluster (or a snapshot file) holds that a plan needs.

    ``objects`` holds every desired object that exists, keyed by Ref (a missing key means absent).
    The context the rules need: StorageClasses by name, recent events per involved object, pods that
    mount a claim (to say who holds a claim that a replace must delete).
    """

    target: Target
    objects: dict[Ref, Obj] = field(default_factory=dict)
    storage_classes: dict[str, Obj] = field(default_factory=dict)
    events: dict[Ref, list[Obj]] = field(default_factory=dict)
    pods_using_claim: dict[str, list[str]] = field(default_factory=dict)  # claim name -> pod names
    server_dry_run: bool = False  # the server supports dryRun=All (4.x); 3.11 does not
    source: str = "cluster"  # "cluster" or the snapshot file path, for messages


class Verb(StrEnum):
    """The closed set of write requests apply may make."""

    CREATE = "create"  # POST the whole object
    UPDATE = "update"  # PUT the whole object, with metadata.resourceVersion as precondition
    PATCH = "patch"  # PATCH with ``Write.patch_type``
    DELETE = "delete"  # DELETE with uid + resourceVersion preconditions


class PatchType(StrEnum):
    JSON = "json"  # application/json-patch+json (RFC 6902); starts with a "test" of resourceVersion
    MERGE = "merge"  # application/merge-patch+json (RFC 7386); carries metadata.resourceVersion


@dataclass(frozen=True)
class Write:
    """One request of a plan, exactly as apply will send it.

    ``body`` is the object (create/update), the patch document (patch) or None (delete).
    ``resource_version``/``uid`` are the preconditions taken from the live object the plan saw; the
    server refuses the write (409) when the object changed since. ``wait_gone`` asks apply to wait until
    a deleted object has really disappeared (finalizers) before the next write. ``secret`` marks a body
    holding Secret data: it is never printed, logged or stored in a plan file (digests only).
    """

    ref: Ref
    verb: Verb
    body: Any = None
    patch_type: PatchType | None = None
    resource_version: str | None = None
    uid: str | None = None
    wait_gone: bool = False
    secret: bool = False


@dataclass(frozen=True)
class LiveQuery:
    """What a plan (or status) needs to read: each object by name, plus the context the rules need.

    Both the cluster adapter and the snapshot loader answer it with a ``LiveState``; neither reads more.
    """

    target: Target
    refs: tuple[Ref, ...] = ()
    storage_classes: tuple[str, ...] = ()
    claims: tuple[tuple[str, str], ...] = ()  # (namespace, name): their events, pods mounting them


def event_time(event: Obj) -> str:
    """When an event last happened, as its RFC 3339 text (sorts chronologically); "" when unknown."""
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def events_of(obj: Obj, events: list[Obj]) -> list[Obj]:
    """The events about this very object: matched by uid (involvedObject.uid), not by name.

    Why: after a replace the new claim has the old one's name, and the deleted claim's events (a
    ProvisioningFailed) are still listed under it. An event without a uid, or an object without one (a
    hand-written snapshot), is kept: there is nothing to tell them apart by.
    """
    uid = (obj.get("metadata") or {}).get("uid")
    if not uid:
        return list(events)
    return [e for e in events if (e.get("involvedObject") or {}).get("uid") in (None, "", uid)]
