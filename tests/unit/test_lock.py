"""The Lease lock against the shared in-memory cluster (get/write with resourceVersion checks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import MemoryCluster, as_api

from regplan.base.errors import StaleError
from regplan.base.model import Ref, Verb
from regplan.cluster import ConflictError
from regplan.engine import lock

NS = "openshift-image-registry"


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
    held = lock.acquire(as_api(mem), NS, timeout=0, holder="a@h:1")
    ref = Ref("coordination.k8s.io/v1", "Lease", NS, lock.LEASE_NAME)
    assert mem.objects[ref]["spec"]["holderIdentity"] == "a@h:1"
    held.release()
    assert ref not in mem.objects
    assert [v for v, _ in mem.log] == [Verb.CREATE, Verb.DELETE]


def test_second_acquire_times_out_naming_the_holder() -> None:
    mem = MemoryCluster()
    first = lock.acquire(as_api(mem), NS, timeout=0, holder="alice@box:42")
    messages: list[str] = []
    with pytest.raises(StaleError, match="alice@box:42") as exc:
        lock.acquire(as_api(mem), NS, timeout=0.3, holder="bob@box:7", poll=0.1, progress=messages.append)
    assert exc.value.exit_code == 5
    assert "--lock-timeout" in str(exc.value)
    assert messages and "alice@box:42" in messages[0]
    first.release()


def test_expired_lease_of_a_crashed_run_is_taken_over() -> None:
    mem = MemoryCluster()
    old = datetime.now(UTC) - timedelta(seconds=600)
    ref = Ref("coordination.k8s.io/v1", "Lease", NS, lock.LEASE_NAME)
    mem.put(lock.lease_body(NS, "crashed@h:9", 60, old), uid="u-old")
    told: list[str] = []
    held = lock.acquire(as_api(mem), NS, timeout=0, holder="new@h:1", progress=told.append)
    assert mem.objects[ref]["spec"]["holderIdentity"] == "new@h:1"
    assert mem.objects[ref]["spec"]["leaseTransitions"] == 1
    assert told and "crashed@h:9" in told[0]
    held.release()


def test_renew_updates_renew_time_and_lost_lock_is_reported() -> None:
    mem = MemoryCluster()
    held = lock.acquire(as_api(mem), NS, timeout=0, holder="a@h:1")
    before = held.lease["metadata"]["resourceVersion"]
    held.renew()
    assert held.lease["metadata"]["resourceVersion"] != before
    held.check()  # still ours
    # someone else takes it behind our back: the next renewal conflicts
    ref = held.ref
    mem.put(lock.lease_body(NS, "thief@h:2", 60, datetime.now(UTC)), uid="u2")
    with pytest.raises(ConflictError):
        held.renew()
    held.lost = "conflict"
    with pytest.raises(StaleError, match="lost the apply lock"):
        held.check()
    held.release()  # does not delete the thief's lease (precondition fails silently)
    assert mem.objects[ref]["spec"]["holderIdentity"] == "thief@h:2"
