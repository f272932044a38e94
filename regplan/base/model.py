"""Shared value types of the pipeline: object identity, targets, live state.

Pure data, no I/O. Every other module may import this one; it imports nothing of regplan but errors.
Kubernetes objects travel as plain JSON-like dicts (``Obj``), exactly as the API serves them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from regplan.base import lazyre
from regplan.base.escape import quoted
from regplan.base.record import Record, field

if TYPE_CHECKING:
    from decimal import Decimal

Obj = dict[str, Any]
"""A Kubernetes object as JSON-like data (apiVersion, kind, metadata, ...)."""


class Target(StrEnum):
    """Which OpenShift generation a profile is rendered for."""

    OCP4 = "ocp4"  # cluster-image-registry-operator: Config/cluster in openshift-image-registry
    OCP3 = "ocp3"  # dc/docker-registry in default


REGISTRY_NAMESPACE: dict[Target, str] = {Target.OCP4: "openshift-image-registry", Target.OCP3: "default"}

# The operator's own facts (docs/domain.md), in one place: the claim it creates for ``claim: ""`` and the
# annotation (value "true") without which it refuses to adopt a claim of that name.
OPERATOR_CLAIM = "image-registry-storage"
OPERATOR_ANNOTATION = "imageregistry.openshift.io"
STORAGE_MOUNT = "/registry"  # where both generations keep the filesystem driver's data
NOT_DRIVERS = ("delete", "cache", "maintenance", "redirect")  # storage: sections that are not drivers


class Ref(Record, frozen=True, order=True):
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


# --- quantities: ONE grammar, Kubernetes' resource.Quantity, for the values schema and the diff -------------
# Checked table-driven against kubernetes.utils.parse_quantity (tests/unit/test_quantity.py); the product
# does not import kubernetes for it (render must not: start-up budget, layers).

# Suffixes: binary and decimal multipliers of the base unit.
BINARY_SUFFIXES: dict[str, int] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
DECIMAL_SUFFIXES: dict[str, int] = {
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
# Below the base unit (CPU, not storage): n, u, m are 10^-9, 10^-6, 10^-3.
FRACTION_EXPONENTS: dict[str, int] = {"n": -9, "u": -6, "m": -3}
# Kubernetes keeps a quantity as a 64-bit count (larger binary and exponent forms are silently capped to
# this by the API server, so a bigger size would not be what the user asked for): refused above it.
QUANTITY_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1  # replicas and other int32 fields of the API

# <sign><digits>[.<digits>] then a suffix or an exponent (e/E and an int32): apimachinery's
# parseQuantityString, without its degenerate acceptances ("", ".", "-" as 0). No blanks, no "_".
_QUANTITY = lazyre.Pattern(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE](?P<exp>[+-]?[0-9]+))?",
    re.ASCII,
)  # used with fullmatch: "100Gi\n" is not a quantity


def _quantity(value: Any) -> tuple[Decimal, str] | None:
    """(exact number of base units, suffix family: "binary" or "decimal") of a quantity, else None."""
    from decimal import Decimal, DecimalException, localcontext

    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    m = _QUANTITY.fullmatch(str(value))
    if m is None:
        return None
    number, suffix, exp = m.group("number"), m.group("suffix"), m.group("exp")
    if exp is not None and (len(exp) > 11 or abs(int(exp)) > INT32_MAX):
        return None  # the API server parses the exponent as an int32 (and int() refuses 4,300+ digits)
    with localcontext() as ctx:
        # exact arithmetic: enough digits for the number and the largest multiplier (2^60), no rounding
        ctx.prec = len(number) + 40
        ctx.Emax, ctx.Emin = 10**12, -(10**12)
        try:
            base = Decimal(number)
            if suffix in BINARY_SUFFIXES:
                return base * BINARY_SUFFIXES[suffix], "binary"
            if suffix in DECIMAL_SUFFIXES:
                return base * DECIMAL_SUFFIXES[suffix], "decimal"
            if suffix in FRACTION_EXPONENTS:
                return base.scaleb(FRACTION_EXPONENTS[suffix]), "decimal"
            return base.scaleb(int(exp or 0)), "decimal"
        except DecimalException:
            return None


def _whole_quantity(text: Any) -> tuple[int, str] | None:
    """``_quantity`` for the common form, digits and a whole-unit suffix (``100Gi``, ``1000M``, ``5``), in
    int arithmetic: the same grammar and the same exact result, without importing ``decimal`` (start-up
    time). None for anything else (a sign, a fraction, an exponent, n/u/m, many digits): ``_quantity``."""
    if not isinstance(text, str):
        return None
    m = _QUANTITY.fullmatch(text)
    if m is None or m.group("exp") is not None:
        return None
    number, suffix = m.group("number"), m.group("suffix")
    if not number.isdigit() or len(number) > 40:
        return None
    if suffix is None:
        return int(number), "decimal"
    if suffix in BINARY_SUFFIXES:
        return int(number) * BINARY_SUFFIXES[suffix], "binary"
    if suffix in DECIMAL_SUFFIXES:
        return int(number) * DECIMAL_SUFFIXES[suffix], "decimal"
    return None


def parse_quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity (``100Gi``, ``1e9``, ``500m``) as an exact number of base units, else None."""
    parsed = _quantity(value)
    return parsed[0] if parsed is not None else None


def canonical_quantity(text: str) -> str:
    """A storage quantity in Kubernetes' canonical form: whole bytes, largest exact suffix.

    The suffix family of the input is kept (binary in, binary out; decimal, exponent or none in, decimal
    out), like the API server does, so ``100Gi`` stays ``100Gi``, ``0.5Ti`` becomes ``512Gi``, ``1000M``
    and ``1e9`` become ``1G``. Raises ValueError (its text names the quantity: sizes are not secrets).
    """
    whole = _whole_quantity(text)
    if whole is not None:
        n, family = whole
        if n <= 0:
            raise ValueError(f"{quoted(text)} is not a positive whole number of bytes")
    else:
        parsed = _quantity(text)
        if parsed is None:
            raise ValueError(f"{quoted(text)} is not a quantity")
        total, family = parsed
        if total <= 0 or total != total.to_integral_value():
            raise ValueError(f"{quoted(text)} is not a positive whole number of bytes")
        n = int(total) if total <= QUANTITY_MAX else QUANTITY_MAX + 1
    if n > QUANTITY_MAX:
        raise ValueError(f"{quoted(text)} is larger than Kubernetes accepts (2^63-1 bytes, about 8Ei)")
    units = BINARY_SUFFIXES if family == "binary" else DECIMAL_SUFFIXES
    for name, size in sorted(units.items(), key=lambda kv: -kv[1]):
        if n % size == 0:
            return f"{n // size}{name}"
    return str(n)


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


class LiveState(Record):
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


class Write(Record, frozen=True):
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


class LiveQuery(Record, frozen=True):
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


# --- the registry's objects, and reading its pod template --------------------------------------------------

CONFIG_REF = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
DC_REF = Ref("apps.openshift.io/v1", "DeploymentConfig", REGISTRY_NAMESPACE[Target.OCP3], "docker-registry")
DEPLOYMENT_REF = Ref("apps/v1", "Deployment", REGISTRY_NAMESPACE[Target.OCP4], "image-registry")


def pod_volumes(workload: Obj | None) -> dict[str, Obj]:
    """The pod template's volumes of a Deployment / DeploymentConfig, by name."""
    spec = (((workload or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    return {str(v.get("name")): v for v in spec.get("volumes") or [] if isinstance(v, dict)}


def registry_container(workload: Obj | None, name: str = "registry") -> Obj:
    """The registry container of a pod template (the first one when none has that name), as a copy."""
    spec = (((workload or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    found = next((c for c in containers if c.get("name") == name), containers[0] if containers else {})
    return dict(found)
