"""No write under a Lease that may already have expired (renewals failing or hanging).

``Lock.check()`` runs before every write. It used to look only at ``lost`` (set when a renewal RAISED);
a renewal that hangs in retries (30 s read timeout, several attempts) leaves ``lost`` unset while the
Lease expires after ``leaseDurationSeconds`` and another apply may take it over and write too.
"""

from __future__ import annotations

import time

import pytest
from fakes import MemoryCluster, as_api

from regplan.base.errors import StaleError
from regplan.engine import lock


def test_check_refuses_once_the_lease_went_unrenewed_too_long() -> None:
    held = lock.acquire(as_api(MemoryCluster()), "default", timeout=0, holder="me@h:1", duration=60)
    try:
        held.check()  # fresh: fine
        held.renewed_at = time.monotonic() - 45  # two renewals (every 20 s) missed, lost still unset
        assert held.lost is None
        with pytest.raises(StaleError, match="not renewed for 45s"):
            held.check()
    finally:
        held.release()


def test_a_successful_renewal_resets_the_clock() -> None:
    held = lock.acquire(as_api(MemoryCluster()), "default", timeout=0, holder="me@h:1", duration=60)
    try:
        held.renewed_at = time.monotonic() - 45
        held.renew()
        held.check()
    finally:
        held.release()
