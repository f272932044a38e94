"""Every example values file under examples/values/ is valid for its profile (the README uses them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regplan.base.model import Target
from regplan.core import render, values

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "values").glob("*.yaml"))
ENV = {"AWS_ACCESS_KEY_ID": "example-access-key", "AWS_SECRET_ACCESS_KEY": "example-secret-key"}


def test_one_example_per_builtin_profile() -> None:
    names = {name for name, _ in values.list_profiles(profiles_dir=None)}
    assert {p.stem for p in EXAMPLES} == names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_renders_for_the_targets_it_names(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    targets = [Target.OCP3] if "--target ocp3" in text else [Target.OCP4, Target.OCP3]
    for target in targets:
        vals = values.load_values(path.stem, files=[path], sets=[], profiles_dir=None, environ=ENV)
        assert render.render(vals, target).objects
