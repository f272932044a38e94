"""The REAL cluster-image-registry-operator in a 4.x test control plane (the ``operator`` tier): a
binary the user supplies (``REGPLAN_OPERATOR_BIN``, binaries.find_operator); nothing here builds it.

What it needs (observed, see docs/control-plane.md "The operator tier"):
- the openshift/api CRDs of the version it was built against (``OperatorBinaries.crds``) plus a schemaless
  ImageStream CRD (image.openshift.io is an aggregated API in OpenShift; without a stand-in one informer
  logs a watch error every few seconds);
- the cluster-scoped config objects it reads (``CONFIG_OBJECTS``), with the statuses it checks: a
  FeatureGate status listing every gate it asks about for ``RELEASE_VERSION`` (an unlisted gate panics);
- ``Config/cluster`` BEFORE it starts (else it bootstraps its own, Removed on platform None);
- kube-apiserver ``--allow-privileged=true`` (its node-ca DaemonSet is privileged);
- its metrics certificate at the fixed paths ``/etc/secrets/tls.{crt,key}``: it runs in an unprivileged
  user+mount namespace (``unshare -Urm``) with an overlay on /etc that adds them; the host is unchanged.

There is no kubelet nor Deployment controller: ``mark_available`` plays them (the Deployment's and the
node-ca DaemonSet's /status), and ``AutoRollout`` does it in the background whenever the operator
changes the Deployment. The provisioner stays the stand-in of controllers.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from .binaries import OPERATOR_BIN_VAR, OperatorBinaries, OperatorUnusable, shown
from .controllers import now
from .kube import JSON_PATCH, MERGE_PATCH, ApiError, Kube, Obj
from .process import ManagedProcess, tail

RELEASE_VERSION = "4.22.0-regplan-test"
NAMESPACE = "openshift-image-registry"
DEPLOYMENT = "image-registry"
DAEMONSET = "node-ca"
IMAGE_STREAM_CRD: Obj = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "imagestreams.image.openshift.io"},
    "spec": {
        "group": "image.openshift.io",
        "names": {
            "kind": "ImageStream",
            "listKind": "ImageStreamList",
            "plural": "imagestreams",
            "singular": "imagestream",
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}

CFG = "config.openshift.io/v1"
# (object, status written through /status or None): one row per object the operator reads, and why.
CONFIG_OBJECTS: list[tuple[Obj, Obj | None]] = [
    # where it reads the cluster's config (and the pull secret's namespace)
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openshift-config"}}, None),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openshift-config-managed"}}, None),
    # copied into installation-pull-secrets; without it the operator writes an empty dockerconfigjson
    # that kube-apiserver refuses, and the sync stops there
    (
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "pull-secret", "namespace": "openshift-config"},
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": '{"auths":{}}'},
        },
        None,
    ),
    (
        {
            "apiVersion": CFG,
            "kind": "Infrastructure",
            "metadata": {"name": "cluster"},
            "spec": {"platformSpec": {"type": "None"}},
        },
        {
            "infrastructureName": "regplan-x1",
            "platform": "None",
            "platformStatus": {"type": "None"},
            "controlPlaneTopology": "HighlyAvailable",
            "infrastructureTopology": "HighlyAvailable",
            "apiServerURL": "https://api.regplan.invalid:6443",
            "apiServerInternalURI": "https://api-int.regplan.invalid:6443",
            "etcdDiscoveryDomain": "",
        },
    ),
    # every gate it asks about must be listed for its version, or FeatureGate.Enabled panics
    (
        {"apiVersion": CFG, "kind": "FeatureGate", "metadata": {"name": "cluster"}, "spec": {}},
        {
            "featureGates": [
                {"version": RELEASE_VERSION, "enabled": [], "disabled": [{"name": "ImageStreamImportMode"}]}
            ]
        },
    ),
    (
        {
            "apiVersion": CFG,
            "kind": "ClusterVersion",
            "metadata": {"name": "version"},
            "spec": {"clusterID": "6f3c2a49-1d3e-4a55-9c3e-0b7e3f1f9a10"},
        },
        {
            "desired": {"version": RELEASE_VERSION, "image": "example.invalid/release:test"},
            "observedGeneration": 1,
            "versionHash": "test",
            "availableUpdates": None,
            "history": [
                {
                    "state": "Completed",
                    "version": RELEASE_VERSION,
                    "image": "example.invalid/release:test",
                    "startedTime": "2026-01-01T00:00:00Z",
                    "completionTime": "2026-01-01T00:00:00Z",
                    "verified": False,
                }
            ],
        },
    ),
    ({"apiVersion": CFG, "kind": "Image", "metadata": {"name": "cluster"}, "spec": {}}, None),
    ({"apiVersion": CFG, "kind": "APIServer", "metadata": {"name": "cluster"}, "spec": {}}, None),
    ({"apiVersion": CFG, "kind": "Proxy", "metadata": {"name": "cluster"}, "spec": {}}, None),
]
PLURALS = {
    "Infrastructure": "infrastructures",
    "FeatureGate": "featuregates",
    "ClusterVersion": "clusterversions",
    "Image": "images",
    "APIServer": "apiservers",
    "Proxy": "proxies",
}
# The namespace annotation OpenShift's SCC machinery sets; the operator reads it for the pod's fsGroup.
SCC_ANNOTATION = {"openshift.io/sa.scc.supplemental-groups": "1000390000/10000"}


def userns_problem() -> str | None:
    """None when ``unshare -Urm`` works here, else the evidence (one line)."""
    if shutil.which("unshare") is None:
        return (
            "operator tier: `unshare` (util-linux) not found; "
            "the operator needs /etc/secrets via a user+mount namespace"
        )
    r = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        return (
            "operator tier: unprivileged user+mount namespaces unavailable (`unshare -Urm true`: "
            f"{r.stderr.strip() or r.returncode}); the operator reads /etc/secrets/tls.{{crt,key}}"
        )
    return None


def _path(kind: str, name: str, sub: str = "") -> str:
    return f"/apis/{CFG}/{PLURALS[kind]}/{name}" + (f"/{sub}" if sub else "")


def seed_operator_world(kube: Kube, ops: OperatorBinaries) -> None:
    """CRDs and objects the operator needs, on a control plane already seeded as ocp4 (manifests/ocp4)."""
    from .seed import create_with_status, load_docs, wait_crd_served

    crds = [d for f in sorted(ops.crds.glob("*.yaml")) for d in load_docs(f)]
    crds.append(IMAGE_STREAM_CRD)
    for crd in crds:
        name = crd["metadata"]["name"]
        if name == "configs.imageregistry.operator.openshift.io":
            continue  # seeded already (from the testbin module; same group/version/schema shape)
        create_with_status(kube, crd)
    for crd in crds:
        wait_crd_served(kube, crd)
    ns = kube.get("Namespace", NAMESPACE)
    ns["metadata"].setdefault("annotations", {}).update(SCC_ANNOTATION)
    kube.replace(ns)
    for obj, status in CONFIG_OBJECTS:
        kind = obj["kind"]
        if kind in PLURALS:
            kube.request("POST", f"/apis/{CFG}/{PLURALS[kind]}", obj)
            if status is not None:
                # a JSON patch: a merge patch would drop ClusterVersion's required `availableUpdates: null`
                kube.request(
                    "PATCH",
                    _path(kind, obj["metadata"]["name"], "status"),
                    [{"op": "add", "path": "/status", "value": status}],
                    content_type=JSON_PATCH,
                )
        else:
            kube.create(obj)


class RegistryOperator:
    """One operator process against one control plane; started once per test run, SIGTERM at the end."""

    def __init__(self, ops: OperatorBinaries, workdir: Path, kubeconfig: Path) -> None:
        self.ops = ops
        self.workdir = workdir
        self.kubeconfig = kubeconfig
        self.log_path = workdir / "operator.log"
        self.proc: ManagedProcess | None = None
        self.started_seconds = 0.0

    def start(self) -> None:
        problem = userns_problem()
        if problem:
            raise OperatorUnusable(problem)
        w = self.workdir
        (w / "secrets").mkdir(parents=True, exist_ok=True)
        for d in ("ovl/up", "ovl/wk"):
            (w / d).mkdir(parents=True, exist_ok=True)
        _self_signed(w / "secrets")
        from .controlplane import free_port

        (w / "operator-config.yaml").write_text(
            "apiVersion: config.openshift.io/v1\nkind: GenericControllerConfig\n"
            f"servingInfo:\n  bindAddress: 127.0.0.1:{free_port()}\n"
        )
        # In a private user+mount namespace, overlay /etc so /etc/secrets/tls.{crt,key} exist for this
        # process only. The namespace keeps the host network (the loopback apiserver).
        script = w / "in-ns.sh"
        script.write_text(
            "#!/bin/sh\nset -e\n"
            f'mount -t overlay overlay -o "lowerdir=/etc,upperdir={w}/ovl/up,workdir={w}/ovl/wk" /etc\n'
            "mkdir -p /etc/secrets\n"
            f'cp "{w}/secrets/tls.crt" "{w}/secrets/tls.key" /etc/secrets/\n'
            'exec "$@"\n'
        )
        script.chmod(0o755)
        env = dict(
            os.environ,
            RELEASE_VERSION=RELEASE_VERSION,
            OPERATOR_IMAGE_VERSION=RELEASE_VERSION,
            WATCH_NAMESPACE=NAMESPACE,
            OPERATOR_NAME="cluster-image-registry-operator",
            POD_NAME="regplan-test",
            IMAGE="quay.io/openshift/origin-docker-registry:test",
            IMAGE_PRUNER="quay.io/openshift/origin-cli:test",
            OPERATOR_IMAGE="quay.io/openshift/origin-cluster-image-registry-operator:test",
        )
        t0 = time.monotonic()
        self.proc = ManagedProcess(
            f"the operator ({OPERATOR_BIN_VAR}={shown(str(self.ops.binary))})",
            [
                "unshare",
                "--user",
                "--map-root-user",
                "--mount",
                str(script),
                str(self.ops.binary),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={w / 'operator-config.yaml'}",
            ],
            self.log_path,
            env=env,
        )
        self.proc.start()
        time.sleep(0.5)
        self.proc.check()
        self.started_seconds = time.monotonic() - t0

    def check(self) -> None:
        if self.proc is not None:
            self.proc.check()

    def stop(self) -> None:
        """SIGTERM (its leader Lease is released; a SIGKILL would leave it held for 137 s)."""
        if self.proc is not None:
            self.proc.stop(timeout=15.0)

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)


def _self_signed(d: Path) -> None:
    """The metrics serving cert the operator insists on reading (content irrelevant to the tests)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    t = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t - dt.timedelta(minutes=5))
        .not_valid_after(t + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    (d / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


# --- playing kubelet + Deployment controller ----------------------------------------------------------


def mark_available(kube: Kube, generation: int | None = None) -> bool:
    """Report deploy/image-registry (and the node-ca DaemonSet) rolled out and available, as the
    Deployment controller and kubelets would: status for the CURRENT generation (or only if that is
    ``generation``: the one whose claims were checked). False if absent or moved on."""
    d = kube.get_or_none("Deployment", DEPLOYMENT, NAMESPACE)
    if d is None or (generation is not None and d["metadata"]["generation"] != generation):
        return False
    n = int(d["spec"].get("replicas") or 0)
    ts = now()
    status = {
        "observedGeneration": d["metadata"]["generation"],
        "replicas": n,
        "updatedReplicas": n,
        "readyReplicas": n,
        "availableReplicas": n,
        "unavailableReplicas": None,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "marked by the test harness",
                "lastUpdateTime": ts,
                "lastTransitionTime": ts,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": "marked by the test harness",
                "lastUpdateTime": ts,
                "lastTransitionTime": ts,
            },
        ],
    }
    try:
        kube.patch("Deployment", DEPLOYMENT, {"status": status}, NAMESPACE, sub="status")
    except ApiError as e:
        if e.status != 404:
            raise
        return False
    ds_path = f"/apis/apps/v1/namespaces/{NAMESPACE}/daemonsets/{DAEMONSET}"
    try:
        ds = kube.request("GET", ds_path)
        kube.request(
            "PATCH",
            ds_path + "/status",
            {
                "status": {
                    "observedGeneration": ds["metadata"]["generation"],
                    "currentNumberScheduled": 1,
                    "desiredNumberScheduled": 1,
                    "numberMisscheduled": 0,
                    "numberReady": 1,
                    "numberAvailable": 1,
                    "updatedNumberScheduled": 1,
                }
            },
            content_type=MERGE_PATCH,
        )
    except ApiError as e:
        if e.status != 404:
            raise
    return True


def rollout_pending(kube: Kube) -> bool:
    d = kube.get_or_none("Deployment", DEPLOYMENT, NAMESPACE)
    if d is None:
        return False
    st = d.get("status") or {}
    return int(st.get("observedGeneration") or 0) < int(d["metadata"]["generation"])


# Provisioners (by StorageClass provisioner) that refuse ReadWriteMany: the EBS ones (docs/domain.md).
RWO_ONLY = frozenset({"kubernetes.io/aws-ebs", "ebs.csi.aws.com"})


def provision(kube: Kube, claim: str) -> str:
    """The provisioner stand-in, for a claim a (pretend) scheduled registry pod mounts: EBS refuses
    ReadWriteMany with its real ProvisioningFailed event; every other claim gets a PV and binds.
    Returns "bound", "failed" or "pending" (claim absent)."""
    from .controllers import bind_pvc, emit_provisioning_failed

    pvc = kube.get_or_none("PersistentVolumeClaim", claim, NAMESPACE)
    if pvc is None:
        return "pending"
    if (pvc.get("status") or {}).get("phase") == "Bound":
        return "bound"
    cls = pvc["spec"].get("storageClassName") or ""
    sc = kube.get_or_none("StorageClass", cls) if cls else None
    if (sc or {}).get("provisioner") in RWO_ONLY and "ReadWriteMany" in pvc["spec"].get("accessModes", []):
        uid = pvc["metadata"]["uid"]
        events = kube.list("Event", NAMESPACE)
        if not any(
            e.get("reason") == "ProvisioningFailed" and e["involvedObject"].get("uid") == uid for e in events
        ):
            emit_provisioning_failed(kube, claim, NAMESPACE)
        return "failed"
    bind_pvc(kube, claim, NAMESPACE)
    return "bound"


class AutoRollout:
    """Background stand-in for the scheduler, provisioner, Deployment controller and kubelets: whenever
    deploy/image-registry has a generation not yet observed, provision the claims its template mounts
    (``provision``), wait ``delay`` seconds (a rollout takes time) and, if every claim is Bound (a pod
    with an unbound claim never starts), mark it rolled out and available."""

    def __init__(self, kube: Kube, delay: float = 1.0, interval: float = 0.1) -> None:
        self.kube, self.delay, self.interval = kube, delay, interval
        self.rollouts = 0
        self.failed_claims: set[str] = set()
        self.errors: list[str] = []  # what went wrong in the thread (shown by tests that time out)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="auto-rollout", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            # a failed round is retried by the next; the test asserts outcomes, not this thread
            try:
                self._once()
            except Exception as e:  # recorded for the failure message of a test that times out
                self.errors.append(f"{type(e).__name__}: {e}")
            self._stop.wait(self.interval)

    def _once(self) -> None:
        if not rollout_pending(self.kube):
            return
        d = self.kube.get("Deployment", DEPLOYMENT, NAMESPACE)
        states = {c: provision(self.kube, c) for c in deployment_claims(d)}
        self.failed_claims |= {c for c, st in states.items() if st == "failed"}
        if any(st != "bound" for st in states.values()):
            return
        self._stop.wait(self.delay)
        # only the template whose claims were provisioned: the operator may have changed it meanwhile
        if mark_available(self.kube, d["metadata"]["generation"]):
            self.rollouts += 1

    def __enter__(self) -> AutoRollout:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


# --- reading what the operator did ---------------------------------------------------------------------


def conditions(cfg: Obj | None) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in ((cfg or {}).get("status") or {}).get("conditions") or []}


def deployment_claims(d: Obj | None) -> list[str]:
    vols = ((((d or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or []
    return [v["persistentVolumeClaim"]["claimName"] for v in vols if "persistentVolumeClaim" in v]


def registry_env(d: Obj | None) -> dict[str, str]:
    containers = ((((d or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    return {e["name"]: e.get("value", "") for c in containers[:1] for e in c.get("env") or []}


def observed(cfg: Obj) -> bool:
    """The operator has synced the Config's current generation and recorded its storage in status."""
    st = cfg.get("status") or {}
    if int(st.get("observedGeneration") or 0) < int(cfg["metadata"].get("generation") or 0):
        return False
    want = {k: v for k, v in (cfg["spec"].get("storage") or {}).items() if k != "managementState"}
    have = {k: v for k, v in (st.get("storage") or {}).items() if k != "managementState"}
    return want == have


# --- reset between tests, the operator still running ------------------------------------------------------


def restore_config_spec(kube: Kube, spec: Obj, attempts: int = 20) -> bool:
    """PUT the baseline spec back (the operator writes the Config too: retried on 409). True if changed."""
    for _ in range(attempts):
        cfg = kube.get("Config", "cluster")
        if cfg["spec"] == spec:
            return False
        cfg["spec"] = spec
        cfg.pop("status", None)
        try:
            kube.replace(cfg)
            return True
        except ApiError as e:
            if e.status != 409:
                raise
        time.sleep(0.1)
    raise TimeoutError("reset: Config/cluster spec kept changing under the operator")


def wait_observed_generation(kube: Kube, timeout: float = 30.0) -> Obj:
    """Until the operator has synced the Config's current generation; returns that Config."""
    deadline = time.monotonic() + timeout
    while True:
        cfg = kube.get("Config", "cluster")
        st = cfg.get("status") or {}
        if int(st.get("observedGeneration") or 0) >= int(cfg["metadata"]["generation"]):
            return cfg
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the operator did not observe generation {cfg['metadata']['generation']} in {timeout:.0f}s"
            )
        time.sleep(0.1)


def wait_settled(kube: Kube, quiet: float = 2.0, timeout: float = 90.0) -> Obj:
    """After start: the operator has synced (its ClusterOperator exists, observedGeneration caught up)
    and has stopped writing the Config for ``quiet`` seconds. Returns that Config."""
    deadline = time.monotonic() + timeout
    last_rv, since = "", time.monotonic()
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the operator did not settle within {timeout:.0f}s")
        try:
            kube.request("GET", f"/apis/{CFG}/clusteroperators/image-registry")
        except ApiError as e:
            if e.status != 404:
                raise
            time.sleep(0.2)
            continue
        cfg = wait_observed_generation(kube, timeout=max(1.0, deadline - time.monotonic()))
        rv = cfg["metadata"]["resourceVersion"]
        if rv != last_rv:
            last_rv, since = rv, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return cfg
        time.sleep(0.2)
