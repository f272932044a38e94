"""A command over many clusters: each selected cluster of a workspace, concurrently, one outcome each.

``run_many`` is the engine: a bounded pool (``--parallelism``) runs one function per cluster; an expected
error (``RegplanError``: unreachable, 403, invalid values, stale...) becomes THAT cluster's outcome with
its exit code and never stops the others; ``max_failures`` stops STARTING clusters after that many
failures (those running finish), the rest are "not started". Results come back in workspace order and the
fleet's exit code is the most severe (``fleetviews.SEVERITY``).

The per-cluster bodies reuse the single-cluster pipeline unchanged: ``workflow.make_plan`` (render, read,
plan, server dry run), ``workflow.status_data``, ``workflow.load_plan`` and ``apply.apply_plan`` (stale
check, Lease lock, waits). Each cluster gets its own ``workflow.Live`` (its own connection, context and
kubeconfig). Nothing here prints: progress goes to a callback with the cluster's name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan import fleetfiles, recording, workflow
from regplan import workspace as wsmod
from regplan.errors import ExitCode, InvalidInput, RegplanError
from regplan.fleetviews import Outcome, most_severe
from regplan.model import Obj, Target
from regplan.workspace import ClusterSpec, Workspace

if TYPE_CHECKING:
    from regplan.plan import Plan
    from regplan.render import Rendered

# Clusters worked on at once. Each plan is ~2 round trips and ~35 ms of CPU (render, YAML, TLS; one
# core: the GIL), so a few clusters in flight already hide a 50 ms link; measured on 2 cores
# (bench/fleet_bench.py) 8 was as fast as 16-50, with fewer TLS connections open at once.
DEFAULT_PARALLELISM = 8
Say = Callable[[str, str], Any]  # (cluster name, message)


def _quiet(_name: str, _msg: str) -> None:
    return None


# --- the engine ------------------------------------------------------------------------------------------


def _failed(o: Outcome) -> bool:
    return o.code not in (ExitCode.OK, ExitCode.CHANGES) or bool(o.error)


def run_many(
    specs: Sequence[ClusterSpec],
    body: Callable[[ClusterSpec], Outcome],
    *,
    parallelism: int = DEFAULT_PARALLELISM,
    max_failures: int | None = None,
    already_failed: int = 0,
) -> list[Outcome]:
    """``body`` for every spec on at most ``parallelism`` threads; outcomes in the order of ``specs``.
    ``already_failed``: failures before this run (clusters whose plan failed) count toward
    ``max_failures``."""
    if parallelism < 1:
        raise InvalidInput(f"--parallelism {parallelism}: must be at least 1")
    if max_failures is not None and max_failures < 1:
        raise InvalidInput(f"--max-failures {max_failures}: must be at least 1")
    lock = threading.Lock()
    failures = [already_failed]

    def one(spec: ClusterSpec) -> Outcome:
        with lock:
            if max_failures is not None and failures[0] >= max_failures:
                return Outcome(
                    spec.name, spec.context, spec.profile, spec.target, ExitCode.OK, "", state="not started",
                    labels=spec.labels,
                )  # fmt: skip
        t0 = time.monotonic()
        try:
            out = body(spec)
        except RegplanError as err:
            out = _error(spec, err.exit_code, str(err))
        except Exception as err:  # a bug on one cluster must not hide the others' results
            out = _error(spec, ExitCode.UNEXPECTED, f"unexpected error: {type(err).__name__}: {err}")
        out.seconds = time.monotonic() - t0
        if _failed(out):
            with lock:
                failures[0] += 1
        return out

    with ThreadPoolExecutor(max_workers=min(parallelism, max(1, len(specs)))) as pool:
        return list(pool.map(one, specs))


def _error(spec: ClusterSpec, code: ExitCode, message: str) -> Outcome:
    return Outcome(
        spec.name, spec.context, spec.profile, spec.target, code, message, state="failed", labels=spec.labels
    )


def code_of(outcomes: Sequence[Outcome]) -> ExitCode:
    return most_severe([o.code for o in outcomes])


# --- where a cluster's live state comes from -------------------------------------------------------------

_CLIENT_IMPORT = threading.Lock()
_client_ready = [False]


def _connect(live: workflow.Live) -> None:
    """Open the first connection under a lock: the client is imported on first use (lean, with stand-in
    modules: ``regplan.cluster``), which must not run in several threads at once."""
    if _client_ready[0]:
        return
    with _CLIENT_IMPORT:
        try:
            live.cluster  # noqa: B018  # constructs (and imports) once
        finally:
            _client_ready[0] = True


class SnapshotLive(workflow.Live):
    """Live state from a recorded snapshot whose Secret values are compared by digest (fleetfiles)."""

    def __init__(self, path: Path, objects: list[Obj], source: str) -> None:
        super().__init__(snapshot=path, kubeconfig=None, context=None, source=source)
        self._fixed = objects

    def snapshot_objects(self) -> list[Obj]:
        return self._fixed


def snapshot_path(snapshot_dir: Path, spec: ClusterSpec) -> Path:
    return snapshot_dir / f"{spec.name}.yaml"


def _snapshot_live(
    ws: Workspace, spec: ClusterSpec, snapshot_dir: Path, environ: Mapping[str, str]
) -> SnapshotLive:
    from regplan import render, snapshot, values

    path = snapshot_path(snapshot_dir, spec)
    if not path.is_file():
        raise InvalidInput(
            f"{ws.relative(path)}: no snapshot of {spec.name}; record one with `regplan snapshot`"
        )
    objects = snapshot.read_objects(path)
    shown = ws.relative(path)
    target = Target(spec.target) if spec.target != "auto" else snapshot.detect_target(objects, shown)
    vals = values.load_values(
        spec.profile,
        files=list(spec.values),
        sets=list(spec.sets),
        profiles_dir=ws.profiles_dir,
        environ=environ,
    )
    try:
        desired = render.render(vals, target).objects
    except RegplanError:
        desired = []  # make_plan renders again and reports it
    return SnapshotLive(path, recording.unredact(objects, desired), shown)


# Kubeconfig fields naming a file, resolved against the kubeconfig's directory (kubectl's rule), one row
# per (section, key).
PATH_FIELDS: tuple[tuple[str, str], ...] = (
    ("cluster", "certificate-authority"),
    ("user", "client-certificate"),
    ("user", "client-key"),
    ("user", "tokenFile"),
)
SPLIT_FROM = 8  # contexts in a kubeconfig from which each cluster gets its own one-context copy


class Kubeconfigs:
    """One-context kubeconfigs for the clusters of a fleet.

    Why: the client parses the whole kubeconfig for every connection, in pure-Python YAML; with one context
    per cluster in one file that is quadratic (500 contexts: 0.6 s per cluster, 5 minutes in all). The file
    is parsed once (``workspace.read_kubeconfig``) and each cluster's connection reads a copy holding only
    its context, cluster and user, with relative file paths made absolute. The copies hold the same
    credentials as the original, so they live in a private directory (0700, files 0600) removed by
    ``close()`` - the client itself writes ``*-data`` certificates to temporary files the same way. Several
    files (``a:b``, merged by the client as kubectl does) and small files are passed through unchanged.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self._dir: Path | None = None
        self._lock = threading.Lock()
        self._count = 0

    def _files(self, kubeconfig: str | None) -> list[Path]:
        text = kubeconfig or self.environ.get("KUBECONFIG") or ""
        if text:
            return [Path(p).expanduser() for p in text.split(os.pathsep) if p]
        default = Path("~/.kube/config").expanduser()
        return [default] if default.is_file() else []

    def path_for(self, kubeconfig: str | None, context: str) -> str | None:
        files = self._files(kubeconfig)
        if len(files) != 1:
            return kubeconfig
        src = files[0]
        doc = wsmod.read_kubeconfig(src)
        if isinstance(doc, str) or len(doc.get("contexts") or []) < SPLIT_FROM:
            return kubeconfig
        minimal = one_context(doc, context, src.parent)
        if minimal is None:
            return kubeconfig  # the client reports the missing piece as it always does
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="regplan-kubeconfigs-"))
            self._count += 1
            path = self._dir / f"{self._count}.yaml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(minimal, fh)  # JSON is YAML: the client's loader reads it
        return str(path)

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _named(items: Any, name: Any) -> dict[str, Any] | None:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def one_context(doc: Mapping[str, Any], context: str, base: Path) -> dict[str, Any] | None:
    """The kubeconfig reduced to ``context`` (its cluster and user), file paths absolute; None when a piece
    is missing (the caller then passes the original file and the client says what is wrong)."""
    ctx = _named(doc.get("contexts"), context)
    spec = (ctx or {}).get("context")
    if not isinstance(spec, dict):
        return None
    cluster, user = (
        _named(doc.get("clusters"), spec.get("cluster")),
        _named(doc.get("users"), spec.get("user")),
    )
    if cluster is None or (spec.get("user") and user is None):
        return None
    cluster, user = json.loads(json.dumps(cluster)), json.loads(json.dumps(user or {}))
    for section, key in PATH_FIELDS:
        body = (cluster if section == "cluster" else user).get(section)
        if isinstance(body, dict) and isinstance(body.get(key), str) and body[key]:
            p = Path(body[key]).expanduser()
            body[key] = str(p if p.is_absolute() else base / p)
    exec_ = (user.get("user") or {}).get("exec") if isinstance(user.get("user"), dict) else None
    if isinstance(exec_, dict) and isinstance(exec_.get("command"), str) and os.sep in exec_["command"]:
        cmd = Path(exec_["command"]).expanduser()
        exec_["command"] = str(cmd if cmd.is_absolute() else base / cmd)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [user] if user else [],
        "contexts": [ctx],
        "current-context": context,
    }


@dataclass(frozen=True)
class Context:
    """What every per-cluster body needs besides its spec."""

    ws: Workspace
    environ: Mapping[str, str]
    kubeconfig: str | None = None  # --kubeconfig: for clusters whose workspace entry names none
    snapshot_dir: Path | None = None  # plan/status against recorded snapshots, offline
    say: Say = _quiet
    kubeconfigs: Kubeconfigs | None = None  # one-context copies (large kubeconfigs); None: as given


def cluster_live(ctx: Context, spec: ClusterSpec) -> workflow.Live:
    """A connection to ``spec``'s cluster (its kubeconfig, else --kubeconfig, else $KUBECONFIG)."""
    given = spec.kubeconfig or ctx.kubeconfig
    path = ctx.kubeconfigs.path_for(given, spec.context) if ctx.kubeconfigs is not None else given
    live = workflow.Live(snapshot=None, kubeconfig=path, context=spec.context)
    _connect(live)
    return live


def live_for(ctx: Context, spec: ClusterSpec, *, offline: bool = True) -> workflow.Live:
    """The cluster, or its recorded snapshot when the context has a snapshot dir (and ``offline``)."""
    if offline and ctx.snapshot_dir is not None:
        return _snapshot_live(ctx.ws, spec, ctx.snapshot_dir, ctx.environ)
    return cluster_live(ctx, spec)


# --- plan ------------------------------------------------------------------------------------------------


def _make_plan(ctx: Context, spec: ClusterSpec, live: workflow.Live) -> Plan:
    return workflow.make_plan(
        profile=spec.profile,
        values_files=spec.values,
        sets=spec.sets,
        profiles_dir=ctx.ws.profiles_dir,
        target=spec.target,
        live=live,
        environ=ctx.environ,
        progress=lambda msg: ctx.say(spec.name, msg.rstrip("\n")),
    )


def plan_outcome(spec: ClusterSpec, plan: Plan) -> Outcome:
    code = ExitCode.INVALID if plan.errors else ExitCode.CHANGES if plan.has_changes else ExitCode.OK
    return Outcome(
        spec.name, spec.context, spec.profile, str(plan.target), code, plan=plan, labels=spec.labels
    )


def plan_cluster(ctx: Context, spec: ClusterSpec) -> Outcome:
    live = live_for(ctx, spec)
    try:
        return plan_outcome(spec, _make_plan(ctx, spec, live))
    finally:
        live.close()


def plan_many(ctx: Context, specs: Sequence[ClusterSpec], *, parallelism: int) -> list[Outcome]:
    return run_many(specs, lambda s: plan_cluster(ctx, s), parallelism=parallelism)


def save_plans(outcomes: Sequence[Outcome], out_dir: Path) -> list[Path]:
    """One plan file per cluster that has a plan (``<out>/<cluster>.json``, what ``apply --plan-dir`` reads);
    the plan file regplan wrote for a cluster that has none this time is removed, so the directory never
    offers an old plan. Written through the file layer (``fleetfiles.save_plans``)."""
    texts = {o.name: o.plan.dumps() if o.plan is not None else None for o in outcomes}
    return fleetfiles.save_plans(texts, out_dir)


# --- status ----------------------------------------------------------------------------------------------


def status_cluster(ctx: Context, spec: ClusterSpec) -> Outcome:
    live = live_for(ctx, spec)
    try:
        data = workflow.status_data(
            target=spec.target, live=live, profiles_dir=ctx.ws.profiles_dir, environ=ctx.environ
        ).to_json()  # the `regplan status -o json` document of this cluster
        drift: bool | None = None
        try:
            plan = _make_plan(ctx, spec, live)
            drift = plan.has_changes or bool(plan.errors)
        except RegplanError as err:  # the status stands; say why drift is unknown
            data["driftError"] = str(err)
    finally:
        live.close()
    return Outcome(
        spec.name, spec.context, spec.profile, str(data.get("target") or spec.target), ExitCode.OK,
        status=data, drift=drift, labels=spec.labels,
    )  # fmt: skip


# --- apply -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplySettings:
    allow_replace: bool = False
    wait: bool = True
    timeout: float = 300.0
    lock_timeout: float = 60.0


def apply_cluster(
    ctx: Context, spec: ClusterSpec, settings: ApplySettings, *, plan: Plan | None, plan_file: Path | None
) -> Outcome:
    """The safe single-cluster apply for one cluster: a saved plan (re-rendered from its record and checked
    against the cluster) or a plan made moments ago; refusals before any request."""
    from regplan import apply as applier

    live: workflow.Live | None = None
    try:
        if plan_file is not None:
            plan = workflow.load_plan(plan_file, environ=ctx.environ)
        assert plan is not None
        refused = applier.refusals(plan, allow_replace=settings.allow_replace)
        if refused is not None:
            raise refused
        live = cluster_live(ctx, spec)
        tgt = live.target(spec.target)
        if tgt is not plan.target:
            raise InvalidInput(f"{spec.name}: the plan is for {plan.target} but the cluster is {tgt}")
        if plan_file is not None:  # as `apply PLANFILE`: every write re-derived and compared first
            plan = applier.rederive_saved(plan, live.cluster)
        report = applier.apply_plan(
            plan,
            live.cluster,
            allow_replace=settings.allow_replace,
            wait=settings.wait,
            timeout=settings.timeout,
            lock_timeout=settings.lock_timeout,
            progress=lambda msg: ctx.say(spec.name, msg),
            precheck=plan_file is None,  # a saved plan was checked by rederive_saved
        )
    finally:
        if live is not None:
            live.close()
    state = "done" if report.exit_code is ExitCode.OK else "failed"
    return Outcome(
        spec.name, spec.context, spec.profile, str(plan.target), report.exit_code, report=report, state=state,
        labels=spec.labels,
    )  # fmt: skip


def plan_files(
    ws: Workspace, specs: Sequence[ClusterSpec], plan_dir: Path, explicit: bool
) -> dict[str, Path]:
    """``<plan_dir>/<cluster>.json`` of the selected clusters. A file for a cluster the workspace does not
    know, or a cluster named with --cluster that has no file, is an input error before anything runs."""
    present = fleetfiles.plan_dir_files(plan_dir)
    known = {c.name for c in ws.clusters}
    strangers = sorted(set(present) - known)
    if strangers:
        raise InvalidInput(
            f"--plan-dir {plan_dir}: plans for clusters not in {ws.path}: {', '.join(strangers)} "
            "(their context is unknown; nothing was applied)"
        )
    chosen = {s.name: present[s.name] for s in specs if s.name in present}
    missing = [s.name for s in specs if s.name not in present]
    if explicit and missing:
        raise InvalidInput(f"--plan-dir {plan_dir}: no plan for {', '.join(missing)}; nothing was applied")
    if not chosen:
        raise InvalidInput(f"--plan-dir {plan_dir}: no plan file of a selected cluster (<cluster>.json)")
    return chosen


def apply_many(
    ctx: Context,
    specs: Sequence[ClusterSpec],
    settings: ApplySettings,
    *,
    plans: Mapping[str, Plan] | None = None,
    plan_files_: Mapping[str, Path] | None = None,
    parallelism: int,
    max_failures: int | None,
    already_failed: int = 0,
) -> list[Outcome]:
    """Apply each cluster's plan (given, or from its file); clusters without one are skipped."""

    def body(spec: ClusterSpec) -> Outcome:
        return apply_cluster(
            ctx,
            spec,
            settings,
            plan=(plans or {}).get(spec.name),
            plan_file=(plan_files_ or {}).get(spec.name),
        )

    return run_many(
        specs, body, parallelism=parallelism, max_failures=max_failures, already_failed=already_failed
    )


# --- render (files for git) ------------------------------------------------------------------------------


def render_target(ws: Workspace, spec: ClusterSpec) -> Target:
    """The target to render offline: the workspace's, else the one its snapshot shows."""
    from regplan import snapshot

    if spec.target != "auto":
        return Target(spec.target)
    path = snapshot_path(ws.snapshot_dir, spec)
    if path.is_file():
        return snapshot.detect_target(snapshot.read_objects(path), ws.relative(path))
    raise InvalidInput(
        f"{ws.where(spec.line)}: cluster {spec.name}: target auto cannot be rendered offline: set "
        f"`target: ocp4` or `ocp3`, or record {ws.relative(path)} with `regplan snapshot`"
    )


def render_for_git(ws: Workspace, spec: ClusterSpec) -> tuple[Rendered, list[str]]:
    """The cluster's manifests as committed: placeholder secrets, credential Secrets left out."""
    from regplan import render

    vals = fleetfiles.values_for_git(
        spec.profile, files=spec.values, sets=spec.sets, profiles_dir=ws.profiles_dir
    )
    rendered, left_out = fleetfiles.for_git(render.render(vals, render_target(ws, spec)))
    return rendered, [str(r) for r in left_out]


@dataclass
class Tree:
    """The rendered tree of the selected clusters: files by ``<cluster>/<file>``, notes, errors."""

    files: dict[str, str]
    left_out: dict[str, list[str]]
    errors: dict[str, str]
    dirs: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)  # cluster -> its files


def render_tree(ws: Workspace, specs: Sequence[ClusterSpec]) -> Tree:
    """Every selected cluster rendered in memory first: nothing is written unless all of them render."""
    tree = Tree({}, {}, {})
    for spec in specs:
        try:
            rendered, left_out = render_for_git(ws, spec)
        except RegplanError as err:
            tree.errors[spec.name] = str(err)
            continue
        tree.dirs[spec.name] = fleetfiles.dir_files(rendered)
        for name, text, _ in tree.dirs[spec.name]:
            tree.files[f"{spec.name}/{name}"] = text
        if left_out:
            tree.left_out[spec.name] = left_out
    return tree


def write_tree(
    ws: Workspace, specs: Sequence[ClusterSpec], tree: Tree, out_dir: Path, *, prune: bool
) -> list[str]:
    """Write every selected cluster's directory (``output.write_dir``'s files), all in one commit of the
    file layer (no symlink followed under the workspace; nothing written if any file cannot be).
    ``prune`` (``golden --update`` of the whole workspace): remove regplan's files from the directories of
    clusters no longer in the workspace. Returns what changed (for the progress)."""
    from regplan import userfiles

    root, rel = fleetfiles.tree_root(ws.root, out_dir)
    changes = userfiles.Changes(root)
    changed = fleetfiles.stage_tree(changes, rel, {s.name: tree.dirs[s.name] for s in specs})
    stale = fleetfiles.stale_dirs(root, rel, [c.name for c in ws.clusters]) if prune else {}
    fleetfiles.stage_prune(changes, rel, stale)
    changes.commit()
    lines = [f"wrote {ws.relative(out_dir / name)}/" for name in changed]
    for name in stale:
        gone = root.kind(f"{rel}/{name}" if rel else name) is None
        lines.append(
            f"removed {ws.relative(out_dir / name)}/ (no such cluster in the workspace)"
            if gone
            else f"removed regplan's files from {ws.relative(out_dir / name)}/ (no such cluster in the "
            "workspace); other files there were kept"
        )
    return lines


def golden_check(
    ws: Workspace, specs: Sequence[ClusterSpec], out_dir: Path, *, whole: bool
) -> tuple[str, ExitCode]:
    """Is the committed tree what regplan renders now? (unified diff, ExitCode.CHANGES when not)."""
    tree = render_tree(ws, specs)
    if tree.errors:
        raise InvalidInput(
            "nothing was checked; cannot render:\n" + "\n".join(f"  {n}: {e}" for n, e in tree.errors.items())
        )
    root, rel = fleetfiles.tree_root(ws.root, out_dir)
    names = [s.name for s in specs]
    stale = fleetfiles.stale_dirs(root, rel, [c.name for c in ws.clusters]) if whole else {}
    present = fleetfiles.read_tree(root, rel, [*names, *stale], tree.files)  # regplan's files only
    label = ws.relative(out_dir)
    text, changed, removed = fleetfiles.tree_diff(present, tree.files, label)
    if not text:
        return "", ExitCode.OK
    return (
        text + f"golden: {changed} differing, {removed} stale under {label}/; run `regplan golden --update` "
        "(or `regplan render`) and commit the result\n",
        ExitCode.CHANGES,
    )


def generate_one(ws: Workspace, name: str) -> str:
    """One cluster's manifests on stdout for a GitOps tool (Argo CD plugin): what ``render`` writes to git."""
    from regplan import output

    (spec,) = ws.select([name])
    rendered, _ = render_for_git(ws, spec)
    return output.format_rendered(rendered, "yaml")


# --- snapshot --------------------------------------------------------------------------------------------


def record(ws: Workspace, spec: ClusterSpec, live: workflow.Live) -> tuple[Target, list[Obj], list[Any]]:
    """What plan, status and verify read for ``spec``, as the redacted objects of a snapshot, and every
    object asked for (``recording.record``: the one home of snapshots)."""
    from regplan import render

    tgt = live.target(spec.target)
    vals = fleetfiles.values_for_git(
        spec.profile, files=spec.values, sets=spec.sets, profiles_dir=ws.profiles_dir
    )
    objects, asked = recording.record(render.render(vals, tgt), live.read)
    return tgt, objects, asked


def snapshot_header(spec: ClusterSpec, tgt: Target) -> str:
    return (
        f"regplan snapshot of cluster {spec.name} (context {spec.context}, {tgt}): what `regplan plan`,\n"
        "`status` and `verify` read. Secret values are redacted (compared by digest); safe to commit.\n"
        f"Re-record: regplan snapshot --cluster {spec.name}"
    )


def snapshot_cluster(ctx: Context, spec: ClusterSpec, out_dir: Path) -> Outcome:
    """Record ``<out_dir>/<cluster>.yaml`` from the cluster (redacted; committable)."""
    live = live_for(ctx, spec, offline=False)
    try:
        tgt, objects, asked = record(ctx.ws, spec, live)
    finally:
        live.close()
    path = snapshot_path(out_dir, spec)
    text = recording.snapshot_text(objects, snapshot_header(spec, tgt), asked)
    recording.write_snapshot(ctx.ws.root, path, text)
    ctx.say(spec.name, f"recorded {len(objects)} object(s) in {ctx.ws.relative(path)}")
    return Outcome(spec.name, spec.context, spec.profile, str(tgt), ExitCode.OK, labels=spec.labels)
