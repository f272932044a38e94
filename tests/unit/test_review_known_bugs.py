"""Review findings in files another engineer owns (cluster.py): visible as strict xfails until fixed.

When the fix lands these start passing and (strict) fail the suite: then drop the xfail mark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regplan.errors import RegplanError


@pytest.mark.xfail(
    strict=True,
    reason="cluster._load_configuration catches only ConfigException: a kubeconfig that is not YAML "
    "(yaml ParserError) or not UTF-8 (UnicodeDecodeError) escapes as 'unexpected error', exit 1",
)
@pytest.mark.parametrize("content", [b"garbage: [\n", b"\xff\xfe"], ids=["not-yaml", "not-utf8"])
def test_unreadable_kubeconfig_is_an_expected_error(tmp_path: Path, content: bytes) -> None:
    from regplan import cluster

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(content)
    with pytest.raises(RegplanError, match="kubeconfig"):
        cluster._load_configuration(str(kubeconfig), None)


@pytest.mark.xfail(
    strict=True,
    reason="workflow.load_plan catches OSError and JSONDecodeError only: a plan file that is not UTF-8 "
    "escapes as 'unexpected error', exit 1 (regplan apply PLANFILE)",
)
def test_plan_file_not_utf8_is_invalid_input(tmp_path: Path) -> None:
    from regplan import workflow
    from regplan.errors import InvalidInput

    planfile = tmp_path / "plan.json"
    planfile.write_bytes(b"\xff\xfe{}")
    with pytest.raises(InvalidInput, match="plan"):
        workflow.load_plan(planfile, environ={})
