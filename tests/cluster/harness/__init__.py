"""The real Kubernetes test control plane for regplan's cluster tests (test infrastructure only).

See docs/control-plane.md. Modules: ``binaries`` (find the built binaries), ``process`` and
``controlplane`` (etcd + kube-apiserver + kube-controller-manager), ``kube`` (small REST client),
``seed`` / ``state`` (seed state per target, reset between tests), ``controllers`` (stand-ins for the
provisioner and the operator), ``audit`` (count writes), ``proxy`` (latency and fault injection),
``cluster`` (what fixtures hand to tests).
"""

from __future__ import annotations

from .audit import AuditLog, AuditWrite
from .binaries import BinariesMissing, find_binaries
from .cluster import ClusterPool, TargetCluster, TargetUnavailable
from .kube import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, ApiError, Kube
from .proxy import ApiProxy, is_write, matching

__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MERGE_PATCH",
    "ApiError",
    "ApiProxy",
    "AuditLog",
    "AuditWrite",
    "BinariesMissing",
    "ClusterPool",
    "Kube",
    "TargetCluster",
    "TargetUnavailable",
    "find_binaries",
    "is_write",
    "matching",
]
