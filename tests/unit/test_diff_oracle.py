"""The left-scoped diff (regplan.engine.diff) against an independent oracle: deepdiff.

regplan's diff is a small hand-written recursion (docs/ARCHITECTURE.md says why deepdiff is not used at run
time). Here deepdiff checks it: on a few thousand generated (desired, live) pairs without kind-specific
rules, the paths diff.py reports must be exactly deepdiff's symmetric differences, scoped to the left side:
values and types that changed, keys desired adds (except pure removals: ``None``, or a map of only
``None``s), and keys desired marks ``None`` that live holds. Keys only live holds are someone else's.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from deepdiff import DeepDiff

from regplan.base.normalize import Normalized, format_path
from regplan.engine.diff import ChangeKind, diff_objects

KIND = "Example"  # no rebase / ignore / mask / named-list rule applies to it
KEYS = ("a", "b", "c", "d")
SCALARS = ("x", "y", "1", 1, 2, 0)


def _value(rng: random.Random, depth: int, *, nones: bool) -> Any:
    roll = rng.random()
    if nones and roll < 0.15:
        return None
    if depth < 3 and roll < 0.5:
        return {k: _value(rng, depth + 1, nones=nones) for k in rng.sample(KEYS, rng.randint(0, 3))}
    return rng.choice(SCALARS)


def _pair(seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = random.Random(seed)
    live = {k: _value(rng, 1, nones=False) for k in rng.sample(KEYS, rng.randint(1, 4))}
    desired = {k: _value(rng, 1, nones=True) for k in rng.sample(KEYS, rng.randint(1, 4))}
    if rng.random() < 0.5:  # often start from live and change a little, as real plans do
        desired = {**live, **{k: v for k, v in desired.items() if rng.random() < 0.4}}
    return desired, live


def _only_removals(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict) and bool(value) and all(v is None for v in value.values())
    )


def oracle(desired: dict[str, Any], live: dict[str, Any]) -> set[tuple[str, ChangeKind]]:
    expected: set[tuple[str, ChangeKind]] = set()
    tree = DeepDiff(live, desired, view="tree", threshold_to_diff_deeper=0)  # always report key by key
    for report, levels in tree.items():
        for level in levels:
            path = format_path(tuple(level.path(output_format="list")))
            if report == "dictionary_item_added":
                if not _only_removals(level.t2):
                    expected.add((path, ChangeKind.ADDED))
            elif report in ("values_changed", "type_changes"):
                kind = ChangeKind.REMOVED if level.t2 is None else ChangeKind.CHANGED
                expected.add((path, kind))
            elif report != "dictionary_item_removed":  # keys only live holds are not ours
                raise AssertionError(f"unexpected deepdiff report {report}")
    return expected


@pytest.mark.parametrize("block", range(8))
def test_diff_agrees_with_deepdiff(block: int) -> None:
    for seed in range(block * 400, (block + 1) * 400):
        desired, live = _pair(seed)
        got = {(c.dotted, c.kind) for c in diff_objects(Normalized(KIND, desired, live))}
        assert got == oracle(desired, live), (seed, desired, live)
