"""Console entry point: the offline commands without typer, everything else through the typer CLI (cli.py).

Why: typer builds pydantic adapters for a command's parameters, which costs more than the whole render
(measured: ~400 ms against a ~100 ms import floor; see bench/render_startup.py). ``regplan render`` and
``regplan validate`` are run in loops by scripts and CI, so their common forms are parsed here with a
small, strict parser, and only then import what they use. Anything this parser does not recognise exactly
(help, unknown options, missing values, other commands) is handed to the typer CLI unchanged, so typer
stays the one place that defines usage, help and usage errors. The command bodies below are shared: the
typer commands call the same functions, so both paths behave the same.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

# option -> (destination, repeatable); mirrors the typer options of render / validate in cli.py
_OPTIONS: dict[str, dict[str, tuple[str, bool]]] = {
    "render": {
        "-p": ("profile", False),
        "--profile": ("profile", False),
        "-f": ("values", True),
        "--values": ("values", True),
        "--set": ("sets", True),
        "--profiles-dir": ("profiles_dir", False),
        "--target": ("target", False),
        "-o": ("output", False),
        "--output": ("output", False),
        "--out-dir": ("out_dir", False),
    },
}
_OPTIONS["validate"] = {k: v for k, v in _OPTIONS["render"].items() if v[0] not in ("output", "out_dir")}


def parse(argv: Sequence[str]) -> tuple[str, dict[str, list[str]]] | None:
    """(command, options) for a plain render/validate invocation, or None to defer to the typer CLI."""
    if not argv or argv[0] not in _OPTIONS:
        return None
    known = _OPTIONS[argv[0]]
    opts: dict[str, list[str]] = {}
    i = 1
    while i < len(argv):
        token = argv[i]
        name, eq, inline = token.partition("=")
        if not name.startswith("--") and eq:  # "-p=x" is not how click reads short options: defer
            return None
        if name not in known:
            return None
        if eq:
            value = inline
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            value = argv[i + 1]
            i += 2
        else:
            return None  # a missing value (or one that looks like an option): typer explains
        dest, repeatable = known[name]
        if dest in opts and not repeatable:
            return None
        opts.setdefault(dest, []).append(value)
    if "profile" not in opts:
        return None
    return argv[0], opts


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


def main() -> None:
    """Console-script entry point."""
    parsed = parse(sys.argv[1:])
    if parsed is None:
        from regplan.cli import main as typer_main

        typer_main()
        return
    command, opts = parsed
    from regplan.errors import RegplanError

    profile = opts["profile"][0]
    values_files = [Path(f) for f in opts.get("values", [])]
    sets = opts.get("sets", [])
    profiles_dir = _profiles_dir(opts, os.environ)
    target = opts.get("target", ["ocp4"])[0]
    try:
        if command == "render":
            out_dir = opts.get("out_dir")
            render_command(
                profile=profile,
                values_files=values_files,
                sets=sets,
                profiles_dir=profiles_dir,
                target=target,
                output=opts.get("output", ["yaml"])[0],
                out_dir=Path(out_dir[0]) if out_dir else None,
                environ=os.environ,
                stdout=sys.stdout,
                stderr=sys.stderr,
            )
        else:
            validate_command(
                profile=profile,
                values_files=values_files,
                sets=sets,
                profiles_dir=profiles_dir,
                target=target,
                environ=os.environ,
                stderr=sys.stderr,
            )
    except RegplanError as err:
        sys.stderr.write(f"regplan: {err}\n")
        sys.exit(int(err.exit_code))
    except KeyboardInterrupt:
        sys.stderr.write("regplan: interrupted\n")
        sys.exit(130)
    except Exception as err:  # a bug: same contract as cli.main
        if os.environ.get("REGPLAN_DEBUG"):
            raise
        sys.stderr.write(f"regplan: unexpected error: {type(err).__name__}: {err} (set REGPLAN_DEBUG=1)\n")
        sys.exit(1)
    sys.exit(0)
