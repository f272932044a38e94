"""A saved plan is re-derived before apply trusts a single write of it (issue 8 item 3).

Each row is a hand edit of a plan file saved from a scenario folder; ``apply PLANFILE`` against a fake
cluster holding that scenario's live objects must refuse it with exit 3 and make no request that
writes (not even the Lease). The untouched file applies. The pure ``verify_writes`` is tested alone too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_apply import MemoryCluster

from regplan.base import yamlio
from regplan.base.errors import ExitCode, InvalidInput, RegplanError
from regplan.base.model import LiveQuery, LiveState, Obj, Ref, Target
from regplan.cli import commands
from regplan.engine import planfile, snapshot, workflow
from regplan.engine.planvalue import Plan
from tools import scenarios

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"

Doc = dict[str, Any]


def _scenario_plan(case: str | Path) -> tuple[Plan, list[Obj]]:
    case_dir = SCENARIOS / case
    spec = yamlio.load_all_safe((case_dir / "case.yaml").read_text(encoding="utf-8"), "case.yaml")[0]
    live = workflow.Live(snapshot=case_dir / "live.yaml", kubeconfig=None, context=None)
    result = workflow.make_plan(
        profile=str(spec["profile"]),
        values_files=[case_dir / f for f in spec.get("values") or []],
        sets=[str(s) for s in spec.get("sets") or []],
        profiles_dir=None,
        target=str(spec.get("target") or "auto"),
        live=live,
        environ=scenarios.FAKE_ENV,
    )
    return result, live.snapshot_objects()


class SnapshotLive:
    """workflow.Live over a scenario's objects: reads answered from them, writes to a MemoryCluster."""

    def __init__(self, objects: list[Obj], target: Target) -> None:
        self.objects, self.tgt = objects, target
        self.cluster = MemoryCluster({Ref.of(o): o for o in objects if o.get("kind") != "Event"})
        self.closed = False

    def target(self, text: str) -> Target:
        return self.tgt

    def read(self, query: LiveQuery) -> LiveState:
        return snapshot.answer(self.objects, query, source="memory")

    def close(self) -> None:
        self.closed = True


def _apply_file(
    monkeypatch: pytest.MonkeyPatch, path: Path, objects: list[Obj], target: Target
) -> tuple[int, SnapshotLive]:
    live = SnapshotLive(objects, target)
    monkeypatch.setattr(workflow, "Live", lambda **_: live)
    out: list[str] = []
    rep = commands.Reporter(out=out.append, err=lambda _m: None)
    try:
        code = int(
            commands.apply(
                commands.ApplyOptions(
                    planfile=path, yes=True, allow_replace=True, wait=False, timeout=5, lock_timeout=1
                ),
                reporter=rep,
                environ=scenarios.FAKE_ENV,
            )
        )
    except RegplanError as err:
        code = int(err.exit_code)
        live.cluster.error = str(err)  # type: ignore[attr-defined]
    assert live.closed
    return code, live


def _write(doc: Doc, kind: str, verb: str | None = None) -> Doc:
    return next(
        w for w in doc["writes"] if w["object"]["kind"] == kind and (verb is None or w["verb"] == verb)
    )


def _change(doc: Doc, kind: str) -> Doc:
    return next(c for c in doc["changes"] if c["object"]["kind"] == kind)


# --- the hand edits -------------------------------------------------------------------------------


def config_removed(doc: Doc) -> None:
    _write(doc, "Config")["body"]["spec"]["managementState"] = "Removed"


def no_precondition(doc: Doc) -> None:
    del _write(doc, "Config")["body"]["metadata"]["resourceVersion"]


def no_precondition_test_op(doc: Doc) -> None:
    ops = _write(doc, "DeploymentConfig")["body"]
    ops[:] = [op for op in ops if op["op"] != "test"]


def dc_drops_certificates(doc: Doc) -> None:
    # the index of the live volume registry-certificates in the scenario's DC
    volumes = [v["name"] for v in DC_VOLUMES]
    index = volumes.index("registry-certificates")
    _write(doc, "DeploymentConfig")["body"].append(
        {"op": "remove", "path": f"/spec/template/spec/volumes/{index}"}
    )


def config_delete_create(doc: Doc) -> None:
    change = _change(doc, "Config")
    change["action"], change["destructive"] = "replace", False
    patch = _write(doc, "Config")
    cfg = next(o for o in doc["desired"] if o["kind"] == "Config")
    create = dict(patch, verb="create", patchType=None, resourceVersion=None, uid=None, body=cfg)
    delete = dict(patch, verb="delete", patchType=None, body=None, waitGone=True)
    i = doc["writes"].index(patch)
    doc["writes"][i : i + 1] = [delete, create]


def pvc_body_changed(doc: Doc) -> None:
    _write(doc, "PersistentVolumeClaim", "create")["body"]["spec"]["accessModes"] = ["ReadWriteMany"]


def pvc_body_and_desired_changed(doc: Doc) -> None:
    # both edited alike: the recorded values no longer render the desired objects
    pvc_body_changed(doc)
    next(o for o in doc["desired"] if o["kind"] == "PersistentVolumeClaim")["spec"]["accessModes"] = [
        "ReadWriteMany"
    ]


def extra_write(doc: Doc) -> None:
    doc["writes"].append(copy.deepcopy(_write(doc, "Config")))


def extra_change_and_write(doc: Doc) -> None:
    # a second claim in the namespace, "created" with the desired claim's body under another name
    write = copy.deepcopy(_write(doc, "PersistentVolumeClaim", "create"))
    write["object"]["name"] = write["body"]["metadata"]["name"] = "someone-elses-claim"
    change = copy.deepcopy(_change(doc, "PersistentVolumeClaim"))
    change["object"]["name"] = "someone-elses-claim"
    doc["writes"].append(write)
    doc["changes"].append(change)


def reordered_writes(doc: Doc) -> None:
    doc["writes"].reverse()


def reordered_changes(doc: Doc) -> None:
    doc["changes"].reverse()
    doc["writes"][:] = [w for c in doc["changes"] for w in doc["writes"] if w["object"] == c["object"]]


def secret_digest_changed(doc: Doc) -> None:
    data = _write(doc, "Secret")["body"]["data"]
    key = sorted(data)[0]
    data[key] = "sha256:" + "0" * 64


def config_patch_dropped(doc: Doc) -> None:
    patch = _write(doc, "Config")
    doc["writes"].remove(patch)
    _change(doc, "Config")["action"] = "no-op"


EDITS: list[tuple[str, str, Callable[[Doc], None], int, str]] = [
    # (id, scenario, edit, exit code, what the message names)
    ("config-managementState-Removed", "ocp4-fresh-ebs-gp2-rwo", config_removed, 3, "spec.managementState"),
    ("config-patch-without-rv", "ocp4-fresh-ebs-gp2-rwo", no_precondition, 3, "metadata.resourceVersion"),
    ("dc-patch-without-test-op", "ocp3-emptydir-ebs-gp2-rwo", no_precondition_test_op, 3, "DeploymentConfig"),
    ("dc-removes-registry-certificates", "ocp3-emptydir-ebs-gp2-rwo", dc_drops_certificates, 3, "body"),
    ("config-delete-create", "ocp4-fresh-ebs-gp2-rwo", config_delete_create, 3, "never deletes"),
    ("pvc-create-body-changed", "ocp4-fresh-ebs-gp2-rwo", pvc_body_changed, 3, "PersistentVolumeClaim"),
    ("pvc-body-and-desired", "ocp4-fresh-ebs-gp2-rwo", pvc_body_and_desired_changed, 5, "no longer renders"),
    ("extra-write", "ocp4-fresh-ebs-gp2-rwo", extra_write, 3, "Config"),
    ("extra-change-and-write", "ocp4-fresh-ebs-gp2-rwo", extra_change_and_write, 3, "someone-elses-claim"),
    ("reordered-writes", "ocp4-pvc-pending-ebs-gp2-rwo", reordered_writes, 3, "order"),
    ("reordered-changes", "ocp4-fresh-ebs-gp2-rwo", reordered_changes, 3, "write 1"),
    ("secret-digest-changed", "ocp4-fresh-aws-s3-own-bucket", secret_digest_changed, 3, "Secret/"),
    ("config-patch-dropped", "ocp4-fresh-ebs-gp2-rwo", config_patch_dropped, 3, "lacks write"),
]

DC_VOLUMES: list[Obj] = []


@pytest.fixture(autouse=True)
def _dc_volumes() -> None:
    if not DC_VOLUMES:
        objs = snapshot.read_objects(SCENARIOS / "ocp3-emptydir-ebs-gp2-rwo" / "live.yaml")
        dc = next(o for o in objs if o["kind"] == "DeploymentConfig")
        DC_VOLUMES.extend(dc["spec"]["template"]["spec"]["volumes"])


@pytest.mark.parametrize(("case", "edit", "code", "names"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_a_hand_edited_plan_file_is_refused_before_any_write(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    case: str,
    edit: Callable[[Doc], None],
    code: int,
    names: str,
) -> None:
    plan, objects = _scenario_plan(case)
    doc = json.loads(plan.dumps())
    before = json.dumps(doc, sort_keys=True)
    edit(doc)
    assert json.dumps(doc, sort_keys=True) != before  # the edit changed something
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    got, live = _apply_file(monkeypatch, path, objects, plan.target)
    message = getattr(live.cluster, "error", "")
    assert (got, live.cluster.log) == (code, []), message
    assert names in message


@pytest.mark.parametrize(
    "case", sorted({e[1] for e in EDITS} | {"ocp3-emptydir-aws-s3", "ocp4-foreign-claim-unmanaged"})
)
def test_an_untouched_plan_file_applies_its_writes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    plan, objects = _scenario_plan(case)
    path = tmp_path / "plan.json"
    planfile.save_plan(plan, path)
    loaded = planfile.load_plan(path, environ=scenarios.FAKE_ENV)
    state = snapshot.answer(objects, planfile.live_query(loaded), source="memory")
    planfile.verify_writes(loaded, planfile.rederive(loaded, state))
    if plan.target is Target.OCP3:
        return  # the memory cluster applies merge patches only; the DC's JSON patch runs in tests/cluster
    got, live = _apply_file(monkeypatch, path, objects, plan.target)
    assert got == ExitCode.OK, getattr(live.cluster, "error", "")
    assert live.cluster.plan_writes() == [(str(w.verb), w.ref) for w in plan.writes]


def test_verify_writes_names_the_first_differing_write_and_path() -> None:
    plan, _ = _scenario_plan("ocp4-fresh-ebs-gp2-rwo")
    edited = planfile.plan_from_json(json.loads(plan.dumps()))
    planfile.verify_writes(edited, plan)  # same writes: passes
    doc = json.loads(plan.dumps())
    config_removed(doc)
    edited = planfile.plan_from_json(doc)
    with pytest.raises(InvalidInput) as err:
        planfile.verify_writes(edited, plan)
    text = str(err.value)
    assert planfile.MISMATCH in text and "write 2 (patch Config/cluster (merge patch))" in text
    assert "body.spec.managementState" in text


def test_a_plan_file_deleting_the_config_or_the_dc_never_loads() -> None:
    for case, kind in (
        ("ocp4-fresh-ebs-gp2-rwo", "Config"),
        ("ocp3-emptydir-ebs-gp2-rwo", "DeploymentConfig"),
    ):
        plan, _ = _scenario_plan(case)
        doc = json.loads(plan.dumps())
        write = _write(doc, kind)
        write.update(verb="delete", body=None, patchType=None, waitGone=True)
        create = dict(write, verb="create", body=next(o for o in doc["desired"] if o["kind"] == kind))
        doc["writes"].insert(doc["writes"].index(write) + 1, create)
        _change(doc, kind)["action"] = "replace"
        with pytest.raises(InvalidInput, match=f"never deletes {kind}"):
            planfile.plan_from_json(doc)


def test_a_secret_update_writes_the_live_annotations_not_their_digests(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The plan file masks a Secret's annotations (kubectl's last-applied-configuration holds its data);
    apply sends the re-derived PUT, whose annotations are the live ones, never the file's digests."""
    import shutil

    case = tmp_path / "case"
    shutil.copytree(SCENARIOS / "ocp4-fresh-aws-s3-own-bucket", case)
    applied = json.dumps({"data": {"REGISTRY_STORAGE_S3_SECRETKEY": "b2xkLWtleQ=="}})
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "image-registry-private-configuration-user",
            "namespace": "openshift-image-registry",
            "uid": "s-1",
            "resourceVersion": "40",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied},
        },
        "type": "Opaque",
        "data": {"REGISTRY_STORAGE_S3_SECRETKEY": "b2xkLWtleQ=="},
    }
    with (case / "live.yaml").open("a", encoding="utf-8") as f:
        f.write("---\n" + yamlio.dump(secret))  # a multi-document snapshot: the List, then the Secret
    plan, objects = _scenario_plan(case)
    assert [str(w.verb) for w in plan.writes if w.secret] == ["update"]
    path = tmp_path / "plan.json"
    planfile.save_plan(plan, path)
    assert "b2xkLWtleQ==" not in path.read_text(encoding="utf-8")
    got, fake = _apply_file(monkeypatch, path, objects, plan.target)
    assert got == ExitCode.OK, getattr(fake.cluster, "error", "")
    written = fake.cluster.objects[Ref.of(secret)]
    assert written["metadata"]["annotations"] == secret["metadata"]["annotations"]
    assert written["data"]["REGISTRY_STORAGE_S3_SECRETKEY"] != "b2xkLWtleQ=="
