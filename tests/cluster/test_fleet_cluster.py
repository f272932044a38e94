"""The fleet commands against real control planes: the 4.x and 3.x apiservers at once, several contexts
per plane (one kubeconfig), plus a forbidden context (the limited user) and an unreachable one.

Checks: each cluster's plan equals the single-cluster plan of its context; a forbidden or unreachable
cluster is that cluster's error (exit 4 overall) and the others are planned; snapshot + plan
--snapshot-dir gives the live plan's changes offline; apply many applies each cluster (then nothing is
left to plan), honours --max-failures, and reports done / failed / not started; status shows one row each.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from harness import TargetCluster


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fleet_kubeconfig(path: Path, ocp4: TargetCluster, ocp3: TargetCluster) -> Path:
    """One kubeconfig: contexts a4, b4 (admin on 4.x), a3 (admin on 3.x), limited4 (no rights on 4.x),
    down (nothing listens), and spare ones."""
    clusters: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    contexts: list[dict[str, Any]] = []
    for tag, c in (("4", ocp4), ("3", ocp3)):
        cfg = c._kubeconfig
        (cl,) = cfg["clusters"]
        clusters.append({"name": f"ocp{tag}", "cluster": cl["cluster"]})
        users += [{"name": f"{u['name']}{tag}", "user": u["user"]} for u in cfg["users"]]
    ca = clusters[0]["cluster"]["certificate-authority-data"]
    clusters.append({"name": "down", "cluster": {"server": f"https://127.0.0.1:{closed_port()}",
                                                 "certificate-authority-data": ca}})  # fmt: skip
    for name, cluster, user in (
        ("a4", "ocp4", "admin4"),
        ("b4", "ocp4", "admin4"),
        ("a3", "ocp3", "admin3"),
        ("limited4", "ocp4", "limited4"),
        ("down", "down", "admin4"),
    ):
        contexts.append({"name": name, "context": {"cluster": cluster, "user": user}})
    # spare contexts: each connection reads the parsed file and hands the client only its own context
    contexts += [{"name": f"spare{i}", "context": {"cluster": "ocp4", "user": "admin4"}} for i in range(5)]
    doc = {"apiVersion": "v1", "kind": "Config", "clusters": clusters, "users": users, "contexts": contexts,
           "current-context": "a4"}  # fmt: skip
    path.write_text(yaml.safe_dump(doc))
    return path


WORKSPACE = """
defaults:
  kubeconfig: kubeconfig
  profile: ebs-gp2-rwo
clusters:
  - {name: dev-a, context: a4, labels: {env: dev}}
  - {name: dev-b, context: b4, profile: glusterfs, labels: {env: dev}}
  - {name: legacy, context: a3, profile: glusterfs, labels: {env: prod, generation: "3"}}
  - {name: forbidden, context: limited4, labels: {env: prod}}
  - {name: gone, context: down, labels: {env: prod}}
"""


def workspace(tmp_path: Path, ocp4: TargetCluster, ocp3: TargetCluster) -> Path:
    fleet_kubeconfig(tmp_path / "kubeconfig", ocp4, ocp3)
    (tmp_path / "regplan.yaml").write_text(WORKSPACE)
    return tmp_path


def regplan(*argv: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regplan", *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


def actions(plan: dict[str, Any]) -> dict[str, str]:
    return {c["ref"]: c["action"] for c in plan["changes"]}


def test_plan_many_contexts_with_a_forbidden_and_an_unreachable_cluster(
    ocp4_cluster: TargetCluster, ocp3_cluster: TargetCluster, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, ocp4_cluster, ocp3_cluster)
    p = regplan("plan", "-o", "json", "--parallelism", "3", cwd=ws)
    assert p.returncode == 4, p.stderr
    doc = json.loads(p.stdout)
    by_name = {c["name"]: c for c in doc["clusters"]}
    assert list(by_name) == ["dev-a", "dev-b", "legacy", "forbidden", "gone"]
    for name, context, profile in (("dev-a", "a4", "ebs-gp2-rwo"), ("dev-b", "b4", "glusterfs"),
                                   ("legacy", "a3", "glusterfs")):  # fmt: skip
        one = regplan("plan", "-p", profile, "--kubeconfig", "kubeconfig", "--context", context, "-o", "json",
                      cwd=ws)  # fmt: skip
        assert one.returncode == 0, one.stderr
        single = json.loads(one.stdout)
        assert by_name[name]["exitCode"] == 0 and by_name[name]["error"] == ""
        assert actions(by_name[name]["plan"]) == actions(single), name
        assert by_name[name]["plan"]["writes"] == single["writes"]
    assert by_name["legacy"]["target"] == "ocp3" and by_name["dev-a"]["target"] == "ocp4"
    assert by_name["forbidden"]["exitCode"] == 4 and "forbidden" in by_name["forbidden"]["error"].lower()
    assert by_name["gone"]["exitCode"] == 4 and "plan" not in by_name["gone"]
    # the text view: summary first, errors named, the good clusters' plans follow
    text = regplan("plan", "-l", "env=dev", cwd=ws)
    assert text.returncode == 0 and text.stdout.splitlines()[0].startswith("CLUSTER")
    assert "=== dev-b (context b4) ===" in text.stdout


def test_snapshot_then_offline_plan_equals_the_live_plan(
    ocp4_cluster: TargetCluster, ocp3_cluster: TargetCluster, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, ocp4_cluster, ocp3_cluster)
    sel = ["-l", "env=dev,!nothing", "--cluster", "dev-a", "--cluster", "dev-b"]
    snap = regplan("snapshot", *sel, cwd=ws)
    assert snap.returncode == 0, snap.stderr
    snap3 = regplan("snapshot", "--cluster", "legacy", cwd=ws)
    assert snap3.returncode == 0, snap3.stderr
    recorded = (ws / "snapshots" / "legacy.yaml").read_text()
    assert "kind: List" in recorded and "managedFields" not in recorded
    live = json.loads(regplan("plan", "-o", "json", "--cluster", "dev-a", "--cluster", "dev-b",
                              "--cluster", "legacy", cwd=ws).stdout)  # fmt: skip
    offline = regplan("plan", "-o", "json", "--snapshot-dir", "snapshots", "-l", "env in (dev,prod),!x",
                      "--cluster", "dev-a", "--cluster", "dev-b", "--cluster", "legacy", cwd=ws)  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    off = json.loads(offline.stdout)
    for a, b in zip(live["clusters"], off["clusters"], strict=True):
        assert (a["name"], actions(a["plan"])) == (b["name"], actions(b["plan"]))
        assert a["plan"]["writes"] == b["plan"]["writes"]


def test_apply_many_then_nothing_left_and_max_failures(
    ocp4_cluster: TargetCluster, ocp3_cluster: TargetCluster, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, ocp4_cluster, ocp3_cluster)
    sel = ["--cluster", "gone", "--cluster", "dev-a", "--cluster", "legacy"]
    stopped = regplan("apply", *sel, "--plan-dir", "plans", "--yes", cwd=ws)
    assert stopped.returncode == 3 and "--plan-dir plans: no such directory" in stopped.stderr
    planned = regplan("plan", *sel, "--out", "plans", cwd=ws)
    assert planned.returncode == 4 and sorted(f.name for f in (ws / "plans").iterdir()) == [
        "dev-a.json", "legacy.json"
    ]  # fmt: skip
    first = regplan("apply", "--yes", "--no-wait", "--parallelism", "1", "--max-failures", "1", "-o", "json",
                    *sel, cwd=ws)  # fmt: skip
    doc = json.loads(first.stdout)
    assert first.returncode == 4
    # the plan of `gone` failed (a failure: the budget is spent), so no apply starts
    assert [(c["name"], c["state"]) for c in doc["clusters"]] == [
        ("dev-a", "not started"), ("legacy", "not started"), ("gone", "failed")
    ]  # fmt: skip
    # from the saved plans: both applied, each the existing safe apply (report per cluster)
    applied = regplan("apply", "--plan-dir", "plans", "--yes", "--no-wait", "-o", "json", cwd=ws)
    assert applied.returncode == 0, applied.stderr
    doc = json.loads(applied.stdout)
    assert [(c["name"], c["state"], c["report"]["exitCode"]) for c in doc["clusters"]] == [
        ("dev-a", "done", 0), ("legacy", "done", 0)
    ]  # fmt: skip
    assert all(c["report"]["writesDone"] > 0 for c in doc["clusters"])
    again = regplan("plan", "--cluster", "dev-a", "--cluster", "legacy", "--detailed-exitcode", cwd=ws)
    assert again.returncode == 0, again.stdout
    # applying the same saved plans again is refused as stale (exit 5), per cluster
    stale = regplan("apply", "--plan-dir", "plans", "--yes", "--no-wait", cwd=ws)
    assert stale.returncode == 5 and stale.stdout.count("failed") >= 2, stale.stdout


def test_status_one_row_per_cluster(
    ocp4_cluster: TargetCluster, ocp3_cluster: TargetCluster, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, ocp4_cluster, ocp3_cluster)
    p = regplan("status", cwd=ws)
    assert p.returncode == 4, p.stderr
    rows = {line.split()[0]: line.split() for line in p.stdout.splitlines()[1:6]}
    assert rows["dev-a"][1:3] == ["ocp4", "s3"] and rows["dev-a"][-1] == "yes"
    assert rows["legacy"][1] == "ocp3" and rows["legacy"][-1] == "yes"
    assert "error:" in " ".join(rows["forbidden"]) and "error:" in " ".join(rows["gone"])


def test_apply_many_re_derives_every_saved_write(
    ocp4_cluster: TargetCluster, ocp3_cluster: TargetCluster, tmp_path: Path
) -> None:
    """A hand-edited plan file in --plan-dir is refused as `apply PLANFILE` refuses it: exit 3, no write."""
    ws = workspace(tmp_path, ocp4_cluster, ocp3_cluster)
    planned = regplan("plan", "--cluster", "dev-a", "--out", "plans", cwd=ws)
    assert planned.returncode in (0, 2), planned.stderr
    path = ws / "plans" / "dev-a.json"
    doc = json.loads(path.read_text())
    patch = next(w for w in doc["writes"] if w["object"]["kind"] == "Config")
    patch["body"]["spec"]["managementState"] = "Removed"  # not what regplan plans for these inputs
    path.write_text(json.dumps(doc))
    before = ocp4_cluster.admin.get("Config", "cluster")["metadata"]["resourceVersion"]
    r = regplan("apply", "--plan-dir", "plans", "--cluster", "dev-a", "--yes", "--no-wait", cwd=ws)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "does not match what regplan plans" in r.stdout + r.stderr
    assert ocp4_cluster.admin.get("Config", "cluster")["metadata"]["resourceVersion"] == before
