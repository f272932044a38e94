"""Apply: execute exactly a plan's writes, in order, safely; wait until they took effect; report.

``apply_plan(plan, cluster, ...)`` is the engine: refuse what must be refused BEFORE any write
(errors or blocked objects in the plan, a replace without ``allow_replace``), take the Lease lock
(only when there is something to write: a no-op apply makes zero writes), re-read every object the plan
touches and refuse a stale plan (uid / resourceVersion / existence changed), then send each
``model.Write`` as the plan recorded it. Every write carries its precondition, so a change made behind
our back turns into a 409 (exit 5), never into a silent overwrite. A replace waits until the old
object is really gone (pvc-protection finalizer: it names the pods) before creating the new one.

When a write fails, apply stops: the report lists what was done, what failed and what was not
attempted, per object old / new / unknown; a new plan then shows exactly what remains.

The ``regplan apply`` action around it (a saved plan's identity and re-derivation, the target check,
planning for ``-p``, the options and their defaults) is ``regplan.engine.actions.apply``: the single-cluster
command and each cluster of a workspace call it. Nothing here prints: progress goes to a callback.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from regplan.base.errors import (
    ClusterError,
    DestructiveRefused,
    ExitCode,
    InvalidInput,
    RegplanError,
    StaleError,
)
from regplan.base.model import DEPLOYMENT_REF, REGISTRY_NAMESPACE, Obj, PatchType, Ref, Target, Verb, Write
from regplan.cluster.apierrors import ConflictError
from regplan.cluster.protocol import ClusterAPI
from regplan.cluster.protocol import ClusterAPI as Cluster  # the name the wait functions use
from regplan.engine.plan import Action, ObjectChange, Plan

Progress = Callable[[str], None]

REPORT_VERSION = 1
# The Deployment the 4.x operator rolls out for Config/cluster (followed by the wait, never written).


class StepResult(StrEnum):
    DONE = "done"
    FAILED = "failed"  # sent, refused or outcome unknown after retries
    NOT_DONE = "not-done"  # never sent because an earlier write failed


class ObjectState(StrEnum):
    """Where an object stands after apply, for the report (issue 5: "old or new state for each object")."""

    NEW = "new"  # every write for it was made
    OLD = "old"  # none of its writes was made
    PARTIAL = "partial"  # a replace whose delete was made but not the create: the object is absent
    UNCHANGED = "unchanged"  # the plan had nothing to do for it


@dataclass
class Step:
    write: Write
    result: StepResult
    detail: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        w = self.write
        return {
            "object": str(w.ref),
            "verb": str(w.verb),
            "patchType": str(w.patch_type) if w.patch_type else None,
            "result": str(self.result),
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Check:
    """One post-write wait (claim bound, operator available, rollout)."""

    ref: Ref
    ok: bool | None  # None: not waited for (an earlier check failed)
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"object": str(self.ref), "ok": self.ok, "detail": self.detail}


@dataclass
class ApplyReport:
    profile: str
    target: Target
    steps: list[Step] = field(default_factory=list)
    objects: dict[Ref, ObjectState] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    error: str = ""
    exit_code: ExitCode = ExitCode.OK
    requests: int = 0
    write_requests: int = 0
    seconds: float = 0.0

    @property
    def writes_done(self) -> int:
        return sum(1 for s in self.steps if s.result is StepResult.DONE)

    def to_json(self) -> dict[str, Any]:
        return {
            "reportVersion": REPORT_VERSION,
            "profile": self.profile,
            "target": str(self.target),
            "exitCode": int(self.exit_code),
            "error": self.error,
            "steps": [s.to_json() for s in self.steps],
            "objects": {str(ref): str(state) for ref, state in sorted(self.objects.items())},
            "checks": [c.to_json() for c in self.checks],
            "writesDone": self.writes_done,
            "requests": {"total": self.requests, "writes": self.write_requests},
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------------------------------
# Pure parts


def refusals(plan: Plan, *, allow_replace: bool) -> RegplanError | None:
    """Why this plan must not start, checked before the lock and before any write."""
    if plan.errors:
        lines = "; ".join(str(d) for d in plan.errors)
        return InvalidInput(f"the plan has errors, nothing was applied: {lines}")
    blocked = [c for c in plan.changes if c.action is Action.BLOCKED]
    if blocked:
        return InvalidInput(
            "the plan has blocked changes, nothing was applied: "
            + "; ".join(f"{c.ref}: {c.reason}" for c in blocked)
        )
    replaced = [c for c in plan.changes if c.action is Action.REPLACE]
    if replaced and not allow_replace:
        what = "; ".join(f"{c.ref} ({c.reason}{', DESTRUCTIVE' if c.destructive else ''})" for c in replaced)
        then = (
            "Copy the data first if you need it, then re-run with --allow-replace"
            if any(c.destructive for c in replaced)
            else "No data is lost (nothing was stored on it): re-run with --allow-replace"
        )
        return DestructiveRefused(f"the plan replaces (delete + create) {what}; nothing was written. {then}")
    return None


def stale_reason(expected_uid: str | None, expected_rv: str | None, creating: bool, live: Obj | None) -> str:
    """ "" when the live object is as the plan saw it, else what changed."""
    if creating:
        return "" if live is None else "it exists now; the plan expected to create it"
    if live is None:
        return "it no longer exists"
    meta = live.get("metadata") or {}
    if expected_uid and meta.get("uid") != expected_uid:
        return f"it was deleted and recreated (uid {expected_uid} -> {meta.get('uid')})"
    if expected_rv and meta.get("resourceVersion") != expected_rv:
        return f"it changed since the plan (resourceVersion {expected_rv} -> {meta.get('resourceVersion')})"
    return ""


def object_states(plan: Plan, steps: Sequence[Step]) -> dict[Ref, ObjectState]:
    done = [s for s in steps if s.result is StepResult.DONE]
    out: dict[Ref, ObjectState] = {}
    for change in plan.changes:
        if not change.writes:
            out[change.ref] = ObjectState.UNCHANGED
            continue
        made = [s for s in done if s.write.ref == change.ref]
        if len(made) == len(change.writes):
            out[change.ref] = ObjectState.NEW
        elif not made:
            out[change.ref] = ObjectState.OLD
        else:
            out[change.ref] = ObjectState.PARTIAL
    return out


def describe_write(w: Write) -> str:
    how = f" ({w.patch_type} patch)" if w.verb is Verb.PATCH and w.patch_type else ""
    return f"{w.verb} {w.ref}{how}"


def claim_verdict(claim: Obj | None, events: Sequence[Obj]) -> tuple[bool | None, str]:
    """(True: took effect / False: failed now / None: keep waiting, detail) for a written claim.

    Events count only when they are about THIS claim (same uid): a replaced claim's predecessor had the
    same name. WaitForFirstConsumer is not success: the provisioner only acts once the registry pod is
    scheduled, and that is when gp2 says ProvisioningFailed (issue 8 item 7), so keep watching.
    """
    if claim is None:
        return None, "not found yet"
    phase = (claim.get("status") or {}).get("phase", "")
    if phase == "Bound":
        return True, "Bound"
    uid = (claim.get("metadata") or {}).get("uid")
    mine = [e for e in events if not uid or (e.get("involvedObject") or {}).get("uid") in (None, uid)]
    failed = [e for e in mine if e.get("reason") == "ProvisioningFailed"]
    if failed:
        return False, f"ProvisioningFailed: {failed[-1].get('message', '')}"
    waiting = [e for e in mine if e.get("reason") in ("ExternalProvisioning", "WaitForFirstConsumer")]
    if waiting:
        last = waiting[-1]
        if last.get("reason") == "WaitForFirstConsumer":
            return None, "Pending: WaitForFirstConsumer (binds once the registry pod is scheduled)"
        return None, f"Pending: ExternalProvisioning: {last.get('message', '')}"
    return None, phase or "Pending"


def _condition(obj: Obj, kind: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


# Operator conditions that mean "this change will not take effect": (type, status, reason or None for
# any reason). Read only once the operator has observed the written generation, so an old sync's
# conditions are never taken for the answer to this change.
CONFIG_FAILURES: tuple[tuple[str, str, str | None], ...] = (
    ("Degraded", "True", None),  # the operator gave up (e.g. Unavailable after 5 min)
    ("Progressing", "True", "Error"),  # its sync failed: two backends, RWO with replicas > 1, S3 errors
    ("StorageExists", "False", None),  # the storage it was told to use is missing or refused
)


def config_verdict(config: Obj | None) -> tuple[bool | None, str]:
    """The operator took the change when it observed the new generation, reports no failure condition
    and Available=True (the Deployment's own rollout is checked separately: ``deployment_verdict``)."""
    if config is None:
        return False, "Config/cluster disappeared"
    meta, status = config.get("metadata") or {}, config.get("status") or {}
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if observed is not None and generation is not None and int(observed) < int(generation):
        return None, f"operator has not observed generation {generation} yet (at {observed})"
    for kind, value, reason in CONFIG_FAILURES:
        cond = _condition(config, kind)
        if cond and cond.get("status") == value and (reason is None or cond.get("reason") == reason):
            return False, f"{kind}: {cond.get('reason', '')}: {cond.get('message', '')}"
    available = _condition(config, "Available")
    if available is None:
        return None, "no Available condition yet"
    progressing = _condition(config, "Progressing")
    if available.get("status") == "True" and not (progressing and progressing.get("status") == "True"):
        return True, f"Available: {available.get('message') or available.get('reason') or 'True'}"
    return None, f"Available={available.get('status')}: {available.get('message', '')}"


def deployment_verdict(deploy: Obj | None) -> tuple[bool | None, str]:
    """deploy/image-registry rolled out its CURRENT template: observedGeneration caught up, every replica
    updated and available, no old one left. Right after a Config change the operator briefly reports
    Available=True from its cached, old Deployment status: this is what is trusted instead.

    A Deployment without any status (no Deployment controller, as in a bare test control plane) is
    reported, not waited on, like ``dc_verdict``."""
    if deploy is None:
        return None, "deploy/image-registry not created yet"
    meta, spec, status = deploy.get("metadata") or {}, deploy.get("spec") or {}, deploy.get("status")
    if not status:
        return True, "no rollout status reported (no Deployment controller); the operator updated it"
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if observed is not None and generation is not None and int(observed) < int(generation):
        return (
            None,
            f"deploy/image-registry rollout not started (observed {observed} < generation {generation})",
        )
    replicas = spec.get("replicas")
    want = 1 if replicas is None else int(replicas)
    updated, available = int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0)
    total = int(status.get("replicas") or 0)
    if updated >= want and available >= want and total <= want:
        return True, f"deploy/image-registry rolled out ({available}/{want} available)"
    return (
        None,
        f"deploy/image-registry rolling out: {updated} updated, {available}/{want} available, {total} pods",
    )


def lost_fields(patch: Any, live: Any, path: str = "") -> list[str]:
    """Leaves of a merge patch (RFC 7386) the live object does not hold: someone wrote over them.
    ``null`` means "absent"; ``metadata`` (the resourceVersion precondition) is not content."""
    if not isinstance(patch, dict):
        return [] if patch == live else [f"{path} (wanted {json.dumps(patch)}, live {json.dumps(live)})"]
    live_map = live if isinstance(live, dict) else {}
    lost: list[str] = []
    for key, value in patch.items():
        where = f"{path}.{key}" if path else str(key)
        if where == "metadata":
            continue
        if value is None:
            if key in live_map:
                lost.append(f"{where} (wanted absent, live {json.dumps(live_map[key])})")
            continue
        lost.extend(lost_fields(value, live_map.get(key), where))
    return lost


def dc_verdict(dc: Obj | None) -> tuple[bool | None, str]:
    """DC rollout done: observedGeneration caught up and updatedReplicas == availableReplicas == replicas.

    A DeploymentConfig stand-in without a controller never gets a status: that is reported, not waited on.
    """
    if dc is None:
        return False, "dc/docker-registry disappeared"
    meta, spec, status = dc.get("metadata") or {}, dc.get("spec") or {}, dc.get("status")
    if not status:
        return True, "no rollout status reported (no controller); the DC spec was updated"
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if observed is not None and generation is not None and int(observed) < int(generation):
        return None, f"rollout not started (observedGeneration {observed} < {generation})"
    want = int(spec.get("replicas") or 0)
    updated, available = int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0)
    if updated >= want and available >= want:
        return True, f"rolled out (latestVersion {status.get('latestVersion')}, {available}/{want} available)"
    return None, f"rolling out: {updated} updated, {available}/{want} available"


# --------------------------------------------------------------------------------------------------
# Engine


def rederive_saved(plan: Plan, cluster: ClusterAPI) -> Plan:
    """Re-derive every write of a saved plan before trusting one: read what ``plan`` read; the objects
    must be the ones the plan saw (else StaleError, exit 5); plan again from the recorded values and
    require each saved write to equal its re-derived one (else InvalidInput, exit 3). Returns the
    re-derived plan: the same writes, with what the file masks (Secret annotations) taken from live."""
    from regplan.engine import planfile
    from regplan.engine.livechecks import find_live

    state = cluster.read(planfile.live_query(plan))
    plan = refresh(plan, {c.ref: find_live(state, c.ref) for c in plan.changes if c.writes})
    rederived = planfile.rederive(plan, state)
    planfile.verify_writes(plan, rederived)
    return rederived


def check_fresh(plan: Plan, cluster: ClusterAPI) -> Plan:
    """Re-read every object the plan touches: the plan to execute (``refresh``), or StaleError (exit 5)."""
    return refresh(plan, cluster.get_many([c.ref for c in plan.changes if c.writes]))


def refresh(plan: Plan, lives: Mapping[Ref, Obj | None]) -> Plan:
    """The plan checked against fresh reads of what it writes: StaleError (exit 5) naming the first object
    whose uid, existence or resourceVersion is not the one the plan saw, except an object the operator
    writes all the time (``REBASABLE``: it updates the Config's status every few seconds) when planning it
    again against the fresh read gives the same change: its writes then carry the new resourceVersion."""
    changes = []
    for change in plan.changes:
        if change.writes:
            live = lives.get(change.ref)
            why = stale_reason(change.uid, change.resource_version, change.action is Action.CREATE, live)
            if why:
                same = _same_change(plan, change, live)
                if same is None:
                    raise StaleError(
                        f"the plan is stale: {change.ref}: {why}; nothing was written. "
                        "Run `regplan plan` again"
                    )
                change = same
        changes.append(change)
    return dataclasses.replace(plan, changes=changes)


def _same_change(plan: Plan, change: ObjectChange, live: Obj | None) -> ObjectChange | None:
    """``change`` planned again against ``live`` (a newer version of the same object), if it is the same
    change (fields with their old values, the same requests and bodies but for the resourceVersion)."""
    from regplan.engine.planfile import replan_one

    uid = ((live or {}).get("metadata") or {}).get("uid")
    if change.ref.kind not in REBASABLE or live is None or uid != change.uid:
        return None
    fresh = replan_one(plan, change.ref, live)
    if fresh is None or fresh.action is not change.action or fresh.fields != change.fields:
        return None  # someone changed a field this plan changes (or its old value): a real conflict
    if len(fresh.writes) != len(change.writes) or any(
        a.verb is not b.verb
        or a.patch_type is not b.patch_type
        or _without_version(a.body) != _without_version(b.body)
        for a, b in zip(fresh.writes, change.writes, strict=True)
    ):
        return None
    return fresh


def apply_plan(
    plan: Plan,
    cluster: ClusterAPI,
    *,
    allow_replace: bool,
    wait: bool,
    timeout: float,
    lock_timeout: float,
    progress: Progress | None = None,
    poll: float = 1.0,
    precheck: bool = True,
) -> ApplyReport:
    """Execute ``plan.writes`` in order. Raises (before any write) on refusals; write failures are in the
    report (``exit_code`` 4 or 5), not raised, so the caller can show what was done. The settings have no
    defaults here: theirs are ``actions.ApplyOptions``' (one home), which every caller passes on."""
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    report = ApplyReport(profile=plan.profile, target=plan.target)
    refused = refusals(plan, allow_replace=allow_replace)
    if refused is not None:
        raise refused
    if not plan.secrets_resolved:
        raise InvalidInput(
            "the plan's Secret data was not re-read from its sources; refusing to write digests"
        )
    base_requests, base_writes = cluster.requests.total, cluster.requests.writes
    if not plan.writes:
        check_fresh(plan, cluster)  # reads only: a no-op takes no lock and makes no write
        report.objects = object_states(plan, [])
        _finish(report, cluster, base_requests, base_writes, started)
        return report

    from regplan.engine import lock as lease

    # A plan is checked before the lock too, so that a stale one is refused without a single write (the
    # Lease is one); every plan is checked again under the lock, where no other apply can change things
    # between the check and the writes. (``precheck=False``: the caller has just compared the plan with a
    # fresh read - a saved plan's re-derivation.)
    if precheck:
        plan = check_fresh(plan, cluster)
    namespace = REGISTRY_NAMESPACE[plan.target]
    held = lease.acquire(cluster, namespace, timeout=lock_timeout, progress=say)
    cluster.on_retry = say
    try:
        plan = check_fresh(plan, cluster)
        remaining = list(plan.writes)
        rebases = 0
        while remaining:
            w = remaining.pop(0)
            t0 = time.monotonic()
            try:
                held.check()
                say(f"{describe_write(w)} ...")
                cluster.write(w)
                detail = "ok"
                if w.verb is Verb.DELETE and w.wait_gone:
                    cluster.wait_gone(w.ref, uid=w.uid, timeout=timeout, interval=poll, progress=say)
                    detail = "deleted and gone"
                report.steps.append(Step(w, StepResult.DONE, detail, time.monotonic() - t0))
                say(f"{describe_write(w)}: {detail} ({time.monotonic() - t0:.1f}s)")
            except ConflictError as err:
                again = _rebased(plan, cluster, w) if rebases < REBASES else None
                if again is None:
                    _failed(report, w, remaining, err, t0, say)
                    break
                rebases += 1
                say(
                    f"{w.ref} changed meanwhile (the operator writes it too), but not in what this change "
                    "sets: sending the same patch again on the new version"
                )
                remaining.insert(0, again)
            except (ClusterError, StaleError) as err:
                _failed(report, w, remaining, err, t0, say)
                break
    finally:
        cluster.on_retry = None
        problem = held.release()
        if problem:
            say(problem)
    report.objects = object_states(plan, report.steps)
    if report.exit_code is ExitCode.OK and wait:
        _wait(plan, cluster, report, timeout=timeout, poll=poll, say=say)
    _finish(report, cluster, base_requests, base_writes, started)
    return report


# How often one apply re-sends a Config patch that met a 409 from the operator's own write (``_rebased``).
REBASES = 3
# Objects someone else writes all the time (the operator updates the Config's status and spec on its own):
# a 409 on them is re-checked instead of ending the apply.
REBASABLE = frozenset({"Config"})


def _rebased(plan: Plan, cluster: ClusterAPI, w: Write) -> Write | None:
    """After a 409 on a patch of an object the operator writes too: the same patch on the new version, if
    planning that object again against a fresh read gives exactly the same change; else None (a real
    conflict: someone changed what this plan changes)."""
    change = next((c for c in plan.changes if c.ref == w.ref), None)
    if w.verb is not Verb.PATCH or change is None or len(change.writes) != 1:
        return None
    same = _same_change(plan, change, cluster.get(w.ref))
    return same.writes[0] if same is not None else None


def _without_version(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k != "resourceVersion"}
    return {**body, "metadata": meta}


def _failed(
    report: ApplyReport, w: Write, remaining: list[Write], err: RegplanError, t0: float, say: Progress
) -> None:
    report.steps.append(Step(w, StepResult.FAILED, str(err), time.monotonic() - t0))
    report.steps.extend(Step(r, StepResult.NOT_DONE) for r in remaining)
    report.error = str(err)
    report.exit_code = err.exit_code
    say(f"{describe_write(w)}: FAILED: {err}")


def _finish(
    report: ApplyReport, cluster: ClusterAPI, base_requests: int, base_writes: int, started: float
) -> None:
    report.requests = cluster.requests.total - base_requests
    report.write_requests = cluster.requests.writes - base_writes
    report.seconds = time.monotonic() - started


def _wait(
    plan: Plan, cluster: Cluster, report: ApplyReport, *, timeout: float, poll: float, say: Progress
) -> None:
    """Wait until each written object took effect. A terminal failure (ProvisioningFailed, an operator
    error condition) fails at once, not at the timeout; a write the operator overwrote is exit 5."""
    written = {s.write.ref for s in report.steps if s.result is StepResult.DONE}
    targets = [c.ref for c in plan.changes if c.ref in written]
    patches = {
        s.write.ref: s.write.body
        for s in report.steps
        if s.result is StepResult.DONE
        and s.write.verb is Verb.PATCH
        and s.write.patch_type is PatchType.MERGE
    }
    deadline = time.monotonic() + timeout
    pending: dict[Ref, str] = {}
    for ref in targets:
        if ref.kind in ("PersistentVolumeClaim", "Config", "DeploymentConfig"):
            pending[ref] = "waiting"
    last: dict[Ref, str] = {}
    while pending:
        for ref in list(pending):
            try:
                verdict, detail = _verdict(cluster, ref, patches.get(ref))
            except StaleError as err:
                verdict, detail = False, str(err)
                code = ExitCode.STALE
            else:
                code = ExitCode.CLUSTER
            if detail != last.get(ref):
                say(f"waiting for {ref}: {detail}")
                last[ref] = detail
            if verdict is None:
                pending[ref] = detail
                continue
            del pending[ref]
            report.checks.append(Check(ref, verdict, detail))
            if not verdict:
                report.error = f"{ref}: {detail}"
                report.exit_code = code
                for other, last_seen in pending.items():
                    report.checks.append(
                        Check(other, None, f"not waited for after the failure above: {last_seen}")
                    )
                return
        if not pending:
            break
        if time.monotonic() >= deadline:
            for ref, detail in pending.items():
                report.checks.append(Check(ref, False, f"timed out after {timeout:.0f}s: {detail}"))
            report.error = report.error or f"the change did not take effect within {timeout:.0f}s (--timeout)"
            report.exit_code = ExitCode.CLUSTER
            return
        time.sleep(poll)


def _verdict(cluster: Cluster, ref: Ref, patch: Any = None) -> tuple[bool | None, str]:
    obj = cluster.get(ref)
    match ref.kind:
        case "PersistentVolumeClaim":
            events = cluster.events_for(ref) if obj is not None else []
            return claim_verdict(obj, events)
        case "Config":
            return _config_took_effect(cluster, obj, patch)
        case "DeploymentConfig":
            return dc_verdict(obj)
    return True, "written"


def _config_took_effect(cluster: Cluster, config: Obj | None, patch: Any) -> tuple[bool | None, str]:
    """Config/cluster: the operator observed our generation and is content (``config_verdict``); our
    fields are still there (the operator writes the spec from the snapshot its sync started with, with
    no precondition: a lost update; StaleError naming the lost fields); and deploy/image-registry rolled
    out the template that sync produced (``deployment_verdict``)."""
    verdict, detail = config_verdict(config)
    if verdict is None and config is not None and "not observed" in detail:
        return verdict, detail
    if patch is not None and config is not None:
        # Observed by now: any sync that read the Config before our write has written (or not) already.
        lost = lost_fields(patch, config)
        if lost:
            raise StaleError(
                "the operator overwrote regplan's change to Config/cluster (a lost update): "
                + "; ".join(lost)
                + ". Run `regplan plan` and apply again"
            )
    if verdict is not True:
        return verdict, detail
    deploy = cluster.get(DEPLOYMENT_REF)
    rolled, rollout = deployment_verdict(deploy)
    if rolled is not True:
        return rolled, f"{detail}; {rollout}"
    return True, f"{detail}; {rollout}"


# --------------------------------------------------------------------------------------------------
# Report views (strings; the caller prints)


def report_text(report: ApplyReport) -> str:
    lines: list[str] = []
    if not report.steps:
        lines.append(f"No changes: {report.profile} ({report.target}) already matches; 0 writes.")
    for s in report.steps:
        mark = {StepResult.DONE: "done", StepResult.FAILED: "FAILED", StepResult.NOT_DONE: "not done"}[
            s.result
        ]
        detail = f": {s.detail}" if s.detail and s.result is not StepResult.DONE else ""
        lines.append(f"  {mark:<8} {describe_write(s.write)}{detail}")
    if report.steps:
        states = ", ".join(
            f"{ref} {state}"
            for ref, state in sorted(report.objects.items())
            if state is not ObjectState.UNCHANGED
        )
        lines.append(f"Objects: {states}")
    for c in report.checks:
        mark = "ok" if c.ok else "skipped" if c.ok is None else "FAILED"
        lines.append(f"  {mark:<8} {c.ref}: {c.detail}")
    done = report.writes_done
    total = len(report.steps)
    if report.exit_code is ExitCode.OK:
        lines.append(
            f"Apply complete: {done} of {total} writes made ({report.write_requests} write requests)."
        )
    else:
        lines.append(f"Apply stopped: {done} of {total} writes made. {report.error}")
        if any(s.result is not StepResult.DONE for s in report.steps):
            lines.append("Run `regplan plan` again to see what remains.")
    return "\n".join(lines) + "\n"


def report_json(report: ApplyReport) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
