"""``python -m tools.golden --check | --update`` (``make golden``): files under ``golden/`` are what regplan
produces, byte for byte. Project tooling (tools/__init__.py), not shipped in the wheel.

Golden sets come from PRODUCERS (a table at the end of this module): each owns one directory under
``golden/`` and yields ``(path relative to golden/, text)``. ``--check`` compares every producer's output
with the tree (changed, missing and stale files) and returns a unified diff; ``--update`` rewrites the tree.
Reads and writes go through the file layer (``userfiles``): no symlink under the root is followed (one is
refused, exit 3), a file that is not UTF-8 shows as differing, and ``--update`` commits every file at once.
The sets: ``render`` (below), ``plan`` (scenario folders, ``tools.scenarios``) and ``fleet`` (the views of
the example workspace).

The built-in set renders every profile x target, with default values and with each fixture values file
``tests/fixtures/values/<profile>-<case>.yaml`` (``<profile>-<case>.<target>.yaml`` for one target only),
as YAML and as ``oc`` commands. Credentials in fixtures come from ``scenarios.FAKE_ENV``, so the output is
reproducible and holds no real-looking secret. A combination that is invalid by design (aws-s3 on ocp3
without a bucket) is kept as its error message: the message is part of the contract too.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from regplan.base import userfiles
from regplan.base.errors import ExitCode, InvalidInput, RegplanError
from tools import scenarios

Produce = Callable[[Path], Iterable[tuple[str, str]]]
FIXTURES = Path("tests/fixtures/values")


@dataclass(frozen=True)
class Producer:
    prefix: str  # the directory under golden/ it owns: files there that it does not produce are stale
    produce: Produce


@dataclass
class Result:
    code: ExitCode
    report: str  # unified diff (check) or list of written files (update)


def run(*, root: Path, update: bool, only: str | None = None) -> Result:
    """Check (``update=False``) or rewrite the golden tree under ``root/golden`` (``only``: one producer)."""
    # Resolved once, here: producers write paths relative to the root into golden files, and those must
    # not depend on how --root was spelled (`..`, `tests/..`, a symlink) or on the working directory.
    root = root.resolve()
    golden = root / "golden"
    if not (root / "pyproject.toml").exists() and not golden.is_dir():
        raise InvalidInput(f"--root {root}: not the project root (no golden/ or pyproject.toml)")
    wanted: dict[str, str] = {}
    owned: list[str] = []
    for producer in PRODUCERS:
        if only is not None and producer.prefix != only:
            continue
        owned.append(producer.prefix)
        for rel, text in producer.produce(root):
            if not rel.startswith(producer.prefix + "/"):
                raise InvalidInput(
                    f"golden producer {producer.prefix!r} yielded {rel!r} outside its directory"
                )
            wanted[rel] = text
    tree = userfiles.Root(root, str(root))
    present: set[str] = set()
    for prefix in owned:
        if tree.kind(f"golden/{prefix}") is not None:
            present.update(r.removeprefix("golden/") for r in userfiles.iter_files(tree, f"golden/{prefix}"))
    committed = {r: _read(tree, r) for r in sorted(present)}
    changed = [r for r in sorted(wanted) if committed.get(r) != wanted[r]]
    stale = sorted(present - set(wanted))
    if update:
        changes = userfiles.Changes(tree)  # one commit: nothing is written if any file cannot be
        lines = []
        for rel in changed:
            changes.write(f"golden/{rel}", wanted[rel])
            lines.append(f"wrote golden/{rel}")
        for rel in stale:
            changes.remove(f"golden/{rel}")  # the producer owns its directory (docstring): stale is its own
            lines.append(f"removed golden/{rel}")
        changes.commit()
        lines.append(f"{len(wanted)} golden files, {len(changed)} written, {len(stale)} removed")
        return Result(ExitCode.OK, "\n".join(lines) + "\n")
    out: list[str] = []
    for rel in changed:
        old = committed.get(rel, "")
        out += difflib.unified_diff(
            old.splitlines(keepends=True),
            wanted[rel].splitlines(keepends=True),
            f"a/golden/{rel}" if rel in present else "/dev/null",
            f"b/golden/{rel}",
        )
    for rel in stale:
        out += difflib.unified_diff(
            committed[rel].splitlines(keepends=True), [], f"a/golden/{rel}", "/dev/null"
        )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in out)
    if not text:
        return Result(ExitCode.OK, "")
    summary = (
        f"golden: {len(changed)} differing, {len(stale)} stale; "
        "run `python -m tools.golden --update` if intended\n"
    )
    return Result(ExitCode.CHANGES, text + summary)


NOT_TEXT = "(not UTF-8 text, {size} bytes: golden files are UTF-8)\n"


def _read(tree: userfiles.Root, rel: str) -> str:
    """A committed golden file's text; one that is not UTF-8 reads as a note that differs from anything
    produced (so --check shows it and --update rewrites it) instead of a crash."""
    data = tree.read(f"golden/{rel}", what="golden file") or b""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_TEXT.format(size=len(data))


# --- the built-in set: rendered manifests ----------------------------------------------------------------


def fixture_cases(root: Path, profile: str, target: str, profiles: Iterable[str]) -> list[tuple[str, Path]]:
    """(case name, file) of the fixtures of one profile on one target, by file name."""
    others = [p for p in profiles if p != profile and p.startswith(profile + "-")]  # longer names win
    cases = []
    for path in sorted((root / FIXTURES).glob(f"{profile}-*.yaml")):
        if any(path.name.startswith(o + "-") for o in others):
            continue
        case = path.name[len(profile) + 1 : -len(".yaml")]
        case, _, only = case.partition(".")
        if only and only != target:
            continue
        cases.append((case, path))
    return cases


def _relative(text: str, root: Path) -> str:
    # messages and `-o oc` name fixture paths: keep them independent of where the repo is checked out
    return text.replace(str(root.resolve()) + "/", "").replace(str(root) + "/", "")


def render_set(root: Path) -> Iterator[tuple[str, str]]:
    from regplan.base.model import Target
    from regplan.base.normalize import input_words
    from regplan.core import render, values
    from regplan.present import inventory, output

    names = [name for name, _ in values.list_profiles(profiles_dir=None)]
    for profile in names:
        targets = values.load_values(profile, files=[], sets=[], profiles_dir=None, environ={}).targets
        for target in targets:
            cases: list[tuple[str, list[Path]]] = [("default", [])]
            cases += [(c, [p.resolve()]) for c, p in fixture_cases(root, profile, target, names)]
            for case, files in cases:
                base = f"render/{profile}/{target}/{case}"
                try:
                    vals = values.load_values(
                        profile, files=files, sets=[], profiles_dir=None, environ=scenarios.FAKE_ENV
                    )
                    rendered = render.render(vals, render.parse_target(target))
                except RegplanError as err:
                    yield f"{base}.invalid.txt", _relative(f"exit {int(err.exit_code)}\n{err}\n", root)
                    continue
                inputs = input_words(files)  # the headers name the fixture (relative to the root)
                yield f"{base}.yaml", output.format_rendered(rendered, "yaml")
                yield f"{base}.oc.sh", _relative(output.format_rendered(rendered, "oc", inputs=inputs), root)
                if rendered.target is Target.OCP3:
                    yield (
                        f"{base}.inventory.ini",
                        _relative(inventory.for_rendered(rendered, inputs=inputs), root),
                    )


# --- the fleet views: golden/fleet/, from the example workspace --------------------------------------------

EXAMPLE = Path("examples/fleet/regplan.yaml")


def fleet_set(root: Path) -> list[tuple[str, str]]:
    """``golden/fleet/``: the summary, text, markdown and status views of the example workspace planned
    against its snapshots (offline, no environment): what reviewers read when a view changes."""
    from regplan.fleet import runs as fleet
    from regplan.fleet import workspace as wsmod
    from regplan.present import fleetviews

    ws = wsmod.load(root / EXAMPLE)
    ctx = fleet.Context(ws=ws, environ={}, snapshot_dir=ws.snapshot_dir)
    outcomes = fleet.plan_many(ctx, ws.clusters, parallelism=4, detailed_exitcode=True)
    code = fleet.code_of(outcomes)
    status = fleet.run_many(ws.clusters, lambda s: fleet.status_cluster(ctx, s), parallelism=4)
    # One cluster that fails (no snapshot recorded), to pin how an error shows beside the others.
    gone = wsmod.ClusterSpec(name="gone-us", context="gone-us", target="auto", profile="ebs-gp2-rwo")
    with_error = [
        *outcomes, *fleet.run_many([gone], lambda s: fleet.plan_cluster(ctx, s, detailed_exitcode=True))
    ]
    return [
        ("fleet/plan-with-error-summary.txt", fleetviews.plan_summary(with_error, fleet.code_of(with_error))),
        ("fleet/plan-with-error.md", fleetviews.plan_markdown(with_error, fleet.code_of(with_error))),
        ("fleet/plan-summary.txt", fleetviews.plan_summary(outcomes, code)),
        ("fleet/plan.txt", fleetviews.plan_text(outcomes, code)),
        ("fleet/plan.md", fleetviews.plan_markdown(outcomes, code)),
        ("fleet/status.txt", fleetviews.status_text(status, fleet.code_of(status))),
    ]


# The golden sets: directory under golden/ -> what produces it.
PRODUCERS: list[Producer] = [
    Producer("render", render_set),
    Producer("plan", scenarios.scenario_plans),
    Producer("fleet", fleet_set),
]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.golden --check | --update [--root DIR] [--only SET]``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.golden",
        description="Check (exit 2 and a diff if they differ) or rewrite regplan's own golden files.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="Compare with golden/; exit 2 and a diff.")
    mode.add_argument("--update", action="store_true", help="Rewrite the files under golden/.")
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR", help="The repository root.")
    parser.add_argument("--only", choices=[p.prefix for p in PRODUCERS], help="One golden set.")
    ns = parser.parse_args(argv)
    try:
        result = run(root=ns.root, update=ns.update, only=ns.only)
    except RegplanError as err:
        print(f"golden: {err}", file=sys.stderr)
        return int(err.exit_code)
    (sys.stderr if ns.update else sys.stdout).write(result.report)
    return int(result.code)


if __name__ == "__main__":
    sys.exit(main())
