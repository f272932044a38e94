"""The official client's modules, imported lean: the one place that knows the client's module layout.

``import kubernetes`` runs ``kubernetes/__init__.py``, which imports every API class, ~900 models, the
dynamic client (and through it jsonschema), watch, stream, informers. regplan needs only the client's
configuration (TLS, tokens, client certificates, exec plugins via ``refresh_api_key_hook``), its REST
transport and its kubeconfig loader. In the ``regplan`` process (not in a host such as pytest, which may
import the models later) bare package objects are registered for ``kubernetes``, ``kubernetes.client``
(+ ``models``), ``kubernetes.config`` and ``kubernetes.utils``, so only the modules of ``LAYOUT`` load;
``ApiClient`` (pydantic, dateutil), which the kubeconfig loader needs only to refresh an OIDC token, is
imported when first constructed, and ``oauthlib`` / ``requests_oauthlib`` (which pull in ``requests``) are
deferred modules imported on first use (``_Deferred``). bench/kube_import.py measures what this saves.

Robustness: ``LAYOUT`` lists every module and attribute the trick relies on; a client laid out otherwise
falls back to the documented import (``STATE.fallback`` says why), and tests/unit/test_cluster_import.py
fails on such a client so the upper bound on ``kubernetes`` in pyproject.toml is raised knowingly.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The packages replaced by bare package objects (name, directory under kubernetes/; None: no path, so no
# submodule of it can load - the generated models).
STUB_PACKAGES: tuple[tuple[str, str | None], ...] = (
    ("kubernetes", ""),
    ("kubernetes.client", "client"),
    ("kubernetes.client.models", None),
    ("kubernetes.config", "config"),
    ("kubernetes.utils", "utils"),
)

# Module -> the attributes regplan (or the kubeconfig loader, at import time) takes from it.
LAYOUT: dict[str, tuple[str, ...]] = {
    "kubernetes.client.configuration": ("Configuration",),
    "kubernetes.client.rest": ("RESTClientObject",),
    "kubernetes.client.api_client": ("ApiClient",),
    "kubernetes.config.kube_config": ("load_kube_config", "KubeConfigLoader", "ConfigNode"),
    "kubernetes.config.config_exception": ("ConfigException",),
    "kubernetes.config.incluster_config": ("load_incluster_config",),
}


@dataclass
class ImportState:
    """How the client was imported in this process (tests and the benchmark read it)."""

    lean: bool = False
    fallback: str = ""  # why the lean import was abandoned, when it was


STATE = ImportState()


def lean_import_allowed(modules: Any, argv: Sequence[str], environ: Any) -> bool:
    """Only in the ``regplan`` process itself: a host process (pytest, a program embedding regplan) may
    import ``kubernetes.client.models`` later, which the stubs would hide."""
    entry = os.path.basename(argv[0]) if argv else ""
    is_cli = entry in ("regplan", "regplan.exe") or (
        bool(argv) and argv[0].endswith(os.path.join("regplan", "__main__.py"))
    )
    return (
        is_cli
        and "kubernetes" not in modules
        and "pytest" not in modules
        and not environ.get("REGPLAN_FULL_KUBERNETES_IMPORT")
    )


# The first import (stand-in modules, deferred ones) must not run in several threads at once: the clusters
# of a workspace connect concurrently, each from its own thread.
_IMPORT_LOCK = threading.Lock()


def client_modules() -> tuple[Any, Any, Any]:
    """(configuration, rest, kube_config) modules of the official client: lean when allowed, else (or on
    any layout surprise) the documented import. Thread-safe: a module another thread is still importing is
    never handed out."""
    if _READY:
        return _READY[0]
    with _IMPORT_LOCK:
        if not _READY:
            _READY.append(_loaded() if "kubernetes.config.kube_config" in sys.modules else _import())
            route_client_logging()
        return _READY[0]


class ClientLogHandler(logging.Handler):
    """The client's own log lines as regplan prints everything: one ``regplan: warning:`` line on stderr,
    escaped (``escape.one_line``) and with key material redacted (``normalize.redact_text``).

    Why: the client reports a failing exec credential plugin with ``logging.error(...)`` quoting the
    plugin's stderr, which Python's default handler would print raw (escape sequences included, "ERROR:root:"
    in front) - text from a program regplan did not write, that may echo a token."""

    def emit(self, record: logging.LogRecord) -> None:
        from regplan.base.escape import one_line
        from regplan.base.normalize import redact_text

        try:
            text = one_line(redact_text(record.getMessage()))
            sys.stderr.write(f"regplan: warning: kubernetes client: {text}\n")
        except Exception:
            self.handleError(record)


def route_client_logging() -> None:
    """Route the root logger (where the client logs) through ClientLogHandler, unless the host (pytest, an
    embedding program) configured logging itself."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(ClientLogHandler())


_READY: list[tuple[Any, Any, Any]] = []


def _loaded() -> tuple[Any, Any, Any]:
    mods = sys.modules
    return (
        mods["kubernetes.client.configuration"],
        mods["kubernetes.client.rest"],
        mods["kubernetes.config.kube_config"],
    )


def _import() -> tuple[Any, Any, Any]:
    if "kubernetes.config.kube_config" in sys.modules:
        mods = sys.modules
        return (
            mods["kubernetes.client.configuration"],
            mods["kubernetes.client.rest"],
            mods["kubernetes.config.kube_config"],
        )
    if lean_import_allowed(sys.modules, sys.argv, os.environ):
        try:
            found = _lean()
            STATE.lean = True
            return found
        except Exception as err:  # any layout surprise: fall back to the documented import
            STATE.fallback = f"{type(err).__name__}: {err}"
            _undefer()
            for name in [n for n in sys.modules if n == "kubernetes" or n.startswith("kubernetes.")]:
                del sys.modules[name]
    from kubernetes.client import configuration, rest
    from kubernetes.config import kube_config

    return configuration, rest, kube_config


def _lean() -> tuple[Any, Any, Any]:
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or spec.origin is None:
        raise ImportError("kubernetes is not installed")
    base = os.path.dirname(spec.origin)
    for name, sub in STUB_PACKAGES:
        mod = types.ModuleType(name)
        if sub is not None:
            mod.__path__ = [os.path.join(base, sub)]
        sys.modules[name] = mod
    _defer_oauthlib()
    configuration = importlib.import_module("kubernetes.client.configuration")
    rest = importlib.import_module("kubernetes.client.rest")

    class LazyApiClient:
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            real = importlib.import_module("kubernetes.client.api_client").ApiClient
            return real(*args, **kwargs)

    client_pkg: Any = sys.modules["kubernetes.client"]
    client_pkg.Configuration = configuration.Configuration
    client_pkg.ApiClient = LazyApiClient
    kube_config = importlib.import_module("kubernetes.config.kube_config")
    for module, names in LAYOUT.items():
        if module == "kubernetes.client.api_client":  # imported on first use: only check it is there
            if importlib.util.find_spec(module) is None:
                raise ImportError(f"{module} is missing")
            continue
        loaded = importlib.import_module(module)
        missing = [n for n in names if not hasattr(loaded, n)]
        if missing:
            raise ImportError(f"{module} has no {', '.join(missing)}")
    return configuration, rest, kube_config


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet; the first attribute asked for imports the
    real ones (all deferred modules go at once) and answers from it."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        _undefer()
        return getattr(importlib.import_module(self.__name__), attr)


def _undefer() -> None:
    for name in [n for n, m in list(sys.modules.items()) if isinstance(m, _Deferred)]:
        del sys.modules[name]


def _defer_oauthlib() -> None:
    """``kube_config`` does ``import oauthlib.oauth2`` and ``from requests_oauthlib import OAuth2Session``
    at import time but uses them only in ``_refresh_oidc``: register stand-ins unless already imported."""
    if any(n in sys.modules for n in ("oauthlib", "oauthlib.oauth2", "requests_oauthlib")):
        return
    if importlib.util.find_spec("requests_oauthlib") is None or importlib.util.find_spec("oauthlib") is None:
        return  # not installed: let kube_config's own import fail as it would

    class OAuth2Session:
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            _undefer()
            real = importlib.import_module("requests_oauthlib").OAuth2Session
            return real(*args, **kwargs)

    top, oauth2, session = _Deferred("oauthlib"), _Deferred("oauthlib.oauth2"), _Deferred("requests_oauthlib")
    top.oauth2 = oauth2  # type: ignore[attr-defined]
    session.OAuth2Session = OAuth2Session  # type: ignore[attr-defined]
    sys.modules.update({"oauthlib": top, "oauthlib.oauth2": oauth2, "requests_oauthlib": session})
