"""The fleet commands offline: the example workspace planned against its snapshots, selection, the exit
code of many clusters, --max-failures, the rendered tree for git (no secret values) and its golden check,
snapshot redaction, the Argo CD plugin run as its contract says, and single-cluster commands unchanged
outside a workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from regplan.base.errors import ClusterError, ExitCode, InvalidInput, StaleError
from regplan.base.model import Target
from regplan.cli import app as cli
from regplan.cli import commands
from regplan.engine import actions, recording, snapshot
from regplan.fleet import runs as fleet
from regplan.fleet import workspace
from regplan.present import fleetviews

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fleet"
ACCESS, SECRET = "AKIAFLEETTESTACCESS01", "fleet/test+secret/key/0123456789abcdefABCDEF"


def run(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regplan", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "REGPLAN_PROFILES_DIR": "", **(env or {})},
        check=False,
    )


# --- the example workspace, offline ---


def test_example_plans_offline_with_summary_then_each_plan() -> None:
    p = run("plan", "--snapshot-dir", "snapshots", cwd=EXAMPLE)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == list(fleetviews.PLAN_HEADER)
    assert [line.split()[0] for line in lines[1:5]] == ["dev-us", "stage-eu", "prod-eu", "legacy-us"]
    assert lines[3].split()[-2:] == ["no", "changes"]
    assert [line for line in lines if line.startswith("=== ")] == [
        "=== dev-us (context dev-us) ===",
        "=== stage-eu (context stage-eu) ===",
        "=== prod-eu (context prod-eu) ===",
        "=== legacy-us (context legacy-admin) ===",
    ]


@pytest.mark.parametrize(
    ("argv", "code", "names"),
    [
        (["--detailed-exitcode"], 2, ["dev-us", "stage-eu", "prod-eu", "legacy-us"]),
        (["-l", "env=prod"], 0, ["prod-eu", "legacy-us"]),
        (["-l", "env=prod,region!=us", "--detailed-exitcode"], 0, ["prod-eu"]),
        (["--cluster", "stage-eu", "--cluster", "dev-us"], 0, ["dev-us", "stage-eu"]),
        (["-l", "generation in (3)", "--detailed-exitcode"], 2, ["legacy-us"]),
    ],
)
def test_selection_and_json_document(argv: list[str], code: int, names: list[str]) -> None:
    p = run("plan", "--snapshot-dir", "snapshots", "-o", "json", *argv, cwd=EXAMPLE)
    assert p.returncode == code, p.stderr
    doc = json.loads(p.stdout)
    assert (doc["formatVersion"], doc["kind"], doc["exitCode"]) == (1, "FleetPlan", code)
    assert [c["name"] for c in doc["clusters"]] == names
    for c in doc["clusters"]:
        assert c["plan"]["formatVersion"] == 1 and c["plan"]["profile"] == c["profile"]


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["--cluster", "prod-ue"], "did you mean 'prod-eu'?"),
        (["-l", "env=qa"], "no cluster of"),
        (["-l", "env in (prod"], "unbalanced"),
    ],
)
def test_bad_selection_is_exit_3(argv: list[str], phrase: str) -> None:
    p = run("plan", "--snapshot-dir", "snapshots", *argv, cwd=EXAMPLE)
    assert p.returncode == 3 and phrase in p.stderr and "Traceback" not in p.stderr


def test_example_rendered_tree_is_current() -> None:
    p = run("golden", "--check", cwd=EXAMPLE)
    assert (p.returncode, p.stdout) == (0, ""), p.stdout + p.stderr


def test_plan_dir_round_trip_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    p = run("plan", "--snapshot-dir", "snapshots", "-o", "markdown", "--out", str(out), cwd=EXAMPLE)
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in out.iterdir()) == [
        "dev-us.json", "legacy-us.json", "prod-eu.json", "stage-eu.json"
    ]  # fmt: skip
    assert p.stdout.startswith("### regplan plan\n") and p.stdout.count("<details>") == 4
    saved = json.loads((out / "stage-eu.json").read_text())
    assert saved["summary"]["destructive"] == 0  # stage-eu's claim never bound: its replace loses no data


# --- exit code of many clusters and --max-failures ---

# (codes of the clusters, the fleet's code)
SEVERITY_CASES = [
    ([], ExitCode.OK),
    ([ExitCode.OK, ExitCode.CHANGES], ExitCode.CHANGES),
    ([ExitCode.CHANGES, ExitCode.INVALID], ExitCode.INVALID),
    ([ExitCode.INVALID, ExitCode.DESTRUCTIVE], ExitCode.DESTRUCTIVE),
    ([ExitCode.DESTRUCTIVE, ExitCode.STALE, ExitCode.OK], ExitCode.STALE),
    ([ExitCode.STALE, ExitCode.CLUSTER, ExitCode.INVALID], ExitCode.CLUSTER),
    ([ExitCode.CLUSTER, ExitCode.UNEXPECTED], ExitCode.UNEXPECTED),
]


@pytest.mark.parametrize(("codes", "expected"), SEVERITY_CASES)
def test_most_severe(codes: list[ExitCode], expected: ExitCode) -> None:
    assert actions.most_severe(codes) is expected
    assert actions.most_severe(list(reversed(codes))) is expected


def specs(*names: str) -> list[workspace.ClusterSpec]:
    return [workspace.ClusterSpec(name=n, context=n, target="ocp4", profile="ebs-gp2-rwo") for n in names]


ERRORS: dict[str, Exception] = {
    "unreachable": ClusterError("connection refused"),
    "stale": StaleError("the plan is stale"),
    "bug": RuntimeError("boom"),
}


def body(spec: workspace.ClusterSpec) -> actions.Outcome:
    if spec.name in ERRORS:
        raise ERRORS[spec.name]
    return actions.Outcome(spec.name, spec.context, spec.profile, "ocp4")


def test_one_cluster_error_does_not_stop_the_others() -> None:
    out = fleet.run_many(specs("a", "unreachable", "b", "stale", "bug", "c"), body, parallelism=3)
    assert [(o.name, int(o.code), o.state) for o in out] == [
        ("a", 0, "done"), ("unreachable", 4, "failed"), ("b", 0, "done"), ("stale", 5, "failed"),
        ("bug", 1, "failed"), ("c", 0, "done"),
    ]  # fmt: skip
    assert out[4].error == "unexpected error: RuntimeError: boom"
    assert fleet.code_of(out) is ExitCode.UNEXPECTED


@pytest.mark.parametrize(
    ("names", "max_failures", "already", "states"),
    [
        (("unreachable", "a", "b"), 1, 0, ["failed", "not started", "not started"]),
        (("a", "unreachable", "stale", "b"), 2, 0, ["done", "failed", "failed", "not started"]),
        (("a", "unreachable", "b"), 2, 0, ["done", "failed", "done"]),
        (("a", "b"), 1, 1, ["not started", "not started"]),
        (("a", "b"), None, 5, ["done", "done"]),
    ],
)
def test_max_failures_stops_starting(
    names: tuple[str, ...], max_failures: int | None, already: int, states: list[str]
) -> None:
    out = fleet.run_many(
        specs(*names), body, parallelism=1, max_failures=max_failures, already_failed=already
    )
    assert [o.state for o in out] == states


def test_running_ones_finish_when_the_budget_is_spent() -> None:
    started = threading.Barrier(2, timeout=5)

    def slow(spec: workspace.ClusterSpec) -> actions.Outcome:
        if spec.name in ("unreachable", "a"):
            started.wait()  # both running at once
        if spec.name == "unreachable":
            raise ClusterError("down")
        if spec.name == "a":
            threading.Event().wait(0.5)  # still running when the failure is counted
        return actions.Outcome(spec.name, spec.context, spec.profile, "ocp4")

    out = fleet.run_many(specs("unreachable", "a", "b"), slow, parallelism=2, max_failures=1)
    assert [o.state for o in out] == ["failed", "done", "not started"]


def test_parallelism_is_bounded() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def counted(spec: workspace.ClusterSpec) -> actions.Outcome:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        threading.Event().wait(0.02)
        with lock:
            running[0] -= 1
        return actions.Outcome(spec.name, spec.context, spec.profile, "ocp4")

    fleet.run_many(specs(*[f"c{i}" for i in range(12)]), counted, parallelism=3)
    assert peak[0] == 3


# --- render for git, golden check ---

S3_WORKSPACE = """
    defaults: {target: ocp4}
    clusters:
      - name: s3-prod
        profile: aws-s3
        values: [values/s3.yaml]
      - name: legacy-s3
        target: ocp3
        profile: aws-s3
        values: [values/s3.yaml]
      - name: ebs
        profile: ebs-gp2-rwo
"""


def s3_workspace(tmp_path: Path) -> Path:
    (tmp_path / "values").mkdir(parents=True)
    (tmp_path / "values" / "s3.yaml").write_text(
        "s3:\n  bucket: acme-registry\n  region: eu-west-1\n"
        "  accessKeyFrom: env:FLEET_AWS_ACCESS\n  secretKeyFrom: file:../keys/secret\n"
    )
    (tmp_path / "regplan.yaml").write_text(textwrap.dedent(S3_WORKSPACE).lstrip())
    return tmp_path


def all_text(d: Path) -> str:
    return "".join(f.read_text() for f in sorted(d.rglob("*")) if f.is_file())


def test_render_leaves_credential_secrets_out_and_needs_no_credentials(tmp_path: Path) -> None:
    ws = s3_workspace(tmp_path)
    p = run("render", cwd=ws, env={"FLEET_AWS_ACCESS": ACCESS})
    assert p.returncode == 0, p.stderr
    tree = ws / "rendered"
    assert sorted(d.name for d in tree.iterdir()) == ["ebs", "legacy-s3", "s3-prod"]
    assert sorted(f.name for f in (tree / "s3-prod").iterdir()) == [
        "01-config-cluster.yaml",
        "kustomization.yaml",
    ]
    assert not any("secret" in f.name for f in (tree / "legacy-s3").iterdir())
    assert "left out Secret/openshift-image-registry/image-registry-private-configuration-user" in p.stderr
    assert "left out Secret/default/registry-config" in p.stderr
    text = all_text(tree)
    assert ACCESS not in text and "placeholder" not in text
    for f in tree.rglob("kustomization.yaml"):
        kust = yaml.safe_load(f.read_text())
        assert all((f.parent / r).is_file() for r in kust["resources"])
    # the same bytes with or without the credential in the environment: nothing rotates with a key
    again = run("golden", "--check", cwd=ws)
    assert (again.returncode, again.stdout) == (0, "")


def test_golden_check_reports_changed_missing_and_stale(tmp_path: Path) -> None:
    ws = s3_workspace(tmp_path)
    assert run("render", cwd=ws).returncode == 0
    tree = ws / "rendered"
    (tree / "ebs" / "02-config-cluster.yaml").write_text("edited by hand\n")
    (tree / "s3-prod" / "kustomization.yaml").unlink()
    shutil.copytree(tree / "ebs", tree / "removed-cluster")
    (tree / "notes").mkdir()  # not rendered by regplan (no kustomization.yaml): left alone
    p = run("golden", "--check", cwd=ws)
    assert p.returncode == 2
    assert "--- a/rendered/ebs/02-config-cluster.yaml" in p.stdout
    assert "--- /dev/null\n+++ b/rendered/s3-prod/kustomization.yaml" in p.stdout
    assert "--- a/rendered/removed-cluster/kustomization.yaml\n+++ /dev/null" in p.stdout
    assert "golden: 2 differing, 3 stale under rendered/" in p.stdout
    assert run("golden", "--update", cwd=ws).returncode == 0
    assert not (tree / "removed-cluster").exists() and (tree / "notes").is_dir()
    assert run("golden", "--check", cwd=ws).stdout == ""


def test_render_writes_nothing_unless_every_cluster_renders(tmp_path: Path) -> None:
    ws = s3_workspace(tmp_path)
    (ws / "regplan.yaml").write_text(
        (ws / "regplan.yaml").read_text() + "  - name: bad\n    profile: ebs-gp2-rwo\n    set: [replicas=3]\n"
    )
    p = run("render", cwd=ws)
    assert p.returncode == 3 and "bad:" in p.stderr and "nothing was written" in p.stderr
    assert not (ws / "rendered").exists()


def test_target_auto_renders_from_the_snapshot_or_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "regplan.yaml").write_text("clusters:\n  - {name: a, profile: glusterfs}\n")
    p = run("render", cwd=tmp_path)
    assert (
        p.returncode == 3 and "regplan.yaml:2: cluster a: target auto cannot be rendered offline" in p.stderr
    )
    (tmp_path / "snapshots").mkdir()
    shutil.copy(EXAMPLE / "snapshots" / "legacy-us.yaml", tmp_path / "snapshots" / "a.yaml")
    assert run("render", cwd=tmp_path).returncode == 0
    assert (tmp_path / "rendered" / "a" / "03-deploymentconfig-docker-registry.yaml").is_file()


# --- snapshots: redaction ---


def b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_redaction_and_digest_comparison() -> None:
    config = (
        f"version: 0.1\nstorage:\n  s3:\n    accesskey: {ACCESS}\n    secretkey: {SECRET}\n    bucket: b\n"
    )
    secret = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "registry-config", "namespace": "default", "managedFields": [{"x": 1}],
                     "annotations": {recording.LAST_APPLIED: json.dumps({"data": {"k": b64(SECRET)}})}},
        "data": {"config.yml": b64(config), "token": b64(SECRET)},
    }  # fmt: skip
    dc = {
        "apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": "docker-registry", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "registry", "env": [
            {"name": "REGISTRY_STORAGE_S3_SECRETKEY", "value": SECRET},
            {"name": "REGISTRY_HTTP_TLS_KEY", "value": "/etc/secrets/registry.key"},
        ]}]}}},
    }  # fmt: skip
    cfg = {"apiVersion": "imageregistry.operator.openshift.io/v1", "kind": "Config",
           "metadata": {"name": "cluster"}, "spec": {"httpSecret": SECRET, "replicas": 2}}  # fmt: skip
    redacted = [recording.redact(o) for o in (secret, dc, cfg)]
    text = json.dumps(redacted)
    assert SECRET not in text and ACCESS not in text and b64(SECRET) not in text and b64(config) not in text
    assert "managedFields" not in text and recording.LAST_APPLIED not in text
    import base64

    kept = base64.b64decode(redacted[0]["data"]["config.yml"]).decode()
    assert "bucket: b" in kept and "accesskey: (redacted)" in kept  # structure kept for status
    env = redacted[1]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "REGISTRY_STORAGE_S3_SECRETKEY", "value": "(redacted)"},
        {"name": "REGISTRY_HTTP_TLS_KEY", "value": "/etc/secrets/registry.key"},
    ]
    assert redacted[2]["spec"] == {"httpSecret": "(redacted)", "replicas": 2}
    # a plan against the snapshot compares by digest: same value -> the desired value back, else redacted
    same = {**secret, "data": {"config.yml": b64(config), "token": b64("another")}}
    (back,) = snapshot.unredact([redacted[0]], [same])
    assert back["data"]["config.yml"] == b64(config) and back["data"]["token"] == b64("(redacted)")


# --- the Argo CD plugin, run as its contract says ---


def test_argocd_plugin_generate_as_the_repo_server_runs_it(tmp_path: Path) -> None:
    plugin = yaml.safe_load((ROOT / "deploy" / "argocd" / "plugin.yaml").read_text())
    assert plugin["kind"] == "ConfigManagementPlugin"
    app = s3_workspace(tmp_path / "repo")  # the Application's source path: regplan.yaml at its root
    assert (app / "regplan.yaml").is_file()  # what discovery matches: tests/unit/test_argocd_generate.py
    generate = [*plugin["spec"]["generate"]["command"], *plugin["spec"]["generate"].get("args", [])]
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / generate[0]).is_file()
    base = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ARGOCD_APP_NAME": "registry-s3-prod",
        "ARGOCD_APP_NAMESPACE": "argocd",
        "ARGOCD_APP_REVISION": "0123abc",
        "ARGOCD_APP_SOURCE_PATH": ".",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/platform/registries.git",
        "FLEET_AWS_ACCESS": ACCESS,  # present in the repo server's environment: must not leak
    }
    for extra in (
        {"ARGOCD_ENV_REGPLAN_CLUSTER": "s3-prod"},
        {"PARAM_CLUSTER": "s3-prod"},
        {"ARGOCD_APP_PARAMETERS": json.dumps([{"name": "cluster", "string": "s3-prod"}])},
    ):
        p = subprocess.run(
            generate, cwd=app, env={**base, **extra}, capture_output=True, text=True, check=False
        )
        assert p.returncode == 0, p.stderr
        docs = [d for d in yaml.safe_load_all(p.stdout) if d]
        assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [("Config", "cluster")]
        assert ACCESS not in p.stdout + p.stderr
    p = subprocess.run(generate, cwd=app, env=base, capture_output=True, text=True, check=False)
    assert p.returncode == 3 and "which cluster?" in p.stderr and p.stdout == ""


# --- single-cluster commands outside (and inside) a workspace ---


@pytest.fixture
def in_dir(monkeypatch: pytest.MonkeyPatch) -> Any:
    def go(d: Path) -> None:
        monkeypatch.chdir(d)

    return go


@pytest.mark.parametrize(
    ("argv", "single_type"),
    [
        (["render", "-p", "ebs-gp2-rwo"], commands.RenderOptions),
        (["plan", "-p", "ebs-gp2-rwo"], commands.PlanOptions),
        (["apply", "plan.json"], commands.ApplyOptions),
        (["status"], commands.StatusOptions),
        (["status", "--context", "c"], commands.StatusOptions),
    ],
)
def test_outside_a_workspace_commands_are_as_before(
    tmp_path: Path, in_dir: Any, argv: list[str], single_type: type
) -> None:
    in_dir(tmp_path)
    assert type(cli.parse(argv, environ={}).options) is single_type


@pytest.mark.parametrize(
    ("argv", "fleet_mode"),
    [
        (["render", "-p", "ebs-gp2-rwo"], False),
        (["render"], True),
        (["plan", "-p", "ebs-gp2-rwo", "--snapshot", "s.yaml"], False),
        (["plan"], True),
        (["apply", "plan.json"], False),
        (["apply"], True),
        (["status"], True),
        (["status", "--context", "c"], False),
        (["golden", "--check"], True),
        (["snapshot"], True),
        (["status", "--no-workspace"], False),
        (["apply", "--no-workspace", "-p", "ebs-gp2-rwo"], False),
        (["plan", "--no-workspace", "-p", "ebs-gp2-rwo"], False),
    ],
)
def test_inside_a_workspace(tmp_path: Path, in_dir: Any, argv: list[str], fleet_mode: bool) -> None:
    (tmp_path / "regplan.yaml").write_text("clusters: []\n")
    (tmp_path / "sub").mkdir()
    in_dir(tmp_path / "sub")
    assert isinstance(cli.parse(argv, environ={}).options, commands.FleetOptions) is fleet_mode


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["plan", "-p", "x", "--cluster", "a"], "-p/--profile is for one cluster"),
        (["status", "--context", "c", "-l", "env=prod"], "--context is for one cluster"),
        (["apply", "plan.json", "--plan-dir", "d"], "PLANFILE is for one cluster"),
        (
            ["render", "--workspace", "w.yaml", "--set", "replicas=1"],
            "-f/--set/--set-string go with -p PROFILE",
        ),
        (["plan", "--workspace", "w", "--parallelism", "0"], "must be at least 1"),
        (["status", "--no-workspace", "--cluster", "a"], "--no-workspace is for one cluster"),
        (["plan", "--no-workspace"], "required: -p/--profile"),
        (["render", "--no-workspace"], "required: -p/--profile"),
        (["snapshot", "--no-workspace"], "no such option '--no-workspace'"),
        (["plan", "--workspace", "w.yaml", "--set-string", "s3.bucket=1"], "--set-string go with -p PROFILE"),
        (["apply", "--workspace", "w.yaml", "-f", "v.yaml"], "go with -p PROFILE"),
    ],
)
def test_usage_errors(tmp_path: Path, in_dir: Any, argv: list[str], phrase: str) -> None:
    in_dir(tmp_path)
    with pytest.raises(InvalidInput, match=phrase):
        cli.parse(argv, environ={})


def test_the_mode_is_said_when_a_found_workspace_decides_it(tmp_path: Path) -> None:
    """`regplan plan` in a repository of clusters runs over them, and says so first (stderr); asked for
    with --workspace it needs no note; --no-workspace is one cluster, as outside (here: no kubeconfig)."""
    shutil.copytree(EXAMPLE, tmp_path / "ws")
    ws = tmp_path / "ws"
    (ws / "sub").mkdir()
    found = run("plan", "--snapshot-dir", "snapshots", cwd=ws)  # a selection flag: workspace, found
    note = (
        "regplan: using workspace regplan.yaml (4 cluster(s)); pass --no-workspace (or -p/--context) for one"
    )
    assert found.returncode == 0 and found.stderr.startswith(note), found.stderr
    picked = run("status", "--snapshot-dir", "../snapshots", "-l", "env=prod", cwd=ws / "sub")
    assert picked.stderr.startswith("regplan: using workspace ../regplan.yaml (2 of 4 cluster(s));"), (
        picked.stderr
    )
    implicit = run("status", cwd=ws, env={"KUBECONFIG": str(tmp_path / "none")})
    assert implicit.returncode == 3 and implicit.stderr.startswith(note), implicit.stderr
    asked = run("plan", "--workspace", "regplan.yaml", "--snapshot-dir", "snapshots", cwd=ws)
    assert asked.returncode == 0 and "using workspace" not in asked.stderr
    single = run("status", "--no-workspace", cwd=ws, env={"KUBECONFIG": str(tmp_path / "none")})
    assert single.returncode == 4 and "kubeconfig not found" in single.stderr, single.stderr
    assert "using workspace" not in single.stderr


def test_fleet_apply_without_a_terminal_needs_yes_and_contacts_nothing(tmp_path: Path) -> None:
    (tmp_path / "regplan.yaml").write_text(
        "clusters:\n  - {name: a, profile: ebs-gp2-rwo, kubeconfig: nope}\n"
    )
    p = run("apply", cwd=tmp_path)
    assert p.returncode == 3 and "pass --yes (nothing was written)" in p.stderr


def test_missing_context_is_exit_3_with_the_workspace_line(tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\ncontexts: [{name: prod}]\n")
    (tmp_path / "regplan.yaml").write_text(
        "defaults: {profile: ebs-gp2-rwo, kubeconfig: kubeconfig}\n"
        "clusters:\n  - name: a\n    context: prod\n  - name: b\n    context: stage\n"
    )
    for argv in (["plan"], ["status"], ["snapshot"], ["apply", "--yes"]):
        p = run(*argv, cwd=tmp_path)
        assert p.returncode == 3, (argv, p.stderr)
        assert (
            f"{tmp_path / 'regplan.yaml'}:6: cluster b: context 'stage' is not in the kubeconfig" in p.stderr
        )
    assert run("render", cwd=tmp_path).returncode == 3  # target auto without snapshot: but no context check
    assert "is not in the kubeconfig" not in run("render", cwd=tmp_path).stderr


def test_apply_plan_dir_refuses_plans_of_unknown_clusters(tmp_path: Path) -> None:
    (tmp_path / "regplan.yaml").write_text("clusters:\n  - {name: a, profile: ebs-gp2-rwo}\n")
    (tmp_path / "kubeconfig").write_text("contexts: [{name: a}]\n")
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "zz.json").write_text("{}")
    p = run("apply", "--plan-dir", "plans", "--yes", "--kubeconfig", "kubeconfig", cwd=tmp_path)
    assert p.returncode == 3 and "plans for clusters not in" in p.stderr and "zz" in p.stderr


def test_no_secret_value_in_any_fleet_output(tmp_path: Path) -> None:
    ws = s3_workspace(tmp_path)
    (ws / "keys").mkdir()
    (ws / "keys" / "secret").write_text(SECRET + "\n")  # values/s3.yaml names file:../keys/secret
    (ws / "snapshots").mkdir()
    shutil.copy(EXAMPLE / "snapshots" / "prod-eu.yaml", ws / "snapshots" / "s3-prod.yaml")
    env = {"FLEET_AWS_ACCESS": ACCESS}
    seen = ""
    for output in ("text", "json", "yaml", "markdown"):
        p = run("plan", "--cluster", "s3-prod", "--snapshot-dir", "snapshots", "-o", output, "--out", "plans",
                cwd=ws, env=env)  # fmt: skip
        assert p.returncode == 0, p.stderr
        seen += p.stdout + p.stderr
    assert "image-registry-private-configuration-user" in seen  # the Secret is planned...
    seen += (ws / "plans" / "s3-prod.json").read_text()
    for value in (ACCESS, SECRET, b64(ACCESS), b64(SECRET)):
        assert value not in seen  # ...without its values


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["plan", "--workspace", "nope.yaml"], "--workspace nope.yaml: no such file"),
        (["status", "--cluster", "a"], "no regplan.yaml in"),
        (["snapshot"], "no regplan.yaml in"),
        (["golden", "--check"], "golden: no regplan.yaml here or in a parent directory"),
    ],
)
def test_no_workspace_is_exit_3(tmp_path: Path, argv: list[str], phrase: str) -> None:
    p = run(*argv, cwd=tmp_path)
    assert p.returncode == 3 and phrase in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("target", ["ocp4", "ocp3"])
def test_a_one_cluster_plan_against_a_recorded_snapshot_compares_secrets_by_digest(
    tmp_path: Path, target: str
) -> None:
    """A snapshot holds Secret values as digests; `plan -p --snapshot FILE` (one cluster) must compare them
    as the workspace's `--snapshot-dir` does: the same keys are no change, another key is a change, and
    neither value appears in the output."""
    from regplan.core import render, values

    env = {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET}
    vals_file = ROOT / "examples" / "values" / "aws-s3.yaml"
    vals = values.load_values("aws-s3", files=[vals_file], sets=[], profiles_dir=None, environ=env)
    applied = render.render(vals, Target(target)).objects
    snap = tmp_path / "snap.yaml"
    snap.write_text(recording.snapshot_text([recording.redact(o) for o in applied], "# test"))
    argv = ("plan", "-p", "aws-s3", "-f", str(vals_file), "--target", target, "--snapshot", str(snap))
    same = run(*argv, "--detailed-exitcode", "-o", "json", cwd=tmp_path, env=env)
    assert same.returncode == 0, same.stdout + same.stderr
    other = run(
        *argv, "--detailed-exitcode", cwd=tmp_path, env={**env, "AWS_SECRET_ACCESS_KEY": "rotated/key+0"}
    )
    assert other.returncode == 2, other.stdout + other.stderr
    for p in (same, other):
        assert SECRET not in p.stdout + p.stderr and "rotated/key+0" not in p.stdout + p.stderr


@pytest.mark.parametrize(("cluster", "target"), [("s3-prod", "ocp4"), ("legacy-s3", "ocp3")])
def test_a_workspace_plan_against_recorded_snapshots_compares_secrets_by_digest(
    tmp_path: Path, cluster: str, target: str
) -> None:
    """`plan --snapshot-dir`: the same as the one-cluster case above, through a workspace entry (values file,
    `env:` and `file:` key sources): the same keys are no change, a rotated key is a change, never shown."""
    from regplan.core import render, values

    ws = s3_workspace(tmp_path)
    (ws / "keys").mkdir()
    (ws / "keys" / "secret").write_text(SECRET + "\n")
    env = {"FLEET_AWS_ACCESS": ACCESS}
    vals = values.load_values(
        "aws-s3", files=[ws / "values" / "s3.yaml"], sets=[], profiles_dir=None, environ=env
    )
    applied = render.render(vals, Target(target)).objects
    (ws / "snapshots").mkdir()
    (ws / "snapshots" / f"{cluster}.yaml").write_text(
        recording.snapshot_text([recording.redact(o) for o in applied], "# test")
    )
    argv = ("plan", "--cluster", cluster, "--snapshot-dir", "snapshots", "--detailed-exitcode")
    same = run(*argv, cwd=ws, env=env)
    assert same.returncode == 0, same.stdout + same.stderr
    (ws / "keys" / "secret").write_text("rotated/key+0\n")
    other = run(*argv, cwd=ws, env=env)
    assert other.returncode == 2, other.stdout + other.stderr
    for p in (same, other):
        assert SECRET not in p.stdout + p.stderr and "rotated/key+0" not in p.stdout + p.stderr
