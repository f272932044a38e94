"""regplan's Config Management Plugin (deploy/argocd/plugin.yaml) in Argo CD's real argocd-cmp-server,
driven as argocd-repo-server drives it: the repository tarred and streamed, discovery, the parameters
announcement, manifest generation, errors as Argo CD shows them (the gRPC status message)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # conftest.py is not importable by name here: tests/cluster has one too
    from conftest import CmpServer

WORKSPACE = """
    defaults: {target: ocp4}
    clusters:
      - name: prod-eu
        profile: ebs-gp2-rwo
      - name: s3-prod
        profile: aws-s3
        values: [values/s3.yaml]
      - name: bad
        profile: ebs-gp2-rwo
        set: [replicas=3]
      - name: legacy
        target: ocp3
        profile: glusterfs
"""


def make_repo(root: Path) -> Path:
    """A git checkout: a workspace at its root, an app directory per cluster, an unrelated kustomize app."""
    (root / "values").mkdir(parents=True)
    (root / "values" / "s3.yaml").write_text(
        "s3:\n  bucket: acme-registry\n  region: eu-west-1\n"
        "  accessKeyFrom: env:FLEET_AWS_ACCESS\n  secretKeyFrom: file:../keys/secret\n"
    )
    (root / "regplan.yaml").write_text(textwrap.dedent(WORKSPACE).lstrip())
    for app in ("clusters/prod-eu", "clusters/s3-prod/deep/er"):
        (root / app).mkdir(parents=True)
        (root / app / "README.md").write_text("the Argo CD app of one cluster\n")
    (root / "apps" / "other").mkdir(parents=True)
    (root / "apps" / "other" / "kustomization.yaml").write_text("resources: []\n")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def objects(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(m) for m in answer["manifests"]]


def kinds(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(o["kind"], o["metadata"]["name"]) for o in objects(answer)]


CLUSTER = [{"name": "cluster", "string": "prod-eu"}]


# --- discovery ---


@pytest.mark.parametrize(
    ("app_path", "env", "params", "supported"),
    [
        (".", [], None, True),  # (a) regplan.yaml in the app's path: matches whatever the app names
        ("clusters/prod-eu", [], CLUSTER, True),  # (b) in a parent, the app names a cluster
        ("clusters/prod-eu", ["REGPLAN_CLUSTER=prod-eu"], None, True),
        ("./clusters//prod-eu/", [], CLUSTER, True),  # written loosely: Argo CD joins it the same way
        ("clusters/s3-prod/deep/er", [], CLUSTER, True),
        ("clusters/prod-eu", ["REGPLAN_WORKSPACE=../../regplan.yaml"], None, True),
        ("clusters/prod-eu", ["REGPLAN_WORKSPACE=../nothing.yaml"], CLUSTER, False),
        ("apps/other", [], None, False),  # an unrelated app below the workspace that names no cluster
        ("clusters", [], None, False),
    ],
)
def test_discovery_matches_the_app_path_or_a_parent_within_the_repository(
    cmp_server: CmpServer,
    repo: Path,
    app_path: str,
    env: list[str],
    params: list[dict[str, Any]] | None,
    supported: bool,
) -> None:
    answer = cmp_server.ok("match", repo, app_path, env=env, params=params)
    assert answer == {"isSupported": supported, "isDiscoveryEnabled": True}


def test_discovery_stops_at_the_repository_root(cmp_server: CmpServer, tmp_path: Path) -> None:
    """A regplan.yaml above the checkout (here: in the cmp-server's work dir, the unpacked repository's
    grandparent) is not the app's workspace, however the app's path is written. (Argo CD itself refuses a
    path that leaves the checkout: "app path outside root".)"""
    (cmp_server.workdir / "regplan.yaml").write_text(textwrap.dedent(WORKSPACE).lstrip())
    try:
        repo = tmp_path / "repo"
        (repo / "a" / "b").mkdir(parents=True)
        (repo / "a" / "x").mkdir()
        (repo / "a" / "b" / "README.md").write_text("x\n")
        for app_path in ("a/b", "a/x/../b", "./a/b/"):
            answer = cmp_server.ok("match", repo, app_path, env=["REGPLAN_CLUSTER=prod-eu"])
            assert answer["isSupported"] is False, app_path
        p = cmp_server.call("generate", repo, "a/b", params=CLUSTER)
        assert p.returncode == 1
        assert 'could not find cmp-server plugin with name "regplan-v1" supporting' in p.stderr
        # named explicitly, a file outside the checkout is refused by generate, with the reason
        outside = ["REGPLAN_WORKSPACE=../../../../regplan.yaml"]
        p = cmp_server.call("generate", repo, "a/b", env=outside, params=CLUSTER)
        assert p.returncode == 1 and "is not a file inside the repository" in p.stderr
    finally:
        (cmp_server.workdir / "regplan.yaml").unlink()


def test_named_plugin_in_a_subdirectory_is_not_refused(cmp_server: CmpServer, repo: Path) -> None:
    """The bug of issue 17: with `fileName: ./regplan.yaml`, Argo CD refused this Application ("could not
    find cmp-server plugin ... supporting the given repository") although it names the plugin."""
    answer = cmp_server.ok("generate", repo, "clusters/prod-eu", params=CLUSTER)
    assert kinds(answer) == [("PersistentVolumeClaim", "image-registry-storage"), ("Config", "cluster")]


# --- parameters announcement ---


def test_parameters_announcement(cmp_server: CmpServer, repo: Path) -> None:
    answer = cmp_server.ok("params", repo, "clusters/prod-eu", params=CLUSTER)
    title = "Cluster (its name in regplan.yaml)"
    assert answer == [{"name": "cluster", "title": title, "required": True, "itemType": "string"}]


# --- generate ---


def test_generate_app_at_the_workspace_root(cmp_server: CmpServer, repo: Path) -> None:
    answer = cmp_server.ok("generate", repo, ".", params=CLUSTER)
    objs = objects(answer)
    assert kinds(answer) == [("PersistentVolumeClaim", "image-registry-storage"), ("Config", "cluster")]
    pvc, cfg = objs
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"] and pvc["spec"]["storageClassName"] == "gp2"
    assert cfg["spec"]["storage"]["pvc"] == {"claim": "image-registry-storage"}


def test_generate_app_in_a_subdirectory_equals_the_root_app(cmp_server: CmpServer, repo: Path) -> None:
    root = cmp_server.ok("generate", repo, ".", params=CLUSTER)
    for app_path in ("clusters/prod-eu", "./clusters/prod-eu/"):
        assert cmp_server.ok("generate", repo, app_path, params=CLUSTER) == root


def test_generate_parameters_and_plugin_env(cmp_server: CmpServer, repo: Path) -> None:
    by_env = cmp_server.ok("generate", repo, "clusters/prod-eu", env=["REGPLAN_CLUSTER=prod-eu"])
    assert kinds(by_env)[-1] == ("Config", "cluster")
    # the parameter wins over the plugin env; the S3 cluster's credentials Secret is left out
    s3 = cmp_server.ok(
        "generate", repo, "clusters/s3-prod/deep/er", env=["REGPLAN_CLUSTER=prod-eu"],
        params=[{"name": "cluster", "string": "s3-prod"}],
    )  # fmt: skip
    assert kinds(s3) == [("Config", "cluster")]
    storage = objects(s3)[0]["spec"]["storage"]
    assert storage["s3"]["bucket"] == "acme-registry" and storage["pvc"] is None
    # REGPLAN_WORKSPACE names the file, relative to the app's path
    by_file = cmp_server.ok(
        "generate", repo, "clusters/prod-eu", env=["REGPLAN_WORKSPACE=../../regplan.yaml"], params=CLUSTER
    )
    assert by_file == by_env
    assert "placeholder" not in json.dumps(s3) and cmp_server.secret not in json.dumps(s3)


def test_generate_needs_a_cluster(cmp_server: CmpServer, repo: Path) -> None:
    p = cmp_server.call("generate", repo, ".")
    assert p.returncode == 1
    assert "which cluster?" in p.stderr and "ARGOCD_ENV_REGPLAN_CLUSTER" in p.stderr


# --- errors reach Argo CD's message ---


def test_invalid_cluster_error_reaches_argocd(cmp_server: CmpServer, repo: Path) -> None:
    p = cmp_server.call("generate", repo, "clusters/prod-eu", params=[{"name": "cluster", "string": "bad"}])
    assert p.returncode == 1 and p.stdout == ""
    # the repo-server's wrapping, the plugin command, then regplan's own message (its stderr)
    assert "error generating manifests in cmp" in p.stderr
    assert "`regplan argocd-generate` failed exit status 3" in p.stderr
    assert "cannot use ReadWriteOnce access mode with more than one replica" in p.stderr
    assert "Traceback" not in p.stderr


def test_openshift_3_is_refused_with_the_reason(cmp_server: CmpServer, repo: Path) -> None:
    p = cmp_server.call("generate", repo, ".", params=[{"name": "cluster", "string": "legacy"}])
    assert p.returncode == 1 and "failed exit status 3" in p.stderr
    assert "OpenShift 3.x" in p.stderr and "registry-certificates" in p.stderr
    assert "regplan apply" in p.stderr and "-o oc" in p.stderr


@pytest.mark.parametrize(
    "value",
    [
        "prod-eu\nkind: Secret",  # a line break: YAML injection into what the repo-server parses
        "prod-eu\r\n",
        "prod\u2028eu",
        "\x1b]0;owned\x07prod-eu",  # a terminal escape
        "prod-eu; rm -rf /",
        "../../etc/passwd",
        "x" * 100_000,  # huge (an env string is limited to 128 KiB by the kernel)
    ],
)
def test_hostile_cluster_parameter_is_refused_quoted(cmp_server: CmpServer, repo: Path, value: str) -> None:
    p = cmp_server.call("generate", repo, ".", params=[{"name": "cluster", "string": value}])
    assert p.returncode == 1 and p.stdout == ""
    assert "failed exit status 3" in p.stderr and "is not a cluster name" in p.stderr
    for raw in ("\x1b", "\u2028", "\nkind: Secret", "\r"):
        assert raw not in p.stderr  # quoted escaped (repr), never raw
    assert len(p.stderr) < 2000  # the message quotes a bounded prefix


def test_generate_output_is_what_regplan_renders(cmp_server: CmpServer, repo: Path) -> None:
    """The manifests Argo CD receives are regplan's, document for document (the server splits the YAML
    stream and hands back each document as JSON)."""
    import os
    import subprocess
    import sys

    import yaml

    bin_dir = Path(sys.executable).parent
    p = subprocess.run(
        [str(bin_dir / "regplan"), "argocd-generate"],
        cwd=repo / "clusters" / "prod-eu",
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"),
             "ARGOCD_APP_SOURCE_PATH": "clusters/prod-eu", "PARAM_CLUSTER": "prod-eu"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    local = [d for d in yaml.safe_load_all(p.stdout) if d]
    assert objects(cmp_server.ok("generate", repo, "clusters/prod-eu", params=CLUSTER)) == local


def test_workspace_through_a_link_is_refused_in_the_sidecar(cmp_server: CmpServer, repo: Path) -> None:
    """Argo CD streams a link as a link; regplan reads only regular files (a clear exit 3, not the file
    the link points to)."""
    (repo / "real.yaml").write_text((repo / "regplan.yaml").read_text())
    (repo / "regplan.yaml").unlink()
    (repo / "regplan.yaml").symlink_to("real.yaml")
    p = cmp_server.call("generate", repo, "clusters/prod-eu", params=CLUSTER)
    assert p.returncode == 1 and "failed exit status 3" in p.stderr
    assert "regplan.yaml: is a symlink (to 'real.yaml')" in p.stderr


def test_client_contract(cmp_server: CmpServer, repo: Path, tmp_path: Path) -> None:
    """cmp-client's command line is a contract other tests (the image's) rely on."""
    import subprocess

    client = str(cmp_server.client)
    p = subprocess.run([client, "-op", "bogus"], capture_output=True, text=True, check=False)
    assert p.returncode == 1 and "usage: cmp-client -socket PATH -op match|params|generate" in p.stderr
    gone = tmp_path / "none.sock"
    p = subprocess.run(
        [client, "-socket", str(gone), "-op", "match", "-repo", str(repo), "-app-path", "."],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert p.returncode == 1 and "no such file or directory" in p.stderr
    # -env takes the plugin env name with or without Argo CD's ARGOCD_ENV_ prefix
    short = cmp_server.ok("generate", repo, "clusters/prod-eu", env=["REGPLAN_CLUSTER=prod-eu"])
    long = cmp_server.ok("generate", repo, "clusters/prod-eu", env=["ARGOCD_ENV_REGPLAN_CLUSTER=prod-eu"])
    assert short == long and set(short) == {"manifests"}
    assert cmp_server.call("generate", repo, "no/such/dir", params=CLUSTER).returncode == 1
