"""The operator tier's own plumbing, without the operator (issue 15): the project has no operator binary
and may not build one, so what can be checked without it is checked here, on every run.

- ``REGPLAN_OPERATOR_BIN``: unset -> the tier skips with one line saying what it needs; set to something
  that is not a regular executable file -> a one-line message naming it (escaped), no traceback.
- ``REGPLAN_OPERATOR_API_VERSION``: not a Go module version -> refused before any use, nothing written;
  the default -> the CRDs come from the openshift/api Go module into the testbin cache, once.
- The conftest as a user meets it (a nested pytest): skipped in one line, or failing naming the path.
- The whole ``operator_cluster`` path (second control plane, CRDs, seeded objects, the user+mount
  namespace with /etc/secrets, the settle wait, reset, SIGTERM) with a stand-in binary that only does
  what the harness waits for (a ClusterOperator, observedGeneration); the operator's behaviour itself is
  the tier's, see docs/control-plane.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from harness import ClusterPool
from harness.binaries import (
    OPERATOR_API_VAR,
    OPERATOR_BIN_VAR,
    OPERATOR_NEEDS,
    OperatorBinaries,
    OperatorMissing,
    OperatorUnusable,
    find_operator,
    in_ci,
    operator_binary,
)
from harness.operator import CONFIG_OBJECTS, PLURALS, RegistryOperator, userns_problem
from harness.process import ProcessDied

REPO = Path(__file__).resolve().parents[2]
CRD_NAMES = {
    "configs.imageregistry.operator.openshift.io",
    "imagepruners.imageregistry.operator.openshift.io",
    "infrastructures.config.openshift.io",
    "clusteroperators.config.openshift.io",
    "clusterversions.config.openshift.io",
    "featuregates.config.openshift.io",
    "proxies.config.openshift.io",
    "images.config.openshift.io",
    "apiservers.config.openshift.io",
    "routes.route.openshift.io",
}
HOSTILE = ("a\nb", "a\rb", "a\u2028b", "\x1b[31mred\x1b[0m", "a\tb\x07")


def one_line(msg: str) -> None:
    assert msg.isprintable(), repr(msg)  # no line break, escape or other control character


def executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_nothing_named_skips_with_what_the_tier_needs() -> None:
    for env in ({}, {OPERATOR_BIN_VAR: ""}):
        with pytest.raises(OperatorMissing) as e:
            find_operator(env)
        assert str(e.value) == OPERATOR_NEEDS
    one_line(OPERATOR_NEEDS)
    assert OPERATOR_BIN_VAR in OPERATOR_NEEDS and OPERATOR_API_VAR in OPERATOR_NEEDS


def _dir(p: Path) -> None:
    p.mkdir()


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _link_to_fifo(p: Path) -> None:
    os.mkfifo(p.with_name("fifo"))
    p.symlink_to("fifo")


def _dangling(p: Path) -> None:
    p.symlink_to("nowhere")


def _loop(p: Path) -> None:
    p.symlink_to(p.name)


def _not_executable(p: Path) -> None:
    p.write_text("#!/bin/sh\n")
    p.chmod(0o644)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (None, "no such file"),
        (_dir, "is a directory"),
        (_fifo, "is not a regular file (a FIFO)"),
        (_link_to_fifo, "is not a regular file (a FIFO)"),
        (_dangling, "no such file"),
        (_loop, "cannot stat it"),
        (_not_executable, "is not executable"),
    ],
)
def test_a_named_binary_that_cannot_run_is_refused_naming_it(
    tmp_path: Path, make: Callable[[Path], None] | None, said: str
) -> None:
    p = tmp_path / "operator"
    if make is not None:
        make(p)
    t0 = time.monotonic()
    with pytest.raises(OperatorUnusable) as e:
        find_operator({OPERATOR_BIN_VAR: str(p)})
    assert time.monotonic() - t0 < 2  # a FIFO is never opened
    msg = str(e.value)
    one_line(msg)
    assert f"{OPERATOR_BIN_VAR}={str(p)!r}" in msg and said in msg, msg


def test_a_path_through_a_file_or_too_long_is_refused(tmp_path: Path) -> None:
    f = executable(tmp_path / "file")
    for raw, said in ((f"{f}/operator", "cannot stat it"), ("/" + "x" * 5000, "cannot stat it")):
        with pytest.raises(OperatorUnusable) as e:
            operator_binary({OPERATOR_BIN_VAR: raw})
        msg = str(e.value)
        one_line(msg)
        assert said in msg and len(msg) < 400, msg[:500]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_shown_escaped(tmp_path: Path, name: str) -> None:
    for p in (tmp_path / name, tmp_path / f"dir{name}"):
        if p.name.startswith("dir"):
            p.mkdir()
        with pytest.raises(OperatorUnusable) as e:
            operator_binary({OPERATOR_BIN_VAR: str(p)})
        msg = str(e.value)
        one_line(msg)
        assert repr(str(p)) in msg


def test_a_symlink_to_an_executable_is_followed_and_a_relative_path_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = executable(tmp_path / "cluster-image-registry-operator")
    (tmp_path / "bin").mkdir()
    link = tmp_path / "bin" / "operator"
    link.symlink_to(real)
    assert operator_binary({OPERATOR_BIN_VAR: str(link)}) == link
    monkeypatch.chdir(tmp_path)
    assert operator_binary({OPERATOR_BIN_VAR: "bin/operator"}) == link


@pytest.mark.parametrize(
    "version", ["v1;touch x", "../../etc", "v1.0.0\n", "latest", "master", "v1.0.0 v2.0.0", "-v", "v" * 300]
)
def test_a_bad_api_version_is_refused_before_any_use(tmp_path: Path, version: str) -> None:
    binary = executable(tmp_path / "operator")
    cache = tmp_path / "cache"
    env = dict(os.environ, REGPLAN_TESTBIN=str(cache), **{OPERATOR_BIN_VAR: str(binary)})
    env[OPERATOR_API_VAR] = version
    with pytest.raises(OperatorUnusable) as e:
        find_operator(env)
    msg = str(e.value)
    one_line(msg)
    assert OPERATOR_API_VAR in msg and "not a Go module version" in msg, msg
    assert not cache.exists()  # nothing written, no `go` run
    assert not (tmp_path / "x").exists()


def test_the_crds_come_from_the_openshift_api_module_once(tmp_path: Path) -> None:
    """The default version (hack/build-testbin.sh's) from the Go module cache or proxy; the second call is
    answered from the testbin cache without `go`."""
    if shutil.which("go") is None:
        pytest.skip("no `go` on PATH: the CRDs come from the openshift/api Go module")
    binary = executable(tmp_path / "operator")
    env = {k: v for k, v in os.environ.items() if k != OPERATOR_API_VAR}
    env.update(REGPLAN_TESTBIN=str(tmp_path / "cache"), **{OPERATOR_BIN_VAR: str(binary)})
    ops = find_operator(env)
    assert ops.binary == binary and ops.crds.parent == tmp_path / "cache" / "operator-crds"
    assert ops.api_version.startswith("v0.0.0-") and ops.crds.name == ops.api_version
    names = set()
    for f in sorted(ops.crds.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        assert doc["kind"] == "CustomResourceDefinition", f
        names.add(doc["metadata"]["name"])
    assert names == CRD_NAMES

    stamp = (ops.crds / "SOURCE").stat().st_mtime_ns
    env[OPERATOR_API_VAR] = ops.api_version  # the same version, named
    assert find_operator(env) == ops
    assert (ops.crds / "SOURCE").stat().st_mtime_ns == stamp  # from the cache, not fetched again


def nested_pytest(env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The operator tier's test files as a user runs them, in a child pytest."""
    env = {k: v for k, v in os.environ.items() if k not in (OPERATOR_BIN_VAR, OPERATOR_API_VAR, "CI")}
    env.update(env_extra)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            f"--basetemp={tmp_path / 'pytest'}",
            "tests/cluster/test_operator_standins.py",
            "tests/cluster/test_operator_journey.py",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("ci", ["", "true"])
def test_the_tier_skips_in_one_line_without_a_binary(tmp_path: Path, ci: str) -> None:
    """`make test` / `.ci/run` on a machine without a binary: every operator test skipped, one summary
    line saying what is needed, exit 0 (CI included: the tier runs only where a binary is supplied)."""
    r = nested_pytest({"CI": ci} if ci else {}, tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    lines = r.stdout.splitlines()
    skipped = [line for line in lines if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and OPERATOR_NEEDS in skipped[0], r.stdout[-3000:]
    assert re.fullmatch(r"\d+ skipped in .*", lines[-1]), lines[-1]


def test_the_tier_fails_naming_a_binary_that_is_not_there(tmp_path: Path) -> None:
    bogus = tmp_path / "no\x1bsuch" / "cluster-image-registry-operator"
    r = nested_pytest({OPERATOR_BIN_VAR: str(bogus)}, tmp_path)
    assert r.returncode != 0
    out = r.stdout
    assert f"{OPERATOR_BIN_VAR}={str(bogus)!r}: no such file" in out, out[-3000:]
    assert "\x1b" not in out and "Traceback" not in out
    assert "SKIPPED" not in out


def _need_userns() -> None:
    problem = userns_problem()
    if problem:
        if in_ci():
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("#!/bin/sh\necho 'operator: flag provided but not defined: -config' >&2\nexit 3\n", "code 3"),
        ("not a program\n", "exited with code"),  # executable bit, no #! and no ELF: exec fails
    ],
)
def test_a_binary_that_dies_at_start_fails_naming_it_with_its_log(
    tmp_path: Path, script: str, said: str
) -> None:
    _need_userns()
    binary = executable(tmp_path / "operator", script)
    ops = OperatorBinaries(binary=binary, crds=tmp_path, api_version="v0.0.0-test")
    op = RegistryOperator(ops, tmp_path / "work", tmp_path / "kubeconfig")
    with pytest.raises(ProcessDied) as e:
        op.start()
    msg = str(e.value)
    assert f"{OPERATOR_BIN_VAR}={str(binary)!r}" in msg and said in msg, msg
    if "flag provided" in script:
        assert "flag provided but not defined" in msg  # its own words, from the log tail


# A stand-in binary for the tier's plumbing only: it checks what the harness promises the operator (its
# certificate at /etc/secrets, its flags and environment), then does the two things the harness waits for
# (ClusterOperator image-registry; Config observedGeneration) until SIGTERM.
FAKE_OPERATOR = """#!{python}
import base64, json, os, signal, ssl, sys, tempfile, time, urllib.request
import yaml

def say(*a):
    print("fake operator:", *a, flush=True)

signal.signal(signal.SIGTERM, lambda *_: (say("SIGTERM"), sys.exit(0)))
flags = dict(a[2:].split("=", 1) for a in sys.argv[1:])
say("flags", sorted(flags))
say("env", {{k: os.environ.get(k) for k in ("RELEASE_VERSION", "WATCH_NAMESPACE", "OPERATOR_NAME")}})
for f in ("/etc/secrets/tls.crt", "/etc/secrets/tls.key"):
    if not os.path.isfile(f):
        say("missing", f)
        sys.exit(3)
say("certificate at /etc/secrets")
cfg = yaml.safe_load(open(flags["kubeconfig"]))
cluster, user = cfg["clusters"][0]["cluster"], cfg["users"][0]["user"]
ca = tempfile.NamedTemporaryFile(suffix=".crt", delete=False)
ca.write(base64.b64decode(cluster["certificate-authority-data"]))
ca.close()
ctx = ssl.create_default_context(cafile=ca.name)

def call(method, path, body=None):
    req = urllib.request.Request(cluster["server"] + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={{"Authorization": "Bearer " + user["token"], "Content-Type": "application/json"}})
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.load(r)

co = {{"apiVersion": "config.openshift.io/v1", "kind": "ClusterOperator"}}
co["metadata"], co["spec"] = {{"name": "image-registry"}}, {{}}
call("POST", "/apis/config.openshift.io/v1/clusteroperators", co)
say("ClusterOperator created")
path = "/apis/imageregistry.operator.openshift.io/v1/configs/cluster"
while True:
    c = call("GET", path)
    if (c.get("status") or {{}}).get("observedGeneration", 0) < c["metadata"]["generation"]:
        c["status"]["observedGeneration"] = c["metadata"]["generation"]
        try:
            call("PUT", path + "/status", c)
            say("observed generation", c["metadata"]["generation"])
        except Exception as e:
            say("retry:", e)
    time.sleep(0.2)
"""


def test_the_operator_cluster_path_with_a_stand_in_binary(cluster_pool: ClusterPool, tmp_path: Path) -> None:
    """Everything ``operator_cluster`` does, up to the operator's own behaviour: its control plane
    (--allow-privileged), the openshift/api CRDs and CONFIG_OBJECTS seeded, the binary started in a user+
    mount namespace with /etc/secrets, the settle wait, a reset after a Config change, SIGTERM at the end."""
    _need_userns()
    if cluster_pool.binaries is None:
        pytest.skip("operator tier: a brought cluster runs its own operator (REGPLAN_TEST_KUBECONFIG)")
    if shutil.which("go") is None:
        pytest.skip("no `go` on PATH: the CRDs come from the openshift/api Go module")
    binary = executable(tmp_path / "fake-operator", FAKE_OPERATOR.format(python=sys.executable))
    env = {k: v for k, v in os.environ.items() if k != OPERATOR_API_VAR}
    ops = find_operator(dict(env, **{OPERATOR_BIN_VAR: str(binary)}))
    host_had_secrets = Path("/etc/secrets").exists()
    pool = ClusterPool(tmp_path / "pool", cluster_pool.binaries)
    try:
        c = pool.get_operator(ops)
        assert c.operator is not None and c.operator.proc is not None and c.operator.proc.alive()
        log = c.operator.log_tail(100)
        assert "certificate at /etc/secrets" in log and "ClusterOperator created" in log, log
        assert "'config', 'kubeconfig'" in log and "'WATCH_NAMESPACE': 'openshift-image-registry'" in log
        assert Path("/etc/secrets").exists() == host_had_secrets  # the overlay is the operator's alone
        served = {d["metadata"]["name"] for d in c.admin.list("CustomResourceDefinition")}
        assert served >= CRD_NAMES | {"imagestreams.image.openshift.io"}
        for obj, status in CONFIG_OBJECTS:
            kind, name = obj["kind"], obj["metadata"]["name"]
            if kind in PLURALS:
                live = c.admin.request("GET", f"/apis/config.openshift.io/v1/{PLURALS[kind]}/{name}")
                if status is not None:
                    assert live.get("status", {}).keys() >= status.keys() - {"availableUpdates"}, kind
        # a test changes the Config: the reset puts it back and waits until the "operator" observed it
        c.admin.patch("Config", "cluster", {"spec": {"replicas": 1}})
        again = pool.get_operator(ops)
        assert again is c and c.admin.get("Config", "cluster")["spec"]["replicas"] == 2
        proc = c.operator.proc
    finally:
        pool.close()
    assert not proc.alive()
    assert "fake operator: SIGTERM" in (tmp_path / "pool" / "ocp4+operator" / "operator.log").read_text()
