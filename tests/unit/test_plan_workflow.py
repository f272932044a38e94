"""Commands.plan against recorded snapshots: exit codes, -o json, --out and load_plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import MemoryCluster

from regplan.base.errors import ExitCode, InvalidInput, StaleError
from regplan.base.model import Verb
from regplan.cli import commands
from regplan.engine import workflow

ROOT = Path(__file__).resolve().parents[2]
FRESH = ROOT / "examples/snapshots/ocp4-aws-fresh.yaml"
ENV = {"MY_AK": "AKIA-unit-test-access", "MY_SK": "unit-test-secret-key-value"}
OWN_BUCKET = [
    "s3.bucket=registry-unit-tests",
    "s3.region=eu-west-1",
    "s3.accessKeyFrom=env:MY_AK",
    "s3.secretKeyFrom=env:MY_SK",
]


def run(
    profile: str,
    *,
    sets: list[str] | None = None,
    snapshot: Path = FRESH,
    out: Path | None = None,
    output: str = "text",
    detailed: bool = True,
    env: dict[str, str] | None = None,
) -> tuple[ExitCode, str]:
    got: list[str] = []
    code = commands.plan(
        commands.PlanOptions(
            values=commands.ValueOptions(profile=profile, sets=tuple(sets or ())),
            snapshot=snapshot,
            out=out,
            output=output,
            detailed_exitcode=detailed,
        ),
        reporter=commands.Reporter(out=got.append, err=lambda _: None),
        environ=env or ENV,
    )
    return code, "".join(got)


def test_exit_codes() -> None:
    assert run("aws-s3")[0] is ExitCode.OK
    assert run("ebs-gp2-rwo")[0] is ExitCode.CHANGES
    assert run("ebs-gp2-rwo", detailed=False)[0] is ExitCode.OK
    code, text = run("glusterfs")  # no such class on an AWS cluster
    assert code is ExitCode.INVALID and "StorageClass glusterfs-storage not found" in text


def test_json_output_and_no_secret_anywhere(tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    code, text = run("aws-s3", sets=OWN_BUCKET, output="json", out=plan_file)
    assert code is ExitCode.CHANGES
    doc = json.loads(text)
    assert doc["formatVersion"] == 1 and doc["summary"]["create"] == 1
    saved = plan_file.read_text()
    assert json.loads(saved) == doc
    for value in ENV.values():
        assert value not in text and value not in saved


def test_saved_plan_loads_with_secrets_from_sources_and_refuses_rotated(tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    run("aws-s3", sets=OWN_BUCKET, out=plan_file)
    plan = workflow.load_plan(plan_file, environ=ENV)
    assert plan.secrets_resolved
    secret_write = next(w for w in plan.writes if w.secret)
    assert secret_write.verb is Verb.CREATE
    assert set(secret_write.body["data"]) == {
        "REGISTRY_STORAGE_S3_ACCESSKEY",
        "REGISTRY_STORAGE_S3_SECRETKEY",
    }
    assert not secret_write.body["data"]["REGISTRY_STORAGE_S3_ACCESSKEY"].startswith("sha256:")
    with pytest.raises(StaleError, match="REGISTRY_STORAGE_S3_SECRETKEY changed"):
        workflow.load_plan(plan_file, environ={**ENV, "MY_SK": "rotated"})
    with pytest.raises(StaleError, match="cannot be read again"):
        workflow.load_plan(plan_file, environ={"MY_AK": "x"})


def test_plan_without_secrets_loads_as_is(tmp_path: Path) -> None:
    plan_file = tmp_path / "p.json"
    run("ebs-gp2-rwo", out=plan_file)
    plan = workflow.load_plan(plan_file, environ={})
    assert [w.verb for w in plan.writes] == [Verb.CREATE, Verb.PATCH]
    assert plan.writes[1].resource_version == "31874"


def test_colour_only_with_a_coloured_reporter() -> None:
    got: list[str] = []
    commands.plan(
        commands.PlanOptions(values=commands.ValueOptions(profile="ebs-gp2-rwo"), snapshot=FRESH),
        reporter=commands.Reporter(out=got.append, err=lambda _: None, color=True),
        environ={},
    )
    assert "\x1b[" in "".join(got)
    assert "\x1b[" not in run("ebs-gp2-rwo")[1]


def test_saved_plan_with_relative_file_sources_loads_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ak").write_text("file-access-key\n")
    (tmp_path / "sk").write_text("file-secret-key\n")
    monkeypatch.chdir(tmp_path)
    plan_file = tmp_path / "plan.json"
    sets = [
        "s3.bucket=registry-unit-tests",
        "s3.region=eu-west-1",
        "s3.accessKeyFrom=file:ak",
        "s3.secretKeyFrom=file:sk",
    ]
    assert run("aws-s3", sets=sets, out=plan_file)[0] is ExitCode.CHANGES
    assert "file-secret-key" not in plan_file.read_text()
    monkeypatch.chdir(ROOT)
    plan = workflow.load_plan(plan_file, environ={})
    assert plan.secrets_resolved and any(w.secret for w in plan.writes)
    (tmp_path / "sk").write_text("rotated\n")
    with pytest.raises(StaleError, match="changed since the plan"):
        workflow.load_plan(plan_file, environ={})


def test_saved_plan_refuses_when_the_profile_renders_differently(tmp_path: Path) -> None:
    plan_file = tmp_path / "p.json"
    run("ebs-gp2-rwo", out=plan_file)
    doc = json.loads(plan_file.read_text())
    doc["values"]["data"]["claim"]["size"] = "300Gi"
    plan_file.write_text(json.dumps(doc))
    with pytest.raises(StaleError, match="no longer renders"):
        workflow.load_plan(plan_file, environ={})


@pytest.mark.parametrize("dropped", ["values", "desired"])
def test_saved_plan_without_what_checks_it_is_refused(tmp_path: Path, dropped: str) -> None:
    """A plan file whose writes cannot be checked against a fresh render is not executed."""
    plan_file = tmp_path / "p.json"
    run("ebs-gp2-rwo", out=plan_file)
    doc = json.loads(plan_file.read_text())
    del doc[dropped]
    plan_file.write_text(json.dumps(doc))
    with pytest.raises(InvalidInput, match=r"no values record or desired objects|not a plan regplan made"):
        workflow.load_plan(plan_file, environ={})


def test_plan_never_dry_runs_a_delete_nor_the_create_of_a_replace() -> None:
    # A DELETE with a DeleteOptions body ignores ?dryRun=All on the apiserver: it would really delete.
    fake = MemoryCluster.from_snapshot(ROOT / "examples/snapshots/ocp4-pvc-pending.yaml")
    live = workflow.Live(snapshot=None, kubeconfig=None, context=None)
    live._cluster = fake  # type: ignore[assignment]
    plan = workflow.make_plan(
        profile="ebs-gp2-rwo",
        values_files=[],
        sets=[],
        profiles_dir=None,
        target="ocp4",
        live=live,
        environ={},
    )
    assert [w.verb for w in plan.writes] == [Verb.DELETE, Verb.CREATE, Verb.PATCH]
    (checked,) = fake.dry_runs
    assert [w.verb for w in checked] == [Verb.PATCH]


@pytest.mark.parametrize(("moves", "outcome"), [(0, "checked"), (1, "checked"), (2, "checked"), (3, "stale")])
def test_plan_reads_again_when_the_cluster_moves_during_the_dry_run(moves: int, outcome: str) -> None:
    """A 409 on the dry run (the operator wrote the Config meanwhile): read again and plan again, up to
    PLAN_ATTEMPTS times; only then exit 5."""
    from regplan.base.errors import ClusterMoved

    fake = MemoryCluster.from_snapshot(ROOT / "examples/snapshots/ocp4-pvc-pending.yaml")
    real_dry_run = fake.dry_run
    left = [moves]

    def moving(writes: Any) -> Any:
        if left[0]:
            left[0] -= 1
            raise ClusterMoved("Config/cluster changed while planning")
        return real_dry_run(writes)

    fake.dry_run = moving  # type: ignore[method-assign]
    live = workflow.Live(snapshot=None, kubeconfig=None, context=None)
    live._cluster = fake  # type: ignore[assignment]
    said: list[str] = []
    args: dict[str, Any] = dict(
        profile="ebs-gp2-rwo", values_files=[], sets=[], profiles_dir=None, target="ocp4", live=live,
        environ={}, progress=said.append,
    )  # fmt: skip
    if outcome == "stale":
        with pytest.raises(ClusterMoved):
            workflow.make_plan(**args)
        assert moves == workflow.PLAN_ATTEMPTS
        return
    assert workflow.make_plan(**args).server_dry_run == "checked"
    assert sum("changed while planning" in s for s in said) == moves
