"""An HTTP-aware fault-injection proxy on 127.0.0.1 in front of the test apiserver.

It terminates TLS with the apiserver's own serving cert (whose SANs include 127.0.0.1, so a kubeconfig
pointing at the proxy keeps the same CA), reads each HTTP/1.1 request, and forwards it over its own TLS
connection to the apiserver. Because it sees requests it can
- add ``latency_ms`` before each request (benchmarks: "plan makes N round trips" becomes visible),
- on the k-th request matching a predicate (e.g. the 2nd write), reset the connection (TCP RST) or
  answer 503 instead of forwarding (apply fault tests),
- record every request (method, path, user agent) for assertions.

ALPN is not offered, so Go (kubectl) and Python clients speak HTTP/1.1 to it. Streaming responses
(watch) are relayed chunk by chunk. Upgrades (exec/port-forward) are not supported. Threads, no asyncio:
the load is a handful of connections.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Action = Literal["reset", "503", "call"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")


def is_write(req: Request) -> bool:
    return req.method in WRITE_METHODS


def matching(
    method: str | None = None, path_contains: str | None = None, agent: str | None = None
) -> Callable[[Request], bool]:
    """A predicate: every given criterion must hold (agent is a user-agent prefix)."""

    def pred(req: Request) -> bool:
        return (
            (method is None or req.method == method)
            and (path_contains is None or path_contains in req.path)
            and (agent is None or req.user_agent.startswith(agent))
        )

    return pred


@dataclass
class Fault:
    predicate: Callable[[Request], bool]
    nth: int  # 1-based: fire on the nth matching request
    action: Action
    seen: int = 0
    fired: list[Request] = field(default_factory=list)
    repeat: bool = False  # also fire on every later match
    # For action "call": run before the request is forwarded (it is then forwarded normally), e.g. to
    # change the object behind the client's back between its read and its write.
    callback: Callable[[Request], object] | None = None


class _Closed(Exception):
    pass


def _read_line(f: BinaryIO) -> bytes:
    line = f.readline(65537)
    if not line:
        raise _Closed
    return line


def _read_head(f: BinaryIO) -> tuple[str, list[tuple[str, str]]]:
    first = _read_line(f).decode("latin-1").rstrip("\r\n")
    headers: list[tuple[str, str]] = []
    while True:
        line = _read_line(f).decode("latin-1").rstrip("\r\n")
        if not line:
            return first, headers
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))


def _read_chunked(f: BinaryIO) -> bytes:
    out = bytearray()
    while True:
        size = int(_read_line(f).split(b";")[0].strip(), 16)
        if size == 0:
            while _read_line(f) not in (b"\r\n", b"\n"):
                pass
            return bytes(out)
        out += f.read(size)
        f.read(2)


def _hget(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


class ApiProxy:
    def __init__(
        self, upstream: tuple[str, int], *, ca_file: str, cert_file: str, key_file: str, latency_ms: float = 0
    ) -> None:
        self.upstream = upstream
        self.latency_ms = latency_ms
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_ctx.load_cert_chain(cert_file, key_file)
        self._client_ctx = ssl.create_default_context(cafile=ca_file)
        self._sock: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._stopped = threading.Event()
        self.port = 0
        # Set by TargetCluster.proxy(): a kubeconfig whose server is this proxy.
        self.kubeconfig: Path | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # -- control ------------------------------------------------------------------------------------
    def fail_nth(
        self,
        nth: int,
        action: Action = "reset",
        predicate: Callable[[Request], bool] = is_write,
        *,
        repeat: bool = False,
    ) -> Fault:
        """On the ``nth`` request matching ``predicate`` (default: any write), reset or answer 503."""
        f = Fault(predicate, nth, action, repeat=repeat)
        with self._lock:
            self.faults.append(f)
        return f

    def on_nth(
        self,
        nth: int,
        callback: Callable[[Request], object],
        predicate: Callable[[Request], bool] = is_write,
        *,
        repeat: bool = False,
    ) -> Fault:
        """Run ``callback`` just before forwarding the ``nth`` request matching ``predicate``."""
        f = Fault(predicate, nth, "call", repeat=repeat, callback=callback)
        with self._lock:
            self.faults.append(f)
        return f

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.requests.clear()

    def writes(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if is_write(r)]

    def start(self) -> ApiProxy:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        self._sock = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept, name="api-proxy-accept", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._sock is not None:
            self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()

    def __enter__(self) -> ApiProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ------------------------------------------------------------------------------------
    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stopped.is_set():
            try:
                c, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), name="api-proxy-conn", daemon=True).start()

    def _decide(self, req: Request) -> Action | None:
        callbacks: list[Callable[[Request], object]] = []
        action: Action | None = None
        with self._lock:
            self.requests.append(req)
            for f in self.faults:
                if f.predicate(req):
                    f.seen += 1
                    if f.seen == f.nth or (f.repeat and f.seen > f.nth):
                        f.fired.append(req)
                        if f.action == "call" and f.callback is not None:
                            callbacks.append(f.callback)
                        elif action is None:
                            action = f.action
        for cb in callbacks:  # outside the lock: a callback may talk to the apiserver
            cb(req)
        return action

    def _serve(self, raw: socket.socket) -> None:
        up: ssl.SSLSocket | None = None
        # The response head and body go out in separate sends: without TCP_NODELAY the body waits for the
        # client's delayed ACK (~40 ms), and every request would cost about twice the latency asked for.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            c = self._server_ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with self._lock:
            self._conns.add(c)
        cf = c.makefile("rb")
        try:
            while not self._stopped.is_set():
                first, headers = _read_head(cf)
                method, path, _ = first.split(" ", 2)
                if _hget(headers, "transfer-encoding").lower() == "chunked":
                    body = _read_chunked(cf)
                    headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
                    headers.append(("Content-Length", str(len(body))))
                else:
                    n = int(_hget(headers, "content-length") or 0)
                    body = cf.read(n) if n else b""
                req = Request(method, path, {k.lower(): v for k, v in headers}, body)
                action = self._decide(req)
                if self.latency_ms:
                    time.sleep(self.latency_ms / 1000)
                if action == "reset":
                    # SO_LINGER 0: close() sends RST, the client sees "connection reset by peer".
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if action == "503":
                    payload = json.dumps(
                        {
                            "kind": "Status",
                            "apiVersion": "v1",
                            "metadata": {},
                            "status": "Failure",
                            "message": "injected by the regplan test proxy",
                            "reason": "ServiceUnavailable",
                            "code": 503,
                        }
                    ).encode()
                    c.sendall(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                        + payload
                    )
                    continue
                if up is None:
                    upstream = socket.create_connection(self.upstream)
                    upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    up = self._client_ctx.wrap_socket(upstream, server_hostname=self.upstream[0])
                    uf = up.makefile("rb")
                head = first + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
                up.sendall(head.encode("latin-1") + body)
                keep = self._relay_response(uf, c, method)
                if not keep or _hget(headers, "connection").lower() == "close":
                    return
        except (_Closed, OSError, ssl.SSLError, ValueError):
            return
        finally:
            with self._lock:
                self._conns.discard(c)
            for s in (c, up):
                if s is not None:
                    with contextlib.suppress(OSError):
                        s.close()

    @staticmethod
    def _relay_response(uf: BinaryIO, c: ssl.SSLSocket, method: str) -> bool:
        """Copy one response from upstream to the client; False if the connection must close."""
        status_line, headers = _read_head(uf)
        code = int(status_line.split(" ", 2)[1])
        c.sendall(
            (status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1")
        )
        if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
            return True
        if _hget(headers, "transfer-encoding").lower() == "chunked":
            while True:  # relay chunk by chunk: watches stream
                size_line = _read_line(uf)
                size = int(size_line.split(b";")[0].strip(), 16)
                data = uf.read(size + 2) if size else b""
                c.sendall(size_line + data)
                if size == 0:
                    while True:
                        t = _read_line(uf)
                        c.sendall(t)
                        if t in (b"\r\n", b"\n"):
                            return True
        length = _hget(headers, "content-length")
        if length:
            remaining = int(length)
            while remaining:
                data = uf.read(min(remaining, 65536))
                if not data:
                    return False
                c.sendall(data)
                remaining -= len(data)
            return _hget(headers, "connection").lower() != "close"
        while True:  # no framing: until upstream closes
            data = uf.read1(65536) if hasattr(uf, "read1") else uf.read(65536)
            if not data:
                return False
            c.sendall(data)
