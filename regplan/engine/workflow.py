"""Orchestration the commands share: where live state comes from (``Live``), making a plan from a
profile (``make_plan``), and the status summary (``status_data``).

Stages, each a call into a pure module: load values -> resolve the target -> render -> read live state
(cluster or snapshot) -> make the plan -> server dry run (4.x). Showing and saving are the command
bodies' (``regplan.cli.commands``); nothing here prints (progress goes to a callback).

The ``kubernetes`` client is imported only on the cluster path (``regplan.cluster``), lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan.base.errors import ClusterMoved, InvalidInput, RegplanError
from regplan.base.escape import quoted
from regplan.base.model import LiveQuery, LiveState, Obj, Ref, Target, Verb
from regplan.engine import plan as planmod
from regplan.engine import snapshot as snapmod
from regplan.engine import status as statusmod

# In engine.planfile; re-exported for the callers of workflow (explicit: mypy's no-implicit-reexport).
from regplan.engine.planfile import load_plan as load_plan
from regplan.engine.planfile import save_plan as save_plan
from regplan.engine.planfile import values_from_record as values_from_record
from regplan.engine.planfile import values_record as values_record

if TYPE_CHECKING:
    from regplan.cluster.pool import Pools
    from regplan.cluster.protocol import ClusterAPI
    from regplan.core.render import RenderCache, Rendered
    from regplan.core.values import Values
    from regplan.engine.prefetch import Connection


@dataclass
class _Objects:
    """A RenderedLike over plain objects (status matching, tests)."""

    objects: list[Obj]
    target: Target
    profile: str


class Live:
    """Where live state comes from: a snapshot file, or a cluster (connected lazily, once)."""

    def __init__(
        self,
        *,
        snapshot: Path | None,
        kubeconfig: str | None,
        context: str | None,
        source: str | None = None,
        warn: Callable[[str], Any] | None = None,
        connection: Connection | None = None,
        pools: Pools | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.pools = pools  # a workspace run's shared connections (regplan.cluster.pool)
        self.connection = connection  # the adapter (and target) already on their way (engine.prefetch)
        self.warn = warn  # told each warning the connection has (e.g. TLS verification off), once
        self.source = source or (str(snapshot) if snapshot is not None else None)  # how messages name it
        self.kubeconfig, self.context = kubeconfig, context
        self._objects: list[Obj] | None = None
        self._cluster: ClusterAPI | None = None

    @property
    def cluster(self) -> ClusterAPI:
        if self._cluster is None:
            if self.connection is not None:
                cluster = self.connection.cluster()
            else:
                from regplan.cluster import Cluster

                cluster = (  # a workspace run's pools; without, as one cluster's command always did
                    Cluster(kubeconfig=self.kubeconfig, context=self.context, pools=self.pools)
                    if self.pools is not None
                    else Cluster(kubeconfig=self.kubeconfig, context=self.context)
                )
            if self.warn is not None:
                for warning in cluster.warnings:
                    self.warn(warning)
            self._cluster = cluster
        return self._cluster

    def snapshot_objects(self) -> list[Obj]:
        assert self.snapshot is not None
        if self._objects is None:
            self._objects = snapmod.read_objects(self.snapshot)
        return self._objects

    def restore_secrets(self, desired: list[Obj]) -> None:
        """A recorded snapshot holds Secret values as digests (``regplan snapshot``): put back each desired
        value whose digest matches, so an unchanged Secret compares equal (one-cluster and workspace plans
        alike). A value whose digest differs stays redacted: a change, shown masked. No-op on a cluster."""
        if self.snapshot is not None:
            self._objects = snapmod.unredact(self.snapshot_objects(), desired)

    def target(self, text: str) -> Target:
        if text != "auto":
            try:
                return Target(text)
            except ValueError:
                raise InvalidInput(f"--target {quoted(text)}: valid: auto, ocp4, ocp3") from None
        if self.snapshot is not None:
            return snapmod.detect_target(self.snapshot_objects(), str(self.source))
        if self.connection is not None and self.connection.target is not None:
            self.cluster  # noqa: B018 - the adapter's errors (a bad kubeconfig) first, as without the overlap
            return self.connection.target.result()
        return self.cluster.detect_target()

    def read(self, query: LiveQuery) -> LiveState:
        if self.snapshot is not None:
            return snapmod.answer(self.snapshot_objects(), query, source=str(self.source))
        return self.cluster.read(query)

    def detect_and_read(
        self, expect: Target, query: Callable[[], LiveQuery | None]
    ) -> tuple[Target, LiveState | None]:
        """``target("auto")`` on a cluster, with the reads of the likely target sent at the same time.

        Why: detection is a round trip of its own before the reads, and with --target auto it is almost
        always ``expect`` (ocp4). Detection's request is sent first; ``query()`` (rendering ``expect``) runs
        while it is in flight, then the reads go out concurrently with it: one round trip instead of two.
        Returns (detected target, the state read for ``expect``) - or (target, None) when the cluster is
        another target or ``query()`` gave None: those reads (and their failures, e.g. a 403 in a namespace
        the other target does not use) are then dropped and the caller reads again. Errors are reported as
        without the overlap: detection's first, then the reads'.
        """
        from concurrent.futures import ThreadPoolExecutor

        cluster = self.cluster
        with ThreadPoolExecutor(max_workers=1) as pool:
            early = self.connection.target if self.connection is not None else None
            detecting = early if early is not None else pool.submit(cluster.detect_target)
            wanted = query()
            state: LiveState | None = None
            failure: RegplanError | None = None
            if wanted is not None:
                try:
                    state = cluster.read(wanted)
                except RegplanError as err:
                    failure = err
            detected = detecting.result()
        if detected is not expect or wanted is None:
            return detected, None
        if failure is not None:
            raise failure
        return detected, state

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()  # closes the adapter it built (waits for an import still running)
        elif self._cluster is not None:
            self._cluster.close()


# --- plan -------------------------------------------------------------------------------------------


def make_plan(
    *,
    profile: str,
    values_files: Sequence[Path],
    sets: Sequence[str],
    profiles_dir: Path | None,
    target: str,
    live: Live,
    environ: Mapping[str, str],
    progress: Callable[[str], Any] | None = None,
    set_strings: Sequence[str] = (),
    renders: RenderCache | None = None,
) -> planmod.Plan:
    """Load, render, read, plan and (4.x) dry-run. The helper ``apply -p`` calls too. ``renders``: a
    workspace's cache, rendering once per distinct values and target (``render.RenderCache``)."""
    from regplan.core import values

    vals = values.load_values(
        profile,
        files=list(values_files),
        sets=list(sets),
        set_strings=list(set_strings),
        profiles_dir=profiles_dir,
        environ=environ,
    )
    rendered, state = _render_and_read(vals, target, live, renders)
    for attempt in range(1, PLAN_ATTEMPTS + 1):
        try:
            return _plan_and_check(rendered, state, live, progress)
        except ClusterMoved:
            # Someone (the operator, another apply) wrote an object between the reads and the dry run:
            # read again and plan again, a few times; a plan is read-only, so this is always safe.
            if attempt == PLAN_ATTEMPTS:
                raise
            if progress:
                progress("the cluster changed while planning; reading it again\n")
            state = live.read(planmod.query_for(rendered))
    raise AssertionError("unreachable")  # pragma: no cover


# How often plan reads again when the cluster moves between its reads and its server-side dry run.
PLAN_ATTEMPTS = 3


def _plan_and_check(
    rendered: Rendered, state: LiveState, live: Live, progress: Callable[[str], Any] | None
) -> planmod.Plan:
    """Plan ``rendered`` against ``state`` and (4.x) check the writes with a server-side dry run."""
    result = planmod.make_plan(
        rendered, state, values_digest=rendered.values.digest(), values_record=values_record(rendered.values)
    )
    # DELETEs are never dry-run from plan: a dry-run delete is the one request that loses data if the
    # dry-run flag is dropped (the apiserver reads it from the DeleteOptions body, not the query: see
    # cluster._with_precondition), and what it would check (uid, resourceVersion) apply re-checks anyway.
    # The create half of a replace is skipped too: until the delete runs the server can only say "exists".
    replaced = {w.ref for w in result.writes if w.verb is Verb.DELETE}
    checked = [w for w in result.writes if w.ref not in replaced]
    if live.snapshot is not None:
        result.server_dry_run = "snapshot"
    elif not state.server_dry_run:
        result.server_dry_run = "unsupported"
    elif result.errors:
        result.server_dry_run = "errors"
    elif not checked:
        result.server_dry_run = "no-writes"
    else:
        if progress:
            progress(f"checking {len(checked)} write(s) with a server-side dry run\n")
        refusals = live.cluster.dry_run(checked)
        result.diagnostics.extend(refusals)
        result.server_dry_run = "refused" if refusals else "checked"
    return result


def _render_and_read(
    vals: Values, target: str, live: Live, renders: RenderCache | None = None
) -> tuple[Rendered, LiveState]:
    """Resolve the target, render, read live state: with ``--target auto`` on a cluster, detection and
    the ocp4 reads in one round trip (``Live.detect_and_read``); errors in the same order as sequentially
    (values, then detection, then the rules of the detected target, then the reads)."""
    from regplan.core import render as rendermod

    render = rendermod.render if renders is None else renders.render
    if target == "auto" and live.snapshot is None and Target.OCP4.value in vals.targets:
        guessed: list[Rendered] = []

        def ocp4_query() -> LiveQuery | None:
            try:
                guessed.append(render(vals, Target.OCP4))
            except RegplanError:
                return None  # reported (if ocp4 is detected) by the sequential render below
            return planmod.query_for(guessed[0])

        detected, state = live.detect_and_read(Target.OCP4, ocp4_query)
        if state is not None:
            return guessed[0], state
        rendered = render(vals, detected)
        return rendered, live.read(planmod.query_for(rendered))
    rendered = render(vals, live.target(target))
    live.restore_secrets(rendered.objects)
    return rendered, live.read(planmod.query_for(rendered))


# --- status -----------------------------------------------------------------------------------------


def _profile_objects(
    target: Target, profiles_dir: Path | None, environ: Mapping[str, str], renders: RenderCache | None = None
) -> tuple[dict[str, list[Obj]], list[str]]:
    """Each profile's non-Secret objects rendered with its defaults; names of those that cannot render.
    (``renders``: a workspace's cache: every cluster's status renders the same profiles.)"""
    from regplan.core import render as rendermod
    from regplan.core import values

    render = rendermod.render if renders is None else renders.render

    out: dict[str, list[Obj]] = {}
    skipped: list[str] = []
    for name, _ in values.list_profiles(profiles_dir=profiles_dir):
        try:
            vals = values.load_values(name, files=[], sets=[], profiles_dir=profiles_dir, environ=environ)
            if target.value not in vals.targets:
                continue
            rendered = render(vals, target)
        except RegplanError:
            skipped.append(name)
            continue
        out[name] = [o for o in rendered.objects if o.get("kind") != "Secret"]
    return out, skipped


def status_data(
    *,
    target: str,
    live: Live,
    profiles_dir: Path | None,
    environ: Mapping[str, str],
    renders: RenderCache | None = None,
) -> statusmod.StatusSummary:
    tgt = live.target(target)
    by_profile, skipped = _profile_objects(tgt, profiles_dir, environ, renders)
    extra = tuple(dict.fromkeys(Ref.of(o) for objs in by_profile.values() for o in objs))
    state = live.read(statusmod.first_query(tgt, extra))
    state = statusmod.merged([state, live.read(statusmod.second_query(tgt, state))])
    summary = statusmod.summarize(tgt, state)
    matches = []
    for name, objs in sorted(by_profile.items()):
        result = planmod.make_plan(_Objects(objs, tgt, name), state)
        if not result.has_changes:
            matches.append(name)
    summary.matches = matches
    note = "a profile matches when its default values plan to no changes (Secret values are not compared)"
    if skipped:
        note += f"; not checked (cannot render with defaults): {', '.join(skipped)}"
    summary.match_note = note
    return summary
