"""``render -o inventory``: the openshift-ansible (3.10/3.11) inventory lines equivalent to a profile.

Many 3.x clusters set registry storage through inventory variables and a playbook rather than ``oc``. This
module turns validated values into that route: ``[OSEv3:vars]`` lines, the ``[glusterfs_registry]`` group
skeleton where GlusterFS needs it, the playbook to run, and the warnings the route calls for. The facts
(variable names, defaults, which kind mounts a claim) are from openshift-ansible release-3.11 and are
summarised with their sources in docs/domain.md ("The openshift-ansible inventory route"):

- a claim on a named StorageClass: no ``..._storage_class`` variable exists; the kind that creates a claim
  with ``openshift_hosted_registry_storage_storageclass`` and mounts it without creating a PV is ``vsphere``
  (nothing in the role is vSphere-specific; not available in 3.9);
- GlusterFS: kind ``glusterfs`` with the ``[glusterfs_registry]`` hosts, sizes in whole ``Gi``;
- S3: kind ``object`` with provider ``s3``; keys are never written here (instance role, or a vault
  reference the user fills in).

Which playbook creates what (release-3.11, docs/domain.md): ``playbooks/openshift-hosted/config.yml`` runs
the openshift_persistent_volumes role (``private/create_persistent_volumes.yml``), which creates the PV/PVC
of the claim kinds, before it deploys the registry; ``playbooks/openshift-hosted/deploy_registry.yml``
(re)deploys the registry only and creates no claim (right for S3); GlusterFS has its own playbook. The
output names the playbook and says what it creates.

Every value goes through ``escape.ini_value`` (one line, no Jinja2 markers, reads back exactly) and every
comment through ``escape.comment``: no value can add a section, a key or a template.

Pure: values in, text out. Secrets never appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from regplan.base import escape
from regplan.base.errors import InvalidInput
from regplan.base.model import Target, parse_quantity
from regplan.core.render import Rendered
from regplan.core.rules import backend_of
from regplan.core.values import lookup

PREFIX = "openshift_hosted_registry"
PLAYBOOK_DEPLOY = "playbooks/openshift-hosted/deploy_registry.yml"
PLAYBOOK_HOSTED = "playbooks/openshift-hosted/config.yml"
PLAYBOOK_GLUSTERFS = "playbooks/openshift-glusterfs/registry.yml"
# What each playbook creates, in the output under the command (release-3.11; docs/domain.md).
PLAYBOOK_DOES: dict[str, str] = {
    PLAYBOOK_DEPLOY: (
        "(re)deploys the registry with this storage; it creates no PV or PVC (none is needed for S3)"
    ),
    PLAYBOOK_HOSTED: (
        "creates the PV/PVC from the openshift_hosted_registry_storage_* variables (the\n"
        "openshift_persistent_volumes role, via private/create_persistent_volumes.yml), then deploys the\n"
        "registry mounting the claim. It runs every hosted component: the router is re-run too.\n"
        f"{PLAYBOOK_DEPLOY} alone would NOT create the claim (the registry would stay\n"
        "Pending): use it only once the claim exists (e.g. `oc apply` of the PersistentVolumeClaim that\n"
        "`regplan render --target ocp3` prints, named as below)"
    ),
    PLAYBOOK_GLUSTERFS: (
        "creates the GlusterFS volume on the [glusterfs_registry] nodes and the claim\n"
        "registry-glusterfs-claim, and with swap=True repoints the running registry to it"
    ),
}
CLAIM_SUFFIX = "-claim"  # the role names the claim <volume_name>-claim
_GI = Decimal(1024**3)


def _size_gi(size: str) -> str | None:
    """A quantity as whole ``Gi`` (what the GlusterFS route requires), or None when it is not whole."""
    number = parse_quantity(size)
    if number is None:
        return None
    gi = number / _GI
    return f"{int(gi)}Gi" if gi == gi.to_integral_value() and gi > 0 else None


def for_rendered(rendered: Rendered, *, inputs: Sequence[str] = ()) -> str:
    """The inventory lines of a rendered (so validated) profile; ``inputs``: the ``-f``/``--set`` words
    (``normalize.input_words``) named in the header."""
    data = rendered.values.data
    return render_inventory(
        target=rendered.target, profile=rendered.profile, data=data, backend=backend_of(data), inputs=inputs
    )


def render_inventory(
    *, target: Target, profile: str, data: dict[str, Any], backend: str | None, inputs: Sequence[str] = ()
) -> str:
    """The inventory text for validated ``data`` of ``profile`` (InvalidInput on 4.x or an unusable value)."""
    if target is not Target.OCP3:
        raise InvalidInput(
            "-o inventory is for OpenShift 3.x (openshift-ansible); on OpenShift 4 the operator's Config is "
            "the interface: use --target ocp3, or -o yaml / -o oc for 4.x"
        )
    lines: list[str] = []
    warnings: list[str] = []
    groups: list[str] = []
    replicas = lookup(data, "replicas")
    var: dict[str, object] = {}
    if replicas is not None:
        var[f"{PREFIX}_replicas"] = replicas
    if backend == "s3":
        playbook = PLAYBOOK_DEPLOY
        _s3(data, var, warnings)
    else:
        playbook = _claim(data, var, warnings, groups, glusterfs_profile=profile == "glusterfs")
    threads = lookup(data, "registry.maxThreads")
    if threads is not None and backend != "s3":
        # There is no maxthreads variable: the registry's env is the only hook.
        var[f"{PREFIX}_env_vars"] = {"REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS": str(threads)}
    if lookup(data, "rolloutStrategy") == "Recreate":
        warnings.append(
            "the Recreate rollout has no inventory variable: after the playbook, run\n"
            '    oc -n default patch dc/docker-registry -p \'{"spec":{"strategy":{"type":"Recreate"}}}\''
        )
    words = ["regplan", "render", "-p", profile, "--target", "ocp3", "-o", "inventory", *inputs]
    lines.append("# " + escape.shell_words(words))
    lines.append("# openshift-ansible 3.10/3.11: add these lines to your inventory, then run")
    lines.append(f"#   ansible-playbook -i <inventory> {playbook}")
    first, *rest = PLAYBOOK_DOES[playbook].split("\n")
    lines.append(f"# which {first}")
    lines.extend(f"# {r}" for r in rest)
    if warnings:
        lines.append("#")
        lines.append("# WARNINGS")
        for w in warnings:
            first, *rest = w.split("\n")
            lines.append(f"# - {first}")
            lines.extend(f"#   {r}" for r in rest)
    lines = [escape.comment(line) for line in lines]
    lines.append("")
    if groups:
        lines.append("[OSEv3:children]")
        lines.extend(groups)
        lines.append("")
    lines.append("[OSEv3:vars]")
    lines.extend(f"{k}={escape.ini_value(v, key=k)}" for k, v in var.items())
    if "glusterfs_registry" in groups:
        lines += [
            "",
            "[glusterfs_registry]",
            "# One line per GlusterFS node of the registry's storage, with its raw, empty block devices:",
            "# node1.example.com glusterfs_devices='[\"/dev/vdb\"]'",
            "# node2.example.com glusterfs_devices='[\"/dev/vdb\"]'",
            "# node3.example.com glusterfs_devices='[\"/dev/vdb\"]'",
        ]
    return "\n".join(lines) + "\n"


def _claim(
    data: dict[str, Any],
    var: dict[str, object],
    warnings: list[str],
    groups: list[str],
    *,
    glusterfs_profile: bool,
) -> str:
    """Claim-backed profiles: GlusterFS's own kind, else the kind that mounts a claim of a named class."""
    name = str(lookup(data, "claim.name") or "registry-claim")
    size = str(lookup(data, "claim.size") or "")
    storage_class = lookup(data, "claim.storageClass")
    mode = str(lookup(data, "claim.accessMode") or "ReadWriteMany")
    volume = name[: -len(CLAIM_SUFFIX)] if name.endswith(CLAIM_SUFFIX) else name
    glusterfs = glusterfs_profile or "gluster" in str(storage_class or "")
    if glusterfs:
        gi = _size_gi(size)
        if gi is None:
            raise InvalidInput(
                f"claim.size {size}: the GlusterFS inventory route takes whole Gi (e.g. 100Gi)"
            )
        var[f"{PREFIX}_storage_kind"] = "glusterfs"
        var[f"{PREFIX}_storage_volume_size"] = gi
        var[f"{PREFIX}_storage_glusterfs_swap"] = True
        var[f"{PREFIX}_storage_glusterfs_swapcopy"] = True
        groups.append("glusterfs_registry")
        warnings.append(
            "GlusterFS: the playbook creates the volume and claim registry-glusterfs-claim, not "
            f"{name};\nwith swap=True it repoints the running registry to it and swapcopy=True copies the "
            "images\nwith `oc rsync` while the registry is read-only"
        )
    else:
        var[f"{PREFIX}_storage_kind"] = "vsphere"
        var[f"{PREFIX}_storage_storageclass"] = str(storage_class or "")
        var[f"{PREFIX}_storage_volume_name"] = volume
        var[f"{PREFIX}_storage_volume_size"] = size
        warnings.append(
            "kind vsphere is the route that creates a claim of a named StorageClass and mounts it\n"
            "(nothing in it is vSphere-specific); it does not exist in 3.9"
        )
        if not name.endswith(CLAIM_SUFFIX):
            warnings.append(
                f"the role names the claim {volume}{CLAIM_SUFFIX} (volume_name + '-claim'), not {name}"
            )
    var[f"{PREFIX}_storage_access_modes"] = [mode]
    warnings.append(
        "the PV/PVC are created with `oc create` and 'already exists' is accepted: a changed size, class\n"
        "or access mode has NO effect on a re-run (only the first creation counts)"
    )
    if mode == "ReadWriteOnce":
        warnings.append("ReadWriteOnce: the registry must run with exactly 1 replica (replicas=1)")
    return PLAYBOOK_GLUSTERFS if glusterfs else PLAYBOOK_HOSTED


def _s3(data: dict[str, Any], var: dict[str, object], warnings: list[str]) -> None:
    var[f"{PREFIX}_storage_kind"] = "object"
    var[f"{PREFIX}_storage_provider"] = "s3"
    for key, name in (("bucket", "bucket"), ("region", "region"), ("regionEndpoint", "regionendpoint"),
                      ("keyID", "kmskeyid")):  # fmt: skip
        value = lookup(data, f"s3.{key}")
        if value not in (None, ""):
            var[f"{PREFIX}_storage_s3_{name}"] = str(value)
    encrypt = lookup(data, "s3.encrypt")
    if encrypt is not None:
        var[f"{PREFIX}_storage_s3_encrypt"] = "true" if encrypt else "false"
    chunk = lookup(data, "s3.chunkSizeMiB")
    if chunk is not None:
        var[f"{PREFIX}_storage_s3_chunksize"] = int(chunk) * 1024 * 1024  # bytes
    keys = lookup(data, "s3.accessKeyFrom") is not None or lookup(data, "s3.secretKeyFrom") is not None
    if keys:
        warnings.append(
            "S3 keys are not written here (an inventory holds them in plain text): put them in an\n"
            "ansible-vault file and add\n"
            f'    {PREFIX}_storage_s3_accesskey="{{{{ vault_registry_s3_accesskey }}}}"\n'
            f'    {PREFIX}_storage_s3_secretkey="{{{{ vault_registry_s3_secretkey }}}}"'
        )
    else:
        warnings.append("no S3 keys: the registry uses the nodes' instance role (IAM) for the bucket")
