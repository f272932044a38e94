"""One connection pool per kubeconfig cluster entry, shared by the clusters of a workspace run.

Contexts that reach one API server with one credential (the same server, CA and TLS settings - the
cluster entry - and the same user entry) are the same connection as far as the network is concerned: a
workspace whose 50 contexts name one server (a proxy, a bastion, an API gateway; or several names of one
cluster) opened 50 client configurations, 50 urllib3 pools and one TLS handshake per concurrent request
of each. ``Pools`` keeps ONE ``Transport`` (configuration, pool of keep-alive TLS connections) per
distinct connection identity (``identity``) for the run and closes them at its end.

What makes two contexts share: the cluster entry and the user entry are equal field by field (after the
files they name are resolved against the kubeconfig holding them, and the content of those files - CA,
client certificate and key, token file - digested), so two contexts with different credentials for one
server never share a pool, and a file that differs is a different identity. Each ``Cluster`` keeps its own
request counts (``RequestLog``) over the shared transport.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from regplan.base import userfiles
from regplan.base.errors import UnreadableInput
from regplan.cluster import kubeconfig as kc
from regplan.cluster.connect import open_transport
from regplan.cluster.transport import Sender

# Threads sending the requests of every cluster of the run (each cluster's reads and dry runs go out
# concurrently; a thread per request per cluster would start and stop thousands of threads at 500 clusters).
IO_THREADS = 160  # the default --parallelism (32) times a plan's widest round trip (5 reads at once)
# Keep-alive connections per pool: a shared pool serves every cluster in flight behind it (the client's
# default, 5 per core, would drop and re-open connections under a workspace's concurrency).
POOL_MAXSIZE = 64
# Pools no cluster in flight uses that stay open for the next context of their server (a fleet of 500
# servers would otherwise keep every server's keep-alive sockets to the end: thousands of descriptors,
# past the common limit of 1,024); the least recently released are closed first.
IDLE_POOLS = 16


def _file_digest(path: str) -> str:
    """The digest of a regular file's first MiB (a CA, a certificate, a token: small), read through the one
    file layer: a FIFO, a device or a directory is refused on its open descriptor, never read or waited on
    (the configuration load then reports it, naming the file)."""
    try:
        return hashlib.sha256(userfiles.read_regular(Path(path), what="file", max_bytes=1 << 20)).hexdigest()
    except UnreadableInput as err:
        return "not a regular file" if err.kind is not None else "unreadable"


def _entry_identity(entry: Mapping[str, Any], source: str, section: str) -> dict[str, Any]:
    """An entry as what it connects with: its fields, and each file it names resolved against the
    kubeconfig holding it, with the file's content digest."""
    files = {}
    for where, key in kc.FILE_FIELDS:
        if where == section and entry.get(key):
            ref = os.path.join(os.path.dirname(os.path.abspath(source)), os.path.expanduser(str(entry[key])))
            files[key] = [ref, _file_digest(ref)]
    return {"entry": entry, "files": files}


def identity(kubeconfig: str | None, context: str | None, environ: Mapping[str, str]) -> str | None:
    """The connection identity of ``context`` (a digest), or None when it cannot be told (no kubeconfig:
    in-cluster; an error, which the configuration load reports): such a context gets its own pool."""
    try:
        files = kc.read_files(kubeconfig, environ)
        if not files:
            return None
        resolved = kc.resolve(files, context)
    except Exception:
        return None
    user: Mapping[str, Any] = {}
    if resolved.user:
        by_path = {f.path: f for f in files}
        user = by_path[resolved.user_file].entries["users"][resolved.user]
    doc = {
        "cluster": _entry_identity(resolved.cluster_entry, resolved.cluster_file, "cluster"),
        "user": _entry_identity(user, resolved.user_file or resolved.cluster_file, "user"),
    }
    text = json.dumps(doc, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class Pools:
    """The shared transports of one run (thread-safe); ``close`` closes them all."""

    def __init__(self, *, maxsize: int = POOL_MAXSIZE, environ: Mapping[str, str] = os.environ) -> None:
        self.maxsize = maxsize
        self.environ = environ
        self._lock = threading.Lock()
        self._pools: dict[str, Future[tuple[Sender, tuple[str, ...]]]] = {}
        self._users: dict[str, int] = {}  # clusters in flight on each pool
        self._keys: dict[int, str] = {}  # id of a shared transport -> its key (``release``)
        self._idle: OrderedDict[str, None] = OrderedDict()  # pools no cluster uses, oldest first
        self.built = 0  # transports built (tests and benchmarks read it)
        self._executor: ThreadPoolExecutor | None = None
        # a run that ends without close (a status or snapshot over many) still closes its sockets
        weakref.finalize(self, _close_all, self._pools)

    def transport(
        self, kubeconfig: str | None, context: str | None, request_timeout: tuple[float, float]
    ) -> tuple[Sender, tuple[str, ...], bool]:
        """(the transport for ``context``, the warnings of its kubeconfig, whether it is shared - owned by
        this object - or the caller's own to close)."""
        key = identity(kubeconfig, context, self.environ)
        if key is None:
            transport, warnings = self._build(kubeconfig, context, request_timeout)
            return transport, warnings, False
        with self._lock:
            found = self._pools.get(key)
            if found is None:
                mine: Future[tuple[Sender, tuple[str, ...]]] = Future()
                self._pools[key] = mine
            self._users[key] = self._users.get(key, 0) + 1
            self._idle.pop(key, None)
        if found is not None:
            try:
                transport, _ = found.result()
            except Exception:  # the first one's error: build this context's own to report its own
                self._unuse(key)
                transport, warnings = self._build(kubeconfig, context, request_timeout)
                return transport, warnings, False
            return transport, kc.resolve(kc.read_files(kubeconfig, self.environ), context).warnings, True
        try:
            built = self._build(kubeconfig, context, request_timeout)
        except BaseException as err:
            with self._lock:
                del self._pools[key]
                self._users.pop(key, None)
            mine.set_exception(err)
            raise
        with self._lock:
            self._keys[id(built[0])] = key
        mine.set_result(built)
        return built[0], built[1], True

    def release(self, transport: Sender) -> None:
        """A cluster is done with a shared ``transport``; a pool no cluster uses is kept for the next
        context of its server, up to ``IDLE_POOLS`` of them, the oldest closed beyond that."""
        with self._lock:
            key = self._keys.get(id(transport))
        if key is not None:
            self._unuse(key)

    def _unuse(self, key: str) -> None:
        evicted: list[Future[tuple[Sender, tuple[str, ...]]]] = []
        with self._lock:
            left = self._users.get(key, 0) - 1
            if left > 0:
                self._users[key] = left
                return
            self._users.pop(key, None)
            self._idle[key] = None
            while len(self._idle) > IDLE_POOLS:
                old, _ = self._idle.popitem(last=False)
                fut = self._pools.pop(old, None)
                if fut is not None:
                    evicted.append(fut)
        for fut in evicted:
            if fut.done() and fut.exception() is None:
                sender = fut.result()[0]
                with self._lock:
                    self._keys.pop(id(sender), None)
                sender.close()

    def _build(
        self, kubeconfig: str | None, context: str | None, request_timeout: tuple[float, float]
    ) -> tuple[Sender, tuple[str, ...]]:
        built = open_transport(
            kubeconfig, context, request_timeout, environ=self.environ, maxsize=self.maxsize
        )
        with self._lock:
            self.built += 1
        return built

    def executor(self) -> Executor:
        """The run's threads for requests (``Cluster._concurrently``): only requests run there, never a task
        that waits for another, so sharing a bounded pool cannot deadlock."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="regplan-io")
            return self._executor

    def close(self) -> None:
        with self._lock:
            _close_all(self._pools)
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


def _close_all(pools: dict[str, Future[tuple[Sender, tuple[str, ...]]]]) -> None:
    built = list(pools.values())
    pools.clear()
    for fut in built:
        if fut.done() and fut.exception() is None:
            fut.result()[0].close()
