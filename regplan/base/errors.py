"""Expected errors and the exit codes they map to (one table for every command).

Every error a user can cause or meet is a ``RegplanError`` subclass; the CLI catches them, prints the
message on stderr (no traceback) and exits with ``exit_code``. Anything else is a bug: exit 1.
Messages must never contain secret values (callers redact API error bodies before raising).
"""

from __future__ import annotations

from enum import IntEnum

from regplan.base.record import Record


class ExitCode(IntEnum):
    """The documented exit codes (README, "Exit codes")."""

    OK = 0
    UNEXPECTED = 1
    CHANGES = 2  # plan --detailed-exitcode with changes; golden --check with differences
    INVALID = 3  # usage, profile, values, schema, domain rule
    CLUSTER = 4  # unreachable, 401/403, 5xx, apply stopped by an API error
    STALE = 5  # stale plan, conflict, lock held
    DESTRUCTIVE = 6  # replace without --allow-replace


class RegplanError(Exception):
    """Base of all expected errors."""

    exit_code: ExitCode = ExitCode.UNEXPECTED


class InvalidInput(RegplanError):
    """Bad usage, profile, values file, schema or domain rule (exit 3)."""

    exit_code = ExitCode.INVALID


class UnreadableInput(InvalidInput):
    """A user file that cannot be read or parsed, named with the line and column when known (exit 3).

    Raised by ``safeload`` for every kind of file; a kubeconfig reader re-raises it as a ``ClusterError``
    (exit 4) with the same message. The message never quotes a value of the file.

    ``kind``, for code that acts on why (never on the message's words): set by the file layer when the path
    is not a regular file (``userfiles.FILE_KINDS``: ``dir``, ``fifo``, ``socket``, ``char-device``,
    ``block-device``), else None (it could not be opened, or its content is wrong).
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        line: int | None = None,
        column: int | None = None,
        kind: str | None = None,
    ) -> None:
        self.source = source
        self.problem = problem
        self.line = line
        self.column = column
        self.kind = kind
        where = (
            source + (f":{line}" if line is not None else "") + (f":{column}" if column is not None else "")
        )
        super().__init__(f"{where}: {problem}")


class BoundExceeded(UnreadableInput):
    """A file over one of the parsing bounds (``safeload.Limits``): ``bound`` is size, depth or nodes."""

    def __init__(
        self,
        source: str,
        bound: str,
        limit: int,
        what: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.bound = bound
        self.limit = limit
        super().__init__(source, f"refused: {what} (bound: {bound} <= {limit})", line=line, column=column)


class Diagnostic(Record, frozen=True):
    """One problem found in the values or the rendered objects.

    ``key`` is the dotted value key (``claim.accessMode``) or an object field path; ``origin`` says where
    the offending value came from (``values.yaml:3``, ``--set``, ``profile ebs-gp2-rwo:7``,
    ``live StorageClass/gp2``); ``hint`` says what would be valid.
    """

    key: str
    message: str
    origin: str = ""
    hint: str = ""
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f" ({self.origin})" if self.origin else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.severity}: {self.key}{where}: {self.message}{hint}"


class ValidationFailed(InvalidInput):
    """Values or rendered objects break the schema or a domain rule."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class ClusterError(RegplanError):
    """The cluster could not be reached or answered with an error (exit 4)."""

    exit_code = ExitCode.CLUSTER


class StaleError(RegplanError):
    """A saved plan no longer matches the cluster, a write conflicted, or the lock is held (exit 5)."""

    exit_code = ExitCode.STALE


class ClusterMoved(StaleError):
    """An object changed between a plan's reads and its server-side dry run (a 409): plan reads again."""


class DestructiveRefused(RegplanError):
    """The plan replaces an object (data loss) and --allow-replace was not given (exit 6)."""

    exit_code = ExitCode.DESTRUCTIVE
