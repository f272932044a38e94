"""Credentials of the standard-library transport (``direct``): bearer tokens, token files, exec plugins,
client certificates held in memory.

What each kubeconfig form gives, with client-go's rules where the official Python client has none:
- ``token``: a fixed bearer token (it wins over ``tokenFile`` when both are set, as in client-go);
- ``tokenFile`` (and the in-cluster service-account token): re-read when a minute old, as client-go's
  cached file token source does, so a rotated token is picked up by a long run;
- ``exec`` (``client.authentication.k8s.io/v1`` and ``v1beta1``): the command is run without a shell,
  non-interactively (stdin empty, ``spec.interactive: false``), from the kubeconfig's directory, with the
  entry's ``env`` over the process environment and ``KUBERNETES_EXEC_INFO``; its answer (a token, or a
  client certificate and key) is cached until its ``expirationTimestamp`` (for the run when it has none)
  and fetched again once after a 401. The run is bounded (``EXEC_TIMEOUT``, ``EXEC_MAX_OUTPUT``; the whole
  process group is killed past them) and the plugin's stderr is never shown: plugins print tokens and
  login URLs there;
- client certificate and key (files or data): read through the one file layer (a FIFO, a directory, a
  device is refused, never waited on), handed to ``ssl`` through an anonymous in-memory file
  (``memfd_create``) that no other process can open by name, closed once loaded.

Every error is a ``ClusterError`` (exit 4) naming the kubeconfig file and the user entry; no token, key or
plugin output is ever part of a message.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from regplan.base import userfiles
from regplan.base.errors import ClusterError, UnreadableInput
from regplan.base.escape import one_line

# The exec plugin API versions this transport speaks (v1alpha1 was removed from client-go).
EXEC_API_VERSIONS: frozenset[str] = frozenset(
    {"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"}
)
EXEC_TIMEOUT = 120.0  # seconds an exec plugin may take (a browser login included)
EXEC_MAX_OUTPUT = 1 << 20  # bytes of stdout an ExecCredential may take; stderr is drained, never kept
TOKEN_FILE_TTL = 60.0  # seconds a token file's content is trusted before it is read again (client-go)
EXPIRY_LEEWAY = 10.0  # an exec credential this close to its expiry is fetched again
MIN_EXEC_CACHE = 5.0  # seconds an answer is used at least (one already expired: not a plugin run a request)
MAX_CREDENTIAL_FILE = 1 << 20  # bytes: a CA bundle, a certificate, a key, a token


def shown(value: object, limit: int = 200) -> str:
    """Text from a kubeconfig as one safe line (control characters and line breaks escaped), bounded."""
    text = one_line(str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_credential_file(path: str, *, what: str, where: str) -> bytes:
    """A credential file's bytes (bounded, regular files only); errors name the field and the kubeconfig."""
    try:
        data = userfiles.read_regular(Path(path), what=what, max_bytes=MAX_CREDENTIAL_FILE)
    except UnreadableInput as err:
        why = err.problem.partition(": ")[2] or err.problem
        raise ClusterError(f"{where}: cannot read {what} {shown(path)}: {why}") from None
    if len(data) > MAX_CREDENTIAL_FILE:
        raise ClusterError(f"{where}: {what} {shown(path)} is larger than {MAX_CREDENTIAL_FILE >> 20} MiB")
    return data


def valid_token(token: str, where: str) -> str:
    """A bearer token fit for a header (no line break or control character: never sent, never shown)."""
    token = token.strip()
    if not token:
        raise ClusterError(f"{where}: the token is empty")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in token) or not token.isascii():
        raise ClusterError(f"{where}: the token contains spaces, control or non-ASCII characters")
    return token


@contextlib.contextmanager
def _anonymous_file(data: bytes) -> Any:
    """A path (``/proc/self/fd/N``) to ``data`` in a file without a name: ``memfd_create``, else an
    unnamed temporary file (O_TMPFILE); only where neither exists, a 0600 file unlinked right after use."""
    fd = -1
    named = ""
    try:
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("regplan-credential", os.MFD_CLOEXEC)
        elif os.path.isdir("/proc/self/fd"):
            import tempfile  # only where memfd_create is missing

            with tempfile.TemporaryFile() as unnamed:
                fd = os.dup(unnamed.fileno())
        else:  # pragma: no cover - not Linux
            import tempfile

            fd, named = tempfile.mkstemp(prefix="regplan-")
        os.write(fd, data)
        yield named or f"/proc/self/fd/{fd}"
    finally:
        if named:
            with contextlib.suppress(OSError):
                os.unlink(named)
        if fd >= 0:
            os.close(fd)


def load_client_cert(ctx: ssl.SSLContext, cert: bytes, key: bytes, where: str) -> None:
    """Load a client certificate and key into ``ctx`` without leaving them in a named file."""
    with _anonymous_file(cert) as cert_path, _anonymous_file(key) as key_path:
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, OSError) as err:
            reason = getattr(err, "reason", None) or type(err).__name__
            raise ClusterError(
                f"{where}: the client certificate and key cannot be used ({shown(reason, 80)}); "
                "check client-certificate(-data) and client-key(-data)"
            ) from None


class Credential:
    """What a request carries: a bearer token and/or a client certificate (PEM cert, PEM key).
    (Plain classes here, not dataclasses: this module is on every cluster command's start-up.)"""

    __slots__ = ("cert", "token")

    def __init__(self, token: str | None = None, cert: tuple[bytes, bytes] | None = None) -> None:
        self.token = token
        self.cert = cert


class ExecSpec:
    """An ``exec`` user entry, checked (``ExecSpec.parse``)."""

    __slots__ = ("api_version", "args", "command", "cwd", "env", "install_hint")

    def __init__(
        self,
        api_version: str,
        command: str,
        args: tuple[str, ...],
        env: tuple[tuple[str, str], ...],
        install_hint: str,
        cwd: str,
    ) -> None:
        self.api_version = api_version
        self.command = command
        self.args = args
        self.env = env
        self.install_hint = install_hint
        self.cwd = cwd

    @classmethod
    def parse(cls, entry: Mapping[str, Any], cwd: str, where: str) -> ExecSpec:
        """Check the fields a process is started from: strings without NUL, env names without ``=``."""
        command = entry.get("command")
        if not isinstance(command, str) or not command.strip():
            raise ClusterError(f"{where}: exec has no command")
        args = entry.get("args") or []
        env = entry.get("env") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ClusterError(f"{where}: exec args must be a list of strings")
        if not isinstance(env, list):
            raise ClusterError(f"{where}: exec env must be a list of name/value entries")
        pairs: list[tuple[str, str]] = []
        for i, item in enumerate(env):
            name = item.get("name") if isinstance(item, dict) else None
            value = item.get("value") if isinstance(item, dict) else None
            if not isinstance(name, str) or not name or "=" in name or not isinstance(value, str):
                raise ClusterError(f"{where}: exec env[{i}] needs a name (without '=') and a string value")
            pairs.append((name, value))
        if any("\0" in s for s in (command, *args, *(n + v for n, v in pairs))):
            raise ClusterError(f"{where}: exec command, args or env contain a NUL character")
        hint = entry.get("installHint")
        return cls(
            str(entry.get("apiVersion")), command, tuple(args), tuple(pairs),
            hint if isinstance(hint, str) else "", cwd,
        )  # fmt: skip


class PluginOutput:
    """What a finished plugin gave: its exit code and stdout (stderr is counted, never kept)."""

    __slots__ = ("returncode", "stderr_bytes", "stdout")

    def __init__(self, returncode: int, stdout: bytes, stderr_bytes: int) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr_bytes = stderr_bytes


def run_plugin(
    spec: ExecSpec, environ: Mapping[str, str], where: str, *, timeout: float | None = None
) -> PluginOutput:
    """Run the plugin, bounded in time and output; the whole process group is killed past either."""
    import selectors  # the exec path only: not part of every run's start-up
    import signal
    import subprocess

    limit = EXEC_TIMEOUT if timeout is None else timeout
    info = {"apiVersion": spec.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    env = dict(environ)
    env.update(spec.env)
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    name = shown(spec.command)
    try:
        proc = subprocess.Popen(
            [spec.command, *spec.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=spec.cwd or None,
            env=env,
            start_new_session=True,  # its own process group: killed whole on timeout
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError, OSError) as err:
        hint = f"; {shown(spec.install_hint, 400)}" if spec.install_hint else ""
        why = "not found" if isinstance(err, FileNotFoundError) else (err.strerror or str(err)).lower()
        raise ClusterError(f"{where}: exec plugin {name} cannot be run: {why}{hint}") from None
    out = bytearray()
    err_bytes = 0
    problem = ""
    deadline = time.monotonic() + limit
    assert proc.stdout is not None and proc.stderr is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                problem = f"did not finish within {limit:g} s (stopped)"
                break
            for key, _ in sel.select(timeout=left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                elif key.fileobj is proc.stdout:
                    out += chunk
                    if len(out) > EXEC_MAX_OUTPUT:
                        problem = f"printed more than {EXEC_MAX_OUTPUT >> 20} MiB (stopped)"
                else:
                    err_bytes += len(chunk)
            if problem:
                break
    if problem:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    try:
        code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # stdout closed but the process lingers
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
        problem = problem or f"did not finish within {limit:g} s (stopped)"
    proc.stdout.close()
    proc.stderr.close()
    if problem:
        raise ClusterError(f"{where}: exec plugin {name} {problem}")
    return PluginOutput(code, bytes(out), err_bytes)


def parse_exec_credential(output: PluginOutput, spec: ExecSpec, where: str) -> tuple[Credential, float]:
    """(the credential, when it expires as a ``time.time()`` value; inf without expirationTimestamp)."""
    name = shown(spec.command)
    if output.returncode != 0:
        said = f"; its error output ({output.stderr_bytes} bytes) is not shown" if output.stderr_bytes else ""
        raise ClusterError(
            f"{where}: exec plugin {name} failed (exit {output.returncode}){said}: run it yourself to see why"
        )
    try:
        doc = json.loads(output.stdout)
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
        size = len(output.stdout)
        raise ClusterError(f"{where}: exec plugin {name} printed no ExecCredential ({size} bytes)")
    if doc.get("apiVersion") != spec.api_version:
        raise ClusterError(
            f"{where}: exec plugin {name} answered apiVersion {shown(doc.get('apiVersion'), 80)}, "
            f"not {spec.api_version}"
        )
    status = doc.get("status")
    if not isinstance(status, dict):
        raise ClusterError(f"{where}: exec plugin {name} gave an ExecCredential without status")
    token = status.get("token")
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if token is not None and not isinstance(token, str):
        raise ClusterError(f"{where}: exec plugin {name}: status.token is not a string")
    if (cert is None) != (key is None) or not all(isinstance(v, str) for v in (cert, key) if v is not None):
        raise ClusterError(
            f"{where}: exec plugin {name}: status needs both clientCertificateData and clientKeyData"
        )
    if not token and cert is None:
        raise ClusterError(f"{where}: exec plugin {name} gave neither a token nor a client certificate")
    expiry = float("inf")
    stamp = status.get("expirationTimestamp")
    if stamp:
        import datetime

        try:
            when = datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise ValueError(stamp)
            expiry = when.timestamp()
        except ValueError:
            raise ClusterError(
                f"{where}: exec plugin {name}: expirationTimestamp {shown(stamp, 60)} is not an RFC 3339 time"
            ) from None
    pem = (cert.encode(), key.encode()) if isinstance(cert, str) and isinstance(key, str) else None
    return Credential(valid_token(token, where) if token else None, pem), expiry


class Source:
    """A user entry's credentials, current at each request (thread-safe; refreshing sources re-read or
    re-run at most one at a time)."""

    def __init__(
        self,
        *,
        where: str,
        token: str | None = None,
        token_file: str | None = None,
        exec_spec: ExecSpec | None = None,
        cert: tuple[bytes, bytes] | None = None,
        environ: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.where = where
        self._token = valid_token(token, where) if token else None
        self._token_file = token_file if not token else None
        self._exec = exec_spec
        self._cert = cert
        self._environ = environ
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: Credential | None = None
        self._until = 0.0
        self._after_401 = False  # the cached credential was fetched again after a 401

    @property
    def refreshable(self) -> bool:
        """A 401 may be answered by fetching the credential again (an exec plugin)."""
        return self._exec is not None

    def rejected(self, used: Credential) -> bool:
        """A 401 answered a request made with ``used``: may it be resent (with a credential fetched again)?
        Once per fetched credential, as client-go: the first 401 fetches again, a 401 for the fetched-again
        credential is final, and a request that used an older one simply goes again with the current one."""
        with self._lock:
            if self._cached is not used:  # fetched again (or being fetched) since: go again with that
                return True
            if self._after_401:
                return False
            self._cached, self._until, self._after_401 = None, 0.0, True
            return True

    def current(self) -> Credential:
        if self._token_file is None and self._exec is None:
            return Credential(self._token, self._cert)
        with self._lock:
            now = self._clock()
            if self._cached is None or now >= self._until:
                if self._cached is not None:  # expired, not rejected: a 401 may fetch again
                    self._after_401 = False
                self._cached, self._until = self._fetch(now)
            return self._cached

    def _fetch(self, now: float) -> tuple[Credential, float]:
        if self._exec is not None:
            found, expiry = parse_exec_credential(
                run_plugin(self._exec, self._environ, self.where), self._exec, self.where
            )
            until = max(expiry - EXPIRY_LEEWAY, now + MIN_EXEC_CACHE)
            return Credential(found.token, found.cert or self._cert), until
        assert self._token_file is not None
        raw = read_credential_file(self._token_file, what="token file", where=self.where)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            what = f"token file {shown(self._token_file)}"
            raise ClusterError(f"{self.where}: {what} is not UTF-8 text") from None
        return Credential(valid_token(text, self.where), self._cert), now + TOKEN_FILE_TTL


def cert_pair(cert: bytes | None, key: bytes | None) -> tuple[bytes, bytes] | None:
    return (cert, key) if cert is not None and key is not None else None
