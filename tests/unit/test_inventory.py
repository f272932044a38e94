"""`render -o inventory`: the openshift-ansible route for each 3.x profile (goldens hold the whole text)."""

from __future__ import annotations

import pytest

from regplan.base.errors import InvalidInput
from regplan.base.model import Target
from regplan.cli import commands
from regplan.core import render, values
from regplan.present import inventory

ENV = {"AK": "AKIA-INVENTORY-TEST", "SK": "inventory/secret+key"}


def inv(profile: str, *sets: str) -> str:
    vals = values.load_values(profile, files=[], sets=list(sets), profiles_dir=None, environ=ENV)
    return inventory.for_rendered(render.render(vals, Target.OCP3))


def var_lines(text: str) -> dict[str, str]:
    section = text.split("[OSEv3:vars]\n", 1)[1].split("\n\n", 1)[0]
    return dict(line.split("=", 1) for line in section.splitlines() if line and not line.startswith("#"))


P = "openshift_hosted_registry_"


@pytest.mark.parametrize(
    ("profile", "sets", "expected", "playbook"),
    [
        (
            "ebs-gp2-rwo",
            (),
            {P + "storage_kind": "vsphere", P + "storage_storageclass": "gp2", P + "replicas": "1",
             P + "storage_access_modes": "['ReadWriteOnce']", P + "storage_volume_size": "100Gi"},
            "playbooks/openshift-hosted/config.yml",
        ),
        (
            "ebs-gp2-rwo",
            ("claim.name=registry-claim", "registry.maxThreads=200"),
            {P + "storage_volume_name": "registry",
             P + "env_vars": "{'REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS': '200'}"},
            "playbooks/openshift-hosted/config.yml",
        ),
        (
            "cephfs-rwx",
            ("replicas=3",),
            {P + "storage_kind": "vsphere", P + "storage_storageclass": "ocs-storagecluster-cephfs",
             P + "storage_access_modes": "['ReadWriteMany']", P + "replicas": "3"},
            "playbooks/openshift-hosted/config.yml",
        ),
        (
            "glusterfs",
            ("claim.size=1Ti",),
            {P + "storage_kind": "glusterfs", P + "storage_volume_size": "1024Gi",
             P + "storage_glusterfs_swap": "True", P + "storage_glusterfs_swapcopy": "True"},
            "playbooks/openshift-glusterfs/registry.yml",
        ),
        (
            "aws-s3",
            ("s3.bucket=acme-registry", "s3.region=eu-west-1", "s3.encrypt=true", "s3.chunkSizeMiB=10",
             "s3.regionEndpoint=https://s3.example.com"),
            {P + "storage_kind": "object", P + "storage_provider": "s3",
             P + "storage_s3_bucket": "acme-registry", P + "storage_s3_region": "eu-west-1",
             P + "storage_s3_encrypt": "true", P + "storage_s3_chunksize": str(10 * 1024 * 1024),
             P + "storage_s3_regionendpoint": "https://s3.example.com"},
            "playbooks/openshift-hosted/deploy_registry.yml",
        ),
    ],
)  # fmt: skip
def test_variables_and_playbook(
    profile: str, sets: tuple[str, ...], expected: dict[str, str], playbook: str
) -> None:
    text = inv(profile, *sets)
    got = var_lines(text)
    assert {k: got.get(k) for k in expected} == expected
    assert f"ansible-playbook -i <inventory> {playbook}" in text


def test_glusterfs_has_the_group_skeleton_and_only_there() -> None:
    assert "[OSEv3:children]\nglusterfs_registry\n" in inv("glusterfs")
    assert "\n[glusterfs_registry]\n" in inv("glusterfs")
    assert "glusterfs_registry" not in inv("cephfs-rwx")


@pytest.mark.parametrize(
    ("profile", "sets", "warning"),
    [
        ("ebs-gp2-rwo", (), "exactly 1 replica"),
        ("ebs-gp2-rwo", (), "has NO effect on a re-run"),
        ("ebs-gp2-rwo", (), 'dc/docker-registry -p \'{"spec":{"strategy":{"type":"Recreate"}}}\''),
        ("ebs-gp2-rwo", (), "not image-registry-storage"),
        ("cephfs-rwx", (), "it does not exist in 3.9"),
        ("aws-s3", ("s3.bucket=acme-registry", "s3.region=eu-west-1"), "instance role"),
    ],
)
def test_warnings(profile: str, sets: tuple[str, ...], warning: str) -> None:
    assert warning in inv(profile, *sets)


def test_s3_keys_never_appear_only_a_vault_reference() -> None:
    text = inv(
        "aws-s3", "s3.bucket=acme-registry", "s3.region=eu-west-1", "s3.accessKeyFrom=env:AK",
        "s3.secretKeyFrom=env:SK",
    )  # fmt: skip
    for secret in ENV.values():
        assert secret not in text
    assert "vault_registry_s3_secretkey" in text
    assert "storage_s3_accesskey" not in var_lines(text)


def test_glusterfs_size_must_be_whole_gi() -> None:
    with pytest.raises(InvalidInput, match="whole Gi"):
        inv("glusterfs", "claim.size=1500Mi")


def test_refused_on_ocp4_before_reading_anything() -> None:
    opts = commands.RenderOptions(values=commands.ValueOptions(profile="ebs-gp2-rwo"), output="inventory")
    with pytest.raises(InvalidInput, match=r"OpenShift 3\.x"):
        commands.render(opts, reporter=commands.Reporter(out=lambda _: None, err=lambda _: None))
