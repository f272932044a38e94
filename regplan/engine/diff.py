"""Left-scoped field diff of one desired object against its live counterpart.

Input is a ``normalize.Normalized`` pair; output is a list of ``FieldChange`` in a stable order. Only
what desired holds is compared (fields set), plus the keys desired marks ``None`` (fields to remove);
whatever else live carries belongs to someone else and is never a change. Secret values arrive as
digests (normalize.MASK) and leave as ``sensitive`` changes whose values nobody prints.

A small hand-written recursion rather than deepdiff: the left-scoped rule, named lists and
canonical quantities are simpler to state here than to filter out of a symmetric diff afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from regplan.base.normalize import (
    FieldPath,
    Item,
    NamedList,
    Normalized,
    denormalize,
    equal,
    format_path,
    is_masked_path,
)

_MISSING: Any = object()


class ChangeKind(StrEnum):
    ADDED = "added"  # live lacks the field; desired sets it
    CHANGED = "changed"  # both hold it, with different values
    REMOVED = "removed"  # live holds it; desired marks it for removal (None)


@dataclass(frozen=True)
class FieldChange:
    """One field of one object that apply would change. ``old``/``new`` are in API form (lists, not maps).

    When ``sensitive`` is true, ``old``/``new`` hold digests at most and views print "(value changed)".
    """

    path: FieldPath
    kind: ChangeKind
    old: Any = None
    new: Any = None
    sensitive: bool = False

    @property
    def dotted(self) -> str:
        return format_path(self.path)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.dotted, "change": str(self.kind)}
        if self.sensitive:
            out["sensitive"] = True
            return out
        if self.kind is not ChangeKind.ADDED:
            out["old"] = self.old
        if self.kind is not ChangeKind.REMOVED:
            out["new"] = self.new
        return out


def diff_objects(pair: Normalized) -> list[FieldChange]:
    """Field changes that turn live into desired (left-scoped).

    An absent object lists every desired leaf as added (what a create sends); in an existing object a
    field live lacks is one added change holding the whole subtree (what a patch adds in one step).
    """
    changes: list[FieldChange] = []
    live: Any = pair.live if pair.live is not None else _MISSING
    _walk(pair.kind, (), pair.desired, live, changes, creating=pair.live is None)
    return changes


def _walk(
    kind: str, path: FieldPath, desired: Any, live: Any, out: list[FieldChange], *, creating: bool
) -> None:
    sensitive = is_masked_path(
        kind, path, *(v for v in (desired, live) if v is not _MISSING and v is not None)
    )
    if desired is None:
        if live is not _MISSING and live is not None:
            out.append(FieldChange(path, ChangeKind.REMOVED, denormalize(live), None, sensitive))
        return
    # Left-scoped: a map desired holds is compared key by key, so an empty map ({} for "s3 with the
    # operator's defaults") asks for nothing beyond its existence.
    descend = isinstance(live, dict) or (live is _MISSING and creating and bool(desired))
    if isinstance(desired, dict) and descend:
        named = isinstance(desired, NamedList)
        for key, value in desired.items():
            seg = Item(key) if named else key
            sub = live.get(key, _MISSING) if isinstance(live, dict) else _MISSING
            _walk(kind, (*path, seg), value, sub, out, creating=creating)
        return
    if live is _MISSING:
        if not (isinstance(desired, dict) and desired and all(v is None for v in desired.values())):
            out.append(FieldChange(path, ChangeKind.ADDED, None, denormalize(desired), sensitive))
        return
    if not equal(kind, path, denormalize(desired), denormalize(live)):
        out.append(FieldChange(path, ChangeKind.CHANGED, denormalize(live), denormalize(desired), sensitive))
