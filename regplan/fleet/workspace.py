"""The workspace file ``regplan.yaml``: the clusters of a repository, each with its context and profile.

A workspace describes a fleet the way helmfile describes releases::

    defaults:                     # applies to every cluster (a cluster's own keys win)
      profile: ebs-gp2-rwo
      values: [values/common.yaml]
    clusters:
      - name: prod-eu-1           # [a-z0-9.-], used as a directory name
        context: prod-eu-1        # kubeconfig context (default: the name)
        kubeconfig: ~/.kube/prod.yaml  # outside the repository (docs/fleet.md)
        target: ocp4              # auto (default), ocp4 or ocp3
        profile: cephfs-rwx
        values: [values/prod.yaml]  # after the defaults' values files, relative to this file
        set: [replicas=3]           # after the defaults' set entries (--set: typed by the schema)
        setString: [s3.bucket=123]  # after the set entries (--set-string: the values stay strings)
        labels: {env: prod, region: eu}

``load`` reads and validates it like a values file: every problem at once, each with ``file:line``, raised
as one ``WorkspaceInvalid`` (exit 3), before anything is rendered or read. The kubeconfig contexts are
checked separately (``check_contexts``), only by the commands that talk to the clusters: ``render`` and
``golden`` must work in CI without any kubeconfig.

The key tables below are the schema (one row per key with its reason); unknown keys are errors, so a typo
(``lables:``) cannot silently drop the labels a selector relies on.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regplan.base import escape, userfiles, yamlio
from regplan.base.errors import InvalidInput
from regplan.fleet import selector as selmod

FILE_NAME = "regplan.yaml"
TARGETS = ("auto", "ocp4", "ocp3")
NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?")  # full match: a DNS label-ish directory name
MAX_SUGGESTIONS = 3  # `--cluster` names a few close names, never a workspace of 10,000 on one line
MAX_LISTED = 10  # ... and lists every name only in a workspace this small

# Top-level keys: key -> what it holds.
TOP_KEYS: dict[str, str] = {
    "version": "the workspace format version (1)",
    "defaults": "keys every cluster inherits",
    "clusters": "the list of clusters",
    "profilesDir": "a directory of user profiles (like --profiles-dir), relative to this file",
    "renderDir": "where `regplan render` writes <cluster>/ directories (default: rendered)",
    "snapshotDir": "where `regplan snapshot` records <cluster>.yaml (default: snapshots)",
}
# Cluster keys: key -> (allowed in defaults, what it holds).
CLUSTER_KEYS: dict[str, tuple[bool, str]] = {
    "name": (False, "unique name; also the directory and file name of its outputs"),
    "context": (False, "kubeconfig context (default: the name)"),
    "kubeconfig": (True, "kubeconfig file(s), ':'-separated, relative to this file (default: $KUBECONFIG)"),
    "target": (True, "auto, ocp4 or ocp3 (default: auto)"),
    "profile": (True, "profile name (see `regplan profiles`)"),
    "values": (True, "values files, relative to this file; the defaults' files come first"),
    "set": (True, "KEY=VALUE entries applied after the values files (--set); the defaults' entries first"),
    "setString": (True, "KEY=VALUE entries whose values stay strings (--set-string), after the set entries"),
    "labels": (True, "labels for -l/--selector; merged over the defaults' labels"),
}
VERSION = 1


def _limits() -> Any:
    from regplan.base import safeload

    # A few hundred clusters of ~6 keys each (labels, values, set): the values-file bound (2,000 nodes) is
    # too small; 50,000 nodes is ~5,000 clusters, parsed (round trip, for line numbers) in a few seconds.
    return safeload.Limits(max_bytes=2 * 1024 * 1024, max_depth=32, max_nodes=50_000)


LIMITS = _limits()


class WorkspaceInvalid(InvalidInput):
    """The workspace file has problems (exit 3); ``problems`` are ``file:line: message`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"the workspace has {len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems)
        )


@dataclass(frozen=True)
class ClusterSpec:
    """One cluster of the workspace, defaults merged in, paths resolved."""

    name: str
    context: str
    target: str
    profile: str
    kubeconfig: str | None = None  # absolute path(s) joined by os.pathsep; None: $KUBECONFIG / default
    values: tuple[Path, ...] = ()
    # The `set:` then the `setString:` entries (defaults' first), as ``values.Given`` strings: each knows its
    # flag (--set or --set-string) and its regplan.yaml:LINE, which messages about its keys name. One list,
    # so that every caller passing ``sets`` to ``values.load_values`` applies both, in the CLI's order.
    sets: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    line: int = 0  # of its "- name:" entry
    context_line: int = 0  # of its context key (its entry when the context defaults to the name)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "context": self.context,
            "target": self.target,
            "profile": self.profile,
            "labels": dict(sorted(self.labels.items())),
        }


@dataclass(frozen=True)
class Workspace:
    path: Path  # the regplan.yaml read
    clusters: tuple[ClusterSpec, ...]
    profiles_dir: Path | None = None
    render_dir: Path = Path("rendered")
    snapshot_dir: Path = Path("snapshots")

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def repository(self) -> Path | None:
        """The git work tree holding the workspace (the nearest parent with ``.git``), or None: what
        whoever can change the repository writes (``kubeconfig.repository_problem``)."""
        root = self.root.resolve()
        return next((d for d in (root, *root.parents) if (d / ".git").exists()), None)

    def where(self, line: int) -> str:
        """``FILE:LINE`` for messages, one line (the directory a workspace was found in may hold any name)."""
        path = escape.one_line(str(self.path))
        return f"{path}:{line}" if line else path

    def relative(self, path: Path) -> str:
        """``path`` as messages and outputs show it: relative to the workspace when inside it, one line
        (a directory found on disk may be named with a line break)."""
        try:
            return escape.one_line(path.resolve().relative_to(self.root.resolve()).as_posix())
        except ValueError:
            return escape.one_line(str(path))

    def select(self, names: Sequence[str] = (), selector: str = "") -> list[ClusterSpec]:
        """``--cluster NAME`` (repeatable) and ``-l SELECTOR``: both must hold; none given = all."""
        sel = selmod.parse(selector)
        known = {c.name for c in self.clusters}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InvalidInput(f"--cluster: not in {self.where(0)}: {unknown_clusters(unknown, known)}")
        chosen = [c for c in self.clusters if (not names or c.name in names) and sel.matches(c.labels)]
        if not chosen:
            what = []
            if names:
                what.append(f"--cluster {' '.join(names)}")
            if selector:
                what.append(f"-l {escape.quoted(selector)}")
            selection = " and ".join(what) or "the selection"
            raise InvalidInput(f"no cluster of {self.where(0)} matches {selection}")
        return chosen


def unknown_clusters(unknown: Sequence[str], known: Iterable[str]) -> str:
    """``'nope' (did you mean 'nop1'?)`` for each unknown name: the few closest names (difflib), and the
    whole list only for a small workspace."""
    names = sorted(known)
    hints = []
    for n in unknown[:MAX_SUGGESTIONS]:
        close = difflib.get_close_matches(n, names, n=MAX_SUGGESTIONS)
        if len(close) > 1:
            hint = f" (did you mean one of {', '.join(map(repr, close))}?)"
        else:
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        hints.append(f"{escape.quoted(n)}{hint}")
    if len(unknown) > MAX_SUGGESTIONS:
        hints.append(f"and {len(unknown) - MAX_SUGGESTIONS} more")
    listed = f"known: {', '.join(names)}" if len(names) <= MAX_LISTED else f"it lists {len(names)} clusters"
    return f"{', '.join(hints)}; {listed}"


# --- finding ---------------------------------------------------------------------------------------


def find(start: Path) -> Path | None:
    """``regplan.yaml`` in ``start`` or the nearest parent holding one (like git finds .git).

    Like git's ``safe.directory`` rule, a file found this way must be the user's own (or root's): a
    ``regplan.yaml`` someone else left in a shared parent (``/tmp``, a shared home) names kubeconfigs - and
    through them exec credential plugins, programs regplan would run as the user - and values files, so it
    is refused (exit 3) rather than used or silently skipped; ``--workspace FILE`` uses it knowingly."""
    here = start.resolve()
    for d in (here, *here.parents):
        candidate = d / FILE_NAME
        if candidate.is_file():
            _check_owner(candidate)
            return candidate
    return None


def _check_owner(path: Path) -> None:
    me = os.geteuid() if hasattr(os, "geteuid") else None
    owner = path.stat().st_uid
    if me is None or owner in (me, 0):
        return
    raise InvalidInput(
        f"{path}: owned by uid {owner}, not by you (uid {me}): regplan does not use a workspace file "
        "someone else owns (it names the kubeconfigs, and so the programs, regplan runs); pass "
        f"--no-workspace (or -p/--context) for one cluster, or --workspace {path} if you trust it"
    )


# --- loading ---------------------------------------------------------------------------------------


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def add(self, line: int | None, message: str) -> None:
        self.lines.append(f"{escape.one_line(str(self.path))}:{line or 1}: {message}")


def _line(node: Any, key: str, fallback: int) -> int:
    return yamlio.line_of(node, key) or fallback


def _item_line(seq: Any, index: int, fallback: int) -> int:
    lc = getattr(seq, "lc", None)
    try:
        return int(lc.item(index)[0]) + 1 if lc is not None else fallback
    except (KeyError, TypeError, IndexError):
        return fallback


def _unknown_keys(
    node: Mapping[str, Any], allowed: Iterable[str], what: str, p: _Problems, line: int
) -> None:
    allowed = list(allowed)
    for key in node:
        if str(key) not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (valid: {', '.join(allowed)})"
            p.add(_line(node, str(key), line), f"unknown key {escape.shown(key)} in {what}{hint}")


def _str_list(node: Any, key: str, parent: Any, p: _Problems, line: int) -> list[tuple[str, int]]:
    """A list of strings (a single string is accepted as a list of one) with each item's line."""
    value = parent.get(key)
    at = _line(parent, key, line)
    if value is None:
        return []
    if isinstance(value, str):
        if not _printable(value):
            p.add(at, f"{key}: a line break or control character (not shown) is not allowed")
            return []
        return [(value, at)]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        p.add(at, f"{key}: expected a list of non-empty strings")
        return []
    out = []
    for i, v in enumerate(value):
        vline = _item_line(value, i, at)
        if not _printable(str(v)):  # never shown: a set entry may hold a pasted secret
            p.add(
                vline, f"{key}: entry {i + 1}: a line break or control character (not shown) is not allowed"
            )
            continue
        out.append((str(v), vline))
    return out


def _labels(parent: Any, p: _Problems, line: int) -> dict[str, str]:
    value = parent.get("labels")
    if value is None:
        return {}
    at = _line(parent, "labels", line)
    if not isinstance(value, Mapping):
        p.add(at, "labels: expected a mapping of label keys to values")
        return {}
    out: dict[str, str] = {}
    for k, v in value.items():
        kline = _line(value, str(k), at)
        if isinstance(v, bool | int | float):
            p.add(kline, f"labels.{k}: {v!r} must be a string (quote it: '{v}')")
            continue
        if not isinstance(v, str) or not selmod.VALUE.fullmatch(v):
            why = "is not a label value (letters, digits, '-', '_', '.', max 63)"
            p.add(kline, f"labels.{k}: {escape.shown(v)} {why}")
            continue
        if not selmod.KEY.fullmatch(str(k)):
            p.add(kline, f"labels: {escape.shown(k)} is not a label key")
            continue
        out[str(k)] = v
    return out


def _printable(text: str) -> bool:
    """One line of printable text: no line break (\\n, \\r, U+2028), tab, escape or other control character.
    A workspace's strings become directory names, kubeconfig contexts, arguments and terminal text."""
    return text.isprintable()


def _scalar(parent: Any, key: str, p: _Problems, line: int) -> str | None:
    value = parent.get(key)
    if value is None:
        if key in parent:  # `profile:` with nothing after it is a mistake, not "use the default"
            p.add(_line(parent, key, line), f"{key}: empty (remove the key to use the default)")
        return None
    if not isinstance(value, str) or not value:
        p.add(_line(parent, key, line), f"{key}: expected a non-empty string")
        return None
    if not _printable(value):
        p.add(
            _line(parent, key, line), f"{key}: a line break or control character (not shown) is not allowed"
        )
        return None
    return str(value)


def _resolve(root: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else root / path


def _kubeconfig(root: Path, text: str | None) -> str | None:
    if text is None:
        return None
    return os.pathsep.join(str(_resolve(root, part)) for part in text.split(os.pathsep) if part)


def load(
    path: Path,
    *,
    profile_names: Callable[[Path | None], Sequence[str]] | None = None,
    profiles_dir: Path | None = None,
) -> Workspace:
    """Read and validate ``path``; raises WorkspaceInvalid with every problem (exit 3).

    ``profile_names(profiles_dir)`` lists the known profiles (default: ``values.list_profiles``);
    ``profiles_dir`` (``--profiles-dir``) wins over the file's ``profilesDir``.
    """
    from regplan.base import safeload

    text = safeload.read_text(path, what="workspace file", limits=LIMITS)
    doc = safeload.load_yaml_rt(text, source=str(path), limits=LIMITS)
    p = _Problems(path)
    root = path.parent
    if not isinstance(doc, Mapping):
        raise WorkspaceInvalid(
            [f"{path}:1: a workspace file is a mapping with `clusters:` (and `defaults:`)"]
        )
    _unknown_keys(doc, TOP_KEYS, "the workspace", p, 1)
    version = doc.get("version", VERSION)
    if version != VERSION:
        p.add(
            _line(doc, "version", 1),
            f"version: {escape.shown(version)} is not supported (this regplan reads {VERSION})",
        )

    dirs: dict[str, Path | None] = {}
    for key in ("profilesDir", "renderDir", "snapshotDir"):
        value = _scalar(doc, key, p, 1)
        dirs[key] = _resolve(root, value) if value else None
        # the file layer's rule for a workspace: it writes (rendered/, snapshots/) and reads (profiles) only
        # inside its own directory, so a pull request's regplan.yaml cannot point them at the CI runner's or
        # the Argo CD repo server's other files (the command line's --profiles-dir may point anywhere)
        found = dirs[key]
        if found is not None and not userfiles.inside(root, found):
            p.add(
                _line(doc, key, 1),
                f"{key}: {value}: outside the workspace {root} (symlinks resolved); the workspace's "
                "directories must lie inside it",
            )
            dirs[key] = None
    prof_dir = profiles_dir if profiles_dir is not None else dirs["profilesDir"]
    problem = userfiles.dir_problem(prof_dir) if prof_dir is not None else None
    if problem and profiles_dir is not None:  # the command line's, not the file's
        raise InvalidInput(f"--profiles-dir {profiles_dir}: {problem}")
    if problem:
        p.add(_line(doc, "profilesDir", 1), f"profilesDir: {prof_dir}: {problem}")
        prof_dir = None
    elif prof_dir is not None and profiles_dir is None:
        # its profiles too: a profile file that is a symlink out of the workspace would be read (and what
        # it holds rendered into the tree, or to Argo CD) as the repository's own
        for f in sorted([*prof_dir.glob("*.yaml"), *prof_dir.glob("*.yml")]):
            if not userfiles.inside(root, f):
                p.add(
                    _line(doc, "profilesDir", 1),
                    f"profilesDir: {escape.one_line(f.name)}: outside the workspace {root} (symlinks "
                    "resolved); the workspace's profiles must lie inside it",
                )

    defaults = doc.get("defaults")
    dline = _line(doc, "defaults", 1)
    if defaults is None:
        defaults = {}
    elif not isinstance(defaults, Mapping):
        p.add(dline, "defaults: expected a mapping")
        defaults = {}
    _unknown_keys(defaults, [k for k, (d, _) in CLUSTER_KEYS.items() if d], "defaults", p, dline)

    clusters_node = doc.get("clusters")
    cline = _line(doc, "clusters", 1)
    if clusters_node is None:
        p.add(1, "clusters: missing; list the clusters of this workspace")
        clusters_node = []
    elif not isinstance(clusters_node, list):
        p.add(cline, "clusters: expected a list of clusters")
        clusters_node = []

    known_profiles: list[str] | None = None

    def profile_ok(name: str) -> tuple[bool, str]:
        nonlocal known_profiles
        if known_profiles is None:
            lister = profile_names or _list_profiles
            known_profiles = list(lister(prof_dir))
        if name in known_profiles:
            return True, ""
        close = difflib.get_close_matches(name, known_profiles, n=1)
        return False, (f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known_profiles)})")

    d_labels = _labels(defaults, p, dline)
    d_values = _str_list(defaults, "values", defaults, p, dline)
    d_sets = _str_list(defaults, "set", defaults, p, dline)
    d_target = _scalar(defaults, "target", p, dline)
    d_profile = _scalar(defaults, "profile", p, dline)
    d_kube = _scalar(defaults, "kubeconfig", p, dline)
    if d_target is not None and d_target not in TARGETS:
        valid = ", ".join(TARGETS)
        p.add(_line(defaults, "target", dline), f"target: {escape.shown(d_target)}: valid: {valid}")
    if d_profile is not None:
        ok, hint = profile_ok(d_profile)
        if not ok:
            said = f"profile: unknown profile {escape.shown(d_profile)}{hint}"
            p.add(_line(defaults, "profile", dline), said)
    checked_files: set[str] = set()

    def check_files(files: list[tuple[str, int]], where: str) -> tuple[Path, ...]:
        out = []
        for text_, line in files:
            if text_ == "-":
                p.add(line, f"{where}values: '-' (standard input) is for `-f -` on the command line")
                continue
            f = _resolve(root, text_)
            problem = userfiles.not_a_file(f)
            if problem.startswith("cannot read") or problem.endswith("which does not exist"):
                p.add(line, f"{where}values: {text_}: {problem}")
            elif not userfiles.inside(root, f):  # the one file layer: a workspace reads only its own files
                p.add(
                    line,
                    f"{where}values: {text_}: outside the workspace {root} (symlinks resolved); values files "
                    "named in the workspace must lie inside it",
                )
            elif problem:
                p.add(line, f"{where}values: {text_}: {problem} (relative to {root})")
            elif str(f) not in checked_files:
                checked_files.add(str(f))
            out.append(f)
        return tuple(out)

    def check_sets(sets: list[tuple[str, int]], where: str, key: str) -> tuple[str, ...]:
        """The entries as ``Given`` strings (each names its line); a malformed one is a problem, whose
        message never quotes it (it may be a secret pasted in place of KEY=VALUE)."""
        from regplan.core import values

        flag = values.ORIGIN_SET if key == "set" else values.ORIGIN_SET_STRING
        out = []
        for item, line in sets:
            origin = f"{path}:{line}"
            try:
                values.parse_set(item, flag=flag, where=f"{where}{key}")
            except values.SetSyntaxError as err:
                p.add(line, str(err))
                continue
            out.append(values.Given(item, origin, root, flag))
        return tuple(out)

    d_files = check_files(d_values, "defaults.")
    d_given = check_sets(d_sets, "defaults.", "set")
    d_given_strings = check_sets(
        _str_list(defaults, "setString", defaults, p, dline), "defaults.", "setString"
    )

    specs: list[ClusterSpec] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(clusters_node):
        line = _item_line(clusters_node, i, cline)
        if not isinstance(node, Mapping):
            p.add(line, f"clusters[{i}]: expected a mapping with at least `name:`")
            continue
        _unknown_keys(node, CLUSTER_KEYS, f"clusters[{i}]", p, line)
        label = f"clusters[{i}]"
        nline = _line(node, "name", line)
        if node.get("name") is None:  # missing, or `- name:` with nothing after it: never skipped silently
            p.add(nline, f"{label}: name: " + ("missing" if "name" not in node else "empty"))
            continue
        name = _scalar(node, "name", p, line)
        if name is None:
            continue
        label = f"cluster {name}"
        if not NAME.fullmatch(name):
            p.add(
                nline,
                f"{label}: name: lower-case letters, digits, '-' and '.', at most 63 (a directory name)",
            )
        if name in seen:
            p.add(nline, f"{label}: duplicate name (first at line {seen[name]})")
        else:
            seen[name] = nline
        target = _scalar(node, "target", p, line) or d_target or "auto"
        if target not in TARGETS:
            if "target" in node:
                p.add(
                    _line(node, "target", line),
                    f"{label}: target: {escape.shown(target)}: valid: {', '.join(TARGETS)}",
                )
            target = "auto"
        profile = _scalar(node, "profile", p, line) or d_profile
        if profile is None:
            p.add(line, f"{label}: profile: missing (here or in defaults)")
            profile = ""
        elif "profile" in node:
            ok, hint = profile_ok(profile)
            if not ok:
                said = f"{label}: profile: unknown profile {escape.shown(profile)}{hint}"
                p.add(_line(node, "profile", line), said)
        files = d_files + check_files(_str_list(node, "values", node, p, line), f"{label}: ")
        own_sets = check_sets(_str_list(node, "set", node, p, line), f"{label}: ", "set")
        own_strings = check_sets(_str_list(node, "setString", node, p, line), f"{label}: ", "setString")
        labels = {**d_labels, **_labels(node, p, line)}
        context = _scalar(node, "context", p, line) or name
        specs.append(
            ClusterSpec(
                name=name,
                context=context,
                target=target,
                profile=profile,
                kubeconfig=_kubeconfig(root, _scalar(node, "kubeconfig", p, line) or d_kube),
                values=files,
                sets=d_given + own_sets + d_given_strings + own_strings,
                labels=labels,
                line=line,
                context_line=_line(node, "context", line),
            )
        )
    if p.lines:
        raise WorkspaceInvalid(p.lines)
    return Workspace(
        path=path,
        clusters=tuple(specs),
        profiles_dir=prof_dir,
        render_dir=dirs["renderDir"] or root / "rendered",
        snapshot_dir=dirs["snapshotDir"] or root / "snapshots",
    )


def _list_profiles(profiles_dir: Path | None) -> list[str]:
    from regplan.core import values

    return [name for name, _ in values.list_profiles(profiles_dir=profiles_dir)]
