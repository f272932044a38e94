"""The cluster adapter as the rest of regplan sees it: the methods apply, lock and workflow call.

``Cluster`` implements it against an apiserver; tests/unit/fakes.py has the one in-memory fake. Pure
typing: importing this module imports neither ``kubernetes`` nor the transport.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from regplan.base.errors import Diagnostic
from regplan.base.model import LiveQuery, LiveState, Obj, Ref, Target, Write

if TYPE_CHECKING:
    from regplan.cluster.transport import RequestLog


class ClusterAPI(Protocol):
    """Reads, writes (with preconditions), server-side dry run and waits, over one connection."""

    host: str
    on_retry: Callable[[str], None] | None
    warnings: tuple[str, ...]

    @property
    def requests(self) -> RequestLog: ...

    def get(self, ref: Ref) -> Obj | None: ...

    def get_many(self, refs: Sequence[Ref]) -> dict[Ref, Obj | None]: ...

    def events_for(self, ref: Ref) -> list[Obj]: ...

    def read(self, query: LiveQuery) -> LiveState: ...

    def detect_target(self) -> Target: ...

    def write(self, write: Write, *, dry_run: bool = False) -> Obj | None: ...

    def dry_run(self, writes: Sequence[Write]) -> list[Diagnostic]: ...

    def wait_gone(
        self,
        ref: Ref,
        *,
        uid: str | None,
        timeout: float,
        interval: float = 1.0,
        progress: Callable[[str], None] | None = None,
    ) -> None: ...

    def close(self) -> None: ...
