"""Did a write land? Judged from the object re-read after a write whose answer was lost.

Pure (no I/O): the transport's retry re-reads the object and asks ``write_landed`` before it sends a write
again, so a write is never blindly resent (every write also carries a precondition, so a resend can never
apply twice).
"""

from __future__ import annotations

from typing import Any

from regplan.base.model import Obj, PatchType, Verb, Write


def _pointer_get(obj: Any, pointer: str) -> tuple[bool, Any]:
    """RFC 6901 lookup: (found, value)."""
    if pointer == "":
        return True, obj
    cur = obj
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and token in cur:
            cur = cur[token]
        elif isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
            cur = cur[int(token)]
        else:
            return False, None
    return True, cur


def _merge_landed(patch: Any, live: Any) -> bool:
    if not isinstance(patch, dict):
        return bool(patch == live)
    if not isinstance(live, dict):
        return False
    for key, value in patch.items():
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "resourceVersion"}
        if value is None:
            if key in live:
                return False
        elif key not in live or not _merge_landed(value, live[key]):
            return False
    return True


def _subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _subset(v, have[k]) for k, v in want.items())
    return bool(want == have)


def write_landed(write: Write, live: Obj | None) -> bool:
    """Did ``write`` take effect, judging by the object re-read after an unknown outcome?

    Used only after a write whose answer was lost (reset, timeout, 5xx): True means "do not repeat".
    """
    match write.verb:
        case Verb.CREATE:
            return live is not None and not (live.get("metadata") or {}).get("deletionTimestamp")
        case Verb.DELETE:
            if live is None:
                return True
            meta = live.get("metadata") or {}
            return bool(meta.get("deletionTimestamp")) or (
                write.uid is not None and meta.get("uid") != write.uid
            )
        case Verb.UPDATE:
            if live is None or not isinstance(write.body, dict):
                return False
            body = {k: v for k, v in write.body.items() if k not in ("metadata", "status")}
            return _subset(body, live)
        case Verb.PATCH:
            if live is None:
                return False
            if write.patch_type is PatchType.MERGE:
                return _merge_landed(write.body, live)
            for op in write.body or []:
                kind, path = op.get("op"), str(op.get("path", ""))
                if kind in ("add", "replace"):
                    found, value = _pointer_get(live, path)
                    if not found or value != op.get("value"):
                        return False
                elif kind == "remove":
                    if path.startswith("/spec/template/spec/") and "/env/" in path:
                        return False  # index-addressed removes cannot be judged afterwards; resend
                    found, _ = _pointer_get(live, path)
                    if found:
                        return False
            return True
    return False  # pragma: no cover - Verb is closed
