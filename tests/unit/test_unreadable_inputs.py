"""Unreadable inputs are expected errors, not exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from regplan.base.errors import RegplanError


@pytest.mark.parametrize("content", [b"garbage: [\n", b"\xff\xfe"], ids=["not-yaml", "not-utf8"])
def test_unreadable_kubeconfig_is_an_expected_error(tmp_path: Path, content: bytes) -> None:
    from regplan import cluster

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(content)
    with pytest.raises(RegplanError, match="kubeconfig"):
        cluster._load_configuration(str(kubeconfig), None)


def test_plan_file_not_utf8_is_invalid_input(tmp_path: Path) -> None:
    from regplan.base.errors import InvalidInput
    from regplan.engine import workflow

    planfile = tmp_path / "plan.json"
    planfile.write_bytes(b"\xff\xfe{}")
    with pytest.raises(InvalidInput, match="plan"):
        workflow.load_plan(planfile, environ={})
