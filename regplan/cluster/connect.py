"""Which transport a context gets: the one decision between the standard-library transport and the
official client (``direct.route`` says why a context cannot take the first).

``open_transport`` reads and checks the kubeconfig the one way (``kubeconfig.read_files`` / ``resolve``:
the same messages on both paths), then builds a ``direct.StdTransport`` or, for the forms it does not
implement, the client's configuration and ``transport.Transport``, importing ``kubernetes`` only then.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from regplan.base.escape import one_line as shown  # paths and names from files: one line
from regplan.cluster import direct
from regplan.cluster import kubeconfig as kc
from regplan.cluster.transport import Sender


def choose(
    kubeconfig: str | None, context: str | None, environ: Mapping[str, str] = os.environ
) -> tuple[str, str]:
    """("direct" | "client", why the client) for a context; errors as the configuration load raises."""
    files = kc.read_files(kubeconfig, environ)
    if not files:
        if _in_cluster(context, environ):
            return "direct", ""
        return "client", "no kubeconfig and no in-cluster service account (the client reports it)"
    resolved = kc.resolve(files, context)
    why = direct.route(resolved.cluster_entry, _user(files, resolved), environ)
    return ("client", why) if why else ("direct", "")


def _in_cluster(context: str | None, environ: Mapping[str, str]) -> bool:
    """No kubeconfig, in a pod: the service account (``--context`` there is the client's error to say)."""
    return (
        bool(environ.get("KUBERNETES_SERVICE_HOST"))
        and not context
        and environ.get(direct.FORCE_CLIENT) != "client"
    )


def _user(files: list[kc.Kubeconfig], resolved: kc.Resolved) -> Mapping[str, Any]:
    if not resolved.user:
        return {}
    by_path = {f.path: f for f in files}
    return by_path[resolved.user_file].entries["users"][resolved.user]


def open_transport(
    kubeconfig: str | None,
    context: str | None,
    request_timeout: tuple[float, float],
    *,
    environ: Mapping[str, str] = os.environ,
    maxsize: int | None = None,
) -> tuple[Sender, tuple[str, ...]]:
    """(the transport for ``context``, the warnings of its kubeconfig to show once)."""
    files = kc.read_files(kubeconfig, environ)
    if files:
        resolved = kc.resolve(files, context)
        user = _user(files, resolved)
        if not direct.route(resolved.cluster_entry, user, environ):
            ep = direct.endpoint(
                resolved.cluster_entry,
                f'invalid kubeconfig {shown(resolved.cluster_file)}: cluster "{shown(resolved.cluster)}"',
                resolved.cluster_file,
                user,
                f'invalid kubeconfig {shown(resolved.user_file)}: user "{shown(resolved.user)}"',
                resolved.user_file,
                environ,
            )
            return direct.StdTransport(ep, request_timeout, maxsize or 8), resolved.warnings
    elif _in_cluster(context, environ):
        return direct.StdTransport(direct.in_cluster(environ), request_timeout, maxsize or 8), ()
    from regplan.cluster.clientimport import client_modules
    from regplan.cluster.transport import Transport

    cfg, warnings = kc.load_configuration(kubeconfig, context, environ)
    if maxsize:
        cfg.connection_pool_maxsize = maxsize
    _, rest, _ = client_modules()
    return Transport(cfg, rest, request_timeout), warnings
