"""Console entry point: the common commands without typer, everything else through the typer CLI (cli.py).

Why: typer builds pydantic adapters for a command's parameters, which costs more than the whole render
(measured: ~150-200 ms of a ~0.8 s ``regplan plan``; see bench/render_startup.py, bench/plan_bench.py).
``render``, ``validate``, ``plan``, ``apply`` and ``status`` are run in loops by scripts and CI, so their
common forms are parsed here with a small, strict parser, and only then import what they use. Anything this
parser does not recognise exactly (help, unknown options, missing values, repeated single options, a value
typer would have to convert and might refuse, other commands) is handed to the typer CLI unchanged, so typer
stays the one place that defines usage, help and usage errors. ``OPTIONS`` is the table of what is parsed
here; tests/unit/test_entry_table.py checks it against the typer definitions in cli.py, so the two cannot
drift. The command bodies are shared: the typer commands call the same functions, so both paths behave the
same.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

# How an option takes its value: ONE value, MANY (repeatable), or a flag that sets True (ON) / False (OFF).
ONE, MANY, ON, OFF = "one", "many", "on", "off"

_VALUE_OPTIONS: dict[str, tuple[str, str]] = {
    "-p": ("profile", ONE),
    "--profile": ("profile", ONE),
    "-f": ("values_files", MANY),
    "--values": ("values_files", MANY),
    "--set": ("sets", MANY),
    "--profiles-dir": ("profiles_dir", ONE),
    "--target": ("target", ONE),
}
_CLUSTER_OPTIONS: dict[str, tuple[str, str]] = {
    "--kubeconfig": ("kubeconfig", ONE),
    "--context": ("context", ONE),
}
_OUTPUT: dict[str, tuple[str, str]] = {"-o": ("output", ONE), "--output": ("output", ONE)}

# command -> option -> (destination, how); mirrors the typer options of these commands in cli.py
# (tests/unit/test_entry_table.py compares the two).
OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "render": {**_VALUE_OPTIONS, **_OUTPUT, "--out-dir": ("out_dir", ONE)},
    "validate": dict(_VALUE_OPTIONS),
    "plan": {
        **_VALUE_OPTIONS,
        **_CLUSTER_OPTIONS,
        **_OUTPUT,
        "--snapshot": ("snapshot", ONE),
        "--out": ("out", ONE),
        "--detailed-exitcode": ("detailed_exitcode", ON),
    },
    "apply": {
        **_VALUE_OPTIONS,
        **_CLUSTER_OPTIONS,
        **_OUTPUT,
        "-y": ("yes", ON),
        "--yes": ("yes", ON),
        "--allow-replace": ("allow_replace", ON),
        "--wait": ("wait", ON),
        "--no-wait": ("wait", OFF),
        "--timeout": ("timeout", ONE),
        "--lock-timeout": ("lock_timeout", ONE),
    },
    "status": {
        **_CLUSTER_OPTIONS,
        **_OUTPUT,
        "--target": ("target", ONE),
        "--snapshot": ("snapshot", ONE),
        "--profiles-dir": ("profiles_dir", ONE),
    },
}
# Defaults of the options that have one (flags not listed default to "false"); the same as cli.py's.
DEFAULTS: dict[str, dict[str, str]] = {
    "render": {"target": "ocp4", "output": "yaml"},
    "validate": {"target": "ocp4"},
    "plan": {"target": "auto", "output": "text"},
    "apply": {"target": "auto", "output": "text", "wait": "true", "timeout": "300", "lock_timeout": "60"},
    "status": {"target": "auto", "output": "text"},
}
# The one positional argument a command takes (typer.Argument in cli.py).
ARGUMENTS: dict[str, str] = {"apply": "planfile"}
# Options typer converts to float: a value float() refuses is left to typer's usage error.
FLOATS: frozenset[str] = frozenset({"timeout", "lock_timeout"})
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _usable(command: str, opts: Mapping[str, list[str]]) -> bool:
    """The combinations typer itself must judge (it names what is missing) are left to it."""
    if command == "apply":
        return ("planfile" in opts) != ("profile" in opts)  # exactly one of PLANFILE / -p
    if command == "status":
        return True
    return "profile" in opts


def parse(argv: Sequence[str]) -> tuple[str, dict[str, list[str]]] | None:
    """(command, options) for a plain invocation of a command in ``OPTIONS``, or None to defer to typer.

    Flags are recorded as ``["true"]`` / ``["false"]``; the positional argument under its ``ARGUMENTS`` name.
    """
    if not argv or argv[0] not in OPTIONS:
        return None
    command = argv[0]
    known = OPTIONS[command]
    opts: dict[str, list[str]] = {}
    i = 1
    while i < len(argv):
        token = argv[i]
        if not token.startswith("-"):
            dest = ARGUMENTS.get(command)
            if dest is None or dest in opts:
                return None  # an extra argument: typer explains
            opts[dest] = [token]
            i += 1
            continue
        name, eq, inline = token.partition("=")
        if not name.startswith("--") and eq:  # "-p=x" is not how click reads short options: defer
            return None
        if name not in known:
            return None
        dest, how = known[name]
        if how in (ON, OFF):
            if eq:
                return None  # "--yes=..." is a usage error typer words
            value = "true" if how == ON else "false"
            i += 1
        elif eq:
            value = inline
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            value = argv[i + 1]
            i += 2
        else:
            return None  # a missing value (or one that looks like an option): typer explains
        if dest in opts and how != MANY:
            return None
        if value == "" or (dest in FLOATS and not _PLAIN_NUMBER.fullmatch(value)):
            return None  # what typer would convert (or refuse) in its own way
        opts.setdefault(dest, []).append(value)
    if not _usable(command, opts):
        return None
    return command, opts


def _profiles_dir(opts: Mapping[str, list[str]], environ: Mapping[str, str]) -> Path | None:
    given = opts.get("profiles_dir")
    if given:
        return Path(given[0])
    env = environ.get("REGPLAN_PROFILES_DIR")
    return Path(env) if env else None


def render_command(
    *,
    profile: str,
    values_files: Sequence[Path],
    sets: Sequence[str],
    profiles_dir: Path | None,
    target: str,
    output: str,
    out_dir: Path | None,
    environ: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
) -> None:
    """``regplan render``: raises RegplanError for expected errors; writes nothing before it succeeded."""
    from regplan import output as out
    from regplan import render, values

    out.check_format(output)  # before any work: a typo in -o must not read secret sources first
    vals = values.load_values(
        profile, files=list(values_files), sets=list(sets), profiles_dir=profiles_dir, environ=environ
    )
    rendered = render.render(vals, render.parse_target(target))
    if out_dir is not None:
        for path in out.write_dir(rendered, out_dir):
            stderr.write(f"wrote {path}\n")
        return
    stdout.write(out.format_rendered(rendered, output))


def validate_command(
    *,
    profile: str,
    values_files: Sequence[Path],
    sets: Sequence[str],
    profiles_dir: Path | None,
    target: str,
    environ: Mapping[str, str],
    stderr: TextIO,
) -> None:
    """``regplan validate``: schema + domain rules; raises ValidationFailed (exit 3) with every problem."""
    from regplan import render, values

    vals = values.load_values(
        profile, files=list(values_files), sets=list(sets), profiles_dir=profiles_dir, environ=environ
    )
    render.render(vals, render.parse_target(target))  # the rules first, then the rendered objects' checks
    stderr.write(f"{profile}: valid\n")


def _run(command: str, opts: Mapping[str, list[str]], environ: Mapping[str, str]) -> int:
    """Run a parsed command with the same arguments the typer command in cli.py passes; its exit code."""

    def one(dest: str) -> str:
        return (opts.get(dest) or [DEFAULTS[command].get(dest, "")])[0]

    def path(dest: str) -> Path | None:
        return Path(opts[dest][0]) if dest in opts else None

    def flag(dest: str) -> bool:
        return one(dest) == "true"

    profile = one("profile")
    values_files = [Path(f) for f in opts.get("values_files", [])]
    sets = list(opts.get("sets", []))
    profiles_dir = _profiles_dir(opts, environ)
    if command == "render":
        render_command(
            profile=profile,
            values_files=values_files,
            sets=sets,
            profiles_dir=profiles_dir,
            target=one("target"),
            output=one("output"),
            out_dir=path("out_dir"),
            environ=environ,
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
        return 0
    if command == "validate":
        validate_command(
            profile=profile,
            values_files=values_files,
            sets=sets,
            profiles_dir=profiles_dir,
            target=one("target"),
            environ=environ,
            stderr=sys.stderr,
        )
        return 0
    kubeconfig, context = opts.get("kubeconfig", [None])[0], opts.get("context", [None])[0]
    if command == "plan":
        from regplan import workflow

        return int(
            workflow.plan_command(
                profile=profile,
                values_files=values_files,
                sets=sets,
                profiles_dir=profiles_dir,
                target=one("target"),
                kubeconfig=kubeconfig,
                context=context,
                snapshot=path("snapshot"),
                out=path("out"),
                output=one("output"),
                detailed_exitcode=flag("detailed_exitcode"),
            )
        )
    if command == "status":
        from regplan import workflow

        return int(
            workflow.status_command(
                kubeconfig=kubeconfig,
                context=context,
                target=one("target"),
                snapshot=path("snapshot"),
                profiles_dir=profiles_dir,
                output=one("output"),
            )
        )
    from regplan import apply as apply_step

    return int(
        apply_step.apply_command(
            planfile=path("planfile"),
            profile=opts.get("profile", [None])[0],
            values_files=values_files,
            sets=sets,
            profiles_dir=profiles_dir,
            target=one("target"),
            kubeconfig=kubeconfig,
            context=context,
            yes=flag("yes"),
            allow_replace=flag("allow_replace"),
            wait=flag("wait"),
            timeout=float(one("timeout")),
            lock_timeout=float(one("lock_timeout")),
            output=one("output"),
        )
    )


def main() -> None:
    """Console-script entry point."""
    parsed = parse(sys.argv[1:])
    if parsed is None:
        from regplan.cli import main as typer_main

        typer_main()
        return
    command, opts = parsed
    from regplan.errors import RegplanError

    try:
        code = _run(command, opts, os.environ)
    except RegplanError as err:
        sys.stderr.write(f"regplan: {err}\n")
        sys.exit(int(err.exit_code))
    except KeyboardInterrupt:
        sys.stderr.write("regplan: interrupted\n")
        sys.exit(130)
    except Exception as err:  # a bug: same contract as cli.main
        if _is_abort(err):  # the confirmation prompt (typer.confirm) was aborted: as cli.main says it
            sys.stderr.write("regplan: aborted\n")
            sys.exit(130)
        if os.environ.get("REGPLAN_DEBUG"):
            raise
        sys.stderr.write(f"regplan: unexpected error: {type(err).__name__}: {err} (set REGPLAN_DEBUG=1)\n")
        sys.exit(1)
    sys.exit(code)


def _is_abort(err: BaseException) -> bool:
    """typer.Abort, without importing typer when no prompt ever imported it."""
    typer = sys.modules.get("typer")
    return typer is not None and isinstance(err, typer.Abort)
