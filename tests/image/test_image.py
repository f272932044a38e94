"""regplan's image: the CLI works inside it as Argo CD's sidecar user, and the sidecar layout Argo CD uses
(argocd-cmp-server mounted in as the entrypoint, plugin.yaml at its config path, uid 999, a writable /tmp)
answers the repo-server's gRPC calls (match, parameters, generate) from inside the image.

The cmp-server and its client are built by hack/build-argocd.sh into the testbin cache (the argocd tier);
without them the sidecar tests skip with one line naming the missing binary (fail under CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from imagerun import ROOT, Image, buildah_argv, in_ci

from regplan import __version__

SOCKET = "regplan-v1.sock"  # <metadata.name>-<spec.version>.sock of deploy/argocd/plugin.yaml
CLUSTER = "stage-eu"  # an OpenShift 4 cluster of examples/fleet


def test_image_config_is_the_sidecar_user_with_regplan_as_entrypoint(image: Image) -> None:
    inspect = [*buildah_argv(), "inspect", "--type", "image", image.name]
    p = subprocess.run(inspect, capture_output=True, text=True, check=True)
    config = json.loads(p.stdout)["OCIv1"]["config"]
    assert config["User"] == "999:999"
    assert config["Entrypoint"] == ["regplan"]
    assert config["WorkingDir"] == "/home/argocd"
    assert config["Labels"]["org.opencontainers.image.version"] == __version__
    assert image.name == f"localhost/regplan:{__version__}-{config['Labels']['org.regplan.inputs']}"


def test_version_is_the_package_version(image: Image) -> None:
    p = image.run("regplan", "--version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"regplan {__version__}"


def test_render_in_the_image_is_byte_for_byte_the_golden_file(image: Image) -> None:
    p = image.run("regplan", "render", "-p", "ebs-gp2-rwo")
    assert p.returncode == 0, p.stderr
    assert p.stdout == (ROOT / "golden/render/ebs-gp2-rwo/ocp4/default.yaml").read_text()


def test_bad_input_in_the_image_is_exit_3_without_traceback(image: Image) -> None:
    p = image.run("regplan", "render", "-p", "no-such-profile")
    assert p.returncode == 3 and "no-such-profile" in p.stderr and "Traceback" not in p.stderr


def test_the_image_has_no_pip_no_tests_and_a_readonly_install(image: Image) -> None:
    p = image.run(
        "sh", "-c",
        "ls /opt/regplan/lib/python3.11/site-packages; test -w /opt/regplan && echo WRITABLE; "
        "test -w /tmp && echo TMP-OK; cat /home/argocd/cmp-server/config/plugin.yaml",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    site = p.stdout.split("\n")
    assert "regplan" in site and "pip" not in site, site
    assert not any(n.startswith(("pytest", "_pytest", "build", "hatchling")) for n in site)
    assert "WRITABLE" not in p.stdout and "TMP-OK" in p.stdout
    assert p.stdout.endswith((ROOT / "deploy/argocd/plugin.yaml").read_text())


def repo_server_env(app_path: str = ".") -> dict[str, str]:
    """What argocd-repo-server sets for a plugin's generate command (docs/fleet.md, "Argo CD")."""
    return {
        "ARGOCD_APP_NAME": f"registry-{CLUSTER}",
        "ARGOCD_APP_NAMESPACE": "argocd",
        "ARGOCD_APP_REVISION": "0123abc",
        "ARGOCD_APP_SOURCE_PATH": app_path,
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/platform/registries.git",
        "ARGOCD_APP_PARAMETERS": json.dumps([{"name": "cluster", "string": CLUSTER}]),
    }


def host_generate(workspace: Path) -> str:
    """The same command from this checkout, outside the image: the oracle for what the image prints."""
    env = {**os.environ, **repo_server_env()}
    p = subprocess.run(
        [sys.executable, "-m", "regplan", "argocd-generate"], cwd=workspace, env=env, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "fleet", ws)
    for d in (tmp_path, *[p for p in ws.rglob("*") if p.is_dir()], ws):
        d.chmod(0o755)  # the sidecar user reads the checkout, as the cmp-server's unpacked copy
    return ws


def test_argocd_generate_in_the_image_as_the_repo_server_runs_it(image: Image, workspace: Path) -> None:
    p = image.run(
        "regplan", "argocd-generate",
        volumes={workspace: "/src/repo:ro"}, env=repo_server_env(), workdir="/src/repo",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert p.stdout == host_generate(workspace)
    docs = [d for d in yaml.safe_load_all(p.stdout) if d]
    assert ("Config", "cluster") in [(d["kind"], d["metadata"]["name"]) for d in docs]


# --- the sidecar: Argo CD's cmp-server as the entrypoint, from inside the image ---------------------------


def argocd_bin() -> Path:
    root = Path(os.environ.get("REGPLAN_TESTBIN") or Path.home() / ".cache/regplan/testbin")
    d = root / "argocd" / "current"
    for name in ("argocd-cmp-server", "cmp-client"):
        if not os.access(d / name, os.X_OK):
            msg = f"image tier: {d / name} missing: run bash hack/build-argocd.sh"
            if in_ci():
                pytest.fail(msg, pytrace=False)
            pytest.skip(msg)
    return d.resolve()


@dataclass
class Sidecar:
    client: Path
    socket: Path
    log: Path

    def call(self, op: str, repo: Path, app_path: str = ".", *args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.client), "-socket", str(self.socket), "-op", op, "-repo", str(repo)]
        argv += ["-app-path", app_path, *args]
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)

    def ok(self, op: str, repo: Path, app_path: str = ".", *args: str) -> Any:
        p = self.call(op, repo, app_path, *args)
        assert p.returncode == 0, f"{op}: {p.stderr}\n--- cmp-server log:\n{self.log.read_text()[-3000:]}"
        return json.loads(p.stdout)


def sidecar_container() -> dict[str, Any]:
    """The container deploy/image/repo-server-patch.yaml adds to argocd-repo-server."""
    patch = yaml.safe_load((ROOT / "deploy" / "image" / "repo-server-patch.yaml").read_text())
    [container] = patch["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


def test_the_documented_patch_is_the_sidecar_argocd_expects() -> None:
    c = sidecar_container()
    assert c["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert c["securityContext"] == {"runAsNonRoot": True, "runAsUser": 999}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {
        "var-files": "/var/run/argocd",
        "plugins": "/home/argocd/cmp-server/plugins",
        "cmp-tmp": "/tmp",
    }


def test_docs_show_the_patch_that_is_tested() -> None:
    text = (ROOT / "docs" / "fleet.md").read_text()
    section = text[text.index("### The sidecar image") :]
    block = section[section.index("```yaml\n") + len("```yaml\n") :]
    block = block[: block.index("```")]
    patch = (ROOT / "deploy" / "image" / "repo-server-patch.yaml").read_text()
    assert yaml.safe_load(block) == yaml.safe_load(patch)


@pytest.fixture(scope="module")
def sidecar(image: Image) -> Iterator[Sidecar]:
    """The repo-server's sidecar as deploy/image/repo-server-patch.yaml declares it: its command, its user,
    the cmp-server binary from the `var-files` volume, the `plugins` volume (the socket, shared with the
    repo server: here a host directory the client connects to), an emptyDir at /tmp, the image's
    plugin.yaml."""
    bin_dir = argocd_bin()
    container = sidecar_container()
    user = container["securityContext"]["runAsUser"]
    base = Path(tempfile.mkdtemp(prefix="rpimg", dir="/tmp"))  # unix socket paths are short
    plugins, tmp = base / "plugins", base / "tmp"
    for d in (plugins, tmp):
        d.mkdir()
        os.chown(d, user, user)  # emptyDirs the pod's user owns (fsGroup)
    log = base / "server.log"
    # /var/run is a symlink to /run in the image: a runtime resolves a mount path inside the root
    # filesystem (Kubernetes' /var/run/argocd lands on /run/argocd); buildah mounts /run afresh, so the
    # volume goes to the resolved path, and the command names it as the patch does.
    host = {"var-files": bin_dir, "plugins": plugins, "cmp-tmp": tmp}
    volumes = {
        host[m["name"]]: re.sub(r"^/var/run/", "/run/", m["mountPath"]) for m in container["volumeMounts"]
    }
    argv = image.argv(container["command"], user=f"{user}:{user}", volumes=volumes)
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        socket = plugins / SOCKET
        deadline = time.monotonic() + 60
        while not socket.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                msg = f"argocd-cmp-server did not start in the image:\n{log.read_text()}"
                pytest.fail(msg, pytrace=False)
            time.sleep(0.1)
        yield Sidecar(client=bin_dir / "cmp-client", socket=socket, log=log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the session this fixture started: buildah and the server
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def manifests(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(m) if isinstance(m, str) else m for m in answer["manifests"]]


def test_sidecar_matches_the_workspace(sidecar: Sidecar, workspace: Path) -> None:
    assert sidecar.socket.stat().st_uid == 999  # the server runs as Argo CD's user
    answer = sidecar.ok("match", workspace)
    assert answer["isSupported"] is True


def test_sidecar_announces_the_cluster_parameter(sidecar: Sidecar, workspace: Path) -> None:
    answer = sidecar.ok("params", workspace)
    assert "cluster" in json.dumps(answer)


def test_sidecar_generates_what_regplan_renders(sidecar: Sidecar, workspace: Path) -> None:
    params = json.dumps([{"name": "cluster", "string": CLUSTER}])
    answer = sidecar.ok("generate", workspace, ".", "-params", params)
    expected = [d for d in yaml.safe_load_all(host_generate(workspace)) if d]
    assert manifests(answer) == expected
    by_env = sidecar.ok("generate", workspace, ".", "-env", f"REGPLAN_CLUSTER={CLUSTER}")
    assert manifests(by_env) == expected


def test_sidecar_error_reaches_argocd(sidecar: Sidecar, workspace: Path) -> None:
    params = json.dumps([{"name": "cluster", "string": "no-such-cluster"}])
    p = sidecar.call("generate", workspace, ".", "-params", params)
    assert p.returncode == 1 and "no-such-cluster" in p.stderr, p.stderr
