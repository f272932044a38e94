"""Shared connection pools against the real apiservers (issue 18): contexts of one server and credential
share one transport, concurrently; another credential on the same server never rides on it (the limited
user stays forbidden while the admin's reads succeed through the same server), another server has its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from harness import TargetCluster
from test_fleet_cluster import fleet_kubeconfig

from regplan.base.errors import RegplanError
from regplan.base.model import Ref, Target
from regplan.cluster import Cluster
from regplan.cluster.pool import Pools

CONFIG = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")


def test_contexts_share_a_pool_per_server_and_credential_and_credentials_never_mix(
    ocp4_cluster: TargetCluster, ocp3_cluster: TargetCluster, tmp_path: Path
) -> None:
    cfg = str(fleet_kubeconfig(tmp_path / "kubeconfig", ocp4_cluster, ocp3_cluster))
    pools = Pools(environ={})
    try:
        a4, b4, spare, limited, a3 = (
            Cluster(kubeconfig=cfg, context=c, pools=pools) for c in ("a4", "b4", "spare0", "limited4", "a3")
        )
        assert a4._transport is b4._transport is spare._transport  # ocp4 + admin4: one pool
        assert limited._transport is not a4._transport  # the same server, another user
        assert a3._transport is not a4._transport  # another server
        assert pools.built == 3
        with ThreadPoolExecutor(8) as ex:
            got = list(ex.map(lambda c: c.get(CONFIG), [a4, b4, spare] * 4))
        assert all(obj is not None and obj["metadata"]["name"] == "cluster" for obj in got)
        with pytest.raises(RegplanError, match=r"(?i)forbidden"):
            limited.get(CONFIG)  # the admin's connections never carry the limited user's requests
        assert (a4.requests.total, b4.requests.total, limited.requests.total) == (4, 4, 1)
        assert a4.detect_target() is Target.OCP4 and a3.detect_target() is Target.OCP3
        a4.close()  # a cluster does not close the pool it shares: b4 still reads
        assert b4.get(CONFIG) is not None
    finally:
        pools.close()
