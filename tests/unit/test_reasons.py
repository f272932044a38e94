"""Every field a plan changes carries a one-line reason (regplan.present.reasons), on every scenario plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from regplan.base.yamlio import load_all_safe
from regplan.engine import workflow
from regplan.engine.diff import ChangeKind
from regplan.engine.planvalue import Action
from regplan.present import views
from regplan.present.reasons import REASONS, reason_for
from tools import scenarios

ROOT = Path(__file__).resolve().parents[2]
CASES = scenarios.scenario_cases(ROOT)


def plan_of(case: Path) -> object:
    spec = load_all_safe((case / "case.yaml").read_text(), "case.yaml")[0]
    live = workflow.Live(snapshot=case / "live.yaml", kubeconfig=None, context=None)
    return workflow.make_plan(
        profile=spec["profile"],
        values_files=[case / f for f in spec.get("values") or []],
        sets=[str(s) for s in spec.get("sets") or []],
        profiles_dir=None,
        target=str(spec.get("target") or "auto"),
        live=live,
        environ=scenarios.FAKE_ENV,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_every_changed_field_has_a_reason(case: Path) -> None:
    try:
        plan = plan_of(case)
    except Exception:  # a scenario whose expected output is an error has no fields
        pytest.skip("the scenario is an error case")
    unexplained = [
        (c.ref.kind, leaf.dotted)
        for c in plan.changes  # type: ignore[attr-defined]
        if c.action is not Action.NOOP
        for f in c.fields
        for leaf in views.expand(f)
        if not reason_for(c.ref.kind, leaf.dotted, leaf.new, removed=leaf.kind is ChangeKind.REMOVED)
        and leaf.dotted not in ("apiVersion", "kind", "metadata.name", "metadata.namespace")
    ]
    assert unexplained == []


@pytest.mark.parametrize(
    ("kind", "path", "new", "removed", "words"),
    [
        ("Config", "spec.replicas", 1, False, "exactly one registry pod"),
        ("Config", "spec.replicas", 3, False, "serving pulls"),
        ("Config", "spec.storage.s3.bucket", None, True, "exactly one storage backend"),
        ("Config", "spec.storage.managementState", "Unmanaged", False, "stays when the registry is set"),
        ("DeploymentConfig", "spec.template.spec.containers[registry].env[REGISTRY_STORAGE]", None, True,
         "overrides the config"),
        ("DeploymentConfig", "spec.strategy", {"type": "Recreate"}, False, "releases a ReadWriteOnce claim"),
        ("PersistentVolumeClaim", "spec.accessModes", ["ReadWriteOnce"], False, "ReadWriteOnce for a volume"),
    ],
)  # fmt: skip
def test_reason_rows(kind: str, path: str, new: object, removed: bool, words: str) -> None:
    assert words in reason_for(kind, path, new, removed=removed)


def test_brackets_in_paths_are_literal() -> None:
    """`[registry]` names a list item, it is not a character class: `r` alone must not match."""
    assert (
        reason_for("DeploymentConfig", "spec.template.spec.containers[r].env[REGISTRY_CONFIGURATION_PATH]")
        == ""
    )


def test_every_row_says_something() -> None:
    assert all(row.why and row.on in ("set", "remove") for row in REASONS)
