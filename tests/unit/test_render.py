"""Render: what each target's objects must carry (docs/domain.md), determinism, template errors; no I/O."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from regplan.base.errors import InvalidInput, ValidationFailed
from regplan.base.model import Target
from regplan.core import render, rules, values

ENV = {"AK": "AKFAKE", "SK": "skfake"}
CREDS = ["s3.accessKeyFrom=env:AK", "s3.secretKeyFrom=env:SK"]


def rendered(profile: str, *sets: str, target: Target = Target.OCP4) -> render.Rendered:
    v = values.load_values(profile, files=[], sets=list(sets), profiles_dir=None, environ=ENV)
    return render.render(v, target)


def by_kind(r: render.Rendered) -> dict[str, dict]:  # type: ignore[type-arg]
    return {o["kind"]: o for o in r.objects}


@pytest.mark.parametrize("profile", ["ebs-gp2-rwo", "glusterfs", "cephfs-rwx"])
def test_ocp4_pvc_profiles(profile: str) -> None:
    r = rendered(profile)
    assert [o["kind"] for o in r.objects] == ["PersistentVolumeClaim", "Config"]
    pvc, cfg = r.objects
    assert pvc["metadata"]["namespace"] == "openshift-image-registry"
    assert pvc["metadata"]["annotations"] == {"imageregistry.openshift.io": "true"}
    storage = cfg["spec"]["storage"]
    assert storage["pvc"] == {"claim": pvc["metadata"]["name"]}
    assert {k for k, v in storage.items() if v is None} == set(rules.CONFIG_BACKENDS) - {"pvc"}
    assert storage["managementState"] == "Unmanaged"
    assert "managementState" not in cfg["spec"]  # the operator's, not ours
    assert cfg["metadata"] == {"name": "cluster"}


def test_annotation_only_for_the_operator_claim_name() -> None:
    pvc = by_kind(rendered("glusterfs", "claim.name=registry"))["PersistentVolumeClaim"]
    assert "annotations" not in pvc["metadata"]


def test_ocp4_s3_operator_managed_bucket() -> None:
    r = rendered("aws-s3")
    assert [o["kind"] for o in r.objects] == ["Config"]  # no credentials given: no Secret
    storage = r.objects[0]["spec"]["storage"]
    assert storage["s3"] == {}  # the operator fills bucket and region; plan must not compare them
    assert storage["managementState"] == "Managed" and storage["pvc"] is None


def test_ocp4_s3_with_credentials_secret_first() -> None:
    r = rendered("aws-s3", "s3.bucket=my-bucket", "s3.region=eu-west-1", "s3.encrypt=true", *CREDS)
    secret, cfg = r.objects
    assert secret["metadata"] == {
        "name": "image-registry-private-configuration-user",
        "namespace": "openshift-image-registry",
        "labels": {"app.kubernetes.io/managed-by": "regplan"},
    }
    assert base64.b64decode(secret["data"]["REGISTRY_STORAGE_S3_ACCESSKEY"]).decode() == "AKFAKE"
    assert base64.b64decode(secret["data"]["REGISTRY_STORAGE_S3_SECRETKEY"]).decode() == "skfake"
    assert cfg["spec"]["storage"]["s3"] == {"bucket": "my-bucket", "region": "eu-west-1", "encrypt": True}
    assert cfg["spec"]["storage"]["managementState"] == "Unmanaged"


def _config_yml(r: render.Rendered) -> dict:  # type: ignore[type-arg]
    secret = by_kind(r)["Secret"]
    assert secret["metadata"]["name"] == "registry-config" and secret["metadata"]["namespace"] == "default"
    return yaml.safe_load(base64.b64decode(secret["data"]["config.yml"]))  # type: ignore[no-any-return]


def test_ocp3_pvc_profile() -> None:
    r = rendered("ebs-gp2-rwo", "registry.maxThreads=100", target=Target.OCP3)
    assert [o["kind"] for o in r.objects] == ["Secret", "PersistentVolumeClaim", "DeploymentConfig"]
    cfg = _config_yml(r)
    assert cfg["storage"]["filesystem"] == {"rootdirectory": "/registry", "maxthreads": 100}
    assert [k for k in cfg["storage"] if k not in ("delete", "cache")] == ["filesystem"]
    assert cfg["storage"]["delete"] == {"enabled": True}
    assert cfg["auth"] == {"openshift": {"realm": "openshift"}}
    assert {m: [x["name"] for x in cfg["middleware"][m]] for m in cfg["middleware"]} == {
        "registry": ["openshift"],
        "repository": ["openshift"],
        "storage": ["openshift"],
    }
    dc = by_kind(r)["DeploymentConfig"]
    assert dc["apiVersion"] == "apps.openshift.io/v1" and dc["metadata"]["namespace"] == "default"
    assert dc["spec"]["strategy"] == {"type": "Recreate"} and dc["spec"]["replicas"] == 1
    pod = dc["spec"]["template"]["spec"]
    assert pod["volumes"] == [
        {"name": "registry-storage", "persistentVolumeClaim": {"claimName": "image-registry-storage"}},
        {"name": "registry-config", "secret": {"secretName": "registry-config"}},
    ]
    (container,) = pod["containers"]
    assert container["name"] == "registry"
    assert {m["name"]: m["mountPath"] for m in container["volumeMounts"]} == {
        "registry-storage": "/registry",
        "registry-config": "/etc/registryconfig",
    }
    assert container["env"] == [
        {"name": "REGISTRY_CONFIGURATION_PATH", "value": "/etc/registryconfig/config.yml"},
        {"name": "REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS", "value": "100"},
    ]


def test_ocp3_s3_leaves_the_storage_volume_alone_and_maps_rolling() -> None:
    r = rendered(
        "aws-s3",
        "s3.bucket=my-bucket",
        "s3.region=us-east-1",
        "s3.chunkSizeMiB=10",
        *CREDS,
        target=Target.OCP3,
    )
    assert [o["kind"] for o in r.objects] == ["Secret", "DeploymentConfig"]
    s3 = _config_yml(r)["storage"]["s3"]
    assert s3["accesskey"] == "AKFAKE" and s3["secretkey"] == "skfake"
    assert s3["bucket"] == "my-bucket" and s3["chunksize"] == 10 * 1048576
    dc = by_kind(r)["DeploymentConfig"]
    assert dc["spec"]["strategy"] == {"type": "Rolling"}
    assert [v["name"] for v in dc["spec"]["template"]["spec"]["volumes"]] == ["registry-config"]


def test_render_is_deterministic() -> None:
    from regplan.present import output

    a = output.format_rendered(rendered("cephfs-rwx", "claim.size=0.5Ti"), "yaml")
    b = output.format_rendered(rendered("cephfs-rwx", "claim.size=512Gi"), "yaml")
    assert a == b and "storage: 512Gi" in a


def test_render_runs_the_rules_first() -> None:
    with pytest.raises(ValidationFailed):
        rendered("ebs-gp2-rwo", "replicas=2")


def test_unsupported_target_of_a_user_profile(tmp_path: Path) -> None:
    (tmp_path / "only4.yaml").write_text("extends: glusterfs\ndescription: d\ntargets: [ocp4]\n")
    v = values.load_values("only4", files=[], sets=[], profiles_dir=tmp_path, environ={})
    with pytest.raises(ValidationFailed, match="does not support ocp3"):
        render.render(v, Target.OCP3)


def test_parse_target() -> None:
    assert render.parse_target("ocp3") is Target.OCP3
    with pytest.raises(InvalidInput, match="ocp4, ocp3"):
        render.parse_target("auto")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("apiVersion: v1\nkind: X\n{{ v.nope }}\n", 3, "nope"),
        ("apiVersion: v1\n{% if %}\n", 2, "template error"),
        ("a: 1\n\n\nb: {{ v.replicas | b64 | int(None) + [] }}\n", 4, "template error"),
    ],
)
def test_template_errors_name_template_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int, fragment: str
) -> None:
    (tmp_path / "templates" / "ocp4").mkdir(parents=True)
    (tmp_path / "templates" / "ocp4" / "50-broken.yaml.j2").write_text(text)
    monkeypatch.setattr(render, "builtin_dir", lambda kind: tmp_path / kind)
    with pytest.raises(InvalidInput, match=rf"templates/ocp4/50-broken.yaml.j2:{line}: .*{fragment}"):
        rendered("glusterfs")


def test_sandbox_refuses_unsafe_attribute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "templates" / "ocp4").mkdir(parents=True)
    (tmp_path / "templates" / "ocp4" / "x.yaml.j2").write_text("a: {{ v.__class__.__mro__ }}\n")
    monkeypatch.setattr(render, "builtin_dir", lambda kind: tmp_path / kind)
    with pytest.raises(InvalidInput, match=r"x\.yaml\.j2:1"):
        rendered("glusterfs")


@pytest.mark.parametrize("blank", ["", "\n", "\n\n", " \r\n  \n", " \r"])
def test_a_blank_rendered_template_is_no_document_as_the_loader_says(blank: str) -> None:
    """``_render_one`` skips parsing a template that renders only blanks (an off backend's Secret): exactly
    what the loader answers for that text."""
    from regplan.base import yamlio

    assert yamlio.load_all_safe(blank, "t") == []
    with pytest.raises(InvalidInput, match="cannot start any token"):  # so a tab is left to the loader
        yamlio.load_all_safe(blank + "\t", "t")
