"""`regplan argocd-generate`'s inputs are the plugin's environment, which an Application's author controls:
parameters (ARGOCD_APP_PARAMETERS, PARAM_*), plugin env (ARGOCD_ENV_*) and the app's path. Bounded, checked,
quoted when refused; the workspace is looked for exactly where deploy/argocd/plugin.yaml's discovery looks.
(tests/argocd runs the same plugin in Argo CD's real cmp-server.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from regplan.base.errors import InvalidInput
from regplan.cli import commands

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = """
    defaults: {target: ocp4}
    clusters:
      - name: prod-eu
        profile: ebs-gp2-rwo
      - name: legacy
        target: ocp3
        profile: glusterfs
"""


def params(value: object) -> dict[str, str]:
    return {"ARGOCD_APP_PARAMETERS": json.dumps(value)}


# --- ARGOCD_APP_PARAMETERS: bounded before it is parsed ---


def test_deep_parameters_are_refused_before_parsing() -> None:
    deep = "[" * 100_000 + "]" * 100_000  # json.loads would exhaust the recursion limit (was exit 1)
    with pytest.raises(InvalidInput, match="nested deeper than 8 levels"):
        commands.argocd_cluster({"ARGOCD_APP_PARAMETERS": deep})
    ok = [{"name": "cluster", "string": "prod-eu", "map": {"a": "b"}, "array": ["[[[[[[[[[[[[[[["]}]
    assert commands.argocd_cluster(params(ok)) == "prod-eu"  # brackets inside strings do not count
    at_limit = json.dumps([{"name": "cluster", "string": "prod-eu"}, [[[[[[[]]]]]]]])
    assert commands.argocd_cluster({"ARGOCD_APP_PARAMETERS": at_limit}) == "prod-eu"


def test_huge_parameters_are_refused_by_size() -> None:
    huge = json.dumps([{"name": "cluster", "string": "prod-eu"}, {"name": "x", "string": "y" * 300_000}])
    with pytest.raises(InvalidInput, match=r"ARGOCD_APP_PARAMETERS: \d+ bytes, more than 262144"):
        commands.argocd_cluster({"ARGOCD_APP_PARAMETERS": huge})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not JSON"),
        ('"a string"', "not a JSON list of parameters"),
        ('{"name": "cluster"}', "not a JSON list of parameters"),
        ("[]", "which cluster?"),
        ("null", "which cluster?"),  # Argo CD's JSON for an Application without parameters
        ('[{"name": "cluster", "array": ["prod-eu"]}]', "which cluster?"),
        ('[{"name": "cluster", "string": "prod-eu\\nkind: Secret"}]', r"'prod-eu\\u000akind: Secret' is not"),
        ('[{"name": "cluster", "string": "\\u001b[2Jprod"}]', r"'\\u001b\[2Jprod' is not a cluster name"),
        ('[{"name": "cluster", "string": "prod\\u2028eu"}]', r"'prod\\u2028eu' is not a cluster name"),
        ('[{"name": "cluster", "string": "Prod_EU"}]', "is not a cluster name"),
    ],
)
def test_bad_parameters_are_clear_input_errors(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        commands.argocd_cluster({"ARGOCD_APP_PARAMETERS": raw})


def test_parameters_with_line_breaks_between_tokens_parse() -> None:
    raw = '[\n {"name": "cluster",\r\n  "string": "prod-eu"}\n]'
    assert commands.argocd_cluster({"ARGOCD_APP_PARAMETERS": raw}) == "prod-eu"


@pytest.mark.parametrize("var", ["PARAM_CLUSTER", "ARGOCD_ENV_REGPLAN_CLUSTER"])
@pytest.mark.parametrize("value", ["prod-eu\n", "prod-eu\r", "\x1b]0;x\x07", "a" * 64, "x" * 200_000, "../x"])
def test_hostile_cluster_env_is_refused_quoted_and_bounded(var: str, value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        commands.argocd_cluster({var: value})
    text = str(err.value)
    assert text.startswith(f"{var}: ") and "is not a cluster name" in text
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and len(text) < 300


def test_parameter_wins_over_plugin_env() -> None:
    """Argo CD sets PARAM_CLUSTER and ARGOCD_APP_PARAMETERS from the same parameter; the plugin env is a
    default (e.g. for every app of an ApplicationSet) that a parameter overrides."""
    env = {
        "PARAM_CLUSTER": "a",
        "ARGOCD_ENV_REGPLAN_CLUSTER": "b",
        **params([{"name": "cluster", "string": "a"}]),
    }
    assert commands.argocd_cluster(env) == "a"
    del env["PARAM_CLUSTER"]
    assert commands.argocd_cluster(env) == "a"
    del env["ARGOCD_APP_PARAMETERS"]
    assert commands.argocd_cluster(env) == "b"


# --- the workspace: the app's path or a parent within the repository ---


@pytest.mark.parametrize(
    ("path", "levels"),
    [("", 0), (".", 0), ("./", 0), ("a", 1), ("a/b", 2), ("./a//b/", 2), ("a/x/../b", 2), ("..", 0),
     ("a/../..", 0), ("/a/b", 2)],
)  # fmt: skip
def test_levels_of_the_app_path(path: str, levels: int) -> None:
    assert commands.argocd_levels(path) == levels


def make_repo(root: Path) -> Path:
    (root / "clusters" / "prod-eu" / "deep").mkdir(parents=True)
    (root / "regplan.yaml").write_text(textwrap.dedent(WORKSPACE).lstrip())
    return root


def discovery_script() -> list[str]:
    plugin = yaml.safe_load((ROOT / "deploy" / "argocd" / "plugin.yaml").read_text())
    command: list[str] = plugin["spec"]["discover"]["find"]["command"]
    return command


def discovers(app: Path, env: dict[str, str]) -> bool:
    p = subprocess.run(
        discovery_script(), cwd=app, env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return p.stdout != ""


@pytest.mark.parametrize(
    ("app", "source_path", "found"),
    [
        (".", ".", "regplan.yaml"),
        ("clusters/prod-eu", "clusters/prod-eu", "regplan.yaml"),
        ("clusters/prod-eu/deep", "./clusters/prod-eu/deep/", "regplan.yaml"),
        ("clusters/prod-eu", "clusters/x/../prod-eu", "regplan.yaml"),
        ("clusters/prod-eu", "prod-eu", None),  # the path says 1 level: the repository's root is clusters/
        ("clusters/prod-eu", "", None),
    ],
)
def test_workspace_lookup_agrees_with_the_plugin_discovery(
    tmp_path: Path, app: str, source_path: str, found: str | None
) -> None:
    """One rule in two places (the sidecar's shell discovery, argocd-generate): this table holds them
    together. A regplan.yaml above the repository (tmp_path here) is never used."""
    (tmp_path / "regplan.yaml").write_text(textwrap.dedent(WORKSPACE).lstrip())
    repo = make_repo(tmp_path / "checkout" / "repo")
    cwd = repo / app
    env = {"ARGOCD_APP_SOURCE_PATH": source_path, "PARAM_CLUSTER": "prod-eu"}
    assert discovers(cwd, env) is (found is not None)
    if found is None:
        with pytest.raises(InvalidInput, match=r"no regplan.yaml in the app's path .* within the repository"):
            commands.argocd_workspace(env, cwd)
    else:
        assert commands.argocd_workspace(env, cwd).resolve() == repo / found


def test_discovery_in_a_parent_needs_the_app_to_name_a_cluster(tmp_path: Path) -> None:
    """So an unrelated app below a workspace that Argo CD auto-detects is not claimed by regplan."""
    repo = make_repo(tmp_path / "repo")
    app = repo / "clusters" / "prod-eu"
    path = {"ARGOCD_APP_SOURCE_PATH": "clusters/prod-eu"}
    assert not discovers(app, path)
    assert discovers(app, {**path, "PARAM_CLUSTER": "prod-eu"})
    assert discovers(app, {**path, "ARGOCD_ENV_REGPLAN_CLUSTER": "prod-eu"})
    assert discovers(app, {**path, "ARGOCD_ENV_REGPLAN_WORKSPACE": "../../regplan.yaml"})
    assert not discovers(app, {**path, "ARGOCD_ENV_REGPLAN_WORKSPACE": "../nope.yaml"})
    assert discovers(repo, {"ARGOCD_APP_SOURCE_PATH": "."})  # in the app's path: as before
    # hostile values are data to the script, never code
    marker = tmp_path / "pwned"
    for hostile in (f"$(touch {marker})", f"`touch {marker}`", f"x; touch {marker}", "*", "a\nb"):
        discovers(app, {"ARGOCD_APP_SOURCE_PATH": hostile, "PARAM_CLUSTER": hostile,
                        "ARGOCD_ENV_REGPLAN_WORKSPACE": hostile})  # fmt: skip
        discovers(app, {"ARGOCD_APP_SOURCE_PATH": hostile, "PARAM_CLUSTER": "x"})
    assert not marker.exists()


@pytest.mark.parametrize("given", ["../../../outside.yaml", "/etc/hostname", "../../../repo2/regplan.yaml"])
def test_workspace_named_outside_the_repository_is_refused(tmp_path: Path, given: str) -> None:
    repo = make_repo(tmp_path / "repo")
    env = {"ARGOCD_APP_SOURCE_PATH": "clusters/prod-eu", "ARGOCD_ENV_REGPLAN_WORKSPACE": given}
    with pytest.raises(InvalidInput, match="is not a file inside the repository"):
        commands.argocd_workspace(env, repo / "clusters" / "prod-eu")


@pytest.mark.parametrize("to", ["outside", "repo/clusters"])
def test_workspace_behind_a_symlinked_directory_is_refused_unfollowed(tmp_path: Path, to: str) -> None:
    """A directory on the way that is a symlink - out of the repository or back into it - is refused in the
    file layer's words: the lookup walks from the repository's root and never follows one."""
    repo = make_repo(tmp_path / "repo")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "regplan.yaml").write_text((repo / "regplan.yaml").read_text())
    (repo / "sub").symlink_to(tmp_path / to)
    env = {"ARGOCD_APP_SOURCE_PATH": "clusters/prod-eu"}
    env["ARGOCD_ENV_REGPLAN_WORKSPACE"] = "../../sub/regplan.yaml"
    with pytest.raises(InvalidInput, match=r"ARGOCD_ENV_REGPLAN_WORKSPACE: sub: is a symlink \(to .*\)"):
        commands.argocd_workspace(env, repo / "clusters" / "prod-eu")


@pytest.mark.parametrize("given", ["a" * 300, "a/" * 3000, "x\n" * 100])
def test_workspace_named_with_a_huge_name_is_an_input_error(tmp_path: Path, given: str) -> None:
    repo = make_repo(tmp_path / "repo")
    p = generate(repo, {"ARGOCD_APP_SOURCE_PATH": ".", "PARAM_CLUSTER": "prod-eu",
                        "ARGOCD_ENV_REGPLAN_WORKSPACE": given})  # fmt: skip
    assert (p.returncode, p.stdout) == (3, "")
    assert p.stderr.startswith("regplan: ARGOCD_ENV_REGPLAN_WORKSPACE: ") and len(p.stderr) < 400


# --- the command, as the cmp-server runs it ---


def generate(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        [str(bin_dir / "regplan"), "argocd-generate"], cwd=cwd,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"), **env},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_openshift_3_cluster_is_refused_with_the_reason_and_the_route(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    p = generate(repo, {"ARGOCD_APP_SOURCE_PATH": ".", "PARAM_CLUSTER": "legacy"})
    assert (p.returncode, p.stdout) == (3, "")
    assert "cluster legacy is OpenShift 3.x" in p.stderr
    assert "replaces the DeploymentConfig's container and volume lists" in p.stderr
    assert "registry-certificates" in p.stderr
    assert "`regplan apply`" in p.stderr and "regplan render -p glusterfs --target ocp3 -o oc" in p.stderr
    ok = generate(repo, {"ARGOCD_APP_SOURCE_PATH": ".", "PARAM_CLUSTER": "prod-eu"})
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"ARGOCD_APP_PARAMETERS": "[" * 60_000 + "]" * 60_000},  # an env string is at most 128 KiB,
        {"ARGOCD_APP_PARAMETERS": json.dumps([{"name": "x", "string": "y" * 120_000}])},
        {"ARGOCD_APP_PARAMETERS": '[{"name": "cluster", "string": "a\\u0000b"}]'},
        {"PARAM_CLUSTER": "prod-eu\n---\nkind: Secret"},
        {"ARGOCD_ENV_REGPLAN_CLUSTER": "\x07\x1b[31mprod"},
    ],
)
def test_hostile_environment_exits_3_without_traceback(tmp_path: Path, env: dict[str, str]) -> None:
    repo = make_repo(tmp_path / "repo")
    p = generate(repo, {"ARGOCD_APP_SOURCE_PATH": ".", **env})
    assert (p.returncode, p.stdout) == (3, "")
    assert "Traceback" not in p.stderr and "\x1b" not in p.stderr and len(p.stderr) < 1000


def test_objects_holding_a_null_are_applied_client_side() -> None:
    """A null removes a field only in a merge (client-side apply); the apiserver refuses it in a
    server-side apply. tests/cluster/test_argocd_sync.py shows both with Argo CD's diff."""
    cfg = {"kind": "Config", "metadata": {"name": "cluster"}, "spec": {"storage": {"pvc": {}, "s3": None}}}
    pvc = {"kind": "PersistentVolumeClaim", "metadata": {"name": "c", "annotations": {"a": "b"}}, "spec": {}}
    listed = {"kind": "X", "metadata": {"name": "x"}, "spec": {"items": [{"a": None}]}}
    out = commands.argocd_objects([cfg, pvc, listed])
    assert out[0]["metadata"]["annotations"] == {"argocd.argoproj.io/sync-options": "ServerSideApply=false"}
    assert out[0]["spec"] == cfg["spec"] and "annotations" not in cfg["metadata"]  # input not changed
    assert out[1] == pvc
    assert out[2]["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "ServerSideApply=false"


@pytest.mark.parametrize("kind", ["symlink", "fifo", "dir"])
def test_workspace_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    repo = make_repo(tmp_path / "repo")
    ws = repo / "regplan.yaml"
    (tmp_path / "outside.yaml").write_text(ws.read_text())
    ws.unlink()
    if kind == "symlink":
        ws.symlink_to("../outside.yaml")
    elif kind == "fifo":
        os.mkfifo(ws)
    else:
        ws.mkdir()
    env = {"ARGOCD_APP_SOURCE_PATH": "clusters/prod-eu"}
    # the file layer's words (userfiles.Root.is_file), as every read inside a root says them
    what = {
        "symlink": "is a symlink (to '../outside.yaml'); regplan does not follow symlinks",
        "fifo": "is a FIFO (named pipe), not a regular file",
        "dir": "is a directory, not a regular file",
    }[kind]
    with pytest.raises(InvalidInput, match=re.escape(f"argocd-generate: regplan.yaml: {what}")):
        commands.argocd_workspace(env, repo / "clusters" / "prod-eu")
    named = {**env, "ARGOCD_ENV_REGPLAN_WORKSPACE": "../../regplan.yaml"}
    with pytest.raises(InvalidInput, match=re.escape(f"ARGOCD_ENV_REGPLAN_WORKSPACE: regplan.yaml: {what}")):
        commands.argocd_workspace(named, repo / "clusters" / "prod-eu")
    p = generate(repo / "clusters" / "prod-eu", {**env, "PARAM_CLUSTER": "prod-eu"})  # no hang on the FIFO
    assert (p.returncode, p.stdout) == (3, "") and what in p.stderr


def test_workspace_named_but_missing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    env = {"ARGOCD_APP_SOURCE_PATH": ".", "ARGOCD_ENV_REGPLAN_WORKSPACE": "nope.yaml"}
    with pytest.raises(
        InvalidInput, match=r"ARGOCD_ENV_REGPLAN_WORKSPACE: 'nope\.yaml': no such file in the"
    ):
        commands.argocd_workspace(env, repo)


PARAMS_TWO = '[{"name":"cluster","string":"dev-us"},{"name":"cluster","string":"prod-eu"}]'


@pytest.mark.parametrize(
    "env",
    [
        {"ARGOCD_APP_PARAMETERS": PARAMS_TWO},
        {"PARAM_CLUSTER": "dev-us", "ARGOCD_APP_PARAMETERS": '[{"name":"cluster","string":"prod-eu"}]'},
        {"ARGOCD_ENV_REGPLAN_CLUSTER": "x", "ARGOCD_APP_PARAMETERS": PARAMS_TWO},
    ],
)
def test_parameters_naming_two_clusters_are_refused_not_resolved_silently(env: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match="parameters name more than one cluster"):
        commands.argocd_cluster(env)


def test_the_same_cluster_named_twice_is_one_cluster() -> None:
    env = {"PARAM_CLUSTER": "dev-us", "ARGOCD_APP_PARAMETERS": '[{"name":"cluster","string":"dev-us"}]'}
    assert commands.argocd_cluster(env) == "dev-us"
