"""The standard-library transport without a cluster: which path each kubeconfig form takes, credentials
(token files re-read, exec plugins cached and checked), hostile kubeconfigs (FIFO/dir/symlink CA, huge
data, control characters and line breaks in the server URL and tokens) refused with one line, exit 4."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from regplan.base.errors import ClusterError
from regplan.cluster import connect, credentials, direct

CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="  # the forms below are routed, never connected


def kubeconfig(tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any] | None) -> Path:
    doc: dict[str, Any] = {
        "clusters": [{"name": "c", "cluster": cluster}],
        "contexts": [
            {"name": "x", "context": {"cluster": "c", **({"user": "u"} if user is not None else {})}}
        ],
        "current-context": "x",
    }
    if user is not None:
        doc["users"] = [{"name": "u", "user": user}]
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    return path


SERVER = {"server": "https://api.example:6443", "certificate-authority-data": CA}
EXEC = {"apiVersion": "client.authentication.k8s.io/v1", "command": "get-token"}

# (form, cluster entry, user entry, the path it takes)
FORMS: list[tuple[str, dict[str, Any], dict[str, Any] | None, str]] = [
    ("no user", SERVER, None, "direct"),
    ("token", SERVER, {"token": "abc"}, "direct"),
    ("tokenFile", SERVER, {"tokenFile": "tok"}, "direct"),
    ("token and tokenFile (token wins)", SERVER, {"token": "abc", "tokenFile": "tok"}, "direct"),
    ("client cert data", SERVER, {"client-certificate-data": CA, "client-key-data": CA}, "direct"),
    ("client cert files", SERVER, {"client-certificate": "tok", "client-key": "tok"}, "direct"),
    ("cert + token", SERVER, {"client-certificate-data": CA, "client-key-data": CA, "token": "t"}, "direct"),
    ("exec v1", SERVER, {"exec": EXEC}, "direct"),
    (
        "exec v1beta1",
        SERVER,
        {"exec": {**EXEC, "apiVersion": "client.authentication.k8s.io/v1beta1"}},
        "direct",
    ),
    ("exec IfAvailable", SERVER, {"exec": {**EXEC, "interactiveMode": "IfAvailable"}}, "direct"),
    ("CA file", {"server": "https://a:6443", "certificate-authority": "tok"}, {"token": "t"}, "direct"),
    ("insecure", {"server": "https://a:6443", "insecure-skip-tls-verify": True}, {"token": "t"}, "direct"),
    ("tls-server-name", {**SERVER, "tls-server-name": "kubernetes"}, {"token": "t"}, "direct"),
    ("http server", {"server": "http://127.0.0.1:8080"}, None, "direct"),
    (
        "exec v1alpha1",
        SERVER,
        {"exec": {**EXEC, "apiVersion": "client.authentication.k8s.io/v1alpha1"}},
        "client",
    ),
    ("exec provideClusterInfo", SERVER, {"exec": {**EXEC, "provideClusterInfo": True}}, "client"),
    ("exec interactive Always", SERVER, {"exec": {**EXEC, "interactiveMode": "Always"}}, "client"),
    ("exec and token", SERVER, {"exec": EXEC, "token": "t"}, "client"),
    ("auth-provider (OIDC)", SERVER, {"auth-provider": {"name": "oidc", "config": {}}}, "client"),
    ("basic auth", SERVER, {"username": "a", "password": "b"}, "client"),
    ("impersonation", SERVER, {"token": "t", "as": "someone"}, "client"),
    ("impersonated groups", SERVER, {"token": "t", "as-groups": ["g"]}, "client"),
    ("proxy-url", {**SERVER, "proxy-url": "http://proxy:3128"}, {"token": "t"}, "client"),
    ("insecure with a CA", {**SERVER, "insecure-skip-tls-verify": True}, {"token": "t"}, "client"),
    (
        "insecure as a string",
        {"server": "https://a", "insecure-skip-tls-verify": "true"},
        {"token": "t"},
        "client",
    ),
    ("cert without key", SERVER, {"client-certificate-data": CA}, "client"),
]


@pytest.mark.parametrize(("form", "cluster", "user", "path"), FORMS, ids=[f[0] for f in FORMS])
def test_which_path_each_kubeconfig_form_takes(
    tmp_path: Path, form: str, cluster: dict[str, Any], user: dict[str, Any] | None, path: str
) -> None:
    (tmp_path / "tok").write_text("abc")
    taken, why = connect.choose(str(kubeconfig(tmp_path, cluster, user)), None, {})
    assert taken == path, why
    assert bool(why) == (path == "client")


def test_an_environment_proxy_or_the_switch_keeps_the_client(tmp_path: Path) -> None:
    cfg = str(kubeconfig(tmp_path, SERVER, {"token": "t"}))
    assert connect.choose(cfg, None, {"HTTPS_PROXY": "http://proxy:3128"}) == (
        "client",
        "an environment proxy is set",
    )
    assert connect.choose(cfg, None, {"REGPLAN_TRANSPORT": "client"})[0] == "client"


def test_in_cluster_takes_the_stdlib_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token\n")
    (sa / "ca.crt").write_text("not used before the first connection")
    monkeypatch.setattr(direct, "SERVICE_ACCOUNT_DIR", str(sa))
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443", "HOME": str(tmp_path)}
    assert connect.choose(None, None, env) == ("direct", "")
    transport, warnings = connect.open_transport(None, None, (1.0, 1.0), environ=env)
    assert isinstance(transport, direct.StdTransport) and warnings == ()
    assert transport.host == "https://[fd00::1]:443"
    assert transport.endpoint.auth.current().token == "sa-token"


def _load(tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any] | None) -> Any:
    return connect.open_transport(str(kubeconfig(tmp_path, cluster, user)), None, (1.0, 1.0), environ={})[0]


@pytest.mark.parametrize(
    "server",
    [
        "https://api\n:6443",
        "https://api:6443\r",
        "https://api\u2028:6443",
        "https://api\x1b[2J:6443",
        "https://a b:1",
    ],
    ids=["LF", "CR", "U+2028", "ESC", "space"],
)
def test_control_characters_in_the_server_url_are_refused(tmp_path: Path, server: str) -> None:
    with pytest.raises(ClusterError) as err:
        _load(tmp_path, {"server": server}, None)
    text = str(err.value)
    assert text.startswith(f'invalid kubeconfig {tmp_path / "config"}: cluster "c": server ')
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u2028" not in text


@pytest.mark.parametrize("kind", ["fifo", "dir", "symlink to fifo", "dangling symlink"])
def test_a_certificate_authority_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "ca"
    if kind == "dir":
        target.mkdir()
    elif kind in ("fifo", "symlink to fifo"):
        os.mkfifo(tmp_path / "fifo")
        target = tmp_path / "fifo"
    if kind.startswith("symlink") or kind == "dangling symlink":
        (tmp_path / "link").symlink_to(target if kind != "dangling symlink" else tmp_path / "nowhere")
        target = tmp_path / "link"
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match="certificate-authority") as err:
        _load(tmp_path, {"server": "https://a:6443", "certificate-authority": str(target)}, {"token": "t"})
    assert time.monotonic() - t0 < 2  # never waits on the FIFO
    assert str(tmp_path / "config") in str(err.value)


def test_huge_garbage_ca_data_is_one_line_at_the_first_request(tmp_path: Path) -> None:
    huge = base64.b64encode(b"\x00garbage" * 400_000).decode()  # ~4 MB of base64
    transport = _load(tmp_path, {"server": "https://127.0.0.1:1", "certificate-authority-data": huge}, None)
    with pytest.raises(ClusterError, match=r"certificate authority is not a PEM certificate$") as err:
        transport.once("GET", "/version", what="the version")
    assert len(str(err.value)) < 300


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "abc def", "abc\x1b[2J", "tök"])
def test_a_token_unfit_for_a_header_is_refused_unshown(tmp_path: Path, token: str) -> None:
    with pytest.raises(ClusterError, match="the token contains") as err:
        _load(tmp_path, SERVER, {"token": token})
    assert token not in str(err.value) and "abc" not in str(err.value)


def test_token_file_is_read_again_after_a_minute(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    now = [1000.0]
    source = credentials.Source(where="w", token_file=str(path), clock=lambda: now[0])
    assert source.current().token == "first"
    path.write_text("second")
    now[0] += credentials.TOKEN_FILE_TTL - 1
    assert source.current().token == "first"
    now[0] += 2
    assert source.current().token == "second"


def test_a_token_file_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "token")
    source = credentials.Source(where="w", token_file=str(tmp_path / "token"))
    with pytest.raises(ClusterError, match="cannot read token file"):
        source.current()


V1 = "client.authentication.k8s.io/v1"


def _spec(tmp_path: Path, body: str, **kw: Any) -> credentials.ExecSpec:
    script = tmp_path / "plugin"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\n{body}\n")
    script.chmod(0o755)
    return credentials.ExecSpec.parse({"apiVersion": V1, "command": str(script), **kw}, str(tmp_path), "w")


def test_exec_credential_is_cached_until_it_expires(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    stamp = "2030-01-01T00:00:00Z"
    answer = json.dumps(
        {"apiVersion": V1, "kind": "ExecCredential", "status": {"token": "t1", "expirationTimestamp": stamp}}
    )
    spec = _spec(tmp_path, f"open({str(runs)!r}, 'a').write('x'); print({answer!r})")
    expiry = 1893456000.0  # 2030-01-01
    now = [expiry - 3600]
    source = credentials.Source(where="w", exec_spec=spec, clock=lambda: now[0])
    assert source.current().token == "t1" and source.current().token == "t1"
    assert runs.read_text() == "x"
    now[0] = expiry - credentials.EXPIRY_LEEWAY + 1
    assert source.current().token == "t1" and runs.read_text() == "xx"
    used = source.current()
    assert source.rejected(used)  # a 401: fetched again once
    again = source.current()
    assert again.token == "t1" and runs.read_text() == "xxx"
    assert not source.rejected(again)  # the fetched-again one rejected too: final
    assert source.rejected(used)  # a request that used the older one goes again with the current one
    assert runs.read_text() == "xxx"


@pytest.mark.parametrize(
    ("stdout", "match"),
    [
        ("token=hunter2-secret", "printed no ExecCredential"),
        (
            json.dumps({"apiVersion": "v9", "kind": "ExecCredential", "status": {"token": "t"}}),
            "answered apiVersion v9",
        ),
        (json.dumps({"apiVersion": V1, "kind": "ExecCredential"}), "without status"),
        (json.dumps({"apiVersion": V1, "kind": "ExecCredential", "status": {}}), "neither a token nor"),
        (
            json.dumps(
                {"apiVersion": V1, "kind": "ExecCredential", "status": {"clientCertificateData": "x"}}
            ),
            "needs both",
        ),
        (
            json.dumps(
                {
                    "apiVersion": V1,
                    "kind": "ExecCredential",
                    "status": {"token": "t", "expirationTimestamp": "soon"},
                }
            ),
            "is not an RFC 3339 time",
        ),
        (
            json.dumps({"apiVersion": V1, "kind": "ExecCredential", "status": {"token": "a\nb"}}),
            "the token contains",
        ),
    ],
)
def test_exec_answers_are_checked_without_echoing_them(tmp_path: Path, stdout: str, match: str) -> None:
    spec = credentials.ExecSpec(V1, "plugin", (), (), "", "")
    out = credentials.PluginOutput(0, stdout.encode(), 0)
    with pytest.raises(ClusterError, match=match) as err:
        credentials.parse_exec_credential(out, spec, "w")
    assert "hunter2" not in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"command": ""}, "exec has no command"),
        ({"command": "a\0b"}, "NUL"),
        ({"command": "x", "args": ["a", 1]}, "args must be a list of strings"),
        ({"command": "x", "env": [{"name": "A=B", "value": "v"}]}, "without '='"),
        ({"command": "x", "env": [{"name": "A", "value": "v\0"}]}, "NUL"),
        ({"command": "x", "env": "A=B"}, "env must be a list"),
    ],
)
def test_exec_entries_a_process_cannot_start_from_are_refused(entry: dict[str, Any], match: str) -> None:
    with pytest.raises(ClusterError, match=match):
        credentials.ExecSpec.parse({"apiVersion": V1, **entry}, "", 'invalid kubeconfig k: user "u"')


def test_client_key_never_lands_in_a_named_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    cryptography = pytest.importorskip("cryptography")
    del cryptography
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "u")])
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem_cert = cert.public_bytes(serialization.Encoding.PEM)
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    credentials.load_client_cert(ctx, pem_cert, pem_key, "w")
    assert list(tmp_path.iterdir()) == []
    fds = os.listdir("/proc/self/fd")
    assert not any("regplan-credential" in os.readlink(f"/proc/self/fd/{fd}") for fd in fds if fd.isdigit()
                   and os.path.exists(f"/proc/self/fd/{fd}"))  # fmt: skip
    with pytest.raises(ClusterError, match="cannot be used") as err:
        credentials.load_client_cert(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), pem_cert, b"not a key", "w")
    assert "PRIVATE" not in str(err.value)
