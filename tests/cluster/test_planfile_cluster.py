"""A hand-edited plan file is refused with exit 3 and zero writes on a real apiserver (issue 8 item 3).

``regplan plan --out`` saves a plan; the test edits it as a hostile or careless user would; ``regplan
apply PLANFILE`` re-derives every write from the recorded values and the live objects it re-reads and
refuses the file before its first write (the audit log counts regplan's writes: none, not even the
Lease). The untouched file then applies, so the refusals are the edits', not the set-up's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import TargetCluster
from test_plan_cluster import prepare

Doc = dict[str, Any]
MISMATCH = "the plan file does not match what regplan plans for these inputs"


def _write(doc: Doc, kind: str) -> Doc:
    return next(w for w in doc["writes"] if w["object"]["kind"] == kind)


def config_removed(doc: Doc, c: TargetCluster) -> None:
    _write(doc, "Config")["body"]["spec"]["managementState"] = "Removed"


def config_without_rv(doc: Doc, c: TargetCluster) -> None:
    del _write(doc, "Config")["body"]["metadata"]["resourceVersion"]


def config_delete_create(doc: Doc, c: TargetCluster) -> None:
    patch = _write(doc, "Config")
    change = next(x for x in doc["changes"] if x["object"]["kind"] == "Config")
    change["action"] = "replace"
    cfg = next(o for o in doc["desired"] if o["kind"] == "Config")
    i = doc["writes"].index(patch)
    doc["writes"][i : i + 1] = [
        dict(patch, verb="delete", patchType=None, body=None, waitGone=True),
        dict(patch, verb="create", patchType=None, body=cfg, resourceVersion=None, uid=None),
    ]


def dc_drops_certificates(doc: Doc, c: TargetCluster) -> None:
    dc = c.admin.get("DeploymentConfig", "docker-registry", c.namespace)
    names = [v["name"] for v in dc["spec"]["template"]["spec"]["volumes"]]
    ops = _write(doc, "DeploymentConfig")["body"]
    ops.append(
        {"op": "remove", "path": f"/spec/template/spec/volumes/{names.index('registry-certificates')}"}
    )


EDITS: list[tuple[str, str, Callable[[Doc, TargetCluster], None], str]] = [
    ("ocp4", "config-managementState-Removed", config_removed, MISMATCH),
    ("ocp4", "config-patch-without-resourceVersion", config_without_rv, MISMATCH),
    ("ocp4", "config-delete-create", config_delete_create, "never deletes"),
    ("ocp3", "dc-json-patch-removes-registry-certificates", dc_drops_certificates, MISMATCH),
]


@pytest.mark.parametrize(
    ("cluster", "edit", "says"),
    [(t, e, s) for t, _, e, s in EDITS],
    ids=[i for _, i, _, _ in EDITS],
    indirect=["cluster"],
)
def test_an_edited_plan_file_is_exit_3_with_zero_writes(
    cluster: TargetCluster,
    tmp_path: Path,
    edit: Callable[[Doc, TargetCluster], None],
    says: str,
) -> None:
    c = cluster
    assert c.audit is not None
    extra = prepare(c, "ebs-gp2-rwo")
    path = tmp_path / "plan.json"
    r = c.run_regplan("plan", "-p", "ebs-gp2-rwo", *extra, "--out", str(path))
    assert r.returncode == 0, r.stderr
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc, c)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc), encoding="utf-8")
    registry = (
        ("Config", "cluster", None)
        if c.target == "ocp4"
        else ("DeploymentConfig", "docker-registry", c.namespace)
    )
    before = json.dumps(c.admin.get(*registry), sort_keys=True)
    mark = c.audit.mark()
    refused = c.run_regplan("apply", str(edited), "--no-wait")
    assert refused.returncode == 3, refused.stderr
    assert says in refused.stderr
    assert c.audit.writes(mark, agent="regplan/") == []  # nothing at all: not even the Lease
    assert json.dumps(c.admin.get(*registry), sort_keys=True) == before
    ok = c.run_regplan("apply", str(path), "--no-wait")  # the untouched file applies
    assert ok.returncode == 0, ok.stderr
