"""Live state from a file instead of a cluster: ``regplan plan --snapshot FILE`` and ``status --snapshot``.

The file is what ``oc get <kinds> -o yaml`` prints: a ``v1 List`` (any ``*List``) of items, a
multi-document YAML stream, or a single object; these may be mixed. ``load`` answers a
``model.LiveQuery`` exactly as ``cluster.Cluster.read`` does (same keys, same shapes, events oldest
first), and nothing more, so a plan made from a snapshot of a cluster equals the plan made live.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from regplan.base import safeload
from regplan.base.errors import InvalidInput
from regplan.base.model import LiveQuery, LiveState, Obj, Ref, Target, event_time
from regplan.base.normalize import digest_bytes

# On a snapshot's List (regplan.engine.recording): every object regplan asked the cluster for, found or not.
RECORDED_ANNOTATION = "regplan.io/recorded"

TARGET_MARKERS: tuple[tuple[str, str, str, Target], ...] = (
    # (apiVersion group, kind, name) present in the snapshot -> target; first match wins
    ("imageregistry.operator.openshift.io", "Config", "cluster", Target.OCP4),
    ("apps.openshift.io", "DeploymentConfig", "docker-registry", Target.OCP3),
)


# The shape regplan relies on in live objects, one row per field: (kind or "*", dotted path with "*" for
# each item of a list, type). The apiserver guarantees these; a hand-edited snapshot may not, and a wrong
# type must be an input error naming the field, not a crash deep in plan or status.
SHAPES: tuple[tuple[str, str, type], ...] = (
    ("*", "metadata.labels", dict),
    ("*", "metadata.annotations", dict),
    ("*", "spec", dict),
    ("*", "status", dict),
    ("*", "status.conditions", list),
    ("*", "status.conditions.*", dict),
    ("Secret", "data", dict),
    ("Event", "involvedObject", dict),
    ("Event", "reason", str),
    ("Event", "message", str),
    ("Pod", "spec.volumes", list),
    ("Pod", "spec.volumes.*", dict),
    ("Pod", "spec.volumes.*.persistentVolumeClaim", dict),
    ("PersistentVolumeClaim", "spec.accessModes", list),
    ("PersistentVolumeClaim", "spec.accessModes.*", str),
    ("PersistentVolumeClaim", "spec.resources", dict),
    ("PersistentVolumeClaim", "spec.resources.requests", dict),
    ("Config", "spec.storage", dict),
    ("DeploymentConfig", "spec.strategy", dict),
    ("DeploymentConfig", "spec.template", dict),
    ("DeploymentConfig", "spec.template.spec", dict),
    ("DeploymentConfig", "spec.template.spec.volumes", list),
    ("DeploymentConfig", "spec.template.spec.volumes.*", dict),
    ("DeploymentConfig", "spec.template.spec.volumes.*.persistentVolumeClaim", dict),
    ("DeploymentConfig", "spec.template.spec.volumes.*.secret", dict),
    ("DeploymentConfig", "spec.template.spec.containers", list),
    ("DeploymentConfig", "spec.template.spec.containers.*", dict),
    ("DeploymentConfig", "spec.template.spec.containers.*.env", list),
    ("DeploymentConfig", "spec.template.spec.containers.*.env.*", dict),
    ("DeploymentConfig", "spec.template.spec.containers.*.volumeMounts", list),
    ("DeploymentConfig", "spec.template.spec.containers.*.volumeMounts.*", dict),
)


SHAPE_NAMES: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string"}


def _shape_problem(obj: Obj) -> str:
    """The first field of ``obj`` whose type is not the one SHAPES names, as "field: expected ...", or ""."""
    kind = str(obj.get("kind"))
    for rule_kind, dotted, expected in SHAPES:
        if rule_kind not in ("*", kind):
            continue
        nodes: list[tuple[str, Any]] = [("", obj)]
        for part in dotted.split("."):
            nxt: list[tuple[str, Any]] = []
            for where, node in nodes:
                if part == "*":
                    nxt.extend(
                        (f"{where}[{i}]", v) for i, v in enumerate(node if isinstance(node, list) else [])
                    )
                elif isinstance(node, dict) and node.get(part) is not None:
                    nxt.append((f"{where}.{part}" if where else part, node[part]))
            nodes = nxt
        for where, node in nodes:
            if not isinstance(node, expected):
                what = SHAPE_NAMES[expected]
                return f"{where}: expected {what}"
    return ""


def _plain(value: Any) -> Any:
    """YAML timestamps back to the RFC 3339 strings the API serves; everything else plain."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:  # an offset (+02:00) is the same instant in UTC, which the API serves
            value = value.astimezone(datetime.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def read_objects(path: Path) -> list[Obj]:
    """Every object in the file, Lists flattened. Each must carry apiVersion, kind and metadata.name."""
    text = safeload.read_text(path, what="snapshot", limits=safeload.DEFAULT)
    out: list[Obj] = []
    for n, doc in enumerate(safeload.load_yaml_all(text, source=str(path), limits=safeload.DEFAULT), start=1):
        if doc is None:
            continue
        doc = _plain(doc)
        items = (
            doc.get("items") if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") else [doc]
        )
        if items is not None and not isinstance(items, list):
            raise InvalidInput(f"{path}: document {n}: items of a {doc.get('kind')} must be a list")
        for i, item in enumerate(items or []):
            meta = item.get("metadata") if isinstance(item, dict) else None
            if (
                not isinstance(item, dict)
                or not item.get("kind")
                or not item.get("apiVersion")
                or not isinstance(meta, dict)
                or not meta.get("name")
                or not isinstance(meta.get("name"), str)
                or not isinstance(meta.get("namespace", ""), str)
            ):
                raise InvalidInput(
                    f"{path}: document {n}, item {i}: not a Kubernetes object "
                    "(apiVersion, kind and metadata.name are required; use `oc get ... -o yaml`)"
                )
            problem = _shape_problem(item)
            if problem:
                raise InvalidInput(
                    f"{path}: document {n}, item {i} ({item['kind']} {meta['name']}): {problem} "
                    "(not what `oc get ... -o yaml` prints)"
                )
            out.append(item)
    return out


def recorded_refs(path: Path) -> frozenset[str] | None:
    """The objects a regplan snapshot says it asked the cluster for (``str(Ref)``, found or not); None for
    a snapshot that does not say (made with ``oc get``, or recorded by an older regplan): then an object
    missing from it was not recorded, which is not the same as absent on the cluster."""
    text = safeload.read_text(path, what="snapshot", limits=safeload.DEFAULT)
    for doc in safeload.load_yaml_all(text, source=str(path), limits=safeload.DEFAULT):
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        raw = annotations.get(RECORDED_ANNOTATION) if isinstance(annotations, dict) else None
        if isinstance(raw, str):
            try:
                names = json.loads(raw)
            except ValueError:
                return None
            if isinstance(names, list) and all(isinstance(n, str) for n in names):
                return frozenset(names)
    return None


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def detect_target(objects: list[Obj], source: str) -> Target:
    """ocp4 when the snapshot holds Config/cluster, ocp3 when it holds dc/docker-registry."""
    for group, kind, name, target in TARGET_MARKERS:
        for obj in objects:
            if (
                obj.get("kind") == kind
                and _group(str(obj.get("apiVersion"))) == group
                and obj["metadata"]["name"] == name
            ):
                return target
    raise InvalidInput(
        f"{source}: cannot detect the target: the snapshot holds neither "
        "configs.imageregistry.operator.openshift.io/cluster (4.x) nor "
        "deploymentconfig/docker-registry (3.x); pass --target ocp4 or --target ocp3"
    )


def answer(objects: list[Obj], query: LiveQuery, *, source: str) -> LiveState:
    """The LiveState a cluster would return for ``query``, taken from ``objects``."""
    live = LiveState(target=query.target, server_dry_run=False, source=source)
    by_id: dict[tuple[str, str, str, str], Obj] = {}
    for obj in objects:
        meta = obj["metadata"]
        by_id[
            (_group(str(obj["apiVersion"])), str(obj["kind"]), meta.get("namespace") or "", meta["name"])
        ] = obj
    for ref in query.refs:
        found = by_id.get((_group(ref.api_version), ref.kind, ref.namespace, ref.name))
        if found is not None:
            live.objects[ref] = found
    for name in query.storage_classes:
        sc = by_id.get(("storage.k8s.io", "StorageClass", "", name))
        if sc is not None:
            live.storage_classes[name] = sc
    for ns, name in query.claims:
        claim = Ref("v1", "PersistentVolumeClaim", ns, name)
        events = [
            o
            for o in objects
            if o.get("kind") == "Event"
            and (o.get("metadata") or {}).get("namespace", ns) == ns
            and (o.get("involvedObject") or {}).get("kind") == "PersistentVolumeClaim"
            and (o.get("involvedObject") or {}).get("name") == name
        ]
        live.events[claim] = sorted(events, key=event_time)
        users = sorted(
            str(p["metadata"]["name"])
            for p in objects
            if p.get("kind") == "Pod"
            and (p.get("metadata") or {}).get("namespace") == ns
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and any(
                (v.get("persistentVolumeClaim") or {}).get("claimName") == name
                for v in (p.get("spec") or {}).get("volumes") or []
            )
        )
        if users:
            live.pods_using_claim[name] = users
    return live


def load(path: Path, query: LiveQuery) -> LiveState:
    """Read ``path`` and answer ``query`` from it."""
    return answer(read_objects(path), query, source=str(path))


# --- Secret values recorded as digests (regplan snapshot) ------------------------------------------------

DIGESTS_ANNOTATION = "regplan.io/redacted-digests"


def decoded(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return b""


def unredact(objects: Sequence[Obj], desired: Sequence[Obj]) -> list[Obj]:
    """Snapshot objects with each redacted Secret value put back where the desired value has the recorded
    digest (so it compares equal); values whose digest differs stay redacted (a change, shown masked)."""
    wanted = {Ref.of(o): o for o in desired if o.get("kind") == "Secret"}
    out = []
    for obj in objects:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if obj.get("kind") != "Secret" or DIGESTS_ANNOTATION not in annotations:
            out.append(obj)
            continue
        try:
            digests = json.loads(annotations[DIGESTS_ANNOTATION])
        except ValueError:
            digests = {}
        mine = wanted.get(Ref.of(obj))
        copy_ = json.loads(json.dumps(obj))
        data = copy_.get("data") or {}
        for key, value in ((mine or {}).get("data") or {}).items():
            if key in data and isinstance(digests, dict) and digests.get(key) == digest_bytes(decoded(value)):
                data[key] = value
        out.append(copy_)
    return out
