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

Pure functions except ``write_tree``/``read_tree`` (files) - the callers pass what they read.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import fnmatch
import hashlib
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan import yamlio
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
    """The files ``output.write_dir`` writes for ``rendered`` (name -> text), in a scratch directory."""
    from regplan import output

    with tempfile.TemporaryDirectory(prefix="regplan-tree-") as tmp:
        out = Path(tmp) / "t"
        return {p.name: p.read_text(encoding="utf-8") for p in output.write_dir(rendered, out)}


def read_tree(root: Path, names: Sequence[str]) -> dict[str, str]:
    """``<root>/<name>/*`` for each cluster name -> {"name/file": text} (files only, one level)."""
    out: dict[str, str] = {}
    for name in names:
        d = root / name
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if f.is_file():
                    out[f"{name}/{f.name}"] = f.read_text(encoding="utf-8")
    return out


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
