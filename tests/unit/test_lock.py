"""The Lease lock against an in-memory stand-in for the cluster (get/write with resourceVersion checks)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from regplan import lock
from regplan.cluster import Cluster, ConflictError
from regplan.errors import StaleError
from regplan.model import Obj, Ref, Verb, Write

NS = "openshift-image-registry"


class MemoryCluster:
    """Enough of ``Cluster`` for the lock: objects by Ref, resourceVersion preconditions, 409s."""

    def __init__(self) -> None:
        self.objects: dict[Ref, Obj] = {}
        self.rv = 100
        self.writes: list[tuple[Verb, Ref]] = []

    def get(self, ref: Ref) -> Obj | None:
        obj = self.objects.get(ref)
        return copy.deepcopy(obj) if obj else None

    def write(self, w: Write, *, dry_run: bool = False) -> Obj | None:
        self.writes.append((w.verb, w.ref))
        live = self.objects.get(w.ref)
        if w.verb is Verb.CREATE:
            if live is not None:
                raise ConflictError("already exists")
            return self._store(w.ref, w.body, uid=f"uid-{self.rv}")
        if live is None:
            raise ConflictError("gone")
        if w.resource_version and live["metadata"]["resourceVersion"] != w.resource_version:
            raise ConflictError("the object has been modified")
        if w.verb is Verb.DELETE:
            del self.objects[w.ref]
            return None
        return self._store(w.ref, w.body, uid=live["metadata"]["uid"])

    def _store(self, ref: Ref, body: Obj, uid: str) -> Obj:
        self.rv += 1
        obj = copy.deepcopy(body)
        obj["metadata"] = {**obj.get("metadata", {}), "uid": uid, "resourceVersion": str(self.rv)}
        self.objects[ref] = obj
        return copy.deepcopy(obj)


def as_cluster(mem: MemoryCluster) -> Cluster:
    return cast(Cluster, mem)


def test_time_round_trip_and_expiry() -> None:
    now = datetime(2026, 11, 26, 17, 0, 0, 123456, tzinfo=UTC)
    assert lock.parse_time(lock.micro_time(now)) == now
    body = lock.lease_body(NS, "me@h:1", 60, now)
    assert lock.expires_at(body) == now + timedelta(seconds=60)
    assert not lock.is_free(body, now + timedelta(seconds=59))
    assert lock.is_free(body, now + timedelta(seconds=61))
    released: dict[str, Any] = {"spec": {"holderIdentity": "", "renewTime": lock.micro_time(now)}}
    assert lock.is_free(released, now)


def test_acquire_creates_then_release_deletes() -> None:
    mem = MemoryCluster()
    held = lock.acquire(as_cluster(mem), NS, timeout=0, holder="a@h:1")
    ref = Ref("coordination.k8s.io/v1", "Lease", NS, lock.LEASE_NAME)
    assert mem.objects[ref]["spec"]["holderIdentity"] == "a@h:1"
    held.release()
    assert ref not in mem.objects
    assert [v for v, _ in mem.writes] == [Verb.CREATE, Verb.DELETE]


def test_second_acquire_times_out_naming_the_holder() -> None:
    mem = MemoryCluster()
    first = lock.acquire(as_cluster(mem), NS, timeout=0, holder="alice@box:42")
    messages: list[str] = []
    with pytest.raises(StaleError, match="alice@box:42") as exc:
        lock.acquire(as_cluster(mem), NS, timeout=0.3, holder="bob@box:7", poll=0.1, progress=messages.append)
    assert exc.value.exit_code == 5
    assert "--lock-timeout" in str(exc.value)
    assert messages and "alice@box:42" in messages[0]
    first.release()


def test_expired_lease_of_a_crashed_run_is_taken_over() -> None:
    mem = MemoryCluster()
    old = datetime.now(UTC) - timedelta(seconds=600)
    ref = Ref("coordination.k8s.io/v1", "Lease", NS, lock.LEASE_NAME)
    mem._store(ref, lock.lease_body(NS, "crashed@h:9", 60, old), uid="u-old")
    told: list[str] = []
    held = lock.acquire(as_cluster(mem), NS, timeout=0, holder="new@h:1", progress=told.append)
    assert mem.objects[ref]["spec"]["holderIdentity"] == "new@h:1"
    assert mem.objects[ref]["spec"]["leaseTransitions"] == 1
    assert told and "crashed@h:9" in told[0]
    held.release()


def test_renew_updates_renew_time_and_lost_lock_is_reported() -> None:
    mem = MemoryCluster()
    held = lock.acquire(as_cluster(mem), NS, timeout=0, holder="a@h:1")
    before = held.lease["metadata"]["resourceVersion"]
    held.renew()
    assert held.lease["metadata"]["resourceVersion"] != before
    held.check()  # still ours
    # someone else takes it behind our back: the next renewal conflicts
    ref = held.ref
    mem._store(ref, lock.lease_body(NS, "thief@h:2", 60, datetime.now(UTC)), uid="u2")
    with pytest.raises(ConflictError):
        held.renew()
    held.lost = "conflict"
    with pytest.raises(StaleError, match="lost the apply lock"):
        held.check()
    held.release()  # does not delete the thief's lease (precondition fails silently)
    assert mem.objects[ref]["spec"]["holderIdentity"] == "thief@h:2"
