"""HTTP/1.1 over one socket, the small part regplan needs: one request, one response, keep-alive.

Why not ``http.client``: importing it (and the ``email`` package it parses headers with) was ~10 ms of
every cluster command's start-up, and its header parsing ~25 us a response (a 500-cluster run reads ~3,500
responses). This module writes a request line and headers (refusing control characters in them: nothing
the caller passes can split a request) and reads a response: status line, at most ``MAX_HEADERS`` header
lines of at most ``MAX_LINE`` bytes, then a ``Content-Length`` body, a chunked body, or (no length) the body
up to the server's close. 1xx interim responses are skipped. Every malformed or cut answer is
``ProtocolError`` (an ``OSError``: the adapter's "connection failed" path). Pure socket I/O, no TLS policy
(``direct`` wraps the socket).
"""

from __future__ import annotations

import re
import socket
from typing import BinaryIO

MAX_LINE = 65536
MAX_HEADERS = 100
MAX_BODY = (
    256 << 20
)  # bytes: a namespace's pods or a claim's events are far less; a server sending more is cut
_CHUNK = 1 << 16

# What may be sent, as the (small) allowed classes: a class up to U+FFFF costs ms to compile on every start.
_TARGET_OK = re.compile(r"[!-~]+")  # printable ASCII, no space
_VALUE_OK = re.compile(r"[\t -~]*")  # printable ASCII, spaces and tabs


class ProtocolError(OSError):
    """The server's answer is not HTTP/1.x as expected (or was cut short)."""


class Response:
    """A read response: status, lower-cased header names, the whole body, whether the server closes."""

    __slots__ = ("body", "headers", "status", "will_close")

    def __init__(self, status: int, headers: dict[str, str], body: bytes, will_close: bool) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.will_close = will_close


class Connection:
    """One socket (already connected, TLS wrapped or not) and its buffered reader."""

    __slots__ = ("host", "reader", "sock")

    def __init__(self, sock: socket.socket, host: str) -> None:
        self.sock = sock
        self.reader: BinaryIO = sock.makefile("rb")
        self.host = host  # the Host header: host[:port] of the URL

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()

    def request(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> Response:
        self.sock.sendall(encode_request(method, target, self.host, headers, body))
        return read_response(self.reader, method)


def encode_request(method: str, target: str, host: str, headers: dict[str, str], body: bytes | None) -> bytes:
    """The request's bytes; ValueError for a control character, space or non-ASCII in the method, target or
    a header (a request that could be read as two)."""
    if not method.isalpha() or not _TARGET_OK.fullmatch(target) or not _TARGET_OK.fullmatch(host):
        raise ValueError("refusing to send a request line with control characters, spaces or non-ASCII")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if not name.replace("-", "").isalnum() or not name.isascii() or not _VALUE_OK.fullmatch(value):
            raise ValueError(f"refusing to send header {name!r}: control characters or non-ASCII")
        lines.append(f"{name}: {value}")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ProtocolError("a response line longer than 64 KiB")
    return line


def read_response(reader: BinaryIO, method: str) -> Response:
    while True:
        first = _line(reader)
        if not first:
            raise ProtocolError("connection closed without a response")
        version, _, rest = first.decode("latin-1").rstrip("\r\n").partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ProtocolError("the server did not answer in HTTP/1.x")
        status = int(code)
        headers = _headers(reader)
        if 100 <= status < 200 and status != 101:
            continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        break
    connection = headers.get("connection", "").lower()
    will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
    if method == "HEAD" or status in (204, 304) or status < 200:
        return Response(status, headers, b"", will_close)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Response(status, headers, _chunked(reader), will_close)
    length = headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise ProtocolError("the server sent an invalid Content-Length")
        n = int(length)
        if n > MAX_BODY:
            raise ProtocolError(f"a response body larger than {MAX_BODY >> 20} MiB")
        body = reader.read(n)
        if len(body) < n:
            raise ProtocolError("connection closed in the middle of a response")
        return Response(status, headers, body, will_close)
    body = reader.read(MAX_BODY + 1)  # no length: the body ends with the connection
    if len(body) > MAX_BODY:
        raise ProtocolError(f"a response body larger than {MAX_BODY >> 20} MiB")
    return Response(status, headers, body, True)


def _headers(reader: BinaryIO) -> dict[str, str]:
    found: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = _line(reader)
        if line in (b"\r\n", b"\n"):
            return found
        if not line:
            raise ProtocolError("connection closed in the middle of a response")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError("a malformed response header")
        key = name.strip().lower()
        value = value.strip()
        found[key] = f"{found[key]}, {value}" if key in found else value
    raise ProtocolError(f"more than {MAX_HEADERS} response headers")


def _chunked(reader: BinaryIO) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = _line(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolError("a malformed chunk size") from None
        if size == 0:
            _headers(reader)  # trailers, up to the blank line
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise ProtocolError(f"a response body larger than {MAX_BODY >> 20} MiB")
        chunk = reader.read(size)
        if len(chunk) < size or reader.read(2) not in (b"\r\n",):
            raise ProtocolError("connection closed in the middle of a response")
        parts.append(chunk)
