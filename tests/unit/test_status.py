"""Status: what the registry uses now, from recorded snapshots; secret values redacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from regplan.base.model import Target
from regplan.cli import commands
from regplan.engine import snapshot, status

ROOT = Path(__file__).resolve().parents[2]


def _summary(path: str, target: Target) -> dict[str, Any]:
    objs = snapshot.read_objects(ROOT / path)
    live = snapshot.answer(objs, status.first_query(target), source=path)
    second = snapshot.answer(objs, status.second_query(target, live), source=path)
    live.objects.update(second.objects)
    live.events.update(second.events)
    live.pods_using_claim.update(second.pods_using_claim)
    summary = status.summarize(target, live)
    assert isinstance(summary, status.StatusSummary)  # a typed value; its JSON form is read below
    return summary.to_json()


def test_ocp4_pending_claim_shows_phase_events_and_conditions() -> None:
    s = _summary("examples/snapshots/ocp4-pvc-pending.yaml", Target.OCP4)
    assert s["backend"] == "pvc" and s["replicas"] == 2
    claim = s["claim"]
    assert isinstance(claim, dict)
    assert claim["phase"] == "Pending" and claim["accessModes"] == ["ReadWriteMany"]
    assert claim["events"][-1]["reason"] == "ProvisioningFailed"
    assert claim["mountedBy"] == ["image-registry-5f8d9c7b6-q2mzx"]
    assert {
        "type": "Progressing",
        "status": "True",
        "reason": "DeploymentNotCompleted",
        "message": "The deployment has not completed",
    } in s["conditions"]  # type: ignore[operator]


def test_ocp3_emptydir_reads_volumes_and_redacts_secret_env() -> None:
    s = _summary("examples/snapshots/ocp3-emptydir.yaml", Target.OCP3)
    assert s["backend"] == "filesystem"
    assert s["settings"] == {
        "volume": "registry-storage (emptyDir)",
        "config": "the image's built-in config.yml",
    }
    assert "registry-certificates: secret" in s["volumes"]  # type: ignore[operator]
    text = json.dumps(s)
    assert "REGISTRY_HTTP_SECRET=(redacted)" in text
    assert "REGISTRY_HTTP_TLS_KEY=/etc/secrets/registry.key" in text  # a path is not a secret
    assert "c2VjcmV0LXJlcGxhY2VkLWJ5LXRoZS1yZWNvcmRlcg" not in text


def test_ocp3_applied_reads_the_mounted_config_secret() -> None:
    s = _summary("tests/scenarios/ocp3-applied-glusterfs/live.yaml", Target.OCP3)
    assert s["backend"] == "filesystem on claim image-registry-storage"
    assert s["settings"]["config"] == "Secret registry-config"  # type: ignore[index]


def test_status_command_matches_profiles(capsys: object) -> None:
    out: list[str] = []
    rep = commands.Reporter(out=out.append, err=lambda _: None)
    commands.status(
        commands.StatusOptions(snapshot=ROOT / "examples/snapshots/ocp4-aws-fresh.yaml", output="json"),
        reporter=rep,
        environ={},
    )
    doc = json.loads("".join(out))
    assert doc["backend"] == "s3" and doc["matches"] == ["aws-s3"]
    out.clear()
    commands.status(
        commands.StatusOptions(
            snapshot=ROOT / "tests/scenarios/ocp4-applied-ebs-gp2-rwo/live.yaml", output="text"
        ),
        reporter=rep,
        environ={},
    )
    assert "Profile:   ebs-gp2-rwo" in "".join(out)


def test_summary_json_keys_per_target_and_error() -> None:
    """The typed summary keeps the JSON document's shape: keys by target, and only the error when the
    registry object is missing."""
    from regplan.base.model import LiveState

    missing = status.summarize(Target.OCP4, LiveState(target=Target.OCP4, source="s")).to_json()
    assert missing == {
        "target": "ocp4",
        "source": "s",
        "error": "Config/cluster not found",
        "matches": [],
        "matchNote": "",
    }
    ocp4 = _summary("examples/snapshots/ocp4-pvc-pending.yaml", Target.OCP4)
    ocp3 = _summary("examples/snapshots/ocp3-emptydir.yaml", Target.OCP3)
    assert {"managementState", "storageManagementState", "storageManaged"} <= set(ocp4) - set(ocp3)
    assert {"volumes", "env"} <= set(ocp3) - set(ocp4)
