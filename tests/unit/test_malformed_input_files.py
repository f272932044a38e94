"""Malformed input files are expected errors (exit 3, naming the file), never "unexpected" (exit 1).

These tests write small files to ``tmp_path``: reading a bad file is exactly what is under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regplan.base.errors import ExitCode, InvalidInput
from regplan.core import values
from regplan.engine import snapshot


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_values_file_not_utf8_is_invalid_input_naming_the_file(tmp_path: Path) -> None:
    f = _write(tmp_path / "v.yaml", b"replicas: 1\n\xff\xfe\n")
    with pytest.raises(InvalidInput, match=r"v\.yaml.*UTF-8") as err:
        values.load_values("ebs-gp2-rwo", files=[f], sets=[], profiles_dir=None, environ={})
    assert err.value.exit_code is ExitCode.INVALID


def test_user_profile_not_utf8_is_invalid_input_naming_the_file(tmp_path: Path) -> None:
    _write(tmp_path / "mine.yaml", b"description: \xff\n")
    with pytest.raises(InvalidInput, match=r"mine\.yaml.*UTF-8"):
        values.load_values("mine", files=[], sets=[], profiles_dir=tmp_path, environ={})


def test_secret_source_file_not_utf8_is_a_problem_without_its_bytes(tmp_path: Path) -> None:
    key = _write(tmp_path / "key", b"\xff\xfeSECRETBYTES")
    vals = values.load_values(
        "aws-s3",
        files=[],
        sets=[
            "s3.bucket=review-bucket",
            "s3.region=us-east-1",
            "s3.accessKeyFrom=env:AK",
            f"s3.secretKeyFrom=file:{key}",
        ],
        profiles_dir=None,
        environ={"AK": "AKIAREVIEW"},
    )
    problems = " ".join(str(d) for d in vals.problems)
    assert str(key) in problems and "UTF-8" in problems
    assert "SECRETBYTES" not in problems and "0xff" not in problems


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe", r"snap\.yaml.*UTF-8"),
        (b"kind: List\nitems: 5\n", r"snap\.yaml: document 1: items"),
        (b"apiVersion: v1\nkind: Secret\nmetadata: 5\n", r"snap\.yaml: document 1, item 0: not a Kubernetes"),
        (
            b"apiVersion: v1\nkind: Secret\nmetadata: {name: [a]}\n",
            r"snap\.yaml: document 1, item 0: not a Kubernetes",
        ),
        (
            b"apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: [x]}\n",
            r"snap\.yaml: document 1, item 0: not a Kubernetes",
        ),
    ],
)
def test_malformed_snapshot_is_invalid_input(tmp_path: Path, content: bytes, expected: str) -> None:
    f = _write(tmp_path / "snap.yaml", content)
    with pytest.raises(InvalidInput, match=expected):
        snapshot.read_objects(f)


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\nspec: {volumes: 5}\n",
            "spec.volumes: expected a list",
        ),
        (
            "apiVersion: imageregistry.operator.openshift.io/v1\nkind: Config\nmetadata: {name: cluster}\n"
            "spec: [1]\n",
            "spec: expected a mapping",
        ),
        (
            "apiVersion: imageregistry.operator.openshift.io/v1\nkind: Config\nmetadata: {name: cluster}\n"
            "status: {conditions: [{type: A}, x]}\n",
            "status.conditions[1]: expected a mapping",
        ),
        (
            "apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\n"
            "metadata: {name: d, namespace: default}\n"
            "spec: {template: {spec: {containers: [{name: registry, env: [{name: A}, null]}]}}}\n",
            "spec.template.spec.containers[0].env[1]: expected a mapping",
        ),
    ],
)
def test_snapshot_field_of_the_wrong_type_is_named(tmp_path: Path, yaml_text: str, field: str) -> None:
    f = _write(tmp_path / "snap.yaml", yaml_text.encode())
    with pytest.raises(InvalidInput, match=r"snap\.yaml: document 1, item 0 \(") as err:
        snapshot.read_objects(f)
    assert field in str(err.value)


def test_real_snapshots_pass_the_shape_checks() -> None:
    root = Path(__file__).resolve().parents[2]
    files = [
        *(root / "examples" / "snapshots").glob("*.yaml"),
        *(root / "tests" / "scenarios").glob("*/live.yaml"),
    ]
    assert len(files) > 10
    for f in files:
        assert snapshot.read_objects(f)
