"""One action per command for one cluster and for many (engine.actions): a workspace's cluster runs the
same plan and apply as the single-cluster command (same options, same refusals), a saved plan made for
another profile, target or cluster is refused before anything is contacted, an errored, dead or forbidden
cluster among good ones is that cluster's outcome, the tally counts every cluster once and the exit code
is the most severe of any mix.

The clusters are in-memory fakes (tests/unit/fakes.py) standing behind ``regplan.cluster.Cluster``, one per
kubeconfig context; the real apiserver runs these paths in tests/cluster/test_fleet_cluster.py.
"""

from __future__ import annotations

import itertools
import json
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakes import MemoryCluster

import regplan.cluster
from regplan.base import escape
from regplan.base.errors import ClusterError, ExitCode, InvalidInput, StaleError
from regplan.base.model import Target
from regplan.cli import app as cli
from regplan.cli import commands
from regplan.engine import actions
from regplan.engine.plan import Action, ObjectChange, Plan
from regplan.fleet import runs as fleet
from regplan.fleet import workspace
from regplan.present import fleetviews

ROOT = Path(__file__).resolve().parents[2]
FRESH = ROOT / "examples/snapshots/ocp4-aws-fresh.yaml"


# --- clusters behind the adapter, one per context ---------------------------------------------------------


@dataclass
class Clusters:
    """What ``regplan.cluster.Cluster`` answers per context: a fake, or an error raised on connecting."""

    fakes: dict[str, MemoryCluster] = field(default_factory=dict)
    dead: set[str] = field(default_factory=set)
    connects: list[str] = field(default_factory=list)

    def __call__(self, *, kubeconfig: str | None = None, context: str | None = None, **_: Any) -> Any:
        self.connects.append(str(context))
        if context in self.dead:
            raise ClusterError(f"cannot reach the cluster of context {context}: connection refused")
        return self.fakes[str(context)]


@pytest.fixture
def clusters(monkeypatch: pytest.MonkeyPatch) -> Clusters:
    found = Clusters()
    monkeypatch.setattr(regplan.cluster, "Cluster", found)
    return found


def fake(host: str = "https://memory") -> MemoryCluster:
    c = MemoryCluster.from_snapshot(FRESH)
    c.host = host  # type: ignore[misc]
    c.source = f"cluster {host}"  # as the adapter names what it read
    return c


def forbidden() -> MemoryCluster:
    c = fake()
    c.read_error[Target.OCP4] = ClusterError('forbidden: user "limited" cannot get configs (403)')
    return c


WORKSPACE = """
    defaults: {profile: ebs-gp2-rwo, target: ocp4, kubeconfig: kubeconfig}
    clusters:
      - {name: changes, context: c1}
      - {name: same, context: c2, profile: aws-s3}
      - {name: dead, context: c3}
      - {name: forbidden, context: c4}
      - {name: badvalues, context: c5, set: [replicas=3]}
"""


def make_workspace(tmp_path: Path, text: str = WORKSPACE) -> Path:
    contexts = [{"name": f"c{i}", "context": {"cluster": "x", "user": "u"}} for i in range(1, 6)]
    (tmp_path / "kubeconfig").write_text(
        json.dumps(
            {
                "clusters": [{"name": "x", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": contexts,
            }
        )
    )
    (tmp_path / "regplan.yaml").write_text(textwrap.dedent(text).lstrip())
    return tmp_path / "regplan.yaml"


def run_fleet(path: Path, command: str, **given: Any) -> tuple[ExitCode, str, str]:
    out: list[str] = []
    err: list[str] = []
    code = commands.fleet(
        commands.FleetOptions(command=command, workspace=path, parallelism=2, **given),
        reporter=commands.Reporter(out=out.append, err=err.append),
        is_tty=False,
        environ={},
    )
    return code, "".join(out), "".join(err)


def five(clusters: Clusters) -> None:
    clusters.fakes.update({"c1": fake(), "c2": fake(), "c4": forbidden(), "c5": fake()})
    clusters.dead.add("c3")


# --- plan: the same action for one cluster and for each of many ------------------------------------------


def test_a_workspace_cluster_plans_exactly_as_the_single_command(tmp_path: Path, clusters: Clusters) -> None:
    five(clusters)
    _, out, _ = run_fleet(make_workspace(tmp_path), "plan", output="json")
    doc = {c["name"]: c for c in json.loads(out)["clusters"]}
    for name, context, profile in (("changes", "c1", "ebs-gp2-rwo"), ("same", "c2", "aws-s3")):
        got: list[str] = []
        single = commands.plan(
            commands.PlanOptions(
                values=commands.ValueOptions(profile=profile),
                cluster=commands.ClusterOptions(kubeconfig=str(tmp_path / "kubeconfig"), context=context),
                target="ocp4",
                output="json",
            ),
            reporter=commands.Reporter(out=got.append, err=lambda _: None),
            environ={},
        )
        assert single is ExitCode.OK and doc[name]["exitCode"] == 0
        assert doc[name]["plan"]["writes"] == json.loads("".join(got))["writes"]
        assert doc[name]["plan"]["changes"] == json.loads("".join(got))["changes"]


def test_dead_forbidden_and_invalid_clusters_among_good_ones(tmp_path: Path, clusters: Clusters) -> None:
    five(clusters)
    code, out, _ = run_fleet(make_workspace(tmp_path), "plan", output="json", detailed_exitcode=True)
    assert (
        code is ExitCode.CLUSTER
    )  # the most severe: unreachable/forbidden (4) over invalid (3), changes (2)
    doc = {c["name"]: c for c in json.loads(out)["clusters"]}
    assert {n: c["exitCode"] for n, c in doc.items()} == {
        "changes": 2,
        "same": 0,
        "dead": 4,
        "forbidden": 4,
        "badvalues": 3,
    }
    assert "connection refused" in doc["dead"]["error"] and "plan" not in doc["dead"]
    assert "403" in doc["forbidden"]["error"]
    assert "replicas" in doc["badvalues"]["error"]
    # the text view: each cluster counted once (the bug was "-1 without")
    code, text, _ = run_fleet(make_workspace(tmp_path), "plan")
    assert "5 cluster(s): 1 with changes, 1 without, 3 with errors; exit 4" in text


def test_set_string_and_every_value_option_reach_each_cluster(tmp_path: Path) -> None:
    """A workspace entry becomes the single-cluster options object: the same one ``-p -f --set`` gives."""
    (tmp_path / "v.yaml").write_text("replicas: 1\n")
    path = make_workspace(
        tmp_path,
        """
        clusters:
          - {name: a, profile: ebs-gp2-rwo, values: [v.yaml], set: [claim.size=200Gi], target: ocp4}
        """,
    )
    ws = workspace.load(path)
    (spec,) = ws.clusters
    parsed = cli.parse(
        [
            "plan",
            "-p",
            "ebs-gp2-rwo",
            "-f",
            str(tmp_path / "v.yaml"),
            "--set",
            "claim.size=200Gi",
            "--target",
            "ocp4",
            "--context",
            "a",
        ],
        environ={},
    ).options
    ctx = fleet.Context(ws=ws, environ={})
    assert fleet.plan_options(ctx, spec) == parsed


# --- apply: the same action; saved plans made for another entry are refused --------------------------------


def test_apply_many_runs_each_cluster_and_reports_the_errored_ones(
    tmp_path: Path, clusters: Clusters
) -> None:
    five(clusters)
    code, out, _ = run_fleet(
        make_workspace(tmp_path), "apply", apply=actions.ApplyOptions(yes=True, wait=False)
    )
    assert code is ExitCode.CLUSTER
    assert clusters.fakes["c1"].plan_writes(), "the good cluster with changes was applied"
    assert not clusters.fakes["c2"].plan_writes() and not clusters.fakes["c5"].plan_writes()
    assert "5 cluster(s): 2 done, 3 failed; exit 4" in out  # `same` had no changes: done, 0 writes
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("CLUSTER") and "STATE" in line)
    rows = {line.split()[0]: line.split() for line in lines[start + 1 : start + 6]}
    assert rows["same"][3:6] == ["done", "0/0", "0"]
    assert rows["badvalues"][3] == "failed" and rows["dead"][3] == "failed"


def _plans(tmp_path: Path, clusters: Clusters) -> Path:
    clusters.fakes.update({"c1": fake(), "c2": fake()})
    path = make_workspace(
        tmp_path,
        """
        defaults: {profile: ebs-gp2-rwo, target: ocp4, kubeconfig: kubeconfig}
        clusters:
          - {name: a, context: c1}
          - {name: b, context: c2}
        """,
    )
    code, _, _ = run_fleet(path, "plan", out=tmp_path / "plans")
    assert code is ExitCode.OK and sorted(p.name for p in (tmp_path / "plans").iterdir()) == [
        "a.json",
        "b.json",
    ]
    clusters.connects.clear()
    return path


@pytest.mark.parametrize(
    ("entry", "phrase"),
    [
        ("{name: b, context: c2, profile: cephfs-rwx}", "profile 'ebs-gp2-rwo' (the entry says cephfs-rwx)"),
        ("{name: b, context: c2, target: ocp3}", "target ocp4 (the entry says ocp3)"),
    ],
)
def test_a_saved_plan_made_for_another_entry_is_refused_before_anything(
    tmp_path: Path, clusters: Clusters, entry: str, phrase: str
) -> None:
    path = _plans(tmp_path, clusters)
    text = path.read_text().replace("{name: b, context: c2}", entry)
    path.write_text(text)
    with pytest.raises(InvalidInput) as err:
        run_fleet(
            path, "apply", plan_dir=tmp_path / "plans", apply=actions.ApplyOptions(yes=True, wait=False)
        )
    assert phrase in str(err.value) and "b.json" in str(err.value) and "cluster b" in str(err.value)
    assert err.value.exit_code == ExitCode.INVALID
    assert clusters.connects == []  # no cluster contacted, not even the good one
    assert not clusters.fakes["c1"].plan_writes() and not clusters.fakes["c2"].plan_writes()


def test_a_plan_dir_file_for_a_cluster_not_in_the_workspace_is_refused(
    tmp_path: Path, clusters: Clusters
) -> None:
    path = _plans(tmp_path, clusters)
    (tmp_path / "plans" / "a.json").rename(tmp_path / "plans" / "zz.json")
    with pytest.raises(InvalidInput, match=r"plans for clusters not in .*: zz"):
        run_fleet(path, "apply", plan_dir=tmp_path / "plans", apply=actions.ApplyOptions(yes=True))
    assert clusters.connects == []


def test_saved_plans_apply_through_the_single_cluster_action(tmp_path: Path, clusters: Clusters) -> None:
    path = _plans(tmp_path, clusters)
    code, out, _ = run_fleet(
        path, "apply", plan_dir=tmp_path / "plans", apply=actions.ApplyOptions(yes=True, wait=False)
    )
    assert code is ExitCode.OK, out
    assert clusters.fakes["c1"].plan_writes() and clusters.fakes["c2"].plan_writes()
    # the same files again: each re-derived against its cluster first, stale now (exit 5), nothing written
    before = [len(clusters.fakes[c].log) for c in ("c1", "c2")]
    code, out, _ = run_fleet(path, "apply", plan_dir=tmp_path / "plans", apply=actions.ApplyOptions(yes=True))
    assert code in (ExitCode.STALE, ExitCode.INVALID) and "2 failed" in out
    assert [len(clusters.fakes[c].log) for c in ("c1", "c2")] == before


def test_a_saved_plan_applied_through_another_url_says_so_and_checks_the_objects(
    tmp_path: Path, clusters: Clusters
) -> None:
    """The same cluster behind another URL (a proxy, a bastion, an internal name) is applied, with a note;
    what makes it safe is that the objects the plan read are the same ones, unchanged (uid and
    resourceVersion, checked before any write): another cluster's differ, and nothing is written there."""
    path = _plans(tmp_path, clusters)
    clusters.fakes["c1"].host = "https://another-url"  # type: ignore[misc]
    got: list[str] = []
    code = commands.apply(
        commands.ApplyOptions(
            planfile=tmp_path / "plans" / "a.json",
            cluster=commands.ClusterOptions(kubeconfig=str(path.parent / "kubeconfig"), context="c1"),
            wait=False,
        ),
        reporter=commands.Reporter(out=got.append, err=got.append),
        environ={},
    )
    assert code is ExitCode.OK, got
    said = "made against 'https://memory'; applying it through https://another-url"
    assert any(said in g for g in got), got
    assert clusters.fakes["c1"].plan_writes()
    # a.json against another cluster (context c2): its objects are other objects (other uids) -> stale
    other = clusters.fakes["c2"]
    for obj in other.objects.values():
        obj["metadata"]["uid"] = "uid-of-another-cluster"
    with pytest.raises(StaleError, match="uid-of-another-cluster"):
        commands.apply(
            commands.ApplyOptions(
                planfile=tmp_path / "plans" / "a.json",
                cluster=commands.ClusterOptions(kubeconfig=str(path.parent / "kubeconfig"), context="c2"),
                wait=False,
            ),
            reporter=commands.Reporter(out=got.append, err=got.append),
            environ={},
        )
    assert not other.plan_writes()


def test_apply_p_shows_then_asks_and_writes_nothing_unconfirmed(clusters: Clusters) -> None:
    clusters.fakes["c1"] = fake()
    out: list[str] = []
    asked: list[str] = []
    opts = commands.ApplyOptions(
        values=commands.ValueOptions(profile="ebs-gp2-rwo"),
        cluster=commands.ClusterOptions(context="c1"),
        wait=False,
    )
    code = commands.apply(
        opts,
        reporter=commands.Reporter(out=out.append, err=out.append),
        is_tty=True,
        confirm=lambda q: bool(asked.append(q)),
        environ={},
    )
    assert code is ExitCode.OK and "not confirmed; nothing was written" in "".join(out)
    assert asked == ["Apply these 2 write(s) to https://memory?"]
    said = "".join(out)
    assert said.index("Plan:") < said.index("not confirmed") and not clusters.fakes["c1"].plan_writes()
    with pytest.raises(InvalidInput, match="needs confirmation"):
        commands.apply(
            opts, reporter=commands.Reporter(out=out.append, err=out.append), is_tty=False, environ={}
        )
    assert not clusters.fakes["c1"].plan_writes()


# --- the tally and the exit code of any mix ----------------------------------------------------------------


def _plan(*actions_: Action, errors: int = 0) -> Plan:
    from regplan.base.errors import Diagnostic
    from regplan.base.model import Ref

    changes = [ObjectChange(Ref("v1", "Secret", "ns", f"o{i}"), a) for i, a in enumerate(actions_)]
    diags = [Diagnostic("error", "k", "bad") for _ in range(errors)]
    return Plan(
        profile="p", target=Target.OCP4, values_digest="", source="t", changes=changes, diagnostics=diags
    )


# Each kind of cluster outcome a plan run produces: (outcome, bucket it must be counted in).
KINDS: dict[str, tuple[actions.Outcome, str]] = {
    "no-changes": (actions.Outcome("a", "a", "p", "ocp4", ExitCode.OK, plan=_plan(Action.NOOP)), "without"),
    "changes": (
        actions.Outcome("b", "b", "p", "ocp4", ExitCode.CHANGES, plan=_plan(Action.CREATE)),
        "changes",
    ),
    "changes-no-detailed": (
        actions.Outcome("c", "c", "p", "ocp4", ExitCode.OK, plan=_plan(Action.UPDATE)),
        "changes",
    ),
    "plan-errors-with-changes": (
        actions.Outcome(
            "d", "d", "p", "ocp4", ExitCode.INVALID, plan=_plan(Action.BLOCKED, Action.CREATE, errors=1)
        ),
        "errors",
    ),
    "unreachable": (
        actions.Outcome("e", "e", "p", "auto", ExitCode.CLUSTER, error="down", state="failed"),
        "errors",
    ),
    "bug": (
        actions.Outcome("f", "f", "p", "auto", ExitCode.UNEXPECTED, error="boom", state="failed"),
        "errors",
    ),
}


@pytest.mark.parametrize(
    "mix", [list(m) for n in range(0, 4) for m in itertools.combinations_with_replacement(sorted(KINDS), n)]
)
def test_the_tally_counts_every_cluster_exactly_once(mix: list[str]) -> None:
    outcomes = [KINDS[k][0] for k in mix]
    changed, without, errors = fleetviews.plan_counts(outcomes)
    want = {b: sum(1 for k in mix if KINDS[k][1] == b) for b in ("changes", "without", "errors")}
    assert (changed, without, errors) == (want["changes"], want["without"], want["errors"])
    assert min(changed, without, errors) >= 0 and changed + without + errors == len(mix)
    code = actions.code_of(outcomes)
    line = fleetviews.plan_summary(outcomes, code).splitlines()[-1 - sum(1 for o in outcomes if o.error)]
    assert line == (
        f"{len(mix)} cluster(s): {changed} with changes, {without} without, {errors} with errors; "
        f"exit {int(code)}"
    )


ALL_CODES = [
    ExitCode.OK,
    ExitCode.CHANGES,
    ExitCode.INVALID,
    ExitCode.DESTRUCTIVE,
    ExitCode.STALE,
    ExitCode.CLUSTER,
    ExitCode.UNEXPECTED,
]


@pytest.mark.parametrize("mix", [list(m) for n in (1, 2, 3) for m in itertools.product(ALL_CODES, repeat=n)])
def test_the_exit_code_of_any_mix_is_its_most_severe(mix: list[ExitCode]) -> None:
    rank = [code for code, _ in actions.SEVERITY]
    want = min(mix, key=rank.index)
    assert actions.most_severe(mix) is want and actions.most_severe(list(reversed(mix))) is want
    outcomes = [actions.Outcome(f"c{i}", "x", "p", "ocp4", c) for i, c in enumerate(mix)]
    assert actions.code_of(outcomes) is want


def test_severity_ranks_every_exit_code_once() -> None:
    assert sorted(code for code, _ in actions.SEVERITY) == sorted(ExitCode)


@pytest.mark.parametrize(
    ("plan", "detailed", "code"),
    [
        (_plan(Action.NOOP), True, ExitCode.OK),
        (_plan(Action.CREATE), True, ExitCode.CHANGES),
        (_plan(Action.CREATE), False, ExitCode.OK),
        (_plan(Action.CREATE, errors=1), False, ExitCode.INVALID),
        (_plan(Action.NOOP, errors=1), True, ExitCode.INVALID),
    ],
)
def test_plan_code_is_the_commands_for_one_and_for_many(plan: Plan, detailed: bool, code: ExitCode) -> None:
    assert actions.plan_code(plan, detailed_exitcode=detailed) is code


def test_check_saved_names_both_and_accepts_auto() -> None:
    plan = _plan(Action.CREATE)
    actions.check_saved(plan, Path("p.json"), actions.Expect("p", "auto", "ws:3: cluster a"))
    actions.check_saved(plan, Path("p.json"), actions.Expect("p", "ocp4", "ws:3: cluster a"))
    with pytest.raises(
        InvalidInput,
        match=r"p.json: the plan is for profile 'p' \(the entry says q\) and target "
        r"ocp4 \(the entry says ocp3\) of ws:3: cluster a; nothing was applied",
    ):
        actions.check_saved(plan, Path("p.json"), actions.Expect("q", "ocp3", "ws:3: cluster a"))


@pytest.mark.parametrize("kind", ["fifo", "symlink", "dir"])
def test_a_plan_dir_entry_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, clusters: Clusters, kind: str
) -> None:
    path = _plans(tmp_path, clusters)
    entry = tmp_path / "plans" / "b.json"
    entry.unlink()
    if kind == "fifo":
        os.mkfifo(entry)  # reading it would block for ever
    elif kind == "symlink":
        (tmp_path / "elsewhere.json").write_text((tmp_path / "plans" / "a.json").read_text())
        entry.symlink_to(tmp_path / "elsewhere.json")
    else:
        entry.mkdir()
    refused = r"b\.json is (not a regular file|a symlink|a directory).*nothing was applied"
    with pytest.raises(InvalidInput, match=refused):
        run_fleet(path, "apply", plan_dir=tmp_path / "plans", apply=actions.ApplyOptions(yes=True))
    assert clusters.connects == [] and not clusters.fakes["c1"].plan_writes()


def test_the_documented_severity_order_is_the_engines() -> None:
    """docs/fleet.md restates the order for users (they have no source): it must be the engine's."""
    text = (ROOT / "docs" / "fleet.md").read_text()
    table = text[text.index("| rank | code | why it ranks there |") :].splitlines()[2:9]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table]
    assert [int(code) for _, code, _ in rows] == [int(code) for code, _ in actions.SEVERITY]


HOSTILE = [
    "evil\x1b]0;owned\x07",
    "ebs\nregplan: 0 cluster(s) failed",
    "a\u2028b",
    "x" * 5000,
    "$(rm -rf ~)",
]


@pytest.mark.parametrize("profile", HOSTILE)
def test_a_plan_files_strings_reach_messages_quoted(profile: str) -> None:
    plan = _plan(Action.CREATE)
    plan.profile = profile
    plan.source = f"cluster {profile}"
    with pytest.raises(InvalidInput) as err:
        actions.check_saved(plan, Path("p.json"), actions.Expect("ebs-gp2-rwo", "auto", "ws:3: cluster a"))
    other = actions.other_server(plan, "https://memory", "p.json")
    assert other is not None
    for message in (str(err.value), other):
        assert not any(c in message for c in "\x1b\x07\n\u2028") and len(message) < 400
        assert escape.quoted(profile) in message


def test_every_field_of_a_workspace_entry_reaches_the_options() -> None:
    """A field added to a workspace entry (e.g. ``set_strings``) must be wired into the single-cluster
    options (``fleet.value_options`` / ``cluster_options`` / ``plan_options``), or it would be ignored."""
    import dataclasses

    wired = {"name", "context", "target", "profile", "kubeconfig", "values", "sets", "set_strings", "labels"}
    about_the_file = {"line", "context_line"}  # where the entry is, for messages
    fields = {f.name for f in dataclasses.fields(workspace.ClusterSpec)}
    assert fields <= wired | about_the_file, f"not wired into the options: {fields - wired - about_the_file}"


def test_set_string_reaches_a_workspace_cluster_as_on_the_command_line(tmp_path: Path) -> None:
    """`setString:` in a workspace entry loads the values `--set-string` gives for one cluster (a claim
    class named 123 stays the string "123"), in the same order after `set:`."""
    from regplan.core import values

    path = make_workspace(
        tmp_path,
        """
        clusters:
          - name: a
            profile: ebs-gp2-rwo
            set: [claim.storageClass=fast]
            setString: [claim.storageClass=123]
        """,
    )
    ws = workspace.load(path)
    v = fleet.value_options(ws, ws.clusters[0])
    many = values.load_values(v.profile, files=list(v.values_files), sets=list(v.sets),
                              set_strings=list(v.set_strings), profiles_dir=None, environ={})  # fmt: skip
    one = cli.parse(
        [
            "plan",
            "-p",
            "ebs-gp2-rwo",
            "--set",
            "claim.storageClass=fast",
            "--set-string",
            "claim.storageClass=123",
        ],
        environ={},
    ).options.values
    single = values.load_values(one.profile, files=[], sets=list(one.sets), set_strings=list(one.set_strings),
                                profiles_dir=None, environ={})  # fmt: skip
    assert many.data["claim"]["storageClass"] == "123" == single.data["claim"]["storageClass"]
    assert many.data == single.data


def test_reads_default_to_32_clusters_at_once_and_applys_writes_to_8(
    tmp_path: Path, clusters: Clusters, monkeypatch: pytest.MonkeyPatch
) -> None:
    five(clusters)
    path = make_workspace(tmp_path)
    seen: list[tuple[str, int]] = []
    real = fleet.run_many

    def recorded(specs: Any, body: Any, *, parallelism: int = 0, **kw: Any) -> Any:
        seen.append((body.__qualname__, parallelism))
        return real(specs, body, parallelism=parallelism, **kw)

    monkeypatch.setattr(fleet, "run_many", recorded)
    no_wait = actions.ApplyOptions(yes=True, wait=False)
    for command, given in (("plan", {}), ("status", {}), ("apply", {"apply": no_wait})):
        code = commands.fleet(
            commands.FleetOptions(command=command, workspace=path, **given),  # no --parallelism
            reporter=commands.Reporter(out=lambda _: None, err=lambda _: None),
            is_tty=False,
            environ={},
        )
        assert code is not ExitCode.UNEXPECTED
    assert [n for _, n in seen] == [32, 32, 32, 8], seen  # plan, status, apply's plans, apply's writes
    assert fleet.default_parallelism() == fleet.DEFAULT_PARALLELISM == 32
    assert fleet.default_parallelism(writes=True) == fleet.WRITE_PARALLELISM == 8
    seen.clear()
    commands.fleet(
        commands.FleetOptions(
            command="apply", workspace=path, parallelism=3, apply=actions.ApplyOptions(yes=True, wait=False)
        ),
        reporter=commands.Reporter(out=lambda _: None, err=lambda _: None),
        is_tty=False,
        environ={},
    )
    assert [n for _, n in seen] == [3, 3]  # --parallelism, given: both phases
