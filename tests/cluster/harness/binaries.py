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


# --- the real image-registry operator (hack/build-operator.sh) ----------------------------------------
OPERATOR_BUILD_COMMAND = "hack/build-operator.sh"
OPERATOR_SOURCE_HELP = (
    "set REGPLAN_OPERATOR_SRC to a checkout of github.com/openshift/cluster-image-registry-operator "
    "(commit in docs/control-plane.md) and run `hack/build-operator.sh`"
)


class OperatorMissing(RuntimeError):
    """The operator tier cannot run: no source, not built, or no user namespaces (message says which)."""


@dataclass(frozen=True)
class OperatorBinaries:
    binary: Path
    crds: Path  # the openshift/api CRDs the operator needs, from the module its go.mod requires
    api_version: str


def operator_source(environ: Mapping[str, str] | None = None, repo: Path | None = None) -> Path | None:
    """Where hack/build-operator.sh takes the source from (same order), or None."""
    env = os.environ if environ is None else environ
    root = repo or Path(__file__).resolve().parents[3]
    candidates = [env.get("REGPLAN_OPERATOR_SRC", "")]
    if env.get("REGPLAN_SHARED"):
        candidates.append(str(Path(env["REGPLAN_SHARED"]) / "third_party/cluster-image-registry-operator"))
    candidates.append(str(root.parent / "shared/third_party/cluster-image-registry-operator"))
    for c in candidates:
        if c and (Path(c) / "go.mod").is_file():
            return Path(c)
    return None


def find_operator(environ: Mapping[str, str] | None = None) -> OperatorBinaries:
    """The built operator for the available source; OperatorMissing (one line) otherwise."""
    env = os.environ if environ is None else environ
    src = operator_source(env)
    if src is None:  # a built operator without its source is not used: the source names the build
        raise OperatorMissing(
            f"operator tier: no cluster-image-registry-operator source; {OPERATOR_SOURCE_HELP}"
        )
    import hashlib

    key = hashlib.sha256((src / "go.mod").read_bytes() + (src / "go.sum").read_bytes()).hexdigest()[:12]
    d = cache_root(env) / "operator" / key
    found = OperatorBinaries(
        binary=d / "cluster-image-registry-operator",
        crds=d / "crds",
        api_version=(d / "openshift-api-version").read_text().strip()
        if (d / "openshift-api-version").is_file()
        else "",
    )
    if not (found.binary.is_file() and os.access(found.binary, os.X_OK) and found.api_version):
        raise OperatorMissing(
            f"operator tier: the operator for {src} is not built in {d}; run `{OPERATOR_BUILD_COMMAND}`"
        )
    return found
