"""What a cluster test gets: ``TargetCluster`` (one target's apiserver, seeded and reset) and the
session-wide ``ClusterPool`` that starts one control plane per target lazily.

Why one control plane per target: regplan auto-detects ocp4 when the API group
imageregistry.operator.openshift.io is served, so an ocp3 cluster must not serve it; two small
apiservers (one etcd each) are simpler and more faithful than toggling a CRD between tests.

Bring your own cluster: with ``REGPLAN_TEST_KUBECONFIG`` set, nothing is started; the pool serves the
target that cluster has (tests of the other target skip), there is no ``limited`` user and no audit log,
and reset is conservative (state.Snapshot byo mode).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import controllers
from .audit import AuditLog
from .binaries import Binaries, OperatorBinaries, cache_root
from .controlplane import ControlPlane
from .kube import KINDS, ApiError, Kube, Obj
from .operator import RegistryOperator
from .proxy import ApiProxy
from .seed import REGISTRY_NAMESPACE, seed
from .state import Snapshot


class TargetUnavailable(RuntimeError):
    """The requested target is not what the brought cluster runs."""


@dataclass
class TargetCluster:
    target: str  # "ocp4" | "ocp3"
    server: str
    workdir: Path
    admin: Kube
    limited: Kube | None  # None against a brought cluster
    audit: AuditLog | None  # None against a brought cluster
    snapshot: Snapshot
    control_plane: ControlPlane | None = None
    byo: bool = False
    _kubeconfig: dict[str, Any] = field(default_factory=dict)
    # The real image-registry operator running against this control plane (the ``operator`` tier)
    operator: RegistryOperator | None = None
    config_spec: Obj = field(default_factory=dict)  # Config/cluster spec as the operator settled it

    @property
    def namespace(self) -> str:
        """The registry's namespace for this target."""
        return REGISTRY_NAMESPACE[self.target]

    # -- kubeconfigs --------------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        """Kubeconfig with contexts ``admin`` (current) and ``limited``."""
        return self.workdir / "kubeconfig"

    def kubeconfig_for(self, context: str) -> Path:
        """A kubeconfig whose current-context is ``context`` (for tools without --context)."""
        p = self.workdir / f"kubeconfig-{context}"
        if not p.exists():
            cfg = dict(self._kubeconfig, **{"current-context": context})
            p.write_text(yaml.safe_dump(cfg))
        return p

    def env(self, context: str = "admin", extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig_for(context))
        env.update(extra or {})
        return env

    def run_regplan(
        self,
        *args: str,
        context: str = "admin",
        kubeconfig: Path | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run the regplan CLI end to end (a subprocess, so exit codes and stdout are the real ones)."""
        e = self.env(context, env)
        if kubeconfig is not None:
            e["KUBECONFIG"] = str(kubeconfig)
        return subprocess.run(
            [sys.executable, "-m", "regplan", *args],
            env=e,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # -- controller stand-ins -----------------------------------------------------------------------
    def bind_pvc(self, name: str, namespace: str | None = None, **kw: Any) -> str:
        return controllers.bind_pvc(self.admin, name, namespace or self.namespace, **kw)

    def report_condition(self, type_: str, status: str, reason: str = "", message: str = "") -> Obj:
        return controllers.report_condition(self.admin, type_, status, reason, message)

    def patch_config_status(self, patch: dict[str, Any]) -> Obj:
        return controllers.patch_config_status(self.admin, patch)

    def report_ready(self) -> Obj:
        return controllers.report_ready(self.admin)

    def operator_claim(self, mode: str = "ReadWriteMany", klass: str | None = None) -> Obj:
        return controllers.operator_claim(self.admin, self.namespace, mode=mode, klass=klass)

    def emit_provisioning_failed(self, name: str, namespace: str | None = None, **kw: Any) -> Obj:
        return controllers.emit_provisioning_failed(self.admin, name, namespace or self.namespace, **kw)

    def emit_external_provisioning(self, name: str, namespace: str | None = None) -> Obj:
        return controllers.emit_external_provisioning(self.admin, name, namespace or self.namespace)

    def touch(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        ns = namespace if namespace is not None else (self.namespace if KINDS[kind].namespaced else None)
        return controllers.touch(self.admin, kind, name, ns)

    def grant(self, rules: list[dict[str, Any]], namespace: str | None = None, **kw: Any) -> None:
        controllers.grant(self.admin, rules, namespace=namespace, **kw)

    def events(self, name: str, namespace: str | None = None) -> list[Obj]:
        ns = namespace or self.namespace
        return [e for e in self.admin.list("Event", ns) if e["involvedObject"].get("name") == name]

    # -- proxy --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def proxy(self, latency_ms: float = 0) -> Iterator[ApiProxy]:
        """A fault/latency proxy in front of this apiserver; ``proxy.kubeconfig`` points at it
        (contexts admin/limited as the cluster's)."""
        if self.control_plane is None:
            raise TargetUnavailable("the proxy needs the local control plane (its serving cert)")
        cp = self.control_plane
        p = ApiProxy(
            ("127.0.0.1", cp.port),
            ca_file=str(cp.ca_file),
            cert_file=str(cp.ca_file),
            key_file=str(cp.key_file),
            latency_ms=latency_ms,
        ).start()
        cfg_path = Path(tempfile.mkdtemp(dir=self.workdir)) / "kubeconfig"
        cfg_path.write_text(yaml.safe_dump(cp.kubeconfig_for(p.url)))
        p.kubeconfig = cfg_path
        try:
            yield p
        finally:
            p.stop()

    # -- lifecycle ----------------------------------------------------------------------------------
    def reset(self) -> list[str]:
        if self.control_plane is not None:
            self.control_plane.check()
        if self.operator is None:
            return self.snapshot.reset(self.admin)
        from .operator import restore_config_spec, wait_observed_generation

        # The operator stays up: put the Config spec back, let it observe that, then delete what the
        # test (or the operator for the test) created: claims, PVs, Secrets, grants, Events.
        self.operator.check()
        done = ["restored Config spec"] if restore_config_spec(self.admin, self.config_spec) else []
        wait_observed_generation(self.admin)
        done += self.snapshot.reset(self.admin)
        return done


def kube_from_kubeconfig(path: Path, context: str | None = None) -> tuple[Kube, dict[str, Any]]:
    """A harness client for a brought cluster: token auth (``oc login``) with CA data or file."""
    cfg: dict[str, Any] = yaml.safe_load(path.read_text())
    ctx_name = context or cfg.get("current-context")
    ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
    token = user.get("token")
    if not token:
        raise RuntimeError(
            f"{path}: context {ctx_name} has no token user; log in with `oc login` (token auth)"
        )
    ca = cluster.get("certificate-authority")
    if cluster.get("certificate-authority-data"):
        fd, ca = tempfile.mkstemp(suffix=".crt")
        os.write(fd, base64.b64decode(cluster["certificate-authority-data"]))
        os.close(fd)
    if ca is None:
        raise RuntimeError(f"{path}: cluster {ctx['cluster']} has no CA; the harness verifies TLS")
    return Kube(cluster["server"], ca, token), cfg


def detect_target(kube: Kube) -> str | None:
    try:
        kube.request("GET", "/apis/imageregistry.operator.openshift.io")
        return "ocp4"
    except ApiError:
        pass
    if kube.get_or_none("DeploymentConfig", "docker-registry", "default") is not None:
        return "ocp3"
    return None


class ClusterPool:
    def __init__(
        self, root: Path, binaries: Binaries | None = None, byo_kubeconfig: Path | None = None
    ) -> None:
        self.root = root
        self.binaries = binaries
        self.byo_kubeconfig = byo_kubeconfig
        self.clusters: dict[str, TargetCluster] = {}
        self.timings: dict[str, dict[str, float]] = {}
        self._byo: TargetCluster | None = None
        # A target whose start failed fails every later test the same way instead of retrying.
        self.failed: dict[str, BaseException] = {}

    def get(self, target: str) -> TargetCluster:
        """The cluster for ``target``, started and seeded on first use, reset to its seed state."""
        if self.byo_kubeconfig is not None:
            c = self._byo_cluster()
            if c.target != target:
                raise TargetUnavailable(
                    f"REGPLAN_TEST_KUBECONFIG is an {c.target} cluster; this test needs {target}"
                )
        elif target in self.failed:
            raise RuntimeError(f"the {target} control plane failed to start earlier: {self.failed[target]}")
        elif target not in self.clusters:
            try:
                self.clusters[target] = self._start(target)
            except Exception as e:
                self.failed[target] = e
                raise
            return self.clusters[target]  # fresh from seeding: already clean
        else:
            c = self.clusters[target]
        c.reset()
        return c

    def _start(self, target: str) -> TargetCluster:
        assert self.binaries is not None
        t0 = time.monotonic()
        workdir = self.root / target
        cp = ControlPlane(self.binaries, workdir, name=target)
        cp.start()
        admin = cp.admin()
        try:
            seed(admin, target, self.binaries.config_crd)
        except BaseException:
            cp.stop()
            raise
        snap = Snapshot((REGISTRY_NAMESPACE[target],))
        snap.capture(admin)
        timing = dict(cp.startup_seconds)
        timing["seeded"] = time.monotonic() - t0
        self.timings[target] = timing

        def sentinel(agent: str) -> None:
            admin.with_agent(agent).request("GET", "/version")

        return TargetCluster(
            target=target,
            server=cp.server,
            workdir=workdir,
            admin=admin,
            limited=cp.limited(),
            audit=AuditLog(cp.audit_log, sentinel),
            snapshot=snap,
            control_plane=cp,
            _kubeconfig=cp.kubeconfig_for(cp.server),
        )

    def _byo_cluster(self) -> TargetCluster:
        if self._byo is None:
            assert self.byo_kubeconfig is not None
            admin, cfg = kube_from_kubeconfig(self.byo_kubeconfig)
            target = detect_target(admin)
            if target is None:
                raise TargetUnavailable(
                    f"{self.byo_kubeconfig}: neither an OpenShift 4.x nor 3.x registry found"
                )
            workdir = self.root / "byo"
            workdir.mkdir(parents=True, exist_ok=True)
            (workdir / "kubeconfig").write_text(yaml.safe_dump(cfg))
            snap = Snapshot((REGISTRY_NAMESPACE[target],), byo=True)
            snap.capture(admin)
            self._byo = TargetCluster(
                target=target,
                server=admin.server,
                workdir=workdir,
                admin=admin,
                limited=None,
                audit=None,
                snapshot=snap,
                byo=True,
                _kubeconfig=cfg,
            )
            return self._byo
        return self._byo

    def get_operator(self, ops: OperatorBinaries) -> TargetCluster:
        """The 4.x control plane with the real operator running (its own; started on first use)."""
        key = "ocp4+operator"
        if key in self.failed:
            raise RuntimeError(f"the {key} control plane failed to start earlier: {self.failed[key]}")
        if key in self.clusters:
            c = self.clusters[key]
            c.reset()
            return c
        try:
            self.clusters[key] = self._start_operator(ops, key)
        except Exception as e:
            self.failed[key] = e
            raise
        return self.clusters[key]

    def _start_operator(self, ops: OperatorBinaries, key: str) -> TargetCluster:
        from .operator import seed_operator_world, wait_settled

        assert self.binaries is not None
        t0 = time.monotonic()
        workdir = self.root / key
        # --allow-privileged: the operator's node-ca DaemonSet is privileged; refused, that controller
        # fails every sync and turns Degraded after 2 minutes.
        cp = ControlPlane(self.binaries, workdir, name=key, apiserver_args=("--allow-privileged=true",))
        cp.start()
        admin = cp.admin()
        op = RegistryOperator(ops, workdir, cp.kubeconfig_path)
        try:
            seed(admin, "ocp4", self.binaries.config_crd)
            seed_operator_world(admin, ops)
            timing = dict(cp.startup_seconds)
            timing["seeded"] = time.monotonic() - t0
            op.start()
            cfg = wait_settled(admin)
            timing["operator synced"] = time.monotonic() - t0
        except BaseException:
            op.stop()
            cp.stop()
            raise
        from .state import Snapshot

        # Only what tests and regplan create is tracked; the operator owns the rest (and rewrites it).
        snap = Snapshot(
            (REGISTRY_NAMESPACE["ocp4"],),
            namespaced=("PersistentVolumeClaim", "Secret", "Role", "RoleBinding", "Deployment"),
            cluster_kinds=(
                "PersistentVolume",
                "StorageClass",
                "ClusterRole",
                "ClusterRoleBinding",
                "Namespace",
            ),
            # The Deployment too: with no AWS here the operator cannot render the S3 one again after a
            # test moved the registry to a claim (its S3 sync fails first), so the reset does it.
            restore=frozenset({"StorageClass", "Deployment"}),
            status=frozenset(),
            # what the operator creates (Secrets, RBAC, its claim for claim "") is its own business,
            # except the claim: a test's claim "" leaves one that the next test must not see
            keep_managers=("cluster-image-registry-operator",),
            keep_kinds_of_managers=frozenset(
                {"Secret", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
            ),
        )
        snap.capture(admin)
        self.timings[key] = timing

        def sentinel(agent: str) -> None:
            admin.with_agent(agent).request("GET", "/version")

        return TargetCluster(
            target="ocp4",
            server=cp.server,
            workdir=workdir,
            admin=admin,
            limited=cp.limited(),
            audit=AuditLog(cp.audit_log, sentinel),
            snapshot=snap,
            control_plane=cp,
            _kubeconfig=cp.kubeconfig_for(cp.server),
            operator=op,
            config_spec=cfg["spec"],
        )

    def close(self) -> None:
        for c in self.clusters.values():
            if c.operator is not None:
                c.operator.stop()  # SIGTERM first: it releases its leader Lease
            if c.control_plane is not None:
                c.control_plane.stop()
        self.clusters.clear()


def tools_dir() -> Path:
    return cache_root() / "tools"


def kubectl() -> str | None:
    """The kubectl of hack/get-kubectl.sh if present, else one on PATH."""
    p = tools_dir() / "kubectl"
    return str(p) if p.exists() else shutil.which("kubectl")
