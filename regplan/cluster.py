"""Cluster adapter: the ONLY module that imports ``kubernetes``.

Everything regplan says to an apiserver goes through ``Cluster``: loading the client configuration
(``--kubeconfig`` with several files, ``KUBECONFIG``, ``--context``, in-cluster), detecting the target,
reading exactly what a ``LiveQuery`` asks for (concurrently, by name, so the number of requests does not
grow with the cluster), server-side dry runs, the writes apply makes, and turning API failures into
``ClusterError`` / ``StaleError`` with one redacted line.

Requests go through the client's REST transport (``kubernetes.client.rest``, with the configuration's
TLS, token and client-certificate settings) with explicit paths (one table, ``RESOURCES``) and raw JSON
bodies: CRDs, JSON patch, merge patch, ``dryRun=All`` and delete preconditions all work the same way, and
no time is spent deserialising into generated models.

Retry policy (``RETRY_STATUSES``, ``Cluster._send``):
- reads (GET) are retried with backoff on connection errors, timeouts and 429/500/502/503/504;
- a connection that failed before the request was sent (refused, DNS) is retried for every verb;
- a write whose outcome is unknown (reset after sending, timeout, 5xx) is NOT blindly repeated:
  ``Cluster.write`` re-reads the object and asks ``write_landed`` whether the write took effect; if not,
  it sends it again (every write carries a precondition - resourceVersion, uid, or "must not exist" for
  a create - so a repeat can never apply twice);
- 409 Conflict is never retried or forced: it becomes ``ConflictError`` (exit 5).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import json
import os
import re
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from regplan import __version__
from regplan.errors import ClusterError, Diagnostic, InvalidInput, StaleError
from regplan.model import (
    REGISTRY_NAMESPACE,
    LiveQuery,
    LiveState,
    Obj,
    PatchType,
    Ref,
    Target,
    Verb,
    Write,
    event_time,
)

USER_AGENT = f"regplan/{__version__}"

# (apiVersion, kind) -> (plural, namespaced). Only the kinds regplan reads or writes.
RESOURCES: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "Event"): ("events", True),
    ("v1", "Pod"): ("pods", True),
    ("storage.k8s.io/v1", "StorageClass"): ("storageclasses", False),
    ("coordination.k8s.io/v1", "Lease"): ("leases", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("imageregistry.operator.openshift.io/v1", "Config"): ("configs", False),
    ("apps.openshift.io/v1", "DeploymentConfig"): ("deploymentconfigs", True),
}

# Statuses worth another attempt: throttling and transient server/proxy trouble.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

PATCH_CONTENT_TYPES: dict[PatchType, str] = {
    PatchType.JSON: "application/json-patch+json",
    PatchType.MERGE: "application/merge-patch+json",
}

VERB_METHOD: dict[Verb, str] = {
    Verb.CREATE: "POST",
    Verb.UPDATE: "PUT",
    Verb.PATCH: "PATCH",
    Verb.DELETE: "DELETE",
}

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

    def __init__(self, message: str, *, sent: bool, status: int = 0) -> None:
        self.sent = sent  # False: the request never reached the server, repeating it is always safe
        self.status = status
        super().__init__(message)


# --------------------------------------------------------------------------------------------------
# Pure helpers (unit-tested without a cluster)


def resource_path(api_version: str, kind: str, namespace: str = "", name: str = "") -> str:
    """The URL path of an object (or of its collection when ``name`` is empty)."""
    try:
        plural, namespaced = RESOURCES[(api_version, kind)]
    except KeyError:
        raise InvalidInput(f"regplan does not know the API resource for {api_version} {kind}") from None
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespaced:
        if not namespace:
            raise InvalidInput(f"{kind} {name!r} needs a namespace")
        base += f"/namespaces/{quote(namespace, safe='')}"
    path = f"{base}/{plural}"
    return f"{path}/{quote(name, safe='')}" if name else path


def ref_path(ref: Ref) -> str:
    return resource_path(ref.api_version, ref.kind, ref.namespace, ref.name)


def describe(api_version: str, kind: str, namespace: str, name: str) -> str:
    """``configs.imageregistry.operator.openshift.io "cluster" (cluster-scoped)`` style, for messages."""
    plural = RESOURCES.get((api_version, kind), (kind.lower() + "s", bool(namespace)))[0]
    group = api_version.rpartition("/")[0]
    resource = f"{plural}.{group}" if group else plural
    what = f'{resource} "{name}"' if name else resource
    return f"{what} in namespace {namespace}" if namespace else f"{what} (cluster-scoped)"


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
    import base64

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
    status: int, payload: Any, raw: bytes, *, method: str, what: str, secrets: Sequence[str] = ()
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
        return TransientError(f"{verb} {what}: HTTP {status}: {message}", sent=True, status=status)
    return ApiError(f"{verb} {what} failed (HTTP {status} {reason}): {message}", status=status, reason=reason)


def _pointer_get(obj: Any, pointer: str) -> tuple[bool, Any]:
    """RFC 6901 lookup: (found, value)."""
    if pointer == "":
        return True, obj
    cur = obj
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and token in cur:
            cur = cur[token]
        elif isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
            cur = cur[int(token)]
        else:
            return False, None
    return True, cur


def _merge_landed(patch: Any, live: Any) -> bool:
    if not isinstance(patch, dict):
        return bool(patch == live)
    if not isinstance(live, dict):
        return False
    for key, value in patch.items():
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "resourceVersion"}
        if value is None:
            if key in live:
                return False
        elif key not in live or not _merge_landed(value, live[key]):
            return False
    return True


def _subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _subset(v, have[k]) for k, v in want.items())
    return bool(want == have)


def write_landed(write: Write, live: Obj | None) -> bool:
    """Did ``write`` take effect, judging by the object re-read after an unknown outcome?

    Used only after a write whose answer was lost (reset, timeout, 5xx): True means "do not repeat".
    """
    match write.verb:
        case Verb.CREATE:
            return live is not None and not (live.get("metadata") or {}).get("deletionTimestamp")
        case Verb.DELETE:
            if live is None:
                return True
            meta = live.get("metadata") or {}
            return bool(meta.get("deletionTimestamp")) or (
                write.uid is not None and meta.get("uid") != write.uid
            )
        case Verb.UPDATE:
            if live is None or not isinstance(write.body, dict):
                return False
            body = {k: v for k, v in write.body.items() if k not in ("metadata", "status")}
            return _subset(body, live)
        case Verb.PATCH:
            if live is None:
                return False
            if write.patch_type is PatchType.MERGE:
                return _merge_landed(write.body, live)
            for op in write.body or []:
                kind, path = op.get("op"), str(op.get("path", ""))
                if kind in ("add", "replace"):
                    found, value = _pointer_get(live, path)
                    if not found or value != op.get("value"):
                        return False
                elif kind == "remove":
                    if path.startswith("/spec/template/spec/") and "/env/" in path:
                        return False  # index-addressed removes cannot be judged afterwards; resend
                    found, _ = _pointer_get(live, path)
                    if found:
                        return False
            return True
    return False  # pragma: no cover - Verb is closed


def _with_precondition(write: Write, *, dry_run: bool = False) -> Any:
    """The body as sent: updates carry ``metadata.resourceVersion`` so the server checks it.

    A DELETE carries DeleteOptions in its body; the apiserver then reads ``dryRun`` from that body and
    ignores the query parameter, so a dry-run delete must say so in the body (else it really deletes).
    """
    if write.verb is Verb.UPDATE and isinstance(write.body, dict) and write.resource_version:
        body = dict(write.body)
        meta = dict(body.get("metadata") or {})
        meta.setdefault("resourceVersion", write.resource_version)
        body["metadata"] = meta
        return body
    if write.verb is Verb.DELETE:
        pre: dict[str, str] = {}
        if write.uid:
            pre["uid"] = write.uid
        if write.resource_version:
            pre["resourceVersion"] = write.resource_version
        body_del: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
        }
        if pre:
            body_del["preconditions"] = pre
        if dry_run:
            body_del["dryRun"] = ["All"]
        return body_del
    return write.body


def pods_mounting(pods: Iterable[Obj]) -> dict[str, list[str]]:
    """claim name -> names of the pods (not yet finished) whose volumes use it."""
    out: dict[str, list[str]] = {}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        name = (pod.get("metadata") or {}).get("name", "")
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                out.setdefault(claim, []).append(name)
    return {k: sorted(v) for k, v in out.items()}


# --------------------------------------------------------------------------------------------------
# Client configuration


def _lean_import_allowed(modules: Any, argv: Sequence[str], environ: Any) -> bool:
    """Only in the ``regplan`` process itself: a host process (pytest, a program embedding regplan) may
    import ``kubernetes.client.models`` later, which the stubs would hide."""
    entry = os.path.basename(argv[0]) if argv else ""
    is_cli = entry in ("regplan", "regplan.exe") or argv[0].endswith(os.path.join("regplan", "__main__.py"))
    return (
        is_cli
        and "kubernetes" not in modules
        and "pytest" not in modules
        and not environ.get("REGPLAN_FULL_KUBERNETES_IMPORT")
    )


def _client_modules() -> tuple[Any, Any, Any]:
    """(configuration, rest, kube_config) modules of the official client, imported lean.

    ``import kubernetes`` runs ``kubernetes/__init__.py``, which imports every API class, ~900 models, the
    dynamic client (and through it jsonschema), watch, stream, informers: about 0.3 s of a ~0.7 s
    ``regplan plan``. regplan needs the client's configuration (TLS, tokens, client certificates, exec
    plugins via ``refresh_api_key_hook``), its REST transport and its kubeconfig loader. When the package is
    not imported yet, bare package objects are registered for ``kubernetes``, ``kubernetes.client`` (+
    ``models``) and ``kubernetes.config``, so only those modules load; ``ApiClient`` (pydantic, dateutil:
    ~0.09 s more), which the kubeconfig loader needs only to refresh an OIDC token, is imported when first
    constructed. ``kubernetes.utils`` is a bare package too (the transport needs its ``retry`` and
    ``keepalive`` modules, not ``create_from_yaml`` and the metrics helpers), and ``oauthlib`` /
    ``requests_oauthlib`` (which pull in ``requests``: ~40 ms), which the kubeconfig loader uses only to
    refresh an OIDC token, are deferred modules imported on first use (``_Deferred``). On any surprise (a
    client laid out differently) the stubs are removed and the normal import is used.
    """
    import importlib
    import importlib.util
    import sys
    import types

    if _lean_import_allowed(sys.modules, sys.argv, os.environ):
        try:
            spec = importlib.util.find_spec("kubernetes")
            if spec is None or spec.origin is None:
                raise ImportError("kubernetes")
            base = os.path.dirname(spec.origin)
            for name, sub in (
                ("kubernetes", ""),
                ("kubernetes.client", "client"),
                ("kubernetes.client.models", None),
                ("kubernetes.config", "config"),
                ("kubernetes.utils", "utils"),
            ):
                mod = types.ModuleType(name)
                if sub is not None:
                    mod.__path__ = [os.path.join(base, sub)]
                sys.modules[name] = mod
            _defer_oauthlib()
            configuration = importlib.import_module("kubernetes.client.configuration")
            rest = importlib.import_module("kubernetes.client.rest")

            class LazyApiClient:
                def __new__(cls, *args: Any, **kwargs: Any) -> Any:
                    real = importlib.import_module("kubernetes.client.api_client").ApiClient
                    return real(*args, **kwargs)

            client_pkg: Any = sys.modules["kubernetes.client"]
            client_pkg.Configuration = configuration.Configuration
            client_pkg.ApiClient = LazyApiClient
            kube_config = importlib.import_module("kubernetes.config.kube_config")
            return configuration, rest, kube_config
        except Exception:  # any layout surprise: fall back to the documented import
            _undefer()
            for name in [n for n in sys.modules if n == "kubernetes" or n.startswith("kubernetes.")]:
                del sys.modules[name]
    from kubernetes.client import configuration, rest
    from kubernetes.config import kube_config

    return configuration, rest, kube_config


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet; the first attribute asked for imports the
    real ones (all deferred modules go at once) and answers from it."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        _undefer()
        return getattr(importlib.import_module(self.__name__), attr)


def _undefer() -> None:
    for name in [n for n, m in list(sys.modules.items()) if isinstance(m, _Deferred)]:
        del sys.modules[name]


def _defer_oauthlib() -> None:
    """``kube_config`` does ``import oauthlib.oauth2`` and ``from requests_oauthlib import OAuth2Session``
    at import time but uses them only in ``_refresh_oidc``: register stand-ins unless already imported."""
    if any(n in sys.modules for n in ("oauthlib", "oauthlib.oauth2", "requests_oauthlib")):
        return
    if importlib.util.find_spec("requests_oauthlib") is None or importlib.util.find_spec("oauthlib") is None:
        return  # not installed: let kube_config's own import fail as it would

    class OAuth2Session:
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            _undefer()
            real = importlib.import_module("requests_oauthlib").OAuth2Session
            return real(*args, **kwargs)

    top, oauth2, session = _Deferred("oauthlib"), _Deferred("oauthlib.oauth2"), _Deferred("requests_oauthlib")
    top.oauth2 = oauth2  # type: ignore[attr-defined]
    session.OAuth2Session = OAuth2Session  # type: ignore[attr-defined]
    sys.modules.update({"oauthlib": top, "oauthlib.oauth2": oauth2, "requests_oauthlib": session})


def _load_configuration(kubeconfig: str | None, context: str | None) -> Any:
    """A ``kubernetes.client.Configuration``: --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else
    the in-cluster service account. Several files are joined with os.pathsep and merged as kubectl does."""
    configuration, _, kube_config = _client_modules()
    import yaml  # what the client's kubeconfig loader parses with
    from kubernetes.config.config_exception import ConfigException

    cfg = configuration.Configuration()
    source = kubeconfig or os.environ.get("KUBECONFIG") or ""
    default = os.path.expanduser("~/.kube/config")
    try:
        if source or os.path.exists(default):
            files = source or default
            missing = [p for p in files.split(os.pathsep) if p and not os.path.exists(os.path.expanduser(p))]
            if missing and len(missing) == len([p for p in files.split(os.pathsep) if p]):
                raise ClusterError(f"kubeconfig not found: {', '.join(missing)}")
            kube_config.load_kube_config(
                config_file=files, context=context, client_configuration=cfg, persist_config=False
            )
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            if context:
                raise InvalidInput(
                    "--context needs a kubeconfig; none found (in-cluster config has no contexts)"
                )
            from kubernetes.config import incluster_config

            incluster: Any = incluster_config  # untyped
            incluster.load_incluster_config(client_configuration=cfg)
        else:
            raise ClusterError(
                "no cluster configured: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, "
                "or run in a pod (in-cluster)"
            )
    except ConfigException as err:
        raise ClusterError(f"invalid kubeconfig: {one_line(str(err), 300)}") from None
    except UnicodeDecodeError:
        raise ClusterError(f"invalid kubeconfig {source or default}: not UTF-8 text") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ClusterError(f"invalid kubeconfig {source or default}{where}: not valid YAML") from None
    # Our own retry policy decides what may be repeated (urllib3's default would resend reads silently
    # and hide the count of requests).
    cfg.retries = False
    return cfg


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


class Cluster:
    """A connection to one apiserver. Thread-safe for concurrent reads."""

    def __init__(
        self,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        attempts: int = 4,
        backoff: float = 0.25,
        request_timeout: tuple[float, float] = (5.0, 30.0),
        configuration: Any = None,
    ) -> None:
        _, rest, _ = _client_modules()
        cfg = configuration if configuration is not None else _load_configuration(kubeconfig, context)
        self.host: str = cfg.host
        self._cfg: Any = cfg
        # The client's REST transport (urllib3 with the configuration's TLS settings); requests are built
        # here with explicit paths, so no generated API class or model is involved.
        self._rest: Any = rest.RESTClientObject(cfg)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.request_timeout = request_timeout
        self.requests = RequestLog.new()
        self.on_retry: Callable[[str], None] | None = None  # apply shows retries as progress

    def close(self) -> None:
        self._rest.close()

    # ---- transport -------------------------------------------------------------------------------

    def _once(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
        what: str,
        secrets: Sequence[str] = (),
    ) -> tuple[int, Any]:
        """One request; returns (status, parsed JSON) for 2xx and 404, raises for everything else."""
        import urllib3

        headers = {"Accept": "application/json", "Content-Type": content_type, "User-Agent": USER_AGENT}
        # Bearer token (refreshed by the configuration's hook for exec plugins); client certificates are
        # in the transport's TLS context.
        for auth in self._cfg.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[auth["key"]] = auth["value"]
        url = self.host + path + (f"?{urlencode(list(query))}" if query else "")
        self.requests.add(method)
        verb = METHOD_VERB.get(method, method.lower())
        try:
            resp: Any = self._rest.request(
                method, url, headers=headers, body=body, _request_timeout=self.request_timeout
            )
            raw = resp.read() or b""
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as err:
            raise TransientError(
                f"cannot reach the cluster at {self.host} to {verb} {what}: {_reason(err)}", sent=False
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            if "CERTIFICATE_VERIFY_FAILED" in str(err) or "SSLError" in str(err):
                raise ClusterError(
                    f"TLS verification failed for {self.host} ({verb} {what}): {one_line(str(err), 200)}"
                ) from None
            raise TransientError(
                f"connection to {self.host} failed during {verb} {what}: {_reason(err)}", sent=True
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
        raise error_for(status, payload, raw, method=method, what=what, secrets=secrets)

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
        secrets: Sequence[str] = (),
        safe: bool,
    ) -> tuple[int, Any]:
        """``_once`` with retries: all transient failures when ``safe``, else only unsent requests."""
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return self._once(
                    method,
                    path,
                    query=query,
                    body=body,
                    content_type=content_type,
                    what=what,
                    secrets=secrets,
                )
            except TransientError as err:
                if attempt == self.attempts or not (safe or not err.sent):
                    raise
                if self.on_retry is not None:
                    self.on_retry(f"retrying after: {err} (attempt {attempt + 1}/{self.attempts})")
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- reads -----------------------------------------------------------------------------------

    def get_path(self, path: str, *, what: str, query: Sequence[tuple[str, str]] = ()) -> Any:
        """GET a path; None when 404."""
        status, payload = self._send("GET", path, what=what, query=query, safe=True)
        return None if status == 404 else payload

    def get(self, ref: Ref) -> Obj | None:
        obj = self.get_path(ref_path(ref), what=describe(ref.api_version, ref.kind, ref.namespace, ref.name))
        return obj if isinstance(obj, dict) else None

    def list_objects(
        self, api_version: str, kind: str, namespace: str = "", *, field_selector: str = ""
    ) -> list[Obj]:
        query = [("fieldSelector", field_selector)] if field_selector else []
        payload = self.get_path(
            resource_path(api_version, kind, namespace),
            what=describe(api_version, kind, namespace, ""),
            query=query,
        )
        return list((payload or {}).get("items") or [])

    def events_for(self, ref: Ref) -> list[Obj]:
        """Events about one object, oldest first (a field selector: one request, whatever the cluster)."""
        selector = f"involvedObject.kind={ref.kind},involvedObject.name={ref.name}"
        events = self.list_objects("v1", "Event", ref.namespace, field_selector=selector)
        return sorted(events, key=event_time)

    def pods_using(self, namespace: str) -> dict[str, list[str]]:
        """Pods of one namespace by claim they mount. A field selector cannot match volumes, so this lists
        the pods of that namespace (bounded by the registry namespace, not by the cluster)."""
        return pods_mounting(self.list_objects("v1", "Pod", namespace))

    def detect_target(self) -> Target:
        """ocp4 when the image-registry operator API is served; ocp3 when dc/docker-registry exists."""
        group = self.get_path(
            "/apis/imageregistry.operator.openshift.io", what="API group imageregistry.operator.openshift.io"
        )
        if group is not None:
            return Target.OCP4
        dc_group = self.get_path("/apis/apps.openshift.io/v1", what="API group apps.openshift.io")
        if dc_group is not None:
            ref = Ref(
                "apps.openshift.io/v1", "DeploymentConfig", REGISTRY_NAMESPACE[Target.OCP3], "docker-registry"
            )
            if self.get(ref) is not None:
                return Target.OCP3
        raise InvalidInput(
            f"cannot detect the target at {self.host}: the cluster serves neither the API group "
            "imageregistry.operator.openshift.io (OpenShift 4.x) nor deploymentconfigs.apps.openshift.io "
            "docker-registry in namespace default (OpenShift 3.x); pass --target ocp4 or --target ocp3"
        )

    def read(self, query: LiveQuery) -> LiveState:
        """Answer a ``LiveQuery`` with concurrent GETs: each object by name, each StorageClass by name,
        each claim's events (field selector) and the pods of each claim's namespace."""
        tasks: dict[str, Callable[[], Any]] = {}
        for ref in query.refs:
            tasks[f"obj:{ref}"] = functools.partial(self.get, ref)
        for name in query.storage_classes:
            tasks[f"sc:{name}"] = functools.partial(
                self.get, Ref("storage.k8s.io/v1", "StorageClass", "", name)
            )
        claim_namespaces = sorted({ns for ns, _ in query.claims})
        for ns, name in query.claims:
            claim = Ref("v1", "PersistentVolumeClaim", ns, name)
            tasks[f"ev:{claim}"] = functools.partial(self.events_for, claim)
        for ns in claim_namespaces:
            tasks[f"pods:{ns}"] = functools.partial(self.pods_using, ns)
        results = self._concurrently(tasks)

        live = LiveState(
            target=query.target, server_dry_run=query.target is Target.OCP4, source=f"cluster {self.host}"
        )
        for ref in query.refs:
            obj = results[f"obj:{ref}"]
            if obj is not None:
                live.objects[ref] = obj
        for name in query.storage_classes:
            sc = results[f"sc:{name}"]
            if sc is not None:
                live.storage_classes[name] = sc
        for ns, name in query.claims:
            claim = Ref("v1", "PersistentVolumeClaim", ns, name)
            live.events[claim] = results[f"ev:{claim}"]
            users = results[f"pods:{ns}"].get(name)
            if users:
                live.pods_using_claim[name] = users
        return live

    def get_many(self, refs: Sequence[Ref]) -> dict[Ref, Obj | None]:
        """GET each object by name, concurrently (one round trip for all)."""
        tasks: dict[str, Callable[[], Any]] = {
            str(i): functools.partial(self.get, r) for i, r in enumerate(refs)
        }
        results = self._concurrently(tasks)
        return {r: results[str(i)] for i, r in enumerate(refs)}

    def _concurrently(self, tasks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        if not tasks:
            return {}
        with ThreadPoolExecutor(max_workers=min(8, len(tasks))) as pool:
            futures = {key: pool.submit(fn) for key, fn in tasks.items()}
            # .result() re-raises the first failure (a 403 names its own resource)
            return {key: fut.result() for key, fut in futures.items()}

    # ---- writes ----------------------------------------------------------------------------------

    def _write_once(self, write: Write, *, dry_run: bool) -> Obj | None:
        ref = write.ref
        what = describe(ref.api_version, ref.kind, ref.namespace, ref.name)
        secrets = secret_strings(write.body) if write.secret or ref.kind == "Secret" else []
        path = (
            resource_path(ref.api_version, ref.kind, ref.namespace)
            if write.verb is Verb.CREATE
            else ref_path(ref)
        )
        content_type = "application/json"
        if write.verb is Verb.PATCH:
            content_type = PATCH_CONTENT_TYPES[write.patch_type or PatchType.MERGE]
        query = [("dryRun", "All")] if dry_run else []
        if write.verb in (Verb.CREATE, Verb.UPDATE, Verb.PATCH):
            query.append(("fieldManager", "regplan"))
        status, payload = self._once(
            VERB_METHOD[write.verb],
            path,
            query=query,
            body=_with_precondition(write, dry_run=dry_run),
            content_type=content_type,
            what=what,
            secrets=secrets,
        )
        if status == 404:
            if write.verb is Verb.DELETE:
                raise ConflictError(f"delete {what}: it is already gone (it changed since the plan)")
            raise ApiError(
                f"{METHOD_VERB[VERB_METHOD[write.verb]]} {what}: not found (404)",
                status=404,
                reason="NotFound",
            )
        return payload if isinstance(payload, dict) else None

    def write(self, write: Write, *, dry_run: bool = False) -> Obj | None:
        """Send one planned write. On an unknown outcome, re-read and resend only if it did not land."""
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return self._write_once(write, dry_run=dry_run)
            except TransientError as err:
                if attempt == self.attempts:
                    raise
                if self.on_retry is not None:
                    self.on_retry(
                        f"{err}; checking whether it took effect (attempt {attempt + 1}/{self.attempts})"
                    )
                time.sleep(delay)
                delay *= 2
                if err.sent and not dry_run:
                    live = self.get(write.ref)
                    if write_landed(write, live):
                        return live
        raise AssertionError("unreachable")  # pragma: no cover

    def dry_run(self, writes: Sequence[Write]) -> list[Diagnostic]:
        """Send each planned write with ``dryRun=All`` (4.x); what the apiserver refuses becomes an error.

        The create half of a replace is skipped: the object still exists until the delete runs, so the
        server would only say "already exists"."""
        deleted = {w.ref for w in writes if w.verb is Verb.DELETE}
        todo = [w for w in writes if not (w.verb is Verb.CREATE and w.ref in deleted)]
        diagnostics: list[Diagnostic] = []

        def one(w: Write) -> Diagnostic | None:
            try:
                self.write(w, dry_run=True)
            except (ApiError, ConflictError) as err:
                if isinstance(err, ApiError) and err.status in (401, 403):
                    raise
                return Diagnostic(
                    key=str(w.ref),
                    message=f"the apiserver would refuse this {w.verb}: {err}",
                    origin="server dry-run",
                    hint="the plan cannot be applied as is",
                )
            return None

        tasks: dict[str, Callable[[], Any]] = {str(i): functools.partial(one, w) for i, w in enumerate(todo)}
        results = self._concurrently(tasks)
        for i in range(len(todo)):
            found = results[str(i)]
            if found is not None:
                diagnostics.append(found)
        return diagnostics

    def wait_gone(
        self,
        ref: Ref,
        *,
        uid: str | None,
        timeout: float,
        interval: float = 1.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Poll until the object (that uid) is gone; while a claim is held by the pvc-protection
        finalizer, say which pods still mount it."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            live = self.get(ref)
            if live is None or (uid and (live.get("metadata") or {}).get("uid") != uid):
                return
            if time.monotonic() >= deadline:
                raise ClusterError(f"{ref} is still present after {timeout:.0f}s{last}")
            holders = ""
            if ref.kind == "PersistentVolumeClaim":
                pods = self.pods_using(ref.namespace).get(ref.name, [])
                finalizers = (live.get("metadata") or {}).get("finalizers") or []
                if pods:
                    holders = f" (held by finalizer {', '.join(finalizers)}: used by pod {', '.join(pods)})"
                elif finalizers:
                    holders = f" (finalizers: {', '.join(finalizers)})"
            if progress is not None and holders != last:
                progress(f"waiting for {ref} to be deleted{holders}")
            last = holders
            time.sleep(interval)


def _reason(err: BaseException) -> str:
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
