"""Patch documents: the bodies of the PATCH writes a plan makes. Pure functions, no I/O.

- Config/cluster, PVC: an RFC 7386 merge patch of the changed fields carrying metadata.resourceVersion.
  Nulls delete keys, which is how another backend leaves ``spec.storage``; CRDs do not take strategic
  merge; and unlike a JSON patch ``remove``, a merge null does not fail when the key is already gone.
  The resourceVersion in the body makes the server refuse (409) an object that changed since the plan.
- dc/docker-registry (3.x): an RFC 6902 JSON patch starting with a ``test`` of resourceVersion, then
  replace / add / remove ops addressed by list index taken from the live object (the ``test``
  guarantees those indices still hold). 3.11 has neither server-side apply nor dry-run, and a merge
  patch would replace whole lists (volumes, env) and drop what regplan does not own.
"""

from __future__ import annotations

import copy
from typing import Any, assert_never

from regplan.base.model import Obj
from regplan.base.normalize import FieldPath, Item
from regplan.engine.diff import ChangeKind, FieldChange


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
