"""Cluster adapter: the one door to an apiserver, and the ONLY package that imports ``kubernetes``.

Everything regplan says to an apiserver goes through ``Cluster`` (``ClusterAPI`` is its Protocol). It
speaks through the standard-library transport (``direct``) for the kubeconfig forms it implements and
through the official client for the rest (``connect`` decides; docs/ARCHITECTURE.md "The cluster client").
The seams, one module each:

- ``apierrors``: API failures as regplan errors (exit 4 / 5), redaction of anything a server echoes;
- ``policy``: resource paths and the per-kind write policy table (what may be created, patched - with
  which patch type -, replaced by PUT, deleted; ``Config/cluster`` and the ``DeploymentConfig`` never);
- ``landed``: did a write whose answer was lost take effect (pure);
- ``clientimport``: the official client's modules, imported lean;
- ``kubeconfig``: kubeconfig files checked and loaded, kubectl-like messages;
- ``connect``: which transport a context gets (``direct.route`` says why the client);
- ``direct``: the standard-library transport (``ssl``, sockets, ``http11``; keep-alive connections);
- ``http11``: one HTTP/1.1 request and response over a socket (bounded parsing);
- ``credentials``: its tokens, token files, exec plugins and client certificates;
- ``transport``: one request through the official client, and the one retry helper (backoff with jitter,
  Retry-After honoured);
- ``adapter``: the ``Cluster`` class (reads, writes, dry run, waits);
- ``protocol``: ``ClusterAPI``.

Retry policy: reads are retried on connection errors, timeouts and 429/500/502/503/504; a request that
never reached the server is retried for every verb; a write whose outcome is unknown is NOT blindly
repeated: it is re-read and resent only if ``write_landed`` says it did not land (every write carries a
precondition - resourceVersion, uid, or "must not exist" for a create - so a repeat can never apply
twice); 409 Conflict is never retried or forced (``ConflictError``, exit 5).

The names below are the package's public surface (and the names ``regplan.cluster`` had as one module).
"""

from __future__ import annotations

from regplan.cluster.adapter import Cluster, pods_mounting
from regplan.cluster.apierrors import (
    METHOD_VERB,
    RETRY_STATUSES,
    ApiError,
    ConflictError,
    TransientError,
    error_for,
    one_line,
    redact,
    secret_strings,
    status_message,
)
from regplan.cluster.kubeconfig import load_configuration
from regplan.cluster.landed import write_landed
from regplan.cluster.policy import (
    PATCH_CONTENT_TYPES,
    RESOURCES,
    VERB_METHOD,
    WRITE_POLICY,
    KindPolicy,
    check_write,
    describe,
    ref_path,
    resource_path,
)
from regplan.cluster.policy import with_precondition as _with_precondition
from regplan.cluster.protocol import ClusterAPI
from regplan.cluster.transport import USER_AGENT, RequestLog, RetryPolicy, backoff_delay, retrying


def __getattr__(name: str) -> object:
    """The official client's import helpers, imported on first use (not on the standard-library path)."""
    if name in ("_client_modules", "_lean_import_allowed"):
        from regplan.cluster import clientimport

        return clientimport.client_modules if name == "_client_modules" else clientimport.lean_import_allowed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _load_configuration(kubeconfig: str | None, context: str | None) -> object:
    """The configuration alone (the old one-module name; ``load_configuration`` also gives warnings)."""
    return load_configuration(kubeconfig, context)[0]


__all__ = [
    "METHOD_VERB",
    "PATCH_CONTENT_TYPES",
    "RESOURCES",
    "RETRY_STATUSES",
    "USER_AGENT",
    "VERB_METHOD",
    "WRITE_POLICY",
    "ApiError",
    "Cluster",
    "ClusterAPI",
    "ConflictError",
    "KindPolicy",
    "RequestLog",
    "RetryPolicy",
    "TransientError",
    "_client_modules",
    "_lean_import_allowed",
    "_load_configuration",
    "_with_precondition",
    "backoff_delay",
    "check_write",
    "describe",
    "error_for",
    "load_configuration",
    "one_line",
    "pods_mounting",
    "redact",
    "ref_path",
    "resource_path",
    "retrying",
    "secret_strings",
    "status_message",
    "write_landed",
]
