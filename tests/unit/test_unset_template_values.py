"""A value the templates need but nobody set is a validation error naming the key, not a
template error naming a template line (a user profile without ``claim.size``, or a values file that
sets ``claim: {storageClass: null}``)."""

from __future__ import annotations

import pytest

from regplan.base.errors import ValidationFailed
from regplan.base.model import Target
from regplan.core import render, rules
from regplan.core.values import Values

FULL = {
    "replicas": 1,
    "rolloutStrategy": "Recreate",
    "claim": {"name": "a", "size": "1Gi", "accessMode": "ReadWriteOnce", "storageClass": "gp2"},
}


def _without(*dotted: str) -> dict[str, object]:
    data: dict[str, object] = {
        "replicas": FULL["replicas"],
        "rolloutStrategy": FULL["rolloutStrategy"],
        "claim": dict(FULL["claim"]),  # type: ignore[call-overload]
    }
    for key in dotted:
        parts = key.split(".")
        node = data
        for p in parts[:-1]:
            node = node[p]  # type: ignore[assignment]
        del node[parts[-1]]
    return data


@pytest.mark.parametrize("missing", ["replicas", "rolloutStrategy", "claim.size", "claim.storageClass"])
@pytest.mark.parametrize("target", [Target.OCP4, Target.OCP3])
def test_a_missing_required_key_is_named(missing: str, target: Target) -> None:
    vals = Values("mine", _without(missing), {"claim": "mine.yaml:3"})
    _, problems = rules.check(vals, target)
    assert [p.key for p in problems] == [missing]
    assert "required" in problems[0].message
    assert problems[0].origin == ("mine.yaml:3" if missing.startswith("claim.") else "profile mine")
    with pytest.raises(ValidationFailed, match=missing.replace(".", r"\.")):
        render.render(vals, target)


def test_a_full_set_renders() -> None:
    vals = Values("mine", _without(), {})
    _, problems = rules.check(vals, Target.OCP4)
    assert problems == []


def test_s3_needs_no_claim_keys() -> None:
    vals = Values("mine", {"replicas": 2, "rolloutStrategy": "RollingUpdate", "s3": {}}, {})
    _, problems = rules.check(vals, Target.OCP4)
    assert problems == []
