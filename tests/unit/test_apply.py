"""Apply_plan against an in-memory cluster: refusals before any write, staleness, order, lock, partial
failure reporting, waits; and the pure verdicts and report views."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import MemoryCluster, as_api

from regplan.base.errors import DestructiveRefused, Diagnostic, ExitCode, InvalidInput, StaleError
from regplan.base.model import Obj, PatchType, Ref, Target, Verb, Write
from regplan.cluster import ApiError, ConflictError, TransientError
from regplan.engine import actions
from regplan.engine import apply as ap
from regplan.engine.plan import Action, ObjectChange, Plan

NS = "openshift-image-registry"
PVC = Ref("v1", "PersistentVolumeClaim", NS, "image-registry-storage")
CONFIG = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
SECRET = Ref("v1", "Secret", NS, "image-registry-private-configuration-user")
LEASE = Ref("coordination.k8s.io/v1", "Lease", NS, "regplan-apply")


def apply_plan(plan: Any, cluster: Any, **given: Any) -> Any:
    """``apply.apply_plan`` with the command's defaults (``actions.ApplyOptions``, their one home)."""
    o = actions.ApplyOptions()
    settings = {"allow_replace": o.allow_replace, "wait": o.wait, "timeout": o.timeout,
                "lock_timeout": o.lock_timeout}  # fmt: skip
    return ap.apply_plan(plan, cluster, **{**settings, **given})



def live_objects() -> dict[Ref, Obj]:
    return {
        CONFIG: {
            "kind": "Config",
            "metadata": {"name": "cluster", "uid": "cfg", "resourceVersion": "10"},
            "spec": {"replicas": 2, "storage": {"s3": {"bucket": "b"}}},
            "status": {"conditions": [{"type": "Available", "status": "True"}]},
        },
        PVC: {
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": PVC.name, "namespace": NS, "uid": "old-pvc", "resourceVersion": "11"},
            "spec": {"accessModes": ["ReadWriteMany"]},
            "status": {"phase": "Pending"},
        },
    }


def switch_plan(*, replace: bool = True) -> Plan:
    """s3 -> pvc with the operator's RWX claim replaced by an RWO one."""
    new_pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": PVC.name, "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"]},
    }
    patch = {
        "metadata": {"resourceVersion": "10"},
        "spec": {
            "replicas": 1,
            "rolloutStrategy": "Recreate",
            "storage": {"s3": None, "pvc": {"claim": PVC.name}},
        },
    }
    changes = [
        ObjectChange(
            PVC,
            Action.REPLACE,
            "spec.accessModes is immutable; data on the claim is lost",
            True,
            writes=(
                Write(PVC, Verb.DELETE, uid="old-pvc", resource_version="11", wait_gone=True),
                Write(PVC, Verb.CREATE, body=new_pvc),
            ),
            uid="old-pvc",
            resource_version="11",
        )
        if replace
        else ObjectChange(PVC, Action.NOOP, uid="old-pvc", resource_version="11"),
        ObjectChange(
            CONFIG,
            Action.UPDATE,
            "fields differ",
            writes=(
                Write(
                    CONFIG,
                    Verb.PATCH,
                    body=patch,
                    patch_type=PatchType.MERGE,
                    resource_version="10",
                    uid="cfg",
                ),
            ),
            uid="cfg",
            resource_version="10",
        ),
    ]
    return Plan(
        profile="ebs-gp2-rwo", target=Target.OCP4, values_digest="sha256:x", source="test", changes=changes
    )


def test_replace_without_allow_replace_refuses_before_any_request() -> None:
    mem = MemoryCluster(live_objects())
    with pytest.raises(DestructiveRefused, match="--allow-replace") as exc:
        apply_plan(switch_plan(), as_api(mem), wait=False)
    assert exc.value.exit_code == ExitCode.DESTRUCTIVE
    assert "DESTRUCTIVE" in str(exc.value) and str(PVC) in str(exc.value)
    assert mem.requests.total == 0 and mem.log == []


def test_errors_and_blocked_refuse_before_any_request() -> None:
    plan = switch_plan(replace=False)
    plan.diagnostics.append(Diagnostic("x", "StorageClass gp9 not found"))
    mem = MemoryCluster(live_objects())
    with pytest.raises(InvalidInput, match="gp9"):
        apply_plan(plan, as_api(mem))
    blocked = switch_plan(replace=False)
    blocked.changes[0] = ObjectChange(PVC, Action.BLOCKED, "field can not be less than previous value")
    with pytest.raises(InvalidInput, match="less than previous"):
        apply_plan(blocked, as_api(mem))
    assert mem.requests.total == 0


def test_full_apply_writes_in_order_under_the_lock() -> None:
    mem = MemoryCluster(live_objects())
    said: list[str] = []
    report = apply_plan(switch_plan(), as_api(mem), allow_replace=True, wait=False, progress=said.append)
    assert report.exit_code is ExitCode.OK
    assert mem.plan_writes() == [("delete", PVC), ("create", PVC), ("patch", CONFIG)]
    assert mem.log[0] == ("create", LEASE) and mem.log[-1] == ("delete", LEASE)
    assert LEASE not in mem.objects
    assert mem.objects[PVC]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "s3" not in mem.objects[CONFIG]["spec"]["storage"]
    assert report.objects == {PVC: ap.ObjectState.NEW, CONFIG: ap.ObjectState.NEW}
    assert any("delete PersistentVolumeClaim" in s for s in said)
    assert report.write_requests == 5  # 3 planned + lease create + lease delete


def test_noop_plan_makes_zero_writes_and_takes_no_lock() -> None:
    mem = MemoryCluster(live_objects())
    plan = Plan(
        profile="p",
        target=Target.OCP4,
        values_digest="",
        source="t",
        changes=[ObjectChange(CONFIG, Action.NOOP, uid="cfg", resource_version="10")],
    )
    report = apply_plan(plan, as_api(mem))
    assert mem.requests.writes == 0 and report.write_requests == 0
    assert mem.log == []
    assert "0 writes" in ap.report_text(report)


def test_stale_plan_refuses_naming_the_object_with_no_write() -> None:
    objs = live_objects()
    objs[CONFIG]["metadata"]["resourceVersion"] = "99"
    mem = MemoryCluster(objs)
    with pytest.raises(
        StaleError, match=r"Config/cluster: it changed since the plan \(resourceVersion 10 -> 99\)"
    ):
        apply_plan(switch_plan(), as_api(mem), allow_replace=True)
    assert mem.log == []  # refused before the lock: not even the Lease was written


def test_failure_part_way_reports_done_failed_and_not_done() -> None:
    mem = MemoryCluster(live_objects())
    mem.fail_on[2] = TransientError("patch Config: HTTP 503: unavailable", sent=True, status=503)
    report = apply_plan(switch_plan(), as_api(mem), allow_replace=True, wait=False)
    assert report.exit_code is ExitCode.CLUSTER
    assert [s.result for s in report.steps] == [ap.StepResult.DONE, ap.StepResult.DONE, ap.StepResult.FAILED]
    assert report.objects == {PVC: ap.ObjectState.NEW, CONFIG: ap.ObjectState.OLD}
    text = ap.report_text(report)
    assert "Apply stopped: 2 of 3 writes made" in text and "regplan plan" in text
    assert LEASE not in mem.objects


def test_conflict_part_way_is_exit_5_and_never_forced() -> None:
    mem = MemoryCluster(live_objects())
    mem.fail_on[0] = ConflictError("conflict (409) on delete")
    report = apply_plan(switch_plan(), as_api(mem), allow_replace=True, wait=False)
    assert report.exit_code is ExitCode.STALE
    assert [s.result for s in report.steps] == [
        ap.StepResult.FAILED,
        ap.StepResult.NOT_DONE,
        ap.StepResult.NOT_DONE,
    ]
    assert report.objects[PVC] is ap.ObjectState.OLD
    assert mem.plan_writes() == [("failed-delete", PVC)]


def test_wait_fails_at_once_on_provisioning_failed() -> None:
    mem = MemoryCluster(live_objects())
    mem.events[PVC] = [
        {"reason": "ProvisioningFailed", "message": 'Failed to provision volume with StorageClass "gp2"'}
    ]
    report = apply_plan(switch_plan(), as_api(mem), allow_replace=True, wait=True, timeout=30, poll=0.01)
    assert report.exit_code is ExitCode.CLUSTER
    assert report.seconds < 5
    assert any(not c.ok and "ProvisioningFailed" in c.detail for c in report.checks)


def test_wait_times_out_with_exit_4() -> None:
    mem = MemoryCluster(live_objects())
    report = apply_plan(switch_plan(), as_api(mem), allow_replace=True, wait=True, timeout=0.05, poll=0.01)
    assert report.exit_code is ExitCode.CLUSTER
    assert "timed out" in json.dumps(report.to_json())


def test_claim_verdicts() -> None:
    claim = {"metadata": {"uid": "u"}, "status": {"phase": "Pending"}}
    assert ap.claim_verdict({"status": {"phase": "Bound"}}, [])[0] is True
    assert ap.claim_verdict(claim, [{"reason": "WaitForFirstConsumer"}])[0] is None  # keep watching (issue 8)
    assert ap.claim_verdict(claim, [{"reason": "ExternalProvisioning", "message": "waiting"}])[0] is None
    failed = ap.claim_verdict(claim, [{"reason": "ProvisioningFailed", "message": "only RWO"}])
    assert failed == (False, "ProvisioningFailed: only RWO")
    # an event of the deleted predecessor (other uid) does not fail the new claim
    old = {"reason": "ProvisioningFailed", "message": "old", "involvedObject": {"uid": "old"}}
    assert ap.claim_verdict(claim, [old])[0] is None


def test_config_and_dc_verdicts() -> None:
    cfg = {"metadata": {"generation": 3}, "status": {"observedGeneration": 2, "conditions": []}}
    assert ap.config_verdict(cfg)[0] is None
    cfg["status"] = {"observedGeneration": 3, "conditions": [{"type": "Available", "status": "True"}]}
    assert ap.config_verdict(cfg)[0] is True
    cfg["status"]["conditions"].append({"type": "Degraded", "status": "True", "reason": "PVC Issues Found"})
    assert ap.config_verdict(cfg) == (False, "Degraded: PVC Issues Found: ")
    assert ap.dc_verdict({"spec": {"replicas": 1}})[0] is True  # stand-in without a controller
    dc = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 2, "updatedReplicas": 0, "availableReplicas": 1},
    }
    assert ap.dc_verdict(dc)[0] is None
    dc["status"]["updatedReplicas"] = 1
    assert ap.dc_verdict(dc)[0] is True


def test_report_json_is_versioned_and_has_no_secret_bodies() -> None:
    secret_body = {"kind": "Secret", "data": {"REGISTRY_STORAGE_S3_SECRETKEY": "c2VjcmV0LXZhbHVlLTEyMzQ="}}
    report = ap.ApplyReport(
        profile="aws-s3",
        target=Target.OCP4,
        steps=[ap.Step(Write(SECRET, Verb.CREATE, body=secret_body, secret=True), ap.StepResult.DONE, "ok")],
    )
    text = ap.report_json(report)
    doc = json.loads(text)
    assert doc["reportVersion"] == 1 and doc["steps"][0]["verb"] == "create"
    assert "c2VjcmV0" not in text and "c2VjcmV0" not in ap.report_text(report)


def test_lost_lock_stops_before_the_next_write(monkeypatch: pytest.MonkeyPatch) -> None:
    from regplan.engine import lock

    mem = MemoryCluster(live_objects())
    real = lock.acquire

    def acquire_then_lose(*a: Any, **k: Any) -> lock.Lock:
        held = real(*a, **k)
        held.lost = "renewal conflicted"
        return held

    monkeypatch.setattr(lock, "acquire", acquire_then_lose)
    report = apply_plan(switch_plan(), as_api(mem), allow_replace=True, wait=False)
    assert report.exit_code is ExitCode.STALE and mem.plan_writes() == []


def test_api_error_is_exit_4_in_report() -> None:
    mem = MemoryCluster(live_objects())
    mem.fail_on[0] = ApiError("forbidden (403): cannot delete", status=403)
    report = apply_plan(switch_plan(), as_api(mem), allow_replace=True, wait=False)
    assert report.exit_code is ExitCode.CLUSTER and "forbidden" in report.error


# ---- commands.apply: the stages around apply_plan, with workflow's Live and make_plan faked ----------------


class FakeLive:
    def __init__(self, mem: MemoryCluster) -> None:
        self.cluster = mem
        self.closed = False

    def target(self, text: str) -> Target:
        return Target.OCP4

    def close(self) -> None:
        self.closed = True


def run_command(
    monkeypatch: pytest.MonkeyPatch, mem: MemoryCluster, plan: Plan, **kw: Any
) -> tuple[int, str, str]:
    from regplan.cli import commands
    from regplan.engine import workflow

    live = FakeLive(mem)
    monkeypatch.setattr(workflow, "Live", lambda **_: live)
    monkeypatch.setattr(workflow, "make_plan", lambda **_: plan)
    out: list[str] = []
    err: list[str] = []
    rep = commands.Reporter(out=out.append, err=err.append)
    args: dict[str, Any] = dict(
        values=commands.ValueOptions(profile="ebs-gp2-rwo"), allow_replace=True, wait=False, timeout=5,
        lock_timeout=1,
    )
    call = {k: kw.pop(k) for k in ("is_tty", "confirm") if k in kw}
    args.update(kw)
    code = commands.apply(commands.ApplyOptions(**args), reporter=rep, **call)
    assert live.closed
    return int(code), "".join(out), "".join(err)


def test_command_without_terminal_or_yes_refuses_after_showing_the_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mem = MemoryCluster(live_objects())
    with pytest.raises(InvalidInput, match="--yes"):
        run_command(monkeypatch, mem, switch_plan(), is_tty=False)
    assert mem.log == []


def test_command_declined_confirmation_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    mem = MemoryCluster(live_objects())
    asked: list[str] = []

    def no(question: str) -> bool:
        asked.append(question)
        return False

    code, out, err = run_command(monkeypatch, mem, switch_plan(), is_tty=True, confirm=no)
    assert code == 0 and mem.log == [] and "nothing was written" in err
    assert asked and "3 write(s)" in asked[0]
    assert "-/+" in out  # the plan was shown before asking


def test_command_yes_applies_and_json_keeps_stdout_for_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    mem = MemoryCluster(live_objects())
    code, out, err = run_command(monkeypatch, mem, switch_plan(), yes=True, output="json")
    assert code == 0
    report = json.loads(out)  # stdout is only the JSON report; the plan went to stderr
    assert report["writesDone"] == 3
    assert "-/+" in err and "delete PersistentVolumeClaim" in err


def test_command_replace_without_allow_is_exit_6_before_confirmation(monkeypatch: pytest.MonkeyPatch) -> None:
    mem = MemoryCluster(live_objects())
    with pytest.raises(DestructiveRefused):
        run_command(monkeypatch, mem, switch_plan(), allow_replace=False, yes=True)
    assert mem.log == []


def test_saved_plan_with_a_replace_is_refused_before_reading_the_cluster(tmp_path: Path) -> None:
    """Exit 6 even when the cluster cannot be reached: the refusal comes before the first request."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    planfile = root / "golden" / "plan" / "ocp4-pvc-pending-ebs-gp2-rwo" / "plan.json"
    r = subprocess.run(
        [sys.executable, "-m", "regplan", "apply", str(planfile), "--kubeconfig", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 6, r.stderr
    assert "--allow-replace" in r.stderr and "kubeconfig" not in r.stderr


# ---- a 409 on the Config patch: the operator wrote it meanwhile -------------------------------------------


def planned_from_the_aws_snapshot() -> tuple[MemoryCluster, Plan, Ref]:
    """A fake cluster in the fresh 4.x AWS state, the real ebs-gp2-rwo plan for it, and its Config ref."""
    from regplan.engine import workflow

    root = Path(__file__).resolve().parents[2]
    fake = MemoryCluster.from_snapshot(root / "examples/snapshots/ocp4-aws-fresh.yaml")
    live = workflow.Live(snapshot=None, kubeconfig=None, context=None)
    live._cluster = fake  # type: ignore[assignment]
    plan = workflow.make_plan(
        profile="ebs-gp2-rwo", values_files=[], sets=[], profiles_dir=None, target="ocp4", live=live,
        environ={},
    )  # fmt: skip
    return fake, plan, next(c.ref for c in plan.changes if c.ref.kind == "Config")


@pytest.mark.parametrize(
    ("operator_writes", "code"),
    [
        ({"status": {"conditions": [{"type": "Progressing", "status": "True"}]}}, ExitCode.OK),  # not ours
        ({"spec": {"httpSecret": "generated"}}, ExitCode.OK),  # a spec field this plan does not set
        ({"spec": {"replicas": 5}}, ExitCode.STALE),  # a field this plan changes: a real conflict
    ],
)
def test_config_patch_re_sent_only_when_the_planned_change_is_unchanged(
    operator_writes: dict[str, Any], code: ExitCode
) -> None:
    fake, plan, config_ref = planned_from_the_aws_snapshot()
    real_write = fake.write

    def operator_reacts(w: Write, dry_run: bool = False) -> Any:
        out = real_write(w, dry_run=dry_run)
        if w.ref.kind == "PersistentVolumeClaim" and not dry_run:  # the operator answers the new claim
            cfg = fake.objects[config_ref]
            for part, fields in operator_writes.items():
                cfg.setdefault(part, {}).update(fields)
            fake.rv += 1
            cfg["metadata"]["resourceVersion"] = str(fake.rv)
        return out

    fake.write = operator_reacts  # type: ignore[method-assign]
    said: list[str] = []
    report = apply_plan(plan, as_api(fake), allow_replace=True, wait=False, progress=said.append)
    assert report.exit_code is code, report.error
    cfg = fake.objects[config_ref]
    if code is ExitCode.OK:
        assert cfg["spec"]["replicas"] == 1 and cfg["spec"]["storage"].get("s3") is None
        assert any("sending the same patch again" in s for s in said)
    else:
        assert cfg["spec"]["replicas"] == 5 and "modified" in report.error  # the 409, not re-sent


@pytest.mark.parametrize(
    ("operator_writes", "code"),
    [
        ({"status": {"conditions": [{"type": "Available", "status": "False"}]}}, ExitCode.OK),
        ({"spec": {"replicas": 3}}, ExitCode.STALE),
    ],
)
def test_config_that_moved_between_plan_and_apply(operator_writes: dict[str, Any], code: ExitCode) -> None:
    """The operator updates the Config's status every few seconds: a plan seconds old whose Config change is
    still the same applies (with the new resourceVersion); a change to a field it sets is stale."""
    fake, plan, config_ref = planned_from_the_aws_snapshot()
    cfg = fake.objects[config_ref]
    for part, fields in operator_writes.items():
        cfg.setdefault(part, {}).update(fields)
    fake.rv += 1
    cfg["metadata"]["resourceVersion"] = str(fake.rv)
    if code is ExitCode.STALE:
        with pytest.raises(StaleError, match="Config/cluster: it changed since the plan"):
            apply_plan(plan, as_api(fake), allow_replace=True, wait=False, precheck=True)
        assert [v for v, r in fake.log if r.kind != "Lease"] == []
        return
    report = apply_plan(plan, as_api(fake), allow_replace=True, wait=False, precheck=True)
    assert report.exit_code is ExitCode.OK, report.error
    assert fake.objects[config_ref]["spec"]["replicas"] == 1
