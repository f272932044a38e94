"""Exec plugins and their answers as a hostile or careless plugin gives them, compared with kubectl and
the official Python client: a relative command, the working directory and environment a plugin gets, a
plugin that leaves a daemon holding its output open, JSON nested too deep for the parser, concurrent
requests sharing one run, bad or expired answers."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from regplan.base.errors import ClusterError
from regplan.cluster import credentials

V1 = "client.authentication.k8s.io/v1"
ANSWER = json.dumps({"apiVersion": V1, "kind": "ExecCredential", "status": {"token": "tok-1"}})


def _plugin(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\n{body}\n")
    path.chmod(0o755)


def _fetch(spec: credentials.ExecSpec, environ: dict[str, str] | None = None) -> credentials.Credential:
    out = credentials.run_plugin(spec, environ if environ is not None else dict(os.environ), "w", timeout=20)
    return credentials.parse_exec_credential(out, spec, "w")[0]


def test_a_relative_command_is_found_and_run_from_the_kubeconfig_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``command: ./bin/plugin`` is the kubeconfig directory's bin/plugin (kubectl, checked with the real
    one, agrees), and the plugin runs there, as the official Python client (the other transport) runs it;
    kubectl would run it in the caller's directory: the same plan from both of regplan's transports wins."""
    config_dir, run_dir = tmp_path / "cfg", tmp_path / "run"
    run_dir.mkdir()
    body = f"open({str(tmp_path / 'cwd')!r}, 'w').write(os.getcwd()); print({ANSWER!r})"
    _plugin(config_dir / "bin" / "plugin", body)
    monkeypatch.chdir(run_dir)
    spec = credentials.ExecSpec.parse({"apiVersion": V1, "command": "./bin/plugin"}, str(config_dir), "w")
    assert _fetch(spec).token == "tok-1"
    assert (tmp_path / "cwd").read_text() == str(config_dir)


def test_the_plugin_gets_the_environment_its_entry_and_the_exec_info(tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    _plugin(tmp_path / "p", f"json.dump(dict(os.environ), open({str(out)!r}, 'w')); print({ANSWER!r})")
    spec = credentials.ExecSpec.parse(
        {"apiVersion": V1, "command": str(tmp_path / "p"), "env": [{"name": "B", "value": "entry"}]},
        str(tmp_path), "w",
    )  # fmt: skip
    _fetch(spec, {"A": "parent", "B": "parent", "PATH": os.environ.get("PATH", "")})
    env = json.loads(out.read_text())
    assert (env["A"], env["B"]) == ("parent", "entry")
    info = json.loads(env["KUBERNETES_EXEC_INFO"])
    assert info == {"apiVersion": V1, "kind": "ExecCredential", "spec": {"interactive": False}}


def test_a_daemon_holding_the_output_open_is_not_waited_on(tmp_path: Path) -> None:
    """The plugin prints its answer, forks a child that keeps stdout open for 30 s, and exits."""
    body = (
        f"print({ANSWER!r}, flush=True)\n"
        "if os.fork() == 0:\n    import time; time.sleep(30); os._exit(0)\n"
        "os._exit(0)"
    )
    _plugin(tmp_path / "p", body)
    spec = credentials.ExecSpec.parse({"apiVersion": V1, "command": str(tmp_path / "p")}, "", "w")
    start = time.monotonic()
    assert _fetch(spec).token == "tok-1"
    assert time.monotonic() - start < 5


def test_json_nested_too_deep_from_a_plugin_is_a_clear_error(tmp_path: Path) -> None:
    _plugin(tmp_path / "p", "sys.stdout.write('[' * 200000)")
    spec = credentials.ExecSpec.parse({"apiVersion": V1, "command": str(tmp_path / "p")}, "", "w")
    with pytest.raises(ClusterError, match="printed no ExecCredential"):
        _fetch(spec)


def test_concurrent_requests_share_one_plugin_run(tmp_path: Path) -> None:
    """A fleet's threads asking one user entry at once: the plugin runs once, all get its token."""
    import threading

    runs = tmp_path / "runs"
    _plugin(
        tmp_path / "p",
        f"open({str(runs)!r}, 'a').write('x'); import time; time.sleep(0.3); print({ANSWER!r})",
    )
    spec = credentials.ExecSpec.parse({"apiVersion": V1, "command": str(tmp_path / "p")}, "", "w")
    source = credentials.Source(where="w", exec_spec=spec, environ=dict(os.environ))
    got: list[str | None] = []
    threads = [threading.Thread(target=lambda: got.append(source.current().token)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got == ["tok-1"] * 8 and runs.read_text() == "x"


@pytest.mark.parametrize(
    ("status", "match"),
    [
        ({"token": "t", "expirationTimestamp": "yesterday"}, "not an RFC 3339 time"),
        ({"token": "t", "expirationTimestamp": "2020-01-01T00:00:00"}, "not an RFC 3339 time"),
        ({"token": "t\r\nX-Injected: 1"}, "control or non-ASCII"),
        ({"clientCertificateData": "x"}, "both clientCertificateData and clientKeyData"),
        ({"token": ["t"]}, "not a string"),
    ],
)
def test_bad_exec_answers_are_errors_that_show_no_token(
    tmp_path: Path, status: dict[str, object], match: str
) -> None:
    answer = json.dumps({"apiVersion": V1, "kind": "ExecCredential", "status": status})
    _plugin(tmp_path / "p", f"print({answer!r})")
    spec = credentials.ExecSpec.parse({"apiVersion": V1, "command": str(tmp_path / "p")}, "", "w")
    with pytest.raises(ClusterError, match=match) as err:
        _fetch(spec)
    assert "X-Injected" not in str(err.value)


def test_an_expired_answer_is_used_briefly_not_rerun_per_request(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    status = {"token": "old", "expirationTimestamp": "2001-01-01T00:00:00Z"}
    answer = json.dumps({"apiVersion": V1, "kind": "ExecCredential", "status": status})
    _plugin(tmp_path / "p", f"open({str(runs)!r}, 'a').write('x'); print({answer!r})")
    spec = credentials.ExecSpec.parse({"apiVersion": V1, "command": str(tmp_path / "p")}, "", "w")
    source = credentials.Source(where="w", exec_spec=spec, environ=dict(os.environ))
    assert [source.current().token for _ in range(5)] == ["old"] * 5
    assert runs.read_text() == "x"
