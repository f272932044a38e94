"""Command orchestration for ``plan`` and ``status`` (and the plan half of ``apply``).

Stages, each a call into a pure module: load values -> resolve the target -> render -> read live state
(cluster or snapshot) -> make the plan -> server dry run (4.x) -> show -> save. Printing happens only
through a ``Reporter`` (stdout for data, stderr for progress), the CLI's arm.

Exit codes of ``regplan plan`` (README "Exit codes"): 0 no changes (or changes without
``--detailed-exitcode``); 2 changes with ``--detailed-exitcode``; 3 the plan holds errors (a blocked
change, a live-context error such as a missing StorageClass, or a write the apiserver's dry run
refuses) - the plan is still printed (and saved with ``--out``), and apply refuses it; 4 cluster errors.

The ``kubernetes`` client is imported only on the cluster path (``regplan.cluster``), lazily.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan import plan as planmod
from regplan import snapshot as snapmod
from regplan import status as statusmod
from regplan import views
from regplan.errors import ExitCode, InvalidInput, RegplanError
from regplan.model import LiveQuery, LiveState, Obj, Ref, Target, Verb

# Moved to regplan.planfile; re-exported for the callers of workflow (explicit: mypy's no-implicit-reexport).
from regplan.planfile import load_plan as load_plan
from regplan.planfile import save_plan as save_plan
from regplan.planfile import values_from_record as values_from_record
from regplan.planfile import values_record as values_record

if TYPE_CHECKING:
    from regplan.cluster import Cluster
    from regplan.render import Rendered
    from regplan.values import Values

OUTPUTS = ("text", "json")


@dataclass
class Reporter:
    """Where a command's output goes: data on ``out`` (stdout), progress and notes on ``err`` (stderr)."""

    out: Callable[[str], Any] = field(default=sys.stdout.write)
    err: Callable[[str], Any] = field(default=sys.stderr.write)
    color: bool = False

    @classmethod
    def for_terminal(cls, environ: Mapping[str, str] = os.environ) -> Reporter:
        return cls(color=sys.stdout.isatty() and "NO_COLOR" not in environ)


@dataclass
class _Objects:
    """A RenderedLike over plain objects (status matching, tests)."""

    objects: list[Obj]
    target: Target
    profile: str


class Live:
    """Where live state comes from: a snapshot file, or a cluster (connected lazily, once)."""

    def __init__(
        self, *, snapshot: Path | None, kubeconfig: str | None, context: str | None, source: str | None = None
    ) -> None:
        self.snapshot = snapshot
        self.source = source or (str(snapshot) if snapshot is not None else None)  # how messages name it
        self.kubeconfig, self.context = kubeconfig, context
        self._objects: list[Obj] | None = None
        self._cluster: Cluster | None = None

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            from regplan.cluster import Cluster

            self._cluster = Cluster(kubeconfig=self.kubeconfig, context=self.context)
        return self._cluster

    def snapshot_objects(self) -> list[Obj]:
        assert self.snapshot is not None
        if self._objects is None:
            self._objects = snapmod.read_objects(self.snapshot)
        return self._objects

    def target(self, text: str) -> Target:
        if text != "auto":
            try:
                return Target(text)
            except ValueError:
                raise InvalidInput(f"--target {text!r}: valid: auto, ocp4, ocp3") from None
        if self.snapshot is not None:
            return snapmod.detect_target(self.snapshot_objects(), str(self.source))
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
            detecting = pool.submit(cluster.detect_target)
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
        if self._cluster is not None:
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
) -> planmod.Plan:
    """Load, render, read, plan and (4.x) dry-run. The helper ``apply -p`` calls too."""
    from regplan import values

    vals = values.load_values(
        profile, files=list(values_files), sets=list(sets), profiles_dir=profiles_dir, environ=environ
    )
    rendered, state = _render_and_read(vals, target, live)
    result = planmod.make_plan(
        rendered, state, values_digest=rendered.values.digest(), values_record=values_record(rendered.values)
    )
    # DELETEs are never dry-run from plan: a dry-run delete is the one request that loses data if the
    # dry-run flag is dropped (the apiserver reads it from the DeleteOptions body, not the query: see
    # cluster._with_precondition), and what it would check (uid, resourceVersion) apply re-checks anyway.
    # The create half of a replace is skipped too: until the delete runs the server can only say "exists".
    replaced = {w.ref for w in result.writes if w.verb is Verb.DELETE}
    checked = [w for w in result.writes if w.ref not in replaced]
    if state.server_dry_run and live.snapshot is None and checked and not result.errors:
        if progress:
            progress(f"checking {len(checked)} write(s) with a server-side dry run\n")
        result.diagnostics.extend(live.cluster.dry_run(checked))
    return result


def _render_and_read(vals: Values, target: str, live: Live) -> tuple[Rendered, LiveState]:
    """Resolve the target, render, read live state: with ``--target auto`` on a cluster, detection and
    the ocp4 reads in one round trip (``Live.detect_and_read``); errors in the same order as sequentially
    (values, then detection, then the rules of the detected target, then the reads)."""
    from regplan import render

    if target == "auto" and live.snapshot is None and Target.OCP4.value in vals.targets:
        guessed: list[Rendered] = []

        def ocp4_query() -> LiveQuery | None:
            try:
                guessed.append(render.render(vals, Target.OCP4))
            except RegplanError:
                return None  # reported (if ocp4 is detected) by the sequential render below
            return planmod.query_for(guessed[0])

        detected, state = live.detect_and_read(Target.OCP4, ocp4_query)
        if state is not None:
            return guessed[0], state
        rendered = render.render(vals, detected)
        return rendered, live.read(planmod.query_for(rendered))
    rendered = render.render(vals, live.target(target))
    return rendered, live.read(planmod.query_for(rendered))


def plan_command(
    *,
    profile: str,
    values_files: Sequence[Path],
    sets: Sequence[str],
    profiles_dir: Path | None,
    target: str,
    kubeconfig: str | None,
    context: str | None,
    snapshot: Path | None,
    out: Path | None,
    output: str,
    detailed_exitcode: bool,
    reporter: Reporter | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExitCode:
    if output not in OUTPUTS:
        raise InvalidInput(f"--output {output!r}: valid: {', '.join(OUTPUTS)}")
    rep = reporter or Reporter.for_terminal()
    env = os.environ if environ is None else environ
    live = Live(snapshot=snapshot, kubeconfig=kubeconfig, context=context)
    try:
        result = make_plan(
            profile=profile,
            values_files=values_files,
            sets=sets,
            profiles_dir=profiles_dir,
            target=target,
            live=live,
            environ=env,
            progress=rep.err,
        )
    finally:
        live.close()
    rep.out(views.plan_json(result) if output == "json" else views.plan_text(result, color=rep.color))
    if out is not None:
        save_plan(result, out)
        rep.err(f"plan saved to {out}; run `regplan apply {out}` to execute it\n")
    if result.errors:
        return ExitCode.INVALID
    return ExitCode.CHANGES if detailed_exitcode and result.has_changes else ExitCode.OK


# --- status -----------------------------------------------------------------------------------------


def _profile_objects(
    target: Target, profiles_dir: Path | None, environ: Mapping[str, str]
) -> tuple[dict[str, list[Obj]], list[str]]:
    """Each profile's non-Secret objects rendered with its defaults; names of those that cannot render."""
    from regplan import render, values

    out: dict[str, list[Obj]] = {}
    skipped: list[str] = []
    for name, _ in values.list_profiles(profiles_dir=profiles_dir):
        try:
            vals = values.load_values(name, files=[], sets=[], profiles_dir=profiles_dir, environ=environ)
            if target.value not in vals.targets:
                continue
            rendered = render.render(vals, target)
        except RegplanError:
            skipped.append(name)
            continue
        out[name] = [o for o in rendered.objects if o.get("kind") != "Secret"]
    return out, skipped


def _merge(a: LiveState, b: LiveState) -> LiveState:
    a.objects.update(b.objects)
    a.storage_classes.update(b.storage_classes)
    a.events.update(b.events)
    a.pods_using_claim.update(b.pods_using_claim)
    return a


def status_data(
    *, target: str, live: Live, profiles_dir: Path | None, environ: Mapping[str, str]
) -> statusmod.StatusSummary:
    tgt = live.target(target)
    by_profile, skipped = _profile_objects(tgt, profiles_dir, environ)
    extra = tuple(dict.fromkeys(Ref.of(o) for objs in by_profile.values() for o in objs))
    state = live.read(statusmod.first_query(tgt, extra))
    state = _merge(state, live.read(statusmod.second_query(tgt, state)))
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


def status_command(
    *,
    kubeconfig: str | None,
    context: str | None,
    target: str,
    snapshot: Path | None,
    profiles_dir: Path | None,
    output: str,
    reporter: Reporter | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExitCode:
    if output not in OUTPUTS:
        raise InvalidInput(f"--output {output!r}: valid: {', '.join(OUTPUTS)}")
    rep = reporter or Reporter.for_terminal()
    live = Live(snapshot=snapshot, kubeconfig=kubeconfig, context=context)
    try:
        data = status_data(
            target=target,
            live=live,
            profiles_dir=profiles_dir,
            environ=os.environ if environ is None else environ,
        )
    finally:
        live.close()
    rep.out(views.status_json(data) if output == "json" else views.status_text(data, color=rep.color))
    return ExitCode.OK


# --- scenario folders -> golden plans (golden/plan/<case>/plan.txt, plan.json) -----------------------

SCENARIOS = Path("tests/scenarios")


def scenario_outputs(root: Path, case_dir: Path) -> dict[str, str]:
    """Plan one scenario folder (``live.yaml`` + ``case.yaml``): {"plan.txt": ..., "plan.json": ...}.

    ``case.yaml``: ``profile``, ``target`` (auto|ocp4|ocp3), ``sets`` (list of KEY=VALUE), ``values``
    (files relative to the folder). Secret sources read golden.FAKE_ENV. An error is the expected output
    too: ``plan.txt`` then holds the exit code and message.
    """
    from regplan import golden, yamlio

    rel = case_dir.relative_to(root).as_posix() if case_dir.is_absolute() else case_dir.as_posix()
    spec = yamlio.load_all_safe((case_dir / "case.yaml").read_text(encoding="utf-8"), f"{rel}/case.yaml")[0]
    live = Live(snapshot=case_dir / "live.yaml", kubeconfig=None, context=None, source=f"{rel}/live.yaml")
    try:
        result = make_plan(
            profile=str(spec["profile"]),
            values_files=[case_dir / f for f in spec.get("values") or []],
            sets=[str(s) for s in spec.get("sets") or []],
            profiles_dir=None,
            target=str(spec.get("target") or "auto"),
            live=live,
            environ=golden.FAKE_ENV,
        )
    except RegplanError as err:
        return {"plan.txt": f"exit {int(err.exit_code)}\n{err}\n".replace(str(root) + "/", "")}
    code = ExitCode.INVALID if result.errors else (ExitCode.CHANGES if result.has_changes else ExitCode.OK)
    text = views.plan_text(result) + f"(regplan plan --detailed-exitcode: exit {int(code)})\n"
    return {"plan.txt": text, "plan.json": views.plan_json(result)}


def scenario_cases(root: Path) -> list[Path]:
    base = root / SCENARIOS
    return sorted(p for p in base.iterdir() if (p / "case.yaml").is_file()) if base.is_dir() else []


def scenario_plans(root: Path) -> list[tuple[str, str]]:
    """The golden set ``plan``: every scenario folder's plan text and JSON."""
    out: list[tuple[str, str]] = []
    for case_dir in scenario_cases(root):
        for name, text in scenario_outputs(root, case_dir).items():
            out.append((f"plan/{case_dir.name}/{name}", text))
    return out


def _register_goldens() -> None:
    from regplan import golden

    golden.register("plan")(scenario_plans)


_register_goldens()
