"""The Plan value: what apply will change, why, and the exact requests it will send. Pure data, no I/O.

One ``ObjectChange`` per desired object (an ``Action`` and its ``model.Write`` requests, in order), the
diagnostics, the desired objects and the values record. ``Plan.to_json()`` is both the ``-o json``
document and the plan file (docs/plan-format.md, ``formatVersion`` 1); Secret content only ever
appears there masked (normalize.SECRET_MASKS). The write policy (what a plan may write, which requests
each action makes, what is never deleted) is here too: it is what a plan *is*, and both the planner
(regplan.engine.plan) and the plan-file loader (regplan.engine.planfile) hold plans to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, assert_never

from regplan import __version__
from regplan.base import plain
from regplan.base.errors import Diagnostic
from regplan.base.model import REGISTRY_NAMESPACE, Obj, Ref, Target, Verb, Write
from regplan.base.normalize import Item, mask_secret
from regplan.engine.diff import FieldChange

FORMAT_VERSION = 1


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


# Plan.server_dry_run: what was (not) checked by the apiserver before the plan was shown, in words.
DRY_RUN_NOTES: dict[str, str] = {
    "checked": "every write was accepted by a server-side dry run",
    "refused": "the server-side dry run refused a write (see the diagnostics)",
    "no-writes": "nothing to write, nothing to dry-run",
    "snapshot": (
        "planned against a snapshot: not checked by a server-side dry run; `regplan apply` re-reads the "
        "cluster and re-derives every write before it writes"
    ),
    "unsupported": "OpenShift 3.11 has no server-side dry run; `regplan apply` re-checks live objects",
    "errors": "not dry-run: the plan holds errors",
    "not-run": "not checked by a server-side dry run",
}


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
    # Whether the apiserver checked the writes with a server-side dry run (DRY_RUN_NOTES has the values).
    server_dry_run: str = "not-run"

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
            "serverDryRun": self.server_dry_run,
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
            "changes": [change_json(c) for c in self.changes],
            "diagnostics": [diag_json(d) for d in self.diagnostics],
            "writes": [write_json(w) for w in self.writes],
            "desired": [mask_secret(o) if o.get("kind") == "Secret" else o for o in self.desired],
            "values": self.values_record,
        }

    def dumps(self) -> str:
        return plain.indented(self.to_json()) + "\n"  # json.dumps(indent=2, sort_keys=True)'s text


# --- write policy, as data --------------------------------------------------------------------

# What a plan may write, per target: (kind, namespace, name or "" for any). A plan file naming anything
# else was not made by regplan (``deploy/image-registry`` is the operator's: docs/domain.md rule 7).
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

# Objects a plan never deletes, whatever a plan file says: they are not regplan's (the Config is the
# operator's, the DC the registry's deployment); a replace of one would be a destroyed registry.
NEVER_DELETED: tuple[tuple[str, str], ...] = (
    ("Config", "the operator's Config/cluster: deleting it removes the registry"),
    ("DeploymentConfig", "the registry's deployment: deleting it removes the registry"),
)


# --- JSON form --------------------------------------------------------------------------------


def change_json(c: ObjectChange) -> dict[str, Any]:
    return {
        "object": ref_json(c.ref),
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


def ref_json(ref: Ref) -> dict[str, str]:
    return {"apiVersion": ref.api_version, "kind": ref.kind, "namespace": ref.namespace, "name": ref.name}


def diag_json(d: Diagnostic) -> dict[str, str]:
    return {"severity": d.severity, "key": d.key, "message": d.message, "origin": d.origin, "hint": d.hint}


def write_json(w: Write) -> dict[str, Any]:
    """One write as the plan file holds it: a Secret body masked (digests, no annotations' content)."""
    body = w.body
    if w.secret and isinstance(body, dict):
        body = mask_secret(body)
    return {
        "object": ref_json(w.ref),
        "verb": str(w.verb),
        "patchType": str(w.patch_type) if w.patch_type else None,
        "resourceVersion": w.resource_version,
        "uid": w.uid,
        "waitGone": w.wait_gone,
        "secret": w.secret,
        "body": body,
    }


def canonical(doc: Any) -> str:
    """The byte-for-byte form two writes are compared in (sorted keys, no whitespace)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
