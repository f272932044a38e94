"""`--target auto` plans detect the target and read the ocp4 objects in one round trip (workflow.Live).

The fake cluster below answers from recorded snapshots; its ``detect_target`` waits until a read has
started, so a sequential detect-then-read would not overlap (asserted), and the errors come out in the
same order as they did sequentially: values, detection, the detected target's rules, the reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import MemoryCluster

from regplan.base.errors import ClusterError, InvalidInput, ValidationFailed
from regplan.base.model import Target
from regplan.engine import workflow

ROOT = Path(__file__).resolve().parents[2]
OCP4 = ROOT / "examples/snapshots/ocp4-pvc-pending.yaml"
OCP3 = ROOT / "examples/snapshots/ocp3-emptydir.yaml"


def FakeCluster(
    snapshot_path: Path,
    target: Target,
    *,
    detect_error: Exception | None = None,
    read_error: dict[Target, Exception] | None = None,
) -> MemoryCluster:
    """The shared fake, its detection in flight until a read has started (or 2 s: no overlap)."""
    fake = MemoryCluster.from_snapshot(snapshot_path, target=target, server_dry_run=False)
    fake.detect_error = detect_error
    fake.read_error = read_error or {}
    fake.detect_in_flight = 2.0
    fake.source = "fake cluster"
    return fake


def plan_with(fake: MemoryCluster, profile: str = "ebs-gp2-rwo", sets: list[str] | None = None) -> Any:
    live = workflow.Live(snapshot=None, kubeconfig=None, context=None)
    live._cluster = fake  # type: ignore[assignment]
    return workflow.make_plan(
        profile=profile,
        values_files=[],
        sets=sets or [],
        profiles_dir=None,
        target="auto",
        live=live,
        environ={},
    )


def test_ocp4_detection_and_reads_overlap_one_read_one_detect() -> None:
    fake = FakeCluster(OCP4, Target.OCP4)
    plan = plan_with(fake)
    assert fake.overlapped is True
    assert (fake.detects, fake.reads) == (1, [Target.OCP4])
    assert plan.target is Target.OCP4 and plan.has_changes


def test_same_plan_as_explicit_target() -> None:
    from regplan.present import views

    auto = plan_with(FakeCluster(OCP4, Target.OCP4))
    live = workflow.Live(snapshot=OCP4, kubeconfig=None, context=None, source="fake cluster")
    explicit = workflow.make_plan(
        profile="ebs-gp2-rwo",
        values_files=[],
        sets=[],
        profiles_dir=None,
        target="ocp4",
        live=live,
        environ={},
    )
    assert (auto.server_dry_run, explicit.server_dry_run) == ("unsupported", "snapshot")  # the fake serves
    explicit.server_dry_run = auto.server_dry_run  # no dry run, as 3.11; all else must be the same
    assert views.plan_json(auto) == views.plan_json(explicit)


def test_ocp3_drops_the_speculative_reads_and_their_errors() -> None:
    forbidden = ClusterError("forbidden (403): cannot get secrets in namespace openshift-image-registry")
    fake = FakeCluster(OCP3, Target.OCP3, read_error={Target.OCP4: forbidden})
    plan = plan_with(fake, profile="glusterfs")
    assert plan.target is Target.OCP3
    assert fake.reads == [Target.OCP4, Target.OCP3]


def test_detection_error_comes_before_read_errors() -> None:
    fake = FakeCluster(
        OCP4,
        Target.OCP4,
        detect_error=ClusterError("cannot reach the cluster"),
        read_error={Target.OCP4: ClusterError("read failed")},
    )
    with pytest.raises(ClusterError, match="cannot reach"):
        plan_with(fake)


def test_undetectable_cluster_is_exit_3_as_before() -> None:
    fake = FakeCluster(OCP4, Target.OCP4, detect_error=InvalidInput("cannot detect the target"))
    with pytest.raises(InvalidInput, match="cannot detect"):
        plan_with(fake)


def test_read_error_of_the_detected_target_is_raised() -> None:
    fake = FakeCluster(OCP4, Target.OCP4, read_error={Target.OCP4: ClusterError("forbidden (403)")})
    with pytest.raises(ClusterError, match="forbidden"):
        plan_with(fake)


def test_values_the_rules_refuse_read_nothing() -> None:
    # ReadWriteOnce with two replicas: the rules refuse it for every target, before any read
    fake = FakeCluster(OCP4, Target.OCP4)
    with pytest.raises(ValidationFailed):
        plan_with(fake, sets=["replicas=2"])
    assert fake.reads == [] and fake.detects == 1
