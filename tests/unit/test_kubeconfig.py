"""Malformed kubeconfigs (issue 8): each is exit 4 with one kubectl-like sentence naming the file.

One table of cases; each is checked through ``load_configuration`` (the sentence) and through the CLI (the
exit code and a single ``regplan:`` line). Also: the context kubectl would choose, and
``insecure-skip-tls-verify`` honoured with one warning in regplan's words.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from regplan import cluster as c
from regplan.base.errors import ClusterError, ExitCode

CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n").decode()


def good(**cluster_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "admin",
        "clusters": [{"name": "c1", "cluster": {"server": "https://127.0.0.1:1", **cluster_extra}}],
        "contexts": [{"name": "admin", "context": {"cluster": "c1", "user": "u1"}}],
        "users": [{"name": "u1", "user": {"token": "t0ken"}}],
    }


def text(doc: Any) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        path = tmp / "kubeconfig"
        path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
        return path

    return write


def raw(data: bytes) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        path = tmp / "kubeconfig"
        path.write_bytes(data)
        return path

    return write


def directory(tmp: Path) -> Path:
    (tmp / "kubeconfig.d").mkdir()
    return tmp / "kubeconfig.d"


def missing(tmp: Path) -> Path:
    return tmp / "no-such-kubeconfig"


def edited(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], Path]:
    doc = good()
    edit(doc)
    return text(doc)


def nested_block(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "leaf\n"


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(15)
)


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], Path]
    sentence: str  # a regex; FILE stands for the file's path
    context: str | None = None


CASES = [
    Case("yaml-list", text("- a\n- b\n"), r"invalid kubeconfig FILE: expected a mapping .* found a list"),
    Case("scalar", text("just words\n"), r"invalid kubeconfig FILE: expected a mapping .* found a str value"),
    Case("directory", directory, r"kubeconfig FILE is a directory, not a file"),
    Case("empty", text(""), r"invalid kubeconfig FILE: the file is empty \(no clusters, contexts or users\)"),
    Case(
        "only-comments",
        text("# nothing\n"),
        r"invalid kubeconfig FILE: the file is empty \(no clusters, contexts or users\)",
    ),
    Case("missing-file", missing, r"kubeconfig not found: FILE"),
    Case("not-yaml", text("garbage: [\n"), r"invalid kubeconfig FILE:2:\d+: not valid YAML: .*"),
    Case("not-utf8", raw(b"\xff\xfe\x00k: v"), r"invalid kubeconfig FILE: not UTF-8 text.*"),
    Case(
        "nested-flow",
        text("a: " + "[" * 100 + "]" * 100 + "\n"),
        r"invalid kubeconfig FILE:1:\d+: refused: nested deeper than 100 levels .*",
    ),
    Case(
        "nested-flow-5000",
        text("a: " + "[" * 5000 + "]" * 5000 + "\n"),
        r"invalid kubeconfig FILE:1:\d+: not valid YAML: .*",
    ),
    Case(
        "nested-block",
        text(nested_block(300)),
        r"invalid kubeconfig FILE:\d+:\d+: refused: nested deeper than 100 levels .*",
    ),
    Case("alias-bomb", text(LAUGHS), r"invalid kubeconfig FILE:\d+:\d+: refused: more than 200000 nodes .*"),
    Case(
        "clusters-not-a-list",
        edited(lambda d: d.update(clusters={"c1": {}})),
        r"invalid kubeconfig FILE: clusters must be a list",
    ),
    Case(
        "entry-without-name",
        edited(lambda d: d["users"][0].pop("name")),
        r"invalid kubeconfig FILE: users\[0\] has no name",
    ),
    Case("unknown-context", text(good()), r'context "x" does not exist in FILE', context="x"),
    Case(
        "no-current-context",
        edited(lambda d: d.pop("current-context")),
        r"no context selected: FILE sets no current-context; pass --context",
    ),
    Case(
        "context-names-missing-cluster",
        edited(lambda d: d["contexts"][0]["context"].update(cluster="gone")),
        r'context "admin" in FILE names cluster "gone", which does not exist in FILE',
    ),
    Case(
        "context-names-missing-user",
        edited(lambda d: d["contexts"][0]["context"].update(user="nobody")),
        r'context "admin" in FILE names user "nobody", which does not exist in FILE',
    ),
    Case(
        "cluster-without-server",
        edited(lambda d: d["clusters"][0]["cluster"].pop("server")),
        r'invalid kubeconfig FILE: cluster "c1" has no server',
    ),
    Case(
        "bad-base64-ca",
        edited(lambda d: d["clusters"][0]["cluster"].update({"certificate-authority-data": "not base64!"})),
        r'invalid kubeconfig FILE: cluster "c1": certificate-authority-data is not valid base64',
    ),
    Case(
        "bad-base64-client-cert",
        edited(lambda d: d["users"][0]["user"].update({"client-certificate-data": "%%%"})),
        r'invalid kubeconfig FILE: user "u1": client-certificate-data is not valid base64',
    ),
    Case(
        "bad-base64-client-key",
        edited(lambda d: d["users"][0]["user"].update({"client-key-data": "abc"})),
        r'invalid kubeconfig FILE: user "u1": client-key-data is not valid base64',
    ),
    Case(
        "missing-ca-file",
        edited(lambda d: d["clusters"][0]["cluster"].update({"certificate-authority": "ca.crt"})),
        r'invalid kubeconfig FILE: cluster "c1": certificate-authority file ca.crt does not exist',
    ),
]

# Wording of the libraries regplan uses: never shown to the user.
LIBRARY_WORDS = (
    "Traceback",
    "Invalid kube-config",
    "ConfigException",
    "yaml.",
    "Error:",
    "binascii",
    "Exception",
)


@pytest.mark.parametrize("case", CASES, ids=[k.id for k in CASES])
def test_malformed_kubeconfig_is_one_sentence_naming_the_file(tmp_path: Path, case: Case) -> None:
    import re

    path = case.make(tmp_path)
    with pytest.raises(ClusterError) as exc:
        c.load_configuration(str(path), case.context, environ={})
    message = str(exc.value)
    assert exc.value.exit_code == ExitCode.CLUSTER == 4
    assert re.fullmatch(case.sentence.replace("FILE", re.escape(str(path))), message), message
    assert "\n" not in message
    without_path = message.replace(str(path), "FILE")
    assert not [w for w in LIBRARY_WORDS if w in without_path], message


@pytest.mark.parametrize("case", CASES, ids=[k.id for k in CASES])
def test_malformed_kubeconfig_cli_exit_4(tmp_path: Path, case: Case) -> None:
    path = case.make(tmp_path)
    args = ["plan", "-p", "glusterfs", "--target", "ocp4", "--kubeconfig", str(path)]
    if case.context:
        args += ["--context", case.context]
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    r = subprocess.run(
        [sys.executable, "-m", "regplan", *args], capture_output=True, text=True, timeout=60, env=env
    )
    assert r.returncode == 4, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("regplan:") and str(path) in lines[0], r.stderr


def test_context_is_chosen_as_kubectl_does(tmp_path: Path) -> None:
    """The first file that sets current-context wins (the client's loader alone takes the last one)."""
    a, b = tmp_path / "a", tmp_path / "b"
    first = good()
    second = good()
    second["current-context"] = "other"
    second["clusters"] = [{"name": "c2", "cluster": {"server": "https://two.example:6443"}}]
    second["contexts"] = [{"name": "other", "context": {"cluster": "c2", "user": "u1"}}]
    a.write_text(yaml.safe_dump(first))
    b.write_text(yaml.safe_dump(second))
    cfg, _ = c.load_configuration(f"{a}{os.pathsep}{b}", None, environ={})
    assert cfg.host == "https://127.0.0.1:1"
    cfg, _ = c.load_configuration(f"{a}{os.pathsep}{b}", "other", environ={})
    assert cfg.host == "https://two.example:6443"


def test_folded_base64_is_accepted(tmp_path: Path) -> None:
    folded = "\n".join(CA[i : i + 20] for i in range(0, len(CA), 20))
    path = text(good(**{"certificate-authority-data": folded}))(tmp_path)
    cfg, warnings = c.load_configuration(str(path), None, environ={})
    assert cfg.verify_ssl is True and warnings == ()


@pytest.mark.parametrize(
    ("extra", "verify", "warned"),
    [
        ({"insecure-skip-tls-verify": True}, False, True),
        ({"insecure-skip-tls-verify": True, "certificate-authority-data": CA}, False, True),
        ({"insecure-skip-tls-verify": False}, True, False),
        ({}, True, False),
    ],
    ids=["insecure", "insecure-with-ca", "explicitly-verified", "default"],
)
def test_insecure_skip_tls_verify_is_honoured_with_one_warning(
    tmp_path: Path, extra: dict[str, Any], verify: bool, warned: bool
) -> None:
    path = text(good(**extra))(tmp_path)
    cfg, warnings = c.load_configuration(str(path), None, environ={})
    assert cfg.verify_ssl is verify
    if not warned:
        assert warnings == ()
        return
    (line,) = warnings
    assert line == (
        'TLS verification is off for https://127.0.0.1:1 (insecure-skip-tls-verify in cluster "c1" of '
        f"{path}): the server's identity is not checked"
    )


def test_relative_paths_are_relative_to_the_file_naming_them(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (two / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    first = good()
    first["current-context"] = "other"
    second = good(**{"certificate-authority": "ca.crt"})
    second["clusters"][0]["name"] = "c2"
    second["contexts"] = [{"name": "other", "context": {"cluster": "c2", "user": "u1"}}]
    (one / "config").write_text(yaml.safe_dump(first))
    (two / "config").write_text(yaml.safe_dump(second))
    cfg, _ = c.load_configuration(f"{one / 'config'}{os.pathsep}{two / 'config'}", None, environ={})
    assert cfg.ssl_ca_cert == str(two / "ca.crt")
