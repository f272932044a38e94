"""A kubeconfig that regplan.yaml names inside its git repository is written by whoever can change the
repository (a pull request that CI plans on a runner holding real credentials): through it the pull request
would choose the server that receives the runner's credentials and the rendered Secrets, and could run a
program (an exec plugin). regplan does not use such a file: exit 3 before any cluster is contacted, the
program never started, no secret echoed, whatever the file holds. Outside a git repository, and for
kubeconfigs outside the repository, kubeconfigs are used as kubectl would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from regplan.cluster import kubeconfig as kc

TOKEN = "s3cr3t-runner-token-0123456789"


def kubeconfig(user: dict[str, object], server: str = "https://127.0.0.1:1") -> str:
    import json

    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "a",
        "clusters": [{"name": "a", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "a", "context": {"cluster": "a", "user": "u"}}],
        "users": [{"name": "u", "user": user}],
    })  # fmt: skip


def workspace(root: Path, kube: str, *, sub: str = "") -> Path:
    ws = root / sub if sub else root
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "regplan.yaml").write_text(
        f"defaults: {{profile: ebs-gp2-rwo, kubeconfig: {kube}}}\nclusters:\n  - {{name: a}}\n"
    )
    return ws


def plan(ws: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "regplan", "plan"], cwd=ws, capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip


def exec_user(marker: Path) -> dict[str, object]:
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "sh",
                     "args": ["-c", f"touch {marker}; echo '{{}}'"], "interactiveMode": "Never"}}  # fmt: skip


def git_repo(path: Path) -> Path:
    (path / ".git").mkdir(parents=True)
    return path


USERS: dict[str, dict[str, object]] = {
    "token": {"token": "own-token"},
    "tokenFile": {"tokenFile": "token"},
    "auth-provider": {"auth-provider": {"name": "oidc", "config": {}}},
}


@pytest.mark.parametrize("user", sorted(USERS))
@pytest.mark.parametrize("sub", ["", "platform/registry"])
def test_a_kubeconfig_in_the_repository_is_not_used(tmp_path: Path, sub: str, user: str) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "token").write_text(TOKEN)
    (repo / "kube.yaml").write_text(kubeconfig(USERS[user], server="https://attacker.invalid"))
    ws = workspace(repo, "kube.yaml" if not sub else "../../kube.yaml", sub=sub)
    p = plan(ws)
    assert p.returncode == 3, p.stderr
    assert "lies in the git repository" in p.stderr and "regplan.yaml:" in p.stderr, p.stderr
    assert TOKEN not in p.stdout + p.stderr and "own-token" not in p.stdout + p.stderr


def test_an_exec_plugin_in_the_repository_never_runs(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    marker = tmp_path / "RAN"
    (repo / "kube.yaml").write_text(kubeconfig(exec_user(marker)))
    p = plan(workspace(repo, "kube.yaml"))
    assert p.returncode == 3 and "lies in the git repository" in p.stderr, p.stderr
    assert not marker.exists()


def test_merged_with_a_kubeconfig_outside_it_is_not_used_either(tmp_path: Path) -> None:
    """A context in the repository's file could borrow the user of the machine's own kubeconfig."""
    outside = tmp_path / "home" / "config"
    outside.parent.mkdir()
    outside.write_text(kubeconfig({"token": TOKEN}))
    repo = git_repo(tmp_path / "repo")
    (repo / "kube.yaml").write_text(kubeconfig({"token": "own"}, server="https://attacker.invalid"))
    for order in (f"kube.yaml:{outside}", f"{outside}:kube.yaml"):
        p = plan(workspace(repo, order))
        assert p.returncode == 3 and "lies in the git repository" in p.stderr, p.stderr
        assert TOKEN not in p.stdout + p.stderr


def test_a_symlink_in_the_repository_leading_into_it_is_judged_by_its_target(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "kube").mkdir()
    (repo / "kube" / "real.yaml").write_text(kubeconfig({"token": "own"}))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "link.yaml").symlink_to(repo / "kube" / "real.yaml")
    p = plan(workspace(repo, str(outside / "link.yaml")))
    assert p.returncode == 3 and "lies in the git repository" in p.stderr, p.stderr


def test_outside_a_git_repository_a_kubeconfig_beside_the_workspace_is_used(tmp_path: Path) -> None:
    """No repository, no one else's change: the run goes on to the (absent) server, exit 4."""
    (tmp_path / "token").write_text("own-token")
    (tmp_path / "kube.yaml").write_text(kubeconfig({"tokenFile": "token"}))
    p = plan(workspace(tmp_path, "kube.yaml"))
    assert p.returncode == 4 and "lies in the git repository" not in p.stderr, p.stderr


def test_a_kubeconfig_outside_the_repository_is_the_machines_own(tmp_path: Path) -> None:
    outside = tmp_path / "home" / "config"
    outside.parent.mkdir()
    outside.write_text(kubeconfig(exec_user(tmp_path / "RAN")))
    repo = git_repo(tmp_path / "repo")
    assert kc.repository_problem(kc.read_files(str(outside), {}), repo) is None
    inside = repo / "kube.yaml"
    inside.symlink_to(outside)  # the repository points at it; the file is still the machine's
    assert kc.repository_problem(kc.read_files(str(inside), {}), repo) is None
    assert kc.repository_problem(kc.read_files(str(outside), {}), None) is None


def test_the_path_in_the_message_is_one_line(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "re\x1b[2Jpo\nFORGED")
    (repo / "kube.yaml").write_text(kubeconfig({"token": "t"}))
    p = plan(workspace(repo, "kube.yaml"))
    assert p.returncode == 3, p.stderr
    assert "\x1b" not in p.stderr and not any(line.startswith("FORGED") for line in p.stderr.splitlines())


@pytest.mark.parametrize(
    "bad", ["a\nFORGED: done", "a\x1b]52;c;cGF5bG9hZA==\x07", "a\u2028FORGED", "a\rFORGED"]
)
def test_kubeconfig_paths_and_names_in_messages_are_one_line(tmp_path: Path, bad: str) -> None:
    """$KUBECONFIG and the names in a kubeconfig are text regplan did not write: every message that names
    them shows them on one line, escapes visible (a path is the user's, a name may be a repository's)."""
    env = {**os.environ, "KUBECONFIG": str(tmp_path / bad)}
    p = subprocess.run(
        [sys.executable, "-m", "regplan", "status", "--no-workspace"], cwd=tmp_path, capture_output=True,
        text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert p.returncode == 4 and "kubeconfig not found" in p.stderr, p.stderr
    assert "\x1b" not in p.stderr and "\u2028" not in p.stderr and "\r" not in p.stderr
    assert not any(line.startswith("FORGED") for line in p.stderr.splitlines()), p.stderr
    cfg = tmp_path / "config"
    current = '"current-context": ' + json.dumps(bad)
    text = kubeconfig({"token": "t"}).replace('"current-context": "a"', current)
    cfg.write_text(text)
    with pytest.raises(Exception) as err:
        kc.resolve(kc.read_files(str(cfg), {}), None)
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value)


@pytest.mark.parametrize(
    "server",
    ["https://admin:Pa55w0rd-SECRET@127.0.0.1:1", "https://SECRET@127.0.0.1:1",
     "https://127.0.0.1:1/?token=SECRET", "https://127.0.0.1:1/#SECRET", "https://127.0.0.1:1/api?"],
)  # fmt: skip
def test_a_server_url_holding_credentials_is_refused_unshown(tmp_path: Path, server: str) -> None:
    """The server URL is printed in errors, warnings and a plan's source: a password or token in it would
    be too. It is refused, exit 4 as every kubeconfig problem, and never shown."""
    cfg = tmp_path / "config"
    cfg.write_text(kubeconfig({"token": "t"}, server=server))
    p = subprocess.run(
        [sys.executable, "-m", "regplan", "plan", "-p", "ebs-gp2-rwo", "--kubeconfig", str(cfg)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert p.returncode == 4, p.stderr
    assert "SECRET" not in p.stdout + p.stderr and "Pa55w0rd" not in p.stderr
    assert "not shown" in p.stderr
