"""Plans and status as human text or JSON. Returns strings; never prints (workflow and cli do).

The text plan reads like terraform's: one block per object with its glyph (``+`` create, ``~`` update,
``-/+`` replace, ``!`` blocked, ``=`` no-op), the reason, each field path with ``old -> new``, then the
diagnostics and a summary line. Colour only when the caller asks (a terminal without NO_COLOR).
Secret values never appear: a sensitive field shows as "(value changed)" / "(sensitive value)".
"""

from __future__ import annotations

import json
from typing import Any

from regplan.base.errors import Diagnostic
from regplan.base.escape import lines, md_code, md_fence, md_text
from regplan.base.normalize import Item
from regplan.engine.diff import ChangeKind, FieldChange
from regplan.engine.planvalue import DRY_RUN_NOTES, Action, ObjectChange, Plan, glyph
from regplan.engine.status import StatusSummary
from regplan.engine.verify import Finding, Intent
from regplan.present.reasons import reason_for

COLORS: dict[str, str] = {
    "+": "32",
    "~": "33",
    "-/+": "31",
    "-": "31",
    "!": "35",
    "=": "2",
    "error": "31",
    "warning": "33",
    "bold": "1",
    "dim": "2",
}
# The identity of a created object is in its header already.
IDENTITY_PATHS = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
VALUE_WIDTH = 160
EXPAND_OVER = 80  # added/removed maps longer than this (as JSON) are listed leaf by leaf


def _c(text: str, key: str, color: bool) -> str:
    return f"\x1b[{COLORS[key]}m{text}\x1b[0m" if color else text


def fmt_value(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "..."


def expand(f: FieldChange) -> list[FieldChange]:
    """A long added/removed map shows as one line per leaf (like terraform), not one cut-off JSON blob."""
    value = f.new if f.kind is ChangeKind.ADDED else f.old
    if f.sensitive or f.kind is ChangeKind.CHANGED or not isinstance(value, dict) or not value:
        return [f]
    if len(json.dumps(value)) <= EXPAND_OVER or (f.path and isinstance(f.path[-1], Item)):
        return [f]  # short, or a named list item (env var, volume): one line reads better
    out: list[FieldChange] = []
    for key, sub in value.items():
        child = FieldChange(
            (*f.path, key),
            f.kind,
            sub if f.kind is ChangeKind.REMOVED else None,
            sub if f.kind is ChangeKind.ADDED else None,
        )
        out.extend(expand(child))
    return out


def field_line(f: FieldChange, color: bool) -> str:
    sign = {ChangeKind.ADDED: "+", ChangeKind.CHANGED: "~", ChangeKind.REMOVED: "-"}[f.kind]
    if f.sensitive:
        shown = "(value changed)" if f.kind is ChangeKind.CHANGED else "(sensitive value)"
    elif f.kind is ChangeKind.ADDED:
        shown = fmt_value(f.new)
    elif f.kind is ChangeKind.REMOVED:
        shown = f"{fmt_value(f.old)} -> (removed)"
    else:
        shown = f"{fmt_value(f.old)} -> {fmt_value(f.new)}"
    return f"      {_c(sign, sign, color)} {f.dotted}: {shown}"


def _explained(kind: str, leaves: list[FieldChange], color: bool) -> list[str]:
    """Each field change, with the reason regplan changes it under it (each reason once per object)."""
    out: list[str] = []
    said: set[str] = set()
    for leaf in leaves:
        out.append(field_line(leaf, color))
        why = reason_for(kind, leaf.dotted, leaf.new, removed=leaf.kind is ChangeKind.REMOVED)
        if why and why not in said:
            said.add(why)
            out.append(_c(f"          # {why}", "dim", color))
    return out


def _header(c: ObjectChange, color: bool) -> list[str]:
    g = glyph(c.action)
    head = f"{_c(g.rjust(3), g, color)} {_c(str(c.ref), 'bold', color)}"
    match c.action:
        case Action.CREATE:
            note = "will be created"
        case Action.UPDATE:
            note = "will be updated in place"
        case Action.REPLACE:
            note = "must be replaced (delete, then create)"
        case Action.NOOP:
            note = "no changes"
        case Action.BLOCKED:
            note = "cannot be changed"
    lines = [f"{head}  {note}"]
    if c.action in (Action.REPLACE, Action.BLOCKED) and c.reason:
        lines.append(f"      # {c.reason}")
    if c.destructive:
        lines.append(
            "      " + _c("# DESTRUCTIVE: data on this object is lost unless copied first", "-/+", color)
        )
    return lines


def diagnostic_line(d: Diagnostic, color: bool) -> str:
    return (
        f"  {_c(d.severity, d.severity, color)}: {d.key}: {d.message}"
        + (f" [{d.origin}]" if d.origin else "")
        + (f"; {d.hint}" if d.hint else "")
    )


def summary_line(plan: Plan) -> str:
    n = plan.counts()
    destructive = sum(1 for c in plan.changes if c.destructive)
    return (
        f"Plan: {n[Action.CREATE]} to create, {n[Action.UPDATE]} to update, {n[Action.REPLACE]} to replace"
        f" ({destructive} destructive), {n[Action.BLOCKED]} blocked."
    )


def plan_text(plan: Plan, *, color: bool = False) -> str:
    """The human plan. Deterministic (goldens compare it byte for byte when color is off)."""
    out = [f"regplan plan: profile {plan.profile}, target {plan.target}, live state from {plan.source}", ""]
    for c in plan.changes:
        out.extend(_header(c, color))
        if c.action is not Action.NOOP:
            shown = [f for f in c.fields if not (c.action is Action.CREATE and f.path in IDENTITY_PATHS)]
            out.extend(_explained(c.ref.kind, [leaf for f in shown for leaf in expand(f)], color))
        out.append("")
    if plan.diagnostics:
        out.append("Diagnostics:")
        out.extend(diagnostic_line(d, color) for d in plan.diagnostics)
        out.append("")
    if not plan.has_changes:
        out.append("No changes: the live state matches the profile.")
    out.append(summary_line(plan))
    out.append(f"Server dry run: {dry_run_note(plan)}.")
    if plan.errors:
        out.append(_c(f"{len(plan.errors)} error(s): apply would refuse this plan.", "error", color))
    return lines(out)


def dry_run_note(plan: Plan) -> str:
    return DRY_RUN_NOTES.get(plan.server_dry_run, DRY_RUN_NOTES["not-run"])


_MD_ACTION = {
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.REPLACE: "**replace**",
    Action.NOOP: "no change",
    Action.BLOCKED: "**blocked**",
}


def _md_action(c: ObjectChange) -> str:
    """The change column: "destructive" only where the text plan says so (a claim that never bound is
    replaced without losing data, and the markdown must not say otherwise)."""
    return "**replace (destructive)**" if c.destructive else _MD_ACTION[c.action]


def plan_markdown(plan: Plan, *, heading: str = "###") -> str:
    """The plan for a pull-request comment: a summary, a table of objects, the full text folded away.

    Secret values never appear (the same masking as the text plan, which the folded section holds). Every
    string from the plan (names, reasons, diagnostics quoting the cluster) goes through the markdown rule of
    ``regplan.base.escape``: nothing in it can add markup, HTML or close the folded section."""
    out = [
        f"{heading} regplan plan: {md_code(plan.profile)} on {md_text(str(plan.target))}",
        "",
        f"Live state from {md_text(plan.source)}. **{md_text(summary_line(plan))}**",
        "",
    ]
    if any(c.destructive for c in plan.changes):
        out += [
            "> [!WARNING]",
            "> This plan deletes and re-creates an object: its data is lost unless copied first.",
            "",
        ]
    if plan.errors:
        out += ["> [!CAUTION]", f"> {len(plan.errors)} error(s): `regplan apply` refuses this plan.", ""]
    out += ["| | object | change | why |", "|---|---|---|---|"]
    for c in plan.changes:
        out.append(
            f"| `{glyph(c.action)}` | {md_code(str(c.ref), table=True)} | {_md_action(c)} | "
            f"{md_text(c.reason)} |"
        )
    out.append("")
    if plan.diagnostics:
        out += ["**Diagnostics**", ""]
        out += [f"- {md_text(diagnostic_line(d, False).strip())}" for d in plan.diagnostics]
        out.append("")
    out += [f"Server dry run: {md_text(dry_run_note(plan))}.", ""]
    out += ["<details><summary>Full plan</summary>", "", md_fence(plan_text(plan), "text"), "", "</details>"]
    return "\n".join(out) + "\n"


def plan_json(plan: Plan) -> str:
    """The versioned JSON plan (docs/plan-format.md); also the plan file."""
    return plan.dumps()


# --- status ---------------------------------------------------------------------------------------


def status_text(status: StatusSummary, *, color: bool = False) -> str:
    """``regplan status`` for people: one fact a line, the claim and its events, conditions, match."""
    out = [f"Target:    {status.target}  (live state from {status.source})"]
    out.append(f"Backend:   {status.backend or 'none'}")
    for key, value in sorted((status.settings or {}).items()):
        out.append(f"  {key}: {fmt_value(value)}")
    out.append(f"Replicas:  {status.replicas}")
    out.append(f"Rollout:   {status.rollout_strategy or '(default)'}")
    if status.management_state:
        storage_state = status.storage_management_state or "-"
        out.append(
            f"Operator:  managementState {status.management_state}, storage.managementState "
            f"{storage_state}, storageManaged {str(status.storage_managed).lower()}"
        )
    claim = status.claim
    if claim:
        out.append(f"Claim:     {claim.namespace}/{claim.name}")
        if claim.missing:
            out.append("  (not found)")
        else:
            out.append(
                f"  phase: {claim.phase}, capacity: {claim.capacity or '-'}, "
                f"requested: {claim.requested}, "
                f"access modes: {', '.join(claim.access_modes)}, "
                f"class: {claim.storage_class or '(default)'}"
            )
            if claim.mounted_by:
                out.append(f"  mounted by: {', '.join(claim.mounted_by)}")
            for e in claim.events:
                sev = "warning" if e.type == "Warning" else "="
                out.append(f"  {_c(e.type, sev, color)} {e.reason}: {e.message}")
    for volume in status.volumes:
        out.append(f"Volume:    {volume}")
    for env in status.env:
        out.append(f"Env:       {env}")
    if status.conditions:
        out.append("Conditions:")
        for cond in status.conditions:
            out.append(
                f"  {cond.type}={cond.status}"
                + (f" ({cond.reason})" if cond.reason else "")
                + (f": {cond.message}" if cond.message else "")
            )
    match = status.matches
    out.append(f"Profile:   {', '.join(match) if match else 'matches no profile (with default values)'}")
    if status.match_note:
        out.append(f"  {status.match_note}")
    return lines(out)


def status_json(status: StatusSummary) -> str:
    return json.dumps(status.to_json(), indent=2, sort_keys=True) + "\n"


# --- verify ---------------------------------------------------------------------------------------


def verify_text(profile: str, intent: Intent, findings: list[Finding], *, color: bool = False) -> str:
    where = (
        f"claim {intent.claim}"
        if intent.backend == "pvc"
        else f"S3 {intent.bucket or '(the operator bucket)'}"
    )
    out = [f"regplan verify: profile {profile}, target {intent.target}: intended storage {where}", ""]
    for f in findings:
        mark = _c("ok  ", "+", color) if f.ok else _c("FAIL", "error", color)
        out.append(f"  {mark}  {f.name}: {f.detail}")
    verified = all(f.ok for f in findings)
    out += [
        "",
        "Verified: the registry uses the intended storage."
        if verified
        else _c("NOT verified: the registry does not (yet) use the intended storage.", "error", color),
    ]
    return lines(out)


def verify_json(profile: str, intent: Intent, findings: list[Finding]) -> str:
    doc = {
        "formatVersion": 1,
        "profile": profile,
        "target": str(intent.target),
        "intended": {"backend": intent.backend, "claim": intent.claim, "bucket": intent.bucket,
                     "region": intent.region},
        "verified": all(f.ok for f in findings),
        "checks": [f.to_json() for f in findings],
    }  # fmt: skip
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
