"""The cluster adapter's one class: ``Cluster`` (reads, writes, server-side dry run, waits).

Reads answer a ``LiveQuery`` with concurrent GETs by name (the number of requests does not grow with the
cluster); writes are checked against ``policy.WRITE_POLICY`` before any request and carry their
precondition; every request goes through ``transport.retrying`` (see there for what may be repeated).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from regplan.base.errors import ClusterError, ClusterMoved, Diagnostic, InvalidInput
from regplan.base.model import (
    REGISTRY_NAMESPACE,
    LiveQuery,
    LiveState,
    Obj,
    Ref,
    Target,
    Verb,
    Write,
    event_time,
)
from regplan.cluster.apierrors import METHOD_VERB, ApiError, ConflictError, TransientError, secret_strings
from regplan.cluster.connect import open_transport
from regplan.cluster.landed import write_landed
from regplan.cluster.policy import (
    VERB_METHOD,
    check_write,
    content_type,
    describe,
    ref_path,
    resource_path,
    with_precondition,
)
from regplan.cluster.pool import Pools
from regplan.cluster.transport import RequestLog, RetryPolicy, Sender, Transport, retrying

_CONFIG = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
_CONFIG_PATH = ref_path(_CONFIG)
_CONFIG_WHAT = describe(_CONFIG.api_version, _CONFIG.kind, _CONFIG.namespace, _CONFIG.name)
# Seconds detection's read of Config/cluster stands for the plan's read of it (a plan reads it right after
# detecting; later reads - apply's re-reads, waits - always go to the server).
SEEN_FRESH = 5.0


def _names_object(payload: Any, kind: str, name: str) -> bool:
    """Is a 404 about this object (the resource is served, the object absent) rather than the resource?"""
    details = payload.get("details") if isinstance(payload, dict) else None
    return isinstance(details, dict) and details.get("kind") == kind and details.get("name") == name


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
        pools: Pools | None = None,
    ) -> None:
        """``pools``: a workspace run's shared connections (``regplan.cluster.pool``): contexts of one server
        and credential share one transport, which the pools close, not this object."""
        found: tuple[str, ...] = ()
        self._owns_transport = True
        self._pools = pools
        self._transport: Sender
        if pools is not None and configuration is None:
            self._transport, found, shared = pools.transport(kubeconfig, context, request_timeout)
            self._owns_transport = not shared
        elif configuration is None:  # the standard-library transport where it can, else the client's
            self._transport, found = open_transport(kubeconfig, context, request_timeout)
        else:  # a client configuration handed in (tests, embedding programs): the client's transport
            from regplan.cluster.clientimport import client_modules

            _, rest, _ = client_modules()
            self._transport = Transport(configuration, rest, request_timeout)
        # Said once to the user by the caller (e.g. TLS verification turned off in the kubeconfig).
        self.warnings: tuple[str, ...] = found
        self._requests = RequestLog.new()  # this cluster's requests (its transport may be shared)
        self.host: str = self._transport.host
        self.policy = RetryPolicy(attempts=max(1, attempts), backoff=backoff)
        self.on_retry: Callable[[str], None] | None = None  # apply shows retries as progress
        # target detection's answer for Config/cluster, for the read that follows it (``_detected``)
        self._seen: dict[str, tuple[float, Future[tuple[int, Any]]]] = {}
        self._seen_lock = threading.Lock()

    @property
    def requests(self) -> RequestLog:
        return self._requests

    def close(self) -> None:
        if self._owns_transport:
            self._transport.close()
        elif self._pools is not None:  # shared: the pools keep it for the next context, or close it
            pools, self._pools = self._pools, None  # released once, however often closed
            pools.release(self._transport)

    # ---- reads -----------------------------------------------------------------------------------

    def get_path(self, path: str, *, what: str, query: Sequence[tuple[str, str]] = ()) -> Any:
        """GET a path; None when 404."""
        status, payload = retrying(
            functools.partial(self._transport.once, "GET", path, what=what, query=query, log=self._requests),
            policy=self.policy,
            on_retry=self.on_retry,
        )
        return None if status == 404 else payload

    def get(self, ref: Ref) -> Obj | None:
        reused, seen = self._detected(ref_path(ref))
        if reused:
            return seen if isinstance(seen, dict) else None
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
        """ocp4 when the image-registry operator API is served; ocp3 when dc/docker-registry exists.

        The first request is the GET of ``Config/cluster`` itself: served (200, or 404 naming the object)
        proves the API group, and its answer is kept for the read that follows (``get``: one request fewer
        per plan). Any other answer (the group not served, 403 on the object) falls back to asking for the
        API group, as before."""
        pending: Future[tuple[int, Any]] = Future()
        with self._seen_lock:
            self._seen[_CONFIG_PATH] = (time.monotonic(), pending)
        try:
            status, payload = retrying(
                functools.partial(
                    self._transport.once, "GET", _CONFIG_PATH, what=_CONFIG_WHAT, log=self._requests
                ),
                policy=self.policy,
                on_retry=self.on_retry,
            )
        except ApiError as err:
            if err.status != 403:
                pending.set_result((0, None))
                raise
            status, payload = 0, None  # may not read the object: the API group decides
        except BaseException:
            pending.set_result((0, None))
            raise
        pending.set_result((status, payload))
        if status == 200 or (status == 404 and _names_object(payload, "configs", "cluster")):
            return Target.OCP4
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

    def _detected(self, path: str) -> tuple[bool, Any]:
        """(True, the object or None) when target detection just read ``path`` (its answer, waited for if
        still in flight, used once and only while fresh); (False, None) when the path must be read."""
        with self._seen_lock:
            found = self._seen.pop(path, None)
        if found is None:
            return False, None
        when, pending = found
        status, payload = pending.result()
        if time.monotonic() - when > SEEN_FRESH:
            return False, None
        if status == 200 and isinstance(payload, dict):
            return True, payload
        if status == 404 and _names_object(payload, "configs", "cluster"):
            return True, None
        return False, None

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
        if self._pools is not None:  # a workspace run: its request threads, shared by every cluster
            shared = self._pools.executor()
            submitted = {key: shared.submit(fn) for key, fn in tasks.items()}
            return {key: fut.result() for key, fut in submitted.items()}
        with ThreadPoolExecutor(max_workers=min(8, len(tasks))) as pool:
            futures = {key: pool.submit(fn) for key, fn in tasks.items()}
            # .result() re-raises the first failure (a 403 names its own resource)
            return {key: fut.result() for key, fut in futures.items()}

    # ---- writes ----------------------------------------------------------------------------------

    def _write_once(self, write: Write, *, dry_run: bool) -> Obj | None:
        ref = write.ref
        policy = check_write(write)
        what = describe(ref.api_version, ref.kind, ref.namespace, ref.name)
        secrets = secret_strings(write.body) if write.secret or policy.secret else []
        path = (
            resource_path(ref.api_version, ref.kind, ref.namespace)
            if write.verb is Verb.CREATE
            else ref_path(ref)
        )
        query = [("dryRun", "All")] if dry_run else []
        if write.verb in (Verb.CREATE, Verb.UPDATE, Verb.PATCH):
            query.append(("fieldManager", "regplan"))
        status, payload = self._transport.once(
            VERB_METHOD[write.verb],
            path,
            query=query,
            body=with_precondition(write, dry_run=dry_run),
            content_type=content_type(write, policy),
            what=what,
            secrets=secrets,
            log=self._requests,
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
        check_write(write)  # refused before the first request, not after a retry

        def lost(err: TransientError) -> bool:
            return err.sent and not dry_run  # an unsent or dry-run request may simply go again

        def landed(err: TransientError) -> tuple[bool, Obj | None]:
            if not lost(err):
                return False, None
            live = self.get(write.ref)
            return write_landed(write, live), live

        return retrying(
            functools.partial(self._write_once, write, dry_run=dry_run),
            policy=self.policy,
            on_retry=self.on_retry,
            before_resend=landed,
            note=lambda err: "checking whether it took effect" if lost(err) else "retrying",
        )

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
            except ConflictError as err:
                # 409: the object appeared, or changed since it was read (an operator writing the Config,
                # another apply): the cluster moved while planning, which is exit 5, not a plan error.
                raise ClusterMoved(
                    f"{w.ref} changed while planning (server dry-run: {err}); run `regplan plan` again"
                ) from None
            except ApiError as err:
                if err.status in (401, 403):
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
