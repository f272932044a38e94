"""The lean client import depends on the ``kubernetes`` package's module layout: fail loudly when it changes.

``regplan.cluster.clientimport`` falls back to the documented import on any surprise, so a new client
would only make regplan slower, silently. These tests make the surprise visible: the lean path must be
taken (no fallback) in the ``regplan`` process, load none of the modules it exists to avoid, and every
module and attribute of ``LAYOUT`` must exist. When they fail after a ``kubernetes`` upgrade, adapt
``clientimport`` (or drop the trick) and move the upper bound on ``kubernetes`` in pyproject.toml.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys

import pytest

from regplan.cluster import clientimport

PROBE = """
import json, sys
sys.argv = ["regplan"]
from regplan.cluster import clientimport
configuration, rest, kube_config = clientimport.client_modules()
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "kubernetes")
print(json.dumps({
    "lean": clientimport.STATE.lean,
    "fallback": clientimport.STATE.fallback,
    "loaded": loaded,
    "names": [configuration.Configuration.__name__, rest.RESTClientObject.__name__,
              kube_config.load_kube_config.__name__],
}))
"""

# What the lean import exists to avoid: the generated API classes and models, the dynamic client, watch.
AVOIDED = ("kubernetes.client.api.", "kubernetes.client.models.", "kubernetes.dynamic", "kubernetes.watch")


def test_lean_import_is_taken_in_the_regplan_process() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    found = json.loads(out.stdout)
    assert found["fallback"] == "", f"the lean kubernetes import fell back: {found['fallback']}"
    assert found["lean"] is True
    assert found["names"] == ["Configuration", "RESTClientObject", "load_kube_config"]
    assert not [m for m in found["loaded"] if m.startswith(AVOIDED)], found["loaded"]


@pytest.mark.parametrize(("module", "names"), sorted(clientimport.LAYOUT.items()))
def test_layout_the_lean_import_relies_on(module: str, names: tuple[str, ...]) -> None:
    loaded = importlib.import_module(module)
    assert [n for n in names if not hasattr(loaded, n)] == []


@pytest.mark.parametrize(("package", "sub"), clientimport.STUB_PACKAGES)
def test_stub_packages_are_real_directories(package: str, sub: str | None) -> None:
    import os

    import kubernetes

    base = os.path.dirname(kubernetes.__file__)
    if sub is not None:
        assert os.path.isfile(os.path.join(base, sub, "__init__.py")) or sub == ""
    else:
        assert importlib.util.find_spec(package) is not None


def test_lean_import_only_in_the_cli_process() -> None:
    import os

    allowed = clientimport.lean_import_allowed
    cli = ["/usr/bin/regplan", "plan"]
    main = [os.path.join("site-packages", "regplan", "__main__.py"), "plan"]
    assert allowed({}, cli, {})
    assert allowed({}, main, {})
    assert not allowed({"pytest": object()}, cli, {})  # a host process may need the models
    assert not allowed({"kubernetes": object()}, cli, {})  # already imported in full
    assert not allowed({}, ["python", "-c"], {})
    assert not allowed({}, [], {})
    assert not allowed({}, cli, {"REGPLAN_FULL_KUBERNETES_IMPORT": "1"})
