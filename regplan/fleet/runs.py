"""A command over many clusters: each selected cluster of a workspace, concurrently, one outcome each.

``run_many`` is the engine: a bounded pool (``--parallelism``) runs one function per cluster; an expected
error (``RegplanError``: unreachable, 403, invalid values, stale...) becomes THAT cluster's outcome with
its exit code and never stops the others; ``max_failures`` stops STARTING clusters after that many
failures (those running finish), the rest are "not started". Results come back in workspace order and the
fleet's exit code is the most severe (``actions.SEVERITY``).

Each cluster runs the single-cluster action (``regplan.engine.actions``: ``plan``, ``apply``, ``status``) with
the options its workspace entry stands for (``value_options``, ``cluster_options``): the same code, the
same defaults and refusals as ``regplan plan -p PROFILE --context CONTEXT``. What the clusters of a run share
is ``Context.shared`` (``actions.Shared``): one render per distinct values and target, one connection pool
per server and credential; never a cluster's inputs or results. Nothing here prints: progress goes to a
callback with the cluster's name.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan.base import escape, userfiles
from regplan.base.errors import ClusterError, ExitCode, InvalidInput, RegplanError
from regplan.base.escape import quoted
from regplan.base.model import Obj, Target
from regplan.engine import actions, recording, workflow
from regplan.engine.actions import Outcome, code_of
from regplan.fleet import files as fleetfiles
from regplan.fleet.workspace import ClusterSpec, Workspace, WorkspaceInvalid

if TYPE_CHECKING:
    from regplan.core.render import Rendered
    from regplan.engine.plan import Plan

__all__ = ["Outcome", "code_of"]  # re-exported: the outcome type and the code of many (engine.actions)

# Clusters worked on at once (docs/fleet.md, "Performance"). A plan is 3 round trips and 10-17 ms of
# regplan's CPU (one core: the GIL), so against clusters that each have their own apiserver the run is
# latency waves (ceil(N / parallelism) x 3 round trips) until enough clusters are in flight to keep that
# core busy: 32 makes 50 clusters 2 waves instead of 7, for ~4 MiB more and ~10 % more CPU (thread
# switching), measured. Requests in flight stay bounded by the run's request threads (cluster/pool.py).
# Writes keep 8: with --max-failures, the clusters already started when the limit is reached finish, so a
# smaller batch is a smaller blast radius (apply's planning reads at the read default).
DEFAULT_PARALLELISM = 32  # plan, status, snapshot, and the plans of `apply` in a workspace
WRITE_PARALLELISM = 8  # apply's writes


def default_parallelism(*, writes: bool = False) -> int:
    """Clusters at once when --parallelism is not given: ``WRITE_PARALLELISM`` for apply's writes."""
    return WRITE_PARALLELISM if writes else DEFAULT_PARALLELISM
Say = Callable[[str, str], Any]  # (cluster name, message)


def _quiet(_name: str, _msg: str) -> None:
    return None


# --- the engine ------------------------------------------------------------------------------------------


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
                return _outcome(spec, state="not started")
        t0 = time.monotonic()
        try:
            out = body(spec)
        except RegplanError as err:
            out = _error(spec, err.exit_code, str(err))
        except Exception as err:  # a bug on one cluster must not hide the others' results
            out = _error(spec, ExitCode.UNEXPECTED, f"unexpected error: {type(err).__name__}: {err}")
        out.seconds = time.monotonic() - t0
        if out.failed:
            with lock:
                failures[0] += 1
        return out

    with ThreadPoolExecutor(max_workers=min(parallelism, max(1, len(specs)))) as pool:
        return list(pool.map(one, specs))


def _outcome(spec: ClusterSpec, target: str | None = None, **fields: Any) -> Outcome:
    return Outcome(spec.name, spec.context, spec.profile, target or spec.target, labels=spec.labels, **fields)


def _error(spec: ClusterSpec, code: ExitCode, message: str) -> Outcome:
    return _outcome(spec, code=code, error=message, state="failed")


# --- a workspace entry as the single-cluster options ----------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What every per-cluster body needs besides its spec."""

    ws: Workspace
    environ: Mapping[str, str]
    kubeconfig: str | None = None  # --kubeconfig: for clusters whose workspace entry names none
    snapshot_dir: Path | None = None  # plan/status against recorded snapshots, offline
    say: Say = _quiet
    # The run's shared connection pools and renders (actions.Shared): made with the context, for its run.
    shared: actions.Shared = field(default=actions.NONE, compare=False)

    def __post_init__(self) -> None:
        if self.shared is actions.NONE:
            from regplan.core.render import RenderCache

            shared = actions.Shared(renders=RenderCache(), connections=True, environ=self.environ)
            object.__setattr__(self, "shared", shared)

    def close(self) -> None:
        """Close the shared connections (a later use opens them again)."""
        self.shared.close()


def value_options(ws: Workspace, spec: ClusterSpec) -> actions.ValueOptions:
    """The cluster's profile and values as ``-p PROFILE -f ... --set ... --set-string ...`` would give."""
    return actions.ValueOptions(
        profile=spec.profile,
        values_files=tuple(spec.values),
        sets=tuple(spec.sets),  # `set:` then `setString:` entries, each knowing its flag (values.Given)
        profiles_dir=ws.profiles_dir,
    )


def cluster_options(ctx: Context, spec: ClusterSpec) -> actions.ClusterOptions:
    """``--kubeconfig`` (the entry's, else the command line's) and ``--context`` of the cluster."""
    return actions.ClusterOptions(kubeconfig=spec.kubeconfig or ctx.kubeconfig, context=spec.context)


def plan_options(ctx: Context, spec: ClusterSpec, *, detailed_exitcode: bool = False) -> actions.PlanOptions:
    return actions.PlanOptions(
        values=value_options(ctx.ws, spec),
        cluster=cluster_options(ctx, spec),
        target=spec.target,
        detailed_exitcode=detailed_exitcode,
    )


def apply_options(ctx: Context, spec: ClusterSpec, given: actions.ApplyOptions) -> actions.ApplyOptions:
    """The command line's apply options (``--allow-replace``, ``--timeout``, ...) for this cluster."""
    return dataclasses.replace(
        given, planfile=None, values=value_options(ctx.ws, spec), cluster=cluster_options(ctx, spec),
        target=spec.target,
    )  # fmt: skip


def expect_of(ws: Workspace, spec: ClusterSpec) -> actions.Expect:
    """What a saved plan of ``spec`` must have been made for: its entry's profile and target."""
    return actions.Expect(spec.profile, spec.target, f"{ws.where(spec.line)}: cluster {spec.name}")


def check_contexts(ctx: Context, specs: Sequence[ClusterSpec]) -> None:
    """Every selected cluster's context exists in its kubeconfig (read as its connection will read it,
    ``cluster.kubeconfig``); raises WorkspaceInvalid (exit 3) naming each missing one at its line. With no
    kubeconfig at all (in-cluster), there is nothing to check."""
    import difflib

    from regplan.cluster import kubeconfig as kc

    problems: list[str] = []
    repository = ctx.ws.repository  # one walk up the directories, not one per cluster
    for spec in specs:
        where = ctx.ws.where(spec.context_line or spec.line)
        try:
            files, names = kc.context_names(cluster_options(ctx, spec).kubeconfig, ctx.environ)
            named = kc.read_files(spec.kubeconfig, ctx.environ) if spec.kubeconfig else []
        except ClusterError as err:
            problems.append(f"{where}: cluster {spec.name}: {err}")
            continue
        problem = kc.repository_problem(named, repository)  # only what regplan.yaml names
        if problem:
            problems.append(f"{ctx.ws.where(spec.line)}: cluster {spec.name}: {problem}")
            continue
        if files and spec.context not in names:
            close = difflib.get_close_matches(spec.context, sorted(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"{where}: cluster {spec.name}: context {quoted(spec.context)} is not in the kubeconfig "
                f"({', '.join(files)}){hint}"
            )
    if problems:
        raise WorkspaceInvalid(problems)


# --- where a cluster's live state comes from -------------------------------------------------------------


def snapshot_path(snapshot_dir: Path, spec: ClusterSpec) -> Path:
    return snapshot_dir / f"{spec.name}.yaml"


def _snapshot_live(ctx: Context, spec: ClusterSpec, snapshot_dir: Path) -> workflow.Live:
    """The cluster's recorded snapshot as its live state. Its Secret values are digests; every plan puts
    back the desired values whose digest matches (``workflow.Live.restore_secrets``)."""
    ws = ctx.ws
    path = snapshot_path(snapshot_dir, spec)
    root, rel = userfiles.Root.under(ws.root, path)  # no symlink followed below the workspace
    kind = root.kind(rel)
    if kind is None:
        raise InvalidInput(
            f"{ws.relative(path)}: no snapshot of {spec.name}; record one with `regplan snapshot`"
        )
    if kind != "file":
        raise InvalidInput(
            f"{ws.relative(path)}: is {userfiles.kind_words(kind)}; a recorded snapshot is read only as a "
            "regular file, without following links (nothing was read)"
        )
    return workflow.Live(snapshot=path, kubeconfig=None, context=None, source=ws.relative(path))


def _offline(ctx: Context, spec: ClusterSpec) -> workflow.Live | None:
    """The recorded snapshot when the run is offline (``--snapshot-dir``), else None: the cluster."""
    return _snapshot_live(ctx, spec, ctx.snapshot_dir) if ctx.snapshot_dir is not None else None


def _said(ctx: Context, spec: ClusterSpec) -> tuple[Callable[[str], None], Callable[[str], None]]:
    """(progress, warn) of one cluster: its lines on stderr, named."""

    def progress(msg: str) -> None:
        ctx.say(spec.name, msg.rstrip("\n"))

    def warn(msg: str) -> None:
        ctx.say(spec.name, f"warning: {msg}")

    return progress, warn


# --- plan ------------------------------------------------------------------------------------------------


def plan_outcome(spec: ClusterSpec, plan: Plan, *, detailed_exitcode: bool = False) -> Outcome:
    code = actions.plan_code(plan, detailed_exitcode=detailed_exitcode)
    return _outcome(spec, str(plan.target), code=code, plan=plan)


def plan_cluster(ctx: Context, spec: ClusterSpec, *, detailed_exitcode: bool = False) -> Outcome:
    """``regplan plan`` for one cluster (its snapshot when offline): its outcome and exit code."""
    progress, warn = _said(ctx, spec)
    live = _offline(ctx, spec)
    try:
        plan = actions.plan(
            plan_options(ctx, spec), environ=ctx.environ, progress=progress, warn=warn, live=live,
            shared=ctx.shared,
        )  # fmt: skip
    finally:
        if live is not None:
            live.close()
    return plan_outcome(spec, plan, detailed_exitcode=detailed_exitcode)


def plan_many(
    ctx: Context, specs: Sequence[ClusterSpec], *, parallelism: int, detailed_exitcode: bool = False
) -> list[Outcome]:
    try:
        body = lambda s: plan_cluster(ctx, s, detailed_exitcode=detailed_exitcode)  # noqa: E731
        return run_many(specs, body, parallelism=parallelism)
    finally:
        ctx.close()


def save_plans(outcomes: Sequence[Outcome], out_dir: Path) -> list[Path]:
    """One plan file per cluster that has a plan (``<out>/<cluster>.json``, what ``apply --plan-dir`` reads);
    the plan file regplan wrote for a cluster that has none this time is removed, so the directory never
    offers an old plan. Written through the file layer (``fleetfiles.save_plans``)."""
    texts = {o.name: o.plan.dumps() if o.plan is not None else None for o in outcomes}
    return fleetfiles.save_plans(texts, out_dir)


# --- status ----------------------------------------------------------------------------------------------


def status_cluster(ctx: Context, spec: ClusterSpec) -> Outcome:
    """``regplan status`` for one cluster, and whether its own profile plans changes (drift)."""
    progress, warn = _said(ctx, spec)
    live = _offline(ctx, spec) or actions.open_live(
        cluster_options(ctx, spec), None, target=spec.target, warn=warn, shared=ctx.shared
    )
    try:
        opts = actions.StatusOptions(
            cluster=cluster_options(ctx, spec), target=spec.target, profiles_dir=ctx.ws.profiles_dir
        )
        data = actions.status(
            opts, environ=ctx.environ, live=live, shared=ctx.shared
        ).to_json()  # `status -o json` of it
        drift: bool | None = None
        try:
            plan = actions.plan(
                plan_options(ctx, spec), environ=ctx.environ, progress=progress, live=live, shared=ctx.shared
            )
            drift = plan.has_changes or bool(plan.errors)
        except RegplanError as err:  # the status stands; say why drift is unknown
            data["driftError"] = str(err)
    finally:
        live.close()
    return _outcome(spec, str(data.get("target") or spec.target), status=data, drift=drift)


# --- apply -----------------------------------------------------------------------------------------------


def apply_cluster(
    ctx: Context,
    spec: ClusterSpec,
    given: actions.ApplyOptions,
    *,
    plan: Plan | None = None,
    plan_file: Path | None = None,
) -> Outcome:
    """``regplan apply`` for one cluster (``actions.apply``): its saved plan (made for its entry: checked),
    or a plan made and approved moments ago."""
    progress, warn = _said(ctx, spec)
    opts = dataclasses.replace(apply_options(ctx, spec, given), planfile=plan_file, yes=True)
    report = actions.apply(
        opts,
        environ=ctx.environ,
        progress=progress,
        warn=warn,
        plan=plan if plan_file is None else None,
        expect=expect_of(ctx.ws, spec),
        shared=ctx.shared,
    )
    assert report is not None  # yes=True: nothing is asked per cluster (the fleet asked once)
    state = "done" if report.exit_code is ExitCode.OK else "failed"
    return _outcome(spec, str(report.target), code=report.exit_code, report=report, state=state)


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
            f"--plan-dir {escape.one_line(str(plan_dir))}: plans for clusters not in {ws.where(0)}: "
            f"{', '.join(escape.one_line(n) for n in strangers)} "
            "(their context is unknown; nothing was applied)"
        )
    chosen = {s.name: present[s.name] for s in specs if s.name in present}
    missing = [s.name for s in specs if s.name not in present]
    if explicit and missing:
        raise InvalidInput(f"--plan-dir {plan_dir}: no plan for {', '.join(missing)}; nothing was applied")
    if not chosen:
        raise InvalidInput(f"--plan-dir {plan_dir}: no plan file of a selected cluster (<cluster>.json)")
    return chosen


def check_plan_files(ws: Workspace, specs: Sequence[ClusterSpec], files: Mapping[str, Path]) -> None:
    """Before anything is asked or applied: each saved plan was made for its cluster's entry (profile,
    target); one made for another is an input error naming both (``actions.check_saved``)."""
    from regplan.engine import planfile

    problems = []
    for spec in specs:
        path = files.get(spec.name)
        if path is None:
            continue
        try:
            actions.check_saved(planfile.read_plan(path), path, expect_of(ws, spec))
        except RegplanError as err:
            problems.append(str(err))
    if problems:
        raise InvalidInput("\n".join(problems))


def apply_many(
    ctx: Context,
    specs: Sequence[ClusterSpec],
    given: actions.ApplyOptions,
    *,
    plans: Mapping[str, Plan] | None = None,
    plan_files_: Mapping[str, Path] | None = None,
    parallelism: int,
    max_failures: int | None,
    already_failed: int = 0,
) -> list[Outcome]:
    """Apply each cluster's plan (given, or from its file)."""

    def body(spec: ClusterSpec) -> Outcome:
        return apply_cluster(
            ctx,
            spec,
            given,
            plan=(plans or {}).get(spec.name),
            plan_file=(plan_files_ or {}).get(spec.name),
        )

    try:
        return run_many(
            specs, body, parallelism=parallelism, max_failures=max_failures, already_failed=already_failed
        )
    finally:
        ctx.close()


# --- render (files for git) ------------------------------------------------------------------------------


def render_target(ws: Workspace, spec: ClusterSpec) -> Target:
    """The target to render offline: the workspace's, else the one its snapshot shows."""
    from regplan.engine import snapshot

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
    from regplan.core import render

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
    from regplan.base import userfiles

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


# --- snapshot --------------------------------------------------------------------------------------------


def record(ws: Workspace, spec: ClusterSpec, live: workflow.Live) -> tuple[Target, list[Obj], list[Any]]:
    """What plan, status and verify read for ``spec``, as the redacted objects of a snapshot, and every
    object asked for (``recording.record``: the one home of snapshots)."""
    from regplan.core import render

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
    _, warn = _said(ctx, spec)
    live = actions.open_live(
        cluster_options(ctx, spec), None, target=spec.target, warn=warn, shared=ctx.shared
    )
    try:
        tgt, objects, asked = record(ctx.ws, spec, live)
    finally:
        live.close()
    path = snapshot_path(out_dir, spec)
    text = recording.snapshot_text(objects, snapshot_header(spec, tgt), asked)
    recording.write_snapshot(ctx.ws.root, path, text)
    ctx.say(spec.name, f"recorded {len(objects)} object(s) in {ctx.ws.relative(path)}")
    return _outcome(spec, str(tgt))
