"""The apply lock: a ``coordination.k8s.io/v1`` Lease ``regplan-apply`` in the target namespace.

Two applies must not interleave their writes. The first creates the Lease (holderIdentity
``user@host:pid``, ``leaseDurationSeconds``, ``renewTime``) and renews it in a background thread while
it works; a second one polls until ``--lock-timeout`` and then gives up with exit 5 naming the holder.
A Lease left by a crashed run expires ``leaseDurationSeconds`` after its last renewal and is taken over
(an update with the old resourceVersion as precondition, so two waiters cannot both take it).

The lock costs writes (create, renewals, delete), so apply takes it only when the plan has writes:
a no-op apply makes zero write requests.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from regplan.base.errors import ClusterError, StaleError
from regplan.base.model import Obj, Ref, Verb, Write
from regplan.cluster.apierrors import ConflictError
from regplan.cluster.protocol import ClusterAPI

LEASE_NAME = "regplan-apply"
DEFAULT_DURATION = 60  # seconds; renewed every third of it


def identity() -> str:
    """Who holds the lock, as a person reading ``oc get lease`` would want to know."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}:{os.getpid()}"


def micro_time(when: datetime) -> str:
    """The Lease's MicroTime format."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def expires_at(lease: Obj) -> datetime | None:
    """When the holder's claim lapses; None when nobody holds it (released or never renewed)."""
    spec = lease.get("spec") or {}
    if not spec.get("holderIdentity"):
        return None
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    if renewed is None:
        return None
    return renewed + timedelta(seconds=int(spec.get("leaseDurationSeconds") or DEFAULT_DURATION))


def is_free(lease: Obj, now: datetime) -> bool:
    end = expires_at(lease)
    return end is None or end <= now


def lease_body(namespace: str, holder: str, duration: int, now: datetime, transitions: int = 0) -> Obj:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": LEASE_NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "regplan"},
        },
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": micro_time(now),
            "renewTime": micro_time(now),
            "leaseTransitions": transitions,
        },
    }


def describe_holder(lease: Obj, now: datetime) -> str:
    spec = lease.get("spec") or {}
    end = expires_at(lease)
    left = f", expires in {max(0, int((end - now).total_seconds()))}s unless renewed" if end else ""
    return f"{spec.get('holderIdentity')} (renewed {spec.get('renewTime')}{left})"


class Lock:
    """A held lock; ``release()`` it (or use it as a context manager)."""

    def __init__(self, cluster: ClusterAPI, lease: Obj, duration: int) -> None:
        self.cluster = cluster
        self.lease = lease
        self.duration = duration
        self.lost: str | None = None  # why the renewal failed, if it did
        self.renewed_at = time.monotonic()  # last time the Lease was known to be ours (created/renewed)
        self._stop = threading.Event()
        self._mutex = threading.Lock()
        self._thread = threading.Thread(target=self._renew_loop, name="regplan-lease-renew", daemon=True)
        self._thread.start()

    @property
    def ref(self) -> Ref:
        return Ref.of(self.lease)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.duration / 3):
            try:
                self.renew()
            except (ClusterError, StaleError) as err:
                self.lost = str(err)
                return

    def renew(self) -> None:
        with self._mutex:
            body: dict[str, Any] = {
                **self.lease,
                "spec": {**self.lease["spec"], "renewTime": micro_time(_now())},
            }
            meta = self.lease["metadata"]
            updated = self.cluster.write(
                Write(self.ref, Verb.UPDATE, body=body, resource_version=meta.get("resourceVersion"))
            )
            if updated is not None:
                self.lease = updated
            self.renewed_at = time.monotonic()

    def check(self) -> None:
        """Raise if the lock was lost (renewal failed): no further write may be made under it."""
        if self.lost:
            raise StaleError(f"lost the apply lock Lease {self.ref}: {self.lost}")
        # A renewal stuck in retries sets no ``lost`` while the Lease runs out; stop once two renewals
        # were missed, before another apply (whose clock may be ahead of ours) can see it expired.
        idle = time.monotonic() - self.renewed_at
        if idle > self.duration * 2 / 3:
            raise StaleError(
                f"the apply lock Lease {self.ref} was not renewed for {idle:.0f}s "
                f"(it expires after {self.duration}s); stopping before another write"
            )

    def release(self) -> str:
        """Give the lock back; returns "" or why it could not be deleted (it then expires by itself)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._mutex:
            meta = self.lease.get("metadata") or {}
            try:
                self.cluster.write(
                    Write(
                        self.ref,
                        Verb.DELETE,
                        uid=meta.get("uid"),
                        resource_version=meta.get("resourceVersion"),
                    )
                )
            except ConflictError:
                return ""  # taken over after expiry, or already gone: not ours any more
            except (ClusterError, StaleError) as err:
                return (
                    f"could not release the lock Lease {self.ref} ({err}); it expires after {self.duration}s"
                )
        return ""

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _now() -> datetime:
    return datetime.now(UTC)


def acquire(
    cluster: ClusterAPI,
    namespace: str,
    *,
    timeout: float,
    duration: int = DEFAULT_DURATION,
    holder: str | None = None,
    poll: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> Lock:
    """Take the Lease, waiting up to ``timeout`` seconds for another holder; StaleError (exit 5) after."""
    me = holder or identity()
    ref = Ref("coordination.k8s.io/v1", "Lease", namespace, LEASE_NAME)
    deadline = time.monotonic() + timeout
    told = ""
    # Optimistic first attempt: usually nobody holds the lock, so create it straight away; a 409 costs no
    # more than the GET it saves, and the loop then reads who holds it.
    with contextlib.suppress(ConflictError):
        created = cluster.write(Write(ref, Verb.CREATE, body=lease_body(namespace, me, duration, _now())))
        if created is not None:
            return Lock(cluster, created, duration)
    while True:
        now = _now()
        live = cluster.get(ref)
        try:
            if live is None:
                created = cluster.write(
                    Write(ref, Verb.CREATE, body=lease_body(namespace, me, duration, now))
                )
                if created is not None:
                    return Lock(cluster, created, duration)
            elif is_free(live, now):
                meta = live.get("metadata") or {}
                transitions = int((live.get("spec") or {}).get("leaseTransitions") or 0) + 1
                body = lease_body(namespace, me, duration, now, transitions)
                body["metadata"] = {**meta, "resourceVersion": meta.get("resourceVersion")}
                taken = cluster.write(
                    Write(ref, Verb.UPDATE, body=body, resource_version=meta.get("resourceVersion"))
                )
                if taken is not None:
                    if progress is not None and (live.get("spec") or {}).get("holderIdentity"):
                        progress(f"took over the expired lock of {describe_holder(live, now)}")
                    return Lock(cluster, taken, duration)
        except ConflictError:
            live = cluster.get(ref)  # another apply won the race: fall through to waiting
        if time.monotonic() >= deadline:
            who = describe_holder(live, _now()) if live is not None else "another apply"
            raise StaleError(
                f"another apply holds the lock (Lease {namespace}/{LEASE_NAME}): {who}; "
                f"gave up after {timeout:.0f}s (--lock-timeout)"
            )
        if progress is not None and live is not None:
            who = str((live.get("spec") or {}).get("holderIdentity"))
            if who != told:
                progress(f"waiting for the lock held by {describe_holder(live, _now())}")
                told = who
        time.sleep(max(0.0, min(poll, deadline - time.monotonic())))
