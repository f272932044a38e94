"""The one command-line definition (regplan.cli): the forms users type, typed options, errors, help,
completion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from regplan import cli, commands
from regplan.errors import ExitCode, InvalidInput

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
    ],
)
def test_option_spellings_are_equivalent(argv: list[str]) -> None:
    assert opts(*argv) == commands.PlanOptions(
        values=commands.ValueOptions(profile="ebs-gp2-rwo"), output="json"
    )


def test_every_option_lands_in_its_typed_field() -> None:
    got = opts(
        "apply", "-p", "x", "-f", "a.yaml", "--values=b.yaml", "--set", "a=1", "--set=b=2",
        "--kubeconfig", "k1:k2", "--context=c", "--target", "ocp3", "-y", "--allow-replace", "--no-wait",
        "--timeout", "1m30s", "--lock-timeout=5", "-o", "json",
        environ={"REGPLAN_PROFILES_DIR": "/profiles"},
    )  # fmt: skip
    assert got == commands.ApplyOptions(
        values=commands.ValueOptions(
            profile="x",
            values_files=(Path("a.yaml"), Path("b.yaml")),
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


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300", 300.0), ("12.5", 12.5), ("30s", 30.0), ("5m", 300.0), ("1m30s", 90.0), ("1.5h", 5400.0),
     ("250ms", 0.25), ("0", 0.0), ("2h0m1s", 7201.0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert cli.duration(text) == seconds


@pytest.mark.parametrize("text", ["-5", "-1s", "5x", "m", "", "1m-3s", "1e3", "s5", "5 m", "1d"])
def test_bad_durations_are_usage_errors_in_our_words(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        cli.parse(["apply", "plan.json", "--timeout", text])
    message = str(err.value)
    assert message.startswith("apply: argument --timeout:") and "see `regplan apply --help`" in message
    assert "valid number" not in message and "float" not in message


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["render"], "render: the following arguments are required: -p/--profile"),
        (["render", "-p", "x", "--bogus"], "render: unknown option or extra argument: --bogus"),
        (["render", "-p", "x", "-o", "toml"], "argument -o/--output: invalid choice: 'toml'"),
        (["render", "-p", "x", "--target", "auto"], "invalid choice: 'auto'"),
        (
            ["plan", "-p", "x", "--snapshot", "s.yaml", "--context", "c"],
            "cannot be combined with --kubeconfig",
        ),
        (["status", "--snapshot", "s.yaml", "--kubeconfig", "k"], "cannot be combined with --kubeconfig"),
        (["apply"], "either a PLANFILE or -p PROFILE"),
        (["apply", "p.json", "-p", "x"], "either a PLANFILE or -p PROFILE"),
        (["apply", "p.json", "--set", "a=1"], "a PLANFILE carries its own values"),
        (["apply", "p.json", "--yes=no"], "ignored explicit argument"),
        (["golden", "--check", "--update"], "not allowed with argument"),
        (["golden", "--check", "--no-workspace"], "unknown option"),  # a workspace command only
        (["golden"], "one of the arguments --check --update is required"),
        (["nope"], "invalid choice: 'nope'"),
        (["plan", "-p", ""], "must not be empty"),
        # no abbreviations: --allow is not --allow-replace
        (["plan", "-p", "x", "--allow"], "unknown option"),
    ],
)
def test_usage_errors(argv: list[str], fragment: str) -> None:
    with pytest.raises(cli.UsageError) as err:
        cli.parse(argv)
    assert fragment in str(err.value)
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
        ("auto", False, {}, False),
        ("always", False, {"NO_COLOR": "1"}, True),
        ("never", True, {}, False),
    ],
)
def test_color(when: str, isatty: bool, environ: dict[str, str], expected: bool) -> None:
    assert cli.color_enabled(when, isatty=isatty, environ=environ) is expected


# --- the process: exit codes, quiet pipes, help -------------------------------------------------------------


def run(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regplan", *args], capture_output=True, text=True, timeout=60, **kw
    )


def test_version() -> None:
    from regplan import __version__

    p = run("--version")
    assert (p.returncode, p.stdout) == (0, f"regplan {__version__}\n")


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


@pytest.mark.parametrize(
    "command",
    [[], ["profiles"], ["render"], ["validate"], ["plan"], ["apply"], ["status"], ["golden"], ["show"],
     ["verify"], ["completion"], ["snapshot"], ["argocd-generate"]],
)  # fmt: skip
def test_help_fits_80_columns_and_names_no_python_types(command: list[str]) -> None:
    p = run(*command, "--help", env={**os.environ, "COLUMNS": "200"})
    assert p.returncode == 0
    assert max(len(line) for line in p.stdout.splitlines()) <= 80, p.stdout
    for python_word in ("<bool>", "list[", "Path", "<float>", "NoneType", "<str>"):
        assert python_word not in p.stdout
    if command:
        assert "examples:\n  regplan " + command[0] in p.stdout


def test_help_shows_choices_and_defaults() -> None:
    p = run("apply", "--help")
    text = " ".join(p.stdout.split())
    for fragment in (
        "One of: auto, ocp4, ocp3. Default: auto.",
        "Default: --wait.",
        "(300, 30s, 5m). Default: 5m.",
        "One of: text, json. Default: text.",
    ):
        assert fragment in text


# --- completion ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["pl"], ["plan"]),
        (
            [""],
            [
                "apply",
                "argocd-generate",
                "completion",
                "golden",
                "plan",
                "profiles",
                "render",
                "show",
                "snapshot",
                "status",
                "validate",
                "verify",
            ],
        ),
        (["--ver"], ["--version"]),
        (["", "plan", "-p"], ["aws-s3", "cephfs-rwx", "ebs-gp2-rwo", "glusterfs"]),
        (["eb", "render", "--profile"], ["ebs-gp2-rwo"]),
        (["", "render", "-p", "x", "-o"], ["inventory", "json", "oc", "yaml"]),
        (["oc", "plan", "--target"], ["ocp3", "ocp4"]),
        (["--allow", "apply"], ["--allow-replace"]),
        (["", "plan", "--snapshot"], []),  # a file: the shell completes it
        (["", "completion"], []),
    ],
)
def test_completion_candidates(args: list[str], expected: list[str]) -> None:
    assert sorted(cli_candidates(args)) == expected


def cli_candidates(args: list[str]) -> list[str]:
    from regplan import completion

    return completion.candidates(cli.build_parser(), args)


def test_completion_contexts_come_from_the_kubeconfig(tmp_path: Path) -> None:
    kc = tmp_path / "kc"
    kc.write_text("apiVersion: v1\nkind: Config\ncontexts:\n- name: prod-east\n- name: dev\n")
    assert cli_candidates(["p", "plan", "--kubeconfig", str(kc), "--context"]) == ["prod-east"]
    assert cli_candidates(["", "plan", "--kubeconfig", str(tmp_path / "none"), "--context"]) == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_script_completes_through_the_real_command(tmp_path: Path) -> None:
    shim = tmp_path / "regplan"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m regplan "$@"\n')
    shim.chmod(0o755)
    script = run("completion", "bash").stdout
    words = "COMP_WORDS=(regplan plan -p ebs); COMP_CWORD=3"
    probe = f"{script}\n{words}; _regplan; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    p = subprocess.run(
        ["bash", "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )
    assert p.stdout.split() == ["ebs-gp2-rwo"], p.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_call_the_hidden_command(shell: str) -> None:
    p = run("completion", shell)
    assert p.returncode == 0 and "regplan __complete" in p.stdout


def test_completion_of_workspace_cluster_names() -> None:
    ws = str(ROOT / "examples/fleet/regplan.yaml")
    assert cli_candidates(["", "plan", "--workspace", ws, "--cluster"]) == [
        "dev-us", "legacy-us", "prod-eu", "stage-eu"
    ]  # fmt: skip
    assert cli_candidates(["st", "plan", "--workspace", ws, "--cluster"]) == ["stage-eu"]
