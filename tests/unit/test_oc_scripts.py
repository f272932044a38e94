"""The `render -o oc` scripts as users run them: twice in a row, after a failure, from another directory.

They run under bash against tests/unit/fake_oc.py (the subset of oc they use, on a JSON state file), for
every golden `.oc.sh` file: what reviewers read is what is run here.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from regplan.base.model import Target
from regplan.core import render, values
from regplan.present import output
from tools import scenarios

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "golden" / "render").rglob("*.oc.sh"))

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


def bin_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    oc = d / "oc"
    oc.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "tests/unit/fake_oc.py"} "$@"\n')
    oc.chmod(0o755)
    return d


def run_script(
    script: Path | str,
    tmp_path: Path,
    *,
    fail: str = "",
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], str]:
    state = tmp_path / "state.json"
    environ = {
        **os.environ,
        **scenarios.FAKE_ENV,
        **(env or {}),
        "PATH": f"{bin_dir(tmp_path)}:{os.environ['PATH']}",
        "FAKE_OC_STATE": str(state),
        "FAKE_OC_FAIL": fail,
    }
    args = ["bash", str(script)] if isinstance(script, Path) else ["bash", "-c", script]
    p = subprocess.run(args, capture_output=True, text=True, env=environ, cwd=cwd or tmp_path, timeout=60)
    return p.returncode, json.loads(state.read_text()) if state.exists() else {}, p.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT / "golden" / "render")))
def test_runs_twice_with_the_same_result(script: Path, tmp_path: Path) -> None:
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    code, first, err = run_script(script, tmp_path)
    assert code == 0, err
    code, second, err = run_script(script, tmp_path)
    assert code == 0, err
    assert second == first
    if "/ocp3/" in str(script):
        assert first["dc"]["paused"] is False  # resumed at the end
        assert first["dc"]["volumes"]["registry-config"]["mount"] == "/etc/registryconfig"


@pytest.mark.parametrize(
    "script", [s for s in SCRIPTS if "/ocp3/" in str(s)], ids=lambda p: str(p.relative_to(ROOT / "golden"))
)
@pytest.mark.parametrize("failing", ["set env", "set volume", "patch dc/docker-registry"])
def test_ocp3_failure_after_pause_resumes_the_rollout(script: Path, failing: str, tmp_path: Path) -> None:
    code, state, _ = run_script(script, tmp_path, fail=failing)
    assert code != 0
    assert state["dc"]["paused"] is False
    calls = (tmp_path / "state.json.log").read_text().splitlines()
    assert any("rollout pause" in c for c in calls) and "rollout resume" in calls[-1]


def test_a_dc_paused_before_stays_paused(tmp_path: Path) -> None:
    script = next(s for s in SCRIPTS if "/ocp3/" in str(s))
    (tmp_path / "state.json").write_text(
        json.dumps({"dc": {"paused": True, "volumes": {}, "env": {}, "spec": {}}})
    )
    code, state, err = run_script(script, tmp_path)
    assert code == 0 and state["dc"]["paused"] is True and "already paused" in err


@pytest.mark.parametrize("target", [Target.OCP4, Target.OCP3])
def test_file_sources_work_from_another_directory(
    target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative `file:` source is resolved when rendering: the script runs from anywhere."""
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "ak").write_text("file-access-key")
    (tmp_path / "keys" / "sk").write_text("file-secret-key")
    monkeypatch.chdir(tmp_path / "keys")
    sets = [
        "s3.bucket=acme-reg",
        "s3.region=eu-west-1",
        "s3.accessKeyFrom=file:ak",
        "s3.secretKeyFrom=file:sk",
    ]
    vals = values.load_values("aws-s3", files=[], sets=sets, profiles_dir=None, environ={})
    text = output.format_rendered(render.render(vals, target), "oc")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, state, err = run_script(text, tmp_path, cwd=elsewhere)
    assert code == 0, err
    secret = next(o for o in state["objects"].values() if o["kind"] == "Secret")
    assert secret["data"]
    assert "file-secret-key" not in text


def test_ocp3_s3_config_expands_sources_not_other_dollars(tmp_path: Path) -> None:
    """The registry config heredoc expands the secret sources and nothing else (a literal `$x` stays)."""
    env = {"AK": "AKIDFAKEFORTEST", "SK": "fake-secret-for-test"}
    sets = ["s3.bucket=b-1", "s3.region=r", "s3.accessKeyFrom=env:AK", "s3.secretKeyFrom=env:SK",
            "s3.regionEndpoint=https://minio.example:9000/$x"]  # fmt: skip
    vals = values.load_values("aws-s3", files=[], sets=sets, profiles_dir=None, environ=env)
    text = output.format_rendered(render.render(vals, Target.OCP3), "oc")
    assert "AKIDFAKEFORTEST" not in text and 'accesskey: "$(regplan_yaml_key accessKey)"' in text
    code, state, err = run_script(text, tmp_path, env=env)
    assert code == 0, err
    secret = state["objects"]["Secret/default/registry-config"]
    cfg = yaml.safe_load(base64.b64decode(secret["data"]["config.yml"]))
    assert cfg["storage"]["s3"]["accesskey"] == "AKIDFAKEFORTEST"
    assert cfg["storage"]["s3"]["regionendpoint"] == "https://minio.example:9000/$x"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (Debian package)")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT / "golden" / "render")))
def test_shellcheck_finds_nothing(script: Path) -> None:
    """Every golden script passes shellcheck (bash), including its info-level notes."""
    p = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stdout
