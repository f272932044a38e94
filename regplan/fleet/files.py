"""Files a fleet repository commits: rendered manifests per cluster, and recorded live state per cluster.

Both are meant for git, so neither may hold a secret value:

- **Rendered trees** (``regplan render`` / ``golden`` in a workspace, and the Argo CD plugin): a cluster's
  profile is rendered with PLACEHOLDER secrets, and every Secret whose data depends on a secret input
  (the 4.x S3 credentials Secret; on 3.x the ``registry-config`` Secret when its config.yml embeds S3
  keys) is LEFT OUT. Why left out rather than generated: a kustomize ``secretGenerator`` would need the
  key material at build time on the machine that builds (CI, the Argo CD repo server), i.e. a second
  place holding the credentials; regplan already reads them from their ``env:``/``file:`` sources when it
  applies, and ``regplan render -p ... -o oc`` prints the ``oc create secret`` command that reads them
  from the same sources. Placeholders also make rendering work in CI without any credential, and the
  output does not change when a key is rotated (no diff to review that says nothing).
- **Snapshots** (``regplan snapshot``): recorded, redacted and written by ``regplan.engine.recording`` (their
  one home).
- **Plan directories** (``plan --out DIR``, ``apply --plan-dir DIR``): ``save_plans``, ``plan_dir_files``.

Pure functions except the tree's reads and staged writes (``read_tree``, ``stale_dirs``, ``stage_tree``,
``stage_prune``), which go through the file layer (``userfiles``): no symlink followed, only the files
regplan recorded writing are ever removed, everything committed at once.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan.base import safeload, userfiles
from regplan.base.errors import InvalidInput
from regplan.base.escape import one_line
from regplan.base.model import Obj, Ref

if TYPE_CHECKING:
    from regplan.core.render import Rendered
    from regplan.core.values import Values

PLACEHOLDER = "regplan-placeholder-for-{key}"


# --- rendering for git -------------------------------------------------------------------------------


def values_for_git(
    profile: str,
    *,
    files: Sequence[Path],
    sets: Sequence[str],
    profiles_dir: Path | None,
) -> Values:
    """The cluster's values with every secret input replaced by a placeholder (no environment read).

    Reading a secret source is not needed to render what goes to git, and must not be: CI has no keys.
    A source that cannot be read is therefore not a problem here; a literal secret still is (rules).
    """
    from regplan.core import values

    vals = values.load_values(
        profile, files=list(files), sets=list(sets), profiles_dir=profiles_dir, environ={}
    )
    source_keys = set(values.SECRET_SOURCES.values())
    vals.problems = [d for d in vals.problems if d.key not in source_keys]
    for key, source_key in values.SECRET_SOURCES.items():
        source = vals.get(source_key)
        if (
            isinstance(source, str)
            and source.partition(":")[0] in ("env", "file")
            and source.partition(":")[2]
        ):
            vals.secrets[key] = values.SecretValue(key, source, PLACEHOLDER.format(key=key))
    return vals


def _decoded(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return b""


def holds_secret_input(obj: Obj, vals: Values) -> bool:
    """A Secret whose data carries one of the placeholders, i.e. would carry a credential."""
    if obj.get("kind") != "Secret":
        return False
    marks = [PLACEHOLDER.format(key=k).encode() for k in vals.secrets]
    blobs = [_decoded(v) for v in (obj.get("data") or {}).values()]
    blobs += [str(v).encode() for v in (obj.get("stringData") or {}).values()]
    return any(m in b for m in marks for b in blobs)


def for_git(rendered: Rendered) -> tuple[Rendered, list[Ref]]:
    """``rendered`` without the Secrets that would hold credentials, and the Refs left out."""
    from regplan.core.render import Rendered as RenderedCls

    kept = [o for o in rendered.objects if not holds_secret_input(o, rendered.values)]
    left_out = [Ref.of(o) for o in rendered.objects if holds_secret_input(o, rendered.values)]
    return (
        RenderedCls(target=rendered.target, profile=rendered.profile, values=rendered.values, objects=kept),
        left_out,
    )


def tree_files(rendered: Rendered) -> dict[str, str]:
    """The files ``output.write_dir`` writes for ``rendered`` (name -> text)."""
    return {name: text for name, text, _ in dir_files(rendered)}


def dir_files(rendered: Rendered) -> list[tuple[str, str, bool]]:
    """(name, text, holds a secret) of one cluster's directory: exactly what ``output.write_dir`` writes."""
    from regplan.present import output

    return output.dir_files(rendered)


# --- the rendered tree on disk (through the file layer: no symlink followed, only regplan's files) -------

NOT_TEXT = "(not UTF-8 text, {size} bytes: regplan writes only UTF-8 here)\n"
TOO_LARGE = "(larger than {limit} bytes: regplan writes no such file here)\n"


def tree_root(base: Path, out_dir: Path) -> tuple[userfiles.Root, str]:
    """The root and the directory under it of a workspace's rendered tree: when ``out_dir`` lies in the
    workspace (``base``), every component below the workspace is walked without following a symlink."""
    return userfiles.Root.under(base, out_dir)


def _read(root: userfiles.Root, rel: str, what: str) -> bytes | None:
    """One of regplan's files in the tree, cut after the bound (``_text`` shows a larger one as differing)."""
    return root.read(rel, what=what, larger="cut")


def _text(data: bytes) -> str:
    if len(data) > userfiles.TREE_FILE_BYTES:
        return TOO_LARGE.format(limit=userfiles.TREE_FILE_BYTES)  # differs from anything rendered
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_TEXT.format(size=len(data))  # differs from anything regplan renders: shown as a change


def read_tree(
    root: userfiles.Root, rel_dir: str, names: Sequence[str], wanted: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``<rel_dir>/<name>/<file>`` for each cluster name -> {"name/file": text}: regplan's files only,
    i.e. those it renders now (``wanted``, keyed "name/file") and those its own kustomization.yaml there
    records (``output.owned_files``); anything else in the directory is someone else's and is neither read
    nor shown. A symlink or a special file at one of regplan's names is refused (exit 3, naming it), never
    followed or opened; a file that is not UTF-8 reads as a note that differs from anything rendered."""
    from regplan.present import output

    out: dict[str, str] = {}
    for name in names:
        sub = f"{rel_dir}/{name}" if rel_dir else name
        entries = root.entries(sub)
        if entries is None:
            continue
        kust = (
            _read(root, f"{sub}/{output.KUSTOMIZATION}", output.KUSTOMIZATION)
            if any(f == output.KUSTOMIZATION and k == "file" for f, k in entries)
            else None
        )
        ours = {output.KUSTOMIZATION, *(output.owned_files(kust) or [])}
        ours |= {k.split("/", 1)[1] for k in (wanted or {}) if k.split("/", 1)[0] == name}
        for fname, kind in entries:
            if fname not in ours:
                continue
            if kind != "file":
                raise userfiles.FileRefused(
                    f"{root.show(sub + '/' + fname)}: is {userfiles.kind_words(kind)}; the rendered tree "
                    "holds regular files only (regplan does not follow or read it)"
                )
            data = _read(root, f"{sub}/{fname}", "rendered file")
            if data is not None:
                out[f"{name}/{fname}"] = _text(data)
    return out


def stale_dirs(root: userfiles.Root, rel_dir: str, names: Sequence[str]) -> dict[str, list[str]]:
    """Directories under ``rel_dir`` rendered by regplan for clusters not in ``names``, with the files
    regplan wrote there (its kustomization.yaml's record, ``output.owned_files``). A directory without
    regplan's kustomization.yaml is not regplan's (a hand-written ``base/``) and is not listed."""
    from regplan.present import output

    out: dict[str, list[str]] = {}
    for name, kind in root.entries(rel_dir) or []:
        if kind != "dir" or name in names:
            continue
        sub = f"{rel_dir}/{name}" if rel_dir else name
        owned = output.owned_files(_read(root, f"{sub}/{output.KUSTOMIZATION}", output.KUSTOMIZATION))
        if owned is not None:
            out[name] = [*owned, output.KUSTOMIZATION]
    return out


def stage_tree(
    changes: userfiles.Changes, rel_dir: str, dirs: Mapping[str, list[tuple[str, str, bool]]]
) -> list[str]:
    """Add each cluster's directory to ``changes`` (``output.stage_dir``); the names whose files change."""
    from regplan.present import output

    changed = []
    for name, files in dirs.items():
        sub = f"{rel_dir}/{name}" if rel_dir else name
        before = read_tree(changes.root, rel_dir, [name], {f"{name}/{f}": t for f, t, _ in files})
        output.stage_dir(changes, sub, files)
        if any(before.get(f"{name}/{f}") != text for f, text, _ in files):
            changed.append(name)
    return changed


def stage_prune(changes: userfiles.Changes, rel_dir: str, stale: Mapping[str, list[str]]) -> None:
    """Remove regplan's files from each stale directory, then the directory if nothing else is left."""
    for name, files in stale.items():
        sub = f"{rel_dir}/{name}" if rel_dir else name
        for f in files:
            changes.remove(f"{sub}/{f}")
        changes.remove_dir(sub)


def tree_diff(present: Mapping[str, str], wanted: Mapping[str, str], label: str) -> tuple[str, int, int]:
    """A unified diff (a/ = committed, b/ = what regplan renders now); (text, differing, stale)."""
    out: list[str] = []
    changed = [k for k in sorted(wanted) if present.get(k) != wanted[k]]
    stale = sorted(set(present) - set(wanted))
    for rel in changed:
        old = present.get(rel)
        out += difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            wanted[rel].splitlines(keepends=True),
            f"a/{one_line(label)}/{one_line(rel)}" if old is not None else "/dev/null",
            f"b/{one_line(label)}/{one_line(rel)}",
        )
    for rel in stale:
        out += difflib.unified_diff(
            present[rel].splitlines(keepends=True), [], f"a/{one_line(label)}/{one_line(rel)}", "/dev/null"
        )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in out)
    return text, len(changed), len(stale)


# --- plan directories (through the file layer) ----------------------------------------

PLAN_SUFFIX = ".json"


PLAN_BYTES = safeload.DEFAULT.max_bytes  # the plan file bound; a larger file is no plan of regplan's


def _is_plan_file(data: bytes | None) -> bool:
    """Did regplan write this? A plan file is a JSON object carrying regplan's ``formatVersion``."""
    if data is None or len(data) > PLAN_BYTES:
        return False
    try:
        doc = json.loads(data)
    except ValueError:
        return False
    return isinstance(doc, dict) and "formatVersion" in doc and "writes" in doc


def check_out_dir(out_dir: Path, flag: str, *, base: Path | None = None) -> None:
    """A directory an option names for regplan to write into (``plan --out DIR``, ``snapshot --out-dir``),
    checked before any cluster is contacted: a symlink, FIFO or file there (or on the way) is refused in the
    file layer's words, walked as the write will walk it (under ``base``, the workspace, when it lies there);
    absent is fine (the write creates it)."""
    root, rel = userfiles.Root.under(base, out_dir) if base is not None else userfiles.Root.for_path(out_dir)
    try:
        root.check_dir(rel)
    except InvalidInput as err:
        raise InvalidInput(f"{flag}: {err}; nothing was done") from None


def save_plans(plans: Mapping[str, str | None], out_dir: Path) -> list[Path]:
    """``<out_dir>/<cluster>.json`` for each cluster with a plan (its JSON text), committed at once; for a
    cluster whose plan is None, the plan file regplan wrote before is removed (a file there that is not a
    regplan plan is left alone). No symlink is followed (``userfiles``)."""
    root, rel = userfiles.Root.for_path(out_dir)
    changes = userfiles.Changes(root)
    written = []
    try:
        for name, text in plans.items():
            path = f"{rel}/{name}{PLAN_SUFFIX}"
            # what is there now, read no further than a plan's bound (cut: then not a plan of regplan's)
            existing = root.read(path, what="plan file", max_bytes=PLAN_BYTES, larger="cut")
            if text is not None:
                if existing is not None and not _is_plan_file(existing):  # replace only regplan's own
                    raise userfiles.FileRefused(
                        f"{root.show(path)}: not a plan file regplan wrote, and regplan replaces only its "
                        "own files: move it away or save the plans in another directory"
                    )
                changes.write(path, text)
                written.append(out_dir / f"{name}{PLAN_SUFFIX}")
            elif _is_plan_file(existing):
                changes.remove(path)
        changes.commit()
    except InvalidInput as err:
        raise InvalidInput(f"--out: {err}") from None
    return written


def plan_dir_files(plan_dir: Path) -> dict[str, Path]:
    """The plan files of ``apply --plan-dir DIR``: ``<cluster>.json`` -> path. A symlink, FIFO or other
    non-regular entry named ``*.json`` is refused (exit 3, naming it) before anything is read."""
    root, rel = userfiles.Root.for_path(plan_dir)
    try:  # a symlink, FIFO or file there is refused naming what it is (the file layer's words)
        entries = root.entries(rel)
    except InvalidInput as err:
        raise InvalidInput(f"--plan-dir: {err}; nothing was applied") from None
    if entries is None:
        raise InvalidInput(
            f"--plan-dir {plan_dir}: no such directory (save plans with `regplan plan --out DIR`)"
        )
    out: dict[str, Path] = {}
    for name, kind in entries:
        if not name.endswith(PLAN_SUFFIX):
            continue
        if kind != "file":
            raise InvalidInput(
                f"--plan-dir {plan_dir}: {one_line(name)} is {userfiles.kind_words(kind)}; plan files must "
                "be regular files (nothing was applied)"
            )
        out[name[: -len(PLAN_SUFFIX)]] = plan_dir / name
    return out
