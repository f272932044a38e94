"""The Plan: what apply will change, why, and the exact requests it will send. A value, no I/O.

``query_for(rendered)`` says what to read; ``make_plan(rendered, live)`` compares each desired object
with its live counterpart (normalize + diff), picks one ``Action`` per object from the rules below,
turns it into ``model.Write`` requests, and adds the live-context diagnostics (StorageClass, claim
events, operator state). ``Plan.to_json()`` is both the ``-o json`` document and the plan file
(docs/plan-format.md, ``formatVersion`` 1); Secret values only ever appear there as digests.

Write strategy, per kind (and why):
- Secret, PVC: regplan owns them. Create; update a Secret with PUT + resourceVersion (its data is
  replaced whole); grow a PVC with a merge patch carrying metadata.resourceVersion (only
  ``resources.requests`` may change on a claim); an immutable field means DELETE (uid + rv
  preconditions, wait until gone) then CREATE.
- Config/cluster (4.x): one merge patch carrying metadata.resourceVersion. Nulls delete keys, which is
  how another backend leaves ``spec.storage``; CRDs do not take strategic merge; and unlike a JSON
  patch ``remove``, a merge null does not fail when the key is already gone. The resourceVersion in
  the body makes the server refuse (409) a Config that changed since the plan.
- dc/docker-registry (3.x): a JSON patch starting with a ``test`` of resourceVersion, then replace /
  add / remove ops addressed by list index taken from the live object (the ``test`` guarantees those
  indices still hold). 3.11 has neither server-side apply nor dry-run, and a merge patch would replace
  whole lists (volumes, env) and drop what regplan does not own.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol, assert_never

from regplan import __version__
from regplan.diff import ChangeKind, FieldChange, diff_objects
from regplan.errors import Diagnostic, InvalidInput, StaleError
from regplan.model import (
    REGISTRY_NAMESPACE,
    LiveQuery,
    LiveState,
    Obj,
    PatchType,
    Ref,
    Target,
    Verb,
    Write,
    sort_key,
)
from regplan.normalize import (
    FieldPath,
    Item,
    format_path,
    is_quantity_path,
    mask_secret,
    normalize,
    parse_quantity,
    rebased_body,
    secret_digests,
)
from regplan.rules import PROVISIONER_ACCESS_MODES

FORMAT_VERSION = 1
OPERATOR_ANNOTATION = "imageregistry.openshift.io"
DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


class Action(StrEnum):
    """The closed set of things a plan can do to one object."""

    CREATE = "create"
    UPDATE = "update"  # in place (PUT or PATCH)
    REPLACE = "replace"  # DELETE then CREATE: destructive for a claim
    NOOP = "no-op"
    BLOCKED = "blocked"  # a change the cluster forbids (shrink, expansion not allowed); apply refuses


def glyph(action: Action) -> str:
    match action:
        case Action.CREATE:
            return "+"
        case Action.UPDATE:
            return "~"
        case Action.REPLACE:
            return "-/+"
        case Action.NOOP:
            return "="
        case Action.BLOCKED:
            return "!"
        case _:
            assert_never(action)


@dataclass(frozen=True)
class ObjectChange:
    """The plan for one desired object. ``uid``/``resource_version`` are those of the live object seen."""

    ref: Ref
    action: Action
    reason: str = ""
    destructive: bool = False
    fields: tuple[FieldChange, ...] = ()
    writes: tuple[Write, ...] = ()
    uid: str | None = None
    resource_version: str | None = None


@dataclass
class Plan:
    """Inputs, per-object changes, the exact writes (in order) and the diagnostics of one plan."""

    profile: str
    target: Target
    values_digest: str
    source: str
    changes: list[ObjectChange]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    desired: list[Obj] = field(default_factory=list)  # API form; Secret data real in memory, digests on disk
    values_record: dict[str, Any] = field(default_factory=dict)  # what apply needs to re-render (no secrets)
    regplan_version: str = __version__
    secrets_resolved: bool = True  # False after loading a file: Secret bodies hold digests until resolved

    @property
    def writes(self) -> list[Write]:
        return [w for c in self.changes for w in c.writes]

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def counts(self) -> dict[Action, int]:
        return {a: sum(1 for c in self.changes if c.action is a) for a in Action}

    def to_json(self) -> dict[str, Any]:
        """The versioned document of docs/plan-format.md (also the plan file). Secret values: digests."""
        counts = self.counts()
        return {
            "formatVersion": FORMAT_VERSION,
            "regplanVersion": self.regplan_version,
            "profile": self.profile,
            "target": str(self.target),
            "valuesDigest": self.values_digest,
            "source": self.source,
            "summary": {
                "create": counts[Action.CREATE],
                "update": counts[Action.UPDATE],
                "replace": counts[Action.REPLACE],
                "destructive": sum(1 for c in self.changes if c.destructive),
                "noop": counts[Action.NOOP],
                "blocked": counts[Action.BLOCKED],
                "errors": len(self.errors),
                "warnings": len(self.diagnostics) - len(self.errors),
            },
            "changes": [_change_json(c) for c in self.changes],
            "diagnostics": [_diag_json(d) for d in self.diagnostics],
            "writes": [_write_json(w) for w in self.writes],
            "desired": [mask_secret(o) if o.get("kind") == "Secret" else o for o in self.desired],
            "values": self.values_record,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"


# --- rules as data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImmutableRule:
    kind: str
    path: tuple[str, ...]
    destructive: bool
    consequence: str


IMMUTABLE: tuple[ImmutableRule, ...] = tuple(
    ImmutableRule("PersistentVolumeClaim", ("spec", f), True, "data on the claim is lost")
    for f in (
        "accessModes",
        "storageClassName",
        "volumeMode",
        "selector",
        "dataSource",
        "dataSourceRef",
        "volumeName",
    )
)
IMMUTABLE += (ImmutableRule("Secret", ("type",), False, "the Secret is recreated from its sources"),)

# What a plan may write, per target: (kind, namespace, name or "" for any). A plan file naming anything
# else was not made by regplan (``deploy/image-registry`` is the operator's: DOMAIN.md rule 7).
WRITABLE: dict[Target, tuple[tuple[str, str, str], ...]] = {
    Target.OCP4: (
        ("Secret", REGISTRY_NAMESPACE[Target.OCP4], ""),
        ("PersistentVolumeClaim", REGISTRY_NAMESPACE[Target.OCP4], ""),
        ("Config", "", "cluster"),
    ),
    Target.OCP3: (
        ("Secret", REGISTRY_NAMESPACE[Target.OCP3], ""),
        ("PersistentVolumeClaim", REGISTRY_NAMESPACE[Target.OCP3], ""),
        ("DeploymentConfig", REGISTRY_NAMESPACE[Target.OCP3], "docker-registry"),
    ),
}

# The requests each action makes, in order: what ``_plan_object`` produces. A DELETE outside a replace
# would skip apply's --allow-replace refusal, which looks at actions.
ACTION_VERBS: dict[Action, tuple[tuple[Verb, ...], ...]] = {
    Action.CREATE: ((Verb.CREATE,),),
    Action.UPDATE: ((Verb.UPDATE,), (Verb.PATCH,)),
    Action.REPLACE: ((Verb.DELETE, Verb.CREATE),),
    Action.NOOP: ((),),
    Action.BLOCKED: ((),),
}

# Events of a Pending claim worth quoting, and how serious each is.
CLAIM_EVENTS: dict[str, str] = {
    "ProvisioningFailed": "warning",  # terminal mismatch: the claim will never bind as it is
    "ExternalProvisioning": "warning",  # still waiting on an external provisioner
}

CONTAINERS_PATH: FieldPath = ("spec", "template", "spec", "containers")
SIZE_PATH: FieldPath = ("spec", "resources", "requests", "storage")


class RenderedLike(Protocol):
    """What plan needs of ``render.Rendered`` (kept structural so tests can pass plain objects)."""

    @property
    def objects(self) -> list[Obj]: ...
    @property
    def target(self) -> Target: ...
    @property
    def profile(self) -> str: ...


# --- query ------------------------------------------------------------------------------------


def query_for(rendered: RenderedLike) -> LiveQuery:
    """Each desired object by name, the classes its claims name, and the claims (events, pods)."""
    objs = rendered.objects
    classes = sorted(
        {
            str(o["spec"]["storageClassName"])
            for o in objs
            if o.get("kind") == "PersistentVolumeClaim" and (o.get("spec") or {}).get("storageClassName")
        }
    )
    claims = sorted(
        {(Ref.of(o).namespace, Ref.of(o).name) for o in objs if o.get("kind") == "PersistentVolumeClaim"}
    )
    return LiveQuery(
        target=rendered.target,
        refs=tuple(Ref.of(o) for o in objs),
        storage_classes=tuple(classes),
        claims=tuple(claims),
    )


# --- planning ---------------------------------------------------------------------------------


def make_plan(
    rendered: RenderedLike,
    live: LiveState,
    *,
    values_digest: str = "",
    values_record: dict[str, Any] | None = None,
) -> Plan:
    """Compare every desired object with live and decide. Deterministic: same inputs, same plan."""
    objects = sorted(rendered.objects, key=sort_key)
    diags: list[Diagnostic] = []
    changes: list[ObjectChange] = []
    for desired in objects:
        ref = Ref.of(desired)
        live_obj = _find(live, ref)
        change = _plan_object(desired, live_obj, live, diags)
        changes.append(change)
    changes = _operator_safe_order(changes, live)
    diags.extend(_context_checks(objects, changes, live))
    for c in changes:
        if c.action is Action.BLOCKED:
            diags.append(Diagnostic(str(c.ref), c.reason, origin=f"live {c.ref}", severity="error"))
    return Plan(
        profile=rendered.profile,
        target=rendered.target,
        values_digest=values_digest,
        source=live.source,
        changes=changes,
        diagnostics=diags,
        desired=objects,
        values_record=values_record or {},
    )


def _operator_safe_order(changes: list[ObjectChange], live: LiveState) -> list[ObjectChange]:
    """Dependency order, except one case: on 4.x, while ``spec.storage.pvc.claim`` is "" the operator
    creates a missing image-registry-storage claim itself (ReadWriteMany, DOMAIN.md), so deleting the
    claim before the Config names it would race the operator into recreating the very claim being
    replaced. Then the Config patch (which names the claim) goes first."""
    cfg = next((c for c in changes if c.ref.kind == "Config" and c.action is Action.UPDATE), None)
    first_replace = next(
        (
            i
            for i, c in enumerate(changes)
            if c.ref.kind == "PersistentVolumeClaim" and c.action is Action.REPLACE
        ),
        None,
    )
    if cfg is None or first_replace is None:
        return changes
    live_cfg = _find(live, cfg.ref) or {}
    pvc = ((live_cfg.get("spec") or {}).get("storage") or {}).get("pvc")
    if not isinstance(pvc, dict) or pvc.get("claim"):
        return changes
    rest = [c for c in changes if c is not cfg]
    return [*rest[:first_replace], cfg, *rest[first_replace:]]


def _find(live: LiveState, ref: Ref) -> Obj | None:
    if ref in live.objects:
        return live.objects[ref]
    # The same object served under another version of its group is still the same object.
    group = ref.api_version.rpartition("/")[0]
    for other, obj in live.objects.items():
        if (other.kind, other.namespace, other.name) == (
            ref.kind,
            ref.namespace,
            ref.name,
        ) and other.api_version.rpartition("/")[0] == group:
            return obj
    return None


def _meta(obj: Obj | None, key: str) -> str | None:
    value = ((obj or {}).get("metadata") or {}).get(key)
    return None if value is None else str(value)


def _strip_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


def _plan_object(
    desired: Obj, live_obj: Obj | None, live: LiveState, diags: list[Diagnostic]
) -> ObjectChange:
    ref = Ref.of(desired)
    kind = ref.kind
    pair = normalize(desired, live_obj)
    fields = tuple(diff_objects(pair))
    owned = kind in ("Secret", "PersistentVolumeClaim")
    secret = kind == "Secret"
    if live_obj is None:
        if not owned:
            what = (
                "is the image registry operator installed?"
                if kind == "Config"
                else "deploy the registry first (oc adm registry)"
            )
            return ObjectChange(
                ref, Action.BLOCKED, f"{ref} does not exist; regplan does not create it: {what}"
            )
        body = _strip_none(desired)
        return ObjectChange(
            ref,
            Action.CREATE,
            "does not exist",
            fields=fields,
            writes=(Write(ref, Verb.CREATE, body=body, secret=secret),),
        )
    uid, rv = _meta(live_obj, "uid"), _meta(live_obj, "resourceVersion")

    def made(
        action: Action, reason: str = "", destructive: bool = False, writes: tuple[Write, ...] = ()
    ) -> ObjectChange:
        return ObjectChange(ref, action, reason, destructive, fields, writes, uid, rv)

    if not fields:
        return made(Action.NOOP)
    if _meta(live_obj, "deletionTimestamp"):
        holders = live.pods_using_claim.get(ref.name, []) if kind == "PersistentVolumeClaim" else []
        held = f" (held by pod {', '.join(holders)})" if holders else ""
        return made(Action.BLOCKED, f"is being deleted{held}; plan again once it is gone")
    immutable = [
        (f, r) for f in fields for r in IMMUTABLE if r.kind == kind and f.path[: len(r.path)] == r.path
    ]
    if immutable:
        rule = immutable[0][1]
        reason = f"{format_path(rule.path)} is immutable; {rule.consequence}"
        body = _strip_none(desired)
        writes = (
            Write(ref, Verb.DELETE, uid=uid, resource_version=rv, wait_gone=True),
            Write(ref, Verb.CREATE, body=body, secret=secret),
        )
        return made(Action.REPLACE, reason, rule.destructive, writes)
    if kind == "PersistentVolumeClaim":
        blocked = _claim_resize_block(fields, live_obj, live)
        if blocked:
            return made(Action.BLOCKED, blocked)
    if kind == "DeploymentConfig":
        # regplan patches the registry container; adding a container of its own would deploy a broken one.
        for f in fields:
            if f.kind is ChangeKind.ADDED and len(f.path) == 5 and f.path[:4] == CONTAINERS_PATH:
                name = f.path[4].name if isinstance(f.path[4], Item) else f.path[4]
                return made(Action.BLOCKED, f"{ref} has no container {name}: is this the registry's DC?")
    match kind:
        case "Secret":
            body = rebased_body(desired, live_obj)
            body.setdefault("metadata", {})["resourceVersion"] = rv
            write = Write(ref, Verb.UPDATE, body=_strip_none(body), resource_version=rv, uid=uid, secret=True)
        case "DeploymentConfig":
            write = Write(
                ref,
                Verb.PATCH,
                body=json_patch(fields, live_obj, rv),
                patch_type=PatchType.JSON,
                resource_version=rv,
                uid=uid,
            )
        case _:  # PersistentVolumeClaim, Config: merge patch of the changed fields, rv as precondition
            write = Write(
                ref,
                Verb.PATCH,
                body=merge_patch(fields, rv),
                patch_type=PatchType.MERGE,
                resource_version=rv,
                uid=uid,
            )
    return made(Action.UPDATE, "fields differ", writes=(write,))


def _claim_resize_block(fields: tuple[FieldChange, ...], live_obj: Obj, live: LiveState) -> str:
    """Why a claim's size change cannot be made in place, or "" when it can (or size is unchanged)."""
    for f in fields:
        if f.path != SIZE_PATH or not is_quantity_path("PersistentVolumeClaim", f.path):
            continue
        old, new = parse_quantity(f.old), parse_quantity(f.new)
        if old is None or new is None:
            return f"{format_path(f.path)}: not a quantity ({f.old!r} -> {f.new!r})"
        if new < old:
            return f"{format_path(f.path)}: field can not be less than previous value ({f.old} -> {f.new})"
        klass = str((live_obj.get("spec") or {}).get("storageClassName") or "")
        sc = live.storage_classes.get(klass)
        if sc is None:
            return f"{format_path(f.path)}: StorageClass {klass!r} of the claim was not found; cannot grow it"
        if sc.get("allowVolumeExpansion") is not True:
            where = format_path(f.path)
            return f"{where}: StorageClass {klass} does not allow volume expansion ({f.old} -> {f.new})"
        phase = (live_obj.get("status") or {}).get("phase", "")
        if phase != "Bound":
            now = phase or "not bound"
            return f"{format_path(f.path)}: only a Bound claim can be expanded (the claim is {now})"
    return ""


# --- patch documents --------------------------------------------------------------------------


def merge_patch(fields: tuple[FieldChange, ...], resource_version: str | None) -> Obj:
    """RFC 7386 document of the changed fields (None deletes), with the resourceVersion precondition."""
    doc: Obj = {"metadata": {"resourceVersion": resource_version}}
    for f in fields:
        node = doc
        keys = [str(s) if not isinstance(s, Item) else s.name for s in f.path]
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = None if f.kind is ChangeKind.REMOVED else copy.deepcopy(f.new)
    return doc


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _pointer(path: FieldPath, live: Obj) -> tuple[str, list[int | str]]:
    """JSON pointer of ``path`` in live, NamedList items resolved to their current list index."""
    node: Any = live
    parts: list[int | str] = []
    for seg in path:
        if isinstance(seg, Item):
            index = next(
                i for i, item in enumerate(node) if isinstance(item, dict) and item.get("name") == seg.name
            )
            parts.append(index)
            node = node[index]
        else:
            parts.append(seg)
            node = node.get(seg) if isinstance(node, dict) else None
    return "/" + "/".join(_escape(str(p)) for p in parts), parts


def json_patch(fields: tuple[FieldChange, ...], live: Obj, resource_version: str | None) -> list[Obj]:
    """RFC 6902 ops: test rv, then replace, add (append to lists), remove (highest index first)."""
    ops: list[Obj] = [{"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}]
    adds: list[Obj] = []
    removes: list[tuple[list[int | str], Obj]] = []
    for f in fields:
        match f.kind:
            case ChangeKind.CHANGED:
                ops.append({"op": "replace", "path": _pointer(f.path, live)[0], "value": f.new})
            case ChangeKind.ADDED:
                parent, _ = _pointer(f.path[:-1], live)
                last = f.path[-1]
                where = "-" if isinstance(last, Item) else _escape(last)
                adds.append({"op": "add", "path": f"{parent.rstrip('/')}/{where}", "value": f.new})
            case ChangeKind.REMOVED:
                pointer, parts = _pointer(f.path, live)
                removes.append((parts, {"op": "remove", "path": pointer}))
            case _:
                assert_never(f.kind)
    removes.sort(key=lambda r: [(1, p) if isinstance(p, int) else (0, p) for p in r[0]], reverse=True)
    return ops + adds + [op for _, op in removes]


# --- live-context checks ----------------------------------------------------------------------


def _claim_modes(claim: Obj) -> list[str]:
    return [str(m) for m in (claim.get("spec") or {}).get("accessModes") or []]


def _context_checks(objects: list[Obj], changes: list[ObjectChange], live: LiveState) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    by_ref = {c.ref: c for c in changes}
    desired_replicas: int | None = None
    for obj in objects:
        if obj.get("kind") in ("Config", "DeploymentConfig"):
            desired_replicas = (obj.get("spec") or {}).get("replicas")
    for obj in objects:
        kind, ref = obj.get("kind"), Ref.of(obj)
        if kind == "Config":
            out.extend(_config_checks(obj, _find(live, ref), live))
        if kind == "DeploymentConfig":
            out.extend(_mount_checks(ref, obj, _find(live, ref)))
        if kind != "PersistentVolumeClaim":
            continue
        spec = obj.get("spec") or {}
        live_claim = _find(live, ref)
        out.extend(_class_checks(ref, spec, live))
        if live_claim is None:
            continue
        phase = (live_claim.get("status") or {}).get("phase", "")
        change = by_ref[ref]
        if phase == "Pending":
            quoted = [e for e in live.events.get(_claim_ref(ref), []) if e.get("reason") in CLAIM_EVENTS]
            for e in quoted[-3:]:
                fix = " (the planned replace recreates it)" if change.action is Action.REPLACE else ""
                out.append(
                    Diagnostic(
                        str(ref),
                        f"claim is Pending: {e.get('reason')}: {e.get('message', '')}{fix}",
                        origin=f"live event on {ref}",
                        severity=CLAIM_EVENTS[str(e.get("reason"))],
                    )
                )
            if not quoted:
                out.append(Diagnostic(str(ref), "claim is Pending", origin=f"live {ref}", severity="warning"))
        annotations = (live_claim.get("metadata") or {}).get("annotations") or {}
        if (
            live.target is Target.OCP4
            and ref.name == "image-registry-storage"
            and annotations.get(OPERATOR_ANNOTATION) != "true"
        ):
            out.append(
                Diagnostic(
                    str(ref),
                    f"a claim named image-registry-storage without annotation "
                    f'{OPERATOR_ANNOTATION}: "true" is not owned by the operator '
                    "(could not create default PVC, it already exists and is not owned by the operator)",
                    origin=f"live {ref}",
                    hint="the plan sets the annotation",
                    severity="warning",
                )
            )
        if change.action is Action.REPLACE:
            pods = live.pods_using_claim.get(ref.name, [])
            if pods:
                out.append(
                    Diagnostic(
                        str(ref),
                        f"the claim is mounted by pod {', '.join(sorted(pods))}; "
                        "deleting it waits until they stop (kubernetes.io/pvc-protection)",
                        origin=f"live {ref}",
                        severity="warning",
                    )
                )
        live_replicas = _live_replicas(live)
        if (
            _claim_modes(live_claim) == ["ReadWriteOnce"]
            and live_replicas
            and live_replicas > 1
            and (desired_replicas is None or desired_replicas > 1)
        ):
            out.append(
                Diagnostic(
                    str(ref),
                    f"live claim is ReadWriteOnce with {live_replicas} registry replicas: "
                    "cannot use ReadWriteOnce access mode with more than one replica",
                    origin="live",
                    severity="error",
                )
            )
    return out


def _claim_ref(ref: Ref) -> Ref:
    return Ref("v1", "PersistentVolumeClaim", ref.namespace, ref.name)


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


def _class_checks(ref: Ref, spec: Obj, live: LiveState) -> list[Diagnostic]:
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


def _mount_checks(ref: Ref, desired: Obj, live_dc: Obj | None) -> list[Diagnostic]:
    """A mount regplan adds must not land on a path a mount it keeps already uses: the apiserver refuses a
    pod template whose mountPaths repeat (the hand-made 3.x config volume ``dockersecrets`` sits at
    ``/etc/registryconfig``, DOMAIN.md), so the DC patch would fail after the Secret and PVC writes."""
    live_mounts = _mounts(live_dc)
    out: list[Diagnostic] = []
    for container, wanted in _mounts(desired).items():
        kept = {n: p for n, p in live_mounts.get(container, {}).items() if n not in wanted}
        for name, path in sorted(wanted.items()):
            clash = sorted(n for n, p in kept.items() if p.rstrip("/") == path.rstrip("/"))
            if clash:
                out.append(
                    Diagnostic(
                        f"{ref} spec.template.spec.containers[{container}].volumeMounts[{name}]",
                        f"mountPath {path} is already used by volume {', '.join(clash)}, which regplan "
                        "keeps: the apiserver refuses a pod template with a repeated mountPath",
                        origin=f"live {ref}",
                        hint=f"remove the volume {', '.join(clash)} and its mount from the DC first "
                        "(oc set volume dc/docker-registry --remove --name=...)",
                        severity="error",
                    )
                )
    return out


def _config_checks(desired: Obj, live_cfg: Obj | None, live: LiveState) -> list[Diagnostic]:
    if live_cfg is None:
        return []
    state = str((live_cfg.get("spec") or {}).get("managementState") or "Managed")
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


# --- plan file ----------------------------------------------------------------------------------


def _change_json(c: ObjectChange) -> dict[str, Any]:
    return {
        "object": _ref_json(c.ref),
        "ref": str(c.ref),
        "action": str(c.action),
        "reason": c.reason,
        "destructive": c.destructive,
        "uid": c.uid,
        "resourceVersion": c.resource_version,
        "fields": [dict(f.to_json(), segments=[_seg_json(s) for s in f.path]) for f in c.fields],
    }


def _seg_json(seg: str | Item) -> Any:
    return {"item": seg.name} if isinstance(seg, Item) else seg


def _ref_json(ref: Ref) -> dict[str, str]:
    return {"apiVersion": ref.api_version, "kind": ref.kind, "namespace": ref.namespace, "name": ref.name}


def _diag_json(d: Diagnostic) -> dict[str, str]:
    return {"severity": d.severity, "key": d.key, "message": d.message, "origin": d.origin, "hint": d.hint}


def _write_json(w: Write) -> dict[str, Any]:
    body = w.body
    if w.secret and isinstance(body, dict):
        body = mask_secret(body)
    return {
        "object": _ref_json(w.ref),
        "verb": str(w.verb),
        "patchType": str(w.patch_type) if w.patch_type else None,
        "resourceVersion": w.resource_version,
        "uid": w.uid,
        "waitGone": w.wait_gone,
        "secret": w.secret,
        "body": body,
    }


def _ref_from(d: dict[str, Any]) -> Ref:
    return Ref(d["apiVersion"], d["kind"], d.get("namespace", ""), d["name"])


def plan_from_json(doc: dict[str, Any], *, origin: str = "plan file") -> Plan:
    """Rebuild a Plan from its JSON document. Secret write bodies hold digests until ``resolve_secrets``."""
    version = doc.get("formatVersion")
    if version != FORMAT_VERSION:
        raise InvalidInput(
            f"{origin}: formatVersion {version!r} is not supported (expected {FORMAT_VERSION})"
        )
    try:
        writes_by_ref: dict[Ref, list[Write]] = {}
        for w in doc["writes"]:
            ref = _ref_from(w["object"])
            writes_by_ref.setdefault(ref, []).append(
                Write(
                    ref,
                    Verb(w["verb"]),
                    body=w.get("body"),
                    patch_type=PatchType(w["patchType"]) if w.get("patchType") else None,
                    resource_version=w.get("resourceVersion"),
                    uid=w.get("uid"),
                    wait_gone=bool(w.get("waitGone")),
                    secret=bool(w.get("secret")),
                )
            )
        changes = []
        for c in doc["changes"]:
            ref = _ref_from(c["object"])
            fields = tuple(
                FieldChange(
                    tuple(Item(s["item"]) if isinstance(s, dict) else str(s) for s in f.get("segments", [])),
                    ChangeKind(f["change"]),
                    f.get("old"),
                    f.get("new"),
                    bool(f.get("sensitive")),
                )
                for f in c.get("fields", [])
            )
            changes.append(
                ObjectChange(
                    ref,
                    Action(c["action"]),
                    c.get("reason", ""),
                    bool(c.get("destructive")),
                    fields,
                    tuple(writes_by_ref.get(ref, [])),
                    c.get("uid"),
                    c.get("resourceVersion"),
                )
            )
        diags = [
            Diagnostic(d["key"], d["message"], d.get("origin", ""), d.get("hint", ""), d["severity"])
            for d in doc.get("diagnostics", [])
        ]
        target = Target(doc["target"])
        desired = list(doc.get("desired", []))
        stray = sorted(set(writes_by_ref) - {c.ref for c in changes})
        if stray:
            raise InvalidInput(
                f"{origin}: writes for objects the plan does not change: {', '.join(map(str, stray))}"
            )
        for c in changes:
            why = _write_problem(c, target, desired)
            if why:
                raise InvalidInput(
                    f"{origin}: {c.ref}: {why}; not a plan regplan made (edited?), nothing applied"
                )
        return Plan(
            profile=doc["profile"],
            target=target,
            values_digest=doc.get("valuesDigest", ""),
            source=doc.get("source", ""),
            changes=changes,
            diagnostics=diags,
            desired=desired,
            values_record=dict(doc.get("values") or {}),
            regplan_version=doc.get("regplanVersion", ""),
            secrets_resolved=not any(w.secret for ws in writes_by_ref.values() for w in ws),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise InvalidInput(f"{origin}: not a regplan plan ({type(err).__name__}: {err})") from err


def _write_problem(change: ObjectChange, target: Target, desired: list[Obj]) -> str:
    """Why the writes of a loaded change are not what ``_plan_object`` would have made, or ""."""
    ref = change.ref
    if change.writes and not any(
        ref.kind == kind and ref.namespace == ns and (not name or ref.name == name)
        for kind, ns, name in WRITABLE[target]
    ):
        return f"regplan never writes {ref.kind} {ref.namespace}/{ref.name} on {target}"
    if any(w.ref != ref for w in change.writes):
        return "a write names another object than its change"
    verbs = tuple(w.verb for w in change.writes)
    if verbs not in ACTION_VERBS[change.action]:
        return f"action {change.action} cannot make the requests {', '.join(map(str, verbs)) or '(none)'}"
    for w in change.writes:
        if ref.kind == "Secret" and w.verb is not Verb.DELETE and not w.secret:
            return "a Secret write not marked secret (its data would be written as digests)"
        if w.verb is not Verb.CREATE:
            continue
        # A create sends the desired object as the plan shows it (on disk both hold Secret data as digests).
        want = next((o for o in desired if Ref.of(o) == ref), None)
        if want is None or _strip_none(want) != w.body:
            return "the create body is not the desired object of the plan"
    return ""


def resolve_secrets(plan: Plan, fresh_objects: list[Obj]) -> Plan:
    """Put real Secret data back into a loaded plan's writes, from objects re-rendered from the sources.

    Refuses (StaleError, exit 5) when a key's digest differs from the one recorded: the secret source
    changed since the plan was made, so the plan no longer says what apply would write.
    """
    fresh = {Ref.of(o): o for o in fresh_objects if o.get("kind") == "Secret"}
    changes: list[ObjectChange] = []
    for c in plan.changes:
        writes: list[Write] = []
        for w in c.writes:
            if not w.secret or not isinstance(w.body, dict):
                writes.append(w)
                continue
            src = fresh.get(w.ref)
            if src is None:
                raise StaleError(f"{w.ref}: the re-rendered profile no longer produces this Secret")
            recorded, now = dict(w.body.get("data") or {}), secret_digests(src)
            for key in sorted(set(recorded) | set(now)):
                if recorded.get(key) != now.get(key):
                    raise StaleError(
                        f"{w.ref}: the source of data key {key} changed since the plan was made "
                        f"(digest {str(recorded.get(key))[:19]}... now {str(now.get(key))[:19]}...)"
                    )
            body = copy.deepcopy(w.body)
            body.pop("stringData", None)
            body["data"] = copy.deepcopy(src.get("data") or {})
            if src.get("stringData"):
                body["stringData"] = copy.deepcopy(src["stringData"])
            writes.append(replace(w, body=body))
        changes.append(replace(c, writes=tuple(writes)))
    return replace(plan, changes=changes, secrets_resolved=True)
