"""The outside check: regplan run as a user would, from a scratch directory, with hostile input.

Each test is a defect found by trying the released commands from outside the repository (issues 16, 17,
19), written before its fix: the command line is the interface (``python -m regplan`` in a temporary
directory), the assertions are the documented contract (README exit-code table, one message, nothing
written on error, no secret in any output but ``render``'s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from regplan.base import normalize

ROOT = Path(__file__).resolve().parents[2]
PENDING = ROOT / "examples" / "snapshots" / "ocp4-pvc-pending.yaml"

# Secret-looking text placed where regplan might quote it, and the markers that must never come back out.
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAsecretbody\n-----END RSA PRIVATE KEY-----"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AZURE = "A" * 40 + "zureAccountKey" + "B" * 32 + "=="
LEAKS = ("MIIEpAIBAAKCAQEAsecretbody", AWS_ID, "zureAccountKey", "wJalrXUtnFEMIK7MDENG")
HOSTILE = (
    f"S3 said: access key {AWS_ID} denied; dumped REGISTRY_STORAGE_S3_SECRETKEY=wJalrXUtnFEMIK7MDENG "
    f"and {PEM} and AccountKey={AZURE};x \x1b]0;title\x07 </details>"
)


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "regplan", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def assert_no_leak(text: str, where: str) -> None:
    for marker in LEAKS:
        assert marker not in text, f"{where} quotes {marker!r}"
    assert "Traceback" not in text, where
    assert "\x1b" not in text, where


def hostile_snapshot(tmp_path: Path) -> Path:
    """The README's classic case with an Event and the operator's conditions quoting key material."""
    doc = yaml.safe_load(PENDING.read_text())
    for item in doc["items"]:
        if item["kind"] == "Event":
            item["message"] = HOSTILE
        if item["kind"] == "Config":
            for c in item["status"]["conditions"]:
                c["message"] = HOSTILE
                if c["type"] == "Degraded":  # verify quotes a degraded operator's message
                    c.update(status="True", reason="Error")
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


# --- secrets quoted in free text: every channel that shows or saves it ---------------------------------


@pytest.mark.parametrize(
    "text",
    [
        PEM,
        PEM.split("\n-----END")[0],  # a message cut in the middle of the key
        f"The AWS Access Key Id {AWS_ID} does not exist",
        f"AccountKey={AZURE};EndpointSuffix=core.windows.net",
        f"key {AZURE} end",
        "REGISTRY_STORAGE_S3_SECRETKEY=wJalrXUtnFEMIK7MDENG next",
        '{"secretkey": "wJalrXUtnFEMIK7MDENG"}',
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEpAIBAAKCAQEAsecretbody"}',
    ],
)
def test_redact_text_removes_key_material(text: str) -> None:
    out = normalize.redact_text(text)
    assert normalize.REDACTED in out
    for marker in LEAKS:
        assert marker not in out


@pytest.mark.parametrize(
    "text",
    [
        'Failed to provision volume with StorageClass "gp2": invalid AccessModes [ReadWriteMany]: only '
        "AccessModes [ReadWriteOnce] are supported",
        "InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.",
        'secrets "image-registry-private-configuration-user" not found',
        "the secret: missing",
        "REGISTRY_STORAGE_S3_SECRETKEY (value changed)",
    ],
)
def test_redact_text_keeps_ordinary_messages(text: str) -> None:
    assert normalize.redact_text(text) == text


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["status", "-o", "json"],
        ["status", "-o", "yaml"],
        ["plan", "-p", "ebs-gp2-rwo"],
        ["plan", "-p", "ebs-gp2-rwo", "-o", "json"],
        ["plan", "-p", "ebs-gp2-rwo", "-o", "yaml"],
        ["verify", "-p", "ebs-gp2-rwo"],
        ["verify", "-p", "ebs-gp2-rwo", "-o", "json"],
    ],
)
def test_cluster_text_quoting_a_secret_is_redacted(tmp_path: Path, args: list[str]) -> None:
    snap = hostile_snapshot(tmp_path)
    r = run(*args, "--snapshot", str(snap), cwd=tmp_path)
    assert r.returncode in (0, 2), r.stderr
    assert normalize.REDACTED in r.stdout
    assert_no_leak(r.stdout + r.stderr, " ".join(args))


def test_saved_plan_and_its_views_hold_no_quoted_secret(tmp_path: Path) -> None:
    snap = hostile_snapshot(tmp_path)
    r = run("plan", "-p", "ebs-gp2-rwo", "--snapshot", str(snap), "--out", "plan.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_no_leak((tmp_path / "plan.json").read_text(), "plan file")
    for fmt in ("text", "json", "markdown"):
        shown = run("show", "plan.json", "-o", fmt, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert_no_leak(shown.stdout + shown.stderr, f"show -o {fmt}")


def test_hand_edited_plan_file_cannot_smuggle_a_secret_into_show(tmp_path: Path) -> None:
    r = run("plan", "-p", "ebs-gp2-rwo", "--snapshot", str(PENDING), "--out", "plan.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "plan.json").read_text())
    doc["diagnostics"].append(
        {"severity": "warning", "key": "x", "message": HOSTILE, "origin": PEM, "hint": f"use {AWS_ID}"}
    )
    doc["values"]["data"].setdefault("s3", {})["secretKey"] = "wJalrXUtnFEMIK7MDENG"
    doc["values"]["data"]["claim"]["password"] = "wJalrXUtnFEMIK7MDENG"
    doc["values"]["data"]["claim"]["name"] = PEM
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    for fmt in ("text", "json", "markdown"):
        shown = run("show", "edited.json", "-o", fmt, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert_no_leak(shown.stdout + shown.stderr, f"show -o {fmt}")
    # the record regplan itself writes is shown unchanged (sources are not secrets)
    original = run("show", "plan.json", "-o", "json", cwd=tmp_path)
    assert json.loads(original.stdout)["values"] == json.loads((tmp_path / "plan.json").read_text())["values"]


def test_recorded_snapshot_redacts_key_material_in_messages() -> None:
    from regplan.engine import recording

    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "message": HOSTILE}
    config = {
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": "cluster"},
        "status": {"conditions": [{"type": "Degraded", "message": HOSTILE}]},
    }
    text = json.dumps([recording.redact(event), recording.redact(config)])
    for marker in LEAKS:
        assert marker not in text


# --- a claim that never bound: no channel calls its replace destructive ---------------------------------


def test_markdown_does_not_call_a_never_bound_claim_destructive(tmp_path: Path) -> None:
    r = run("plan", "-p", "ebs-gp2-rwo", "--snapshot", str(PENDING), "--out", "plan.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "0 destructive" in r.stdout
    md = run("show", "plan.json", "-o", "markdown", cwd=tmp_path).stdout
    row = next(line for line in md.splitlines() if "PersistentVolumeClaim/" in line and line.startswith("|"))
    assert "replace" in row
    assert "destructive" not in row.split("|")[3], row
    assert "[!WARNING]" not in md


def test_markdown_still_marks_a_bound_claim_destructive() -> None:
    from regplan.base.model import Ref, Target
    from regplan.engine.planvalue import Action, ObjectChange, Plan
    from regplan.present import views

    ref = Ref("v1", "PersistentVolumeClaim", "openshift-image-registry", "image-registry-storage")
    change = ObjectChange(ref, Action.REPLACE, "spec.accessModes is immutable", True, (), ())
    md = views.plan_markdown(Plan("ebs-gp2-rwo", Target.OCP4, "", "test", [change]))
    assert "**replace (destructive)**" in md
    assert "[!WARNING]" in md


def test_replace_refusal_does_not_ask_to_copy_data_that_does_not_exist() -> None:
    from regplan.base.model import Ref, Target
    from regplan.engine import apply
    from regplan.engine.planvalue import Action, ObjectChange, Plan

    ref = Ref("v1", "PersistentVolumeClaim", "openshift-image-registry", "image-registry-storage")

    def refusal(destructive: bool) -> str:
        change = ObjectChange(ref, Action.REPLACE, "never bound", destructive, (), ())
        err = apply.refusals(Plan("p", Target.OCP4, "", "test", [change]), allow_replace=False)
        assert err is not None and err.exit_code == 6
        return str(err)

    assert "Copy the data first" not in refusal(False)
    assert "--allow-replace" in refusal(False)
    assert "Copy the data first" in refusal(True)


# --- a workspace file cannot point regplan's writes or reads outside the workspace ----------------------


@pytest.mark.parametrize("key", ["renderDir", "snapshotDir", "profilesDir"])
@pytest.mark.parametrize("where", ["../outside", "{outside}", "rendered/../..", "inside-link"])
def test_workspace_dirs_stay_inside_the_workspace(tmp_path: Path, key: str, where: str) -> None:
    ws = tmp_path / "ws"
    outside = tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("not regplan's\n")
    (ws / "inside-link").symlink_to(outside)
    value = where.format(outside=outside)
    (ws / "regplan.yaml").write_text(
        f"{key}: {value}\nclusters:\n  - name: dev\n    profile: ebs-gp2-rwo\n    target: ocp4\n"
    )
    r = run("render", cwd=ws)
    assert r.returncode == 3, r.stderr
    assert f"regplan.yaml:1: {key}:" in r.stderr
    assert "outside the workspace" in r.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert not (ws / "rendered").exists()


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
@pytest.mark.parametrize("command", [["render"], ["golden", "--check"], ["argocd-generate"]])
def test_a_workspace_profile_that_links_out_of_the_workspace_is_refused(
    tmp_path: Path, suffix: str, command: list[str]
) -> None:
    """The workspace's profilesDir lies inside it, and so must every profile in it: one that is a symlink
    to a file elsewhere on the CI runner or the Argo CD repo server was read as the repository's own and
    what it held rendered into the tree (the outside check of issue 16)."""
    ws = tmp_path / "ws"
    (ws / "profiles").mkdir(parents=True)
    outside = tmp_path / "outside.yaml"
    outside.write_text(
        "description: not the repository's\nvalues: {replicas: 1, rolloutStrategy: Recreate, claim: "
        "{name: leaked, size: 1Gi, storageClass: gp2, accessMode: ReadWriteOnce}}\n"
    )
    (ws / "profiles" / f"sneaky{suffix}").symlink_to(outside)
    (ws / "regplan.yaml").write_text(
        "profilesDir: profiles\nclusters:\n  - name: dev\n    profile: sneaky\n    target: ocp4\n"
    )
    r = run(*command, cwd=ws, env={"ARGOCD_ENV_REGPLAN_CLUSTER": "dev"})
    assert r.returncode == 3, r.stderr
    assert f"regplan.yaml:1: profilesDir: sneaky{suffix}: outside the workspace" in r.stderr
    assert "leaked" not in r.stdout + r.stderr
    assert not (ws / "rendered").exists()
    # the command line's --profiles-dir may point anywhere (the user's own choice)
    assert run("render", "--profiles-dir", "profiles", cwd=ws).returncode == 0


def test_workspace_dirs_inside_the_workspace_still_work(tmp_path: Path) -> None:
    (tmp_path / "regplan.yaml").write_text(
        "renderDir: out/rendered\nsnapshotDir: snaps\n"
        "clusters:\n  - name: dev\n    profile: ebs-gp2-rwo\n    target: ocp4\n"
    )
    r = run("render", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "rendered" / "dev" / "kustomization.yaml").is_file()


# --- text from programs regplan runs but did not write: the client's exec credential plugin -------------


def test_exec_plugin_stderr_reaches_the_terminal_escaped(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"#!/bin/sh\nprintf '\\033]0;PWNED\\007\\033[2J{AWS_ID} failed' >&2\nexit 1\n")
    plugin.chmod(0o755)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
                "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [
                    {
                        "name": "u",
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1",
                                "command": str(plugin),
                                "interactiveMode": "Never",
                            }
                        },
                    }
                ],
            }
        )
    )
    r = run("status", "--no-workspace", "--kubeconfig", str(kubeconfig), cwd=tmp_path)
    assert r.returncode == 4, r.stderr
    assert_no_leak(r.stderr, "status with a failing exec plugin")
    assert "ERROR:root" not in r.stderr
    assert all(line.startswith("regplan: ") for line in r.stderr.splitlines()), r.stderr
    # the standard-library transport never shows a plugin's stderr (it may hold a token): it says so
    assert "PWNED" not in r.stderr and "its error output (41 bytes) is not shown" in r.stderr


# --- a live DeploymentConfig regplan cannot key by name: its env is masked, not printed -----------------


def ocp3_snapshot_with_env(tmp_path: Path, extra_env: list[dict[str, str]]) -> Path:
    doc = yaml.safe_load((ROOT / "examples" / "snapshots" / "ocp3-emptydir.yaml").read_text())
    for item in doc["items"]:
        if item["kind"] == "DeploymentConfig":
            item["spec"]["template"]["spec"]["containers"][0]["env"].extend(extra_env)
    path = tmp_path / "ocp3.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("fmt", ["text", "json", "yaml"])
def test_env_with_a_duplicate_name_does_not_print_its_secrets(tmp_path: Path, fmt: str) -> None:
    snap = ocp3_snapshot_with_env(
        tmp_path,
        [
            {"name": "REGISTRY_STORAGE_S3_SECRETKEY", "value": "wJalrXUtnFEMIK7MDENG"},
            {"name": "REGISTRY_OPENSHIFT_SERVER_ADDR", "value": "twice"},  # a second of this name
        ],
    )
    args = ["-p", "aws-s3", "--target", "ocp3", "--set", "s3.bucket=bbbb,s3.region=us-east-1"]
    r = run("plan", *args, "--snapshot", str(snap), "-o", fmt, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_no_leak(r.stdout + r.stderr, f"plan -o {fmt}")
    assert "c2VjcmV0LXJlcGxhY2VkLWJ5LXRoZS1yZWNvcmRlcg==" not in r.stdout  # REGISTRY_HTTP_SECRET


def test_env_value_that_is_an_aws_key_id_is_redacted_whatever_its_name(tmp_path: Path) -> None:
    snap = ocp3_snapshot_with_env(tmp_path, [{"name": "REGISTRY_MIDDLEWARE_X", "value": AWS_ID}])
    for fmt in ("text", "json"):
        r = run("status", "--snapshot", str(snap), "-o", fmt, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert_no_leak(r.stdout, f"status -o {fmt}")
    assert normalize.secret_env("REGISTRY_MIDDLEWARE_X", AWS_ID)
    assert not normalize.secret_env("REGISTRY_OPENSHIFT_SERVER_ADDR", "docker-registry.default.svc:5000")


# --- a secret pasted under the wrong key is not echoed back by the message that refuses it --------------


@pytest.mark.parametrize(
    "key", ["s3.bucket", "s3.region", "s3.keyID", "s3.regionEndpoint", "claim.name", "rolloutStrategy"]
)
@pytest.mark.parametrize("pasted", [AWS_ID, PEM.replace("\n", ""), f"AccountKey={AZURE}"])
def test_value_error_does_not_echo_key_material(tmp_path: Path, key: str, pasted: str) -> None:
    r = run("render", "-p", "aws-s3", "--set-string", f"{key}={pasted}", cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    assert key in r.stderr
    assert_no_leak(r.stderr, f"--set-string {key}=...")


def test_argocd_parameter_error_does_not_echo_key_material(tmp_path: Path) -> None:
    (tmp_path / "regplan.yaml").write_text("clusters:\n  - name: dev\n    profile: ebs-gp2-rwo\n")
    r = run("argocd-generate", cwd=tmp_path, env={"ARGOCD_ENV_REGPLAN_CLUSTER": AWS_ID})
    assert r.returncode == 3, r.stderr
    assert "ARGOCD_ENV_REGPLAN_CLUSTER" in r.stderr
    assert_no_leak(r.stderr, "argocd-generate")


# --- a workspace file someone else owns, found in a shared parent, is not used implicitly ---------------


ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0
WORKSPACE = "clusters:\n  - name: dev\n    profile: ebs-gp2-rwo\n    target: ocp4\n"


@pytest.mark.skipif(not ROOT_USER, reason="chown to another user needs root")
def test_foreign_workspace_file_in_a_parent_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "work").mkdir(parents=True)
    ws = shared / "regplan.yaml"
    ws.write_text(WORKSPACE)
    os.chown(ws, 4242, 4242)
    r = run("render", cwd=shared / "work")
    assert r.returncode == 3, r.stderr
    assert "owned by uid 4242" in r.stderr and "--workspace" in r.stderr
    assert not (shared / "rendered").exists()
    # named on purpose, it is used; one cluster ignores it
    assert run("render", "--workspace", str(ws), cwd=shared / "work").returncode == 0
    assert run("render", "-p", "ebs-gp2-rwo", cwd=shared / "work").returncode == 0


def test_own_workspace_file_in_a_parent_is_used(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "regplan.yaml").write_text(WORKSPACE)
    r = run("render", cwd=tmp_path / "sub")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rendered" / "dev" / "kustomization.yaml").is_file()


@pytest.mark.parametrize(
    "text",
    [
        "secret" * 160_000,  # an unbounded name pattern backtracked quadratically here (15 s at 96 KB)
        "password_" * 100_000 + "=x",
        '"secretkey": "' * 50_000,
        "-----BEGIN PRIVATE KEY-----" * 100_000,
        "A" * 1_000_000,
        "AKIA" * 250_000,
    ],
)
def test_redact_text_is_linear_on_hostile_text(text: str) -> None:
    import time

    started = time.perf_counter()
    normalize.redact_text(text)
    assert time.perf_counter() - started < 2.0
