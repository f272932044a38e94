"""One real control plane: etcd + kube-apiserver + kube-controller-manager on loopback.

Flags follow ../shared/DESIGN.md "The test control plane". Ports are picked free at start; the
apiserver serves TLS on 127.0.0.1 with a self-signed cert from ``--cert-dir`` (its CA is in the same
bundle, so that file is the kubeconfig's CA). Two static token users: ``admin`` (system:masters) and
``limited`` (only system:authenticated: no rights until a test grants them). Every write is in the
audit log (JSON lines). A process that dies during start-up fails ``start()`` with the end of its log.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import yaml

from .binaries import Binaries
from .kube import ApiError, Kube
from .process import ManagedProcess, ProcessDied

KCM_CONTROLLERS = (
    "persistentvolume-binder-controller",
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
    "namespace-controller",
    "garbage-collector-controller",
)

# Metadata level for every write (userAgent, verb, objectRef, responseStatus are in every event);
# reads are not logged. The /version rule is the flush sentinel of AuditLog.flush().
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "Metadata", "verbs": ["create", "update", "patch", "delete", "deletecollection"]},
        {"level": "Metadata", "nonResourceURLs": ["/version"], "users": ["admin"]},
        {"level": "None"},
    ],
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_sa_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


def self_signed_ca(common_name: str, days: int = 2) -> tuple[bytes, bytes]:
    """A new self-signed CA: (certificate PEM, PKCS#8 key PEM)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pkcs8 = serialization.PrivateFormat.PKCS8
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()),
    )


def write_client_ca(cert_path: Path, key_path: Path) -> None:
    """A CA the apiserver trusts for client certificates (--client-ca-file)."""
    cert, key = self_signed_ca("regplan-test-client-ca")
    cert_path.write_bytes(cert)
    key_path.write_bytes(key)


def issue_client_cert(ca_cert: Path, ca_key: Path, user: str, groups: tuple[str, ...]) -> tuple[bytes, bytes]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    issuer = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, user)]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(signer, hashes.SHA256())  # type: ignore[arg-type]
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def kubeconfig(server: str, ca_pem: bytes, users: dict[str, str], current: str = "admin") -> dict[str, Any]:
    """A kubeconfig with one cluster and one context per token user (context name == user name)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "regplan-test",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": u, "user": {"token": t}} for u, t in users.items()],
        "contexts": [{"name": u, "context": {"cluster": "regplan-test", "user": u}} for u in users],
        "current-context": current,
    }


class ControlPlane:
    def __init__(
        self, binaries: Binaries, workdir: Path, name: str = "cp", apiserver_args: tuple[str, ...] = ()
    ) -> None:
        self.binaries = binaries
        self.apiserver_args = apiserver_args
        self.name = name
        self.workdir = workdir
        self.admin_token = secrets.token_hex(16)
        self.limited_token = secrets.token_hex(16)
        self.processes: list[ManagedProcess] = []
        self.port = 0
        self.startup_seconds: dict[str, float] = {}

    # -- paths -------------------------------------------------------------------------------------
    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def cert_dir(self) -> Path:
        return self.workdir / "certs"

    @property
    def ca_file(self) -> Path:
        return self.cert_dir / "apiserver.crt"

    @property
    def key_file(self) -> Path:
        return self.cert_dir / "apiserver.key"

    @property
    def client_ca_file(self) -> Path:
        return self.workdir / "client-ca.crt"

    @property
    def client_ca_key(self) -> Path:
        return self.workdir / "client-ca.key"

    def client_cert(self, user: str, groups: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
        """(certificate, key) PEM of a client-certificate user the apiserver accepts (CN user, O groups)."""
        return issue_client_cert(self.client_ca_file, self.client_ca_key, user, groups)

    @property
    def kubeconfig_path(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    def admin(self) -> Kube:
        return Kube(self.server, str(self.ca_file), self.admin_token)

    def limited(self) -> Kube:
        return Kube(self.server, str(self.ca_file), self.limited_token)

    def kubeconfig_for(self, server: str) -> dict[str, Any]:
        return kubeconfig(
            server, self.ca_file.read_bytes(), {"admin": self.admin_token, "limited": self.limited_token}
        )

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self, timeout: float = 120.0, attempts: int = 3) -> None:
        """Start all three; retried when a port picked free was taken meanwhile (other sessions on
        the machine start control planes too)."""
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(timeout)
                return
            except ProcessDied as e:
                if "address already in use" not in str(e) or attempt == attempts:
                    raise
                self.processes.clear()
                shutil.rmtree(self.workdir / "etcd", ignore_errors=True)

    def _start_once(self, timeout: float) -> None:
        t0 = time.monotonic()
        w = self.workdir
        w.mkdir(parents=True, exist_ok=True)
        self.cert_dir.mkdir(exist_ok=True)
        try:
            self._start_etcd(timeout)
            self.startup_seconds["etcd"] = time.monotonic() - t0
            self._start_apiserver(timeout)
            self.startup_seconds["kube-apiserver"] = time.monotonic() - t0
            self.kubeconfig_path.write_text(yaml.safe_dump(self.kubeconfig_for(self.server)))
            self._start_kcm()
            self.startup_seconds["total"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise

    def _start_etcd(self, timeout: float) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        p = ManagedProcess(
            "etcd",
            [
                str(self.binaries.etcd),
                "--name=default",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                # Test data is throwaway: skip fsync, it dominates write latency on small VMs.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            self.workdir / "etcd.log",
        )
        self.processes.append(p)
        p.start()
        self._wait_http(p, f"{self.etcd_url}/health", timeout)

    def _start_apiserver(self, timeout: float) -> None:
        w = self.workdir
        (w / "tokens.csv").write_text(
            f'{self.admin_token},admin,uid-admin,"system:masters"\n{self.limited_token},limited,uid-limited\n'
        )
        (w / "audit-policy.yaml").write_text(yaml.safe_dump(AUDIT_POLICY))
        write_sa_key(w / "sa.key")
        write_client_ca(self.client_ca_file, self.client_ca_key)
        self.port = free_port()
        p = ManagedProcess(
            "kube-apiserver",
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers={self.etcd_url}",
                "--advertise-address=127.0.0.1",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--cert-dir={self.cert_dir}",
                f"--token-auth-file={w / 'tokens.csv'}",
                f"--client-ca-file={self.client_ca_file}",  # client-certificate users (client_cert)
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={w / 'sa.key'}",
                f"--service-account-signing-key-file={w / 'sa.key'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--endpoint-reconciler-type=none",
                "--disable-admission-plugins=ServiceAccount",
                f"--audit-log-path={self.audit_log}",
                f"--audit-policy-file={w / 'audit-policy.yaml'}",
                # blocking: the event is written in the request's goroutine, so a flush sentinel
                # seen in the log means every earlier completed request is there too.
                "--audit-log-mode=blocking",
                "--audit-log-format=json",
                "--audit-log-maxsize=0",
                *self.apiserver_args,
            ],
            w / "kube-apiserver.log",
        )
        self.processes.append(p)
        p.start()
        deadline = time.monotonic() + timeout
        while True:
            p.check()
            try:
                # The serving cert (our CA file) appears only once the apiserver has generated it.
                admin = self.admin()
                admin.request("GET", "/readyz", timeout=5)
                # The bootstrap controller creates `default` slightly after readyz on some versions.
                admin.request("GET", "/api/v1/namespaces/default", timeout=5)
                return
            except (OSError, ApiError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"kube-apiserver not ready after {timeout:.0f}s; log {p.log_path}")
            time.sleep(0.2)

    def _start_kcm(self) -> None:
        w = self.workdir
        p = ManagedProcess(
            "kube-controller-manager",
            [
                str(self.binaries.kube_controller_manager),
                f"--kubeconfig={self.kubeconfig_path}",
                f"--controllers={','.join(KCM_CONTROLLERS)}",
                "--use-service-account-credentials=false",
                "--leader-elect=false",
                # No provisioning attempts: there are no provisioners here, and kcm 1.37 answers the
                # in-tree names of the seed classes (kubernetes.io/glusterfs, removed in 1.26) with a
                # repeated "ProvisioningFailed: no volume plugin matched" a real 3.11 cluster never
                # shows. The harness plays the provisioner (controllers.bind_pvc / emit_*), so the
                # events a test sees are the ones it asked for, plus the binder's real
                # WaitForFirstConsumer.
                "--enable-dynamic-provisioning=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--cert-dir={w / 'kcm-certs'}",
                f"--authentication-kubeconfig={self.kubeconfig_path}",
                f"--authorization-kubeconfig={self.kubeconfig_path}",
            ],
            w / "kube-controller-manager.log",
        )
        self.processes.append(p)
        p.start()
        # No cheap readiness signal of its own worth waiting on: give it a moment and check it lived.
        time.sleep(0.5)
        p.check()

    def check(self) -> None:
        """Raise ProcessDied if any process has exited."""
        for p in self.processes:
            p.check()

    def stop(self) -> None:
        for p in reversed(self.processes):
            p.stop()

    @staticmethod
    def _wait_http(p: ManagedProcess, url: str, timeout: float) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            p.check()
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ProcessDied(f"{p.name} not healthy at {url} after {timeout:.0f}s; log {p.log_path}")
            time.sleep(0.1)
