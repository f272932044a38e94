"""The command bodies: one typed options object per command, one function per command.

The CLI (``cli.py``) is the only caller that parses a command line: it maps the parsed arguments onto these
options objects and calls these functions; tests call them directly with the same objects. Every function
returns an ``ExitCode`` and raises ``RegplanError`` for expected errors (the CLI prints them). Output goes
through a ``Reporter`` (data on ``out``, progress on ``err``), never through ``print``.

The cluster commands (``plan``, ``apply``, ``status``) are thin: the action for one cluster, with its
options objects and their defaults, is ``regplan.engine.actions`` (re-exported here), and a workspace runs the
same action once per cluster (``regplan.fleet.runs``); a body here only shows, asks and saves around it.

Each body imports what it uses inside itself, so ``regplan render`` never imports ``kubernetes`` or
``deepdiff`` (start-up time, docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan.base.errors import ExitCode, InvalidInput
from regplan.base.record import Record, field
from regplan.cli.choices import (  # re-exported: callers and tests name them here
    APPLY_OUTPUTS as APPLY_OUTPUTS,
)
from regplan.cli.choices import (
    FLEET_COMMANDS as FLEET_COMMANDS,
)
from regplan.cli.choices import (
    FLEET_OUTPUTS as FLEET_OUTPUTS,
)
from regplan.cli.choices import (
    FLEET_PLAN_OUTPUTS as FLEET_PLAN_OUTPUTS,
)
from regplan.cli.choices import (
    LIVE_TARGETS as LIVE_TARGETS,
)
from regplan.cli.choices import (
    PLAN_OUTPUTS as PLAN_OUTPUTS,
)
from regplan.cli.choices import (
    RENDER_OUTPUTS as RENDER_OUTPUTS,
)
from regplan.cli.choices import (
    SHELLS as SHELLS,
)
from regplan.cli.choices import (
    SHOW_OUTPUTS as SHOW_OUTPUTS,
)
from regplan.cli.choices import (
    STATUS_OUTPUTS as STATUS_OUTPUTS,
)
from regplan.cli.choices import (
    TARGETS as TARGETS,
)
from regplan.cli.choices import (
    VERIFY_OUTPUTS as VERIFY_OUTPUTS,
)
from regplan.engine.actions import ApplyOptions as ApplyOptions
from regplan.engine.actions import ClusterOptions as ClusterOptions
from regplan.engine.actions import Options as Options
from regplan.engine.actions import PlanOptions as PlanOptions
from regplan.engine.actions import StatusOptions as StatusOptions
from regplan.engine.actions import ValueOptions as ValueOptions
from regplan.engine.actions import option

if TYPE_CHECKING:
    from regplan.core.values import Values
    from regplan.engine.planvalue import Plan


class Reporter(Record):
    """Where a command's output goes: data on ``out`` (stdout), progress and notes on ``err`` (stderr).

    The one place text is printed, so the one place the terminal rule applies (``escape.terminal``):
    every string, whatever view built it (Event messages, object names, plan-file strings, error text),
    has its escape sequences and control characters shown, not sent; only regplan's own colour codes
    pass when ``color`` is on. The rule keeps JSON valid and equal (its escapes are JSON's)."""

    out: Callable[[str], Any] = field(default=sys.stdout.write)
    err: Callable[[str], Any] = field(default=sys.stderr.write)
    color: bool = False

    def __post_init__(self) -> None:
        self.out = _terminal_safe(self.out, keep_sgr=self.color)
        self.err = _terminal_safe(self.err, keep_sgr=self.color)

    def warn(self, message: str) -> None:
        """One warning line on stderr, in regplan's voice."""
        self.err(f"regplan: warning: {message}\n")


def _terminal_safe(write: Callable[[str], Any], *, keep_sgr: bool) -> Callable[[str], Any]:
    from regplan.base.escape import terminal

    if getattr(write, "terminal_safe", False):
        return write

    def safe(text: str) -> Any:
        return write(terminal(text, keep_sgr=keep_sgr))

    safe.terminal_safe = True  # type: ignore[attr-defined]
    return safe


# Output formats per command, targets, shells: regplan.cli.choices (the CLI offers them; the bodies check them
# again for callers that do not go through the CLI).


class ProfilesOptions(Options):
    profiles_dir: Path | None = None


class RenderOptions(Options):
    values: ValueOptions
    target: str = "ocp4"
    output: str = "yaml"
    out_dir: Path | None = None


class ValidateOptions(Options):
    values: ValueOptions
    target: str = "ocp4"


class VerifyOptions(Options):
    values: ValueOptions
    cluster: ClusterOptions = option(default_factory=ClusterOptions)
    target: str = "auto"
    snapshot: Path | None = None
    output: str = "text"


class ShowOptions(Options):
    planfile: Path
    output: str = "text"


class CompletionOptions(Options):
    shell: str  # bash | zsh | fish


def _choice(flag: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InvalidInput(f"{flag} {_shown(value)}: valid: {', '.join(valid)}")


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _emit(reporter: Reporter, output: str, text: Callable[[], str], json_doc: Callable[[], str]) -> None:
    """One document on stdout: ``text`` for people, or the JSON document as ``json`` / ``yaml``."""
    if output == "text":
        reporter.out(text())
    else:
        doc = json_doc()
        reporter.out(doc if output == "json" else _yaml_of_json(doc))


def _emit_plan(reporter: Reporter, output: str, plan_: Plan) -> None:
    """One plan in one of PLAN_OUTPUTS, the same for ``plan`` and ``show``."""
    from regplan.present import views

    if output == "markdown":
        reporter.out(views.plan_markdown(plan_))
        return
    _emit(
        reporter, output, lambda: views.plan_text(plan_, color=reporter.color), lambda: views.plan_json(plan_)
    )


def _yaml_of_json(text: str) -> str:
    """A JSON document as YAML (``-o yaml`` of plan and status: the same document as ``-o json``)."""
    from regplan.base import yamlio

    return yamlio.dump(json.loads(text), reorder=False)


# --- offline --------------------------------------------------------------------------------------


def profiles(opts: ProfilesOptions, *, reporter: Reporter) -> ExitCode:
    """``regplan profiles``: the profiles, each with its one-line description."""
    from regplan.core import values

    rows = values.list_profiles(profiles_dir=opts.profiles_dir)
    width = max(len(name) for name, _ in rows)
    reporter.out("".join(f"{name:<{width}}  {description}\n" for name, description in rows))
    return ExitCode.OK


def _load(v: ValueOptions, environ: Mapping[str, str]) -> Values:
    from regplan.core import values

    return values.load_values(
        v.profile,
        files=list(v.values_files),
        sets=list(v.sets),
        set_strings=list(v.set_strings),
        profiles_dir=v.profiles_dir,
        environ=environ,
    )


def render(opts: RenderOptions, *, reporter: Reporter, environ: Mapping[str, str] | None = None) -> ExitCode:
    """``regplan render``: writes nothing before everything is valid."""
    from regplan.base.model import Target
    from regplan.core import render as renderer
    from regplan.present import output as out

    _choice("--output", opts.output, RENDER_OUTPUTS)  # before any work: a typo must not read secrets first
    if opts.out_dir is not None and opts.output != "yaml":
        raise InvalidInput(f"--out-dir writes YAML files: it cannot be combined with --output {opts.output}")
    target = renderer.parse_target(opts.target)
    if opts.output == "inventory" and target is not Target.OCP3:
        from regplan.present import inventory  # only for -o inventory: decimal and its tables (start-up time)

        inventory.render_inventory(target=target, profile="", data={}, backend=None)  # raises: 3.x only
    rendered = renderer.render(_load(opts.values, _env(environ)), target)
    v = opts.values
    inputs: list[str] = []
    if v.values_files or v.sets or v.set_strings:  # else no words: normalize is not imported (start-up time)
        from regplan.base.normalize import input_words

        inputs = input_words(v.values_files, v.sets, v.set_strings)
    if opts.values.profiles_dir is not None:  # the header's command must select the same profile
        inputs = ["--profiles-dir", str(opts.values.profiles_dir), *inputs]
    if opts.output == "inventory":
        from regplan.present import inventory

        reporter.out(inventory.for_rendered(rendered, inputs=inputs))
        return ExitCode.OK
    if opts.out_dir is not None:
        for path in out.write_dir(rendered, opts.out_dir, fmt=opts.output):
            reporter.err(f"wrote {path}\n")
        return ExitCode.OK
    reporter.out(out.format_rendered(rendered, opts.output, inputs=inputs))
    return ExitCode.OK


def validate(
    opts: ValidateOptions, *, reporter: Reporter, environ: Mapping[str, str] | None = None
) -> ExitCode:
    """``regplan validate``: schema + domain rules; raises ValidationFailed (exit 3) with every problem."""
    from regplan.core import render as renderer

    renderer.render(_load(opts.values, _env(environ)), renderer.parse_target(opts.target))
    reporter.err(f"{opts.values.profile}: valid\n")
    return ExitCode.OK


def completion(opts: CompletionOptions, *, reporter: Reporter) -> ExitCode:
    """``regplan completion SHELL``: the shell's completion script."""
    from regplan.cli import completion as comp

    _choice("SHELL", opts.shell, SHELLS)
    reporter.out(comp.script(opts.shell))
    return ExitCode.OK


# --- cluster --------------------------------------------------------------------------------------


def plan(opts: PlanOptions, *, reporter: Reporter, environ: Mapping[str, str] | None = None) -> ExitCode:
    """``regplan plan``: exit 0 (no changes, or changes without --detailed-exitcode), 2, or 3 (errors)."""
    _choice("--output", opts.output, PLAN_OUTPUTS)
    _choice("--target", opts.target, LIVE_TARGETS)
    from regplan.engine import actions

    result = actions.plan(opts, environ=_env(environ), progress=reporter.err, warn=reporter.warn)
    from regplan.engine import planfile

    _emit_plan(reporter, opts.output, result)
    if opts.out is not None:
        planfile.save_plan(result, opts.out)
        from regplan.base.escape import shell_words

        # the command is copied and run: every word quoted for the shell (a file named `p;x.json`)
        command = shell_words(["regplan", "apply", str(opts.out)])
        reporter.err(f"plan saved to {opts.out}; run `{command}` to execute it\n")
    return actions.plan_code(result, detailed_exitcode=opts.detailed_exitcode)


def verify(opts: VerifyOptions, *, reporter: Reporter, environ: Mapping[str, str] | None = None) -> ExitCode:
    """``regplan verify``: does the registry use the storage the profile says? Exit 0 verified, 2 not."""
    from regplan.core import render as renderer
    from regplan.engine import verify as verifier
    from regplan.present import views

    _choice("--output", opts.output, VERIFY_OUTPUTS)
    _choice("--target", opts.target, LIVE_TARGETS)
    from regplan.engine import actions

    vals = _load(opts.values, _env(environ))
    live = actions.open_live(opts.cluster, opts.snapshot, warn=reporter.warn, prefetch=False)
    try:
        rendered = renderer.render(vals, live.target(opts.target))
        intent = verifier.intent_of(rendered.target, rendered.objects, rendered.values.data)
        state = live.read(verifier.query_for(intent))
        if opts.snapshot is not None:  # absent from a snapshot may mean "not recorded": never a false FAIL
            from regplan.engine import snapshot as snapmod

            recorded = snapmod.recorded_refs(opts.snapshot)
            verifier.check_recorded(intent, state, recorded, str(opts.snapshot))
        findings = verifier.verify(intent, state)
    finally:
        live.close()
    _emit(
        reporter,
        opts.output,
        lambda: views.verify_text(opts.values.profile, intent, findings, color=reporter.color),
        lambda: views.verify_json(opts.values.profile, intent, findings),
    )
    return ExitCode.OK if all(f.ok for f in findings) else ExitCode.CHANGES


def show(opts: ShowOptions, *, reporter: Reporter) -> ExitCode:
    """``regplan show PLANFILE``: a saved plan in any of PLAN_OUTPUTS. Reads no cluster and no secret
    source: the file is shown as saved (its writes are checked as ``apply`` checks them on load)."""
    from regplan.engine import planfile

    _choice("--output", opts.output, SHOW_OUTPUTS)
    _emit_plan(reporter, opts.output, planfile.read_plan(opts.planfile))
    return ExitCode.OK


def status(opts: StatusOptions, *, reporter: Reporter, environ: Mapping[str, str] | None = None) -> ExitCode:
    """``regplan status``: what the registry uses now."""
    _choice("--output", opts.output, STATUS_OUTPUTS)
    _choice("--target", opts.target, LIVE_TARGETS)
    from regplan.engine import actions

    data = actions.status(opts, environ=_env(environ), warn=reporter.warn)
    from regplan.present import views

    _emit(
        reporter,
        opts.output,
        lambda: views.status_text(data, color=reporter.color),
        lambda: views.status_json(data),
    )
    return ExitCode.OK


def apply(
    opts: ApplyOptions,
    *,
    reporter: Reporter,
    confirm: Callable[[str], bool] | None = None,
    is_tty: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExitCode:
    """``regplan apply``: a saved plan, or plan the profile, show it, confirm, apply (``actions.apply``).

    The plan (for ``-p``) and the report go to stdout, each write and wait to stderr as it happens. With
    ``-o json`` stdout holds only the JSON report (the plan goes to stderr).
    """
    _choice("--output", opts.output, APPLY_OUTPUTS)
    _choice("--target", opts.target, LIVE_TARGETS)
    if (opts.planfile is None) == (opts.values is None):
        raise InvalidInput("apply takes either a PLANFILE or -p PROFILE")
    from regplan.engine import actions

    def say(msg: str) -> None:
        reporter.err(f"regplan: {msg}\n")

    def show(plan_: Plan) -> None:
        from regplan.present import views

        text = views.plan_text(plan_, color=reporter.color)
        (reporter.err if opts.output == "json" else reporter.out)(text)

    tty = sys.stdin.isatty() if is_tty is None else is_tty
    ask = confirm if tty else None

    def approve(plan_: Plan, host: str) -> bool:
        assert ask is not None
        return ask(f"Apply these {len(plan_.writes)} write(s) to {host}?")

    report = actions.apply(
        opts,
        environ=_env(environ),
        progress=say,
        warn=reporter.warn,
        show=show,
        confirm=approve if ask is not None else None,
    )
    if report is None:
        say("not confirmed; nothing was written")
        return ExitCode.OK
    from regplan.engine import apply as applier

    reporter.out(applier.report_json(report) if opts.output == "json" else applier.report_text(report))
    return report.exit_code


# --- a workspace of clusters (docs/fleet.md) --------------------------------------------------------------

ARGOCD_CLUSTER_ENV = ("PARAM_CLUSTER", "ARGOCD_ENV_REGPLAN_CLUSTER")
ARGOCD_WORKSPACE_ENV = "ARGOCD_ENV_REGPLAN_WORKSPACE"
ARGOCD_PARAMETERS_ENV = "ARGOCD_APP_PARAMETERS"
ARGOCD_SOURCE_PATH_ENV = "ARGOCD_APP_SOURCE_PATH"
# Argo CD's parameters are a list of {name, string | array | map}: 3 deep, a few KiB. Far more is not theirs.
ARGOCD_PARAMETERS_MAX_BYTES = 256 * 1024
ARGOCD_PARAMETERS_MAX_DEPTH = 8


class FleetOptions(Options):
    """A command run over the clusters of a workspace (``regplan.yaml``): which clusters, how many at once,
    and the options of the command itself. ``out``: render's out dir, plan's plan-file dir, snapshot's dir.
    ``apply``: the options each cluster's apply runs with (its profile, values and context come from its
    entry): the single-cluster defaults, never restated here."""

    command: str  # one of FLEET_COMMANDS
    workspace: Path | None = None  # None: regplan.yaml in the working directory or a parent
    found: bool = False  # the workspace was found by looking, not asked for: say so (docs/fleet.md)
    clusters: tuple[str, ...] = ()
    selector: str = ""
    parallelism: int | None = None  # None: fleet.default_parallelism (reads 32, apply's writes 8)
    output: str = "text"
    out: Path | None = None
    snapshot_dir: Path | None = None
    plan_dir: Path | None = None
    detailed_exitcode: bool = False
    update: bool = False
    kubeconfig: str | None = None
    profiles_dir: Path | None = None
    apply: ApplyOptions = option(default_factory=ApplyOptions)
    max_failures: int | None = None


class ArgoGenerateOptions(Options):
    """``regplan argocd-generate``: everything comes from the plugin's environment (see docs/fleet.md)."""


def workspace_note(path: str, total: int, selected: int) -> str:
    """The line that says a command runs over a workspace it found by itself (the mode is never silent)."""
    which = f"{total} cluster(s)" if selected == total else f"{selected} of {total} cluster(s)"
    return (
        f"regplan: using workspace {path} ({which}); pass --no-workspace (or -p/--context) for one cluster\n"
    )


def _workspace(opts: FleetOptions, cwd: Path | None = None) -> Any:
    from regplan.fleet import workspace as wsmod

    path = opts.workspace
    if path is None:
        here = cwd or Path.cwd()
        path = wsmod.find(here)
        if path is None:
            raise InvalidInput(
                f"{opts.command}: no {wsmod.FILE_NAME} in {here} or its parents; pass --workspace FILE"
            )
    else:
        from regplan.base.userfiles import not_a_file

        if not_a_file(path):
            raise InvalidInput(f"--workspace {path}: {not_a_file(path)}")
    return wsmod.load(path, profiles_dir=opts.profiles_dir)


def fleet(
    opts: FleetOptions,
    *,
    reporter: Reporter,
    confirm: Callable[[str], bool] | None = None,
    is_tty: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExitCode:
    """A fleet command: load the workspace, select the clusters, run the command over them."""
    import threading

    from regplan.fleet import runs as fl

    _choice("command", opts.command, FLEET_COMMANDS)
    _choice("--output", opts.output, FLEET_OUTPUTS[opts.command])
    env = _env(environ)
    ws = _workspace(opts)
    specs = ws.select(opts.clusters, opts.selector)
    if opts.found or opts.workspace is None:
        # found upwards: "regplan.yaml" or "../../regplan.yaml" from here, never a directory's name
        shown = os.path.relpath(ws.path, Path.cwd())
        reporter.err(workspace_note(shown, len(ws.clusters), len(specs)))
    lock = threading.Lock()

    def say(name: str, msg: str) -> None:
        with lock:  # one line at a time from the worker threads
            reporter.err(f"[{name}] {msg}\n")

    ctx = fl.Context(ws=ws, environ=env, kubeconfig=opts.kubeconfig, snapshot_dir=opts.snapshot_dir, say=say)
    return _FLEET_BODIES[opts.command](opts, ctx, specs, reporter, confirm, is_tty)


def _parallelism(opts: FleetOptions, *, writes: bool = False) -> int:
    from regplan.fleet import runs as fl

    return fl.default_parallelism(writes=writes) if opts.parallelism is None else opts.parallelism


def _fleet_doc(kind: str, outcomes: Any, code: ExitCode, ctx: Any, output: str) -> str:
    from regplan.present import fleetviews

    doc = fleetviews.fleet_json(kind, outcomes, code, ctx.ws.relative(ctx.ws.path))
    return doc if output == "json" else _yaml_of_json(doc)


def _fleet_plan(opts: FleetOptions, ctx: Any, specs: Any, reporter: Reporter, *_: Any) -> ExitCode:
    from regplan.fleet import files as fleetfiles
    from regplan.fleet import runs as fl
    from regplan.present import fleetviews

    if opts.out is not None:
        fleetfiles.check_out_dir(opts.out, "--out")
    if opts.snapshot_dir is None:
        fl.check_contexts(ctx, specs)
    # each cluster's code is what `regplan plan` with the same flags exits with (actions.plan_code)
    outcomes = fl.plan_many(
        ctx, specs, parallelism=_parallelism(opts), detailed_exitcode=opts.detailed_exitcode
    )
    code = fl.code_of(outcomes)
    if opts.output == "text":
        reporter.out(fleetviews.plan_text(outcomes, code, color=reporter.color))
    elif opts.output == "markdown":
        reporter.out(fleetviews.plan_markdown(outcomes, code))
    else:
        reporter.out(_fleet_doc("FleetPlan", outcomes, code, ctx, opts.output))
    if opts.out is not None:
        from regplan.base.escape import shell_words

        written = fl.save_plans(outcomes, opts.out)
        command = shell_words(["regplan", "apply", "--plan-dir", str(opts.out)])
        reporter.err(f"{len(written)} plan(s) saved in {opts.out}; run `{command}` to apply them\n")
    return code


def _fleet_status(opts: FleetOptions, ctx: Any, specs: Any, reporter: Reporter, *_: Any) -> ExitCode:
    from regplan.fleet import runs as fl
    from regplan.present import fleetviews

    if opts.snapshot_dir is None:
        fl.check_contexts(ctx, specs)
    outcomes = fl.run_many(specs, lambda s: fl.status_cluster(ctx, s), parallelism=_parallelism(opts))
    code = fl.code_of(outcomes)
    if opts.output == "text":
        reporter.out(fleetviews.status_text(outcomes, code))
    else:
        reporter.out(_fleet_doc("FleetStatus", outcomes, code, ctx, opts.output))
    return code


def _fleet_snapshot(opts: FleetOptions, ctx: Any, specs: Any, reporter: Reporter, *_: Any) -> ExitCode:
    from regplan.fleet import files as fleetfiles
    from regplan.fleet import runs as fl
    from regplan.present import fleetviews

    out_dir = opts.out or ctx.ws.snapshot_dir
    fleetfiles.check_out_dir(out_dir, "--out-dir" if opts.out else "snapshotDir", base=ctx.ws.root)
    fl.check_contexts(ctx, specs)
    outcomes = fl.run_many(
        specs, lambda s: fl.snapshot_cluster(ctx, s, out_dir), parallelism=_parallelism(opts)
    )
    code = fl.code_of(outcomes)
    reporter.out(fleetviews.apply_summary(outcomes, code) if code is not ExitCode.OK else "")
    return code


def _fleet_render(
    opts: FleetOptions, ctx: Any, specs: Any, reporter: Reporter, *_: Any, prune: bool = False
) -> ExitCode:
    """Render the selected clusters into the tree; ``prune`` (only ``golden --update`` of the whole
    workspace) also removes regplan's files of clusters no longer listed."""
    from regplan.fleet import runs as fl

    out_dir = opts.out or ctx.ws.render_dir
    tree = fl.render_tree(ctx.ws, specs)
    if tree.errors:  # nothing is written unless every selected cluster renders
        raise InvalidInput(
            "nothing was written; cannot render:\n" + "\n".join(f"  {n}: {e}" for n, e in tree.errors.items())
        )
    for line in fl.write_tree(ctx.ws, specs, tree, out_dir, prune=prune):
        reporter.err(line + "\n")
    for name, refs in tree.left_out.items():
        reporter.err(
            f"[{name}] left out {', '.join(refs)}: it holds credentials; `regplan apply` creates it from the "
            f"values' secret sources (see docs/fleet.md)\n"
        )
    reporter.err(f"{len(specs)} cluster(s) rendered under {ctx.ws.relative(out_dir)}/\n")
    return ExitCode.OK


def _fleet_golden(opts: FleetOptions, ctx: Any, specs: Any, reporter: Reporter, *_: Any) -> ExitCode:
    from regplan.fleet import runs as fl

    whole = not opts.clusters and not opts.selector
    if opts.update:
        return _fleet_render(opts, ctx, specs, reporter, prune=whole)
    text, code = fl.golden_check(ctx.ws, specs, opts.out or ctx.ws.render_dir, whole=whole)
    reporter.out(text)
    return code


def _fleet_apply(
    opts: FleetOptions,
    ctx: Any,
    specs: Any,
    reporter: Reporter,
    confirm: Callable[[str], bool] | None,
    is_tty: bool | None,
) -> ExitCode:
    """Apply many: from a plan directory (reviewed plans) or by planning every selected cluster now. Without
    a terminal it needs --yes; on a terminal it shows the summary and asks once. Each cluster then runs the
    single-cluster apply action (``fleet.apply_cluster``)."""
    from regplan.fleet import runs as fl
    from regplan.present import fleetviews

    tty = sys.stdin.isatty() if is_tty is None else is_tty
    if not opts.apply.yes and (not tty or confirm is None):
        raise InvalidInput(
            "apply in a workspace needs confirmation: run on a terminal or pass --yes (nothing was written)"
        )
    fl.check_contexts(ctx, specs)
    shown = reporter.err if opts.output == "json" else reporter.out
    plans: dict[str, Any] = {}
    files: dict[str, Path] = {}
    failed: list[Any] = []
    if opts.plan_dir is not None:
        files = fl.plan_files(ctx.ws, specs, opts.plan_dir, explicit=bool(opts.clusters))
        specs = [s for s in specs if s.name in files]
        fl.check_plan_files(ctx.ws, specs, files)  # each made for its entry, before anything is asked
        question = f"Apply the saved plans of {len(specs)} cluster(s) in {opts.plan_dir}?"
    else:
        planned = fl.plan_many(ctx, specs, parallelism=_parallelism(opts))
        shown(fleetviews.plan_text(planned, fl.code_of(planned), color=reporter.color))
        # a plan with errors goes on to its apply, which refuses it (one home for the refusals)
        plans = {o.name: o.plan for o in planned if o.plan is not None and not o.error}
        failed = [o for o in planned if o.name not in plans]
        writes = sum(len(p.writes) for p in plans.values())
        question = f"Apply {writes} write(s) to {len(plans)} cluster(s)?"
    if not opts.apply.yes and not (confirm and confirm(question)):
        reporter.err("regplan: not confirmed; nothing was written\n")
        return ExitCode.OK
    runnable = [s for s in specs if opts.plan_dir is not None or s.name in plans]
    at_once = _parallelism(opts, writes=True)  # writes: a smaller batch than reads (fleet.WRITE_PARALLELISM)
    outcomes = fl.apply_many(
        ctx, runnable, opts.apply, plans=plans, plan_files_=files, parallelism=at_once,
        max_failures=opts.max_failures, already_failed=len(failed),
    )  # fmt: skip
    by_name = {o.name: o for o in [*failed, *outcomes]}
    ordered = [by_name[s.name] for s in specs if s.name in by_name]
    code = fl.code_of(ordered)
    if opts.output == "json":
        reporter.out(_fleet_doc("FleetApply", ordered, code, ctx, "json"))
    else:
        reporter.out(fleetviews.apply_summary(ordered, code))
    return code


_FLEET_BODIES: dict[str, Callable[..., ExitCode]] = {
    "plan": _fleet_plan,
    "apply": _fleet_apply,
    "status": _fleet_status,
    "snapshot": _fleet_snapshot,
    "render": _fleet_render,
    "golden": _fleet_golden,
}


def _shown(text: str) -> str:
    """A value from the plugin's environment as an error message may quote it: key material redacted (an
    Argo CD app's status shows the message to everyone who can see the app), then quoted by the one rule."""
    from regplan.base.normalize import quoted_redacted

    return quoted_redacted(text)


def _json_depth(text: str, limit: int) -> int:
    """How deeply ``text``'s JSON arrays/objects nest (strings skipped), counting no further than limit + 1:
    checked before ``json.loads``, whose recursion a deep document exhausts."""
    import re

    depth = deepest = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif tok in "]}":
            depth -= 1
    return deepest


def argocd_parameters(raw: str) -> list[Any]:
    """``ARGOCD_APP_PARAMETERS`` (the Application's plugin parameters as JSON), bounded in size and depth."""
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > ARGOCD_PARAMETERS_MAX_BYTES:
        raise InvalidInput(f"{ARGOCD_PARAMETERS_ENV}: {size} bytes, more than {ARGOCD_PARAMETERS_MAX_BYTES}")
    if _json_depth(raw, ARGOCD_PARAMETERS_MAX_DEPTH) > ARGOCD_PARAMETERS_MAX_DEPTH:
        raise InvalidInput(
            f"{ARGOCD_PARAMETERS_ENV}: nested deeper than {ARGOCD_PARAMETERS_MAX_DEPTH} levels"
        )
    try:
        params = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidInput(f"{ARGOCD_PARAMETERS_ENV}: not JSON") from None
    if params is None:  # what Argo CD sends for an Application without parameters
        return []
    if not isinstance(params, list):
        raise InvalidInput(f"{ARGOCD_PARAMETERS_ENV}: not a JSON list of parameters")
    return params


def argocd_cluster(environ: Mapping[str, str]) -> str:
    """The cluster an Argo CD application renders: its ``cluster`` parameter (``PARAM_CLUSTER``, or in
    ``ARGOCD_APP_PARAMETERS``), else the plugin env var REGPLAN_CLUSTER (``ARGOCD_ENV_REGPLAN_CLUSTER``).
    Checked to be a cluster name (workspace.NAME) before anything quotes or looks it up."""
    from regplan.fleet import workspace as wsmod

    # The parameter (Argo CD sets PARAM_CLUSTER and ARGOCD_APP_PARAMETERS from it) wins over the plugin env,
    # which may be a default set for many apps (docs/fleet.md). Parameters that disagree are refused.
    param_env, plugin_env = ARGOCD_CLUSTER_ENV
    params: list[tuple[str, str]] = [(param_env, environ[param_env])] if environ.get(param_env) else []
    raw = environ.get(ARGOCD_PARAMETERS_ENV)
    for p in argocd_parameters(raw) if raw else []:
        if isinstance(p, dict) and p.get("name") == "cluster" and isinstance(p.get("string"), str):
            params.append((f"{ARGOCD_PARAMETERS_ENV} cluster", p["string"]))
    if len({value for _, value in params}) > 1:  # ambiguous: never pick one silently
        shown = "; ".join(f"{where}: {_shown(value)}" for where, value in params[:4])
        raise InvalidInput(
            f"argocd-generate: the application's parameters name more than one cluster ({shown})"
        )
    found = params[0] if params else (plugin_env, environ[plugin_env]) if environ.get(plugin_env) else None
    if found is None:
        raise InvalidInput(
            "argocd-generate: which cluster? set the application's plugin parameter `cluster` or the plugin "
            "env REGPLAN_CLUSTER (ARGOCD_ENV_REGPLAN_CLUSTER)"
        )
    source, value = found
    if not wsmod.NAME.fullmatch(value):
        raise InvalidInput(
            f"{source}: {_shown(value)} is not a cluster name of {wsmod.FILE_NAME} (lowercase letters, "
            "digits, '-' and '.', at most 63)"
        )
    return value


def argocd_levels(source_path: str) -> int:
    """How many directories the app's path (``ARGOCD_APP_SOURCE_PATH``) lies below the repository's root, as
    Argo CD joins it (``.`` and empty parts ignored, ``..`` clamped at the root). deploy/argocd/plugin.yaml's
    discovery counts the same way."""
    n = 0
    for part in source_path.split("/"):
        if part in ("", "."):
            continue
        n = max(n - 1, 0) if part == ".." else n + 1
    return n


def _regular(path: Path, what: str, root: Path) -> bool:
    """Whether ``path`` is a regular file of the repository ``root`` (False: absent), read through the file
    layer (``userfiles.Root.is_file``): walked from the root without following a symlink, so a symlink
    there or on the way, a directory, a FIFO or a device is refused in its words, never followed or
    opened; a path that leaves the root is refused (exit 3)."""
    from regplan.base import userfiles

    rel = os.path.relpath(os.path.abspath(path), root)
    if "\0" in rel or rel == "." or rel.split(os.sep)[0] == "..":
        raise InvalidInput(f"{what}: {_shown(rel)} is not a file inside the repository")
    if any(len(part.encode("utf-8", "surrogateescape")) > userfiles.NAME_MAX for part in rel.split(os.sep)):
        raise InvalidInput(f"{what}: {_shown(rel)}: file name too long")
    try:
        return userfiles.Root(root, ".").is_file(Path(rel).as_posix())
    except InvalidInput as err:
        raise InvalidInput(f"{what}: {err}; regplan reads only regular files of the repository") from None


def argocd_workspace(environ: Mapping[str, str], cwd: Path) -> Path:
    """The workspace of the app at ``cwd`` (its path in the checkout): ``ARGOCD_ENV_REGPLAN_WORKSPACE``
    (relative to the app's path, inside the repository), else ``regplan.yaml`` in the app's path or the
    nearest parent within the repository, which is what the plugin's discovery matches. A regular file:
    never followed through a link."""
    from regplan.fleet import workspace as wsmod

    source_path = environ.get(ARGOCD_SOURCE_PATH_ENV, "")
    dirs = [cwd, *cwd.parents][: argocd_levels(source_path) + 1]
    root = dirs[-1].absolute()
    given = environ.get(ARGOCD_WORKSPACE_ENV)
    if given:
        if "\0" in given:
            raise InvalidInput(f"{ARGOCD_WORKSPACE_ENV}: {_shown(given)} is not a file inside the repository")
        try:
            path = cwd / given
            if not _regular(path, ARGOCD_WORKSPACE_ENV, root):
                raise InvalidInput(f"{ARGOCD_WORKSPACE_ENV}: {_shown(given)}: no such file in the repository")
        except OSError as err:  # a name too long
            raise InvalidInput(f"{ARGOCD_WORKSPACE_ENV}: {_shown(given)}: {err.strerror}") from None
        return path
    for d in dirs:
        if _regular(d / wsmod.FILE_NAME, "argocd-generate", root):
            return d / wsmod.FILE_NAME
    raise InvalidInput(
        f"argocd-generate: no {wsmod.FILE_NAME} in the app's path {_shown(source_path or '.')} or a parent "
        "within the repository"
    )


ARGOCD_OCP3_REFUSED = (
    "argocd-generate: cluster {name} is OpenShift 3.x (target ocp3), which regplan does not serve through "
    "Argo CD: its manifests hold a partial DeploymentConfig (the registry's storage volume, mount and env "
    "only), which regplan applies as a JSON patch; Argo CD would apply it as a merge that replaces the "
    "DeploymentConfig's container and volume lists, dropping everything regplan does not render (such as "
    "the registry-certificates volume). Use `regplan apply` for this cluster (or `regplan plan` in CI), or "
    "review the commands of `regplan render -p {profile_word} --target ocp3 -o oc` (with the cluster's "
    "values) and run them"
)


# An object whose manifest holds a null (a field to remove: the storage backends Config/cluster must not keep)
# needs a merge to remove it: client-side apply (what Argo CD does by default) merges it away, while a
# server-side apply cannot remove another manager's field and the apiserver refuses the nulls. So Argo CD
# is told to apply it client-side even when the Application uses ServerSideApply=true.
ARGOCD_SYNC_OPTIONS = ("argocd.argoproj.io/sync-options", "ServerSideApply=false")


def _holds_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v is None or _holds_null(v) for v in value.values())
    if isinstance(value, list):
        return any(v is None or _holds_null(v) for v in value)
    return False


def argocd_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifests Argo CD applies: ``render``'s, with ARGOCD_SYNC_OPTIONS on each object holding a null
    (tests/cluster/test_argocd_sync.py checks the result with Argo CD's diff)."""
    key, value = ARGOCD_SYNC_OPTIONS
    out = []
    for obj in objects:
        if _holds_null(obj):
            meta = dict(obj.get("metadata") or {})
            meta["annotations"] = {**(meta.get("annotations") or {}), key: value}
            obj = {**obj, "metadata": meta}
        out.append(obj)
    return out


def argocd_generate(
    opts: ArgoGenerateOptions, *, reporter: Reporter, environ: Mapping[str, str] | None = None
) -> ExitCode:
    """The Argo CD Config Management Plugin's generate command: one cluster's manifests on stdout, as
    ``regplan render`` writes them to git (no secret values; the working directory is the app's path), with
    Argo CD's sync option where a server-side apply could not do it (argocd_objects). OpenShift 3.x
    clusters are refused (ARGOCD_OCP3_REFUSED says why)."""
    from regplan.base.model import Target
    from regplan.fleet import runs as fl
    from regplan.present import output

    env = _env(environ)
    name = argocd_cluster(env)
    ws = _workspace(FleetOptions(command="argocd-generate", workspace=argocd_workspace(env, Path.cwd())))
    (spec,) = ws.select([name])
    if fl.render_target(ws, spec) is Target.OCP3:
        from regplan.base.escape import shell_word

        raise InvalidInput(ARGOCD_OCP3_REFUSED.format(name=name, profile_word=shell_word(spec.profile)))
    rendered, _ = fl.render_for_git(ws, spec)
    rendered.objects = argocd_objects(rendered.objects)
    reporter.out(output.format_rendered(rendered, "yaml"))
    return ExitCode.OK
