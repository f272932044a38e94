"""Count write requests from the apiserver's audit log, so a test can assert "apply made exactly N writes".

The log is JSON lines (one audit.k8s.io/v1 Event each). A write is an event at stage ResponseComplete
(or Panic) whose verb is create/update/patch/delete/deletecollection. Events are grouped by userAgent:
regplan sends ``regplan/<version>``, the harness ``regplan-test-harness/1``, kube-controller-manager its
own. Typical use::

    mark = cluster.audit.mark()
    run regplan ...
    assert cluster.audit.count(since=mark, agent="regplan/") == 2
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
FINAL_STAGES = frozenset({"ResponseComplete", "Panic"})


@dataclass(frozen=True)
class AuditWrite:
    verb: str
    resource: str  # plural, with "/subresource" when there is one (e.g. "configs/status")
    namespace: str
    name: str
    code: int
    user: str
    user_agent: str
    dry_run: bool

    def short(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.verb} {self.resource} {where}{self.name} -> {self.code}"


def parse_line(line: str) -> AuditWrite | None:
    """One log line -> AuditWrite, or None if it is not a completed write."""
    try:
        ev: dict[str, Any] = json.loads(line)
    except ValueError:
        return None  # a line being written right now
    if ev.get("stage") not in FINAL_STAGES or ev.get("verb") not in WRITE_VERBS:
        return None
    ref = ev.get("objectRef") or {}
    resource = str(ref.get("resource", ""))
    if ref.get("subresource"):
        resource += "/" + str(ref["subresource"])
    return AuditWrite(
        verb=str(ev["verb"]),
        resource=resource,
        namespace=str(ref.get("namespace", "")),
        name=str(ref.get("name", "")),
        code=int((ev.get("responseStatus") or {}).get("code", 0)),
        user=str((ev.get("user") or {}).get("username", "")),
        user_agent=str(ev.get("userAgent", "")),
        dry_run="dryRun=All" in str(ev.get("requestURI", "")),
    )


class AuditLog:
    """Reads the audit log file; ``flush`` is a callable that makes the apiserver log a sentinel
    request carrying the given user agent (see ControlPlane AUDIT_POLICY) so ``mark``/``writes`` see
    every request that completed before they were called."""

    def __init__(self, path: Path, flush: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._flush = flush

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def flush(self, timeout: float = 5.0) -> None:
        if self._flush is None:
            return
        import time

        tag = f"regplan-audit-sentinel/{uuid.uuid4().hex}"
        start = self._size()
        self._flush(tag)
        deadline = time.monotonic() + timeout
        while tag not in self._read_from(max(0, start - 1)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"audit sentinel {tag} not seen in {self.path} after {timeout}s")
            time.sleep(0.02)

    def _read_from(self, offset: int) -> str:
        try:
            with self.path.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def mark(self) -> int:
        """A position in the log: pass it as ``since`` to count only later writes."""
        self.flush()
        return self._size()

    def writes(
        self, since: int = 0, agent: str | None = None, dry_run: bool | None = None
    ) -> list[AuditWrite]:
        """Completed writes after ``since``; ``agent`` filters by user-agent prefix ("regplan/");
        ``dry_run`` None counts every write request, False only real ones, True only ``dryRun=All``."""
        self.flush()
        text = self._read_from(since)
        # Only whole lines: the last one may still be being written.
        out: list[AuditWrite] = []
        for line in text.splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            w = parse_line(line)
            if w is None or (agent is not None and not w.user_agent.startswith(agent)):
                continue
            if dry_run is not None and w.dry_run != dry_run:
                continue
            out.append(w)
        return out

    def count(self, since: int = 0, agent: str | None = None, dry_run: bool | None = None) -> int:
        return len(self.writes(since, agent, dry_run))

    def by_agent(self, since: int = 0) -> dict[str, int]:
        return dict(Counter(w.user_agent for w in self.writes(since)))
