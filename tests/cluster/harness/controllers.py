"""Stand-ins for controllers the test control plane does not run (no provisioner, no operator).

- ``bind_pvc``: what a provisioner does: create a PV matching the claim, pre-bound to it; the real
  PV binder in kube-controller-manager then binds both (phase Bound, spec.volumeName, annotations).
- ``report_condition`` / ``patch_config_status``: what the image-registry operator reports on
  ``Config/cluster`` status; ``report_ready``: its report once a generation is applied and rolled out.
- ``operator_claim``: the claim the operator creates for ``storage.pvc.claim: ""``.
- ``write_stale_spec``: the operator's lost update (it writes back the spec its sync started from).
- ``emit_provisioning_failed``: the Warning event gp2 (EBS) gives a ReadWriteMany claim (docs/domain.md).
- ``emit_external_provisioning``: the Normal event the binder gives a claim whose CSI provisioner has
  not answered yet (kube-controller-manager runs with dynamic provisioning off, see controlplane.py).
- ``grant``: give the ``limited`` user some rights (Role/ClusterRole + binding).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .kube import ApiError, Kube, Obj

EBS_RWX_WHY = "invalid AccessModes [ReadWriteMany]: only AccessModes [ReadWriteOnce] are supported"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bind_pvc(
    kube: Kube, name: str, namespace: str, *, timeout: float = 30.0, capacity: str | None = None
) -> str:
    """Create a PV for claim ``namespace/name`` and wait until the claim is Bound; returns the PV name."""
    pvc = kube.get("PersistentVolumeClaim", name, namespace)
    spec = pvc["spec"]
    cls = spec.get("storageClassName") or ""
    provisioner = ""
    if cls:
        sc = kube.get_or_none("StorageClass", cls)
        provisioner = (sc or {}).get("provisioner", "")
    pv_name = f"pvc-{pvc['metadata']['uid']}"  # the name dynamic provisioners use
    pv: Obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": pv_name,
            "annotations": {"pv.kubernetes.io/provisioned-by": provisioner} if provisioner else {},
        },
        "spec": {
            "capacity": {"storage": capacity or spec["resources"]["requests"]["storage"]},
            "accessModes": spec["accessModes"],
            "storageClassName": cls,
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            # Retain: with Delete the binder would try to delete through a plugin that is not there.
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": f"/tmp/regplan-test-pv/{pv_name}"},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": namespace,
                "name": name,
                "uid": pvc["metadata"]["uid"],
            },
        },
    }
    kube.create(pv)

    def bound() -> bool:
        cur = kube.get("PersistentVolumeClaim", name, namespace)
        return (cur.get("status") or {}).get("phase") == "Bound"

    kube.wait_for(f"PVC {namespace}/{name} Bound to {pv_name}", bound, timeout)
    return pv_name


def patch_config_status(kube: Kube, patch: dict[str, Any]) -> Obj:
    """Merge-patch ``Config/cluster`` status (e.g. ``{"storage": {"pvc": {"claim": "x"}, "s3": None}}``)."""
    return kube.patch("Config", "cluster", {"status": patch}, sub="status")


def report_condition(kube: Kube, type_: str, status: str, reason: str = "", message: str = "") -> Obj:
    """Set one operator condition on ``Config/cluster`` (replacing the one of the same type)."""
    cfg = kube.get("Config", "cluster")
    conds: list[dict[str, Any]] = list((cfg.get("status") or {}).get("conditions") or [])
    old = next((c for c in conds if c.get("type") == type_), None)
    new = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == status else now(),
    }
    conds = [c for c in conds if c.get("type") != type_] + [new]
    cfg.setdefault("status", {})["conditions"] = conds
    return kube.replace(cfg, sub="status")


# What the operator says on Config/cluster once the registry runs what the spec asks (reason, message).
READY = ("Ready", "The registry is ready")
OPERATOR_CLAIM = "image-registry-storage"


def report_ready(kube: Kube, attempts: int = 20) -> Obj:
    """Act as the operator after it applied the Config's current generation and the registry rolled out:
    observedGeneration = generation, status.storage = spec.storage, Available=True and Progressing=False
    (both ``READY``). Retried on 409 (someone wrote the Config between our read and write)."""
    for _ in range(attempts):
        cfg = kube.get("Config", "cluster")
        st = cfg.setdefault("status", {})
        st["observedGeneration"] = cfg["metadata"]["generation"]
        st["storage"] = (cfg.get("spec") or {}).get("storage") or {}
        ts = now()
        conds: list[dict[str, Any]] = list(st.get("conditions") or [])
        for type_, status in (("Available", "True"), ("Progressing", "False")):
            old = next((c for c in conds if c.get("type") == type_), None)
            same = old is not None and old.get("status") == status
            new = {
                "type": type_,
                "status": status,
                "reason": READY[0],
                "message": READY[1],
                "lastTransitionTime": old["lastTransitionTime"] if same and old else ts,
            }
            conds = [c for c in conds if c.get("type") != type_] + [new]
        st["conditions"] = conds
        try:
            return kube.replace(cfg, sub="status")
        except ApiError as e:
            if e.status != 409:
                raise
    raise TimeoutError("report_ready: Config/cluster kept changing")


def operator_claim(
    kube: Kube, namespace: str, *, mode: str = "ReadWriteMany", klass: str | None = None
) -> Obj:
    """Create the claim the operator creates for ``storage.pvc.claim: ""``: ``OPERATOR_CLAIM``, ``mode``,
    100Gi, annotation ``imageregistry.openshift.io: "true"`` and, like the operator, no storage class
    unless ``klass`` is given (the apiserver's DefaultStorageClass admission puts the default one in)."""
    spec: Obj = {"accessModes": [mode], "resources": {"requests": {"storage": "100Gi"}}}
    if klass is not None:
        spec["storageClassName"] = klass
    return kube.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": OPERATOR_CLAIM,
                "namespace": namespace,
                "annotations": {"imageregistry.openshift.io": "true"},
            },
            "spec": spec,
        }
    )


def write_stale_spec(kube: Kube, spec: Obj) -> Obj:
    """The operator's lost update: it writes the Config spec from the snapshot its sync started with
    (``spec``), as an UPDATE carrying the resourceVersion it reads just before, so the apiserver has no
    reason to refuse it and whatever someone wrote in between is gone. Returns the Config written."""
    cfg = kube.get("Config", "cluster")
    cfg["spec"] = spec
    cfg.pop("status", None)
    return kube.replace(cfg)


def emit_event(
    kube: Kube,
    involved: Obj,
    *,
    reason: str,
    message: str,
    type_: str = "Warning",
    component: str = "persistentvolume-controller",
) -> Obj:
    md = involved["metadata"]
    ts = now()
    return kube.create(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{md['name']}.", "namespace": md["namespace"]},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion", "v1"),
                "kind": involved["kind"],
                "namespace": md["namespace"],
                "name": md["name"],
                "uid": md["uid"],
                "resourceVersion": md["resourceVersion"],
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": component},
            "reportingComponent": component,
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
        }
    )


def emit_provisioning_failed(kube: Kube, name: str, namespace: str, *, why: str = EBS_RWX_WHY) -> Obj:
    """The event gp2 gives an RWX claim: ``Failed to provision volume with StorageClass "gp2": ...``."""
    pvc = kube.get("PersistentVolumeClaim", name, namespace)
    pvc.setdefault("kind", "PersistentVolumeClaim")
    cls = pvc["spec"].get("storageClassName") or ""
    return emit_event(
        kube,
        pvc,
        reason="ProvisioningFailed",
        message=f'Failed to provision volume with StorageClass "{cls}": {why}',
    )


def emit_external_provisioning(kube: Kube, name: str, namespace: str) -> Obj:
    """``ExternalProvisioning``: the claim waits for its CSI provisioner (text of pv_controller.go)."""
    pvc = kube.get("PersistentVolumeClaim", name, namespace)
    pvc.setdefault("kind", "PersistentVolumeClaim")
    cls = pvc["spec"].get("storageClassName") or ""
    sc = kube.get_or_none("StorageClass", cls) if cls else None
    provisioner = (sc or {}).get("provisioner", "")
    return emit_event(
        kube,
        pvc,
        reason="ExternalProvisioning",
        type_="Normal",
        message=(
            f"Waiting for a volume to be created either by the external provisioner '{provisioner}' or "
            "manually by the system administrator. If volume creation is delayed, please verify that the "
            "provisioner is running and correctly registered."
        ),
    )


def touch(kube: Kube, kind: str, name: str, namespace: str | None = None) -> Obj:
    """Write the object without changing its content that matters (an annotation): a new
    resourceVersion, as when someone else writes between regplan's read and its write."""
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    return kube.patch(kind, name, {"metadata": {"annotations": {"regplan.test/touched": stamp}}}, namespace)


def grant(
    kube: Kube,
    rules: list[dict[str, Any]],
    *,
    user: str = "limited",
    namespace: str | None = None,
    name: str = "regplan-test-grant",
) -> None:
    """Give ``user`` the RBAC ``rules`` (namespaced Role if ``namespace``, else ClusterRole).
    Removed by the next reset, like everything a test creates."""
    role_kind, binding_kind = ("Role", "RoleBinding") if namespace else ("ClusterRole", "ClusterRoleBinding")
    md: dict[str, Any] = {"name": name}
    if namespace:
        md["namespace"] = namespace
    kube.create(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": role_kind, "metadata": md, "rules": rules}
    )
    kube.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": binding_kind,
            "metadata": dict(md),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
    )
    # The RBAC authorizer reads through an informer: wait until the first rule is in effect, so the
    # test's next request does not race it.
    r = rules[0]
    attrs: dict[str, Any] = {
        "verb": r["verbs"][0],
        "group": r.get("apiGroups", [""])[0],
        "resource": r["resources"][0],
    }
    if namespace:
        attrs["namespace"] = namespace
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": user, "resourceAttributes": attrs},
    }

    def allowed() -> bool:
        res = kube.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        return bool(res.get("status", {}).get("allowed"))

    kube.wait_for(f"RBAC grant {name} for {user}", allowed, 10.0)
