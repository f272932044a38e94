"""Kubeconfigs are found and read in one place (regplan/cluster/kubeconfig.py) for one cluster and for each
cluster of a workspace: a file is parsed once per run while unchanged, the client is handed only the
context it uses (a copy: the cached document is never touched), non-regular files are refused without
blocking, and the workspace's context check reads kubeconfigs the way the connections do."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from regplan.base import safeload
from regplan.base.errors import ClusterError
from regplan.cluster import kubeconfig as kc
from regplan.fleet import runs as fleet
from regplan.fleet import workspace
from regplan.fleet.workspace import WorkspaceInvalid

N = 60


def big(path: Path, n: int = N, server: str = "https://127.0.0.1:1") -> Path:
    """One file, ``n`` contexts (each its own cluster and user), relative certificate paths."""
    (path.parent / "certs").mkdir(exist_ok=True)
    (path.parent / "certs" / "ca.crt").write_text("not checked here\n")
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": f"k{i}", "cluster": {"server": server, "certificate-authority": "certs/ca.crt"}}
            for i in range(n)
        ],
        "users": [{"name": f"u{i}", "user": {"token": f"token-{i}"}} for i in range(n)],
        "contexts": [{"name": f"c{i}", "context": {"cluster": f"k{i}", "user": f"u{i}"}} for i in range(n)],
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    kc._read_once.cache_clear()
    seen: list[str] = []
    real = safeload.load_yaml

    def counted(data: Any, *, source: str, **kw: Any) -> Any:
        seen.append(source)
        return real(data, source=source, **kw)

    monkeypatch.setattr(safeload, "load_yaml", counted)
    return seen


def test_many_connections_parse_the_file_once(tmp_path: Path, parses: list[str]) -> None:
    path = str(big(tmp_path / "config"))
    hosts = []
    for i in (0, 7, N - 1):
        cfg, _ = kc.load_configuration(path, f"c{i}", environ={})
        hosts.append((cfg.host, cfg.api_key.get("BearerToken")))
        assert cfg.ssl_ca_cert == str(tmp_path / "certs" / "ca.crt")  # relative to the file, as kubectl
    assert parses == [path]
    assert hosts == [("https://127.0.0.1:1", f"Bearer token-{i}") for i in (0, 7, N - 1)]


def test_a_changed_file_is_read_again(tmp_path: Path, parses: list[str]) -> None:
    path = big(tmp_path / "config", n=2)
    assert "c1" in kc.read_kubeconfig(str(path)).entries["contexts"]
    big(path, n=3)
    os.utime(path, ns=(1, 1))  # even with an old mtime: the size (and inode) differ
    assert "c2" in kc.read_kubeconfig(str(path)).entries["contexts"]
    assert len(parses) == 2


def test_the_client_gets_one_context_as_a_copy(tmp_path: Path) -> None:
    path = str(big(tmp_path / "config", n=5))
    files = [kc.read_kubeconfig(path)]
    resolved = kc.resolve(files, "c3")
    merged = kc._merged(files, resolved, lambda name, value, path: value)
    assert [(e["name"]) for s in ("contexts", "clusters", "users") for e in merged[s]] == ["c3", "k3", "u3"]
    merged["users"][0]["user"]["token"] = "changed by the client"
    assert kc.read_kubeconfig(path).entries["users"]["u3"] == {"token": "token-3"}


def test_concurrent_first_reads_agree(tmp_path: Path, parses: list[str]) -> None:
    path = str(big(tmp_path / "config"))
    got: list[str] = []
    barrier = threading.Barrier(8)

    def one(i: int) -> None:
        barrier.wait()
        got.append(kc.resolve([kc.read_kubeconfig(path)], f"c{i}").cluster)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(got) == sorted(f"k{i}" for i in range(8))


@pytest.mark.parametrize("kind", ["fifo", "dir", "dangling-symlink"])
def test_non_regular_kubeconfigs_are_refused_without_blocking(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "kubeconfig"
    if kind == "fifo":
        os.mkfifo(path)  # open() would wait for a writer for ever
        phrase = "is not a regular file"
    elif kind == "dir":
        path.mkdir()
        phrase = "is a directory"
    else:
        path.symlink_to(tmp_path / "nowhere")
        phrase = "kubeconfig not found"
    done: list[BaseException] = []
    t = threading.Thread(target=lambda: done.append(_raises(str(path))), daemon=True)
    t.start()
    t.join(5)
    assert done, "read_kubeconfig blocked"
    assert isinstance(done[0], ClusterError) and phrase in str(done[0]) and str(path) in str(done[0])


def _raises(path: str) -> BaseException:
    try:
        kc.read_kubeconfig(path)
    except BaseException as err:
        return err
    raise AssertionError("no error")


def test_the_workspace_context_check_reads_as_the_connections_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big(tmp_path / "config", n=3)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "regplan.yaml").write_text(
        "defaults: {profile: ebs-gp2-rwo, kubeconfig: config}\n"
        "clusters:\n"
        "  - {name: a, context: c1}\n"
        "  - {name: b, context: c9}\n"
        "  - {name: c, context: c1, kubeconfig: fifo}\n"
        "  - {name: d, context: c2, kubeconfig: 'config:missing'}\n"
    )
    ws = workspace.load(tmp_path / "regplan.yaml")
    ctx = fleet.Context(ws=ws, environ={})
    with pytest.raises(WorkspaceInvalid) as err:
        fleet.check_contexts(ctx, ws.clusters)
    problems = err.value.problems
    assert len(problems) == 2, problems  # d: a missing file in a list is skipped, as kubectl (and the
    # connection) skip it
    assert problems[0].startswith(
        f"{tmp_path / 'regplan.yaml'}:4: cluster b: context 'c9' is not in the kubeconfig"
    )
    assert problems[1].startswith(f"{tmp_path / 'regplan.yaml'}:5: cluster c: kubeconfig ")
    assert "is not a regular file" in problems[1]
    fleet.check_contexts(ctx, [ws.clusters[3]])
    gone = type(ws.clusters[0])(name="e", context="c1", target="auto", profile="p", kubeconfig="/nope:/nope2")
    with pytest.raises(WorkspaceInvalid, match="cluster e: kubeconfig not found: /nope, /nope2"):
        fleet.check_contexts(ctx, [gone])
    fleet.check_contexts(ctx, ws.clusters[:1])  # the good one alone passes
    # no kubeconfig at all (in-cluster): nothing to check
    bare = fleet.Context(ws=workspace.load(tmp_path / "regplan.yaml"), environ={}, kubeconfig=None)
    spec = bare.ws.clusters[0]
    nokube = type(spec)(name="e", context="x", target="auto", profile="ebs-gp2-rwo")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.kube/config
    fleet.check_contexts(bare, [nokube])
