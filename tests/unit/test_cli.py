"""The one command-line definition (regplan.cli.app, typer): the forms users type, typed options, usage errors
(exit 3, one line), help, version, colour, and what a hostile command line must never do to a terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from regplan.base.errors import ExitCode, InvalidInput
from regplan.cli import app as cli
from regplan.cli import commands

ROOT = Path(__file__).resolve().parents[2]
SNAP4 = str(ROOT / "examples/snapshots/ocp4-pvc-pending.yaml")


def opts(*argv: str, environ: dict[str, str] | None = None) -> Any:
    return cli.parse(argv, environ=environ or {}).options


# --- the forms kubectl / helm users type all reach the same options object ---------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "-p", "ebs-gp2-rwo", "-o", "json"],
        ["plan", "-p=ebs-gp2-rwo", "-o=json"],
        ["plan", "-pebs-gp2-rwo", "-ojson"],
        ["plan", "--profile=ebs-gp2-rwo", "--output=json"],
        ["plan", "--output", "json", "--profile", "ebs-gp2-rwo"],
        ["plan", "-ojson", "-p=ebs-gp2-rwo"],
    ],
)
def test_option_spellings_are_equivalent(argv: list[str]) -> None:
    assert opts(*argv) == commands.PlanOptions(
        values=commands.ValueOptions(profile="ebs-gp2-rwo"), output="json"
    )


def test_every_option_lands_in_its_typed_field() -> None:
    got = opts(
        "apply", "-p", "x", "-f", "a.yaml", "--values=b.yaml", "-f=c.yaml", "--set", "a=1", "--set=b=2",
        "--kubeconfig", "k1:k2", "--context=c", "--target", "ocp3", "-y", "--allow-replace", "--no-wait",
        "--timeout", "1m30s", "--lock-timeout=5", "-o", "json",
        environ={"REGPLAN_PROFILES_DIR": "/profiles"},
    )  # fmt: skip
    assert got == commands.ApplyOptions(
        values=commands.ValueOptions(
            profile="x",
            values_files=(Path("a.yaml"), Path("b.yaml"), Path("c.yaml")),
            sets=("a=1", "b=2"),
            profiles_dir=Path("/profiles"),
        ),
        cluster=commands.ClusterOptions(kubeconfig="k1:k2", context="c"),
        target="ocp3",
        yes=True,
        allow_replace=True,
        wait=False,
        timeout=90.0,
        lock_timeout=5.0,
        output="json",
    )


def test_defaults_are_the_options_objects_defaults() -> None:
    assert opts("apply", "plan.json") == commands.ApplyOptions(planfile=Path("plan.json"))
    assert opts("status") == commands.StatusOptions()
    assert opts("render", "-p", "x") == commands.RenderOptions(values=commands.ValueOptions(profile="x"))


def test_helm_set_forms_reach_the_values_unchanged() -> None:
    """--set is repeatable, commas stay inside one value (values.py splits them, helm style), and a value
    that looks like an option (``-p=y``) is a value, not ``-p``."""
    got = opts(
        "render", "-p", "x", "--set", "a=1,b=2", "--set", r"c=x\,y", "--set", "-p=y", "--set-string", "d=02"
    )
    assert got.values.sets == ("a=1,b=2", r"c=x\,y", "-p=y")
    assert got.values.set_strings == ("d=02",)
    assert got.values.profile == "x"


def test_short_equals_is_split_only_for_value_options() -> None:
    """click would give ``-p=NAME`` the profile ``=NAME``: regplan reads ``-p NAME``; ``-y=...`` stays an
    error (a flag takes no value) and nothing after ``--`` is touched."""
    assert opts("render", "-p=x", "-o=json", "-f=v.yaml").values.values_files == (Path("v.yaml"),)
    assert opts("render", "-p==x").values.profile == "=x"  # only the first "=" is the separator
    with pytest.raises(cli.UsageError):
        cli.parse(["apply", "plan.json", "-y=no"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300", 300.0), ("12.5", 12.5), ("30s", 30.0), ("5m", 300.0), ("1m30s", 90.0), ("1.5h", 5400.0),
     ("250ms", 0.25), ("0", 0.0), ("2h0m1s", 7201.0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert cli.duration(text) == seconds


@pytest.mark.parametrize("text", ["-5", "-1s", "5x", "m", "", "1m-3s", "1e3", "s5", "5 m", "1d"])
def test_bad_durations_are_usage_errors_in_our_words(text: str) -> None:
    with pytest.raises(cli.UsageError) as err:
        cli.parse(["apply", "plan.json", "--timeout", text])
    message = str(err.value)
    assert message.startswith("apply: --timeout:") and message.endswith("(see `regplan apply --help`)")
    assert "duration" in message and "float" not in message and "Invalid value" not in message
    assert err.value.exit_code is ExitCode.INVALID


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "a command is required, one of: profiles, render, validate, plan, apply, verify, show, status, "
             "golden, completion, snapshot, argocd-generate (see `regplan --help`)"),
        (["rendr"], "no such command 'rendr'; did you mean render? (see `regplan --help`)"),
        (["-v"], "no such option '-v'; did you mean --version? (see `regplan --help`)"),
        (["render"], "render: the following arguments are required: -p/--profile"),
        (["render", "-p", "x", "--bogus"], "render: no such option '--bogus' (see `regplan render --help`)"),
        (["render", "-p", "x", "--ouput", "json"], "no such option '--ouput'; did you mean --output?"),
        (["render", "-p", "x", "-o", "toml"],
         "render: -o/--output: invalid choice: 'toml' (choose from yaml, json, oc, inventory)"),
        (["render", "-p", "x", "--target", "auto"], "--target: invalid choice: 'auto' (choose from ocp4,"),
        (["plan", "-p", "x", "--snapshot", "s", "--context", "c"], "cannot be combined with --kubeconfig"),
        (["status", "--snapshot", "s.yaml", "--kubeconfig", "k"], "cannot be combined with --kubeconfig"),
        (["apply"], "apply: give either a PLANFILE or -p PROFILE"),
        (["apply", "p.json", "-p", "x"], "either a PLANFILE or -p PROFILE"),
        (["apply", "p.json", "--set", "a=1"], "a PLANFILE carries its own values"),
        (["apply", "p.json", "--yes=no"], "apply: option '--yes' does not take a value"),
        (["golden", "--check", "--update"], "golden: --check and --update: give one, not both"),
        (["golden", "--check", "--no-workspace"], "no such option '--no-workspace'"),  # a workspace command
        (["golden"], "golden: one of the arguments --check --update is required"),
        (["show"], "show: missing argument PLANFILE (see `regplan show --help`)"),
        (["completion", "tcsh"], "completion: SHELL: invalid choice: 'tcsh' (choose from bash, zsh, fish)"),
        (["plan", "-p", ""], "plan: -p/--profile: must not be empty"),
        (["plan", "-p"], "plan: option '-p' requires an argument"),
        (["plan", "--workspace", "w", "--parallelism", "x"], "plan: --parallelism: 'x': not a whole number"),
        (["render", "-p", "x", "extra"], "render: got unexpected extra argument(s) (extra)"),
        # no abbreviations: --allow is not --allow-replace
        (["apply", "-p", "x", "--allow"], "apply: no such option '--allow'; did you mean --allow-replace?"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_exit_3(argv: list[str], expected: str) -> None:
    with pytest.raises(cli.UsageError) as err:
        cli.parse(argv, environ={})
    message = str(err.value)
    assert expected in message
    assert "\n" not in message and not message.startswith("regplan")
    assert err.value.exit_code is ExitCode.INVALID


def test_render_refuses_oc_with_out_dir_before_any_work(tmp_path: Path) -> None:
    options = opts("render", "-p", "ebs-gp2-rwo", "-o", "oc", "--out-dir", str(tmp_path / "d"))
    with pytest.raises(InvalidInput, match="cannot be combined with --output oc"):
        commands.render(options, reporter=commands.Reporter(out=lambda _: None, err=lambda _: None))
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("when", "isatty", "environ", "expected"),
    [
        ("auto", True, {}, True),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),  # no-color.org: only a non-empty NO_COLOR counts
        ("auto", True, {"TERM": "dumb"}, False),  # a terminal without colours
        ("auto", True, {"TERM": "xterm-256color"}, True),
        ("auto", False, {}, False),
        ("always", False, {"NO_COLOR": "1"}, True),
        ("always", True, {"TERM": "dumb"}, True),
        ("never", True, {}, False),
    ],
)
def test_color(when: str, isatty: bool, environ: dict[str, str], expected: bool) -> None:
    assert cli.color_enabled(when, isatty=isatty, environ=environ) is expected


def test_color_flag_reaches_parsed() -> None:
    assert cli.parse(["plan", "-p", "x", "--color=always"], environ={}).color == "always"
    assert cli.parse(["plan", "-p", "x"], environ={}).color == "auto"
    assert cli.parse(["render", "-p", "x"], environ={}).color == "never"  # render has no colour


# --- the process: exit codes, quiet pipes, help -------------------------------------------------------------


def run(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regplan", *args], capture_output=True, text=True, timeout=60, **kw
    )


def test_version() -> None:
    from regplan import __version__

    p = run("--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, f"regplan {__version__}\n", "")


@pytest.mark.parametrize("argv", [[], ["rendr"], ["-v"], ["render", "--bogus"], ["render", "-o", "toml"]])
def test_usage_error_is_one_line_with_one_prefix_and_exit_3(argv: list[str]) -> None:
    p = run(*argv)
    assert p.returncode == 3 and p.stdout == ""
    lines = p.stderr.splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("regplan: ") and not lines[0].startswith("regplan: regplan")
    )
    assert "Traceback" not in p.stderr and "Usage:" not in p.stderr and "Error:" not in p.stderr


def test_closed_pipe_ends_quietly() -> None:
    """`regplan plan ... | head -1`: no 'unexpected error', no BrokenPipe traceback, exit 141."""
    p = subprocess.Popen(
        [sys.executable, "-m", "regplan", "plan", "-p", "ebs-gp2-rwo", "--snapshot", SNAP4, "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # the reader goes away before regplan writes
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == cli.EXIT_PIPE
    assert "unexpected" not in err and "Traceback" not in err and "BrokenPipe" not in err


def test_closed_pipe_during_help_ends_quietly() -> None:
    p = subprocess.Popen(
        [sys.executable, "-m", "regplan", "apply", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == cli.EXIT_PIPE and err == ""


ALL = ["profiles", "render", "validate", "plan", "apply", "status", "golden", "show", "verify", "completion",
       "snapshot", "argocd-generate"]  # fmt: skip


@pytest.mark.parametrize("command", [[], *([c] for c in ALL)])
def test_help_fits_80_columns_and_names_no_python_types(command: list[str]) -> None:
    p = run(*command, "--help", env={**os.environ, "COLUMNS": "200"})
    assert p.returncode == 0 and p.stderr == ""
    assert max(len(line) for line in p.stdout.splitlines()) <= 80, p.stdout
    for python_word in ("<bool>", "list[", "Path", "<path>", "<float>", "NoneType", "<str>", "<int>"):
        assert python_word not in p.stdout
    if command:
        assert "examples:\n    regplan " + command[0] in p.stdout
    assert run(*command, "-h").stdout == p.stdout


def test_root_help_lists_every_command_with_its_summary() -> None:
    text = run("--help").stdout
    for name in ALL:
        assert re.search(rf"^  {re.escape(name)} +\S", text, re.M), name
    assert "exit codes: 0 ok" in text


def test_help_shows_choices_and_defaults() -> None:
    text = " ".join(run("apply", "--help").stdout.split())
    for fragment in (
        "One of: auto, ocp4, ocp3. [default: auto]",
        "--wait / --no-wait",
        "[default: wait]",
        "(300, 30s, 5m). Default: 5m.",
        "another apply's lock. Default: 1m.",
        "One of: text, json. [default: text]",
    ):
        assert fragment in text


def test_duration_defaults_in_help_are_the_options_defaults() -> None:
    """The help states them; their one home is ApplyOptions (a flag not given leaves its default)."""
    assert cli.duration("5m") == commands.ApplyOptions.timeout
    assert cli.duration("1m") == commands.ApplyOptions.lock_timeout
    got = opts("apply", "plan.json")
    defaults = commands.ApplyOptions()
    assert (got.timeout, got.lock_timeout) == (defaults.timeout, defaults.lock_timeout)


def test_out_dir_help_says_what_it_replaces() -> None:
    text = " ".join(run("render", "--help").stdout.split())
    assert "replaces the files it wrote there before and leaves every other file alone" in text
    assert "as a whole" not in text


# --- hostile input on flags ---------------------------------------------------------------------------------

HOSTILE = ["x\ny", "x\rregplan: ok", "\x1b[2J\x1b[31mred", "a\u2028b", "\x07bell", "\x9b31m"]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "argv",
    [
        ["render", "-p", "{}"],  # not a profile
        ["render", "-p", "ebs-gp2-rwo", "-o", "{}"],  # not a choice
        ["apply", "p.json", "--timeout", "{}"],  # not a duration
        ["{}"],  # not a command
        ["render", "-p", "ebs-gp2-rwo", "--{}"],  # not an option
        ["render", "-p", "ebs-gp2-rwo", "{}"],  # an extra argument
    ],
)
def test_control_characters_in_flags_never_reach_the_terminal_raw(argv: list[str], value: str) -> None:
    p = run(*(a.replace("{}", value) for a in argv), env={**os.environ, "REGPLAN_PROFILES_DIR": ""})
    assert p.returncode == 3, p.stderr
    assert p.stderr.endswith("\n") and p.stderr.count("\n") == 1, repr(p.stderr)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", p.stderr), repr(p.stderr)


@pytest.mark.parametrize(
    "argv",
    [
        ["render", "-p", "ebs-gp2-rwo", "--set", "s3.secretKey=hunter2hunter2", "--bogus"],
        ["render", "-p", "ebs-gp2-rwo", "--set", "a=1", "s3.secretKey=hunter2hunter2"],  # a stray word
        ["render", "-p", "ebs-gp2-rwo", "--set=s3.accessKey=AKIAhunter2hunter2", "-o", "toml"],
        ["render", "-p", "ebs-gp2-rwo", "--set-string", "x=1,s3.secretKey=hunter2hunter2", "extra"],
        ["apply", "plan.json", "--set", "s3.secretKey=hunter2hunter2"],
        ["nope", "--set", "s3.secretKey=hunter2hunter2"],
    ],
)
def test_set_values_are_never_echoed_in_a_usage_error(argv: list[str]) -> None:
    p = run(*argv)
    assert p.returncode == 3
    assert "hunter2" not in p.stderr and "hunter2" not in p.stdout, p.stderr


def test_usage_errors_show_control_characters_by_the_one_terminal_rule() -> None:
    with pytest.raises(cli.UsageError) as err:
        cli.parse(["render", "-p", "x", "-o", "a\nb\x1b[2J\u202e"])
    assert "'a\\u000ab\\u001b[2J\\u202e'" in str(err.value)  # escape.one_line: the rule every output uses


# --- one plan, the same formats everywhere (plan and show) --------------------------------------------------


def test_plan_markdown_for_one_cluster_is_what_show_prints(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    p = run("plan", "-p", "ebs-gp2-rwo", "--snapshot", SNAP4, "-o", "markdown", "--out", str(plan))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("### regplan plan: `ebs-gp2-rwo` on ocp4")
    shown = run("show", str(plan), "-o", "markdown")
    assert shown.returncode == 0 and shown.stdout == p.stdout


@pytest.mark.parametrize("fmt", commands.PLAN_OUTPUTS)
def test_show_takes_every_plan_format(tmp_path: Path, fmt: str) -> None:
    plan = tmp_path / "plan.json"
    made = run("plan", "-p", "ebs-gp2-rwo", "--snapshot", SNAP4, "-o", fmt, "--out", str(plan))
    shown = run("show", str(plan), "-o", fmt)
    assert (made.returncode, shown.returncode) == (0, 0), shown.stderr
    if fmt != "text":  # the text plan says where live state came from (the snapshot, the plan file)
        assert shown.stdout == made.stdout


def test_plan_and_show_offer_the_same_formats() -> None:
    assert commands.SHOW_OUTPUTS == commands.PLAN_OUTPUTS == ("text", "json", "yaml", "markdown")
    for command in ("plan", "show"):
        assert "One of: text, json, yaml, markdown." in " ".join(run(command, "--help").stdout.split())


# --- the typer internals regplan relies on (pinned: typer>=0.29,<0.30) --------------------------------------


def test_typer_layout_regplan_relies_on() -> None:
    """cli.py uses the click typer carries and replaces typer's pydantic converter per parameter: when a
    typer release moves these, this fails first (and tests/unit/test_startup.py shows pydantic loaded)."""
    import typer
    from typer import _click, _coercion, core, main

    assert typer.__version__.startswith("0.29.")
    assert hasattr(_click.exceptions, "NoSuchOption") and hasattr(main, "get_command_from_info")
    assert "_runtime_param" in core._TyperParameter.__annotations__
    assert issubclass(cli._Plain, _coercion.RuntimeParam)
    cmd = cli.root_command().get_command(None, "render")  # type: ignore[attr-defined]
    assert cmd is not None
    assert all(isinstance(getattr(p, "_runtime_param", None), cli._Plain) for p in cmd.params)


# --- the options objects: frozen, keyword-only, by value (commands.Options) ------------------------------


def test_options_objects_behave_as_frozen_keyword_only_dataclasses() -> None:
    import dataclasses

    a = commands.PlanOptions(values=commands.ValueOptions(profile="x"))
    b = commands.PlanOptions(values=commands.ValueOptions(profile="x"))
    assert a == b and hash(a) == hash(b) and a != commands.PlanOptions(values=a.values, output="json")
    assert a != commands.VerifyOptions(values=a.values)  # another command's options never compare equal
    assert a.cluster == commands.ClusterOptions() and a.cluster is not b.cluster  # a default per object
    with pytest.raises(AttributeError, match="frozen"):
        a.output = "json"  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing keyword argument: 'values'"):
        commands.PlanOptions()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        commands.PlanOptions(values=a.values, colour="always")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        commands.ValueOptions("x")  # type: ignore[call-arg]  # keyword-only
    assert dataclasses.is_dataclass(a)
    assert dataclasses.replace(a, output="yaml").output == "yaml" and a.output == "text"
    assert [f.name for f in dataclasses.fields(commands.ValueOptions)] == [
        "profile", "values_files", "sets", "set_strings", "profiles_dir"
    ]  # fmt: skip
    assert dataclasses.asdict(a)["values"]["profile"] == "x"
    assert repr(a).startswith("PlanOptions(values=ValueOptions(profile='x', ")
    assert commands.ApplyOptions.timeout == 300.0  # the default, readable on the class
