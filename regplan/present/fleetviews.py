"""Views of a fleet run: the summary table, the pull-request comment (markdown), the JSON document, the
status table and the apply summary. Pure: data in, strings out; nothing here prints or reads.

Every view is built from ``Outcome``s (one per cluster, in workspace order). Secret values never appear:
per-cluster plans are ``views.plan_text`` (sensitive fields shown as "(value changed)"), errors are the
adapters' already-redacted messages.

The outcomes and their exit codes are the engine's (``regplan.engine.actions``: ``Outcome``, ``SEVERITY``,
``most_severe``): a view only shows them. The tally counts every cluster exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from regplan import __version__
from regplan.base import plain
from regplan.base.errors import ExitCode
from regplan.base.escape import html_text, lines, md_fence, md_text
from regplan.engine.actions import Outcome
from regplan.engine.plan import Action, Plan

FORMAT_VERSION = 1
MARKDOWN_LIMIT = 60_000  # a GitHub comment holds 65,536 characters; leave room for the CI's own text


# --- tables --------------------------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return lines(
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table; every cell is text (``escape.md_text``: no markup, HTML or ``|`` of its own)."""
    out = ["| " + " | ".join(md_text(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_text(str(c)) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _counts(plan: Plan | None) -> list[str]:
    if plan is None:
        return ["-"] * 5
    n = plan.counts()
    destructive = sum(1 for c in plan.changes if c.destructive)
    return [str(n[Action.CREATE]), str(n[Action.UPDATE]), str(n[Action.REPLACE]), str(n[Action.BLOCKED]),
            str(destructive)]  # fmt: skip


def result_word(o: Outcome) -> str:
    if o.error:
        return f"error (exit {int(o.code)})"
    if o.plan is not None and o.plan.errors:
        return f"plan errors (exit {int(o.code)})"
    if o.plan is not None:
        return "changes" if o.plan.has_changes else "no changes"
    return "ok"


PLAN_HEADER = ("CLUSTER", "TARGET", "PROFILE", "CREATE", "UPDATE", "REPLACE", "BLOCKED", "DESTRUCTIVE",
               "ERRORS", "RESULT")  # fmt: skip


def plan_rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        errors = len(o.plan.errors) if o.plan is not None else (1 if o.error else 0)
        rows.append([o.name, o.target, o.profile, *_counts(o.plan), str(errors), result_word(o)])
    return rows


def plan_counts(outcomes: Sequence[Outcome]) -> tuple[int, int, int]:
    """(with changes, without, with errors): each cluster in exactly one, errors first (a plan with errors
    usually has changes too: it counts as an error, once)."""
    errors = changed = 0
    for o in outcomes:
        if o.failed or (o.plan is not None and o.plan.errors) or o.plan is None:
            errors += 1
        elif o.plan.has_changes:
            changed += 1
    return changed, len(outcomes) - changed - errors, errors


def _tally(outcomes: Sequence[Outcome], code: ExitCode) -> str:
    changed, without, errors = plan_counts(outcomes)
    return (
        f"{len(outcomes)} cluster(s): {changed} with changes, {without} without, {errors} with errors; "
        f"exit {int(code)}"
    )


def plan_summary(outcomes: Sequence[Outcome], code: ExitCode) -> str:
    """The summary table, a tally line, and each failed cluster's error (text)."""
    out = table(PLAN_HEADER, plan_rows(outcomes))
    out += _tally(outcomes, code) + "\n"
    for o in outcomes:
        if o.error:
            out += f"{o.name}: {o.error}\n"
    return out


def plan_text(outcomes: Sequence[Outcome], code: ExitCode, *, color: bool = False) -> str:
    """``regplan plan`` in a workspace: the summary, then each cluster's plan."""
    from regplan.present import views

    parts = [plan_summary(outcomes, code)]
    for o in outcomes:
        parts.append(f"\n=== {o.name} (context {o.context}) ===\n")
        if o.plan is not None:
            parts.append(views.plan_text(o.plan, color=color))
        else:
            parts.append(f"error: {o.error}\n")
    return "".join(parts)


def plan_markdown(outcomes: Sequence[Outcome], code: ExitCode, *, title: str = "regplan plan") -> str:
    """A pull-request comment (as Atlantis posts for Terraform): the summary table, then a collapsed
    section per cluster. Long comments keep the table and cut the sections (GitHub's size limit)."""
    from regplan.present import views

    head = f"### {md_text(title)}\n\n{md_text(_tally(outcomes, code))}\n\n" + md_table(
        PLAN_HEADER, plan_rows(outcomes)
    )
    sections = []
    for o in outcomes:
        if o.plan is not None:
            summary = views.summary_line(o.plan)
            body = views.plan_text(o.plan, color=False)
        else:
            summary = f"error (exit {int(o.code)})"
            body = f"error: {o.error}\n"
        # the summary is inside an HTML block (HTML escapes apply), the body inside a fence no line can close
        sections.append(
            f"<details><summary><b>{html_text(o.name)}</b> ({html_text(o.target)}, {html_text(o.profile)}): "
            f"{html_text(summary)}</summary>\n\n{md_fence(body, 'diff')}\n\n</details>\n"
        )
    out = head + "\n"
    for i, s in enumerate(sections):
        if len(out) + len(s) > MARKDOWN_LIMIT:
            left = [o.name for o in outcomes[i:]]
            out += (
                f"\n_{len(left)} more cluster plan(s) not shown (comment size limit): "
                f"{md_text(', '.join(left))}._\n"
            )
            break
        out += s
    return out


def _outcome_json(o: Outcome) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": o.name,
        "context": o.context,
        "profile": o.profile,
        "target": o.target,
        "labels": dict(sorted(o.labels.items())),
        "exitCode": int(o.code),
        "error": o.error,
        "seconds": round(o.seconds, 3),
    }
    if o.plan is not None:
        doc["plan"] = o.plan.to_json()
    if o.status is not None:
        doc["status"] = o.status
        doc["drift"] = o.drift
    if o.report is not None or o.state != "done" or o.error:
        doc["state"] = o.state
    if o.report is not None:
        doc["report"] = o.report.to_json()
    return doc


def fleet_json(kind: str, outcomes: Sequence[Outcome], code: ExitCode, workspace: str) -> str:
    """One versioned document for the whole run (``-o json``): ``kind`` FleetPlan/FleetApply/FleetStatus."""
    doc = {
        "formatVersion": FORMAT_VERSION,
        "kind": kind,
        "regplanVersion": __version__,
        "workspace": workspace,
        "exitCode": int(code),
        "clusters": [_outcome_json(o) for o in outcomes],
    }
    return plain.indented(doc) + "\n"  # json.dumps(doc, indent=2, sort_keys=True)'s text, faster


# --- status ----------------------------------------------------------------------------------------------

STATUS_HEADER = ("CLUSTER", "TARGET", "BACKEND", "CLAIM", "REPLICAS", "ROLLOUT", "PROFILE", "DRIFT")


def status_rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        s = o.status or {}
        if o.error or s.get("error"):
            rows.append([o.name, o.target, f"error: {o.error or s.get('error')}", "-", "-", "-", "-", "-"])
            continue
        claim = s.get("claim") or {}
        phase = "-" if not claim else ("missing" if claim.get("missing") else str(claim.get("phase") or "?"))
        drift = "-" if o.drift is None else ("yes" if o.drift else "no")
        rows.append(
            [
                o.name,
                str(s.get("target") or o.target),
                str(s.get("backend") or "none"),
                phase,
                str(s.get("replicas") if s.get("replicas") is not None else "-"),
                str(s.get("rolloutStrategy") or "(default)"),
                ", ".join(s.get("matches") or []) or "(none)",
                drift,
            ]
        )
    return rows


def status_text(outcomes: Sequence[Outcome], code: ExitCode) -> str:
    drifted = sum(1 for o in outcomes if o.drift)
    return (
        table(STATUS_HEADER, status_rows(outcomes))
        + f"{len(outcomes)} cluster(s), {drifted} drifted from their profile; exit {int(code)}\n"
        + "PROFILE: the profiles whose default values plan to no change; DRIFT: the cluster's own profile "
        "and values plan changes\n"
    )


# --- apply -----------------------------------------------------------------------------------------------

APPLY_HEADER = ("CLUSTER", "TARGET", "PROFILE", "STATE", "WRITES", "EXIT", "DETAIL")


def apply_rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        writes = "-"
        detail = o.error
        if o.report is not None:
            writes = f"{o.report.writes_done}/{len(o.report.steps)}"
            detail = detail or o.report.error
        rows.append([o.name, o.target, o.profile, o.state, writes, str(int(o.code)), detail or ""])
    return rows


def apply_summary(outcomes: Sequence[Outcome], code: ExitCode) -> str:
    by_state: dict[str, int] = {}
    for o in outcomes:
        by_state[o.state] = by_state.get(o.state, 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in sorted(by_state.items()))
    return (
        table(APPLY_HEADER, apply_rows(outcomes)) + f"{len(outcomes)} cluster(s): {tally}; exit {int(code)}\n"
    )
