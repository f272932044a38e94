"""The planner: compare each desired object with its live counterpart and decide. A function, no I/O.

``query_for(rendered)`` says what to read; ``make_plan(rendered, live)`` normalizes and diffs each
desired object against live (normalize + diff), picks one ``Action`` per object from the rules below,
turns it into ``model.Write`` requests (patch bodies: regplan.engine.patches) and adds the live-context
diagnostics (regplan.engine.livechecks). The value it returns is ``planvalue.Plan``; the plan file is
regplan.engine.planfile. Layers, one way: planvalue <- patches, livechecks <- plan <- planfile.

Write strategy, per kind (and why):
- Secret, PVC: regplan owns them. Create; update a Secret with PUT + resourceVersion (its data is
  replaced whole); grow a PVC with a merge patch carrying metadata.resourceVersion (only
  ``resources.requests`` may change on a claim); an immutable field means DELETE (uid + rv
  preconditions, wait until gone) then CREATE.
- Config/cluster (4.x): one merge patch carrying metadata.resourceVersion (regplan.engine.patches).
- dc/docker-registry (3.x): a JSON patch starting with a ``test`` of resourceVersion (regplan.engine.patches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from regplan.base import escape
from regplan.base.errors import Diagnostic
from regplan.base.model import LiveQuery, LiveState, Obj, PatchType, Ref, Target, Verb, Write, sort_key
from regplan.base.normalize import (
    FieldPath,
    Item,
    format_path,
    is_quantity_path,
    normalize,
    parse_quantity,
    rebased_body,
)
from regplan.engine.diff import ChangeKind, FieldChange, diff_objects
from regplan.engine.livechecks import find_live, run_checks
from regplan.engine.patches import json_patch, merge_patch
from regplan.engine.planvalue import Action, ObjectChange, Plan, glyph

__all__ = [  # what other modules import from here (the value types live in planvalue)
    "Action",
    "ObjectChange",
    "Plan",
    "RenderedLike",
    "glyph",
    "json_patch",
    "make_plan",
    "merge_patch",
    "query_for",
]


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

NEVER_BOUND = "the claim never bound (Pending, no volume): no data exists on it"


def never_bound(claim: Obj) -> bool:
    """A claim that never had a volume: Pending and no ``spec.volumeName`` (so replacing it loses nothing).
    Anything else (Bound, Lost, a volume named, no status recorded) may hold data."""
    spec = claim.get("spec") or {}
    status = claim.get("status") or {}
    return status.get("phase") == "Pending" and not spec.get("volumeName")


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
        live_obj = find_live(live, ref)
        change = _plan_object(desired, live_obj, live, diags)
        changes.append(change)
    changes = _operator_safe_order(changes, live)
    diags.extend(run_checks(objects, changes, live))
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
    creates a missing image-registry-storage claim itself (ReadWriteMany, docs/domain.md), so deleting the
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
    live_cfg = find_live(live, cfg.ref) or {}
    pvc = ((live_cfg.get("spec") or {}).get("storage") or {}).get("pvc")
    if not isinstance(pvc, dict) or pvc.get("claim"):
        return changes
    rest = [c for c in changes if c is not cfg]
    return [*rest[:first_replace], cfg, *rest[first_replace:]]


def _meta(obj: Obj | None, key: str) -> str | None:
    value = ((obj or {}).get("metadata") or {}).get(key)
    return None if value is None else str(value)


def strip_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [strip_none(v) for v in obj]
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
        body = strip_none(desired)
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
        consequence, destructive = rule.consequence, rule.destructive
        if kind == "PersistentVolumeClaim" and never_bound(live_obj):
            consequence, destructive = NEVER_BOUND, False  # still a replace: --allow-replace gates it
        reason = f"{format_path(rule.path)} is immutable; {consequence}"
        body = strip_none(desired)
        writes = (
            Write(ref, Verb.DELETE, uid=uid, resource_version=rv, wait_gone=True),
            Write(ref, Verb.CREATE, body=body, secret=secret),
        )
        return made(Action.REPLACE, reason, destructive, writes)
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
            write = Write(ref, Verb.UPDATE, body=strip_none(body), resource_version=rv, uid=uid, secret=True)
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
            return f"{format_path(f.path)}: not a quantity ({escape.shown(f.old)} -> {escape.shown(f.new)})"
        if new < old:
            return f"{format_path(f.path)}: field can not be less than previous value ({f.old} -> {f.new})"
        klass = str((live_obj.get("spec") or {}).get("storageClassName") or "")
        sc = live.storage_classes.get(klass)
        if sc is None:
            where = format_path(f.path)
            return f"{where}: StorageClass {escape.quoted(klass)} of the claim was not found; cannot grow it"
        if sc.get("allowVolumeExpansion") is not True:
            where = format_path(f.path)
            return f"{where}: StorageClass {klass} does not allow volume expansion ({f.old} -> {f.new})"
        phase = (live_obj.get("status") or {}).get("phase", "")
        if phase != "Bound":
            now = phase or "not bound"
            return f"{format_path(f.path)}: only a Bound claim can be expanded (the claim is {now})"
    return ""
