"""The transport's HTTP/1.1 (``regplan.cluster.http11``), pure: bodies by length, chunked and to the close;
interim answers skipped; bounded lines and header counts; a cut or garbled answer is a ProtocolError; a
request with a control character, a space or non-ASCII in its line or headers is never written."""

from __future__ import annotations

import io

import pytest

from regplan.cluster import http11


def read(raw: bytes, method: str = "GET") -> http11.Response:
    return http11.read_response(io.BytesIO(raw), method)


def test_content_length_body_and_keep_alive() -> None:
    r = read(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}extra")
    assert (r.status, r.body, r.will_close, r.headers["content-type"]) == (
        200,
        b"{}",
        False,
        "application/json",
    )


def test_chunked_body_with_extensions_and_trailers() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
    assert read(raw).body == b"abcde"


def test_no_length_reads_to_the_close() -> None:
    r = read(b"HTTP/1.1 200 OK\r\n\r\nall of it")
    assert r.body == b"all of it" and r.will_close


@pytest.mark.parametrize(
    ("raw", "closes"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", False),
    ],
)
def test_connection_close_is_honoured(raw: bytes, closes: bool) -> None:
    assert read(raw).will_close is closes


def test_interim_answers_are_skipped_and_retry_after_is_kept() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n"
    r = read(raw)
    assert r.status == 429 and r.headers["retry-after"] == "3"


def test_no_body_for_204_and_head() -> None:
    assert read(b"HTTP/1.1 204 No Content\r\n\r\n").body == b""
    assert read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD").body == b""


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "closed without a response"),
        (b"SSH-2.0-OpenSSH\r\n", "did not answer in HTTP"),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", "did not answer in HTTP"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "middle of a response"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "middle of a response"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed response header"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n", "more than 100"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n", "longer than 64 KiB"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", "middle of a response"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n", "larger than 256 MiB"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n", "larger than 256 MiB"),
    ],
)
def test_malformed_or_cut_answers_are_protocol_errors(raw: bytes, why: str) -> None:
    with pytest.raises(http11.ProtocolError, match=why):
        read(raw)


def test_a_request_is_encoded_with_length() -> None:
    out = http11.encode_request("PATCH", "/a?b=c", "h:6443", {"Content-Type": "x"}, b"{}")
    assert out == b"PATCH /a?b=c HTTP/1.1\r\nHost: h:6443\r\nContent-Type: x\r\nContent-Length: 2\r\n\r\n{}"


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/a\r\nX-Injected: 1", {}),
        ("/a b", {}),
        ("/\u2028", {}),
        ("/a", {"Authorization": "Bearer t\r\nX-Injected: 1"}),
        ("/a", {"Authorization": "Bearer t\x1b[2J"}),
        ("/a", {"X-Bad Name": "v"}),
        ("/a", {"User-Agent": "r\u00e9gplan"}),
    ],
)
def test_nothing_can_split_a_request(target: str, headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="refusing"):
        http11.encode_request("GET", target, "h", headers, None)
