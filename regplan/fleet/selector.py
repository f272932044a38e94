"""Label selectors in kubectl's syntax, for choosing clusters of a workspace: ``-l env=prod,region!=eu``.

Pure: parse text into requirements, match them against a cluster's labels. The grammar and meaning are
those of ``kubectl get -l`` (k8s.io/apimachinery labels.Parse):

- ``key=value`` / ``key==value``: the label is present with that value;
- ``key!=value``: the label is absent, or present with another value;
- ``key in (a,b)``: present with one of the values; ``key notin (a,b)``: absent, or none of them;
- ``key``: present (any value); ``!key``: absent.

Requirements are joined by commas and all must hold (AND). An empty selector matches every cluster.
Keys and values follow the label syntax (keys may have a DNS prefix ``example.com/``), so a typo such as
``env=prod eu`` is an error, not a selector that silently matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from regplan.base.errors import InvalidInput
from regplan.base.escape import quoted

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
KEY = re.compile(rf"(?:{_PREFIX}/)?{_NAME}")
VALUE = re.compile(rf"(?:{_NAME})?")  # a label value may be empty
MAX_PREFIX = 253

# One row per form of requirement: (regex over one comma-separated part, operator), each used with
# fullmatch (a trailing line break is not part of a label). First match wins.
FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\s*(?P<key>\S+)"), "!"),
    (re.compile(r"(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)"), "set"),
    (re.compile(r"(?P<key>[^\s=!]+)\s*(?P<op>==|=|!=)\s*(?P<value>\S*)"), "eq"),
    (re.compile(r"(?P<key>[^\s=!(),]+)"), "exists"),
)


class SelectorError(InvalidInput):
    """A selector that does not parse (exit 3)."""


@dataclass(frozen=True)
class Requirement:
    """One condition on one label. ``op`` is one of ``=``, ``!=``, ``in``, ``notin``, ``exists``, ``!``."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        match self.op:
            case "=" | "in":
                return present and value in self.values
            case "!=" | "notin":
                return not present or value not in self.values
            case "exists":
                return present
            case "!":
                return not present
        raise AssertionError(self.op)  # parse() makes no other operator

    def __str__(self) -> str:
        if self.op in ("in", "notin"):
            return f"{self.key} {self.op} ({','.join(self.values)})"
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        return f"{self.key}{self.op}{self.values[0]}"


@dataclass(frozen=True)
class Selector:
    """All requirements must hold. ``text`` is what the user wrote (for messages)."""

    text: str
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def _split(text: str) -> list[str]:
    """Split at commas outside parentheses (``a in (x,y),b`` is two requirements)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"selector {quoted(text)}: unbalanced ')'")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise SelectorError(f"selector {quoted(text)}: unbalanced '('")
    parts.append(text[start:])
    return parts


def _key(key: str, text: str) -> str:
    prefix, _, _ = key.rpartition("/")
    if not KEY.fullmatch(key) or len(prefix) > MAX_PREFIX:
        raise SelectorError(
            f"selector {quoted(text)}: {quoted(key)} is not a label key (letters, digits, '-', '_', '.', at "
            "most 63, "
            "optionally prefixed by a DNS name and '/')"
        )
    return key


def _value(value: str, text: str) -> str:
    if not VALUE.fullmatch(value):
        raise SelectorError(
            f"selector {quoted(text)}: {quoted(value)} is not a label value (letters, digits, '-', '_', '.', "
            "at most 63, starting and ending with a letter or digit)"
        )
    return value


def _requirement(part: str, text: str) -> Requirement:
    for form, kind in FORMS:
        m = form.fullmatch(part)
        if m is None:
            continue
        key = _key(m.group("key"), text)
        if kind == "set":
            values = tuple(v.strip() for v in m.group("values").split(","))
            if values == ("",):
                raise SelectorError(
                    f"selector {quoted(text)}: {quoted(part)}: the set of values must not be empty"
                )
            return Requirement(key, m.group("op"), tuple(_value(v, text) for v in values))
        if kind == "eq":
            op = "=" if m.group("op") in ("=", "==") else "!="
            return Requirement(key, op, (_value(m.group("value"), text),))
        return Requirement(key, kind)
    raise SelectorError(
        f"selector {quoted(text)}: cannot read {quoted(part)} (expected key=value, key!=value, key in (a,b), "
        "key notin (a,b), key or !key)"
    )


def parse(text: str) -> Selector:
    """kubectl label-selector text -> ``Selector``; raises SelectorError (exit 3)."""
    if not text.strip():
        return Selector(text)
    reqs = []
    for part in _split(text):
        part = part.strip()
        if not part:
            raise SelectorError(f"selector {quoted(text)}: empty requirement (two commas, or one at an end)")
        reqs.append(_requirement(part, text))
    return Selector(text, tuple(reqs))
