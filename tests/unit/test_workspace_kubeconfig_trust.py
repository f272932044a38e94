"""A kubeconfig that regplan.yaml names inside its repository is written by anyone who can change the
repository (a pull request that CI plans on a runner holding real credentials). regplan uses what such a
file holds, but never runs its exec plugin or auth provider, never reads a credential file outside the
repository for it, and never merges it with kubeconfigs outside: exit 3 before any cluster is contacted,
the program never started, no secret echoed. A kubeconfig outside the repository is the machine's own and
is used as kubectl would."""

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


@pytest.mark.parametrize("sub", ["", "platform/registry"])
def test_an_exec_plugin_in_the_repository_never_runs(tmp_path: Path, sub: str) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    marker = tmp_path / "RAN"
    (repo / "kube.yaml").write_text(kubeconfig(exec_user(marker)))
    ws = workspace(repo, "kube.yaml" if not sub else "../../kube.yaml", sub=sub)
    p = plan(ws)
    assert p.returncode == 3, p.stderr
    assert "lies in the repository" in p.stderr and "has exec" in p.stderr and "regplan.yaml:" in p.stderr
    assert not marker.exists()


def test_an_auth_provider_in_the_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "kube.yaml").write_text(kubeconfig({"auth-provider": {"name": "oidc", "config": {}}}))
    p = plan(workspace(tmp_path, "kube.yaml"))
    assert p.returncode == 3 and "has auth-provider" in p.stderr, p.stderr


@pytest.mark.parametrize("key", ["tokenFile", "client-certificate", "client-key"])
def test_a_credential_file_outside_the_repository_is_never_read_for_it(tmp_path: Path, key: str) -> None:
    secret = tmp_path / "runner" / "token"
    secret.parent.mkdir()
    secret.write_text(TOKEN)
    repo = tmp_path / "repo"
    repo.mkdir()
    user: dict[str, object] = {key: str(secret)}
    if key != "tokenFile":  # a certificate needs its key (and the other way round) to be a user at all
        other = "client-key" if key == "client-certificate" else "client-certificate"
        (repo / "pair.pem").write_text("x")
        user[other] = "pair.pem"
    (repo / "kube.yaml").write_text(kubeconfig(user))
    p = plan(workspace(repo, "kube.yaml"))
    assert p.returncode == 3 and f"reads {key}" in p.stderr and "from outside it" in p.stderr, p.stderr
    assert TOKEN not in p.stdout + p.stderr


def test_a_symlinked_credential_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(TOKEN)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "token").symlink_to(secret)
    (repo / "kube.yaml").write_text(kubeconfig({"tokenFile": "token"}))
    p = plan(workspace(repo, "kube.yaml"))
    assert p.returncode == 3 and "reads tokenFile" in p.stderr, p.stderr
    assert TOKEN not in p.stdout + p.stderr


def test_a_kubeconfig_in_the_repository_merged_with_one_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "home" / "config"
    outside.parent.mkdir()
    outside.write_text(kubeconfig({"token": TOKEN}))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "kube.yaml").write_text(kubeconfig({"token": "own"}, server="https://attacker.invalid"))
    p = plan(workspace(repo, f"kube.yaml:{outside}"))
    assert p.returncode == 3 and "is merged with" in p.stderr, p.stderr
    assert TOKEN not in p.stdout + p.stderr


def test_what_the_file_itself_holds_is_used(tmp_path: Path) -> None:
    """A token and a token file in the repository pass the check: the run goes on to the (absent) server,
    exit 4, with no word about the repository."""
    (tmp_path / "token").write_text("own-token")
    (tmp_path / "kube.yaml").write_text(kubeconfig({"tokenFile": "token"}))
    p = plan(workspace(tmp_path, "kube.yaml"))
    assert p.returncode == 4 and "repository" not in p.stderr, p.stderr


def test_a_kubeconfig_outside_the_repository_is_the_machines_own(tmp_path: Path) -> None:
    outside = tmp_path / "home" / "config"
    outside.parent.mkdir()
    outside.write_text(kubeconfig(exec_user(tmp_path / "RAN")))
    repo = tmp_path / "repo"
    repo.mkdir()
    files = kc.read_files(str(outside), {})
    assert kc.repository_problem(files, repo) is None
    inside = repo / "kube.yaml"
    inside.symlink_to(outside)  # the repository points at it; the content is still the machine's
    assert kc.repository_problem(kc.read_files(str(inside), {}), repo) is None


def test_names_in_the_message_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "kube.yaml").write_text(
        kubeconfig({"exec": {"command": "x"}}).replace('"name": "u"', '"name": "u\\u001b[2J\\nFORGED"')
        .replace('"user": "u"', '"user": "u\\u001b[2J\\nFORGED"')
    )
    p = plan(workspace(tmp_path, "kube.yaml"))
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
