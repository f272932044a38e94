"""The standard-library transport against a hostile or broken HTTPS server of the test's own (Python
``ssl`` + a socket, a self-signed CA made with ``cryptography``): framing that could desynchronise a
keep-alive connection (both lengths, bytes past a response, a 101), a body trickled forever, lenient
number parsing, redirects (never followed: the token goes to no other host), error bodies echoing the
token or escape sequences, interim-answer floods, TLS names and expiry."""

from __future__ import annotations

import base64
import contextlib
import datetime
import io
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from regplan.base.errors import ClusterError
from regplan.cluster import direct, http11
from regplan.cluster.apierrors import TransientError

cryptography = pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

TOKEN = "sEcReT-t0ken-123"
Handler = Callable[[socket.socket, int], None]  # (the TLS socket, the request's number on the server)


def _pki(tmp: Path, names: list[str], *, expired: bool = False) -> tuple[bytes, Path, Path]:
    """(CA PEM, server cert file, server key file) for DNS ``names`` (and 127.0.0.1 when "ip" is one)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile-ca")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names if n != "ip"]
    if "ip" in names:
        import ipaddress

        alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    start, end = (now - datetime.timedelta(days=3), now - datetime.timedelta(days=2)) if expired else (
        now - datetime.timedelta(days=1), now + datetime.timedelta(days=1))  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp / "server.crt", tmp / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca.public_bytes(serialization.Encoding.PEM), cert_file, key_file


def _subdir(base: Path, name: str) -> Path:
    (base / name).mkdir(exist_ok=True)
    return base / name


class Server:
    """A TLS server on 127.0.0.1 answering each request with ``handler``; records requests, connections
    and the SNI names it was sent. Bounded: it stops with the test."""

    def __init__(self, cert: Path, key: Path, handler: Handler) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sni: list[str | None] = []
        self.ctx.sni_callback = lambda s, name, c: self.sni.append(name)  # type: ignore[assignment]
        self.handler = handler
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(raw,), daemon=True).start()

    def _one(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
        except OSError:
            raw.close()
            return
        self.connections += 1
        reader = conn.makefile("rb")
        try:
            while not self.stop.is_set():
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline(65536)
                    if not line:
                        return
                    head += line
                self.requests.append(head)
                self.handler(conn, len(self.requests))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(2)


@pytest.fixture
def pki(tmp_path: Path) -> tuple[bytes, Path, Path]:
    return _pki(tmp_path, ["localhost", "ip"])


@pytest.fixture
def serve(pki: tuple[bytes, Path, Path]) -> Iterator[Callable[[Handler], Server]]:
    started: list[Server] = []

    def start(handler: Handler) -> Server:
        started.append(Server(pki[1], pki[2], handler))
        return started[-1]

    yield start
    for s in started:
        s.close()


def transport(
    server: Server, ca: bytes, timeout: tuple[float, float] = (2.0, 5.0), **cluster: Any
) -> direct.StdTransport:
    entry = {
        "server": f"https://127.0.0.1:{server.port}",
        "certificate-authority-data": base64.b64encode(ca).decode(),
        **cluster,
    }
    ep = direct.endpoint(entry, "cluster c", "", {"token": TOKEN}, "user u", "", {})
    return direct.StdTransport(ep, timeout)


def answer(body: bytes = b"{}", status: str = "200 OK", extra: bytes = b"") -> Handler:
    def handler(conn: socket.socket, n: int) -> None:
        conn.sendall(b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: %d\r\n" % len(body) + extra
                     + b"\r\n" + body)  # fmt: skip

    return handler


# ---- framing that could put a kept-alive connection out of step ----------------------------------


def test_a_response_with_both_lengths_is_not_reused(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    def handler(conn: socket.socket, n: int) -> None:
        body = b'{"n": %d}' % n
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))  # fmt: skip

    srv = serve(handler)
    t = transport(srv, pki[0])
    assert t.once("GET", "/a", what="a") == (200, {"n": 1})
    assert t.once("GET", "/b", what="b") == (200, {"n": 2})
    assert srv.connections == 2


def test_bytes_past_a_response_are_never_read_as_the_next_answer(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    """A 204 the server sends a body with anyway (one write): the body must not answer the next request."""
    smuggled = b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"kind": "Evil"}'

    def handler(conn: socket.socket, n: int) -> None:
        if n == 1:
            conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 54\r\n\r\n" + smuggled)
        else:
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"kind": "Real"}')

    srv = serve(handler)
    t = transport(srv, pki[0])
    assert t.once("DELETE", "/a", what="a")[0] == 204
    assert t.once("GET", "/b", what="b") == (200, {"kind": "Real"})


def test_a_101_answer_closes_the_connection(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    def handler(conn: socket.socket, n: int) -> None:
        if n == 1:
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")
        else:
            answer()(conn, n)

    srv = serve(handler)
    t = transport(srv, pki[0])
    with pytest.raises(ClusterError):
        t.once("GET", "/a", what="a")
    assert t.once("GET", "/b", what="b") == (200, {})
    assert srv.connections == 2


def test_a_body_trickled_forever_is_cut_at_the_deadline(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    """One byte every 0.2 s never trips a 0.5 s read timeout; the whole response has 4 x 0.5 s."""

    def handler(conn: socket.socket, n: int) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(100):  # bounded: 20 s at most
            time.sleep(0.2)
            conn.sendall(b" ")

    srv = serve(handler)
    t = transport(srv, pki[0], (2.0, 0.5))
    start = time.monotonic()
    with pytest.raises(TransientError, match="did not finish its response in time"):
        t.once("GET", "/a", what="a")
    assert 1.5 < time.monotonic() - start < 4


def test_an_endless_stream_of_interim_answers_is_refused(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    def handler(conn: socket.socket, n: int) -> None:
        conn.sendall(
            b"HTTP/1.1 100 Continue\r\n\r\n" * 50 + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
        )

    t = transport(serve(handler), pki[0])
    with pytest.raises(TransientError, match="interim"):
        t.once("GET", "/a", what="a")


# ---- what is sent, and what of the answer is shown -------------------------------------------------


def test_a_redirect_is_not_followed_and_the_token_goes_nowhere_else(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    other = serve(answer())
    srv = serve(answer(b"", "302 Found", b"Location: https://127.0.0.1:%d/steal\r\n" % other.port))
    t = transport(srv, pki[0])
    with pytest.raises(ClusterError, match="302"):
        t.once("GET", "/a", what="a")
    assert other.requests == [] and len(srv.requests) == 1


@pytest.mark.parametrize("status", ["403 Forbidden", "500 Internal Server Error", "418 Teapot", "429 Slow"])
def test_an_error_body_echoing_the_token_never_shows_it(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path], status: str
) -> None:
    body = b'{"kind":"Status","message":"bad token %s \x1b]0;pwned\x07\x1b[2J"}' % TOKEN.encode()
    t = transport(serve(answer(body, status)), pki[0])
    with pytest.raises(ClusterError) as err:
        t.once("GET", "/a", what="a")
    text = str(err.value)
    assert TOKEN not in text and "<redacted>" in text
    # Escape sequences are neutralised where errors are printed (the CLI's one rule), checked here too.
    from regplan.base.escape import one_line

    assert "\x1b" not in one_line(text) and "\x07" not in one_line(text)


def test_no_content_coding_is_asked_for_or_decoded(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    import gzip

    bomb = gzip.compress(b"\0" * (8 << 20))
    srv = serve(answer(bomb, extra=b"Content-Encoding: gzip\r\n"))
    status, payload = transport(srv, pki[0]).once("GET", "/a", what="a")
    assert (status, payload) == (200, None)
    assert b"accept-encoding" not in srv.requests[0].lower()
    assert b"Authorization: Bearer " + TOKEN.encode() in srv.requests[0]


# ---- TLS -------------------------------------------------------------------------------------------


def test_a_certificate_for_another_name_fails_unless_tls_server_name_names_it(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    ca, cert, key = _pki(tmp_path, ["api.example"])
    srv = Server(cert, key, answer())
    try:
        with pytest.raises(ClusterError, match="TLS verification failed"):
            transport(srv, ca).once("GET", "/a", what="a")
        assert srv.requests == []
        assert transport(srv, ca, **{"tls-server-name": "api.example"}).once("GET", "/a", what="a")[0] == 200
        assert "api.example" in srv.sni
    finally:
        srv.close()


def test_an_expired_certificate_fails(tmp_path: Path) -> None:
    ca, cert, key = _pki(tmp_path, ["ip"], expired=True)
    srv = Server(cert, key, answer())
    try:
        with pytest.raises(ClusterError, match="expired"):
            transport(srv, ca).once("GET", "/a", what="a")
        assert srv.requests == []
    finally:
        srv.close()


# ---- numbers a lenient parser would take --------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n" + b"x" * 100,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0_2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1" + b"0" * 20 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0_2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    ],
)
def test_lengths_are_plain_digits(raw: bytes) -> None:
    with pytest.raises(http11.ProtocolError, match=r"chunk size|Content-Length"):
        http11.read_response(io.BufferedReader(io.BytesIO(raw)), "GET")


def test_a_coding_other_than_a_final_chunked_is_read_to_the_close() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 2\r\n\r\nabcdef"
    r = http11.read_response(io.BufferedReader(io.BytesIO(raw)), "GET")
    assert (r.body, r.will_close) == (b"abcdef", True)


@pytest.mark.parametrize("status", ["200 OK", "403 Forbidden"])
def test_json_nested_too_deep_from_a_server_is_no_traceback(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path], status: str
) -> None:
    t = transport(serve(answer(b"[" * 200000, status)), pki[0])
    if status == "200 OK":
        assert t.once("GET", "/a", what="a") == (200, None)
    else:
        with pytest.raises(ClusterError, match="403"):
            t.once("GET", "/a", what="a")


@pytest.mark.parametrize(
    "first",
    [b"HTTP/1.1 2000 OK", b"HTTP/1.1 200OK", b"HTTP/1.x 200 OK", b"HTTP/1.1 \xb200 OK", b"HTTP/1.1 099 X",
     b"HTTP/1.1 600 X", b"HTTP/1.10 200 OK"],
)  # fmt: skip
def test_a_garbled_status_line_is_refused(first: bytes) -> None:
    with pytest.raises(http11.ProtocolError, match="did not answer in HTTP"):
        http11.read_response(io.BufferedReader(io.BytesIO(first + b"\r\nContent-Length: 0\r\n\r\n")), "GET")


@pytest.mark.parametrize(
    "first", [b"HTTP/1.1 200 OK", b"HTTP/1.1 200", b"HTTP/1.0 204 ", b"HTTP/1.1 200 OK\n"]
)
def test_a_plain_status_line_is_read(first: bytes) -> None:
    r = http11.read_response(io.BufferedReader(io.BytesIO(first + b"\r\nContent-Length: 0\r\n\r\n")), "GET")
    assert r.status in (200, 204)


@pytest.mark.parametrize("value", [b"\xb2", b"\xb9\xb3", b"1e309", b"nan", b"-5", b"9" * 400, b"\x00"])
def test_a_garbled_retry_after_is_ignored_not_a_traceback(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path], value: bytes
) -> None:
    t = transport(serve(answer(b"{}", "503 Busy", b"Retry-After: " + value + b"\r\n")), pki[0])
    with pytest.raises(TransientError) as err:
        t.once("GET", "/a", what="a")
    assert err.value.retry_after is None or err.value.retry_after >= 0


# ---- reuse after close, after a cut answer --------------------------------------------------------


def test_connection_close_is_honoured_even_when_the_server_keeps_the_socket(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    srv = serve(answer(extra=b"Connection: close\r\n"))  # says close, keeps reading
    t = transport(srv, pki[0])
    for _ in range(3):
        assert t.once("GET", "/a", what="a") == (200, {})
    assert srv.connections == 3


def test_a_cut_answer_is_not_followed_by_reuse_of_its_connection(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    def handler(conn: socket.socket, n: int) -> None:
        if n == 1:  # a body shorter than announced, then the rest arrives as if it were the next answer
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}")
            time.sleep(0.5)
            conn.sendall(b"x" * 98 + b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"kind": "Evil"}')
        else:
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"kind": "Real"}')

    srv = serve(handler)
    t = transport(srv, pki[0], (2.0, 0.2))
    with pytest.raises(TransientError):
        t.once("GET", "/a", what="a")
    assert t.once("GET", "/b", what="b") == (200, {"kind": "Real"})
    assert srv.connections == 2


def test_invalid_base64_key_data_is_a_clear_error_even_past_the_kubeconfig_checks(tmp_path: Path) -> None:
    user = {"token": TOKEN, "client-certificate-data": "!!!a", "client-key-data": "b"}
    entry = {"server": "https://127.0.0.1:1"}
    with pytest.raises(ClusterError, match="client-certificate-data is not valid base64"):
        direct.endpoint(entry, "cluster c", "", user, "user u", "", {})


def test_a_tls_handshake_trickled_a_byte_at_a_time_is_cut(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    """A relay in front of the server passes the server's handshake on one byte every 0.1 s: no single
    read waits the 1 s connect timeout, and the handshake as a whole must still end near it."""
    srv = serve(answer())
    relay = socket.create_server(("127.0.0.1", 0))
    relay.settimeout(5)
    stop = threading.Event()

    def pump() -> None:
        client, _ = relay.accept()
        upstream = socket.create_connection(("127.0.0.1", srv.port))
        client.settimeout(0.05)
        upstream.settimeout(0.05)
        try:
            for _ in range(400):  # bounded: 40 s at most
                if stop.is_set():
                    return
                with contextlib.suppress(TimeoutError):
                    data = client.recv(65536)
                    if not data:
                        return
                    upstream.sendall(data)
                with contextlib.suppress(TimeoutError):
                    byte = upstream.recv(1)
                    if not byte:
                        return
                    client.sendall(byte)
                time.sleep(0.1)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    threading.Thread(target=pump, daemon=True).start()
    entry = {"server": f"https://127.0.0.1:{relay.getsockname()[1]}",
             "certificate-authority-data": base64.b64encode(pki[0]).decode()}  # fmt: skip
    t = direct.StdTransport(direct.endpoint(entry, "c", "", {"token": TOKEN}, "u", "", {}), (1.0, 1.0))
    start = time.monotonic()
    try:
        with pytest.raises(ClusterError):
            t.once("GET", "/a", what="a")
        assert time.monotonic() - start < 3
    finally:
        stop.set()
        relay.close()


@pytest.mark.parametrize("size", [10, 70000, 200001])
def test_bytes_past_a_long_body_in_the_same_tls_record_are_not_the_next_answer(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path], size: int
) -> None:
    """A body longer than the reader's buffer is read straight from the TLS layer, which may still hold
    the rest of its last record (not visible to poll): that rest must not answer the next request."""
    body = b'"' + b"a" * (size - 2) + b'"'
    smuggled = b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"kind": "Evil"}'

    def handler(conn: socket.socket, n: int) -> None:
        if n == 1:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body + smuggled)
        else:
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"kind": "Real"}')

    t = transport(serve(handler), pki[0])
    assert t.once("GET", "/a", what="a")[0] == 200
    assert t.once("GET", "/b", what="b") == (200, {"kind": "Real"})


@pytest.mark.parametrize("data_is_right", [True, False])
def test_certificate_authority_data_wins_over_the_file(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path], tmp_path: Path, data_is_right: bool
) -> None:
    """client-go: certificate-authority-data overrides certificate-authority."""
    other_ca = _pki(_subdir(tmp_path, "other"), ["ip"])[0]
    right, wrong = pki[0], other_ca
    (tmp_path / "ca.crt").write_bytes(wrong if data_is_right else right)
    srv = serve(answer())
    data = base64.b64encode(right if data_is_right else wrong).decode()
    entry = {
        "server": f"https://127.0.0.1:{srv.port}",
        "certificate-authority": "ca.crt",
        "certificate-authority-data": data,
    }
    ep = direct.endpoint(entry, "c", str(tmp_path / "config"), {"token": TOKEN}, "u", "", {})
    t = direct.StdTransport(ep, (2.0, 5.0))
    if data_is_right:
        assert t.once("GET", "/a", what="a") == (200, {})
    else:
        with pytest.raises(ClusterError, match="TLS verification failed"):
            t.once("GET", "/a", what="a")
        assert srv.requests == []


def test_a_client_certificate_with_another_key_is_a_clear_error(
    pki: tuple[bytes, Path, Path], tmp_path: Path
) -> None:
    _, cert, _ = pki
    _, _, other_key = _pki(_subdir(tmp_path, "other"), ["ip"])
    user = {"client-certificate": str(cert), "client-key": str(other_key)}
    entry = {"server": "https://127.0.0.1:1", "certificate-authority-data": base64.b64encode(pki[0]).decode()}
    t = direct.StdTransport(direct.endpoint(entry, "c", "", user, "user u", "", {}), (1.0, 1.0))
    with pytest.raises(ClusterError, match="user u: the client certificate and key cannot be used") as err:
        t.once("GET", "/a", what="a")
    assert "PRIVATE" not in str(err.value)


def test_an_answer_sent_while_idle_is_never_taken_for_the_next_request(
    serve: Callable[[Handler], Server], pki: tuple[bytes, Path, Path]
) -> None:
    """A second, unasked-for answer arriving on an idle kept-alive connection: the next request opens a
    new connection instead of reading it."""

    def handler(conn: socket.socket, n: int) -> None:
        if n == 1:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            time.sleep(0.2)
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"kind": "Evil"}')
        else:
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"kind": "Real"}')

    srv = serve(handler)
    t = transport(srv, pki[0])
    assert t.once("GET", "/a", what="a") == (200, {})
    time.sleep(0.5)
    assert t.once("GET", "/b", what="b") == (200, {"kind": "Real"})
    assert srv.connections == 2
