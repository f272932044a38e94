"""Connect to the cluster in the background while the pipeline imports and the profile renders.

A cluster command spends most of its wall time waiting: ~0.1 s importing the ``kubernetes`` client and
reading the kubeconfig, then round trips (TLS handshake, target detection, reads, dry run). The pipeline's
own imports (Jinja2, ruamel.yaml, the planner) and the render need no cluster. So ``plan``, ``apply -p``
and ``status`` start a ``Connection`` first thing: a thread builds the adapter (client import, kubeconfig)
and sends the target detection, which opens the TLS connection; the main thread meanwhile imports and
renders, and takes the adapter and the detected target when it needs them (``workflow.Live``).

Errors keep their order: whatever the thread meets (a bad kubeconfig, an unreachable cluster) is kept and
raised only where the command would have met it without the overlap, after the values and rules were
checked. ``apply PLANFILE`` does not use this: it refuses a bad plan file before its first request.
The kubeconfig is found and read as everywhere else (``regplan.cluster.kubeconfig``, through ``Cluster``);
each cluster of a workspace starts its own ``Connection`` (``regplan.engine.actions.open_live``), over the
workspace run's shared connection pools (``regplan.cluster.pool``).
This module imports nothing heavy itself (only the thread does).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from regplan.base.model import Target
    from regplan.cluster.pool import Pools
    from regplan.cluster.protocol import ClusterAPI

# How long closing waits for the thread to finish building the adapter (it may be importing the client;
# the interpreter must not exit in the middle of an import). Target detection is not waited for.
CLOSE_WAIT = 10.0


class Connection:
    """A cluster adapter being built, and (``detect=True``) the target being detected, in a thread."""

    def __init__(
        self, *, kubeconfig: str | None, context: str | None, detect: bool, pools: Pools | None = None
    ) -> None:
        self._pools = pools
        self._cluster: Future[ClusterAPI] = Future()
        self.target: Future[Target] | None = Future() if detect else None
        self._thread = threading.Thread(
            target=self._run, args=(kubeconfig, context), name="regplan-connect", daemon=True
        )
        self._thread.start()

    def _run(self, kubeconfig: str | None, context: str | None) -> None:
        try:
            from regplan.cluster import Cluster

            # a workspace run's pools; without, the call one cluster's command has always made
            cluster = (
                Cluster(kubeconfig=kubeconfig, context=context, pools=self._pools)
                if self._pools is not None
                else Cluster(kubeconfig=kubeconfig, context=context)
            )
        except BaseException as err:  # kept for the caller, raised where it would have been met
            self._cluster.set_exception(err)
            if self.target is not None:
                self.target.set_exception(err)
            return
        self._cluster.set_result(cluster)
        if self.target is not None:
            try:
                self.target.set_result(cluster.detect_target())
            except BaseException as err:
                self.target.set_exception(err)

    def cluster(self) -> ClusterAPI:
        """The adapter (waits for it; raises what building it raised)."""
        return self._cluster.result()

    def close(self) -> None:
        """Close the adapter if it was built; wait (bounded) for an import still running."""
        # An error here was (or would have been) reported where it arose.
        with contextlib.suppress(BaseException):
            self._cluster.result(timeout=CLOSE_WAIT).close()
