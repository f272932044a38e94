"""Bounded loading of every file a user hands regplan: values, profiles, snapshots, plan files, kubeconfigs.

A hostile or broken file must get an answer fast, never a hang or a crash: a 600-byte YAML file of nested
aliases ("billion laughs") expands to billions of nodes in whatever walks the loaded data, and deep nesting
ends in ``RecursionError``. So every reader goes through this module, which enforces ``Limits``:

- ``max_bytes``: the file size (a file is read up to ``max_bytes + 1`` bytes, never more);
- ``max_depth``: nesting of mappings and sequences, counting what an alias expands to;
- ``max_nodes``: scalars, mappings and sequences once every alias is expanded.

The bounds are checked on the parser's event stream, as the events come, before anything is constructed:
an alias counts the size its anchor recorded, so the expansion is never performed. YAML is read with the
C-accelerated PyYAML parser for data files (snapshots, kubeconfigs: the same YAML 1.1 that oc and kubectl
read) and with ruamel.yaml's round-trip loader for hand-written files that need line numbers (values
files, profiles). JSON (plan files) is parsed by the standard library, then measured without recursion.

Errors are ``UnreadableInput`` (exit 3), ``BoundExceeded`` for a bound, each naming the file, the line and
column when known and the bound, and never quoting a scalar of the file (it may be a key or password).
A kubeconfig reader catches ``UnreadableInput`` and raises it as a cluster error (exit 4).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from regplan.base.errors import BoundExceeded, UnreadableInput


class Limits:
    """The bounds of one kind of input file (a plain class: a NamedTuple costs ~0.3 ms of start-up)."""

    __slots__ = ("max_bytes", "max_depth", "max_nodes")

    def __init__(
        self, max_bytes: int = 10 * 1024 * 1024, max_depth: int = 100, max_nodes: int = 200_000
    ) -> None:
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.max_nodes = max_nodes

    def __repr__(self) -> str:
        return f"Limits(max_bytes={self.max_bytes}, max_depth={self.max_depth}, max_nodes={self.max_nodes})"


# Machine-written data (snapshots, plan files, kubeconfigs): 10 MiB, the largest input that must get an
# answer within 2 s (bench/parse_bench.py). 200,000 nodes (~2.8 MB of `oc get -o yaml`, ~400 pods with
# their managedFields) is read and planned in ~1 s on this 2-core machine, 2 s when it is loaded.
# Kubernetes objects nest ~20 levels deep (managedFields): 100 leaves room.
DEFAULT = Limits()
# Hand-written values files and profiles: ~20 keys, 3 levels deep; 100 times that is allowed. Their loader
# (ruamel.yaml round trip, for line numbers) is pure Python (~0.3 s per MiB of comments, ~0.3 ms a key on
# this machine), so they get smaller bounds.
VALUES = Limits(max_bytes=256 * 1024, max_depth=32, max_nodes=2_000)


# --- reading files ----------------------------------------------------------------------------------------


def read_bytes(path: Path, *, what: str, limits: Limits = DEFAULT, source: str | None = None) -> bytes:
    """At most ``limits.max_bytes`` of ``path``; a larger file is refused without reading it all.

    ``what`` names the kind of file in messages ("values file", "snapshot", "plan file", "kubeconfig");
    ``source`` is the name messages give the file (default: the path). Only a regular file is read: a
    FIFO, device or directory is refused at once (``userfiles.read_regular``).
    """
    from regplan.base import userfiles  # regular files only, never blocking on a FIFO (the one file layer)

    shown = str(path) if source is None else source
    data = userfiles.read_regular(path, what=what, max_bytes=limits.max_bytes, source=shown)
    if len(data) > limits.max_bytes:
        raise BoundExceeded(shown, "size", limits.max_bytes, f"{what} larger than {limits.max_bytes} bytes")
    return data


def decode(data: str | bytes, *, source: str, limits: Limits = DEFAULT) -> str:
    """UTF-8 text of ``data`` (a leading byte-order mark dropped), within ``limits.max_bytes``."""
    if isinstance(data, str):
        size = len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
        if size > limits.max_bytes:
            raise BoundExceeded(source, "size", limits.max_bytes, f"larger than {limits.max_bytes} bytes")
        return data
    if len(data) > limits.max_bytes:
        raise BoundExceeded(source, "size", limits.max_bytes, f"larger than {limits.max_bytes} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # never the decoder's own text: it quotes the bytes
        raise UnreadableInput(source, f"not UTF-8 text (byte {err.start})") from None


def read_text(path: Path, *, what: str, limits: Limits = DEFAULT, source: str | None = None) -> str:
    """``read_bytes`` then ``decode``: the text of a user file, bounded."""
    shown = str(path) if source is None else source
    return decode(read_bytes(path, what=what, limits=limits, source=shown), source=shown, limits=limits)


def read_yaml(path: Path, *, what: str, limits: Limits = DEFAULT) -> Any:
    """One YAML document of a data file (a kubeconfig: ``what="kubeconfig"``), bounded, as plain data."""
    return load_yaml(read_bytes(path, what=what, limits=limits), source=str(path), limits=limits)


def read_json(path: Path, *, what: str, limits: Limits = DEFAULT) -> Any:
    """A JSON file (a plan file: ``what="plan file"``), bounded."""
    return load_json(read_bytes(path, what=what, limits=limits), source=str(path), limits=limits)


# --- the bounds, on an event stream ------------------------------------------------------------------------


# Explicit tags a user file may carry: the YAML core types. Anything else (`!!python/object`, `!Ref`) is
# refused while parsing, by every reader: a round-trip load would keep it as an opaque tagged value.
CORE_TAGS: frozenset[str] = frozenset(
    ["!"]
    + [
        f"tag:yaml.org,2002:{t}"
        for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")
    ]
)


class _Frame:
    """An open mapping or sequence while its events stream by."""

    __slots__ = ("anchor", "deepest", "depth", "is_map", "keys", "start_total", "want_key")

    def __init__(self, anchor: str | None, depth: int, start_total: int, is_map: bool) -> None:
        self.anchor = anchor
        self.depth = depth
        self.deepest = depth
        self.start_total = start_total
        self.is_map = is_map
        self.want_key = is_map  # the next child of a mapping is a key, then a value, alternately
        self.keys: set[str] = set()


class Accountant:
    """Checks ``Limits`` on YAML events (PyYAML's or ruamel.yaml's: same names and fields), one at a time.

    Sizes are counted when a node starts, so a huge flat file is refused as soon as it crosses the bound;
    an anchored node records its expanded size and height when it ends, and an alias adds them without
    expanding anything. Also refused: an alias to a node that is still open (a recursive structure, which
    every walker of the data would follow forever), a duplicate key in a mapping (readers disagree on
    which value wins; kubectl refuses it too) and a tag outside ``CORE_TAGS``. ``tag_attr`` is where the
    events keep their tag (PyYAML: ``tag``, ruamel.yaml: ``ctag``). This runs once per event of every
    file: the scalar path is kept short (bench/parse_bench.py).
    """

    def __init__(self, source: str, limits: Limits, *, tag_attr: str = "tag") -> None:
        self.source = source
        self.max_depth = limits.max_depth
        self.max_nodes = limits.max_nodes
        self.tag_attr = tag_attr
        self.total = 0
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, height)
        self.open_anchors: set[str] = set()
        self._by_name: dict[str, Callable[[Any], None]] = {
            "ScalarEvent": self._scalar,
            "AliasEvent": self._alias,
            "MappingStartEvent": self._start_map,
            "SequenceStartEvent": self._start_seq,
            "MappingEndEvent": self._end,
            "SequenceEndEvent": self._end,
            "DocumentStartEvent": self._document,
        }
        self._by_type: dict[type, Callable[[Any], None]] = {}

    def feed(self, event: Any) -> None:
        cls = type(event)
        handler = self._by_type.get(cls)
        if handler is None:
            handler = self._by_type[cls] = self._by_name.get(cls.__name__, _ignore)
        handler(event)

    def feed_all(self, events: Iterable[Any]) -> None:
        feed = self.feed
        for event in events:
            feed(event)

    # -- handlers

    def _document(self, event: Any) -> None:
        self.anchors = {}  # anchors are per document; the node count is per file
        self.open_anchors = set()

    def _refuse(self, event: Any, bound: str, limit: int, what: str) -> BoundExceeded:
        line, column = _mark(event)
        return BoundExceeded(self.source, bound, limit, what, line=line, column=column)

    def _node(self, event: Any, key: str | None, nodes: int, height: int) -> None:
        """A node (or an alias: ``nodes``/``height`` of its anchor) at the current position."""
        stack = self.stack
        depth = len(stack) + height
        if stack:
            top = stack[-1]
            if top.is_map:  # alternate key / value; a repeated scalar key is refused
                if top.want_key and key is not None:
                    if key in top.keys:
                        line, column = _mark(event)
                        raise UnreadableInput(
                            self.source,
                            f"duplicate key {_key_name(key)} in a mapping",
                            line=line,
                            column=column,
                        )
                    top.keys.add(key)
                top.want_key = not top.want_key
            if depth > top.deepest:
                top.deepest = depth
        if depth > self.max_depth:
            raise self._refuse(event, "depth", self.max_depth, f"nested deeper than {self.max_depth} levels")
        self.total += nodes
        if self.total > self.max_nodes:
            raise self._refuse(
                event, "nodes", self.max_nodes, f"more than {self.max_nodes} nodes once aliases are expanded"
            )

    def _check_tag(self, event: Any) -> None:
        tag = getattr(event, self.tag_attr, None)
        if tag is not None and str(tag) not in CORE_TAGS:
            line, column = _mark(event)
            raise UnreadableInput(
                self.source,
                f"tag {_key_name(str(tag))} is not allowed (plain YAML types only)",
                line=line,
                column=column,
            )

    def _scalar(self, event: Any) -> None:
        if getattr(event, self.tag_attr) is not None:
            self._check_tag(event)
        self._node(event, event.value, 1, 1)
        if event.anchor is not None:
            self.anchors[event.anchor] = (1, 1)

    def _alias(self, event: Any) -> None:
        anchor = event.anchor
        if anchor in self.open_anchors:
            line, column = _mark(event)
            raise UnreadableInput(
                self.source,
                "an alias refers to a node that contains it (recursive)",
                line=line,
                column=column,
            )
        if anchor not in self.anchors:
            line, column = _mark(event)
            raise UnreadableInput(
                self.source, "an alias refers to no anchor before it", line=line, column=column
            )
        nodes, height = self.anchors[anchor]
        self._node(event, None, nodes, height)

    def _start(self, event: Any, is_map: bool) -> None:
        if getattr(event, self.tag_attr) is not None:
            self._check_tag(event)
        start = self.total
        self._node(event, None, 1, 1)
        self.stack.append(_Frame(event.anchor, len(self.stack) + 1, start, is_map))
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)

    def _start_map(self, event: Any) -> None:
        self._start(event, True)

    def _start_seq(self, event: Any) -> None:
        self._start(event, False)

    def _end(self, event: Any) -> None:
        frame = self.stack.pop()
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (self.total - frame.start_total, frame.deepest - frame.depth + 1)
        if self.stack:
            top = self.stack[-1]
            if frame.deepest > top.deepest:
                top.deepest = frame.deepest


def _ignore(event: Any) -> None:
    """Stream and document ends, comments: nothing to count."""


def _mark(event: Any) -> tuple[int | None, int | None]:
    mark = getattr(event, "start_mark", None)
    if mark is None:
        return None, None
    return int(mark.line) + 1, int(mark.column) + 1


def _key_name(key: str) -> str:
    """A key (a name, not a value) quoted in a message by the one rule: one line, bounded."""
    from regplan.base.escape import quoted

    return quoted(key)


# --- parser messages without values ------------------------------------------------------------------------

# Parser messages quote what they stopped at: mostly a token name ('<block end>') or one character (',',
# '\t'), which help; but some quote a scalar (a value, maybe a secret). Quoted parts longer than two
# characters that are not token names are dropped; a message naming a duplicate key keeps only the key.
# (patterns, not compiled: only an error needs them; the re module caches them)
_QUOTED = r"""'([^'\n]*)'|"([^"\n]*)"|`([^`\n]*)`"""
_DUPLICATE = r'found duplicate key "(?P<key>[^"\n]*)"'


def _keep_or_drop(m: re.Match[str]) -> str:
    inner = next((g for g in m.groups() if g is not None), "")
    token = inner.startswith("<") and inner.endswith(">") and len(inner) <= 20
    return m.group(0) if token or len(inner) <= 2 else "(value not shown)"


def safe_problem(problem: str) -> str:
    """A parser's problem text without quoted values (token names and single characters kept)."""
    dup = re.search(_DUPLICATE, problem)
    if dup:
        return f"duplicate key {_key_name(dup.group('key'))} in a mapping"
    first = problem.strip().splitlines()[0] if problem.strip() else "syntax error"
    return re.sub(_QUOTED, _keep_or_drop, first)


def _yaml_error(source: str, err: Exception, kind: str = "YAML") -> UnreadableInput:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = int(mark.line) + 1 if mark is not None else None
    column = int(mark.column) + 1 if mark is not None else None
    problem = getattr(err, "problem", None) or getattr(err, "context", None)
    if problem is None:
        # not a marked parser error: a constructor's ValueError etc., whose text may quote the value
        problem = f"a value cannot be read ({type(err).__name__})"
    return UnreadableInput(
        source, f"not valid {kind}: {safe_problem(str(problem))}", line=line, column=column
    )


# Errors a YAML constructor raises on a hostile tag or value (`!!int abc`, `!!timestamp 2020-13-45`), besides
# its own YAMLError: an input error, not a crash.
_CONSTRUCT_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    ArithmeticError,
    AttributeError,
    LookupError,
)


# --- YAML ------------------------------------------------------------------------------------------------


def _pyyaml_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def load_yaml_all(data: str | bytes, *, source: str, limits: Limits = DEFAULT) -> list[Any]:
    """Every document of a YAML stream as plain data (dicts, lists, scalars), within ``limits``.

    For data files (snapshots, kubeconfigs, a Secret's config.yml). YAML 1.1, as oc and kubectl read it.
    One pass over libyaml's events (PyYAML's C parser): each event passes the ``Accountant`` and is then
    built into the data (``_Builder``): 3x faster than checking the events, then ``yaml.load_all``.
    """
    import yaml

    text = decode(data, source=source, limits=limits)
    accountant = Accountant(source, limits)
    builder = _Builder(source)
    event: Any = None
    try:
        for event in yaml.parse(text, Loader=_pyyaml_loader()):
            accountant.feed(event)
            builder.feed(event)
    except yaml.YAMLError as err:
        raise _yaml_error(source, err) from None
    except _CONSTRUCT_ERRORS as err:
        line, column = _mark(event)
        raise UnreadableInput(
            source, f"not valid YAML: a value cannot be read ({type(err).__name__})", line=line, column=column
        ) from None
    return builder.docs


_MERGE = object()  # the value of a `<<` key while its mapping is built


class _Builder:
    """Plain data from PyYAML events, as ``yaml.safe_load_all`` builds it (YAML 1.1 types, merge keys,
    aliases as shared objects): the events were checked by the ``Accountant`` just before."""

    STR = "tag:yaml.org,2002:str"
    MERGE_TAG = "tag:yaml.org,2002:merge"
    COLLECTION_TAGS = {
        "MappingStartEvent": "tag:yaml.org,2002:map",
        "SequenceStartEvent": "tag:yaml.org,2002:seq",
    }

    def __init__(self, source: str) -> None:
        import yaml

        self.source = source
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.node = yaml.nodes.ScalarNode
        self.docs: list[Any] = []
        self.root: Any = None
        # open collections: [container, is mapping, pending key, key seen, merge sources, explicit keys]
        self.stack: list[list[Any]] = []
        self.anchors: dict[str, Any] = {}
        self._handlers: dict[str, Callable[[Any], None]] = {
            "ScalarEvent": self._scalar,
            "AliasEvent": self._alias,
            "MappingStartEvent": self._start,
            "SequenceStartEvent": self._start,
            "MappingEndEvent": self._end_map,
            "SequenceEndEvent": self._end_seq,
            "DocumentEndEvent": self._document_end,
        }

    def feed(self, event: Any) -> None:
        handler = self._handlers.get(type(event).__name__)
        if handler is not None:
            handler(event)

    def _add(self, event: Any, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if not top[1]:
            top[0].append(value)
        elif not top[3]:
            if isinstance(value, dict | list):
                line, column = _mark(event)
                raise UnreadableInput(
                    self.source, "a mapping key is a mapping or a list", line=line, column=column
                )
            top[2], top[3] = value, True
        else:
            key, top[3] = top[2], False
            if key is _MERGE:
                top[4].append((event, value))
            else:
                top[0][key] = value
                top[5].add(key)

    def _scalar(self, event: Any) -> None:
        tag, text = event.tag, event.value
        if tag is None or tag == "!":
            tag = self.resolver.resolve(self.node, text, event.implicit)  # type: ignore[no-untyped-call]
        if tag == self.STR:
            value: Any = text
        elif tag == self.MERGE_TAG:
            value = _MERGE
        elif tag in self.COLLECTION_TAGS.values():
            line, column = _mark(event)
            raise UnreadableInput(self.source, "a scalar tagged as a collection", line=line, column=column)
        else:  # int, float, bool, null, timestamp: PyYAML's own constructors
            value = self.constructor.yaml_constructors[tag](self.constructor, self.node(tag, text))
        if event.anchor is not None:
            self.anchors[event.anchor] = value
        self._add(event, value)

    def _alias(self, event: Any) -> None:
        self._add(event, self.anchors[event.anchor])  # the Accountant refused unknown and open anchors

    def _start(self, event: Any) -> None:
        name = type(event).__name__
        if event.tag not in (None, "!", self.COLLECTION_TAGS[name]):
            line, column = _mark(event)
            raise UnreadableInput(self.source, "a collection tagged as a scalar", line=line, column=column)
        is_map = name == "MappingStartEvent"
        container: Any = {} if is_map else []
        if event.anchor is not None:
            self.anchors[event.anchor] = container
        self.stack.append([container, is_map, None, False, [], set()])

    def _end_map(self, event: Any) -> None:
        container, _, _, _, merges, explicit = self.stack.pop()
        # `<<: *a` / `<<: [*a, *b]`: keys of the mapping win over merged ones, the first source over later
        for where, merged in merges:
            for source in merged if isinstance(merged, list) else [merged]:
                if not isinstance(source, dict):
                    line, column = _mark(where)
                    raise UnreadableInput(
                        self.source, "a merge key (<<) takes mappings only", line=line, column=column
                    )
                for key, value in source.items():
                    if key not in explicit:
                        container[key] = value
                        explicit.add(key)
        self._add(event, container)

    def _end_seq(self, event: Any) -> None:
        self._add(event, self.stack.pop()[0])

    def _document_end(self, event: Any) -> None:
        self.docs.append(self.root)
        self.root = None
        self.anchors = {}


def load_yaml(data: str | bytes, *, source: str, limits: Limits = DEFAULT) -> Any:
    """One YAML document as plain data (None for an empty file); more than one document is refused."""
    docs = load_yaml_all(data, source=source, limits=limits)
    if len(docs) > 1:
        raise UnreadableInput(source, f"expected one YAML document, found {len(docs)}")
    return docs[0] if docs else None


def load_yaml_rt(data: str | bytes, *, source: str, limits: Limits = VALUES) -> Any:
    """One YAML document with ruamel.yaml's round-trip types, which keep line numbers (``yamlio.line_of``).

    For hand-written files whose messages name lines (values files, profiles). YAML 1.2.
    """
    docs = _ruamel_load(data, source=source, limits=limits, typ="rt", single=True)
    return docs[0]


def load_yaml_all_pure(data: str | bytes, *, source: str, limits: Limits = DEFAULT) -> list[Any]:
    """Like ``load_yaml_all`` but with ruamel.yaml's pure-Python safe loader (YAML 1.2, ~1 MB/s).

    For text regplan produced itself (rendered templates): it keeps ``render`` from importing PyYAML,
    whose import alone costs ~20 ms of a start-up that is budgeted (bench/render_startup.py).
    """
    return _ruamel_load(data, source=source, limits=limits, typ="safe", single=False)


def _ruamel_load(data: str | bytes, *, source: str, limits: Limits, typ: str, single: bool) -> list[Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.parser import Parser, RoundTripParser

    text = decode(data, source=source, limits=limits)
    accountant = Accountant(source, limits, tag_attr="ctag")
    base = RoundTripParser if typ == "rt" else Parser

    class BoundedParser(base):  # type: ignore[valid-type,misc]
        """Every event the composer takes passes the accountant first: bounds before construction."""

        def get_event(self) -> Any:
            event = super().get_event()
            accountant.feed(event)
            return event

    y = YAML(typ=typ, pure=True)
    y.Parser = BoundedParser
    try:
        return [y.load(text)] if single else list(y.load_all(text))
    except YAMLError as err:
        raise _yaml_error(source, err) from None
    except _CONSTRUCT_ERRORS as err:
        raise _yaml_error(source, err) from None


# --- JSON ------------------------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateJsonKey(key)
            seen.add(key)
    return out


class _DuplicateJsonKey(ValueError):
    pass


def measure(doc: Any, *, source: str, limits: Limits) -> None:
    """Refuse parsed data deeper or larger than ``limits`` (iterative: safe on any depth)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > limits.max_depth:
            raise BoundExceeded(
                source, "depth", limits.max_depth, f"nested deeper than {limits.max_depth} levels"
            )
        if nodes > limits.max_nodes:
            raise BoundExceeded(source, "nodes", limits.max_nodes, f"more than {limits.max_nodes} nodes")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
            nodes += len(node)  # the keys
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


_JSON_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'  # a JSON string, escapes included


def _json_precount(text: str, *, source: str, limits: Limits) -> None:
    """Refuse a document with too many nodes before building it (json.loads of 5M items takes ~1 s).

    Outside strings, every array item after the first follows a comma and every value of an object a
    colon, so 1 + commas + colons is a lower bound of the nodes ``measure`` counts: over the bound means
    refused. Counting is C-speed (str.count, one regex to drop the strings only when it matters).
    """
    if text.count(",") + text.count(":") < limits.max_nodes:
        return
    outside = re.sub(_JSON_STRING, "", text)
    if 1 + outside.count(",") + outside.count(":") > limits.max_nodes:
        raise BoundExceeded(source, "nodes", limits.max_nodes, f"more than {limits.max_nodes} nodes")


def load_json(data: str | bytes, *, source: str, limits: Limits = DEFAULT) -> Any:
    """A JSON document within ``limits``; duplicate keys and NaN/Infinity are refused."""
    import json

    text = decode(data, source=source, limits=limits)
    _json_precount(text, source=source, limits=limits)
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)
    except RecursionError:
        # the C decoder stops at the interpreter's recursion limit (~1000), far above max_depth
        raise BoundExceeded(
            source, "depth", limits.max_depth, f"nested deeper than {limits.max_depth} levels"
        ) from None
    except _DuplicateJsonKey as err:
        raise UnreadableInput(source, f"not valid JSON: duplicate key {_key_name(str(err))}") from None
    except json.JSONDecodeError as err:
        raise UnreadableInput(
            source, f"not valid JSON: {safe_problem(err.msg)}", line=err.lineno, column=err.colno
        ) from None
    except ValueError as err:
        raise UnreadableInput(source, f"not valid JSON: {err}") from None
    measure(doc, source=source, limits=limits)
    return doc
