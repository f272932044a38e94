"""Fixtures of the cluster tier: a real etcd + kube-apiserver + kube-controller-manager per target.

Every test under tests/cluster/ is marked ``cluster``. Fixtures (details in docs/control-plane.md):
- ``cluster_pool`` (session): starts control planes lazily, tears them down at the end.
- ``ocp4_cluster`` / ``ocp3_cluster``: a ``TargetCluster`` reset to its seed state before the test.
- ``cluster``: ocp4 by default; ``@pytest.mark.parametrize("cluster", ["ocp4", "ocp3"], indirect=True)``
  runs a test on both.
- ``audit``: the cluster's ``AuditLog`` with a mark taken at test start (skips on a brought cluster).
- ``limited``: the ``Kube`` client of the user with no rights (skips on a brought cluster).
- ``operator_cluster``: a 4.x control plane of its own with the REAL image-registry operator running
  (tests in ``test_operator_*.py``, marked ``operator`` too). Skips with a one-line reason when there is no
  operator source (REGPLAN_OPERATOR_SRC) or no user namespaces; a failing test shows the operator's log tail.

Binaries missing: fail with the build command when CI is set, skip with the same message otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import (
    AuditLog,
    BinariesMissing,
    ClusterPool,
    Kube,
    TargetCluster,
    TargetUnavailable,
    find_binaries,
)
from harness.binaries import OperatorBinaries, OperatorMissing, find_operator, operator_source
from harness.operator import userns_problem

HERE = Path(__file__).resolve().parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if HERE in path.parents:
            item.add_marker(pytest.mark.cluster)
            if path.name.startswith("test_operator_"):
                item.add_marker(pytest.mark.operator)


@pytest.fixture(scope="session")
def cluster_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterPool]:
    root = tmp_path_factory.mktemp("controlplane")
    byo = os.environ.get("REGPLAN_TEST_KUBECONFIG")
    if byo:
        yield ClusterPool(root, byo_kubeconfig=Path(byo))
        return
    missing = ""
    try:
        binaries = find_binaries()
    except BinariesMissing as e:
        missing = str(e)
    if missing:  # outside the except: no chained traceback, just the message
        if in_ci():
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)
    pool = ClusterPool(root, binaries)
    try:
        yield pool
    finally:
        pool.close()
        _TIMINGS.update(pool.timings)


_TIMINGS: dict[str, dict[str, float]] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for target, t in _TIMINGS.items():
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in t.items())
        terminalreporter.write_line(f"control plane {target} start-up: {parts}")


def _get(pool: ClusterPool, target: str) -> TargetCluster:
    try:
        return pool.get(target)
    except TargetUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture
def ocp4_cluster(cluster_pool: ClusterPool) -> TargetCluster:
    return _get(cluster_pool, "ocp4")


@pytest.fixture
def ocp3_cluster(cluster_pool: ClusterPool) -> TargetCluster:
    return _get(cluster_pool, "ocp3")


@pytest.fixture
def cluster(request: pytest.FixtureRequest, cluster_pool: ClusterPool) -> TargetCluster:
    return _get(cluster_pool, getattr(request, "param", "ocp4"))


@pytest.fixture
def audit(cluster: TargetCluster) -> AuditLog:
    if cluster.audit is None:
        pytest.skip("no audit log on a brought cluster (REGPLAN_TEST_KUBECONFIG)")
    return cluster.audit


@pytest.fixture
def limited(cluster: TargetCluster) -> Kube:
    if cluster.limited is None:
        pytest.skip("no limited user on a brought cluster (REGPLAN_TEST_KUBECONFIG)")
    return cluster.limited


@pytest.fixture(scope="session")
def operator_binaries() -> OperatorBinaries:
    """The built operator. No source: skip naming REGPLAN_OPERATOR_SRC (also in CI: the tier is optional
    there by design). Source present but not built, or no user namespaces: fail in CI, skip locally."""
    problem = ""
    try:
        ops = find_operator()
        problem = userns_problem() or ""
    except OperatorMissing as e:
        problem = str(e)
        if operator_source() is None:
            pytest.skip(problem)
    if problem:
        if in_ci():
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)
    return ops


@pytest.fixture
def operator_cluster(cluster_pool: ClusterPool, operator_binaries: OperatorBinaries) -> TargetCluster:
    if cluster_pool.byo_kubeconfig is not None:
        pytest.skip("operator tier: a brought cluster runs its own operator (REGPLAN_TEST_KUBECONFIG)")
    return cluster_pool.get_operator(operator_binaries)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    cluster = getattr(item, "funcargs", {}).get("operator_cluster")
    if report.failed and cluster is not None and cluster.operator is not None:
        lines = [line[:400] for line in cluster.operator.log_tail(40).splitlines()]  # its diffs are long
        report.sections.append(("operator log (last 40 lines)", "\n".join(lines)))
