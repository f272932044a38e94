"""Output: YAML/JSON bytes, oc commands, out-dir + kustomization (kubectl kustomize when available)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from regplan.base import yamlio
from regplan.base.errors import InvalidInput
from regplan.base.model import Target
from regplan.core import render, values
from regplan.present import output

ENV = {"AK": "AKIDFAKEFORTEST", "SK": "fake-secret-for-test"}


def rendered(profile: str, *sets: str, target: Target = Target.OCP4) -> render.Rendered:
    v = values.load_values(profile, files=[], sets=list(sets), profiles_dir=None, environ=ENV)
    return render.render(v, target)


def test_yaml_dump_is_canonical_and_yaml11_safe() -> None:
    text = yamlio.dump_all(
        [{"spec": {"b": "yes", "a": "on", "n": None, "e": ""}, "kind": "K", "apiVersion": "v"}]
    )
    assert text == (
        "---\napiVersion: v\nkind: K\nspec:\n  a: 'on'\n  b: 'yes'\n  e: ''\n  'n': null\n"
    )  # even a key: 'n' is false in YAML 1.1


def test_json_is_a_sorted_list() -> None:
    r = rendered("glusterfs")
    doc = json.loads(output.format_rendered(r, "json"))
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    assert [i["kind"] for i in doc["items"]] == ["PersistentVolumeClaim", "Config"]
    assert doc["items"][1]["spec"]["storage"]["s3"] is None


def test_unknown_format() -> None:
    with pytest.raises(InvalidInput):
        output.format_rendered(rendered("glusterfs"), "toml")


def test_oc_ocp4_references_sources_not_values(tmp_path: Path) -> None:
    key = tmp_path / "secret key"
    key.write_text("fake-secret-for-test")
    r = rendered(
        "aws-s3", "s3.bucket=b-1", "s3.region=r", "s3.accessKeyFrom=env:AK", f"s3.secretKeyFrom=file:{key}"
    )
    text = output.format_rendered(r, "oc")
    assert "AKIDFAKEFORTEST" not in text and "fake-secret-for-test" not in text
    assert "--from-literal" not in text  # a literal would be on oc's command line, in `ps`
    assert "regplan_key accessKey env:AK\n" in text
    assert f"regplan_key secretKey 'file:{key}'\n" in text  # shell-quoted: the path has a space
    assert '--from-file=REGISTRY_STORAGE_S3_ACCESSKEY="$keydir/accessKey"' in text
    patch_line = next(line for line in text.splitlines() if line.startswith("oc patch configs"))
    patch = json.loads(patch_line.split("-p ", 1)[1].strip("'"))
    assert patch["spec"]["storage"]["pvc"] is None and patch["spec"]["storage"]["s3"]["bucket"] == "b-1"


def test_oc_ocp3_commands() -> None:
    r = rendered("ebs-gp2-rwo", "claim.name=registry", target=Target.OCP3)
    text = output.format_rendered(r, "oc")
    assert (
        "oc -n default set volume dc/docker-registry --add --name=registry-storage -t pvc "
        "--claim-name=registry -m /registry --overwrite"
    ) in text
    assert (
        "oc -n default set volume dc/docker-registry --add --name=registry-config -t secret "
        "--secret-name=registry-config -m /etc/registryconfig --overwrite"
    ) in text
    assert "REGISTRY_CONFIGURATION_PATH=/etc/registryconfig/config.yml REGISTRY_STORAGE-" in text
    assert "<<'EOF'\nversion: 0.1\n" in text  # no secrets: a quoted heredoc, nothing expands


def test_write_dir_and_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_dir(rendered("ebs-gp2-rwo", "claim.name=old"), out)
    (out / "README.md").write_text("mine")
    written = output.write_dir(rendered("ebs-gp2-rwo"), out)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "01-persistentvolumeclaim-image-registry-storage.yaml",
        "02-config-cluster.yaml",
        "README.md",
        "kustomization.yaml",
    ]
    assert [p.name for p in written][-1] == "kustomization.yaml"
    kust = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kust["resources"] == names[:2]


def _kubectl() -> str | None:
    cached = Path.home() / ".cache/regplan/testbin/tools/kubectl"
    return str(cached) if cached.exists() else shutil.which("kubectl")


@pytest.mark.skipif(_kubectl() is None, reason="kubectl not found")
@pytest.mark.parametrize(("profile", "target"), [("ebs-gp2-rwo", Target.OCP4), ("glusterfs", Target.OCP3)])
def test_kubectl_kustomize_accepts_out_dir(tmp_path: Path, profile: str, target: Target) -> None:
    r = rendered(profile, target=target)
    output.write_dir(r, tmp_path)
    p = subprocess.run(
        [str(_kubectl()), "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr
    assert list(yaml.safe_load_all(p.stdout)) == r.objects  # kustomize keeps the nulls that mean "remove"


def test_write_dir_secret_files_are_private_and_errors_are_invalid_input(tmp_path: Path) -> None:
    r = rendered(
        "aws-s3", "s3.bucket=b-1", "s3.region=r", "s3.accessKeyFrom=env:AK", "s3.secretKeyFrom=env:SK"
    )
    written = output.write_dir(r, tmp_path / "out")
    secret = next(p for p in written if "-secret-" in p.name)
    assert secret.stat().st_mode & 0o777 == 0o600
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidInput, match="not a directory"):
        output.write_dir(r, tmp_path / "file")
    with pytest.raises(InvalidInput, match="--out-dir"):
        output.write_dir(r, tmp_path / "file" / "sub")
