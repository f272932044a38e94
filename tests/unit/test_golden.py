"""Golden files: the tree matches what regplan renders, and every golden manifest is valid against the real
schemas (Kubernetes JSON schemas via kubernetes-validate, strict; the Config CRD; the DeploymentConfig)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from regplan.base.errors import ExitCode
from tools import golden, scenarios

ROOT = Path(__file__).resolve().parents[2]
# The Config CRD and the DeploymentConfig definitions come from the openshift/api Go module that
# hack/build-testbin.sh fetches, copied into the testbin cache: no file outside the clone is read.
TESTBIN = Path(os.environ.get("REGPLAN_TESTBIN") or Path.home() / ".cache/regplan/testbin") / "current"
CONFIG_CRD = TESTBIN / "crds" / "00_configs.crd.yaml"
DC_DEFINITIONS = TESTBIN / "openapi" / "apps.openshift.io_v1.definitions.json"
NEEDS_TESTBIN = "not in the testbin cache ({}); build it with `make testbin` (hack/build-testbin.sh)"
GOLDEN_YAML = sorted((ROOT / "golden" / "render").rglob("*.yaml"))
K8S_VERSION = kubernetes_validate.latest_version()


def test_golden_render_set_is_current() -> None:
    # `make golden` checks every registered set; each set has its own test (this is render's).
    result = golden.run(root=ROOT, update=False, only="render")
    assert result.code is ExitCode.OK, result.report[-3000:]


def test_make_golden_command_checks_every_set_and_is_not_in_the_package() -> None:
    # `make golden` = `python -m tools.golden --check`: project tooling, run from the repository root
    p = subprocess.run(
        [sys.executable, "-m", "tools.golden", "--check", "--only", "render"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    bad = subprocess.run(
        [sys.executable, "-m", "tools.golden", "--check", "--root", "/nonexistent"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 3 and "not the project root" in bad.stderr and "Traceback" not in bad.stderr
    assert importlib.util.find_spec("regplan.golden") is None
    assert importlib.util.find_spec("regplan.scenarios") is None


def test_every_profile_and_target_has_default_and_a_fixture() -> None:
    for profile in sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml")):
        for target in ("ocp4", "ocp3"):
            d = ROOT / "golden" / "render" / profile / target
            assert list(d.glob("default.*")), d
            assert len({p.name.split(".")[0] for p in d.iterdir()}) >= 2, d


def test_check_reports_changed_missing_and_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def _demo(root: Path) -> Iterator[tuple[str, str]]:
        yield "demo/a.txt", "one\ntwo\n"
        yield "demo/b.txt", "new\n"

    monkeypatch.setattr(golden, "PRODUCERS", [golden.Producer("demo", _demo)])

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "golden" / "demo").mkdir(parents=True)
    (tmp_path / "golden" / "demo" / "a.txt").write_text("one\nTWO\n")
    (tmp_path / "golden" / "demo" / "old.txt").write_text("gone\n")
    (tmp_path / "golden" / "other").mkdir()
    (tmp_path / "golden" / "other" / "x.txt").write_text("not owned by demo\n")
    result = golden.run(root=tmp_path, update=False)
    assert result.code is ExitCode.CHANGES
    assert "-TWO\n+two\n" in result.report and "+++ b/golden/demo/b.txt" in result.report
    assert "--- a/golden/demo/old.txt" in result.report and "other/x.txt" not in result.report
    assert golden.run(root=tmp_path, update=True).code is ExitCode.OK
    assert golden.run(root=tmp_path, update=False).code is ExitCode.OK
    assert not (tmp_path / "golden" / "demo" / "old.txt").exists()
    assert (tmp_path / "golden" / "other" / "x.txt").exists()


def _docs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in GOLDEN_YAML:
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            yield f"{path.relative_to(ROOT)}#{i}", doc


DOCS = list(_docs())


def _drop_nulls(node: Any) -> Any:
    """``null`` means "remove this key" (merge-patch semantics): not a value the schema types."""
    if isinstance(node, dict):
        return {k: _drop_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_nulls(v) for v in node]
    return node


def test_golden_has_all_kinds() -> None:
    assert {d["kind"] for _, d in DOCS} == {"Secret", "PersistentVolumeClaim", "Config", "DeploymentConfig"}


@pytest.mark.parametrize(
    ("where", "doc"),
    [(w, d) for w, d in DOCS if d["apiVersion"] == "v1"],
    ids=[w for w, d in DOCS if d["apiVersion"] == "v1"],
)
def test_core_objects_valid_against_kubernetes_schema(where: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def _crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CONFIG_CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _strict(schema: Any) -> Any:
    """additionalProperties: false wherever the CRD lists properties, so a misspelt field fails."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@pytest.mark.skipif(not CONFIG_CRD.is_file(), reason=NEEDS_TESTBIN.format(CONFIG_CRD))
def test_config_valid_against_crd() -> None:
    schema = _strict(_crd_schema())
    configs = [(w, d) for w, d in DOCS if d["kind"] == "Config"]
    assert configs
    for where, doc in configs:
        jsonschema.validate(_drop_nulls(doc), schema)
        storage = doc["spec"]["storage"]
        assert sorted(k for k in storage if k != "managementState") == sorted(
            schema["properties"]["spec"]["properties"]["storage"]["properties"].keys() - {"managementState"}
        ), where  # every backend the CRD knows is present: set, or null to remove it


@pytest.mark.skipif(not CONFIG_CRD.is_file(), reason=NEEDS_TESTBIN.format(CONFIG_CRD))
def test_config_schema_check_would_fail() -> None:
    bad = {
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": "c"},
        "spec": {"replicas": 1, "storage": {"s3": {"chunkSizeMiB": 1}}},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _strict(_crd_schema()))


@pytest.mark.skipif(not DC_DEFINITIONS.is_file(), reason=NEEDS_TESTBIN.format(DC_DEFINITIONS))
def test_deploymentconfig_valid() -> None:
    defs = json.loads(DC_DEFINITIONS.read_text())["definitions"]
    prefix = "com.github.openshift.api.apps.v1."
    dcs = [(w, d) for w, d in DOCS if d["kind"] == "DeploymentConfig"]
    assert dcs
    for _where, dc in dcs:
        # Top level and spec against the OpenShift definitions (k8s types they reference are not in that
        # file: treated as anything here) ...
        schema = _strict({"$ref": f"#/definitions/{prefix}DeploymentConfig", "definitions": defs})
        schema = json.loads(
            json.dumps(schema).replace('"#/definitions/io.k8s.', '"#/definitions/any.io.k8s.')
        )
        for name in list(json.dumps(defs).split('"#/definitions/io.k8s.')[1:]):
            schema["definitions"]["any.io.k8s." + name.split('"')[0]] = {}
        jsonschema.validate(dc, schema)
        # ... and the pod template against the real PodTemplateSpec, strictly, through a PodTemplate.
        pod_template = {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": "x"},
            "template": dc["spec"]["template"],
        }
        kubernetes_validate.validate(pod_template, K8S_VERSION, strict=True)


@pytest.mark.parametrize(
    "script",
    sorted((ROOT / "golden" / "render").rglob("*.oc.sh")),
    ids=lambda p: str(p.relative_to(ROOT / "golden")),
)
def test_oc_scripts_are_valid_shell_without_secret_values(script: Path) -> None:
    import subprocess

    text = script.read_text()
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    for fake in scenarios.FAKE_ENV.values():
        assert fake not in text  # -o oc references the sources, never the values
