"""The standard-library transport: ``ssl`` + sockets (``http11``), without the ``kubernetes`` package.

Why: importing the official client and building its configuration cost ~90-100 ms of every run, and
HTTP through its urllib3 transport was ~30 % of a fleet's CPU (docs/performance.md). regplan sends raw
JSON to explicit paths; it needs the client only for authentication forms it does not implement.

``route`` (pure) says which path a kubeconfig's context takes: this transport for the forms in
``CLUSTER_FIELDS`` / ``USER_FIELDS`` (server, CA file or data, insecure-skip-tls-verify, tls-server-name;
client certificate and key, token, tokenFile, exec plugins v1/v1beta1) and the in-cluster service
account; anything else (auth-provider/OIDC, username/password, impersonation, proxy-url, an environment
proxy that applies, exec with provideClusterInfo or interactiveMode Always) goes to the official client
(``transport.Transport``), unchanged. ``REGPLAN_TRANSPORT=client`` forces the client for every context.

``StdTransport.once`` has ``transport.Transport.once``'s contract: the same errors (``TransientError``
with ``sent``, ``ApiError``, ``ConflictError``, ``ClusterError``), ``Retry-After``, one redacted line.
Connections are kept alive per transport (one per server and credential: ``pool.Pools``), checked for a
server-side close before reuse, at most ``maxsize`` idle.
"""

from __future__ import annotations

import json
import os
import select
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from regplan.base.errors import ClusterError
from regplan.cluster import credentials as cred
from regplan.cluster import http11
from regplan.cluster.apierrors import METHOD_VERB, TransientError, connection_reason, error_for
from regplan.cluster.transport import USER_AGENT, RequestLog, parse_retry_after

# The fields of a cluster / user entry this transport implements; a truthy field outside them sends the
# context to the official client.
CLUSTER_FIELDS: frozenset[str] = frozenset(
    {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify",
     "tls-server-name", "extensions", "disable-compression"}
)  # fmt: skip
USER_FIELDS: frozenset[str] = frozenset(
    {"client-certificate", "client-certificate-data", "client-key", "client-key-data", "token", "tokenFile",
     "exec", "extensions"}
)  # fmt: skip
EXEC_FIELDS: frozenset[str] = frozenset(
    {"apiVersion", "command", "args", "env", "installHint", "interactiveMode", "provideClusterInfo"}
)
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
FORCE_CLIENT = "REGPLAN_TRANSPORT"  # =client: every context through the official client

# In-cluster: the service account the kubelet mounts (client-go's and the Python client's paths).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _proxy_configured(environ: Mapping[str, str]) -> bool:
    """An environment proxy is set: the official client decides whether it applies (with its no_proxy
    rules), so such a context keeps the client's path rather than a second reading of those rules."""
    return any(environ.get(v) for v in PROXY_VARIABLES)


def route(cluster: Mapping[str, Any], user: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """ "" when this context can use ``StdTransport``; else why it goes through the official client."""
    if environ.get(FORCE_CLIENT) == "client":
        return f"{FORCE_CLIENT}=client"
    for section, entry, known in (("cluster", cluster, CLUSTER_FIELDS), ("user", user, USER_FIELDS)):
        other = sorted(k for k, v in entry.items() if k not in known and v not in (None, "", [], {}, False))
        if other:
            return f"{section} field {', '.join(other)}"
    server = str(cluster.get("server") or "")
    if urlsplit(server).scheme not in ("https", "http"):
        return "server is not an http(s) URL"
    insecure = cluster.get("insecure-skip-tls-verify")
    if insecure not in (None, True, False):
        return "insecure-skip-tls-verify is not a boolean"
    has_ca = bool(cluster.get("certificate-authority") or cluster.get("certificate-authority-data"))
    if insecure is True and has_ca:
        return "insecure-skip-tls-verify with a certificate authority"
    has_cert = bool(user.get("client-certificate") or user.get("client-certificate-data"))
    has_key = bool(user.get("client-key") or user.get("client-key-data"))
    if has_cert != has_key:
        return "a client certificate without its key, or a key without its certificate"
    spec = user.get("exec")
    if spec:
        if not isinstance(spec, dict):
            return "exec is not a mapping"
        if user.get("token") or user.get("tokenFile"):
            return "exec with a token"
        if spec.get("apiVersion") not in cred.EXEC_API_VERSIONS:
            return f"exec apiVersion {cred.shown(spec.get('apiVersion'), 80)}"
        if spec.get("provideClusterInfo"):
            return "exec provideClusterInfo"
        if spec.get("interactiveMode") == "Always":
            return "exec interactiveMode Always"
        other = sorted(set(spec) - EXEC_FIELDS)
        if other:
            return f"exec field {', '.join(other)}"
    if _proxy_configured(environ):
        return "an environment proxy is set"
    return ""


class Endpoint:
    """Where and how to connect: the server URL's parts, TLS settings, the credential source."""

    __slots__ = (
        "auth",
        "ca",
        "ca_where",
        "host",
        "hostname",
        "insecure",
        "port",
        "prefix",
        "scheme",
        "server_name",
    )

    def __init__(
        self,
        host: str,  # the server URL as given (without a trailing slash): messages and the request URL base
        scheme: str,
        hostname: str,
        port: int,
        prefix: str,  # a path the server URL carries (e.g. a gateway's /k8s/clusters/ID)
        server_name: str | None,
        auth: cred.Source,
        ca: bytes | None = None,  # PEM; None: the system's roots. Loaded at the first connection
        insecure: bool = False,
        ca_where: str = "",  # names the CA's kubeconfig entry in an error
    ) -> None:
        self.host, self.scheme, self.hostname, self.port, self.prefix = host, scheme, hostname, port, prefix
        self.server_name, self.auth, self.ca, self.insecure, self.ca_where = (
            server_name,
            auth,
            ca,
            insecure,
            ca_where,
        )


def _base_context(ca: bytes | None, insecure: bool, where: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca is not None:
        try:
            ctx.load_verify_locations(cadata=ca.decode("ascii", "replace"))
        except (ssl.SSLError, ValueError):
            raise ClusterError(f"{where}: the certificate authority is not a PEM certificate") from None
    else:
        ctx.load_default_certs()
    return ctx


def _data(entry: Mapping[str, Any], key: str) -> bytes:
    import base64

    return base64.b64decode("".join(str(entry[key]).split()))


def _material(
    entry: Mapping[str, Any], data_key: str, file_key: str, base: str, what: str, where: str
) -> bytes | None:
    """A field's bytes: ``*-data`` (base64) wins over the file, as in client-go."""
    if entry.get(data_key):
        return _data(entry, data_key)
    if entry.get(file_key):
        path = os.path.join(base, os.path.expanduser(str(entry[file_key])))
        return cred.read_credential_file(path, what=what, where=where)
    return None


def endpoint(
    cluster: Mapping[str, Any],
    cluster_where: str,
    cluster_file: str,
    user: Mapping[str, Any],
    user_where: str,
    user_file: str,
    environ: Mapping[str, str],
) -> Endpoint:
    """The endpoint of a context ``route`` accepted; every file it names is read now, once."""
    server = str(cluster["server"]).rstrip("/")
    parts = urlsplit(server)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ClusterError(f"{cluster_where}: server {cred.shown(server)} has an invalid port") from None
    if not parts.hostname:
        raise ClusterError(f"{cluster_where}: server {cred.shown(server)} names no host")
    cbase = os.path.dirname(os.path.abspath(cluster_file)) if cluster_file else ""
    ubase = os.path.dirname(os.path.abspath(user_file)) if user_file else ""
    if parts.scheme == "https":
        ca = _material(
            cluster, "certificate-authority-data", "certificate-authority", cbase, "certificate authority",
            cluster_where,
        )  # fmt: skip
        insecure = cluster.get("insecure-skip-tls-verify") is True
    else:
        ca, insecure = None, False
    cert = _material(
        user, "client-certificate-data", "client-certificate", ubase, "client certificate", user_where
    )
    key = _material(user, "client-key-data", "client-key", ubase, "client key", user_where)
    token_file = str(user["tokenFile"]) if user.get("tokenFile") else None
    spec = None
    if user.get("exec"):
        spec = cred.ExecSpec.parse(user["exec"], ubase, user_where)
    source = cred.Source(
        where=user_where,
        token=str(user["token"]) if user.get("token") else None,
        token_file=os.path.join(ubase, os.path.expanduser(token_file)) if token_file else None,
        exec_spec=spec,
        cert=cred.cert_pair(cert, key),
        environ=environ,
    )
    name = cluster.get("tls-server-name")
    return Endpoint(
        server, parts.scheme, parts.hostname, port, parts.path.rstrip("/"),
        str(name) if name else None, source, ca, insecure, cluster_where,
    )  # fmt: skip


def in_cluster(environ: Mapping[str, str]) -> Endpoint:
    """The pod's service account, as client-go's ``InClusterConfig``: the service's host and port, the
    mounted CA, the mounted token re-read when a minute old."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "")
    where = "in-cluster configuration"
    if not host or not port:
        raise ClusterError(f"{where} unusable: KUBERNETES_SERVICE_HOST and _PORT must both be set")
    token = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if not os.path.isfile(token):
        raise ClusterError(f"{where} unusable: service token file {token} does not exist")
    ca = cred.read_credential_file(os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt"), what="CA", where=where)
    shown_host = f"[{host}]" if ":" in host else host
    try:
        port_number = int(port)
    except ValueError:
        raise ClusterError(f"{where} unusable: KUBERNETES_SERVICE_PORT is not a number") from None
    return Endpoint(
        f"https://{shown_host}:{port}", "https", host, port_number, "", None,
        cred.Source(where=where, token_file=token, environ=environ), ca, False, where,
    )  # fmt: skip


class _Conn:
    """One keep-alive connection (None until connected) and the client certificate it was opened with."""

    __slots__ = ("cert", "conn")

    def __init__(self, cert: tuple[bytes, bytes] | None) -> None:
        self.conn: http11.Connection | None = None
        self.cert = cert

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _dropped(c: _Conn) -> bool:
    """Has the server closed (or written to) an idle connection? Then it must not be reused."""
    if c.conn is None:
        return True
    try:
        poller = select.poll()
        poller.register(c.conn.sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class StdTransport:
    """Requests over ``http11`` with keep-alive connections (thread-safe); see the module text."""

    def __init__(self, ep: Endpoint, request_timeout: tuple[float, float], maxsize: int = 8) -> None:
        self.endpoint = ep
        self.host = ep.host
        self.request_timeout = request_timeout
        self.maxsize = maxsize
        self.requests = RequestLog.new()
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()
        self._contexts: dict[tuple[bytes, bytes] | None, ssl.SSLContext] = {}  # None: no client cert
        bracketed = f"[{ep.hostname}]" if ":" in ep.hostname else ep.hostname
        default = 443 if ep.scheme == "https" else 80
        self._host_header = bracketed if ep.port == default else f"{bracketed}:{ep.port}"

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()

    # ---- connections --------------------------------------------------------------------------

    def _context(self, cert: tuple[bytes, bytes] | None) -> ssl.SSLContext:
        """The TLS context for one client certificate (built once; a rotated exec certificate: its own)."""
        with self._lock:
            found = self._contexts.get(cert)
        if found is not None:
            return found
        ep = self.endpoint
        ctx = _base_context(ep.ca, ep.insecure, ep.ca_where)
        if cert is not None:
            cred.load_client_cert(ctx, cert[0], cert[1], ep.auth.where)
        with self._lock:
            kept: dict[tuple[bytes, bytes] | None, ssl.SSLContext] = {
                k: v for k, v in self._contexts.items() if k is None
            }
            kept[cert] = ctx  # one client certificate at a time: a rotated one replaces the old
            self._contexts = kept
        return ctx

    def _checkout(self, cert: tuple[bytes, bytes] | None) -> _Conn:
        with self._lock:
            while self._idle:
                c = self._idle.pop()
                if c.cert == cert and not _dropped(c):
                    return c
                c.close()
        return _Conn(cert)

    def _connect(self, cert: tuple[bytes, bytes] | None) -> http11.Connection:
        """A new connection (TLS with ``tls-server-name`` as the name checked and sent)."""
        ep = self.endpoint
        ctx = self._context(cert) if ep.scheme == "https" else None
        sock = socket.create_connection((ep.hostname, ep.port), timeout=self.request_timeout[0])
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ctx is not None:
                sock = ctx.wrap_socket(sock, server_hostname=ep.server_name or ep.hostname)
            sock.settimeout(self.request_timeout[1])
        except BaseException:
            sock.close()
            raise
        return http11.Connection(sock, self._host_header)

    def _checkin(self, c: _Conn) -> None:
        with self._lock:
            if len(self._idle) < self.maxsize:
                self._idle.append(c)
                return
        c.close()

    # ---- one request ----------------------------------------------------------------------------

    def once(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
        secrets: Sequence[str] = (),
        log: RequestLog | None = None,
    ) -> tuple[int, Any]:
        """One request; (status, parsed JSON) for 2xx and 404, raises for everything else (and resends
        once after a 401 when the credential is an exec plugin's, fetched again)."""
        sent = self._send(method, path, query, body, content_type, what, log)
        status, payload, raw, retry_after, used = sent
        if status == 401 and self.endpoint.auth.refreshable and self.endpoint.auth.rejected(used):
            sent = self._send(method, path, query, body, content_type, what, log)
            status, payload, raw, retry_after, used = sent
        if 200 <= status < 300 or status == 404:
            return status, payload
        raise error_for(
            status, payload, raw, method=method, what=what, secrets=secrets, retry_after=retry_after
        )

    def _send(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        body: Any,
        content_type: str,
        what: str,
        log: RequestLog | None,
    ) -> tuple[int, Any, bytes, float | None, cred.Credential]:
        credential = self.endpoint.auth.current()
        headers = {"Accept": "application/json", "Content-Type": content_type, "User-Agent": USER_AGENT}
        if credential.token:
            headers["Authorization"] = f"Bearer {credential.token}"
        target = self.endpoint.prefix + path + (f"?{urlencode(list(query))}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        verb = METHOD_VERB.get(method, method.lower())
        c = self._checkout(credential.cert)
        (log or self.requests).add(method)
        if c.conn is None:
            try:
                c.conn = self._connect(credential.cert)
            except ssl.SSLCertVerificationError as err:
                raise ClusterError(
                    f"TLS verification failed for {self.host} ({verb} {what}): "
                    f"certificate verify failed: {cred.shown(err.verify_message or err.reason, 200)}; "
                    "check certificate-authority(-data) and tls-server-name in the kubeconfig"
                ) from None
            except ssl.SSLError as err:
                why = cred.shown(err.reason or err, 200)
                raise ClusterError(f"TLS handshake with {self.host} failed ({verb} {what}): {why}") from None
            except (OSError, ValueError) as err:
                raise TransientError(
                    f"cannot reach the cluster at {self.host} to {verb} {what}: {connection_reason(err)}",
                    sent=False,
                ) from None
        try:
            resp = c.conn.request(method, target, headers, data)
        except ValueError as err:  # a control character in what we were asked to send: never sent
            c.close()
            raise ClusterError(f"cannot {verb} {what}: {err}") from None
        except OSError as err:
            c.close()
            raise TransientError(
                f"connection to {self.host} failed during {verb} {what}: {connection_reason(err)}", sent=True
            ) from None
        if resp.will_close:
            c.close()
        else:
            self._checkin(c)
        payload: Any = None
        if resp.body:
            try:
                payload = json.loads(resp.body)
            except ValueError:
                payload = None
        retry_after = parse_retry_after(resp.headers.get("retry-after"))
        return resp.status, payload, resp.body, retry_after, credential
