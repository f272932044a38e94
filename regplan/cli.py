"""Command-line interface: maps options onto the pipeline and exit codes. No logic lives here.

Each command imports the modules it needs inside its body, so that `regplan render` never imports
`kubernetes` or `deepdiff` (start-up time, DESIGN.md). Expected errors (``RegplanError``) print one
message on stderr and exit with their documented code; nothing else prints a traceback unless
``REGPLAN_DEBUG`` is set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from regplan.errors import ExitCode, RegplanError

app = typer.Typer(
    name="regplan",
    help="Plan and apply OpenShift image-registry storage changes declaratively.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Shared option types (value options are the same for render, validate, plan and apply).
ProfileOpt = Annotated[str, typer.Option("--profile", "-p", help="Profile name (see `regplan profiles`).")]
ValuesOpt = Annotated[
    list[Path] | None,
    typer.Option("--values", "-f", help="Values file (YAML); repeatable, later files win."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="KEY=VALUE override, applied after the values files; repeatable."),
]
ProfilesDirOpt = Annotated[
    Path | None,
    typer.Option("--profiles-dir", envvar="REGPLAN_PROFILES_DIR", help="Directory of user profiles."),
]
KubeconfigOpt = Annotated[
    str | None, typer.Option("--kubeconfig", help="Kubeconfig file(s); default $KUBECONFIG, ~/.kube/config.")
]
ContextOpt = Annotated[str | None, typer.Option("--context", help="Kubeconfig context to use.")]

def _fail(err: RegplanError) -> None:
    typer.echo(f"regplan: {err}", err=True)
    raise typer.Exit(int(err.exit_code))


@app.command("profiles")
def profiles_cmd(profiles_dir: ProfilesDirOpt = None) -> None:
    """List the profiles with a one-line description."""
    from regplan import values

    try:
        rows = values.list_profiles(profiles_dir=profiles_dir)
    except RegplanError as err:
        _fail(err)
        return
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        typer.echo(f"{name:<{width}}  {description}")


@app.command("render")
def render_cmd(
    profile: ProfileOpt,
    values_files: ValuesOpt = None,
    sets: SetOpt = None,
    profiles_dir: ProfilesDirOpt = None,
    target: Annotated[str, typer.Option("--target", help="ocp4 or ocp3.")] = "ocp4",
    output: Annotated[str, typer.Option("--output", "-o", help="yaml, json or oc.")] = "yaml",
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Write one file per object plus kustomization.yaml.")
    ] = None,
) -> None:
    """Render the profile as manifests that `oc apply -f -` accepts (or as `oc` commands)."""
    from regplan import entry  # the same body as the typer-free fast path of the console script

    try:
        entry.render_command(
            profile=profile, values_files=values_files or [], sets=sets or [], profiles_dir=profiles_dir,
            target=target, output=output, out_dir=out_dir, environ=os.environ, stdout=sys.stdout,
            stderr=sys.stderr,
        )
    except RegplanError as err:
        _fail(err)


@app.command("validate")
def validate_cmd(
    profile: ProfileOpt,
    values_files: ValuesOpt = None,
    sets: SetOpt = None,
    profiles_dir: ProfilesDirOpt = None,
    target: Annotated[str, typer.Option("--target", help="ocp4 or ocp3.")] = "ocp4",
) -> None:
    """Check values against the schema and the domain rules, without a cluster."""
    from regplan import entry

    try:
        entry.validate_command(
            profile=profile, values_files=values_files or [], sets=sets or [], profiles_dir=profiles_dir,
            target=target, environ=os.environ, stderr=sys.stderr,
        )
    except RegplanError as err:
        _fail(err)


@app.command("plan")
def plan_cmd(
    profile: ProfileOpt,
    values_files: ValuesOpt = None,
    sets: SetOpt = None,
    profiles_dir: ProfilesDirOpt = None,
    target: Annotated[str, typer.Option("--target", help="auto, ocp4 or ocp3.")] = "auto",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    snapshot: Annotated[
        Path | None, typer.Option("--snapshot", help="Plan against live state read from this file.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Save the plan for `regplan apply`.")] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json.")] = "text",
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
) -> None:
    """Show exactly what apply would change, and why, before anything is touched."""
    from regplan import workflow

    try:
        code = workflow.plan_command(
            profile=profile,
            values_files=values_files or [],
            sets=sets or [],
            profiles_dir=profiles_dir,
            target=target,
            kubeconfig=kubeconfig,
            context=context,
            snapshot=snapshot,
            out=out,
            output=output,
            detailed_exitcode=detailed_exitcode,
        )
    except RegplanError as err:
        _fail(err)
        return
    raise typer.Exit(int(code))


@app.command("apply")
def apply_cmd(
    planfile: Annotated[Path | None, typer.Argument(help="A plan saved with `regplan plan --out`.")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Plan this profile, confirm, then apply.")
    ] = None,
    values_files: ValuesOpt = None,
    sets: SetOpt = None,
    profiles_dir: ProfilesDirOpt = None,
    target: Annotated[str, typer.Option("--target", help="auto, ocp4 or ocp3.")] = "auto",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    allow_replace: Annotated[
        bool, typer.Option("--allow-replace", help="Allow delete + create of objects (data loss).")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the change took effect.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait with --wait.")] = 300.0,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for another apply's lock.")
    ] = 60.0,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json (the report).")] = "text",
) -> None:
    """Change the cluster to match the profile: exactly the planned writes, nothing lost by surprise."""
    from regplan import apply as apply_step

    if (planfile is None) == (profile is None):
        _fail(_usage("apply takes either a PLANFILE or -p PROFILE"))
    try:
        code = apply_step.apply_command(
            planfile=planfile,
            profile=profile,
            values_files=values_files or [],
            sets=sets or [],
            profiles_dir=profiles_dir,
            target=target,
            kubeconfig=kubeconfig,
            context=context,
            yes=yes,
            allow_replace=allow_replace,
            wait=wait,
            timeout=timeout,
            lock_timeout=lock_timeout,
            output=output,
        )
    except RegplanError as err:
        _fail(err)
        return
    raise typer.Exit(int(code))


@app.command("status")
def status_cmd(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    target: Annotated[str, typer.Option("--target", help="auto, ocp4 or ocp3.")] = "auto",
    snapshot: Annotated[Path | None, typer.Option("--snapshot", help="Read live state from a file.")] = None,
    profiles_dir: ProfilesDirOpt = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json.")] = "text",
) -> None:
    """What storage the registry uses now: backend, replicas, claim phase and events, conditions."""
    from regplan import workflow

    try:
        workflow.status_command(
            kubeconfig=kubeconfig,
            context=context,
            target=target,
            snapshot=snapshot,
            profiles_dir=profiles_dir,
            output=output,
        )
    except RegplanError as err:
        _fail(err)


@app.command("golden")
def golden_cmd(
    check: Annotated[bool, typer.Option("--check", help="Compare with golden/; exit 2 on a diff.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Rewrite the files under golden/.")] = False,
    root: Annotated[Path, typer.Option("--root", help="Project root holding golden/.")] = Path("."),
) -> None:
    """Check or rewrite the golden files (rendered manifests and plans)."""
    from regplan import golden

    if check == update:
        _fail(_usage("golden takes exactly one of --check or --update"))
    try:
        result = golden.run(root=root, update=update)
    except RegplanError as err:
        _fail(err)
        return
    if update:
        typer.echo(result.report, err=True, nl=False)
    else:
        sys.stdout.write(result.report)
    raise typer.Exit(int(result.code))


def _usage(message: str) -> RegplanError:
    from regplan.errors import InvalidInput

    return InvalidInput(message)


def main() -> None:
    """Console-script entry point: click's usage errors become exit 3 (invalid input), not click's 2."""
    import importlib
    import importlib.util

    # typer 0.29 bundles its own click as typer._click (plain click is then not installed at all).
    bundled = importlib.util.find_spec("typer._click") is not None
    click = importlib.import_module("typer._click" if bundled else "click")

    try:
        code = app(standalone_mode=False)
    except click.exceptions.UsageError as err:
        err.show()
        sys.exit(int(ExitCode.INVALID))
    except typer.Abort:  # typer's vendored click has no exceptions.Abort; typer.Abort is what it raises
        typer.echo("regplan: aborted", err=True)
        sys.exit(130)
    except RegplanError as err:  # raised outside a command body
        typer.echo(f"regplan: {err}", err=True)
        sys.exit(int(err.exit_code))
    except KeyboardInterrupt:
        typer.echo("regplan: interrupted", err=True)
        sys.exit(130)
    except Exception as err:  # a bug: say so, keep the traceback for REGPLAN_DEBUG
        if os.environ.get("REGPLAN_DEBUG"):
            raise
        typer.echo(f"regplan: unexpected error: {type(err).__name__}: {err} (set REGPLAN_DEBUG=1)", err=True)
        sys.exit(int(ExitCode.UNEXPECTED))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
