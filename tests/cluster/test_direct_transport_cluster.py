"""The standard-library transport (``regplan.cluster.direct``) against the real kube-apiserver.

Each kubeconfig user form it implements (token, tokenFile, client certificate as files and as data, exec
plugins v1 and v1beta1 answering a token or a certificate) plans the seeded 4.x state with the same result
as the official client's path (``REGPLAN_TRANSPORT=client``); ``kubernetes`` is never imported on it; a
rejected credential is exit 4 with one clear line and no secret; a hostile exec plugin (megabytes of
output, never exiting, secrets on stderr) is bounded and never echoed.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import TargetCluster

PLAN = ("plan", "-p", "ebs-gp2-rwo", "-o", "json")
PAST = "2000-01-01T00:00:00Z"


def _base(c: TargetCluster) -> dict[str, Any]:
    cfg: dict[str, Any] = yaml.safe_load(c.kubeconfig.read_text())
    return cfg


def write_kubeconfig(
    c: TargetCluster, tmp_path: Path, user: dict[str, Any], name: str = "kubeconfig"
) -> Path:
    """The harness kubeconfig with context ``admin``'s user replaced by ``user``."""
    cfg = _base(c)
    for entry in cfg["users"]:
        if entry["name"] == "admin":
            entry["user"] = user
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def exec_script(tmp_path: Path, body: str, name: str = "plugin") -> Path:
    """A small exec plugin (Python) written by the test."""
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\n{body}\n")
    path.chmod(0o755)
    return path


def credential(api_version: str, status: dict[str, Any]) -> str:
    return json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "status": status})


def plan_of(r: subprocess.CompletedProcess[str]) -> Any:
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc, r.stdout  # the seeded state needs the claim and the Config change
    return doc


def user_forms(c: TargetCluster, tmp_path: Path) -> dict[str, dict[str, Any]]:
    cp = c.control_plane
    assert cp is not None
    token = cp.admin_token
    cert, key = cp.client_cert("cert-admin", ("system:masters",))
    (tmp_path / "admin.crt").write_bytes(cert)
    (tmp_path / "admin.key").write_bytes(key)
    (tmp_path / "token").write_text(token + "\n")
    v1 = "client.authentication.k8s.io/v1"
    b1 = "client.authentication.k8s.io/v1beta1"
    tok = exec_script(tmp_path, f"print({credential(v1, {'token': token})!r})", "exec-token")
    status = "{'clientCertificateData': open('admin.crt').read(), 'clientKeyData': open('admin.key').read()}"
    exec_script(  # relative to the kubeconfig's directory, reading files there: run from that directory
        tmp_path,
        f"print(json.dumps({{'apiVersion': {b1!r}, 'kind': 'ExecCredential', 'status': {status}}}))",
        "exec-cert",
    )
    return {
        "token": {"token": token},
        "tokenFile": {"tokenFile": "token"},  # relative: to the kubeconfig's directory
        "cert-files": {"client-certificate": "admin.crt", "client-key": "admin.key"},
        "cert-data": {
            "client-certificate-data": base64.b64encode(cert).decode(),
            "client-key-data": base64.b64encode(key).decode(),
        },
        "exec-v1-token": {"exec": {"apiVersion": v1, "command": str(tok), "interactiveMode": "Never"}},
        "exec-v1beta1-cert": {"exec": {"apiVersion": b1, "command": "./exec-cert"}},
    }


def test_every_form_plans_as_the_client_does(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    reference = write_kubeconfig(ocp4_cluster, tmp_path, {"token": ocp4_cluster.control_plane.admin_token})  # type: ignore[union-attr]
    expected = plan_of(
        ocp4_cluster.run_regplan(*PLAN, kubeconfig=reference, env={"REGPLAN_TRANSPORT": "client"})
    )
    for form, user in user_forms(ocp4_cluster, tmp_path).items():
        path = write_kubeconfig(ocp4_cluster, tmp_path, user, f"kubeconfig-{form}")
        r = ocp4_cluster.run_regplan(*PLAN, kubeconfig=path)
        assert plan_of(r) == expected, form
        assert "warning" not in r.stderr, (form, r.stderr)


IMPORTED = """
import runpy, sys
sys.argv = ["regplan", *sys.argv[1:]]
try:
    runpy.run_module("regplan", run_name="__main__")
except SystemExit as e:
    code = e.code
found = sorted({m.split(".")[0] for m in sys.modules} & {"kubernetes", "urllib3"})
print("MODULES", found, code, file=sys.stderr)
"""


@pytest.mark.parametrize("form", ["token", "cert-data", "exec-v1-token", "client"])
def test_kubernetes_is_not_imported_on_the_stdlib_path(
    ocp4_cluster: TargetCluster, tmp_path: Path, form: str
) -> None:
    users = user_forms(ocp4_cluster, tmp_path)
    path = write_kubeconfig(ocp4_cluster, tmp_path, users["token" if form == "client" else form])
    env = ocp4_cluster.env("admin", {"KUBECONFIG": str(path)})
    if form == "client":
        env["REGPLAN_TRANSPORT"] = "client"
    r = subprocess.run(
        [sys.executable, "-c", IMPORTED, *PLAN],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    line = r.stderr.strip().splitlines()[-1]
    if form == "client":  # the fallback still works, through the client (the test would pass vacuously else)
        assert line == "MODULES ['kubernetes', 'urllib3'] 0", r.stderr
    else:
        assert line == "MODULES [] 0", r.stderr


def test_rejected_token_is_exit_4_without_the_token(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    bad = "not-a-valid-token-" + "x" * 20
    path = write_kubeconfig(ocp4_cluster, tmp_path, {"token": bad})
    r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", kubeconfig=path)
    assert r.returncode == 4, r.stderr
    assert "unauthorized (401)" in r.stderr and bad not in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


def test_exec_token_rejected_is_fetched_again_once_then_exit_4(
    ocp4_cluster: TargetCluster, tmp_path: Path
) -> None:
    """An expired credential: the plugin is asked again after a 401 (one more run), then exit 4."""
    v1 = "client.authentication.k8s.io/v1"
    count = tmp_path / "runs"
    script = exec_script(
        tmp_path,
        f"open({str(count)!r}, 'a').write('x')\n"
        f"print({credential(v1, {'token': 'expired-token-0123456789', 'expirationTimestamp': PAST})!r})",
    )
    path = write_kubeconfig(ocp4_cluster, tmp_path, {"exec": {"apiVersion": v1, "command": str(script)}})
    r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", kubeconfig=path)
    assert r.returncode == 4, r.stderr
    assert "unauthorized (401)" in r.stderr and "expired-token-0123456789" not in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 3  # one error line (and at most a hint)
    assert 2 <= len(count.read_text()) <= 4  # run again after the 401, not once a request


def test_exec_plugin_failing_never_echoes_its_stderr(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    secret = "s3cr3t-refresh-token-abcdef"
    script = exec_script(
        tmp_path, f"sys.stderr.write('login failed, token={secret}\\x1b[31m\\n'); sys.exit(3)"
    )
    path = write_kubeconfig(
        ocp4_cluster,
        tmp_path,
        {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script)}},
    )
    r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", kubeconfig=path)
    assert r.returncode == 4, r.stderr
    assert secret not in r.stderr + r.stdout and "\x1b" not in r.stderr
    assert "failed (exit 3)" in r.stderr and "is not shown" in r.stderr


def test_exec_plugin_printing_megabytes_is_stopped(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    script = exec_script(tmp_path, "sys.stdout.write('A' * (64 << 20))")
    path = write_kubeconfig(
        ocp4_cluster,
        tmp_path,
        {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script)}},
    )
    t0 = time.monotonic()
    r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", kubeconfig=path)
    assert r.returncode == 4, r.stderr
    assert "printed more than 1 MiB" in r.stderr and "AAAA" not in r.stderr
    assert time.monotonic() - t0 < 30


def test_exec_plugin_never_exiting_is_stopped(
    ocp4_cluster: TargetCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regplan.base.errors import ClusterError
    from regplan.cluster import Cluster, credentials

    monkeypatch.setattr(credentials, "EXEC_TIMEOUT", 1.0)
    marker = tmp_path / "child.pid"
    # the plugin and a child it starts both hang: the whole group is stopped
    script = exec_script(
        tmp_path,
        "import subprocess, time\n"
        f"p = subprocess.Popen(['sleep', '600']); open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)",
    )
    path = write_kubeconfig(
        ocp4_cluster,
        tmp_path,
        {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script)}},
    )
    cluster = Cluster(kubeconfig=str(path), context="admin", attempts=1)
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match=r"did not finish within 1 s \(stopped\)"):
        cluster.detect_target()
    assert time.monotonic() - t0 < 10
    cluster.close()
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the plugin's child survived")


def test_exec_args_and_env_reach_the_plugin_verbatim(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    """Line breaks, escape characters and shell syntax in args and env are data: no shell, no splitting."""
    seen = tmp_path / "seen.json"
    v1 = "client.authentication.k8s.io/v1"
    token = ocp4_cluster.control_plane.admin_token  # type: ignore[union-attr]
    script = exec_script(
        tmp_path,
        "info = os.environ['KUBERNETES_EXEC_INFO']\n"
        "seen = {'argv': sys.argv[1:], 'env': os.environ.get('ODD'), 'info': info}\n"
        f"json.dump(seen, open({str(seen)!r}, 'w'))\n"
        f"print({credential(v1, {'token': token})!r})",
    )
    args = ["a\nb", "$(touch pwned)", "c\r\u2028d\x1b[2J", "; rm -rf /"]
    user = {
        "exec": {
            "apiVersion": v1,
            "command": str(script),
            "args": args,
            "env": [{"name": "ODD", "value": "x\ny`id`"}],
        }
    }
    path = write_kubeconfig(ocp4_cluster, tmp_path, user)
    r = ocp4_cluster.run_regplan(*PLAN, kubeconfig=path)
    assert r.returncode == 0, r.stderr
    got = json.loads(seen.read_text())
    assert got["argv"] == args and got["env"] == "x\ny`id`"
    assert json.loads(got["info"]) == {
        "apiVersion": v1,
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_exec_not_found_shows_the_install_hint_escaped(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "regplan-no-such-plugin",
            "installHint": "install it with\n  brew install x\x1b[31m",
        }
    }
    path = write_kubeconfig(ocp4_cluster, tmp_path, user)
    r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", kubeconfig=path)
    assert r.returncode == 4, r.stderr
    (line,) = [ln for ln in r.stderr.splitlines() if "regplan-no-such-plugin" in ln]
    assert "cannot be run: not found" in line and "brew install x" in line and "\x1b" not in r.stderr


def test_wrong_client_certificate_is_exit_4(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    """A certificate the apiserver's client CA did not sign: anonymous is refused (401), exit 4."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from test_cluster_tls import other_ca  # a self-signed certificate (no key needed for the refusal)

    key = ec.generate_private_key(ec.SECP256R1())
    # a certificate/key pair that does not match: refused while loading, before any request
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    user = {
        "client-certificate-data": base64.b64encode(other_ca()).decode(),
        "client-key-data": base64.b64encode(pem_key).decode(),
    }
    path = write_kubeconfig(ocp4_cluster, tmp_path, user)
    r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", kubeconfig=path)
    assert r.returncode == 4, r.stderr
    assert "client certificate and key cannot be used" in r.stderr
    assert "PRIVATE KEY" not in r.stderr and "Traceback" not in r.stderr
