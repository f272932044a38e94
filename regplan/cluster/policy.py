"""What regplan may send to the apiserver: resource paths, and the per-kind write policy (one table).

Pure (no I/O, no ``kubernetes``). ``WRITE_POLICY`` is the adapter's last line of defence: whatever a plan
(or a hand-edited plan file) asks for, a write whose kind, verb or patch type is not in its row is refused
before any request; in particular ``Config/cluster`` and the ``DeploymentConfig`` are never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from regplan.base.errors import DestructiveRefused, InvalidInput
from regplan.base.escape import quoted
from regplan.base.model import PatchType, Ref, Verb, Write

# (apiVersion, kind) -> (plural, namespaced). Only the kinds regplan reads or writes.
RESOURCES: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "Event"): ("events", True),
    ("v1", "Pod"): ("pods", True),
    ("storage.k8s.io/v1", "StorageClass"): ("storageclasses", False),
    ("coordination.k8s.io/v1", "Lease"): ("leases", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("imageregistry.operator.openshift.io/v1", "Config"): ("configs", False),
    ("apps.openshift.io/v1", "DeploymentConfig"): ("deploymentconfigs", True),
}

PATCH_CONTENT_TYPES: dict[PatchType, str] = {
    PatchType.JSON: "application/json-patch+json",
    PatchType.MERGE: "application/merge-patch+json",
}

VERB_METHOD: dict[Verb, str] = {
    Verb.CREATE: "POST",
    Verb.UPDATE: "PUT",
    Verb.PATCH: "PATCH",
    Verb.DELETE: "DELETE",
}


@dataclass(frozen=True)
class KindPolicy:
    """How regplan may write one kind. ``patch`` is the one patch type it uses for that kind (None: never
    patched); ``deletable`` False means no DELETE, whatever a plan says; ``secret`` marks bodies whose
    values must be redacted from any error the server echoes."""

    verbs: frozenset[Verb]
    patch: PatchType | None
    deletable: bool
    secret: bool
    reason: str


_C, _U, _P, _D = Verb.CREATE, Verb.UPDATE, Verb.PATCH, Verb.DELETE

# One row per kind regplan writes; a kind without a row is never written.
WRITE_POLICY: dict[tuple[str, str], KindPolicy] = {
    ("imageregistry.operator.openshift.io/v1", "Config"): KindPolicy(
        frozenset({_P}),
        PatchType.MERGE,
        deletable=False,
        secret=False,
        reason="the operator's object: only the changed fields are merge-patched; deleting it would "
        "remove the registry",
    ),
    ("apps.openshift.io/v1", "DeploymentConfig"): KindPolicy(
        frozenset({_P}),
        PatchType.JSON,
        deletable=False,
        secret=False,
        reason="the 3.x registry itself: JSON patch addresses its container and volumes by index with a "
        "test op; deleting it would remove the registry",
    ),
    ("v1", "PersistentVolumeClaim"): KindPolicy(
        frozenset({_C, _P, _D}),
        PatchType.MERGE,
        deletable=True,
        secret=False,
        reason="regplan's claim: created, grown by merge patch, replaced (delete + create) with "
        "--allow-replace",
    ),
    ("v1", "Secret"): KindPolicy(
        frozenset({_C, _U, _D}),
        None,
        deletable=True,
        secret=True,
        reason="regplan's credentials: written whole (PUT with resourceVersion), never patched key by key",
    ),
    ("coordination.k8s.io/v1", "Lease"): KindPolicy(
        frozenset({_C, _U, _D}),
        None,
        deletable=True,
        secret=False,
        reason="the apply lock: created, renewed by PUT with resourceVersion, deleted on release",
    ),
}


def check_write(write: Write) -> KindPolicy:
    """The row for ``write``, or the refusal: never delete what is not deletable (exit 6), never send a
    verb or patch type the kind's row does not list (exit 3)."""
    ref = write.ref
    policy = WRITE_POLICY.get((ref.api_version, ref.kind))
    if policy is None:
        raise InvalidInput(f"regplan never writes {ref.kind} objects; refusing to {write.verb} {ref}")
    if write.verb is Verb.DELETE and not policy.deletable:
        raise DestructiveRefused(f"regplan never deletes {ref}: {policy.reason}")
    if write.verb not in policy.verbs:
        raise InvalidInput(f"regplan does not {write.verb} {ref.kind} objects ({policy.reason}): {ref}")
    if write.verb is Verb.PATCH:
        wanted = write.patch_type or policy.patch
        if wanted is not policy.patch:
            raise InvalidInput(
                f"regplan patches {ref.kind} objects with a {policy.patch} patch only, not {wanted}: {ref}"
            )
    return policy


def content_type(write: Write, policy: KindPolicy) -> str:
    if write.verb is Verb.PATCH:
        return PATCH_CONTENT_TYPES[write.patch_type or policy.patch or PatchType.MERGE]
    return "application/json"


def resource_path(api_version: str, kind: str, namespace: str = "", name: str = "") -> str:
    """The URL path of an object (or of its collection when ``name`` is empty)."""
    try:
        plural, namespaced = RESOURCES[(api_version, kind)]
    except KeyError:
        raise InvalidInput(f"regplan does not know the API resource for {api_version} {kind}") from None
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespaced:
        if not namespace:
            raise InvalidInput(f"{kind} {quoted(name)} needs a namespace")
        base += f"/namespaces/{quote(namespace, safe='')}"
    path = f"{base}/{plural}"
    return f"{path}/{quote(name, safe='')}" if name else path


def ref_path(ref: Ref) -> str:
    return resource_path(ref.api_version, ref.kind, ref.namespace, ref.name)


def describe(api_version: str, kind: str, namespace: str, name: str) -> str:
    """``configs.imageregistry.operator.openshift.io "cluster" (cluster-scoped)`` style, for messages."""
    plural = RESOURCES.get((api_version, kind), (kind.lower() + "s", bool(namespace)))[0]
    group = api_version.rpartition("/")[0]
    resource = f"{plural}.{group}" if group else plural
    what = f'{resource} "{name}"' if name else resource
    return f"{what} in namespace {namespace}" if namespace else f"{what} (cluster-scoped)"


def with_precondition(write: Write, *, dry_run: bool = False) -> Any:
    """The body as sent: updates carry ``metadata.resourceVersion`` so the server checks it.

    A DELETE carries DeleteOptions in its body; the apiserver then reads ``dryRun`` from that body and
    ignores the query parameter, so a dry-run delete must say so in the body (else it really deletes).
    """
    if write.verb is Verb.UPDATE and isinstance(write.body, dict) and write.resource_version:
        body = dict(write.body)
        meta = dict(body.get("metadata") or {})
        meta.setdefault("resourceVersion", write.resource_version)
        body["metadata"] = meta
        return body
    if write.verb is Verb.DELETE:
        pre: dict[str, str] = {}
        if write.uid:
            pre["uid"] = write.uid
        if write.resource_version:
            pre["resourceVersion"] = write.resource_version
        body_del: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
        }
        if pre:
            body_del["preconditions"] = pre
        if dry_run:
            body_del["dryRun"] = ["All"]
        return body_del
    return write.body
