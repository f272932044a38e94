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
- **Snapshots** (``regplan snapshot``): what ``plan``/``status`` read from a cluster, as a ``v1 List``
  that ``plan --snapshot`` reads back. Secret values are replaced: each data key by ``(redacted)`` (a
  registry config.yml keeps its structure, its credential fields redacted), with the SHA-256 of every
  original value in the annotation ``regplan.io/redacted-digests``, so that a plan against the snapshot
  compares Secret values by digest (``unredact``) and shows no change when they match. Env values of the
  3.x DeploymentConfig whose names look secret are redacted too; ``last-applied-configuration``
  annotations (a copy of a whole object, Secret data included) and managedFields are dropped.

Pure functions except the tree's reads and staged writes (``read_tree``, ``stale_dirs``, ``stage_tree``,
``stage_prune``), which go through the file layer (``userfiles``): no symlink followed, only the files
regplan recorded writing are ever removed, everything committed at once.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import fnmatch
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan import userfiles, yamlio
from regplan.errors import InvalidInput
from regplan.model import LiveState, Obj, Ref, event_time, sort_key

if TYPE_CHECKING:
    from regplan.render import Rendered
    from regplan.values import Values

PLACEHOLDER = "regplan-placeholder-for-{key}"
REDACTED = "(redacted)"
DIGESTS_ANNOTATION = "regplan.io/redacted-digests"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CONFIG_SUFFIXES = (".yml", ".yaml")
# Fields of a registry config.yml whose values are credentials (lower-cased key names).
CONFIG_SECRET_KEYS = ("accesskey", "secretkey", "password", "key", "accountkey", "secret", "sessiontoken")
# Fields outside Secrets that hold a secret, one row per (kind, dotted path) with the reason.
REDACT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("Config", "spec.httpSecret", "the registry's HTTP secret signs upload state; the operator generates it"),
)
# Env var names whose values are credentials (the 3.x DeploymentConfig may carry S3 keys inline) ...
SECRET_ENV = ("*SECRET*", "*KEY", "*ACCESSKEY*", "*PASSWORD*", "*TOKEN*")
# ... except names whose value is a file path (REGISTRY_HTTP_TLS_KEY=/etc/secrets/tls.key).
PATH_ENV = ("*_TLS_KEY", "*_TLS_CERTIFICATE", "*_TLS_CLIENTCAS_*", "*_FILE", "*_PATH")


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
    from regplan import values

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
    from regplan.render import Rendered as RenderedCls

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
    from regplan import output

    return output.dir_files(rendered)


# --- the rendered tree on disk (through the file layer: no symlink followed, only regplan's files) -------

NOT_TEXT = "(not UTF-8 text, {size} bytes: regplan writes only UTF-8 here)\n"


def tree_root(base: Path, out_dir: Path) -> tuple[userfiles.Root, str]:
    """The root and the directory under it of a workspace's rendered tree: when ``out_dir`` lies in the
    workspace (``base``), every component below the workspace is walked without following a symlink."""
    return userfiles.Root.under(base, out_dir)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_TEXT.format(size=len(data))  # differs from anything regplan renders: shown as a change


def read_tree(root: userfiles.Root, rel_dir: str, names: Sequence[str]) -> dict[str, str]:
    """``<rel_dir>/<name>/*`` for each cluster name -> {"name/file": text} (files only, one level). A
    symlink or a special file there is refused (exit 3, naming it), never followed or opened; a file that
    is not UTF-8 reads as a note that differs from anything rendered."""
    out: dict[str, str] = {}
    for name in names:
        sub = f"{rel_dir}/{name}" if rel_dir else name
        for fname, kind in root.entries(sub) or []:
            if kind == "dir":
                continue
            if kind != "file":
                what = "a symlink" if kind == "symlink" else "not a regular file"
                raise userfiles.FileRefused(
                    f"{root.show(sub + '/' + fname)}: is {what}; the rendered tree holds regular files only "
                    "(regplan does not follow or read it)"
                )
            data = root.read(f"{sub}/{fname}", what="rendered file")
            if data is not None:
                out[f"{name}/{fname}"] = _text(data)
    return out


def stale_dirs(root: userfiles.Root, rel_dir: str, names: Sequence[str]) -> dict[str, list[str]]:
    """Directories under ``rel_dir`` rendered by regplan for clusters not in ``names``, with the files
    regplan wrote there (its kustomization.yaml's record, ``output.owned_files``). A directory without
    regplan's kustomization.yaml is not regplan's (a hand-written ``base/``) and is not listed."""
    from regplan import output

    out: dict[str, list[str]] = {}
    for name, kind in root.entries(rel_dir) or []:
        if kind != "dir" or name in names:
            continue
        sub = f"{rel_dir}/{name}" if rel_dir else name
        owned = output.owned_files(root.read(f"{sub}/{output.KUSTOMIZATION}", what=output.KUSTOMIZATION))
        if owned is not None:
            out[name] = [*owned, output.KUSTOMIZATION]
    return out


def stage_tree(
    changes: userfiles.Changes, rel_dir: str, dirs: Mapping[str, list[tuple[str, str, bool]]]
) -> list[str]:
    """Add each cluster's directory to ``changes`` (``output.stage_dir``); the names whose files change."""
    from regplan import output

    changed = []
    for name, files in dirs.items():
        sub = f"{rel_dir}/{name}" if rel_dir else name
        before = read_tree(changes.root, rel_dir, [name])
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
            f"a/{label}/{rel}" if old is not None else "/dev/null",
            f"b/{label}/{rel}",
        )
    for rel in stale:
        out += difflib.unified_diff(
            present[rel].splitlines(keepends=True), [], f"a/{label}/{rel}", "/dev/null"
        )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in out)
    return text, len(changed), len(stale)


# --- snapshots ---------------------------------------------------------------------------------------


def _digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _redact_config(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (REDACTED if str(k).lower() in CONFIG_SECRET_KEYS else _redact_config(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_redact_config(v) for v in node]
    return node


def _redacted_value(key: str, raw: bytes) -> str:
    if key.endswith(CONFIG_SUFFIXES):
        try:
            docs = yamlio.load_all_safe(raw.decode("utf-8"), key)
        except (UnicodeDecodeError, InvalidInput):
            docs = []
        if len(docs) == 1 and isinstance(docs[0], dict):
            text = yamlio.dump(_redact_config(docs[0]), reorder=False)
            return base64.b64encode(text.encode()).decode()
    return base64.b64encode(REDACTED.encode()).decode()


def _secret_env(name: str, value: str) -> bool:
    upper = name.upper()
    is_path = value.startswith("/") and any(fnmatch.fnmatchcase(upper, p) for p in PATH_ENV)
    return any(fnmatch.fnmatchcase(upper, p) for p in SECRET_ENV) and not is_path


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
            digests[key] = _digest(raw)
            data[key] = _redacted_value(key, raw)
        out.pop("stringData", None)
        if digests:
            annotations[DIGESTS_ANNOTATION] = json.dumps(digests, sort_keys=True)
    for kind, dotted, _why in REDACT_FIELDS:
        if out.get("kind") != kind:
            continue
        *parents, leaf = dotted.split(".")
        node: Any = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(leaf) not in (None, ""):
            node[leaf] = REDACTED
    if out.get("kind") == "DeploymentConfig":
        for c in ((out.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
            for e in c.get("env") or []:
                if "value" in e and _secret_env(str(e.get("name")), str(e["value"])):
                    e["value"] = REDACTED
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return out


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
            if key in data and isinstance(digests, dict) and digests.get(key) == _digest(_decoded(value)):
                data[key] = value
        out.append(copy_)
    return out


def _pod(namespace: str, name: str, claim: str) -> Obj:
    """The part of a Pod that says it mounts ``claim`` (all a plan reads of pods)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"volumes": [{"name": "registry-storage", "persistentVolumeClaim": {"claimName": claim}}]},
        "status": {"phase": "Running"},
    }


def snapshot_objects(states: Sequence[LiveState], claims: Sequence[tuple[str, str]]) -> list[Obj]:
    """Everything the states hold, as the objects a snapshot file lists (redacted, deterministic order)."""
    objs: dict[tuple[str, str, str, str], Obj] = {}

    def put(o: Obj) -> None:
        meta = o.get("metadata") or {}
        objs[(str(o.get("apiVersion")), str(o.get("kind")), meta.get("namespace") or "", meta["name"])] = o

    for st in states:
        for o in st.objects.values():
            put(o)
        for o in st.storage_classes.values():
            put(o)
        for events in st.events.values():
            for e in events:
                put(e)
        for claim, pods in st.pods_using_claim.items():
            ns = next((n for n, c in claims if c == claim), "")
            for pod in pods:
                put(_pod(ns, pod, claim))
    events = sorted((o for o in objs.values() if o.get("kind") == "Event"), key=event_time)
    rest = sorted((o for o in objs.values() if o.get("kind") != "Event"), key=sort_key)
    return [redact(o) for o in rest + events]


def snapshot_text(objects: Sequence[Obj], header: str) -> str:
    """A ``v1 List`` document (what ``oc get -o yaml`` prints), with a comment header."""
    body = yamlio.dump({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return lines + body


# --- plan directories and snapshot files (through the file layer) ----------------------------------------

PLAN_SUFFIX = ".json"


def _is_plan_file(data: bytes | None) -> bool:
    """Did regplan write this? A plan file is a JSON object carrying regplan's ``formatVersion``."""
    if data is None:
        return False
    try:
        doc = json.loads(data)
    except ValueError:
        return False
    return isinstance(doc, dict) and "formatVersion" in doc and "writes" in doc


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
            if text is not None:
                changes.write(path, text)
                written.append(out_dir / f"{name}{PLAN_SUFFIX}")
            elif root.kind(path) == "file" and _is_plan_file(root.read(path, what="plan file")):
                changes.remove(path)
        changes.commit()
    except InvalidInput as err:
        raise InvalidInput(f"--out {out_dir}: {err}") from None
    return written


def plan_dir_files(plan_dir: Path) -> dict[str, Path]:
    """The plan files of ``apply --plan-dir DIR``: ``<cluster>.json`` -> path. A symlink, FIFO or other
    non-regular entry named ``*.json`` is refused (exit 3, naming it) before anything is read."""
    root, rel = userfiles.Root.for_path(plan_dir)
    try:
        kind = root.kind(rel)
        entries = root.entries(rel) if kind == "dir" else None
    except InvalidInput as err:
        raise InvalidInput(f"--plan-dir {plan_dir}: {err}") from None
    if entries is None:
        raise InvalidInput(
            f"--plan-dir {plan_dir}: not a directory (save plans with `regplan plan --out DIR`)"
        )
    out: dict[str, Path] = {}
    for name, kind in entries:
        if not name.endswith(PLAN_SUFFIX):
            continue
        if kind != "file":
            what = {"symlink": "a symlink", "dir": "a directory"}.get(kind, "not a regular file")
            raise InvalidInput(
                f"--plan-dir {plan_dir}: {name} is {what}; plan files must be regular files (nothing was "
                "applied)"
            )
        out[name[: -len(PLAN_SUFFIX)]] = plan_dir / name
    return out


def write_snapshot(base: Path, path: Path, text: str) -> None:
    """One snapshot file, atomically, no symlink followed under the workspace ``base`` (``userfiles``)."""
    root, rel = userfiles.Root.under(base, path)
    changes = userfiles.Changes(root)
    try:
        changes.write(rel, text)
        changes.commit()
    except InvalidInput as err:
        raise InvalidInput(f"{path}: cannot write the snapshot: {err}") from None
