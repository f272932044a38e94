"""Shell completion: typer's scripts for bash, zsh and fish, printed by `regplan completion SHELL`, run in the
real shells against the real command; the candidates (commands, options, choices) and the lists only
regplan knows (profiles, kubeconfig contexts, workspace clusters); hostile names never offered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from regplan.cli import app as cli
from regplan.cli import completion

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["apply", "argocd-generate", "completion", "golden", "plan", "profiles", "render", "show",
            "snapshot", "status", "validate", "verify"]  # fmt: skip
PROFILES = ["aws-s3", "cephfs-rwx", "ebs-gp2-rwo", "glusterfs"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["pl"], ["plan"]),
        ([""], COMMANDS),
        (["--ver"], ["--version"]),
        (["", "plan", "-p"], PROFILES),
        (["eb", "render", "--profile"], ["ebs-gp2-rwo"]),
        (["", "render", "-p", "x", "-o"], ["inventory", "json", "oc", "yaml"]),
        (["", "show", "plan.json", "-o"], ["json", "markdown", "text", "yaml"]),
        (["oc", "plan", "--target"], ["ocp3", "ocp4"]),
        (["--allow", "apply"], ["--allow-replace"]),
        (["--no-wa", "apply"], ["--no-wait"]),
        (["--no-w", "plan"], ["--no-workspace"]),
        (["", "plan", "--snapshot"], []),  # a file: the shell completes it
        (["", "completion"], ["bash", "fish", "zsh"]),
        (["", "plan", "--color"], ["always", "auto", "never"]),
    ],
)
def test_candidates(args: list[str], expected: list[str]) -> None:
    assert sorted(cli.complete(args)) == expected


def test_profiles_come_from_the_profiles_dir_too(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("description: my profile\nvalues: {}\n")
    got = cli.complete(["", "render", "--profiles-dir", str(tmp_path), "-p"])
    assert "ebs-gp2-rwo" in got and ("mine" in got or got == sorted(PROFILES))


def test_contexts_come_from_the_kubeconfig(tmp_path: Path) -> None:
    kc = tmp_path / "kc"
    kc.write_text("apiVersion: v1\nkind: Config\ncontexts:\n- name: prod-east\n- name: dev\n")
    assert cli.complete(["p", "plan", "--kubeconfig", str(kc), "--context"]) == ["prod-east"]
    assert cli.complete(["", "plan", "--kubeconfig", str(tmp_path / "none"), "--context"]) == []


def test_hostile_context_names_are_never_offered(tmp_path: Path) -> None:
    """A name with a line break would become two candidates (one of them chosen by whoever wrote the file);
    an escape sequence would be written to the terminal."""
    kc = tmp_path / "kc"
    kc.write_text(
        'apiVersion: v1\nkind: Config\ncontexts:\n- name: "ok"\n- name: "a\\nrm -rf ~"\n'
        '- name: "\\e[2Jx"\n- name: "b\\u2028c"\n- name: "d\\u202ee"\n'
    )
    assert cli.complete(["", "plan", "--kubeconfig", str(kc), "--context"]) == ["ok"]
    assert completion.context_names(str(kc)) == ["ok"]


def test_workspace_cluster_names() -> None:
    ws = str(ROOT / "examples/fleet/regplan.yaml")
    assert sorted(cli.complete(["", "plan", "--workspace", ws, "--cluster"])) == [
        "dev-us", "legacy-us", "prod-eu", "stage-eu"
    ]  # fmt: skip
    assert cli.complete(["st", "plan", "--workspace", ws, "--cluster"]) == ["stage-eu"]


def test_the_hidden_complete_command_of_earlier_scripts_still_answers() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "regplan", "__complete", "eb", "plan", "-p"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (p.returncode, p.stdout) == (0, "ebs-gp2-rwo\n")


# --- the scripts, in the real shells ------------------------------------------------------------------------


def script(shell: str) -> str:
    p = subprocess.run(
        [sys.executable, "-m", "regplan", "completion", shell], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0 and p.stderr == ""
    return p.stdout


# compsys's own functions, as stubs that print what they were given
ZSH_STUBS = (
    "compdef() { :; }\n"
    '_arguments() { print -r -- _arguments "$@"; }\n'
    "_files() { print -r -- _files; }\n"
)


@pytest.fixture
def on_path(tmp_path: Path) -> dict[str, str]:
    """``regplan`` on PATH: this interpreter's regplan, as an installed console script would be."""
    shim = tmp_path / "bin" / "regplan"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m regplan "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_scripts_are_typers_protocol(shell: str) -> None:
    text = script(shell)
    assert f"_REGPLAN_COMPLETE=complete_{shell}" in text and text.endswith("\n")
    assert "__complete" not in text


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_scripts_parse_in_their_shell(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} not installed")
    path = tmp_path / f"regplan.{shell}"
    path.write_text(script(shell))
    p = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
@pytest.mark.parametrize(
    ("words", "expected"),
    [("regplan plan -p eb", ["ebs-gp2-rwo"]), ("regplan ren", ["render"]), ("regplan render -o j", ["json"])],
)
def test_bash_completes_through_the_real_command(
    on_path: dict[str, str], words: str, expected: list[str]
) -> None:
    n = len(words.split()) - 1
    probe = f"{script('bash')}\nCOMP_WORDS=({words}); COMP_CWORD={n}\n_regplan_completion regplan\n" \
            'printf "%s\\n" "${COMPREPLY[@]}"'  # fmt: skip
    p = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, env=on_path)
    assert p.stdout.split() == expected, p.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("regplan plan -p eb", '_arguments *: :(("ebs-gp2-rwo"))'),
        ("regplan plan --snapshot ", "_files"),  # a file: zsh completes it
    ],
)
def test_zsh_completes_through_the_real_command(on_path: dict[str, str], words: str, expected: str) -> None:
    """The script's function runs in zsh against the real command; compsys's own functions are stubs that
    print what they were given."""
    current = len(words.split()) + (1 if words.endswith(" ") else 0)
    probe = (
        f"{ZSH_STUBS}"
        f"{script('zsh')}\nwords=({words.strip()} ''); CURRENT={current}\n_regplan_completion\n"
    )
    p = subprocess.run(["zsh", "-f", "-c", probe], capture_output=True, text=True, timeout=60, env=on_path)
    assert p.stdout.strip() == expected, p.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
@pytest.mark.parametrize(
    ("line", "expected"),
    [("regplan plan -p eb", ["ebs-gp2-rwo"]), ("regplan completion ", ["bash", "fish", "zsh"])],
)
def test_fish_completes_through_the_real_command(
    on_path: dict[str, str], line: str, expected: list[str]
) -> None:
    probe = f"{script('fish')}\ncomplete -C '{line}'\n"
    p = subprocess.run(["fish", "--no-config", "-c", probe], capture_output=True, text=True, timeout=60,
                       env=on_path)  # fmt: skip
    assert sorted(p.stdout.split()) == expected, p.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_evaluates_no_code_from_a_hostile_context_name(on_path: dict[str, str], tmp_path: Path) -> None:
    """zsh's script evals what regplan prints: a context name written to run a command stays a name."""
    kc = tmp_path / "kc"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncontexts:\n"
        "- name: 'a$(touch PWNED1)'\n- name: 'b`touch PWNED2`'\n- name: \"c'; touch PWNED3; '\"\n"
        "- name: 'd\"; touch PWNED4; \"'\n"
    )
    words = f"regplan plan --kubeconfig {kc} --context"
    probe = (
        f"{ZSH_STUBS}"
        f"{script('zsh')}\nwords=({words} ''); CURRENT=6\n_regplan_completion\n"
    )
    p = subprocess.run(
        ["zsh", "-f", "-c", probe], capture_output=True, text=True, timeout=60, env=on_path, cwd=tmp_path
    )
    assert p.stdout.startswith("_arguments"), p.stderr
    assert not list(tmp_path.glob("PWNED*"))
    assert all(f"PWNED{i}" in p.stdout for i in (1, 2, 3, 4))  # offered as text, never run


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_is_offered_no_name_it_would_run(on_path: dict[str, str], tmp_path: Path) -> None:
    """bash inserts a candidate unquoted: a context named ``$(touch PWNED)`` would be put on the command
    line as a command substitution (the outside check of issue 16). bash gets plain names only; zsh and
    fish, which quote what they insert, keep getting them (test above)."""
    kc = tmp_path / "kc"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncontexts:\n"
        "- name: ok-ctx\n- name: 'a$(touch PWNED1)'\n- name: 'b`touch PWNED2`'\n- name: \"c'd\"\n"
        "- name: 'e f'\n- name: 'g;h'\n- name: admin@prod.example:6443/x_y\n"
    )
    words = f"regplan plan --kubeconfig {kc} --context ''"
    probe = f"{script('bash')}\nCOMP_WORDS=({words}); COMP_CWORD=5\n_regplan_completion regplan\n" \
            'printf "%s\\n" "${COMPREPLY[@]}"'  # fmt: skip
    p = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, env=on_path)
    assert p.stdout.splitlines() == ["ok-ctx", "admin@prod.example:6443/x_y"], p.stderr
    assert not list(tmp_path.glob("PWNED*"))
