"""Seed a fresh apiserver with the state of an OpenShift cluster of one target (manifests/ocp4, ocp3).

ocp4 gets the real Config CRD (from the openshift/api Go module, via the testbin cache) first; the CRD
must be Established and served before ``Config/cluster`` can be created. Objects carrying a ``status``
get it written through the status subresource (create ignores status on such kinds).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from .kube import KINDS, ApiError, Kube, Obj, path_for

MANIFESTS = Path(__file__).resolve().parent.parent / "manifests"
TARGETS = ("ocp4", "ocp3")
REGISTRY_NAMESPACE = {"ocp4": "openshift-image-registry", "ocp3": "default"}


def load_docs(path: Path) -> list[Obj]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d]


def seed_documents(target: str, config_crd: Path | None) -> list[Obj]:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    docs: list[Obj] = []
    if target == "ocp4":
        if config_crd is None:
            raise ValueError("ocp4 needs the openshift/api Config CRD file")
        docs.extend(load_docs(config_crd))
    for f in sorted((MANIFESTS / target).glob("*.yaml")):
        docs.extend(load_docs(f))
    return docs


def wait_crd_served(kube: Kube, crd: Obj, timeout: float = 30.0) -> None:
    name = crd["metadata"]["name"]

    def established() -> bool:
        cur = kube.get("CustomResourceDefinition", name)
        conds = (cur.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conds)

    kube.wait_for(f"CRD {name} Established", established, timeout)
    spec = crd["spec"]
    version = next(v["name"] for v in spec["versions"] if v.get("served"))
    path = f"/apis/{spec['group']}/{version}/{spec['names']['plural']}"

    def served() -> bool:
        try:
            kube.request("GET", path)
            return True
        except ApiError as e:
            # 404 until discovery has it; 429 "storage is (re)initializing" while its watch cache fills.
            if e.status in (404, 429, 503):
                return False
            raise

    kube.wait_for(f"{path} served", served, timeout)


def create_with_status(kube: Kube, obj: Obj) -> Obj:
    """Create ``obj``; if it has a status, write it through the status subresource too."""
    body = copy.deepcopy(obj)
    status: Any = body.pop("status", None)
    created = kube.create(body)
    if status and obj["kind"] in KINDS:
        created["status"] = status
        md = created["metadata"]
        created = dict(
            kube.request("PUT", path_for(obj["kind"], md["name"], md.get("namespace"), "status"), created)
        )
    return created


def seed(kube: Kube, target: str, config_crd: Path | None) -> None:
    for doc in seed_documents(target, config_crd):
        create_with_status(kube, doc)
        if doc["kind"] == "CustomResourceDefinition":
            wait_crd_served(kube, doc)
