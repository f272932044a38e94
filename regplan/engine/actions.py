"""One action per command, for one cluster: ``plan``, ``apply`` and ``status`` (helm's ``pkg/action``).

``regplan plan -p ...`` runs ``plan`` once; a workspace runs it once per selected cluster (``fleet.runs``)
with the options built from that cluster's entry. Nothing an action does for one cluster is written a
second time for the other caller: the refusals, the target check, the identity check and re-derivation of
a saved plan, the execution and its defaults are here (and below, in ``engine.apply``); the callers add
only what is theirs: showing, asking, and (the fleet) concurrency.

The options objects are the single-cluster command line's (``cli.commands`` re-exports them): each
default has its home in these classes (``Options``), or in ``engine.apply`` for the apply engine's own.

Also here: an ``Outcome`` (what one action did on one cluster, for a run over many) and the exit code of
many outcomes (``SEVERITY``, ``most_severe``): the engine decides codes, the views only show them.

Nothing here prints (progress goes to callbacks); heavy modules are imported inside the functions, so
``regplan render`` (which imports the options through ``regplan.cli.commands``) stays lean.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

from regplan.base.errors import ExitCode, InvalidInput
from regplan.base.record import Record, _described, _Factory, field

if TYPE_CHECKING:
    from regplan.cluster.pool import Pools
    from regplan.core.render import RenderCache
    from regplan.engine import workflow
    from regplan.engine.apply import ApplyReport
    from regplan.engine.planvalue import Plan
    from regplan.engine.prefetch import Connection
    from regplan.engine.status import StatusSummary

Progress = Callable[[str], Any]

# --- options: one typed object per command, each default in one place --------------------------------

# How long apply waits for the claim and the rollout, and for another apply's lock (seconds).
DEFAULT_TIMEOUT = 300.0
DEFAULT_LOCK_TIMEOUT = 60.0


def option(*, default_factory: Callable[[], Any]) -> Any:
    """A field whose default is made for each object (as ``dataclasses.field(default_factory=...)``)."""
    return field(default_factory=default_factory)


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(option,))
class Options:
    """The base of every options object (here and in ``cli.commands``): keyword-only, frozen, equal when
    their fields are, as a frozen ``kw_only`` dataclass is, and ``dataclasses.fields``/``replace``/``asdict``
    work on them. Written once here instead of a dataclass per command: a dataclass compiles its generated
    methods on every start (~0.4 ms a class, 15 classes on ``regplan render``'s path: docs/performance.md)."""

    FIELDS: ClassVar[tuple[str, ...]] = ()  # the fields, in declaration order (parents' first)
    _DEFAULTS: ClassVar[dict[str, Any]] = {}
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = inspect.get_annotations(cls)
        own = [n for n, a in hints.items() if not str(a).startswith("ClassVar")]
        cls.FIELDS = (*(f for f in cls.FIELDS if f not in own), *own)
        cls._DEFAULTS = {**cls._DEFAULTS, **{n: cls.__dict__[n] for n in own if n in cls.__dict__}}
        cls.__dataclass_fields__ = {
            n: _described(n, cls._DEFAULTS.get(n, dataclasses.MISSING)) for n in cls.FIELDS
        }

    def __init__(self, **given: Any) -> None:
        for name in self.FIELDS:
            if name in given:
                value = given.pop(name)
            elif name in self._DEFAULTS:
                default = self._DEFAULTS[name]
                value = default.make() if isinstance(default, _Factory) else default
            else:
                raise TypeError(f"{type(self).__name__}() missing keyword argument: {name!r}")
            object.__setattr__(self, name, value)
        if given:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword argument(s): {', '.join(given)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot assign to {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Options)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.FIELDS)})"


class ValueOptions(Options):
    """What selects and fills a profile: shared by render, validate, plan and apply."""

    profile: str
    values_files: tuple[Path, ...] = ()
    sets: tuple[str, ...] = ()
    set_strings: tuple[str, ...] = ()
    profiles_dir: Path | None = None


class ClusterOptions(Options):
    """Which cluster: a kubeconfig (several files joined by ``:``) and a context; None = the defaults."""

    kubeconfig: str | None = None
    context: str | None = None


class PlanOptions(Options):
    values: ValueOptions
    cluster: ClusterOptions = option(default_factory=ClusterOptions)
    target: str = "auto"
    snapshot: Path | None = None
    out: Path | None = None
    output: str = "text"
    detailed_exitcode: bool = False


class ApplyOptions(Options):
    """Either ``planfile`` or ``values`` (``-p``): exactly one (a workspace passes the plan itself)."""

    planfile: Path | None = None
    values: ValueOptions | None = None
    cluster: ClusterOptions = option(default_factory=ClusterOptions)
    target: str = "auto"
    yes: bool = False
    allow_replace: bool = False
    wait: bool = True
    timeout: float = DEFAULT_TIMEOUT
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    output: str = "text"


class StatusOptions(Options):
    cluster: ClusterOptions = option(default_factory=ClusterOptions)
    target: str = "auto"
    snapshot: Path | None = None
    profiles_dir: Path | None = None
    output: str = "text"


# --- outcomes and the exit code of many ----------------------------------------------------------------

# Most severe first, one row per code with why it ranks there (docs/fleet.md has the same table).
SEVERITY: tuple[tuple[ExitCode, str], ...] = (
    (ExitCode.UNEXPECTED, "a bug in regplan: nothing else about that cluster can be trusted"),
    (ExitCode.CLUSTER, "a cluster unreachable or forbidden, or an apply stopped part-way: needs a human now"),
    (ExitCode.STALE, "a stale plan, a conflict or a held lock: re-plan or retry later"),
    (ExitCode.DESTRUCTIVE, "a replace refused without --allow-replace: nothing was written there"),
    (ExitCode.INVALID, "invalid input or a plan with errors: fix the workspace or values"),
    (ExitCode.CHANGES, "changes present (plan --detailed-exitcode) or rendered files out of date"),
    (ExitCode.OK, "success"),
)
RANK: dict[ExitCode, int] = {code: i for i, (code, _) in enumerate(SEVERITY)}


def most_severe(codes: Sequence[ExitCode]) -> ExitCode:
    """The code of many: the most severe of ``codes`` (OK for none)."""
    return min(codes, key=lambda c: RANK.get(c, 0), default=ExitCode.OK)


class Outcome(Record):
    """What one action did on one cluster of a run over many."""

    name: str
    context: str
    profile: str
    target: str  # the resolved target when known, else the workspace's (auto)
    code: ExitCode = ExitCode.OK
    error: str = ""  # why the cluster failed (redacted message), "" when it did not
    plan: Plan | None = None
    status: dict[str, Any] | None = None
    drift: bool | None = None  # status: the cluster's own plan is not empty
    report: ApplyReport | None = None
    state: str = "done"  # apply: done | failed | not started
    labels: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        """Counts as a failure (``--max-failures``, the tally): an error, or any code but 0 and 2."""
        return bool(self.error) or self.code not in (ExitCode.OK, ExitCode.CHANGES)


def code_of(outcomes: Sequence[Outcome]) -> ExitCode:
    return most_severe([o.code for o in outcomes])


def plan_code(plan: Plan, *, detailed_exitcode: bool) -> ExitCode:
    """What ``regplan plan`` exits with for ``plan``: 3 with errors, 2 for changes with
    ``--detailed-exitcode``, else 0. The same for one cluster and for each cluster of a workspace."""
    if plan.errors:
        return ExitCode.INVALID
    return ExitCode.CHANGES if detailed_exitcode and plan.has_changes else ExitCode.OK


# --- where live state comes from ------------------------------------------------------------------------


class Shared:
    """What the clusters of one run over many share (``regplan.fleet.runs``): the connection pools, one per
    server and credential (``cluster.pool.Pools``, made on first use: an offline run never imports the
    cluster package), and the renders, one per distinct values and target (``render.RenderCache``). One
    cluster's command shares nothing (``NONE``)."""

    def __init__(
        self,
        *,
        renders: RenderCache | None = None,
        connections: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        import threading

        self.renders = renders
        self._connections = connections
        self._environ = environ
        self._pools: Pools | None = None
        self._lock = threading.Lock()

    @property
    def pools(self) -> Pools | None:
        """The run's connection pools (None: each cluster its own connection)."""
        if not self._connections:
            return None
        with self._lock:
            if self._pools is None:
                import os

                from regplan.cluster.pool import Pools

                self._pools = Pools(environ=os.environ if self._environ is None else self._environ)
            return self._pools

    def close(self) -> None:
        """Close the shared connections (a later use opens them again)."""
        with self._lock:
            if self._pools is not None:
                self._pools.close()


NONE = Shared()


def connect(
    cluster: ClusterOptions, snapshot: Path | None, target: str, shared: Shared = NONE
) -> Connection | None:
    """Start connecting now, before the pipeline imports (``regplan.engine.prefetch``); None offline."""
    if snapshot is not None:
        return None
    from regplan.engine.prefetch import Connection

    return Connection(
        kubeconfig=cluster.kubeconfig, context=cluster.context, detect=target == "auto", pools=shared.pools
    )


def open_live(
    cluster: ClusterOptions,
    snapshot: Path | None,
    *,
    target: str = "auto",
    warn: Progress | None = None,
    prefetch: bool = True,
    shared: Shared = NONE,
) -> workflow.Live:
    """Live state: the snapshot file, or the cluster (connecting in the background when ``prefetch``)."""
    # first: it overlaps the imports
    connection = connect(cluster, snapshot, target, shared) if prefetch else None
    from regplan.engine import workflow

    return workflow.Live(
        snapshot=snapshot,
        kubeconfig=cluster.kubeconfig,
        context=cluster.context,
        warn=warn,
        connection=connection,
        pools=shared.pools,
    )


# --- plan -----------------------------------------------------------------------------------------------


def plan(
    opts: PlanOptions,
    *,
    environ: Mapping[str, str],
    progress: Progress | None = None,
    warn: Progress | None = None,
    live: workflow.Live | None = None,
    shared: Shared = NONE,
) -> Plan:
    """Render, read, plan and (4.x) dry-run the profile against the cluster or snapshot of ``opts``
    (``live``: a source the caller opened and closes, e.g. a workspace's recorded snapshot)."""
    own = live is None
    source = live or open_live(opts.cluster, opts.snapshot, target=opts.target, warn=warn, shared=shared)
    try:
        return make_plan(opts.values, opts.target, source, environ=environ, progress=progress, shared=shared)
    finally:
        if own:
            source.close()


def make_plan(
    v: ValueOptions,
    target: str,
    live: workflow.Live,
    *,
    environ: Mapping[str, str],
    progress: Progress | None = None,
    shared: Shared = NONE,
) -> Plan:
    from regplan.engine import workflow

    return workflow.make_plan(
        profile=v.profile,
        values_files=v.values_files,
        sets=v.sets,
        set_strings=v.set_strings,
        profiles_dir=v.profiles_dir,
        target=target,
        live=live,
        environ=environ,
        progress=progress,
        renders=shared.renders,
    )


# --- status ---------------------------------------------------------------------------------------------


def status(
    opts: StatusOptions,
    *,
    environ: Mapping[str, str],
    warn: Progress | None = None,
    live: workflow.Live | None = None,
    shared: Shared = NONE,
) -> StatusSummary:
    """What the registry uses now (``regplan status``), from the cluster or snapshot of ``opts``."""
    from regplan.engine import workflow

    own = live is None
    source = live or open_live(opts.cluster, opts.snapshot, target=opts.target, warn=warn, shared=shared)
    try:
        return workflow.status_data(
            target=opts.target,
            live=source,
            profiles_dir=opts.profiles_dir,
            environ=environ,
            renders=shared.renders,
        )
    finally:
        if own:
            source.close()


# --- apply ----------------------------------------------------------------------------------------------


class Expect(Record, frozen=True):
    """What a saved plan must have been made for (a workspace entry): its profile and target; ``where``
    names the entry in messages (``regplan.yaml:7: cluster dev-us``)."""

    profile: str
    target: str  # auto: any
    where: str


def check_saved(plan: Plan, path: Path, expect: Expect | None) -> None:
    """A saved plan made for another profile or target than its cluster's entry is refused (exit 3,
    naming both): applying it would make the cluster something its entry does not say."""
    if expect is None:
        return
    from regplan.base.normalize import quoted_redacted

    problems = []
    if plan.profile != expect.profile:
        problems.append(f"profile {quoted_redacted(plan.profile)} (the entry says {expect.profile})")
    if expect.target != "auto" and str(plan.target) != expect.target:
        problems.append(f"target {plan.target} (the entry says {expect.target})")
    if problems:
        raise InvalidInput(
            f"{path}: the plan is for {' and '.join(problems)} of {expect.where}; nothing was applied. "
            "Plan it again (`regplan plan --out DIR`) or fix the workspace"
        )


def load_saved(path: Path, *, environ: Mapping[str, str], expect: Expect | None = None) -> Plan:
    """A saved plan: read and checked (``planfile.load_plan``: its writes, its values re-rendered), and
    made for ``expect``. Reads no cluster."""
    from regplan.engine import planfile

    plan_ = planfile.load_plan(path, environ=environ)
    check_saved(plan_, path, expect)
    return plan_


def other_server(plan_: Plan, host: str, origin: str) -> str | None:
    """A note when a saved plan made against one API server URL is applied through another, else None.

    Not a refusal: the same cluster is often reached by several URLs (a proxy, a bastion, an internal and an
    external name). What makes applying it safe is checked anyway before the first write: every object the
    plan read must still have the uid and resourceVersion it recorded (another cluster's do not), and every
    write is re-derived from the objects read now. (A plan made against a snapshot names a file.)"""
    from regplan.base.normalize import quoted_redacted

    recorded = plan_.source.removeprefix("cluster ") if plan_.source.startswith("cluster ") else None
    if recorded is None or recorded == host:
        return None
    return (
        f"{origin}: the plan was made against {quoted_redacted(recorded)}; applying it through {host} (the "
        "objects it read are checked to be the same ones, unchanged, before any write)"
    )


def apply(
    opts: ApplyOptions,
    *,
    environ: Mapping[str, str],
    progress: Progress | None = None,
    warn: Progress | None = None,
    plan: Plan | None = None,
    expect: Expect | None = None,
    show: Callable[[Plan], Any] | None = None,
    confirm: Callable[[Plan, str], bool] | None = None,
    shared: Shared = NONE,
) -> ApplyReport | None:
    """Apply one cluster: ``opts.planfile`` (a reviewed plan), ``plan`` (made and approved by the caller),
    or ``opts.values`` (plan now, ``show`` it, refuse, ``confirm`` when it writes; None: not confirmed).

    The order is the safety: refusals (errors, blocked, replace without ``allow_replace``) and a saved
    plan's identity (``expect``) before the first request; the target; a saved plan's every write
    re-derived from the cluster before the first write; then ``apply.apply_plan`` (stale check, Lease,
    writes with preconditions, waits). Write failures are in the report, not raised.
    """
    saved = opts.planfile is not None
    origin = str(opts.planfile) if opts.planfile is not None else (expect.where if expect else "the plan")
    # `-p` connects while it imports and renders; a saved or given plan is checked before the first
    # request, so it connects (lazily, on first use) only once it passed.
    live = open_live(
        opts.cluster, None, target=opts.target, warn=warn, prefetch=plan is None and not saved, shared=shared
    )
    try:
        from regplan.engine import apply as applier  # after: the connection overlaps this import

        if opts.planfile is not None:
            plan = load_saved(opts.planfile, environ=environ, expect=expect)
        if plan is not None:
            refused = applier.refusals(plan, allow_replace=opts.allow_replace)
            if refused is not None:  # before the first request: a refused plan reads nothing either
                raise refused
        else:
            if opts.values is None:
                raise InvalidInput("apply takes either a PLANFILE or -p PROFILE")
            plan = make_plan(
                opts.values, opts.target, live, environ=environ, progress=progress, shared=shared
            )
            if show is not None:
                show(plan)
            refused = applier.refusals(plan, allow_replace=opts.allow_replace)
            if refused is not None:
                raise refused
            if plan.writes and not opts.yes:
                if confirm is None:
                    raise InvalidInput(
                        "apply -p needs confirmation: run on a terminal or pass --yes (nothing was written)"
                    )
                if not confirm(plan, live.cluster.host):
                    return None
        tgt = live.target(opts.target)
        if tgt is not plan.target:
            raise InvalidInput(f"{origin}: the plan is for {plan.target} but the cluster is {tgt}")
        if saved:
            note = other_server(plan, live.cluster.host, origin)
            if note is not None and warn is not None:
                warn(note)
            plan = applier.rederive_saved(plan, live.cluster)  # nothing is written before this passes
        return applier.apply_plan(
            plan,
            live.cluster,
            allow_replace=opts.allow_replace,
            wait=opts.wait,
            timeout=opts.timeout,
            lock_timeout=opts.lock_timeout,
            progress=progress,
            # a saved plan was just compared with a fresh read (rederive_saved); any other may be minutes
            # old (a person read it and answered): checked again before the Lease is taken
            precheck=not saved,
        )
    finally:
        live.close()
