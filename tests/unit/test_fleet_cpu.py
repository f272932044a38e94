"""A fleet's per-cluster CPU (issue 18) taken off the hot path without changing a byte: what a workspace
run shares or does faster (the render copied per cluster, the planner's rule look-ups kept, the indented
JSON of the views and plan files) gives exactly what one cluster at a time gives."""

from __future__ import annotations

import copy
import datetime
import json
import math
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from regplan.base import normalize, plain
from regplan.base.model import Target
from regplan.core import render, values
from regplan.engine import actions
from regplan.fleet import runs as fleet
from regplan.fleet import workspace
from regplan.present import fleetviews

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fleet"

# the four clusters of the example workspace, as entries repeated to make a fleet
ENTRIES = {
    "dev-us": "values: [values/ebs.yaml]",
    "stage-eu": "values: [values/ebs.yaml], set: [claim.size=200Gi]",
    "prod-eu": "profile: aws-s3",
    "legacy-us": "context: legacy-admin, target: ocp3, profile: glusterfs, values: [values/legacy.yaml]",
}


def fleet_of(tmp_path: Path, n: int) -> Path:
    shutil.copytree(EXAMPLE / "values", tmp_path / "values")
    (tmp_path / "snapshots").mkdir()
    lines = ["version: 1", "defaults: {profile: ebs-gp2-rwo, target: ocp4}", "clusters:"]
    kinds = list(ENTRIES)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        lines.append(f"  - {{name: {kind}-{i}, {ENTRIES[kind]}, labels: {{n: '{i}'}}}}")
        shutil.copy(EXAMPLE / "snapshots" / f"{kind}.yaml", tmp_path / "snapshots" / f"{kind}-{i}.yaml")
    (tmp_path / "regplan.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_a_50_cluster_plan_is_50_single_cluster_plans_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where `regplan plan` runs: the snapshot's source is named as given
    ws = workspace.load(fleet_of(tmp_path, 50) / "regplan.yaml")
    ctx = fleet.Context(ws=ws, environ={}, snapshot_dir=tmp_path / "snapshots")
    outs = fleet.plan_many(ctx, ws.clusters, parallelism=8)
    assert [o.name for o in outs] == [c.name for c in ws.clusters] and not any(o.error for o in outs)
    renders = ctx.shared.renders
    assert renders is not None and renders.misses == 4 and renders.hits == 46  # shared: 4 input sets
    for spec, out in zip(ws.clusters, outs, strict=True):
        # `regplan plan -p PROFILE -f ... --set ... --snapshot FILE`: nothing shared, one thread
        opts = actions.PlanOptions(
            values=fleet.value_options(ws, spec), target=spec.target,
            snapshot=Path("snapshots") / f"{spec.name}.yaml",
        )  # fmt: skip
        alone = actions.plan(opts, environ={})
        assert out.plan is not None
        assert out.plan.dumps() == alone.dumps(), spec.name
        assert out.plan.dumps() == json.dumps(alone.to_json(), indent=2, sort_keys=True) + "\n"
    # the fleet's -o json is the standard library's text of the same document
    text = fleetviews.fleet_json("FleetPlan", outs, actions.most_severe([o.code for o in outs]), "ws")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


# --- the indented JSON ---


HOSTILE_STRINGS = [
    "", "plain", "line\nbreak", "cr\rlf", "sep\u2028para\u2029", "\x00\x07\x1b[31mred\x1b[0m", "tab\t",
    'quote " and \\ backslash', "</script>", "ünïcödé ☃ 𝄞", "\ud800 lone surrogate", "${HOME} $(rm -rf /)",
    "key: value\n- item", "| md | table |", "A" * 100_000,
]  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, -1, 2**70, 1.5, -0.0, 1e300, float("nan"), float("inf"), -float("inf"),
        [], {}, [[]], {"a": {}}, [None, True, 1, 1.0, "1"],
        {s: s for s in HOSTILE_STRINGS}, list(HOSTILE_STRINGS),
        {"b": 1, "a": [1, {"d": [], "c": {"y": None, "x": [True, False]}}], "": "empty key"},
    ],
)  # fmt: skip
def test_indented_is_the_standard_librarys_text(value: Any) -> None:
    assert plain.indented(value) == json.dumps(value, indent=2, sort_keys=True)


class Str(str):
    pass


class Int(int):
    def __repr__(self) -> str:
        return "not-json"


@pytest.mark.parametrize(
    "value",
    [
        {2: "int key", 1: "int"}, {2.5: "float key", 0.5: "f"}, {True: "t", False: "f"}, {None: "none key"},
        {"s": Str("sub")}, {"i": Int(3)}, ("a", "tuple"), {"t": (1, 2)},
    ],
)  # fmt: skip
def test_indented_leaves_what_it_does_not_know_to_the_standard_library(value: Any) -> None:
    assert plain.indented(value) == json.dumps(value, indent=2, sort_keys=True)


def test_indented_raises_what_the_standard_library_raises() -> None:
    for bad in ({"a": {1, 2}}, {"a": b"bytes"}, {"a": datetime.date(2026, 1, 1)}, {1: "x", "a": "y"}):
        with pytest.raises(TypeError):
            json.dumps(bad, indent=2, sort_keys=True)
        with pytest.raises(TypeError):
            plain.indented(bad)
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular"):
        plain.indented(cycle)


def test_indented_deep_and_huge_values() -> None:
    deep: Any = "leaf"
    for i in range(400):
        deep = {f"k{i}": [deep]} if i % 2 else [deep]
    assert plain.indented(deep) == json.dumps(deep, indent=2, sort_keys=True)
    deeper: Any = []
    for _ in range(100_000):  # deeper than the recursion limit: the standard library's error, no crash
        deeper = [deeper]
    with pytest.raises(RecursionError):
        plain.indented(deeper)
    wide = {f"key{i:06d}": [i, str(i), i / 7, None] for i in range(20_000)}
    assert plain.indented(wide) == json.dumps(wide, indent=2, sort_keys=True)
    assert math.isnan(json.loads(plain.indented({"n": float("nan")}))["n"])


# --- the render's copy per cluster ---


def test_a_clusters_copy_of_a_shared_render_is_deepcopys_and_shares_nothing_mutable() -> None:
    shared: dict[str, Any] = {"spec": {"list": [1, {"x": "y"}]}, "when": datetime.date(2026, 12, 6)}
    alias = {"same": "object"}
    value: list[Any] = [shared, [alias, alias], "s", 1, 1.5, None, True, {"set": {1, 2}}]
    fresh = plain.copied(value)
    assert fresh == copy.deepcopy(value) == value
    assert fresh[1][0] is fresh[1][1] and fresh[1][0] is not alias  # an alias stays one object, copied
    fresh[0]["spec"]["list"][1]["x"] = "changed"
    fresh[7]["set"].add(3)
    assert value[0]["spec"]["list"][1]["x"] == "y" and value[7]["set"] == {1, 2}


def test_the_render_cache_hands_each_cluster_an_unshared_copy() -> None:
    cache = render.RenderCache()
    vals = values.load_values("ebs-gp2-rwo", files=[], sets=[], profiles_dir=None, environ={})
    target = Target("ocp4")
    first, second = cache.render(vals, target), cache.render(vals, target)
    assert first.objects == second.objects == render.render(vals, target).objects
    first.objects[0]["metadata"]["name"] = "changed by one cluster"
    assert second.objects[0]["metadata"]["name"] != "changed by one cluster"
    assert cache.render(vals, target).objects[0]["metadata"]["name"] != "changed by one cluster"


# --- the planner's kept rule look-ups ---


def test_kept_rule_answers_are_the_rules_answers_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normalize, "_applies_kept", {})
    monkeypatch.setattr(normalize, "_APPLIES_KEPT", 50)
    tables = (normalize.IGNORE, normalize.MASK, normalize.REBASE, normalize.NAMED_LISTS, normalize.QUANTITIES)
    paths = [
        ("metadata", "resourceVersion"), ("status",), ("spec", "storage", "s3", "bucket"), ("data", "x"),
        ("spec", "resources", "requests", "storage"), ("metadata", "annotations", "kubectl.kubernetes.io/x"),
        ("spec", "template", "spec", "containers", normalize.Item("registry"), "env"),
    ]  # fmt: skip
    kinds = ["Config", "Secret", "PersistentVolumeClaim", "DeploymentConfig", "Unknown\n\x1b"]
    expected = {
        (id(t), k, p): any(r.kind in (normalize.ANY, k) and normalize._match(r.path, p) for r in t)
        for t in tables for k in kinds for p in paths
    }  # fmt: skip
    assert any(expected.values()) and not all(expected.values())

    def ask(_: int) -> None:
        for _round in range(3):
            for t in tables:
                for k in kinds:
                    for p in paths:
                        assert normalize._applies(t, k, p) is expected[(id(t), k, p)]
                        assert len(normalize._applies_kept) <= 50

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a table made and dropped again never answers for another made later at the same address
    for _ in range(100):
        table = (normalize.PathRule("*", ("spec", "*"), "test"),)
        assert normalize._applies(table, "X", ("spec", "y")) is True
        other = (normalize.PathRule("*", ("nothing",), "test"),)
        assert normalize._applies(other, "X", ("spec", "y")) is False


def test_normalize_with_the_fast_copy_is_normalize_with_deepcopy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every snapshot object of the examples against itself and against an edited copy: the same
    normalised pair whichever copy is used, and the inputs untouched."""
    from regplan.engine import snapshot

    pairs = []
    for path in sorted((ROOT / "examples").rglob("snapshots/*.yaml")):
        for obj in snapshot.read_objects(path):
            edited = copy.deepcopy(obj)
            edited.setdefault("metadata", {}).setdefault("labels", {})["edited"] = "yes\n\u2028"
            edited["spec"] = {"nested": [{"name": "a", "value": [1, {"deep": None}]}], "when": "2026-12-06"}
            pairs += [(obj, obj), (edited, obj), (obj, None)]
    assert len(pairs) > 30
    fast = [normalize.normalize(d, lv) for d, lv in pairs]
    before = copy.deepcopy(pairs)
    monkeypatch.setattr(plain, "copied", copy.deepcopy)
    slow = [normalize.normalize(d, lv) for d, lv in pairs]
    assert fast == slow and pairs == before
    shared = [(n.desired, n.live) for n in fast]
    for (d, lv), (nd, nl) in zip(pairs, shared, strict=True):
        assert nd is not d and (nl is None or nl is not lv)


def test_the_fast_copy_of_deep_and_huge_values_is_deepcopys() -> None:
    deep: Any = {"leaf": "\u2028\x1b[0m"}
    for i in range(300):
        deep = [deep] if i % 2 else {"k": deep}
    assert plain.copied(deep) == copy.deepcopy(deep)
    deeper: Any = []
    for _ in range(100_000):  # deeper than the recursion limit: an error, as deepcopy's, never a crash
        deeper = [deeper]
    with pytest.raises(RecursionError):
        copy.deepcopy(deeper)
    with pytest.raises(RecursionError):
        plain.copied(deeper)
    wide = {f"k{i}": [i, {"s": str(i)}] for i in range(50_000)}
    out = plain.copied(wide)
    assert out == wide and out["k7"][1] is not wide["k7"][1]
