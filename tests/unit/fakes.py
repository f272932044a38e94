"""Unit-test fakes of the cluster adapter: ``MemoryCluster`` (the one ``ClusterAPI`` fake, for everything
above the adapter) and ``FakeRest`` (the client's REST transport, for testing ``Cluster`` itself).

``MemoryCluster`` implements ``regplan.cluster.ClusterAPI`` over a dict.

Behaves as the adapter does where tests depend on it: the write policy table is enforced
(``check_write``), creates refuse an existing object and other writes a missing one or a stale
resourceVersion (``ConflictError``, 409), merge and JSON patches are applied, requests are counted by HTTP
method. Reads of a ``LiveQuery`` are answered from the same objects as a snapshot would be. Hooks for
tests: ``fail_on`` (the n-th write, Leases not counted, raises), ``events``, ``read_error``,
``detect_error``, ``detect_in_flight``, ``dry_run_diagnostics``; records: ``log``, ``reads``, ``detects``,
``dry_runs``, ``closed``.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonpatch

from regplan.base.errors import ClusterError, Diagnostic
from regplan.base.model import LiveQuery, LiveState, Obj, PatchType, Ref, Target, Verb, Write
from regplan.cluster import Cluster, ClusterAPI, ConflictError, RequestLog, check_write
from regplan.cluster.policy import VERB_METHOD
from regplan.engine import snapshot


class MemoryCluster:
    host = "https://memory"

    def __init__(
        self,
        objects: Mapping[Ref, Obj] | Iterable[Obj] = (),
        *,
        target: Target = Target.OCP4,
        server_dry_run: bool = True,
    ) -> None:
        if isinstance(objects, Mapping):  # keyed by the caller: keep its keys
            self.objects: dict[Ref, Obj] = {r: copy.deepcopy(o) for r, o in objects.items()}
        else:
            self.objects = {Ref.of(o): copy.deepcopy(o) for o in objects}
        self.rv = 100
        self.log: list[tuple[str, Ref]] = []
        self.fail_on: dict[int, Exception] = {}
        self.events: dict[Ref, list[Obj]] = {}
        self.requests = RequestLog.new()
        self.on_retry: Callable[[str], None] | None = None
        self.warnings: tuple[str, ...] = ()
        self.target = target
        self.server_dry_run = server_dry_run
        self.source = "memory cluster"  # how a LiveState read from it names its source
        self.detect_error: Exception | None = None
        self.read_error: dict[Target, Exception] = {}
        self.detect_in_flight = 0.0  # > 0: detection waits up to this long for a read to start
        self.overlapped: bool | None = None  # did a read start while detection was in flight
        self.reading = threading.Event()
        self.reads: list[Target] = []
        self.detects = 0
        self.dry_runs: list[list[Write]] = []
        self.dry_run_diagnostics: list[Diagnostic] = []
        self.closed = False

    @classmethod
    def from_snapshot(
        cls, path: Path, *, target: Target = Target.OCP4, server_dry_run: bool = True
    ) -> MemoryCluster:
        return cls(snapshot.read_objects(path), target=target, server_dry_run=server_dry_run)

    # ---- reads -----------------------------------------------------------------------------------

    def get(self, ref: Ref) -> Obj | None:
        self.requests.add("GET")
        obj = self.objects.get(ref)
        return copy.deepcopy(obj) if obj is not None else None

    def get_many(self, refs: Sequence[Ref]) -> dict[Ref, Obj | None]:
        return {r: self.get(r) for r in refs}

    def events_for(self, ref: Ref) -> list[Obj]:
        self.requests.add("GET")
        return copy.deepcopy(self.events.get(ref, []))

    def read(self, query: LiveQuery) -> LiveState:
        self.reading.set()
        self.reads.append(query.target)
        if query.target in self.read_error:
            raise self.read_error[query.target]
        live = snapshot.answer(list(self.objects.values()), query, source=self.source)
        live.server_dry_run = self.server_dry_run
        return live

    def detect_target(self) -> Target:
        self.detects += 1
        if self.detect_in_flight > 0:
            self.overlapped = self.reading.wait(self.detect_in_flight)
        if self.detect_error is not None:
            raise self.detect_error
        return self.target

    # ---- writes ----------------------------------------------------------------------------------

    def write(self, write: Write, *, dry_run: bool = False) -> Obj | None:
        check_write(write)  # the adapter's last line of defence holds here too
        self.requests.add(VERB_METHOD[write.verb])
        index = sum(1 for _, r in self.log if r.kind != "Lease")
        if write.ref.kind != "Lease" and index in self.fail_on:
            self.log.append(("failed-" + str(write.verb), write.ref))
            raise self.fail_on[index]
        self.log.append((str(write.verb), write.ref))
        live = self.objects.get(write.ref)
        if write.verb is Verb.CREATE:
            if live is not None:
                raise ConflictError("already exists")
            return self._store(write.ref, write.body, f"uid-{self.rv}")
        if live is None:
            raise ConflictError("gone")
        meta = live.get("metadata") or {}
        if write.resource_version and meta.get("resourceVersion") != write.resource_version:
            raise ConflictError("the object has been modified")
        if write.uid and meta.get("uid") and meta["uid"] != write.uid:
            raise ConflictError("uid precondition failed")
        if write.verb is Verb.DELETE:
            del self.objects[write.ref]
            return None
        if write.verb is Verb.PATCH:
            if write.patch_type is PatchType.JSON:
                merged = jsonpatch.apply_patch(live, write.body)
            else:
                merged = copy.deepcopy(live)
                _merge(merged, write.body)
            return self._store(write.ref, merged, meta.get("uid", ""))
        return self._store(write.ref, write.body, meta.get("uid", ""))

    def dry_run(self, writes: Sequence[Write]) -> list[Diagnostic]:
        self.dry_runs.append(list(writes))
        return list(self.dry_run_diagnostics)

    def wait_gone(
        self,
        ref: Ref,
        *,
        uid: str | None,
        timeout: float,
        interval: float = 1.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        live = self.objects.get(ref)
        if live is not None and (not uid or (live.get("metadata") or {}).get("uid") == uid):
            raise ClusterError(f"{ref} is still present after {timeout:.0f}s")

    def close(self) -> None:
        self.closed = True

    # ---- for tests -------------------------------------------------------------------------------

    def _store(self, ref: Ref, body: Any, uid: str) -> Obj:
        self.rv += 1
        obj = copy.deepcopy(body)
        obj["metadata"] = {**obj.get("metadata", {}), "uid": uid, "resourceVersion": str(self.rv)}
        self.objects[ref] = obj
        return copy.deepcopy(obj)

    def put(self, obj: Obj, *, uid: str = "") -> Obj:
        """Store an object as someone else would (no policy, no log): a new resourceVersion."""
        return self._store(Ref.of(obj), obj, uid or f"uid-{self.rv}")

    def plan_writes(self) -> list[tuple[str, Ref]]:
        """The writes made, Lease (lock) writes left out."""
        return [(v, r) for v, r in self.log if r.kind != "Lease"]


# ---- the client's REST transport, for testing ``Cluster`` itself ----------------------------------------


class FakeResp:
    """An answer of the REST transport: status, JSON (or raw) body, headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self._raw = (
            body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
        )
        self.headers = headers or {}

    def read(self) -> bytes:
        return self._raw

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)


Handler = Callable[[str, str, Any], Any]


class FakeRest:
    """The client's REST transport, answering from handler(method, url, body) -> FakeResp | Exception."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sent: list[tuple[str, str, Any, dict[str, str]]] = []

    def request(self, method: str, url: str, *, headers: Any, body: Any, _request_timeout: Any) -> FakeResp:
        path = url.removeprefix("https://127.0.0.1:6443")
        self.sent.append((method, path, body, headers))
        out = self.handler(method, path, body)
        if isinstance(out, BaseException):
            raise out
        assert isinstance(out, FakeResp)
        return out

    def close(self) -> None:
        pass


def make(handler: Handler, attempts: int = 3) -> tuple[Cluster, FakeRest]:
    from kubernetes import client

    cfg = client.Configuration(host="https://127.0.0.1:6443")
    cfg.api_key = {"authorization": "Bearer t0ken"}
    cl = Cluster(configuration=cfg, attempts=attempts, backoff=0.0)
    api = FakeRest(handler)
    cl._transport.rest = api
    return cl, api


def status(code: int, message: str, reason: str = "") -> FakeResp:
    return FakeResp(code, {"kind": "Status", "code": code, "message": message, "reason": reason})


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386 merge patch, in place."""
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def as_api(fake: MemoryCluster) -> ClusterAPI:
    """The fake where a ``ClusterAPI`` is expected (checked structurally by mypy, not by a cast)."""
    return fake
