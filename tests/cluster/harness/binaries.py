"""Locate the control plane binaries that ``hack/build-testbin.sh`` builds into the cache, and the
image-registry operator binary the user supplies for the ``operator`` tier (``find_operator``).

The cache lives outside the repository: ``${REGPLAN_TESTBIN:-~/.cache/regplan/testbin}/<k8s-version>/``.
When something is missing, ``BinariesMissing`` carries a message saying exactly how to build it, so
a CI failure is actionable (tests never skip silently in CI, see conftest.py).
"""

from __future__ import annotations

import os
import stat
import subprocess
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


def in_ci() -> bool:
    """CI is set: what is missing fails instead of skipping (except the optional operator binary)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


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


# --- the image-registry operator the user supplies (the `operator` tier) ---------------------------------
# The project never builds, fetches nor points at the operator's source: the tier runs a binary the user
# names. Only its CRDs come from a Go module (github.com/openshift/api, hack/get-operator-crds.sh).
OPERATOR_BIN_VAR = "REGPLAN_OPERATOR_BIN"
OPERATOR_API_VAR = "REGPLAN_OPERATOR_API_VERSION"
OPERATOR_CRDS_COMMAND = "hack/get-operator-crds.sh"
OPERATOR_NEEDS = (
    f"operator tier: needs {OPERATOR_BIN_VAR}=/path/to/cluster-image-registry-operator (a binary you "
    f"supply) and {OPERATOR_API_VAR}=<github.com/openshift/api version it was built against> "
    "(default: the testbin's); see docs/control-plane.md"
)
SHOWN_MAX = 200  # characters of a user-given value quoted in a message


class OperatorMissing(RuntimeError):
    """No operator named (``REGPLAN_OPERATOR_BIN`` unset): the tier skips, saying what it needs."""


class OperatorUnusable(RuntimeError):
    """An operator is named but cannot be run (not a regular executable file, its CRDs not obtainable, no
    user namespaces): the message names the variable and the value."""


@dataclass(frozen=True)
class OperatorBinaries:
    binary: Path
    crds: Path  # the openshift/api CRDs the operator needs, of the version it was built against
    api_version: str


def shown(value: str) -> str:
    """A user-given value for a one-line message: quoted, control characters and line breaks escaped
    (``repr``: \\n, \\x1b, \\u2028), cut at ``SHOWN_MAX``."""
    cut = value if len(value) <= SHOWN_MAX else value[:SHOWN_MAX] + "..."
    return repr(cut)


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped (what a tool said, for a one-line message)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def operator_binary(environ: Mapping[str, str] | None = None) -> Path:
    """The binary ``REGPLAN_OPERATOR_BIN`` names, checked without running or opening it (a FIFO would
    block): a regular file (a symlink is followed to one) the user may execute. Relative to the cwd."""
    env = os.environ if environ is None else environ
    raw = env.get(OPERATOR_BIN_VAR, "")
    if not raw:
        raise OperatorMissing(OPERATOR_NEEDS)
    what = f"{OPERATOR_BIN_VAR}={shown(raw)}"
    path = Path(raw).absolute()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise OperatorUnusable(f"operator tier: {what}: no such file") from None
    except OSError as e:  # ENOTDIR, ELOOP, ENAMETOOLONG, EACCES
        raise OperatorUnusable(f"operator tier: {what}: cannot stat it: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OperatorUnusable(f"operator tier: {what} is a directory, not the operator binary")
    if not stat.S_ISREG(st.st_mode):
        raise OperatorUnusable(f"operator tier: {what} is not a regular file ({_file_type(st.st_mode)})")
    if not os.access(path, os.X_OK):
        raise OperatorUnusable(f"operator tier: {what} is not executable (chmod +x)")
    return path


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a file"


def operator_crds(
    environ: Mapping[str, str] | None = None, repo: Path | None = None, timeout: float = 600.0
) -> tuple[Path, str]:
    """The CRD directory for ``REGPLAN_OPERATOR_API_VERSION`` (default: hack/get-operator-crds.sh's) and
    that version: the script fetches them into the testbin cache once, then answers from it."""
    env = dict(os.environ if environ is None else environ)
    root = repo or Path(__file__).resolve().parents[3]
    r = subprocess.run(
        ["bash", str(root / OPERATOR_CRDS_COMMAND)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if r.returncode != 0:
        said = printable(" ".join(r.stderr.split())[-2 * SHOWN_MAX :]) or f"exit {r.returncode}"
        raise OperatorUnusable(
            f"operator tier: the operator's CRDs: `{OPERATOR_CRDS_COMMAND}` failed: {said}"
        )
    crds = Path(r.stdout.strip().splitlines()[-1])
    source = (crds / "SOURCE").read_text().splitlines()[0]  # github.com/openshift/api@<version>
    return crds, source.partition("@")[2]


def find_operator(environ: Mapping[str, str] | None = None) -> OperatorBinaries:
    """The operator the user supplies and its CRDs. OperatorMissing (one line) when none is named,
    OperatorUnusable naming what is wrong otherwise."""
    binary = operator_binary(environ)
    crds, version = operator_crds(environ)
    return OperatorBinaries(binary=binary, crds=crds, api_version=version)
