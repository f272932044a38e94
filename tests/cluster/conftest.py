"""Fixtures of the cluster tier: a real etcd + kube-apiserver + kube-controller-manager per target.

Every test under tests/cluster/ is marked ``cluster``. Fixtures (details in docs/control-plane.md):
- ``cluster_pool`` (session): starts control planes lazily, tears them down at the end.
- ``ocp4_cluster`` / ``ocp3_cluster``: a ``TargetCluster`` reset to its seed state before the test.
- ``cluster``: ocp4 by default; ``@pytest.mark.parametrize("cluster", ["ocp4", "ocp3"], indirect=True)``
  runs a test on both.
- ``audit``: the cluster's ``AuditLog`` with a mark taken at test start (skips on a brought cluster).
- ``limited``: the ``Kube`` client of the user with no rights (skips on a brought cluster).
- ``operator_cluster``: a 4.x control plane of its own with the REAL image-registry operator running
  (tests in ``test_operator_*.py``, marked ``operator`` too), a binary the user supplies
  (REGPLAN_OPERATOR_BIN). Not named: skips with one line saying what it needs; a failing test shows the
  operator's log tail.

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
from harness.binaries import OperatorBinaries, OperatorMissing, OperatorUnusable, find_operator, in_ci
from harness.operator import userns_problem

HERE = Path(__file__).resolve().parent


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
    """The operator the user supplies. None named: skip with one line saying what the tier needs (in CI
    too: CI runs the tier only where a binary is supplied). Named but unusable (not a regular executable
    file, its CRDs not obtainable): fail, naming it; the user asked for the tier. No user namespaces on
    this machine: fail in CI, skip locally."""
    problem, skip = "", False
    try:
        ops = find_operator()
        problem, skip = userns_problem() or "", not in_ci()
    except OperatorMissing as e:
        problem, skip = str(e), True
    except OperatorUnusable as e:
        problem = str(e)
    if problem:  # outside the except: no chained traceback, just the message
        if skip:
            pytest.skip(problem)
        pytest.fail(problem, pytrace=False)
    return ops


@pytest.fixture
def operator_cluster(operator_binaries: OperatorBinaries, cluster_pool: ClusterPool) -> TargetCluster:
    # operator_binaries first: without an operator the tier skips for that reason, testbin or not
    if cluster_pool.byo_kubeconfig is not None:
        pytest.skip("operator tier: a brought cluster runs its own operator (REGPLAN_TEST_KUBECONFIG)")
    return cluster_pool.get_operator(operator_binaries)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if (
        report.when == "setup"
        and report.skipped
        and item.get_closest_marker("operator") is not None
        and isinstance(report.longrepr, tuple)
    ):
        # The tier skips as a whole (no binary, no user namespaces): one summary line at the fixture that
        # decided, not one per test location.
        report.longrepr = (__file__, None, report.longrepr[2])
    cluster = getattr(item, "funcargs", {}).get("operator_cluster")
    if report.failed and cluster is not None and cluster.operator is not None:
        lines = [line[:400] for line in cluster.operator.log_tail(40).splitlines()]  # its diffs are long
        report.sections.append(("operator log (last 40 lines)", "\n".join(lines)))
