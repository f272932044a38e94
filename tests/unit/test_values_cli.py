"""The values options end to end, as a user types them (issue 19 items 1-5): `-f -` from a real pipe (also
an endless one), `-f a,b`, helm's --set forms and their exit codes. Runs the CLI as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: IO[Any] | int | None = subprocess.DEVNULL, data: str | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "regplan.cli.app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=60,
        **({"input": data} if data is not None else {"stdin": stdin}),
    )


def pvc(stdout: str) -> dict[str, Any]:
    return next(d for d in yaml.safe_load_all(stdout) if d and d["kind"] == "PersistentVolumeClaim")


def test_values_from_a_pipe() -> None:
    p = run("render", "-p", "ebs-gp2-rwo", "-f", "-", data="claim:\n  size: 7Gi\n")
    assert p.returncode == 0, p.stderr
    assert pvc(p.stdout)["spec"]["resources"]["requests"]["storage"] == "7Gi"


def test_an_endless_pipe_is_refused_after_the_bound() -> None:
    with open("/dev/zero", "rb") as zero:
        p = run("render", "-p", "ebs-gp2-rwo", "-f", "-", stdin=zero)
    assert p.returncode == 3 and "(stdin): refused: larger than 262144 bytes" in p.stderr


def test_comma_separated_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("claim: {size: 8Gi}\n")
    (tmp_path / "b.yaml").write_text("claim: {name: other}\n")
    p = run("render", "-p", "ebs-gp2-rwo", "-f", f"{tmp_path}/a.yaml,{tmp_path}/b.yaml")
    assert p.returncode == 0, p.stderr
    claim = pvc(p.stdout)
    assert claim["metadata"]["name"] == "other" and claim["spec"]["resources"]["requests"]["storage"] == "8Gi"


@pytest.mark.parametrize(
    ("args", "code", "phrase"),
    [
        (["-p", "cephfs-rwx", "--set", 'claim.storageClass=""'], 0, ""),
        (["-p", "cephfs-rwx", "--set", "claim.accessModes={ReadWriteMany,ReadWriteOnce}"], 3, "KEY={a,b}"),
        (["-p", "cephfs-rwx", "--set", "claim.accessMode[0]=ReadWriteMany"], 3, "KEY[N]=VALUE"),
        (["-p", "cephfs-rwx", "--set", "claim.storageClass=null"], 3, "claim.storageClass (--set): is"),
        (["-p", "cephfs-rwx", "--set", "claim.name=registry\n"], 3, r"'registry\u000a' is not valid"),
        (
            ["-p", "aws-s3", "--target", "ocp3", "--set", "s3.bucket=acme,s3.region=us-east-1",
             "--set", "s3.virtualHostedStyle=true"],
            3,
            "s3.virtualHostedStyle (--set): does not apply to target ocp3",
        ),
        (["-p", "aws-s3", "--set", "wJalrXUtnFEMI/K7MDENG"], 3, "the text is not shown"),
    ],
)  # fmt: skip
def test_set_forms_and_exit_codes(args: list[str], code: int, phrase: str) -> None:
    p = run("render", *args)
    assert p.returncode == code, p.stderr
    assert phrase in p.stderr and "Traceback" not in p.stderr and "wJalr" not in p.stderr


# --- the workspace file's messages (issue 19 items 14-16, issue 16's silent acceptance) ------------------


def workspace_run(tmp_path: Path, text: str, *args: str) -> Any:
    ws = tmp_path / "regplan.yaml"
    ws.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "regplan.cli.app", "render", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("entries", "where", "phrase"),
    [
        ("  - name: a\n    set: [claim.sise=1Gi]\n", ":6", "claim.sise"),
        ("  - name: a\n  - name:\n", ":6: clusters[1]: name: empty", ""),
        ('  - name: a\n    set: ["s3.accessKeyFrom=env:KEY\\n"]\n', ":6: set: entry 1: a line break", ""),
        ('  - name: a\n    set: ["s3.accessKeyFrom=env:KEY-X,s3.secretKeyFrom=env:B"]\n', ":6", "env: must"),
        (
            '  - name: a\n    set: ["s3.secretKey: wJalrXUtnFEMI"]\n',
            ":6: cluster a: set, item 1",
            "not shown",
        ),
    ],
)
def test_workspace_problems_name_the_file_and_line(
    tmp_path: Path, entries: str, where: str, phrase: str
) -> None:
    text = "defaults:\n  profile: ebs-gp2-rwo\n  target: ocp4\nclusters:\n" + entries
    p = workspace_run(tmp_path, text)
    assert p.returncode == 3, p.stderr
    assert f"regplan.yaml{where}" in p.stderr and phrase in p.stderr, p.stderr
    assert "wJalr" not in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "rendered").exists()


def test_an_unknown_cluster_gets_a_few_suggestions(tmp_path: Path) -> None:
    names = [f"prod-eu-{i:04d}" for i in range(1000)]
    text = "defaults: {profile: ebs-gp2-rwo, target: ocp4}\nclusters:\n" + "".join(
        f"  - name: {n}\n" for n in names
    )
    p = workspace_run(tmp_path, text, "--cluster", "prod-eu-00x1")
    assert p.returncode == 3 and "did you mean one of" in p.stderr and "it lists 1000 clusters" in p.stderr
    assert len(p.stderr) < 400, p.stderr
