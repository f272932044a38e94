"""Locate the control plane binaries that ``hack/build-testbin.sh`` builds into the cache.

The cache lives outside the repository: ``${REGPLAN_TESTBIN:-~/.cache/regplan/testbin}/<k8s-version>/``.
When something is missing, ``BinariesMissing`` carries a message saying exactly how to build it, so
a CI failure is actionable (tests never skip silently in CI, see conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BUILD_COMMAND = "hack/build-testbin.sh"
# Preference order when REGPLAN_K8S_VERSION is not set and there is no `current` link.
KNOWN_VERSIONS = ("v1.37.2", "v1.36.3")
CRD_FILE = "crds/00_configs.crd.yaml"


class BinariesMissing(RuntimeError):
    """The test control plane binaries are not built (or not where we look)."""


@dataclass(frozen=True)
class Binaries:
    version: str
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    config_crd: Path  # openshift/api Config CRD copied from the Go module cache


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("REGPLAN_TESTBIN") or Path.home() / ".cache/regplan/testbin")


def find_binaries(environ: Mapping[str, str] | None = None) -> Binaries:
    env = os.environ if environ is None else environ
    root = cache_root(env)
    wanted = env.get("REGPLAN_K8S_VERSION")
    candidates: list[Path] = []
    if wanted:
        candidates.append(root / wanted)
    else:
        if (root / "current").exists():
            candidates.append((root / "current").resolve())
        candidates.extend(root / v for v in KNOWN_VERSIONS)
    for d in candidates:
        bins = Binaries(
            version=d.name,
            etcd=d / "etcd",
            kube_apiserver=d / "kube-apiserver",
            kube_controller_manager=d / "kube-controller-manager",
            config_crd=d / CRD_FILE,
        )
        paths = (bins.etcd, bins.kube_apiserver, bins.kube_controller_manager)
        if all(p.is_file() and os.access(p, os.X_OK) for p in paths) and bins.config_crd.is_file():
            return bins
    looked = ", ".join(str(c) for c in candidates)
    raise BinariesMissing(
        f"test control plane binaries not found (looked in {looked}). Build them with "
        f"`{BUILD_COMMAND}` (Go >= 1.24 and the Go module proxy; about 8 min cold on 2 cores), or set "
        "REGPLAN_TESTBIN to a cache that has them, or REGPLAN_TEST_KUBECONFIG to use your own cluster."
    )
