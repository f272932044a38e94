"""The plan file: save, load, and re-derive a saved plan before apply trusts a single write of it.

A plan file (docs/plan-format.md) is ``Plan.to_json()``: Secret content masked, plus the values record
(what the plan was made from, secrets by source only). Loading (``load_plan``) checks it in three
steps, each before any request:

1. shape (``plan_from_json``): every write is one regplan can make (``planvalue`` write policy: which
   objects, which verbs per action, never a DELETE of the Config or the DC) - else exit 3;
2. inputs (``load_plan``): the recorded values, their secrets read again from their sources, still
   render the recorded desired objects - else exit 5 (stale), and a Secret write's digests are the
   desired object's - else exit 3;
3. writes (``rederive`` + ``verify_writes``, called by apply once it has re-read the live objects, which
   must carry the recorded uid/resourceVersion - else exit 5): regplan plans again from those inputs
   and those live objects, and every saved write must equal the re-derived one byte for byte
   (canonical JSON, Secret content compared by digest) - else exit 3, "the plan file does not match
   what regplan plans for these inputs", naming the first differing write.

So a hand-edited patch body, a dropped precondition, an extra, missing or reordered write, or a Config
turned into delete + create is refused, whatever else the file says.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan.base import safeload
from regplan.base.errors import Diagnostic, InvalidInput, StaleError
from regplan.base.model import LiveQuery, LiveState, Obj, PatchType, Ref, Target, Verb, Write
from regplan.base.normalize import (
    REDACTED,
    Item,
    digest_bytes,
    is_digest,
    is_masked_path,
    mask_secret,
    outside_text,
    secret_config_key,
    secret_digests,
    secret_value,
)
from regplan.engine.diff import ChangeKind, FieldChange
from regplan.engine.plan import make_plan, query_for, strip_none
from regplan.engine.planvalue import (
    ACTION_VERBS,
    FORMAT_VERSION,
    NEVER_DELETED,
    WRITABLE,
    Action,
    ObjectChange,
    Plan,
    canonical,
    write_json,
)

if TYPE_CHECKING:
    from regplan.core.values import Values

MISMATCH = "the plan file does not match what regplan plans for these inputs"


@dataclass
class _Desired:
    """A RenderedLike over a plan's desired objects."""

    objects: list[Obj]
    target: Target
    profile: str


# --- values record: what a plan file keeps so apply can re-render (secrets by source only) -------------


def values_record(vals: Values) -> dict[str, Any]:
    data = copy.deepcopy(vals.data)
    return {
        "profile": vals.profile,
        "targets": list(vals.targets),
        "data": data,
        "secretSources": {k: _absolute_source(s.source) for k, s in sorted(vals.secrets.items())},
        "secretDigests": {k: s.digest for k, s in sorted(vals.secrets.items())},
    }


def _absolute_source(source: str) -> str:
    """``file:`` sources as absolute paths: apply may run from another directory than plan."""
    kind, _, ref = source.partition(":")
    return f"file:{Path(ref).expanduser().resolve()}" if kind == "file" else source


# The values record's own keys that hold sources and digests, never secret values themselves.
RECORD_SAFE_KEYS = frozenset({"secretSources", "secretDigests"})


def _record_shown(record: Mapping[str, Any]) -> dict[str, Any]:
    """A plan file's values record as regplan keeps and shows it: a value under a secret-looking key
    (``normalize.secret_config_key``: ``s3.secretKey``, a ``password``) or one that looks like key material
    is REDACTED. regplan writes no secret literal there (values refuse them; sources are ``*From``), so
    only a hand-edited file changes here, and `show` never prints what such a file smuggled in."""

    def walk(node: Any, safe: bool) -> Any:
        if isinstance(node, Mapping):
            return {
                k: v if safe and k in RECORD_SAFE_KEYS else (REDACTED if _secret_key(k) else walk(v, False))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v, False) for v in node]
        return REDACTED if secret_value(node) else node

    return dict(walk(dict(record), True))


def _secret_key(key: Any) -> bool:
    return secret_config_key(key) and not str(key).endswith("From")


def values_from_record(record: Mapping[str, Any], environ: Mapping[str, str]) -> Values:
    """Rebuild Values from a plan file's record, reading each secret again from its recorded source."""
    from regplan.core import values

    vals = values.from_record(
        profile=str(record.get("profile", "")),
        data=record.get("data") or {},
        secret_sources=record.get("secretSources") or {},
        targets=tuple(record.get("targets") or ("ocp4", "ocp3")),
        environ=environ,
    )
    if vals.problems:
        raise StaleError(
            "the plan's secret sources cannot be read again: " + "; ".join(str(d) for d in vals.problems)
        )
    return vals


# --- JSON -> Plan -----------------------------------------------------------------------------------


def _ref_from(d: dict[str, Any]) -> Ref:
    return Ref(d["apiVersion"], d["kind"], d.get("namespace", ""), d["name"])


def _digests_only(obj: Any) -> Any:
    """A Secret as a plan file may hold it: every ``data``/``stringData`` value a digest. A value that is not
    one (a hand-edited file with base64 content) becomes the digest of its text, so no view and no error
    ever shows it; the plan then no longer matches what regplan plans and is refused when applied."""
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = {
                k: v if is_digest(v) else digest_bytes(str(v).encode()) for k, v in out[field].items()
            }
    return out


def _safe_error(err: Exception) -> str:
    """What went wrong reading a plan document, without any value of the file (it may be a secret): a
    missing key is named (regplan's own schema), a wrong value only by its kind of error."""
    if isinstance(err, KeyError) and err.args and isinstance(err.args[0], str) and err.args[0].isidentifier():
        return f"missing field {err.args[0]!r}"
    return f"{type(err).__name__}: a field has a value of the wrong type or an unknown value"


def plan_from_json(doc: dict[str, Any], *, origin: str = "plan file") -> Plan:
    """Rebuild a Plan from its JSON document. Secret write bodies hold digests until ``resolve_secrets``;
    Secret content that is not a digest is turned into one on load (``_digests_only``), and a field at a
    masked path is sensitive whatever the file says, so nothing shown from a plan file is a secret."""
    version = doc.get("formatVersion")
    if version != FORMAT_VERSION:
        raise InvalidInput(
            f"{origin}: formatVersion {version if isinstance(version, int) else '(not a number)'} is not "
            f"supported (expected {FORMAT_VERSION})"
        )
    try:
        writes_by_ref: dict[Ref, list[Write]] = {}
        for w in doc["writes"]:
            ref = _ref_from(w["object"])
            writes_by_ref.setdefault(ref, []).append(
                Write(
                    ref,
                    Verb(w["verb"]),
                    body=_digests_only(w.get("body")) if ref.kind == "Secret" else w.get("body"),
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
                    path,
                    ChangeKind(f["change"]),
                    f.get("old"),
                    f.get("new"),
                    bool(f.get("sensitive")) or is_masked_path(ref.kind, path, f.get("old"), f.get("new")),
                )
                for f in c.get("fields", [])
                for path in [
                    tuple(Item(s["item"]) if isinstance(s, dict) else str(s) for s in f.get("segments", []))
                ]
            )
            changes.append(
                ObjectChange(
                    ref,
                    Action(c["action"]),
                    outside_text(c.get("reason")),
                    bool(c.get("destructive")),
                    fields,
                    tuple(writes_by_ref.get(ref, [])),
                    c.get("uid"),
                    c.get("resourceVersion"),
                )
            )
        diags = [
            Diagnostic(
                outside_text(d["key"]),
                outside_text(d["message"]),
                outside_text(d.get("origin")),
                outside_text(d.get("hint")),
                d["severity"],
            )
            for d in doc.get("diagnostics", [])
        ]
        target = Target(doc["target"])
        desired = [_digests_only(o) for o in doc.get("desired", [])]
        stray = sorted(set(writes_by_ref) - {c.ref for c in changes})
        if stray:
            raise InvalidInput(
                f"{origin}: writes for objects the plan does not change: {', '.join(map(str, stray))}"
            )
        # apply sends the writes in the order of the changes; a file whose writes[] says another order
        # was edited, and no order but the planned one is safe (the operator race: plan._operator_safe_order)
        listed = [(_ref_from(w["object"]), str(w["verb"])) for w in doc["writes"]]
        ordered = [(w.ref, str(w.verb)) for c in changes for w in writes_by_ref.get(c.ref, [])]
        if listed != ordered:
            raise InvalidInput(
                f"{origin}: writes[] is not in the order of changes[]: {MISMATCH} (edited?), nothing applied"
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
            source=outside_text(doc.get("source")),
            changes=changes,
            diagnostics=diags,
            desired=desired,
            values_record=_record_shown(doc.get("values") or {}),
            regplan_version=doc.get("regplanVersion", ""),
            secrets_resolved=not any(w.secret for ws in writes_by_ref.values() for w in ws),
            server_dry_run=str(doc.get("serverDryRun") or "not-run"),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise InvalidInput(f"{origin}: not a regplan plan ({_safe_error(err)})") from None


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
        never = next((why for kind, why in NEVER_DELETED if kind == ref.kind), "")
        if w.verb is Verb.DELETE and never:
            return f"regplan never deletes {ref}: {never}"
        if ref.kind == "Secret" and w.verb is not Verb.DELETE and not w.secret:
            return "a Secret write not marked secret (its data would be written as digests)"
        if w.verb is not Verb.CREATE:
            continue
        # A create sends the desired object as the plan shows it (on disk both hold Secret data as digests).
        want = next((o for o in desired if Ref.of(o) == ref), None)
        if want is None or strip_none(want) != w.body:
            return "the create body is not the desired object of the plan"
    return ""


def _digest_prefix(value: Any) -> str:
    """The start of a digest, to tell two apart; anything else is not shown (it may be a secret)."""
    return f"{value[:19]}..." if is_digest(value) else "(absent)" if value is None else "(not a digest)"


def resolve_secrets(plan: Plan, fresh_objects: list[Obj]) -> Plan:
    """Put real Secret data back into a loaded plan's writes, from objects re-rendered from the sources.

    Refuses (StaleError, exit 5) when a key's digest differs from the one recorded: the secret source
    changed since the plan was made, so the plan no longer says what apply would write. A write whose
    digests are not those of the plan's own desired Secret was edited: InvalidInput (exit 3).
    """
    fresh = {Ref.of(o): o for o in fresh_objects if o.get("kind") == "Secret"}
    shown = {Ref.of(o): o for o in plan.desired if o.get("kind") == "Secret"}
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
            if w.ref in shown and recorded != dict(shown[w.ref].get("data") or {}):
                raise InvalidInput(
                    f"{w.ref}: the {w.verb} write's data digests are not those of the plan's desired "
                    f"Secret: {MISMATCH} (edited?), nothing applied"
                )
            for key in sorted(set(recorded) | set(now)):
                if recorded.get(key) != now.get(key):
                    raise StaleError(
                        f"{w.ref}: the source of data key {key} changed since the plan was made "
                        f"(digest {_digest_prefix(recorded.get(key))} now {_digest_prefix(now.get(key))})"
                    )
            body = copy.deepcopy(w.body)
            body.pop("stringData", None)
            body["data"] = copy.deepcopy(src.get("data") or {})
            if src.get("stringData"):
                body["stringData"] = copy.deepcopy(src["stringData"])
            writes.append(replace(w, body=body))
        changes.append(replace(c, writes=tuple(writes)))
    return replace(plan, changes=changes, secrets_resolved=True)


# --- files --------------------------------------------------------------------------------------------


def save_plan(result: Plan, path: Path) -> None:
    """``plan --out FILE``: written atomically through the file layer, never through a symlink."""
    from regplan.base import userfiles

    try:
        userfiles.write_file(path, result.dumps())
    except InvalidInput as err:
        raise InvalidInput(f"--out {path}: cannot write the plan: {err}") from None


def read_plan(path: Path) -> Plan:
    """A saved plan as written, its writes checked (step 1 above); Secret bodies stay digests. What
    ``regplan show`` displays; ``load_plan`` goes on to re-render it."""
    doc = safeload.read_json(path, what="plan file")  # bounded: size, depth, nodes (exit 3 naming it)
    if not isinstance(doc, dict):
        raise InvalidInput(f"{path}: not a plan file")
    return plan_from_json(doc, origin=str(path))


def load_plan(path: Path, *, environ: Mapping[str, str]) -> Plan:
    """A saved plan, checked (steps 1 and 2 above), its desired objects and Secret bodies re-rendered
    from the recorded sources (StaleError if they changed). Step 3 needs the live objects: ``rederive``."""
    from regplan.core import render

    loaded = read_plan(path)
    if not loaded.values_record or not loaded.desired:
        # Without them nothing ties the writes to what the profile renders: refuse, do not trust the file.
        raise InvalidInput(
            f"{path}: the plan has no values record or desired objects to check it against; "
            "save plans with `regplan plan --out`"
        )
    vals = values_from_record(loaded.values_record, environ)
    rendered = render.render(vals, loaded.target)
    resolved = resolve_secrets(loaded, rendered.objects)
    # The recorded values must still render the recorded objects (templates or profiles may have changed
    # since: then the plan no longer says what apply would write).
    fresh = [mask_secret(o) if o.get("kind") == "Secret" else o for o in rendered.objects]
    if fresh != loaded.desired:
        changed = sorted({str(Ref.of(o)) for o in fresh if o not in loaded.desired}) or ["(objects removed)"]
        raise StaleError(
            f"{path}: the profile no longer renders what the plan was made from: {', '.join(changed)}"
        )
    # From here on the plan holds the real desired objects (masked again whenever it is shown or saved):
    # ``rederive`` plans from them.
    return replace(resolved, desired=list(rendered.objects))


# --- step 3: re-derive every write ----------------------------------------------------------------------


def live_query(saved: Plan) -> LiveQuery:
    """What apply re-reads to re-derive a saved plan: exactly what ``regplan plan`` read."""
    return query_for(_Desired(saved.desired, saved.target, saved.profile))


def replan_one(plan: Plan, ref: Ref, live_obj: Obj | None) -> ObjectChange | None:
    """The change regplan plans now for one of ``plan``'s objects against ``live_obj`` (its fresh read)."""
    desired = [o for o in plan.desired if Ref.of(o) == ref]
    state = LiveState(target=plan.target, objects={ref: live_obj} if live_obj is not None else {})
    again = make_plan(
        _Desired(desired, plan.target, plan.profile),
        state,
        values_digest=plan.values_digest,
        values_record=plan.values_record,
    )
    return next((c for c in again.changes if c.ref == ref), None)


def rederive(saved: Plan, state: LiveState) -> Plan:
    """The plan regplan makes now from the saved plan's inputs (values, re-rendered) and ``state``."""
    if not saved.secrets_resolved:
        raise InvalidInput("the plan's Secret data was not re-read from its sources; cannot re-derive it")
    rederived = make_plan(
        _Desired(saved.desired, saved.target, saved.profile),
        state,
        values_digest=saved.values_digest,
        values_record=saved.values_record,
    )
    rederived.server_dry_run = saved.server_dry_run
    return rederived


def _describe(w: dict[str, Any]) -> str:
    o = w["object"]
    ns = f"{o['namespace']}/" if o.get("namespace") else ""
    how = f" ({w['patchType']} patch)" if w.get("patchType") else ""
    return f"{w['verb']} {o['kind']}/{ns}{o['name']}{how}"


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two JSON values first differ, as a path (keys and indices only: never a value)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b or canonical(a[key]) != canonical(b[key]):
                if key not in a or key not in b:
                    return f"{path}.{key}".lstrip(".")
                return _first_difference(a[key], b[key], f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if canonical(x) != canonical(y):
                return _first_difference(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path}[{min(len(a), len(b))}]".lstrip(".")
    return path.lstrip(".") or "(the whole write)"


def verify_writes(saved: Plan, rederived: Plan) -> None:
    """Every saved write must equal the re-derived one, in order, byte for byte (canonical JSON; Secret
    content as digests): else InvalidInput (exit 3) naming the first write that differs. Then the
    re-derived plan must itself be appliable (no errors: a class deleted since the plan, say)."""
    mine = [write_json(w) for w in saved.writes]
    theirs = [write_json(w) for w in rederived.writes]
    for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if canonical(a) != canonical(b):
            where = _first_difference(a, b)
            planned = "" if _describe(a) == _describe(b) else f"; regplan plans {_describe(b)} there"
            raise InvalidInput(
                f"{MISMATCH}: write {i + 1} ({_describe(a)}) differs at {where}{planned}; nothing applied"
            )
    if len(mine) != len(theirs):
        i = min(len(mine), len(theirs))
        what = (
            f"the file has an extra write {i + 1} ({_describe(mine[i])})"
            if len(mine) > len(theirs)
            else f"the file lacks write {i + 1} ({_describe(theirs[i])})"
        )
        raise InvalidInput(f"{MISMATCH}: {what}; nothing applied")
    if rederived.errors:
        lines = "; ".join(str(d) for d in rederived.errors)
        raise InvalidInput(f"the plan has errors now, nothing was applied: {lines}")
