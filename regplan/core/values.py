"""Profiles and values: profile defaults < values files (in order) < ``--set``, each key with its origin.

A profile is ``profiles/<name>.yaml`` (built in, shipped in the package) or a file in a user profiles
directory (``--profiles-dir`` / ``REGPLAN_PROFILES_DIR``), which may add profiles or shadow built-ins and
may ``extends:`` a built-in to inherit its defaults. Secret inputs (S3 keys) are never values: values name
their SOURCE (``env:VAR`` or ``file:PATH``) and this module reads them into ``SecretValue``s, whose value is
only ever used by the renderer. Type and domain checks live in ``rules``; problems met here that are
about values (a missing environment variable, a literal secret) are collected as diagnostics, so that
the user sees every problem at once.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

from regplan.base import escape, lazyre, safeload, userfiles, yamlio
from regplan.base.errors import Diagnostic, InvalidInput, UnreadableInput

PROFILES_ENV = "REGPLAN_PROFILES_DIR"
PROFILE_NAME = lazyre.Pattern(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")  # full match

# Secret inputs: the value key a template sees -> the key that names its source.
SECRET_SOURCES: dict[str, str] = {"s3.accessKey": "s3.accessKeyFrom", "s3.secretKey": "s3.secretKeyFrom"}
# A source: `env:` and a variable name, or `file:` and a path of printable characters (full match: a line
# break after the name would reach the generated scripts, and the messages that name the source).
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
SECRET_SOURCE = lazyre.Pattern(rf"env:{ENV_NAME}|file:[^\x00-\x1f\x7f-\x9f\u2028\u2029]+")
ORIGIN_SET = "--set"
ORIGIN_SET_STRING = "--set-string"


# Plain classes and NamedTuples, not dataclasses: a dataclass costs ~1 ms to define, and `regplan render`
# start-up time is budgeted (bench/render_startup.py).


class SecretValue(NamedTuple):
    """A secret read from its source. ``value`` is for the renderer only: never print or store it."""

    key: str
    source: str
    value: str

    def __repr__(self) -> str:  # the value never shows up in a traceback, log or assertion message
        return f"SecretValue(key={self.key!r}, source={self.source!r}, digest={self.digest!r})"

    @property
    def digest(self) -> str:
        import hashlib

        return "sha256:" + hashlib.sha256(self.value.encode()).hexdigest()


class Profile(NamedTuple):
    name: str
    description: str
    targets: tuple[str, ...]
    path: Path
    builtin: bool
    extends: str | None = None


class Values:
    """The merged values of one profile: ``data`` nested, ``origins`` by dotted leaf key."""

    __slots__ = ("data", "origins", "problems", "profile", "secrets", "targets", "typed", "unset")

    def __init__(
        self,
        profile: str,
        data: dict[str, Any],
        origins: dict[str, str],
        secrets: dict[str, SecretValue] | None = None,
        targets: tuple[str, ...] = ("ocp4", "ocp3"),
        problems: list[Diagnostic] | None = None,
        unset: dict[str, str] | None = None,
        typed: set[str] | None = None,
    ) -> None:
        self.profile = profile
        self.data = data
        self.origins = origins
        self.secrets: dict[str, SecretValue] = secrets if secrets is not None else {}
        self.targets = targets
        self.problems: list[Diagnostic] = problems if problems is not None else []  # rules reports them
        # keys a layer set to null (dotted key -> origin): an unknown key is an error whatever its value
        self.unset: dict[str, str] = unset if unset is not None else {}
        # keys whose value is a string given by --set (or a workspace `set:`): typed by the schema (rules),
        # where --set-string values and values files' strings stay what they are
        self.typed: set[str] = typed if typed is not None else set()

    def __repr__(self) -> str:
        return f"Values(profile={self.profile!r}, data={self.data!r}, secrets={sorted(self.secrets)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Values):
            return NotImplemented
        return all(getattr(self, a) == getattr(other, a) for a in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def get(self, key: str, default: Any = None) -> Any:
        """The value at a dotted key, or ``default``."""
        return lookup(self.data, key, default)

    def origin(self, key: str) -> str:
        """Where the value at ``key`` (or its nearest parent with an origin) came from."""
        parts = key.split(".")
        while parts:
            found = self.origins.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return ""

    def digest(self) -> str:
        """Stable digest of the inputs; secrets contribute their digest only."""
        import hashlib
        import json

        doc = {
            "profile": self.profile,
            "data": self.data,
            "secrets": {k: s.digest for k, s in sorted(self.secrets.items())},
        }
        return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def builtin_dir(kind: str) -> Path:
    """``profiles`` or ``templates``: inside the installed package if shipped there, else the repo's."""
    import regplan

    pkg = Path(regplan.__file__).parent
    inside = pkg / kind
    return inside if inside.is_dir() else pkg.parent / kind


def _profile_files(profiles_dir: Path | None) -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    base = builtin_dir("profiles")
    for p in sorted(base.glob("*.yaml")):
        found[p.stem] = (p, True)
    if profiles_dir is not None:
        problem = userfiles.dir_problem(profiles_dir)
        if problem:
            raise InvalidInput(f"profiles directory {profiles_dir}: {problem}")
        for p in sorted([*profiles_dir.glob("*.yaml"), *profiles_dir.glob("*.yml")]):
            if not p.stem.isprintable():  # its name is printed by `regplan profiles` and in messages
                raise InvalidInput(
                    f"{profiles_dir}: {escape.quoted(p.name)}: a profile's file name must be printable text"
                )
            found[p.stem] = (p, False)  # a user profile shadows the built-in of the same name
    return found


def _display(path: Path, builtin: bool) -> str:
    return f"profiles/{path.name}" if builtin else str(path)


def _read_profile(name: str, path: Path, builtin: bool) -> tuple[Profile, Any]:
    """The profile at ``path``, parsed once per run while the file is unchanged (device, inode, size and
    mtime; a workspace of 500 clusters loads each profile once, not 500 times), as a fresh copy."""
    import os

    try:
        st = os.stat(path)
    except OSError:
        return _parse_profile(name, path, builtin)  # reports it, naming the file
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)
    return copy.deepcopy(_profile_once(name, str(path), builtin, identity))


@functools.lru_cache(maxsize=64)
def _profile_once(
    name: str, path: str, builtin: bool, identity: tuple[int, int, int, int, int]
) -> tuple[Profile, Any]:
    """``_parse_profile`` of one version of the file (``identity``); callers get copies."""
    return _parse_profile(name, Path(path), builtin)


def _parse_profile(name: str, path: Path, builtin: bool) -> tuple[Profile, Any]:
    shown = _display(path, builtin)
    # named as the user knows it (profiles/<name>.yaml for a built-in)
    text = safeload.read_text(path, what="profile", limits=safeload.VALUES, source=shown)
    doc = safeload.load_yaml_rt(text, source=shown, limits=safeload.VALUES)
    if not isinstance(doc, Mapping):
        raise InvalidInput(f"{shown}: a profile is a mapping with description, targets and values")
    unknown = sorted(set(doc) - {"description", "targets", "values", "extends"})
    if unknown:
        raise InvalidInput(
            f"{shown}:{yamlio.line_of(doc, unknown[0])}: unknown profile field {escape.shown(unknown[0])}; "
            "valid: description, targets, values, extends"
            + (
                "; templates are shared by all profiles: use `extends: <profile>`"
                if "template" in unknown
                else ""
            )
        )
    extends = doc.get("extends")
    if extends is not None and not isinstance(extends, str):
        raise InvalidInput(f"{shown}:{yamlio.line_of(doc, 'extends')}: extends must be a profile name")
    description = doc.get("description")
    if description is None and extends is None:
        raise InvalidInput(f"{shown}: profile needs a one-line description")
    if description is not None and (
        not isinstance(description, str) or not description.strip().isprintable()
    ):
        # `regplan profiles` prints it: one line of printable text (no \r, U+2028, tab or escape sequence)
        raise InvalidInput(
            f"{shown}:{yamlio.line_of(doc, 'description')}: description must be one line of printable text"
        )
    targets = doc.get("targets", ["ocp4", "ocp3"])
    if not isinstance(targets, list) or not set(targets) <= {"ocp4", "ocp3"} or not targets:
        raise InvalidInput(f"{shown}:{yamlio.line_of(doc, 'targets')}: targets must be a list of ocp4, ocp3")
    vals = doc.get("values")
    if vals is None:
        vals = {}
    if not isinstance(vals, Mapping):
        raise InvalidInput(f"{shown}:{yamlio.line_of(doc, 'values')}: values must be a mapping")
    prof = Profile(
        name=name,
        description=str(description or "").strip(),
        targets=tuple(str(t) for t in targets),
        path=path,
        builtin=builtin,
        extends=extends,
    )
    return prof, vals


def list_profiles(*, profiles_dir: Path | None = None) -> list[tuple[str, str]]:
    """(name, one-line description) of every profile, built-in and user, sorted by name."""
    rows = []
    for name, (path, builtin) in sorted(_profile_files(profiles_dir).items()):
        prof, _ = _read_profile(name, path, builtin)
        description = prof.description
        if not description and prof.extends:
            description = f"(extends {prof.extends})"
        rows.append((name, description))
    return rows


def _unknown_profile(name: str, known: Sequence[str]) -> InvalidInput:
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return InvalidInput(f"unknown profile {escape.quoted(name)}{hint} (known: {', '.join(sorted(known))})")


def flatten(node: Any, prefix: str, out: dict[str, Any]) -> None:
    """Dotted leaf keys of a nested mapping; an empty mapping is a leaf (``s3: {}``)."""
    if isinstance(node, Mapping) and node:
        for k, v in node.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    else:
        out[prefix] = node


def _merge_layer(
    data: dict[str, Any],
    origins: dict[str, str],
    layer: Any,
    origin_of: Any,
    prefix: str,
    unset: dict[str, str],
) -> None:
    """Deep-merge a round-trip mapping into ``data``, recording each leaf's origin.

    ``null`` unsets a key (back to "not given"), so a later file can undo an earlier one; ``unset``
    records where, so that rules can refuse an unknown key set to null.
    """
    for key, val in layer.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        line = yamlio.line_of(layer, key)
        if val is None:
            unset[dotted] = origin_of(line)
            delete(data, dotted)
            for k in [k for k in origins if k == dotted or k.startswith(dotted + ".")]:
                del origins[k]
            continue
        if isinstance(val, Mapping) and not val and isinstance(lookup(data, dotted), dict):
            continue  # `s3: {}` in a later layer adds nothing; it must not wipe the earlier keys
        if isinstance(val, Mapping) and val:
            existing = lookup(data, dotted)
            if not isinstance(existing, dict):
                assign(data, dotted, {})
                for k in [k for k in origins if k == dotted]:
                    del origins[k]
            _merge_layer(data, origins, val, origin_of, dotted, unset)
        else:
            for k in [k for k in origins if k.startswith(dotted + ".")]:
                del origins[k]
            assign(data, dotted, yamlio.to_plain(val))
            origins[dotted] = origin_of(line)


def _at(source: str, line: int | None) -> str:
    """``file:line``, or the file alone when the line is unknown (a key brought in by a merge key ``<<``)."""
    return f"{source}:{line}" if line is not None else source


def lookup(data: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """The value at a dotted key (``claim.size``) in nested values, or ``default``."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def assign(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a dotted key (``claim.size``) in nested values, creating the mappings on the way."""
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def delete(data: dict[str, Any], dotted: str) -> None:
    """Remove a dotted key from nested values, if it is there."""
    parts = dotted.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


# --- --set, as helm reads it -------------------------------------------------------------------------

# A key: segments of letters and digits joined by dots, each optionally followed by list indexes ``[N]``.
SET_SEGMENT = r"[A-Za-z][A-Za-z0-9]*(?:\[[0-9]{1,9}\])*"
SET_KEY = lazyre.Pattern(rf"{SET_SEGMENT}(?:\.{SET_SEGMENT})*")
MAX_SET_KEY = 256  # characters; a schema key is ~25
MAX_SET_DEPTH = 32  # segments and indexes; the values-file nesting bound (safeload.VALUES)
MAX_SET_ITEMS = 2_000  # KEY=VALUE items in all --set flags together: the values-file node bound
MAX_SET_INDEX = 99  # helm allows 65,536; no regplan value is a list, and [1000000]=x must not allocate
SET_ESCAPES = ",\\{}"  # a backslash before one of these makes it literal (``\,`` is a comma in a value)
NULLS = ("null", "~")  # --set KEY=null (any case, as helm) or KEY=~ (YAML's null) removes the key


class Given(str):
    """A ``--set`` / ``--set-string`` argument (or ``-f`` file) written somewhere other than the command line.

    A workspace's ``set:`` entry is one: ``origin`` is where it was written (``regplan.yaml:12``), shown in
    every message about the keys it sets, ``base`` the directory its relative ``file:`` secret sources
    are read from, and ``flag`` how its values are typed (``--set``: by the schema; ``--set-string``: they
    stay strings), whichever list it is passed in. A plain ``str`` is a command-line flag (origin
    ``--set``, relative to the working directory). It is a ``str``, so that it travels unchanged through
    code that passes arguments along.
    """

    origin: str
    base: Path | None
    flag: str

    def __new__(cls, text: str, origin: str, base: Path | None = None, flag: str = ORIGIN_SET) -> Given:
        self = super().__new__(cls, text)
        self.origin = origin
        self.base = base
        self.flag = flag
        return self

    def __reduce__(self) -> Any:
        return (Given, (str(self), self.origin, self.base, self.flag))


class SetItem(NamedTuple):
    """One ``KEY=VALUE`` of a ``--set`` argument.

    ``key`` is the dotted key up to its first list index (the key the schema knows); ``path`` the whole
    key, list indexes as ints; ``value`` a string, a list of strings (helm's ``{a,b}``) or None (null);
    ``list_form`` names the list form used (``{a,b}`` or ``[N]``), "" for a plain value.
    """

    key: str
    path: tuple[str | int, ...]
    value: str | list[str] | None
    list_form: str = ""


class SetSyntaxError(InvalidInput):
    """A ``--set`` argument that does not parse. The message names the flag, the argument's position (or
    its file:line) and the item, and never quotes a value: what was typed may be a pasted secret."""


def _char_name(ch: str) -> str:
    """A character as a message may show it: printable ASCII quoted, anything else described."""
    if ch == " ":
        return "a blank"
    if ch.isascii() and ch.isprintable():
        return repr(ch)
    return "a control character" if not ch.isprintable() else "a non-ASCII character"


def _key_problem(text: str) -> str:
    """Why ``text`` is not a --set key, in words that never quote it (it may be a secret typed by mistake)."""
    if not text:
        return "the key is empty"
    if len(text) > MAX_SET_KEY:
        return f"the key is longer than {MAX_SET_KEY} characters"
    for i, ch in enumerate(text):
        if not (ch.isascii() and (ch.isalnum() or ch in ".[]")):
            return f"a key holds letters, digits, '.' and [N]; found {_char_name(ch)} at character {i + 1}"
    return "such as claim.size (each segment starts with a letter; list indexes as [N])"


def _key_path(text: str, where: str) -> tuple[str, tuple[str | int, ...]]:
    """(schema key, full path) of a --set key; raises SetSyntaxError without quoting an invalid key."""
    if len(text) > MAX_SET_KEY or not SET_KEY.fullmatch(text):
        raise SetSyntaxError(f"{where}: expected KEY=VALUE with a dotted key: {_key_problem(text)}")
    path: list[str | int] = []
    for segment in text.split("."):
        name, _, rest = segment.partition("[")
        path.append(name)
        for index in rest.rstrip("]").split("][") if rest else ():
            if int(index) > MAX_SET_INDEX:
                raise SetSyntaxError(f"{where}: {escape.quoted(text)}: list index above {MAX_SET_INDEX}")
            path.append(int(index))
    if len(path) > MAX_SET_DEPTH:
        raise SetSyntaxError(f"{where}: {escape.quoted(text)}: deeper than {MAX_SET_DEPTH} levels")
    first_index = next((i for i, p in enumerate(path) if isinstance(p, int)), len(path))
    return ".".join(str(p) for p in path[:first_index]), tuple(path)


def parse_set(arg: str, *, flag: str = ORIGIN_SET, where: str = "") -> list[SetItem]:
    """One ``--set`` argument as helm reads it: ``a=1,b=2`` is two items, ``\\,`` a literal comma (``\\\\``,
    ``\\{``, ``\\}`` likewise), ``KEY={a,b}`` a list, ``KEY[0]=a`` an item of a list, ``KEY=null`` (any case)
    or ``KEY=~`` removes the key (``--set`` only). Values stay strings: the schema types them (rules).

    ``where`` names the argument in messages (``--set (argument 2)``, ``regplan.yaml:12``).
    """
    where = where or flag
    items: list[SetItem] = []
    i, n = 0, len(arg)
    while True:
        at = f"{where}, item {len(items) + 1}"
        j = i
        while j < n and arg[j] not in "=,":
            j += 1
        if j >= n or arg[j] == ",":
            if j == i:
                raise SetSyntaxError(f"{at}: empty (two commas, or one at an end); expected KEY=VALUE")
            raise SetSyntaxError(
                f"{at}: expected KEY=VALUE, e.g. replicas=1 (no '=' found; the text is not shown: it may "
                "be a secret)"
            )
        key, path = _key_path(arg[i:j], at)
        i = j + 1
        value: str | list[str] | None
        form = "[N]" if len(path) > len(key.split(".")) else ""
        if i < n and arg[i] == "{":
            value, i = _read_list(arg, i + 1, f"{at} ({key})")
            form = "{a,b}"
        else:
            chars: list[str] = []
            while i < n and arg[i] != ",":
                if arg[i] == "\\" and i + 1 < n and arg[i + 1] in SET_ESCAPES:
                    i += 1
                chars.append(arg[i])
                i += 1
            value = "".join(chars)
            if flag == ORIGIN_SET and value.lower() in NULLS:
                value = None
        items.append(SetItem(key, path, value, form))
        if i >= n:
            return items
        i += 1  # the comma after the value


def _read_list(arg: str, i: int, at: str) -> tuple[list[str], int]:
    """helm's ``{a,b}`` from just after the brace: (elements, index after the closing brace)."""
    elements: list[str] = []
    chars: list[str] = []
    n = len(arg)
    while i < n:
        ch = arg[i]
        if ch == "\\" and i + 1 < n and arg[i + 1] in SET_ESCAPES:
            chars.append(arg[i + 1])
            i += 2
            continue
        if ch == "{":
            raise SetSyntaxError(f"{at}: a list inside a list is not supported")
        if ch in ",}":
            elements.append("".join(chars))
            chars = []
            i += 1
            if ch == "}":
                if i < n and arg[i] != ",":
                    raise SetSyntaxError(
                        f"{at}: text after the list's closing '}}' (use \\{{ for a literal brace)"
                    )
                return ([] if elements == [""] else elements), i
            continue
        chars.append(ch)
        i += 1
    raise SetSyntaxError(f"{at}: the list {{a,b}} has no closing '}}' (use \\{{ for a literal brace)")


def _assign_path(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Set ``path`` (keys and list indexes, helm's ``a[1].b``) in nested values, creating what is missing."""
    node: Any = data
    for step, nxt in itertools.pairwise(path):
        fresh: Any = [] if isinstance(nxt, int) else {}
        node = _child(node, step, fresh)
    _put(node, path[-1], value)


def _child(node: Any, step: str | int, fresh: Any) -> Any:
    current = node[step] if isinstance(step, int) and step < len(node) else None
    if isinstance(step, str):
        current = node.get(step)
    if not isinstance(current, type(fresh)):
        _put(node, step, fresh)
        return fresh
    return current


def _put(node: Any, step: str | int, value: Any) -> None:
    if isinstance(step, int):
        node.extend([None] * (step + 1 - len(node)))
        node[step] = value
    else:
        node[step] = value


STDIN = "-"  # `-f -`: values from standard input, as helm
STDIN_SOURCE = "(stdin)"  # how messages and origins name it
_stdin_read: list[bytes] = []  # standard input is read once per process, however often values are loaded


def _read_stdin(stream: IO[bytes] | None) -> bytes:
    """The bytes of ``-f -``, at most ``safeload.VALUES.max_bytes`` + 1 read (an endless pipe ends here)."""
    if stream is None and _stdin_read:
        return _stdin_read[0]
    source = stream
    if source is None:
        import sys

        if sys.stdin is None or sys.stdin.isatty():
            raise InvalidInput(
                "-f -: standard input is a terminal (or closed); pipe the values in: ... -f - < values.yaml"
            )
        source = sys.stdin.buffer
    try:
        data = source.read(safeload.VALUES.max_bytes + 1)
    except OSError as err:
        raise UnreadableInput(STDIN_SOURCE, f"cannot read standard input: {err.strerror or err}") from None
    if stream is None:
        _stdin_read.append(data)
    return data


def value_files(files: Sequence[Path]) -> list[Path]:
    """The ``-f`` arguments as helm takes them: ``-f a.yaml,b.yaml`` is two files (unless a file of that very
    name exists), ``-f -`` is standard input, at most once."""
    out: list[Path] = []
    for f in files:
        text = str(f)
        if text != STDIN and "," in text and not f.exists():
            parts = text.split(",")
            if any(not part for part in parts):
                raise InvalidInput(
                    "-f: an empty file name in a comma-separated list (two commas, or one at an end)"
                )
            out.extend(Path(part) for part in parts)
        else:
            out.append(f)
    if sum(1 for f in out if str(f) == STDIN) > 1:
        raise InvalidInput("-f -: standard input can be read once; give `-f -` a single time")
    return out


def _set_where(arg: str, flag: str, position: int) -> str:
    origin = getattr(arg, "origin", None)
    return origin if isinstance(origin, str) else f"{flag} (argument {position})"


def load_values(
    profile: str,
    *,
    files: Sequence[Path],
    sets: Sequence[str],
    profiles_dir: Path | None,
    environ: Mapping[str, str],
    set_strings: Sequence[str] = (),
    stdin: IO[bytes] | None = None,
) -> Values:
    """Merge profile defaults, values files (in order), ``--set`` then ``--set-string``; read secret sources.

    ``--set`` takes helm's forms (``a=1,b=2``, ``\\,``, ``{a,b}``, ``a[0]=x``, ``key=null`` removes a key)
    and its values are typed by the schema; ``--set-string`` values stay strings. A ``Given`` argument
    carries its own origin (a workspace's ``regplan.yaml:LINE``). ``-f -`` reads ``stdin`` (default: the
    process's standard input, once)."""
    known = _profile_files(profiles_dir)
    if profile not in known:
        raise _unknown_profile(profile, list(known))
    path, builtin = known[profile]
    prof, prof_vals = _read_profile(profile, path, builtin)

    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    unset: dict[str, str] = {}
    layers: list[tuple[Profile, Any]] = []
    if prof.extends is not None:
        builtins = _profile_files(None)
        if prof.extends not in builtins:
            raise InvalidInput(
                f"{_display(path, builtin)}: extends: {_unknown_profile(prof.extends, list(builtins))}"
            )
        base_path, _ = builtins[prof.extends]
        base, base_vals = _read_profile(prof.extends, base_path, True)
        layers.append((base, base_vals))
        if not prof.description:
            prof = Profile(prof.name, base.description, base.targets, prof.path, prof.builtin, prof.extends)
    layers.append((prof, prof_vals))
    for p, vals in layers:
        shown = _display(p.path, p.builtin)
        _merge_layer(
            data,
            origins,
            vals,
            lambda line, p=p, shown=shown: f"profile {p.name} ({_at(shown, line)})",
            "",
            unset,
        )

    bases: dict[str, Path] = {}  # source name -> the directory its relative `file:` sources are read from
    for f in value_files(files):
        if str(f) == STDIN:
            name = STDIN_SOURCE
            text = safeload.decode(_read_stdin(stdin), source=name, limits=safeload.VALUES)
        else:
            name = str(f)
            text = safeload.read_text(f, what="values file", limits=safeload.VALUES)
            bases[name] = f.parent
        doc = safeload.load_yaml_rt(text, source=name, limits=safeload.VALUES)
        if doc is None:
            continue
        if not isinstance(doc, Mapping):
            raise InvalidInput(f"{name}:1: a values file is a mapping of keys (see docs/values.md)")
        _merge_layer(data, origins, doc, lambda line, name=name: _at(name, line), "", unset)

    typed: set[str] = set()  # keys whose value is a --set string, typed by the schema (rules)
    given = [(arg, ORIGIN_SET, n) for n, arg in enumerate(sets, 1)]
    given += [(arg, ORIGIN_SET_STRING, n) for n, arg in enumerate(set_strings, 1)]
    items: list[tuple[SetItem, str, str]] = []
    for arg, listed_as, position in given:
        flag = arg.flag if isinstance(arg, Given) else listed_as
        where = _set_where(arg, flag, position)
        origin = where if isinstance(arg, Given) else flag
        if isinstance(arg, Given) and arg.base is not None:
            bases[origin] = arg.base
        items.extend((item, flag, origin) for item in parse_set(arg, flag=flag, where=where))
        if len(items) > MAX_SET_ITEMS:
            raise InvalidInput(f"{where}: more than {MAX_SET_ITEMS} --set items in all (use a values file)")
    for item, flag, origin in items:
        key = item.key
        for k in [k for k in origins if k == key or k.startswith(key + ".")]:
            del origins[k]
        for k in [k for k in typed if k == key or k.startswith(key + ".")]:
            typed.discard(k)
        if item.value is None and not item.list_form:  # helm: key=null removes the key
            delete(data, key)
            unset[key] = origin
            continue
        _assign_path(data, item.path, item.value)
        origins[key] = origin
        if flag == ORIGIN_SET:
            typed.add(key)

    vals = Values(profile=profile, data=data, origins=origins, targets=prof.targets, unset=unset, typed=typed)
    _read_secrets(vals, environ, bases)
    return vals


def from_record(
    *,
    profile: str,
    data: Mapping[str, Any],
    secret_sources: Mapping[str, str],
    targets: Sequence[str],
    environ: Mapping[str, str],
) -> Values:
    """Rebuild the Values a plan file recorded, reading each secret again from its recorded source.

    ``secret_sources`` maps a secret key (``s3.accessKey``) to its resolved source (``env:VAR`` or
    ``file:/abs/path``). Problems (an unset variable, a missing file) land in ``Values.problems``.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(data))
    for key, source in secret_sources.items():
        group, _, leaf = SECRET_SOURCES.get(key, "").partition(".")
        if group and leaf:
            merged.setdefault(group, {})[leaf] = source
    vals = Values(profile=profile, data=merged, origins={}, targets=tuple(targets))
    _read_secrets(vals, environ, {})
    return vals


def _read_secrets(vals: Values, environ: Mapping[str, str], bases: Mapping[str, Path]) -> None:
    """Resolve ``*From`` sources; refuse literal secrets (they would sit in shell history and files).

    ``bases`` maps a source name (a values file, a workspace entry's origin) to the directory its relative
    ``file:`` sources are read from; other relative paths are read from the working directory. A source
    that is not ``SECRET_SOURCE`` is left to the schema (rules), which reports it at its origin without
    repeating it."""
    for key, source_key in SECRET_SOURCES.items():
        if vals.get(key) is not None:
            vals.problems.append(
                Diagnostic(
                    key,
                    "a literal secret is refused (it would be kept in shell history or a file)",
                    vals.origin(key),
                    f"name its source instead: {source_key}=env:VAR or {source_key}=file:PATH",
                )
            )
            delete(vals.data, key)  # never carry the literal further
            vals.origins.pop(key, None)
            group = key.split(".")[0]
            if vals.data.get(group) == {} and group not in vals.origins:
                del vals.data[group]  # `--set s3.accessKey=` alone must not look like an S3 backend
        source = vals.get(source_key)
        if source is None or source == "":
            continue
        origin = vals.origin(source_key)
        if not isinstance(source, str) or not SECRET_SOURCE.fullmatch(source):
            continue  # rules reports the type or syntax error, at its origin, without echoing it
        kind, _, ref = source.partition(":")
        if kind == "env" and ref:
            if ref not in environ or environ[ref] == "":
                vals.problems.append(
                    Diagnostic(
                        source_key,
                        f"environment variable {ref} is not set or empty",
                        origin,
                        f"export {ref}=... before running regplan",
                    )
                )
                continue
            problem = secret_text_problem(environ[ref])
            if problem:
                vals.problems.append(
                    Diagnostic(source_key, f"the value of {ref} {problem}", origin, KEY_HINT)
                )
                continue
            vals.secrets[key] = SecretValue(key, source, environ[ref])
        elif kind == "file" and ref:
            p = Path(ref).expanduser()
            if not p.is_absolute():
                p = _relative_to_origin(p, origin, bases)
            try:
                # bytes as they are (no newline translation: a lone CR is not a line ending here), bounded
                raw = safeload.read_bytes(p, what="key file", limits=KEY_FILE_LIMITS)
                content = _one_line_ending_off(raw.decode("utf-8"))
            except (UnreadableInput, UnicodeDecodeError) as err:
                # never the decode error's own text: it quotes bytes of the key
                why = err.problem if isinstance(err, UnreadableInput) else "not UTF-8 text"
                vals.problems.append(
                    Diagnostic(
                        source_key,
                        f"cannot read {p}: {why}",
                        origin,
                        "name a readable file holding only the key",
                    )
                )
                continue
            if not content:
                vals.problems.append(
                    Diagnostic(source_key, f"{p} is empty", origin, "the file must hold the key")
                )
                continue
            problem = secret_text_problem(content)
            if problem:
                vals.problems.append(Diagnostic(source_key, f"the key in {p} {problem}", origin, KEY_HINT))
                continue
            vals.secrets[key] = SecretValue(key, f"file:{p}", content)
        # anything else is not a source: the schema (rules.SCHEMA) reports it, without echoing the value


# A key read from a source is one line of printable text. A file may end with ONE line ending (\n or \r\n:
# `echo KEY > file` writes it), which is not part of the key; any other control character (a second line,
# a carriage return, a tab, NUL, DEL, C1), or blanks around the key, would go into the Secret as they are
# and the registry would fail to authenticate, long after apply: refused, naming the source, not the value.
KEY_FILE_LIMITS = safeload.Limits(max_bytes=64 * 1024)  # a key is ~40 bytes; `file:/dev/zero` must end
KEY_HINT = "the source must hold the key alone, on one line (a single trailing newline in a file is fine)"
_CONTROL = lazyre.Pattern(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line_ending_off(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def secret_text_problem(text: str) -> str:
    """Why ``text`` cannot be an S3 key (a phrase that never quotes it), or ""."""
    found = _CONTROL.search(text)
    if found:
        what = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}.get(
            found.group(), "a control character"
        )
        return f"contains {what}"
    if text != text.strip():
        return "has blanks before or after the key"
    return ""


def _relative_to_origin(p: Path, origin: str, bases: Mapping[str, Path]) -> Path:
    """A relative ``file:`` source in a values file is relative to that file, in a workspace entry to the
    workspace; on the command line (and from standard input), to the working directory."""
    for name, base in bases.items():
        if origin == name or origin.startswith(f"{name}:"):
            return base / p
    return p
