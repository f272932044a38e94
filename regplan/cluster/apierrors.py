"""API failures as regplan errors, and redaction: every message built from a server answer passes here.

Pure (no I/O, no ``kubernetes``): unit-tested without a cluster.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from regplan.base.errors import ClusterError, StaleError

# Statuses worth another attempt: throttling and transient server/proxy trouble.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

# How a kube verb reads in messages ("cannot get ...", "cannot patch ...").
METHOD_VERB: dict[str, str] = {
    "GET": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


class ApiError(ClusterError):
    """The apiserver answered with an error status (exit 4). ``message`` is already redacted."""

    def __init__(self, message: str, *, status: int, reason: str = "") -> None:
        self.status = status
        self.reason = reason
        super().__init__(message)


class ConflictError(StaleError):
    """409: the object changed since it was read (precondition failed) or already exists (exit 5)."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        self.status = 409
        self.reason = reason
        super().__init__(message)


class TransientError(ClusterError):
    """A request failed in a way that may succeed on a later attempt (connection, timeout, 5xx, 429)."""

    def __init__(
        self, message: str, *, sent: bool, status: int = 0, retry_after: float | None = None
    ) -> None:
        self.sent = sent  # False: the request never reached the server, repeating it is always safe
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After), if any
        super().__init__(message)


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_INVALID_VALUE = re.compile(r'(Invalid value: )("(?:[^"\\]|\\.)*"|\S+)')


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Make server text safe to show: known secret strings, base64-looking runs and echoed values go.

    API error bodies can echo the object that was sent (a Secret's data included), so every message
    built from a response passes through here before it reaches an exception.
    """
    for value in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(value, "<redacted>")
    text = _INVALID_VALUE.sub(r"\1<redacted>", text)
    text = _BASE64_RUN.sub("<redacted>", text)
    return text


def secret_strings(body: Any) -> list[str]:
    """Every value under ``data``/``stringData`` of a Secret-like body (and their base64 decodings)."""
    found: list[str] = []
    if isinstance(body, dict):
        for key in ("data", "stringData"):
            section = body.get(key)
            if isinstance(section, dict):
                for value in section.values():
                    if isinstance(value, str):
                        found.append(value)
                        with contextlib.suppress(ValueError, UnicodeDecodeError):
                            found.append(base64.b64decode(value, validate=True).decode("utf-8"))
        for value in body.values():
            if isinstance(value, dict | list):
                found.extend(secret_strings(value))
    elif isinstance(body, list):
        for item in body:
            found.extend(secret_strings(item))
            # JSON patch ops on /data/KEY carry the value directly
            if isinstance(item, dict) and str(item.get("path", "")).startswith(("/data", "/stringData")):
                value = item.get("value")
                if isinstance(value, str):
                    found.append(value)
    return found


def one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def status_message(status: int, payload: Any, raw: bytes) -> tuple[str, str]:
    """(message, reason) from a ``Status`` body, falling back to the raw text."""
    if isinstance(payload, dict) and payload.get("kind") == "Status":
        return str(payload.get("message") or ""), str(payload.get("reason") or "")
    text = raw.decode("utf-8", "replace").strip()
    return text or f"HTTP {status}", ""


def error_for(
    status: int,
    payload: Any,
    raw: bytes,
    *,
    method: str,
    what: str,
    secrets: Sequence[str] = (),
    retry_after: float | None = None,
) -> ClusterError | StaleError:
    """The exception for an error answer; the message names the verb, the resource and the namespace."""
    message, reason = status_message(status, payload, raw)
    message = one_line(redact(message, secrets))
    verb = METHOD_VERB.get(method, method.lower())
    if status == 401:
        return ApiError(
            f"unauthorized (401): the server rejected the credentials when trying to {verb} {what}; "
            "check the token or client certificate in the kubeconfig",
            status=status,
            reason=reason,
        )
    if status == 403:
        return ApiError(f"forbidden (403): cannot {verb} {what}: {message}", status=status, reason=reason)
    if status == 409:
        return ConflictError(f"conflict (409) on {verb} {what}: {message}", reason=reason)
    if status in RETRY_STATUSES:
        return TransientError(
            f"{verb} {what}: HTTP {status}: {message}", sent=True, status=status, retry_after=retry_after
        )
    return ApiError(f"{verb} {what} failed (HTTP {status} {reason}): {message}", status=status, reason=reason)


def connection_reason(err: BaseException) -> str:
    """A short, library-free reason for a failed connection ("connection refused", "timed out")."""
    reason = getattr(err, "reason", None)
    text = str(reason) if reason else str(err)
    for marker, short in (
        ("Connection refused", "connection refused"),
        ("Connection reset", "connection reset by peer"),
        ("timed out", "timed out"),
        ("RemoteDisconnected", "connection closed without a response"),
    ):
        if marker in text:
            return short
    return one_line(text, 200)
