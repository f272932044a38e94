"""entry.py's option table is the typer CLI's, option for option: the fast path and typer cannot drift.

Each command the console script parses itself (``entry.OPTIONS``) is compared with the click command typer
builds from cli.py: every flag, whether it repeats, whether it is a flag (and which way it sets), the
positional argument, the float-typed options, the defaults and the environment variables.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

from regplan import cli, entry


def _typer_command(name: str) -> Any:
    group: Any = typer.main.get_command(cli.app)
    return group.commands[name]


def _table_from_typer(name: str) -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for p in _typer_command(name).params:
        if p.param_type_name != "option":
            continue
        if p.is_flag:
            table.update({o: (p.name, entry.ON) for o in p.opts})
            table.update({o: (p.name, entry.OFF) for o in p.secondary_opts})
        else:
            how = entry.MANY if p.multiple else entry.ONE
            table.update({o: (p.name, how) for o in p.opts})
    return table


@pytest.mark.parametrize("command", sorted(entry.OPTIONS))
def test_options_match_typer(command: str) -> None:
    assert entry.OPTIONS[command] == _table_from_typer(command)


@pytest.mark.parametrize("command", sorted(entry.OPTIONS))
def test_arguments_floats_envvars_match_typer(command: str) -> None:
    params = _typer_command(command).params
    arguments = [p.name for p in params if p.param_type_name == "argument"]
    assert arguments == ([entry.ARGUMENTS[command]] if command in entry.ARGUMENTS else [])
    floats = {
        p.name
        for p in params
        if getattr(p, "type_descriptor", None) and p.type_descriptor.annotation is float
    }
    assert floats == {d for d, _ in entry.OPTIONS[command].values()} & entry.FLOATS
    # the only environment variable typer reads is the one entry._profiles_dir reads
    assert {(p.name, p.envvar) for p in params if p.envvar} <= {("profiles_dir", "REGPLAN_PROFILES_DIR")}


@pytest.mark.parametrize("command", sorted(entry.OPTIONS))
def test_defaults_match_typer(command: str) -> None:
    for p in _typer_command(command).params:
        if p.param_type_name == "option" and p.is_flag:
            assert entry.DEFAULTS[command].get(p.name, "false") == ("true" if p.default else "false"), p.name
        elif p.default is None or p.multiple:
            assert p.name not in entry.DEFAULTS[command], p.name
        elif isinstance(p.default, float):
            assert float(entry.DEFAULTS[command][p.name]) == p.default, p.name
        else:
            assert entry.DEFAULTS[command][p.name] == p.default, p.name
