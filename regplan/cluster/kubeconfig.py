"""Loading the client configuration: kubeconfig files checked first, kubectl-like messages, exit 4.

The ONE place kubeconfigs are found and read: the single-cluster path (``Cluster``, also when built in the
background by ``regplan.engine.prefetch``), every cluster of a workspace, and the workspace's check that each
selected context exists (``context_names``) call ``kubeconfig_paths`` and ``read_kubeconfig`` here.

``load_configuration`` reads ``--kubeconfig`` (several files joined with os.pathsep), else ``$KUBECONFIG``,
else ``~/.kube/config``, else the in-cluster service account. Before the client's loader sees a file,
regplan reads and checks it itself (``read_kubeconfig``, ``resolve``): size, encoding, YAML, nesting,
shape, the context and the cluster/user it names, base64 fields and referenced files. Every failure is a
``ClusterError`` (exit 4) with one sentence naming the file, never the loader's or the YAML library's
wording. The context is chosen as kubectl does (``--context``, else the first file's current-context) and
passed to the client's ``KubeConfigLoader`` explicitly (its own merger would take the last file's), with
only that context, its cluster and its user, copied from the documents already parsed (``_merged``).

A file is parsed once per run while it is unchanged (``read_kubeconfig`` caches by path, inode, size and
mtime): a workspace of 500 contexts in one kubeconfig parses it once, not once per cluster, and each
connection hands the client three small entries, not the whole file.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regplan.base import safeload, userfiles
from regplan.base.errors import ClusterError, InvalidInput, UnreadableInput
from regplan.base.escape import one_line as flat  # paths and names in messages: one line, escapes shown
from regplan.base.escape import safe_text_problem
from regplan.cluster.apierrors import one_line  # server text: whitespace folded, bounded

# Fields holding base64 data: (section, field).
BASE64_FIELDS: tuple[tuple[str, str], ...] = (
    ("cluster", "certificate-authority-data"),
    ("user", "client-certificate-data"),
    ("user", "client-key-data"),
)
# Fields naming a file, relative to the kubeconfig that holds them: (section, field).
FILE_FIELDS: tuple[tuple[str, str], ...] = (
    ("cluster", "certificate-authority"),
    ("user", "client-certificate"),
    ("user", "client-key"),
    ("user", "tokenFile"),
)


def invalid(path: str, why: str) -> ClusterError:
    return ClusterError(f"invalid kubeconfig {flat(path)}: {why}")


@dataclass
class Kubeconfig:
    """One parsed file: the named entries of each list (first of a name wins, as in kubectl)."""

    path: str
    doc: dict[str, Any]
    entries: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    """The context regplan will use and where its parts come from."""

    context: str
    context_file: str
    cluster: str
    cluster_entry: Mapping[str, Any]
    cluster_file: str
    user: str = ""  # "" when the context names no user
    user_file: str = ""
    warnings: tuple[str, ...] = ()


def kubeconfig_paths(kubeconfig: str | None, environ: Mapping[str, str]) -> list[str]:
    """The files to read, in order (empty: none configured and no ~/.kube/config)."""
    source = kubeconfig or environ.get("KUBECONFIG") or ""
    if source:
        return [os.path.expanduser(p) for p in source.split(os.pathsep) if p]
    default = os.path.expanduser("~/.kube/config")
    return [default] if os.path.exists(default) else []


def read_kubeconfig(path: str) -> Kubeconfig:
    """Read and check one file. Missing, a directory or another non-regular file (a FIFO would block),
    unreadable, too big, not UTF-8, not YAML, nested too deep, not a mapping, entries without names: each
    one sentence naming the file. Parsed once while unchanged; callers must not modify the result."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ClusterError(f"kubeconfig not found: {flat(path)}") from None
    except OSError as err:
        why = (err.strerror or str(err)).lower()
        raise ClusterError(f"cannot read kubeconfig {flat(path)}: {why}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ClusterError(f"kubeconfig {flat(path)} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise ClusterError(f"kubeconfig {flat(path)} is not a regular file")
    return _read_once(path, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))


@functools.lru_cache(maxsize=64)
def _read_once(path: str, identity: tuple[int, int, int, int]) -> Kubeconfig:
    """``_read`` for one version of the file (``identity``: device, inode, size, mtime)."""
    return _read(path)


def _read(path: str) -> Kubeconfig:
    if not os.path.exists(path):
        raise ClusterError(f"kubeconfig not found: {flat(path)}")
    try:  # regular files only: a FIFO or device is refused, never read (regplan.base.userfiles)
        raw = userfiles.read_regular(Path(path), what="kubeconfig", max_bytes=safeload.DEFAULT.max_bytes)
    except UnreadableInput as err:
        why = err.problem.partition(": ")[2].lower()
        raise ClusterError(f"cannot read kubeconfig {flat(path)}: {why}") from None
    try:  # the bounds every user file gets (size, depth, nodes after aliases), in the adapter's exit code
        doc = safeload.load_yaml(raw, source=path)
    except UnreadableInput as err:
        raise ClusterError(f"invalid kubeconfig {err}") from None
    if doc is None:
        raise invalid(path, "the file is empty (no clusters, contexts or users)")
    if not isinstance(doc, dict):
        found = "a list" if isinstance(doc, list) else f"a {type(doc).__name__} value"
        raise invalid(path, f"expected a mapping with clusters, contexts and users, found {found}")
    config = Kubeconfig(path, doc)
    for section, item in (("clusters", "cluster"), ("contexts", "context"), ("users", "user")):
        entries = doc.get(section) or []
        if not isinstance(entries, list):
            raise invalid(path, f"{section} must be a list")
        named: dict[str, dict[str, Any]] = {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
                raise invalid(path, f"{section}[{i}] has no name")
            body = entry.get(item)
            if body is not None and not isinstance(body, dict):
                raise invalid(path, f'{item} "{entry["name"]}" must be a mapping')
            named.setdefault(entry["name"], body or {})
        config.entries[section] = named
    current = doc.get("current-context")
    if current is not None and not isinstance(current, str):
        raise invalid(path, "current-context must be a string")
    return config


def _lookup(files: Sequence[Kubeconfig], section: str, name: str) -> tuple[dict[str, Any], str] | None:
    for f in files:
        if name in f.entries.get(section, {}):
            return f.entries[section][name], f.path
    return None


def _check_fields(section: str, name: str, entry: Mapping[str, Any], path: str) -> None:
    for where, key in BASE64_FIELDS:
        if where != section or key not in entry:
            continue
        value = entry[key]
        try:
            # YAML folding may leave line breaks in the data; kubectl's decoder ignores them too
            if not isinstance(value, str) or not base64.b64decode("".join(value.split()), validate=True):
                raise ValueError(key)
        except (binascii.Error, ValueError):
            raise invalid(path, f'{section} "{name}": {key} is not valid base64') from None
    for where, key in FILE_FIELDS:
        if where != section or not entry.get(key):
            continue
        ref = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(str(entry[key])))
        if not os.path.isfile(ref):
            raise invalid(path, f'{section} "{name}": {key} file {entry[key]} does not exist')


def _inside(path: str, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(root.resolve())


def repository_problem(files: Sequence[Kubeconfig], repository: Path | None) -> str | None:
    """Why kubeconfig files that a workspace names cannot be used, or None.

    A kubeconfig inside the git repository that holds the workspace is written by whoever can change the
    repository: a pull request, planned by CI on a runner that holds real credentials. Through it the pull
    request would choose the server that receives the runner's credentials (a token file, an exec
    plugin's token - or the plugin's program itself, run on the runner) and the objects regplan renders,
    Secrets read from the runner's ``env:`` and ``file:`` sources included. So such a file is not used at
    all (a symlink is judged by where it leads). Outside a git repository there is no one else's change to
    fear, and a kubeconfig is used as kubectl would (``repository`` None)."""
    if repository is None:
        return None
    inside = next((f for f in files if _inside(f.path, repository)), None)
    if inside is None:
        return None
    return (
        f"kubeconfig {flat(inside.path)} lies in the git repository {flat(str(repository))}: whoever can "
        "change the repository would choose the server that receives your credentials and the Secrets "
        "regplan renders; keep kubeconfigs outside it (defaults.kubeconfig: ~/.kube/NAME, or KUBECONFIG "
        "or --kubeconfig without kubeconfig: in regplan.yaml)"
    )


def _server_url_problem(server: str) -> str:
    """What is wrong with a server URL that regplan shows in messages and plans, or "". A user name,
    password, query or fragment in it is refused without being shown: it is where a pasted token or
    password would sit, and the URL is printed (errors, a plan's source, warnings) as it is."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(server)
    except ValueError:
        return "is not a URL"
    if "@" in parts.netloc:
        return "carries a user name or password (not shown): credentials belong in the kubeconfig's user"
    if parts.query or parts.fragment or server.rstrip().endswith(("?", "#")):
        return "has a query or fragment (not shown): a server URL is scheme://host:port[/path]"
    return ""


def resolve(files: Sequence[Kubeconfig], context: str | None) -> Resolved:
    """The context to use (``--context``, else the first current-context), with its cluster and user
    checked; kubectl's wording for the usual mistakes."""
    names = ", ".join(f.path for f in files)
    chosen = context or next((f.doc["current-context"] for f in files if f.doc.get("current-context")), "")
    if not chosen:
        raise ClusterError(f"no context selected: {flat(names)} sets no current-context; pass --context")
    found = _lookup(files, "contexts", chosen)
    if found is None:
        raise ClusterError(f'context "{flat(chosen)}" does not exist in {flat(names)}')
    ctx, ctx_file = found
    cluster_name = ctx.get("cluster")
    if not isinstance(cluster_name, str) or not cluster_name:
        raise invalid(ctx_file, f'context "{flat(chosen)}" names no cluster')
    cluster = _lookup(files, "clusters", cluster_name)
    if cluster is None:
        raise ClusterError(
            f'context "{flat(chosen)}" in {flat(ctx_file)} names cluster "{flat(cluster_name)}", '
            f"which does not exist in {flat(names)}"
        )
    cluster_entry, cluster_file = cluster
    if not cluster_entry.get("server"):
        raise invalid(cluster_file, f'cluster "{flat(cluster_name)}" has no server')
    server = cluster_entry["server"]
    if not isinstance(server, str):
        raise invalid(cluster_file, f'cluster "{flat(cluster_name)}": server must be a string')
    # a line break or control character would end up in a request line or a message as it is
    problem = safe_text_problem(server) or ("contains a space" if any(c.isspace() for c in server) else "")
    if problem:
        raise invalid(cluster_file, f'cluster "{flat(cluster_name)}": server {problem}')
    problem = _server_url_problem(server)
    if problem:
        raise invalid(cluster_file, f'cluster "{flat(cluster_name)}": server {problem}')
    _check_fields("cluster", cluster_name, cluster_entry, cluster_file)
    user_name = ctx.get("user")
    if user_name:
        user = _lookup(files, "users", str(user_name))
        if user is None:
            raise ClusterError(
                f'context "{flat(chosen)}" in {flat(ctx_file)} names user "{flat(str(user_name))}", '
                f"which does not exist in {flat(names)}"
            )
        _check_fields("user", str(user_name), user[0], user[1])
    user_file = user[1] if user_name and user is not None else ""
    warnings: list[str] = []
    if cluster_entry.get("insecure-skip-tls-verify") is True:
        warnings.append(
            f"TLS verification is off for {cluster_entry['server']} (insecure-skip-tls-verify in cluster "
            f'"{flat(cluster_name)}" of {flat(cluster_file)}): the server\'s identity is not checked'
        )
    return Resolved(
        chosen, ctx_file, cluster_name, cluster_entry, cluster_file, str(user_name or ""), user_file,
        tuple(warnings),
    )  # fmt: skip


def read_files(kubeconfig: str | None, environ: Mapping[str, str]) -> list[Kubeconfig]:
    """The configured kubeconfigs, read and checked: the files of ``kubeconfig_paths`` that exist (a
    missing one in a list is skipped, as kubectl does; none at all is an error); [] when none is
    configured (in-cluster)."""
    paths = kubeconfig_paths(kubeconfig, environ)
    if not paths:
        return []
    present = [p for p in paths if os.path.exists(p)]
    if not present:
        raise ClusterError(f"kubeconfig not found: {flat(', '.join(paths))}")
    return [read_kubeconfig(p) for p in present]


def context_names(kubeconfig: str | None, environ: Mapping[str, str]) -> tuple[list[str], set[str]]:
    """(the files, the context names they hold), read as a connection reads them (``read_files``): what a
    workspace checks its contexts against before any cluster is contacted. Raises ClusterError for a file
    that cannot be read (naming it)."""
    files = read_files(kubeconfig, environ)
    names: set[str] = set()
    for f in files:
        names.update(f.entries.get("contexts", {}))
    return [f.path for f in files], names


def load_configuration(
    kubeconfig: str | None, context: str | None, environ: Mapping[str, str] = os.environ
) -> tuple[Any, tuple[str, ...]]:
    """(a ``kubernetes.client.Configuration``, warnings to show the user once)."""
    from regplan.cluster.clientimport import client_modules  # the client's path only

    configuration, _, kube_config = client_modules()
    from kubernetes.config.config_exception import ConfigException

    cfg = configuration.Configuration()
    files = read_files(kubeconfig, environ)
    warnings: tuple[str, ...] = ()
    if files:
        present = [f.path for f in files]
        resolved = resolve(files, context)
        warnings = resolved.warnings
        try:
            loader = kube_config.KubeConfigLoader(
                config_dict=_merged(files, resolved, kube_config.ConfigNode),
                active_context=resolved.context,
                config_base_path=None,  # relative paths: from the file each entry came from
            )
            loader.load_and_set(cfg)
        except (ConfigException, ValueError, TypeError, KeyError, AttributeError, OSError) as err:
            # the checks above cover the known mistakes; anything else still names the file, exit 4
            raise ClusterError(
                f'invalid kubeconfig {", ".join(present)}: context "{resolved.context}" cannot be used '
                f"({one_line(_plain(err), 200)})"
            ) from None
    elif environ.get("KUBERNETES_SERVICE_HOST"):
        if context:
            raise InvalidInput("--context needs a kubeconfig; none found (in-cluster config has no contexts)")
        from kubernetes.config import incluster_config

        incluster: Any = incluster_config  # untyped
        try:
            incluster.load_incluster_config(client_configuration=cfg)
        except ConfigException as err:
            raise ClusterError(f"in-cluster configuration unusable: {one_line(_plain(err), 200)}") from None
    else:
        raise ClusterError(
            "no cluster configured: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, "
            "or run in a pod (in-cluster)"
        )
    # Our own retry policy decides what may be repeated (urllib3's default would resend reads silently
    # and hide the count of requests).
    cfg.retries = False
    return cfg, warnings


def _merged(files: Sequence[Kubeconfig], resolved: Resolved, config_node: Any) -> Any:
    """What the client's ``KubeConfigMerger`` would give for ``resolved``: the chosen context, its cluster
    and its user, each remembering its file (relative paths resolve against it), copied from the documents
    already read (the cached documents are never handed to the client, which may write into them). The
    files are not parsed a second time, and the client never walks the other contexts."""
    first = files[0]
    sections = ("clusters", "contexts", "users")
    merged: dict[str, Any] = {k: v for k, v in first.doc.items() if k not in sections}
    merged.update({section: [] for section in sections})
    chosen = (
        ("contexts", "context", resolved.context, resolved.context_file),
        ("clusters", "cluster", resolved.cluster, resolved.cluster_file),
        ("users", "user", resolved.user, resolved.user_file),
    )
    by_path = {f.path: f for f in files}
    for section, item, name, path in chosen:
        if not name:
            continue
        body = copy.deepcopy(by_path[path].entries[section][name])
        merged[section].append(config_node(f"{path}/{name}", {"name": name, item: body}, path))
    return config_node(first.path, merged, first.path)


def _plain(err: BaseException) -> str:
    """The loader's message without its "Invalid kube-config file." preamble."""
    text = str(err)
    for prefix in ("Invalid kube-config file. ", "Invalid kube-config. "):
        text = text.removeprefix(prefix)
    return text
