"""Clean state per test without deleting namespaces (slow): snapshot a baseline once, reset to it.

The baseline is every object of the tracked kinds right after seeding (or, against a cluster you
bring, at session start). ``reset`` then
1. deletes objects that are not in the baseline (matched by uid): PVCs, PVs, Secrets, Leases, RBAC,
   Pods, StorageClasses, Namespaces, ... made by the test; finalizers are stripped after the delete
   (not before: the PVC-protection controller would put them back) and the call waits until they are
   gone, so the next test can reuse the names;
2. restores baseline objects whose content changed (``Config/cluster``, ``dc/docker-registry``, seed
   Secrets, ...) with a PUT of the baseline content (and of its status through /status), or recreates
   them if a test deleted them;
3. deletes the Events of the registry namespace (tests assert on events).

Against a cluster you bring (``byo=True``) it is careful: only objects a regplan or harness client
created (managedFields manager ``regplan*``) are deleted, status and Events are left alone.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .kube import KINDS, ApiError, Kube, Obj, path_for

# Namespaced kinds tracked in the registry namespace(s); cluster-scoped kinds tracked everywhere.
NAMESPACED = (
    "PersistentVolumeClaim",
    "Secret",
    "ConfigMap",
    "Lease",
    "Role",
    "RoleBinding",
    "Pod",
    "Deployment",
    "DeploymentConfig",
)
CLUSTER = ("PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding", "Namespace", "Config")
# Baseline objects of these kinds are put back when a test changed them.
RESTORE = frozenset({"Config", "DeploymentConfig", "Deployment", "Secret", "ConfigMap", "StorageClass"})
# Kinds whose spec cannot be PUT back (immutable fields): delete + create instead.
RECREATE = frozenset({"StorageClass"})
# Kinds with a status subresource whose status the harness owns in a local control plane.
STATUS = frozenset({"Config", "DeploymentConfig"})
# Metadata fields that describe content (compared and restored); the rest is server bookkeeping.
META_CONTENT = ("labels", "annotations", "finalizers", "ownerReferences")

Key = tuple[str, str, str]  # kind, namespace, name

# Created by the apiserver itself, possibly just after the baseline was taken: never "extras".
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def protected(k: Key) -> bool:
    kind, _, name = k
    if kind == "Namespace":
        return name in PROTECTED_NAMESPACES
    return kind in ("ClusterRole", "ClusterRoleBinding") and name.startswith("system:")


def key_of(obj: Obj, kind: str) -> Key:
    md = obj["metadata"]
    return (kind, md.get("namespace", ""), md["name"])


def content(obj: Obj, with_status: bool) -> Obj:
    out = {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
    md = obj.get("metadata") or {}
    out["metadata"] = {k: md[k] for k in META_CONTENT if md.get(k)}
    if with_status:
        out["status"] = obj.get("status")
    return out


def fresh(obj: Obj) -> Obj:
    """A baseline object as a create body: server bookkeeping removed."""
    body = copy.deepcopy(obj)
    md = body["metadata"]
    for k in (
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ):
        md.pop(k, None)
    return body


def made_by_us(obj: Obj) -> bool:
    managers = [str(m.get("manager", "")) for m in obj["metadata"].get("managedFields") or []]
    return any(m.startswith("regplan") for m in managers)


@dataclass
class Snapshot:
    namespaces: tuple[str, ...]
    byo: bool = False
    objects: dict[Key, Obj] = field(default_factory=dict)
    # Which kinds are tracked / restored / have their status restored. With the real operator running,
    # what it owns (Config spec defaults and status, Deployment, its Secrets, Leases) is left to it.
    namespaced: tuple[str, ...] = NAMESPACED
    cluster_kinds: tuple[str, ...] = CLUSTER
    restore: frozenset[str] = RESTORE
    status: frozenset[str] = STATUS
    # Extras of these kinds written by these field managers are left alone (a running operator's own).
    keep_managers: tuple[str, ...] = ()
    keep_kinds_of_managers: frozenset[str] = frozenset()

    def _list(self, kube: Kube, kind: str) -> Iterable[tuple[Key, Obj]]:
        scopes: Iterable[str | None] = self.namespaces if KINDS[kind].namespaced else (None,)
        for ns in scopes:
            try:
                items = kube.list(kind, ns)
            except ApiError as e:
                if e.status == 404:  # kind not served on this target (Config on ocp3, DC on ocp4)
                    continue
                raise
            for o in items:
                o.setdefault("kind", kind)
                o["kind"] = kind
                o.setdefault("apiVersion", KINDS[kind].api_version)
                yield key_of(o, kind), o

    def capture(self, kube: Kube) -> None:
        self.objects = {
            k: o for kind in self.namespaced + self.cluster_kinds for k, o in self._list(kube, kind)
        }

    # -- reset -------------------------------------------------------------------------------------
    def reset(self, kube: Kube, timeout: float = 60.0) -> list[str]:
        """Bring the cluster back to the baseline; returns what it did (for debugging)."""
        done: list[str] = []
        current = {k: o for kind in self.namespaced + self.cluster_kinds for k, o in self._list(kube, kind)}
        extras = []
        for k, o in current.items():
            base = self.objects.get(k)
            if base is not None and base["metadata"]["uid"] == o["metadata"]["uid"]:
                continue
            if base is not None and k[0] in self.restore:
                continue  # same name, recreated by the test: restored below (PUT) instead
            if protected(k) or (self.byo and not made_by_us(o)) or self._kept(k, o):
                continue
            extras.append((k, o))
        self._delete_all(kube, extras, timeout)
        done += [f"deleted {k[0]} {k[1]}/{k[2]}" for k, _ in extras]

        for k, base in self.objects.items():
            if k[0] not in self.restore:
                continue
            cur = current.get(k)
            with_status = k[0] in self.status and not self.byo
            if cur is not None and cur["metadata"].get("deletionTimestamp"):
                self._delete_all(kube, [(k, cur)], timeout)
                cur = None
            if cur is not None and content(cur, with_status) == content(base, with_status):
                continue
            if cur is None or k[0] in RECREATE:
                if cur is not None:
                    self._delete_all(kube, [(k, cur)], timeout)
                created = kube.create(fresh(base))
                if with_status and base.get("status"):
                    created["status"] = base["status"]
                    kube.replace(created, sub="status")
                self._rebase(kube, k)
                done.append(f"recreated {k[0]} {k[1]}/{k[2]}")
                continue
            body = fresh(base)
            body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            body.pop("status", None)
            updated = kube.replace(body)
            if with_status and updated.get("status") != base.get("status"):
                updated["status"] = base.get("status")
                kube.replace(updated, sub="status")
            done.append(f"restored {k[0]} {k[1]}/{k[2]}")

        if not self.byo:
            for ns in self.namespaces:
                kube.request("DELETE", path_for("Event", namespace=ns))
        return done

    def _kept(self, k: Key, o: Obj) -> bool:
        if k[0] not in self.keep_kinds_of_managers:
            return False
        managers = {str(m.get("manager", "")) for m in o["metadata"].get("managedFields") or []}
        return bool(managers & set(self.keep_managers))

    def _rebase(self, kube: Kube, k: Key) -> None:
        """A recreated baseline object has a new uid: remember it so the next reset keeps it."""
        o = kube.get(k[0], k[2], k[1] or None)
        o["kind"], o["apiVersion"] = k[0], KINDS[k[0]].api_version
        self.objects[k] = o

    @staticmethod
    def _delete_all(kube: Kube, objs: list[tuple[Key, Obj]], timeout: float) -> None:
        for (kind, ns, name), _ in objs:
            kube.delete(kind, name, ns or None)
        for (kind, ns, name), _ in objs:
            cur = kube.get_or_none(kind, name, ns or None)
            if cur is not None and cur["metadata"].get("finalizers") and kind != "Namespace":
                try:
                    kube.patch(kind, name, {"metadata": {"finalizers": None}}, ns or None)
                except ApiError as e:
                    if e.status != 404:
                        raise
        deadline = time.monotonic() + timeout
        for (kind, ns, name), o in objs:
            while True:
                cur = kube.get_or_none(kind, name, ns or None)
                if cur is None or cur["metadata"]["uid"] != o["metadata"]["uid"]:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reset: {kind} {ns}/{name} still present after {timeout:.0f}s")
                time.sleep(0.05)


def describe(objs: dict[Key, Any]) -> list[str]:
    return sorted(f"{k[0]} {k[1]}/{k[2]}" for k in objs)
