"""A child process of the test control plane: started with its output in a log file, checked for
early death (failing with the end of its log), and stopped with its whole process group."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the parent dies (Linux), so a pytest killed with
    SIGKILL (a CI timeout) leaves no apiserver behind; fixtures' teardown covers every other exit."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ProcessDied(RuntimeError):
    """A control plane process exited while it was supposed to be running."""


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.env = dict(env) if env is not None else None
        self.argv = list(argv)
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            # Own session: stop() signals the group, so nothing outlives the fixture.
            self._proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def check(self) -> None:
        """Raise ProcessDied with the end of the log if the process has exited."""
        if self._proc is None:
            raise ProcessDied(f"{self.name} was never started")
        rc = self._proc.poll()
        if rc is not None:
            raise ProcessDied(
                f"{self.name} exited with code {rc}; log {self.log_path}, last lines:\n{tail(self.log_path)}"
            )

    def stop(self, timeout: float = 10.0) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
