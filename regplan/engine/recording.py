"""Snapshots as regplan records them, in one home: what to read, how it is redacted, the file it writes.

A snapshot (``regplan snapshot``, docs/fleet.md) is what ``plan``, ``status`` and ``verify`` read from a
cluster, as a ``v1 List`` that ``--snapshot``/``--snapshot-dir`` read back (``regplan.engine.snapshot``):

- **What** (``queries``/``record``): the profile's desired objects (plan), the registry's Config or
  DeploymentConfig and the claim it mounts with its events and pods (status), and the workload verify
  checks (4.x ``deploy/image-registry``). Every object asked for is listed in the List's annotation
  ``regplan.io/recorded``, found or not, so a reader can tell "absent on the cluster" from "not recorded"
  (``snapshot.recorded_refs``; verify says the latter instead of a false "not verified").
- **Redaction** (``redact``): Secret data values are replaced by ``(redacted)`` (a registry config.yml
  keeps its structure, its credentials redacted by ``normalize.redact_config``), with the SHA-256 of
  every original value in ``regplan.io/redacted-digests``, so a plan against the snapshot compares Secret
  values by digest (``unredact``). Env values whose names or content look secret (``normalize.redact_env``,
  the one table) are redacted in every pod template; ``Config.spec.httpSecret`` too;
  ``last-applied-configuration`` (a copy of a whole object, Secret data included) and managedFields go;
  key material quoted in an Event's or a condition's message is redacted (``normalize.redact_text``).
- **The file** (``snapshot_text``/``write_snapshot``): a comment header, then the List; written through
  the file layer (``userfiles``: atomic, never through a symlink).

Pure except ``write_snapshot``; reading the cluster is the caller's ``read`` function.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from regplan.base import userfiles, yamlio
from regplan.base.errors import InvalidInput
from regplan.base.model import LiveQuery, LiveState, Obj, Ref, Target, event_time, sort_key
from regplan.base.normalize import REDACTED, digest_bytes, redact_config, redact_env, redact_text
from regplan.engine.snapshot import DIGESTS_ANNOTATION, RECORDED_ANNOTATION
from regplan.engine.snapshot import decoded as _decoded

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CONFIG_SUFFIXES = (".yml", ".yaml")
# Fields outside Secrets that hold a secret, one row per (kind, dotted path) with the reason.
REDACT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("Config", "spec.httpSecret", "the registry's HTTP secret signs upload state; the operator generates it"),
)
# Where pod templates keep their containers (env redacted in each), one row per kind.
POD_TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DeploymentConfig", ("spec", "template", "spec")),
    ("Deployment", ("spec", "template", "spec")),
    ("Pod", ("spec",)),
)
# A list item carries no apiVersion/kind (the API puts them on the list): what each listed kind gets back.
LISTED_KINDS: dict[str, tuple[str, str]] = {"events": ("v1", "Event")}


# --- what a snapshot records ------------------------------------------------------------------------------


def merge_queries(target: Target, *queries: LiveQuery) -> LiveQuery:
    """One query asking for everything ``queries`` ask for (one round trip instead of several)."""
    return LiveQuery(
        target=target,
        refs=tuple(dict.fromkeys(r for q in queries for r in q.refs)),
        storage_classes=tuple(dict.fromkeys(c for q in queries for c in q.storage_classes)),
        claims=tuple(dict.fromkeys(c for q in queries for c in q.claims)),
    )


def record(rendered: Any, read: Callable[[LiveQuery], LiveState]) -> tuple[list[Obj], list[Ref]]:
    """What plan, status and verify read for ``rendered`` (a ``render.Rendered``), read with ``read`` in
    two rounds: (redacted snapshot objects, every ref asked for)."""
    from regplan.engine import plan as planmod
    from regplan.engine import status as statusmod
    from regplan.engine import verify as verifymod

    tgt: Target = rendered.target
    intent = verifymod.intent_of(tgt, rendered.objects, rendered.values.data)
    first_q = merge_queries(
        tgt, planmod.query_for(rendered), statusmod.first_query(tgt), verifymod.query_for(intent)
    )
    first = read(first_q)
    second_q = statusmod.second_query(tgt, first)
    second = read(second_q)
    asked = merge_queries(tgt, first_q, second_q)
    return snapshot_objects([first, second], asked.claims), list(asked.refs)


# --- redaction --------------------------------------------------------------------------------------------


def _redacted_value(key: str, raw: bytes) -> str:
    if key.endswith(CONFIG_SUFFIXES):
        try:
            docs = yamlio.load_all_safe(raw.decode("utf-8"), key)
        except (UnicodeDecodeError, InvalidInput):
            docs = []
        if len(docs) == 1 and isinstance(docs[0], dict):
            text = yamlio.dump(redact_config(docs[0]), reorder=False)
            return base64.b64encode(text.encode()).decode()
    return base64.b64encode(REDACTED.encode()).decode()


def _at(obj: Obj, path: tuple[str, ...]) -> Any:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def redact(obj: Obj) -> Obj:
    """A copy of a live object that is safe to commit (see the module docstring)."""
    out: Obj = json.loads(json.dumps(obj))
    meta = out.setdefault("metadata", {})
    meta.pop("managedFields", None)
    annotations = meta.get("annotations") or {}
    annotations.pop(LAST_APPLIED, None)
    if out.get("kind") == "Secret":
        digests = {}
        data = out.get("data") or {}
        for key in sorted(data):
            raw = _decoded(data[key])
            digests[key] = digest_bytes(raw)
            data[key] = _redacted_value(key, raw)
        out.pop("stringData", None)
        if digests:
            annotations[DIGESTS_ANNOTATION] = json.dumps(digests, sort_keys=True)
    if out.get("kind") == "Event" and isinstance(out.get("message"), str):
        out["message"] = redact_text(out["message"])
    conditions = _at(out, ("status", "conditions"))
    for c in conditions if isinstance(conditions, list) else []:
        if isinstance(c, dict) and isinstance(c.get("message"), str):
            c["message"] = redact_text(c["message"])
    for kind, dotted, _why in REDACT_FIELDS:
        if out.get("kind") != kind:
            continue
        *parents, leaf = dotted.split(".")
        node = _at(out, tuple(parents))
        if isinstance(node, dict) and node.get(leaf) not in (None, ""):
            node[leaf] = REDACTED
    for kind, path in POD_TEMPLATES:
        pod = _at(out, path) if out.get("kind") == kind else None
        if not isinstance(pod, dict):
            continue
        for field in ("containers", "initContainers"):
            for c in pod.get(field) or []:
                if isinstance(c, dict) and "env" in c:
                    c["env"] = redact_env(c["env"])
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return out


# --- the objects and the file -------------------------------------------------------------------------------


def _pod(namespace: str, name: str, claim: str) -> Obj:
    """The part of a Pod that says it mounts ``claim`` (all a plan reads of pods)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"volumes": [{"name": "registry-storage", "persistentVolumeClaim": {"claimName": claim}}]},
        "status": {"phase": "Running"},
    }


def _listed(obj: Obj, api_version: str, kind: str) -> Obj:
    """A list item with the apiVersion and kind the API left on the list (a snapshot item needs both)."""
    return {"apiVersion": obj.get("apiVersion") or api_version, "kind": obj.get("kind") or kind, **obj}


def snapshot_objects(states: Sequence[LiveState], claims: Sequence[tuple[str, str]]) -> list[Obj]:
    """Everything the states hold, as the objects a snapshot file lists (redacted, deterministic order)."""
    objs: dict[tuple[str, str, str, str], Obj] = {}

    def put(o: Obj) -> None:
        meta = o.get("metadata") or {}
        key = (
            str(o.get("apiVersion")),
            str(o.get("kind")),
            meta.get("namespace") or "",
            str(meta.get("name")),
        )
        objs[key] = o

    api_version, kind = LISTED_KINDS["events"]
    for st in states:
        for o in st.objects.values():
            put(o)
        for o in st.storage_classes.values():
            put(o)
        for events in st.events.values():
            for e in events:
                put(_listed(e, api_version, kind))
        for claim, pods in st.pods_using_claim.items():
            ns = next((n for n, c in claims if c == claim), "")
            for pod in pods:
                put(_pod(ns, pod, claim))
    events = sorted((o for o in objs.values() if o.get("kind") == "Event"), key=event_time)
    rest = sorted((o for o in objs.values() if o.get("kind") != "Event"), key=sort_key)
    return [redact(o) for o in rest + events]


def snapshot_text(objects: Sequence[Obj], header: str, recorded: Sequence[Ref] = ()) -> str:
    """A ``v1 List`` document (what ``oc get -o yaml`` prints), with a comment header; ``recorded``: every
    object asked for (the List's ``regplan.io/recorded`` annotation)."""
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    if recorded:
        names = sorted({str(r) for r in recorded})
        doc["metadata"] = {"annotations": {RECORDED_ANNOTATION: json.dumps(names)}}
    body = yamlio.dump(doc)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return lines + body


def write_snapshot(base: Path, path: Path, text: str) -> None:
    """One snapshot file, atomically, no symlink followed under the workspace ``base`` (``userfiles``)."""
    root, rel = userfiles.Root.under(base, path)
    changes = userfiles.Changes(root)
    try:
        changes.write(rel, text)
        changes.commit()
    except InvalidInput as err:
        raise InvalidInput(f"{path}: cannot write the snapshot: {err}") from None
