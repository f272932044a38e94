"""The offline commands through the real entry point: exit codes, stdout/stderr, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regplan.cli.app", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_profiles_lists_all_four() -> None:
    p = run("profiles")
    assert p.returncode == 0
    names = [line.split()[0] for line in p.stdout.splitlines()]
    assert names == ["aws-s3", "cephfs-rwx", "ebs-gp2-rwo", "glusterfs"]


def test_render_yaml_parses_as_objects() -> None:
    p = run("render", "-p", "glusterfs", "--target", "ocp3")
    assert p.returncode == 0, p.stderr
    docs = list(yaml.safe_load_all(p.stdout))
    assert [d["kind"] for d in docs] == ["Secret", "PersistentVolumeClaim", "DeploymentConfig"]


def test_validate_ok_goes_to_stderr() -> None:
    p = run("validate", "-p", "cephfs-rwx")
    assert (p.returncode, p.stdout) == (0, "")
    assert "valid" in p.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["render", "-p", "ebs-gp2-rwo", "--set", "replicas=2"], "rwo-replicas"),
        (["validate", "-p", "ebs-gp2-rwo", "--set", "claim.accessMode=ReadWriteMany"], "ebs-rwx"),
        (["render", "-p", "aws-s3", "--set", "s3.accessKey=AKIAVERYSECRET"], "literal secret is refused"),
        (["render", "-p", "nope"], "unknown profile"),
        (["render", "-p", "aws-s3", "--target", "ocp9"], "--target"),
        (["render", "-p", "aws-s3", "-o", "toml"], "--output"),
        (["render", "-p", "aws-s3", "-f", "/nonexistent.yaml"], "/nonexistent.yaml"),
        (["render"], "required: -p/--profile"),
        (["render", "-p", "aws-s3", "--bogus"], "no such option '--bogus'"),
        (["golden"], "one of the arguments --check --update is required"),
    ],
)
def test_expected_errors_exit_3_without_traceback(args: list[str], fragment: str) -> None:
    p = run(*args)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert fragment in p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    assert p.stdout == ""  # no partial output
    assert "AKIAVERYSECRET" not in p.stderr


def test_all_problems_reported_with_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "v.yaml"
    f.write_text("replicas: 3\nclaim:\n  size: huge\n")
    p = run("validate", "-p", "ebs-gp2-rwo", "-f", str(f))
    assert p.returncode == 3
    assert f"replicas ({f}:1)" in p.stderr and f"claim.size ({f}:3)" in p.stderr


def test_secret_from_env_rendered_only_by_render(tmp_path: Path) -> None:
    env = {"RP_AK": "AKIDEXAMPLEONLY", "RP_SK": "fake/secret+key"}
    sets = ["--set", "s3.accessKeyFrom=env:RP_AK", "--set", "s3.secretKeyFrom=env:RP_SK"]
    p = run("render", "-p", "aws-s3", *sets, env=env)
    assert p.returncode == 0
    assert "QUtJREVYQU1QTEVPTkxZ" in p.stdout  # base64 of the access key: exporting it is render's job
    oc = run("render", "-p", "aws-s3", *sets, "-o", "oc", env=env)
    assert oc.returncode == 0 and "AKIDEXAMPLEONLY" not in oc.stdout and "QUtJREVY" not in oc.stdout
    assert "regplan_key accessKey env:RP_AK\n" in oc.stdout  # read when the script runs, never a literal
    bad = run("validate", "-p", "aws-s3", "--set", "s3.accessKeyFrom=env:RP_AK", env=env)
    assert bad.returncode == 3 and "AKIDEXAMPLEONLY" not in bad.stderr


def test_out_dir(tmp_path: Path) -> None:
    p = run("render", "-p", "ebs-gp2-rwo", "--out-dir", str(tmp_path / "out"))
    assert p.returncode == 0 and p.stdout == ""
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == [
        "01-persistentvolumeclaim-image-registry-storage.yaml",
        "02-config-cluster.yaml",
        "kustomization.yaml",
    ]


