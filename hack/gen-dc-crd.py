#!/usr/bin/env python3
"""Generate the test-only DeploymentConfig CRD from openshift/api's OpenAPI definitions.

DeploymentConfig is served by openshift-apiserver (an aggregated API), not by a CRD, so there is
no upstream CRD manifest. The cluster tests stand it in with a CRD whose schema is derived from
``$REGPLAN_TESTBIN/current/openapi/apps.openshift.io_v1.definitions.json``: the apps/v1 definitions of
openshift/api ``openapi/openapi.json``, extracted by hack/build-testbin.sh from the Go module it fetches.

Conversion choices (why):
- ``com.github.openshift.api.apps.v1.*`` refs are inlined, so every DC-specific field is typed and
  the apiserver prunes/rejects unknown or mistyped DC fields exactly as a schema would.
- core/v1 refs (``PodTemplateSpec``, ``EnvVar``, ``ObjectReference``, ``ResourceRequirements``) are not
  in that file; they become ``type: object`` + ``x-kubernetes-preserve-unknown-fields``. The pod template
  is therefore stored as given (no pruning inside it): regplan patches volumes/env there and reads them
  back, which this preserves exactly. Converting the whole core/v1 schema would add thousands of lines
  for no test value.
- ``IntOrString`` -> ``x-kubernetes-int-or-string``; ``Time`` -> ``string`` (date-time).
- ``default`` is dropped: the real DC API defaults server-side in Go code, not via schema, and schema
  defaults would invent fields regplan's diff would then see.
- ``x-kubernetes-patch-*`` keys are dropped: CRDs do not support strategic merge patch at all (a real
  DC does). regplan's 3.x writes are JSON/merge patch or PUT (DOMAIN.md), which CRDs serve.

Usage: hack/gen-dc-crd.py [DEFINITIONS_JSON] > tests/cluster/manifests/ocp3/00-deploymentconfigs.crd.yaml
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

PREFIX = "#/definitions/"
OPENSHIFT = "com.github.openshift.api.apps.v1."

# core/v1 and meta/v1 types that are not in the definitions file: how each is represented.
EXTERNAL: dict[str, dict[str, Any]] = {
    "io.k8s.api.core.v1.PodTemplateSpec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "io.k8s.api.core.v1.EnvVar": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "io.k8s.api.core.v1.ObjectReference": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "io.k8s.api.core.v1.ResourceRequirements": {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": {"type": "object"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": {"type": "string", "format": "date-time"},
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"x-kubernetes-int-or-string": True},
}
DROP = {"default", "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key"}


def convert(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    if depth > 30:
        raise SystemExit("definitions recurse too deep")
    if isinstance(schema, list):
        return [convert(x, defs, depth + 1) for x in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(PREFIX)
        out = dict(EXTERNAL[name]) if name in EXTERNAL else convert(defs[name], defs, depth + 1)
        # A description next to a $ref describes the field; keep it.
        if "description" in schema:
            out = {"description": schema["description"], **out}
        return out
    return {k: convert(v, defs, depth + 1) for k, v in schema.items() if k not in DROP}


def build(defs: dict[str, Any]) -> dict[str, Any]:
    dc = convert(defs[OPENSHIFT + "DeploymentConfig"], defs)
    dc["properties"]["metadata"] = {"type": "object"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "deploymentconfigs.apps.openshift.io",
            "annotations": {
                "regplan.test/generated-by": "hack/gen-dc-crd.py from openshift/api openapi/openapi.json",
            },
        },
        "spec": {
            "group": "apps.openshift.io",
            "scope": "Namespaced",
            "names": {
                "plural": "deploymentconfigs",
                "singular": "deploymentconfig",
                "kind": "DeploymentConfig",
                "listKind": "DeploymentConfigList",
                "shortNames": ["dc"],
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": dc},
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.replicas",
                            "statusReplicasPath": ".status.replicas",
                        },
                    },
                }
            ],
        },
    }


def main(argv: list[str]) -> int:
    cache = Path(os.environ.get("REGPLAN_TESTBIN") or Path.home() / ".cache/regplan/testbin")
    src = Path(argv[1]) if len(argv) > 1 else cache / "current/openapi/apps.openshift.io_v1.definitions.json"
    defs = json.loads(src.read_text())["definitions"]
    sys.stdout.write("# GENERATED by hack/gen-dc-crd.py; do not edit by hand.\n")
    sys.stdout.write(yaml.safe_dump(build(defs), sort_keys=False, width=100))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
