"""One request to the apiserver, and the one retry helper every read and write goes through.

``Transport.once`` sends one request over the client's REST transport (urllib3 with the configuration's
TLS, token and client-certificate settings) and turns every failure into a regplan error with one
redacted line: ``TransientError`` (may succeed later), ``ApiError`` / ``ConflictError`` / ``ClusterError``.

``retrying`` is the retry policy: exponential backoff with jitter, a server's ``Retry-After`` (429/503)
honoured as the least wait. What may be repeated is the caller's business, through ``before_resend``:
reads simply go again; a write whose answer was lost is re-read and resent only if it did not land
(``landed.write_landed``), never blindly. 409 is not transient: it is never retried.
"""

from __future__ import annotations

import json
import random
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from regplan import __version__
from regplan.base.errors import ClusterError
from regplan.cluster.apierrors import (
    METHOD_VERB,
    TransientError,
    connection_reason,
    error_for,
    one_line,
)

USER_AGENT = f"regplan/{__version__}"

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all; the wait before attempt n+1 grows as ``backoff * 2**(n-1)`` up to ``cap``."""

    attempts: int = 4
    backoff: float = 0.25
    cap: float = 8.0
    max_retry_after: float = 30.0  # a server asking for more than this is not waited for longer


def backoff_delay(
    policy: RetryPolicy, attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based).

    Equal jitter (half the step fixed, half random) keeps a floor while spreading the retries of clients
    that failed together; a ``Retry-After`` from the server is the least wait (capped)."""
    step = float(min(policy.cap, policy.backoff * 2 ** (attempt - 1)))
    delay = step / 2 + rand() * step / 2
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), policy.max_retry_after))
    return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110); None when absent or garbled."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    import email.utils  # only on this rare path: not part of every run's start-up

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retrying(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    on_retry: Callable[[str], None] | None = None,
    before_resend: Callable[[TransientError], tuple[bool, T | None]] | None = None,
    note: Callable[[TransientError], str] = lambda err: "retrying",
    sleep: Callable[[float], None] | None = None,
    rand: Callable[[], float] = random.random,
) -> T:
    """``call()`` until it succeeds, fails for good, or ``policy.attempts`` are spent.

    Only ``TransientError`` is retried. After the wait, ``before_resend(err)`` may answer instead of a new
    attempt: (True, value) returns ``value`` (a write that landed after all)."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except TransientError as err:
            if attempt >= policy.attempts:
                raise
            if on_retry is not None:
                on_retry(f"{err}; {note(err)} (attempt {attempt + 1}/{policy.attempts})")
            (sleep or time.sleep)(backoff_delay(policy, attempt, err.retry_after, rand))
            if before_resend is not None:
                done, value = before_resend(err)
                if done:
                    return value  # type: ignore[return-value]
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class RequestLog:
    """Counts of requests actually sent, by method (benchmarks and tests read it)."""

    counts: Counter[str]
    lock: threading.Lock

    @classmethod
    def new(cls) -> RequestLog:
        return cls(Counter(), threading.Lock())

    def add(self, method: str) -> None:
        with self.lock:
            self.counts[method] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.counts.items() if m != "GET")


class Sender(Protocol):
    """What the adapter sends through: ``Transport`` (the official client's) or ``direct.StdTransport``."""

    host: str
    requests: RequestLog

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
    ) -> tuple[int, Any]: ...

    def close(self) -> None: ...


class Transport:
    """The client's REST transport with explicit paths and raw JSON: CRDs, JSON/merge patch, dryRun and
    delete preconditions all work the same way, and nothing is deserialised into generated models."""

    def __init__(self, cfg: Any, rest_module: Any, request_timeout: tuple[float, float]) -> None:
        self.cfg = cfg
        self.host: str = cfg.host
        if not cfg.verify_ssl:
            # insecure-skip-tls-verify: the adapter says so once in its own words (Cluster.warnings);
            # urllib3's per-request warning would repeat it with a site-packages path.
            import urllib3

            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.rest: Any = rest_module.RESTClientObject(cfg)
        self.request_timeout = request_timeout
        self.requests = RequestLog.new()

    def close(self) -> None:
        self.rest.close()

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
        """One request; returns (status, parsed JSON) for 2xx and 404, raises for everything else.
        Counted in ``log`` (a cluster's own over a shared transport), else the transport's."""
        import urllib3

        headers = {"Accept": "application/json", "Content-Type": content_type, "User-Agent": USER_AGENT}
        # Bearer token (refreshed by the configuration's hook for exec plugins); client certificates are
        # in the transport's TLS context.
        for auth in self.cfg.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[auth["key"]] = auth["value"]
        url = self.host + path + (f"?{urlencode(list(query))}" if query else "")
        (log or self.requests).add(method)
        verb = METHOD_VERB.get(method, method.lower())
        try:
            resp: Any = self.rest.request(
                method, url, headers=headers, body=body, _request_timeout=self.request_timeout
            )
            raw = resp.read() or b""
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as err:
            raise TransientError(
                f"cannot reach the cluster at {self.host} to {verb} {what}: {connection_reason(err)}",
                sent=False,
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            if "CERTIFICATE_VERIFY_FAILED" in str(err) or "SSLError" in str(err):
                raise ClusterError(
                    f"TLS verification failed for {self.host} ({verb} {what}): {one_line(str(err), 200)}"
                ) from None
            raise TransientError(
                f"connection to {self.host} failed during {verb} {what}: {connection_reason(err)}", sent=True
            ) from None
        except Exception as err:  # the client wraps TLS errors in its own ApiException(status=0)
            if getattr(err, "status", None) == 0:
                text = str(err)
                if "CERTIFICATE_VERIFY_FAILED" in text:
                    why = text[text.find("certificate verify failed") :].split("(_ssl")[0].strip()
                    raise ClusterError(
                        f"TLS verification failed for {self.host} ({verb} {what}): {why}; "
                        "check certificate-authority(-data) in the kubeconfig"
                    ) from None
                raise ClusterError(
                    f"cannot connect to {self.host} to {verb} {what}: {one_line(text, 200)}"
                ) from None
            raise
        payload: Any = None
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
        status = int(resp.status)
        if 200 <= status < 300 or status == 404:
            return status, payload
        getheader = getattr(resp, "getheader", None)
        retry_after = parse_retry_after(getheader("Retry-After")) if callable(getheader) else None
        raise error_for(
            status, payload, raw, method=method, what=what, secrets=secrets, retry_after=retry_after
        )
