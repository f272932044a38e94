"""Scenario folders (tests/scenarios/<case>/live.yaml + case.yaml) -> expected plans in golden/plan/<case>/.

One test per folder. REGPLAN_UPDATE_GOLDEN=1 rewrites the expected files (or
`python -m tools.golden --update`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tools import scenarios

ROOT = Path(__file__).resolve().parents[2]
CASES = scenarios.scenario_cases(ROOT)


def test_there_are_scenarios() -> None:
    names = {c.name for c in CASES}
    assert {"ocp4-pvc-pending-ebs-gp2-rwo", "ocp4-applied-ebs-gp2-rwo", "ocp3-emptydir-glusterfs"} <= names


@pytest.mark.parametrize("case_dir", CASES, ids=[c.name for c in CASES])
def test_scenario_plan_matches_golden(case_dir: Path) -> None:
    outputs = scenarios.scenario_outputs(ROOT, case_dir)
    expected_dir = ROOT / "golden" / "plan" / case_dir.name
    if os.environ.get("REGPLAN_UPDATE_GOLDEN") == "1":
        expected_dir.mkdir(parents=True, exist_ok=True)
        for name, text in outputs.items():
            (expected_dir / name).write_text(text, encoding="utf-8")
    for name, text in outputs.items():
        expected = (expected_dir / name).read_text(encoding="utf-8")
        assert text == expected, f"{case_dir.name}/{name} differs; REGPLAN_UPDATE_GOLDEN=1 pytest to rewrite"


@pytest.mark.parametrize("case_dir", CASES, ids=[c.name for c in CASES])
def test_scenario_outputs_never_hold_secret_values(case_dir: Path) -> None:
    for text in scenarios.scenario_outputs(ROOT, case_dir).values():
        for value in scenarios.FAKE_ENV.values():
            assert value not in text


def _plan(case: str) -> dict[str, object]:
    doc: dict[str, object] = json.loads(
        scenarios.scenario_outputs(ROOT, ROOT / "tests/scenarios" / case)["plan.json"]
    )
    return doc


def _actions(doc: dict[str, object]) -> dict[str, str]:
    return {c["ref"]: c["action"] for c in doc["changes"]}  # type: ignore[attr-defined]


def test_known_failure_plans_a_replace_quoting_the_event() -> None:
    doc = _plan("ocp4-pvc-pending-ebs-gp2-rwo")
    claim = next(c for c in doc["changes"] if c["object"]["kind"] == "PersistentVolumeClaim")  # type: ignore[attr-defined]
    # the claim never bound (Pending, no volume): a replace (--allow-replace gates it) that loses no data
    assert claim["action"] == "replace" and claim["destructive"] is False
    assert claim["reason"].startswith("spec.accessModes is immutable")
    assert "no data exists on it" in claim["reason"]
    assert [w["verb"] for w in doc["writes"] if w["object"]["kind"] == "PersistentVolumeClaim"] == [  # type: ignore[attr-defined]
        "delete",
        "create",
    ]
    messages = " ".join(d["message"] for d in doc["diagnostics"])  # type: ignore[attr-defined]
    assert 'ProvisioningFailed: Failed to provision volume with StorageClass "gp2"' in messages
    assert "image-registry-5f8d9c7b6-q2mzx" in messages


def test_already_applied_is_no_op_and_writes_nothing() -> None:
    for case in ("ocp4-applied-ebs-gp2-rwo", "ocp3-applied-glusterfs"):
        doc = _plan(case)
        assert set(_actions(doc).values()) == {"no-op"}
        assert doc["writes"] == []


def test_resize_grow_updates_and_shrink_is_blocked() -> None:
    assert "update" in _actions(_plan("ocp4-resize-grow")).values()
    shrink = _plan("ocp4-resize-shrink")
    assert "blocked" in _actions(shrink).values()
    assert shrink["writes"] == []
    assert any("can not be less than previous value" in d["message"] for d in shrink["diagnostics"])  # type: ignore[attr-defined]


def test_ocp3_keeps_registry_certificates_and_removes_storage_env() -> None:
    for case in ("ocp3-emptydir-glusterfs", "ocp3-storage-env-override"):
        doc = _plan(case)
        patch = next(w for w in doc["writes"] if w["object"]["kind"] == "DeploymentConfig")  # type: ignore[attr-defined]
        assert patch["patchType"] == "json" and patch["body"][0]["op"] == "test"
        assert not any("registry-certificates" in json.dumps(op) for op in patch["body"])
        assert not any("REGISTRY_HTTP_TLS" in json.dumps(op) for op in patch["body"])
    override = _plan("ocp3-storage-env-override")
    patch = next(w for w in override["writes"] if w["object"]["kind"] == "DeploymentConfig")  # type: ignore[attr-defined]
    # the env var sits at index 2 of the registry container's env in live.yaml
    assert {"op": "remove", "path": "/spec/template/spec/containers/0/env/2"} in patch["body"]
