"""A deliberately small Kubernetes REST client for the harness (seeding, resets, controller stand-ins).

The harness does not use regplan's own adapter (that is what is under test) nor the kubernetes
package (its typed models drop CRD fields and hide the raw status/patch semantics tests assert on).
Requests carry the user agent ``regplan-test-harness`` so the audit counter can tell harness writes
from regplan's (``regplan/<version>``).
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

HARNESS_AGENT = "regplan-test-harness/1"

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

Obj = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    api_version: str
    plural: str
    namespaced: bool

    def base(self) -> str:
        return ("/api/" if "/" not in self.api_version else "/apis/") + self.api_version


# kind -> where it is served. Only the kinds the harness touches; add rows as tests need them.
KINDS: dict[str, Kind] = {
    "Namespace": Kind("v1", "namespaces", False),
    "Secret": Kind("v1", "secrets", True),
    "ConfigMap": Kind("v1", "configmaps", True),
    "PersistentVolumeClaim": Kind("v1", "persistentvolumeclaims", True),
    "PersistentVolume": Kind("v1", "persistentvolumes", False),
    "Event": Kind("v1", "events", True),
    "Pod": Kind("v1", "pods", True),
    "Deployment": Kind("apps/v1", "deployments", True),
    "StorageClass": Kind("storage.k8s.io/v1", "storageclasses", False),
    "CustomResourceDefinition": Kind("apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    "Lease": Kind("coordination.k8s.io/v1", "leases", True),
    "Role": Kind("rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": Kind("rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRole": Kind("rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": Kind("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Config": Kind("imageregistry.operator.openshift.io/v1", "configs", False),
    "DeploymentConfig": Kind("apps.openshift.io/v1", "deploymentconfigs", True),
}


class ApiError(RuntimeError):
    """A non-2xx answer; ``status`` is the HTTP code, ``body`` the decoded Status (if any)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method, self.path, self.status, self.body = method, path, status, body
        msg = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {path}: HTTP {status}: {msg}")

    @property
    def reason(self) -> str:
        return str(self.body.get("reason", "")) if isinstance(self.body, dict) else ""

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else str(self.body)


def path_for(kind: str, name: str | None = None, namespace: str | None = None, sub: str | None = None) -> str:
    k = KINDS[kind]
    p = k.base()
    if k.namespaced:
        if namespace is None:
            raise ValueError(f"{kind} is namespaced: give a namespace")
        p += f"/namespaces/{namespace}"
    p += f"/{k.plural}"
    if name is not None:
        p += f"/{name}"
    if sub is not None:
        p += f"/{sub}"
    return p


class Kube:
    """One identity (bearer token) against one server."""

    def __init__(self, server: str, ca_file: str, token: str, user_agent: str = HARNESS_AGENT) -> None:
        u = urllib.parse.urlsplit(server)
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 443
        self.server = server
        self.token = token
        self.user_agent = user_agent
        self._ctx = ssl.create_default_context(cafile=ca_file)

    def with_agent(self, user_agent: str) -> Kube:
        k = Kube.__new__(Kube)
        k.__dict__.update(self.__dict__)
        k.user_agent = user_agent
        return k

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Any:
        if query:
            path = f"{path}?{urllib.parse.urlencode(query)}"
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "User-Agent": self.user_agent,
            "Accept": "application/json",
        }
        if data is not None:
            headers["Content-Type"] = content_type
        conn = http.client.HTTPSConnection(self.host, self.port, context=self._ctx, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            decoded: Any = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        if resp.status >= 300:
            raise ApiError(method, path, resp.status, decoded)
        return decoded

    # -- typed-ish helpers -----------------------------------------------------------------------
    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        return dict(self.request("GET", path_for(kind, name, namespace)))

    def get_or_none(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        try:
            return self.get(kind, name, namespace)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        k = KINDS[kind]
        if k.namespaced and namespace is None:
            p = k.base() + f"/{k.plural}"
        else:
            p = path_for(kind, namespace=namespace)
        return list(self.request("GET", p).get("items") or [])

    def create(self, obj: Obj, *, query: Mapping[str, str] | None = None) -> Obj:
        kind = obj["kind"]
        ns = obj.get("metadata", {}).get("namespace")
        return dict(self.request("POST", path_for(kind, namespace=ns), obj, query=query))

    def replace(self, obj: Obj, sub: str | None = None) -> Obj:
        md = obj["metadata"]
        return dict(self.request("PUT", path_for(obj["kind"], md["name"], md.get("namespace"), sub), obj))

    def patch(
        self,
        kind: str,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        content_type: str = MERGE_PATCH,
        sub: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Obj:
        p = path_for(kind, name, namespace, sub)
        return dict(self.request("PATCH", p, patch, content_type=content_type, query=query))

    def delete(self, kind: str, name: str, namespace: str | None = None, *, missing_ok: bool = True) -> None:
        try:
            self.request("DELETE", path_for(kind, name, namespace))
        except ApiError as e:
            if not (missing_ok and e.status == 404):
                raise

    def wait_for(
        self, what: str, check: Callable[[], bool], timeout: float = 30.0, every: float = 0.1
    ) -> None:
        """Poll ``check`` until true; TimeoutError naming ``what`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            if check():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(every)
