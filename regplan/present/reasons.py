"""Why regplan changes each field: one line per field a plan can touch, shown under the field's change.

A table (rules as data): each row names a kind, a field path pattern (``fnmatch`` over the dotted path the
plan prints, e.g. ``spec.template.spec.containers[registry].env[REGISTRY_STORAGE*]``), optionally the new
value it applies to, and the reason in one line. The first matching row wins, so specific rows come
first. The facts behind the reasons are in docs/domain.md.
"""

from __future__ import annotations

import fnmatch
from typing import Any, NamedTuple


class Reason(NamedTuple):
    kind: str
    path: str  # fnmatch pattern over the printed path
    why: str
    when: Any = None  # only when the new value equals this (None: any value)
    on: str = "set"  # "set": the field is added or changed; "remove": the plan removes it


_DC_CONTAINER = "spec.template.spec.containers[registry]"
_DC_VOLUMES = "spec.template.spec.volumes"

REASONS: tuple[Reason, ...] = (
    # --- 4.x operator Config ---------------------------------------------------------------------------
    Reason("Config", "spec.storage.*", "the operator accepts exactly one storage backend: the old one goes",
           on="remove"),
    Reason("Config", "spec.storage.managementState", "storage you bring stays when the registry is set "
           "Removed (Managed would let the operator delete it)", "Unmanaged"),
    Reason("Config", "spec.storage.managementState", "the operator manages (and may delete) this storage",
           "Managed"),
    Reason("Config", "spec.storage.pvc.claim", "the claim the operator mounts at /registry"),
    Reason("Config", "spec.storage.pvc*", "the registry keeps its images on a claim"),
    Reason("Config", "spec.storage.s3*", "the registry keeps its images in this S3 bucket"),
    Reason("Config", "spec.replicas", "a ReadWriteOnce claim mounts on one node: exactly one registry pod",
           1),
    Reason("Config", "spec.replicas", "registry pods serving pulls and pushes"),
    Reason("Config", "spec.rolloutStrategy", "the old pod releases a ReadWriteOnce claim before the new "
           "one starts", "Recreate"),
    Reason("Config", "spec.rolloutStrategy", "new pods start before old ones stop (shared storage)"),
    Reason("Config", "spec.managementState", "the operator must manage the registry for a change to roll "
           "out"),
    # --- claims ----------------------------------------------------------------------------------------
    Reason("PersistentVolumeClaim", "spec.accessModes", "ReadWriteOnce for a volume one node mounts (EBS, "
           "RBD), ReadWriteMany for shared file storage (CephFS, GlusterFS)"),
    Reason("PersistentVolumeClaim", "spec.resources.requests.storage", "the claim's size"),
    Reason("PersistentVolumeClaim", "spec.storageClassName", "the class whose provisioner creates the "
           "volume"),
    Reason("PersistentVolumeClaim", 'metadata.annotations["imageregistry.openshift.io"]', "the operator "
           "adopts a claim of its default name only with this annotation"),
    Reason("PersistentVolumeClaim", "metadata.labels*", "marks the objects regplan manages"),
    # --- Secrets ---------------------------------------------------------------------------------------
    Reason("Secret", "data.REGISTRY_STORAGE_S3_*", "the S3 keys the operator gives the registry (both or "
           "none)"),
    Reason("Secret", "data*", "a key regplan does not set: replacing the Secret drops it", on="remove"),
    Reason("Secret", 'data["config.yml"]', "the registry's config: one storage driver, auth.openshift kept"),
    Reason("Secret", "metadata.labels*", "marks the objects regplan manages"),
    Reason("Secret", "type", "a plain key/value Secret"),
    # --- 3.x DeploymentConfig --------------------------------------------------------------------------
    Reason("DeploymentConfig", f"{_DC_CONTAINER}.env[REGISTRY_STORAGE*]", "an env var overrides the config "
           "file's storage section (another driver would discard it)", on="remove"),
    Reason("DeploymentConfig", f"{_DC_CONTAINER}.env[REGISTRY_CONFIGURATION_PATH]*", "points the registry "
           "at the config mounted from Secret registry-config"),
    Reason("DeploymentConfig", f"{_DC_CONTAINER}.env[REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS]*", "the "
           "filesystem driver's concurrent operations (default 100, minimum 25)"),
    Reason("DeploymentConfig", f"{_DC_CONTAINER}.volumeMounts[registry-config]*", "where the registry "
           "reads its config"),
    Reason("DeploymentConfig", f"{_DC_CONTAINER}.volumeMounts[registry-storage]*", "where the registry "
           "keeps its images (/registry)"),
    Reason("DeploymentConfig", f"{_DC_VOLUMES}[registry-config]*", "the Secret holding the registry "
           "config"),
    Reason("DeploymentConfig", f"{_DC_VOLUMES}[registry-storage]*", "the old storage behind /registry gives "
           "way to the new", on="remove"),
    Reason("DeploymentConfig", f"{_DC_VOLUMES}[registry-storage]*", "the storage behind /registry"),
    Reason("DeploymentConfig", "spec.replicas", "a ReadWriteOnce claim mounts on one node: exactly one "
           "registry pod", 1),
    Reason("DeploymentConfig", "spec.replicas", "registry pods serving pulls and pushes"),
    Reason("DeploymentConfig", "spec.strategy.*", "the previous strategy's parameters go with it",
           on="remove"),
    Reason("DeploymentConfig", "spec.strategy*", "the old pod releases a ReadWriteOnce claim before the "
           "new one starts", "Recreate"),
    Reason("DeploymentConfig", "spec.strategy*", "how a new configuration rolls out"),
)  # fmt: skip


def reason_for(kind: str, path: str, new: Any = None, *, removed: bool = False) -> str:
    """The one-line reason for setting ``path`` of a ``kind`` object to ``new`` (or removing it), or ""."""
    for row in REASONS:
        if (row.on == "remove") != removed:
            continue
        # `[` starts a character class in fnmatch; in these paths it is a list item's name: literal
        if row.kind != kind or not fnmatch.fnmatchcase(path, row.path.replace("[", "[[]")):
            continue
        if (
            row.when is not None
            and new != row.when
            and not (isinstance(new, dict) and row.when in new.values())
        ):
            continue
        return row.why
    return ""
