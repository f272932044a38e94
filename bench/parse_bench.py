"""Worst-case parse time of hostile and large inputs (issue 8 item 1): any input up to 10 MB answered < 2 s.

Generates the hostile cases into a temporary directory (billion laughs, with merge keys, nesting deep in
block and flow style and through an alias, a 10 MB plain snapshot, long scalars and comments, many keys,
the largest inputs still accepted, one byte over the size bound; JSON: deep, wide, long) and times:

- regplan's readers in this process: the values file reader (``values.load_values -f``), the snapshot
  reader (``snapshot.read_objects``) and the plan-file loader (``safeload.load_json``);
- the real CLI: ``regplan validate -p ebs-gp2-rwo -f FILE`` and
  ``regplan plan -p ebs-gp2-rwo --snapshot FILE`` (each a fresh process: start-up included).

Prints one row per case and reader (size, median of the runs, answer) and the worst case of each.

    python bench/parse_bench.py [--runs 3] [--no-cli] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regplan.base import safeload  # noqa: E402
from regplan.base.errors import RegplanError  # noqa: E402
from regplan.core import values  # noqa: E402
from regplan.engine import snapshot  # noqa: E402

AIM_S = 2.0
MB = 1024 * 1024
REGPLAN = str(Path(sys.executable).parent / "regplan")
SNAPSHOT = (ROOT / "examples/snapshots/ocp4-pvc-pending.yaml").read_text()


# --- the cases ------------------------------------------------------------------------------------------


def laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def laughs_merge(levels: int = 16) -> str:
    lines = ["m0: &m0 {a: 1, b: 2}"]
    for i in range(1, levels):
        below = f"*m{i - 1}"
        lines.append(
            f"m{i}: &m{i} {{x{i}: 1, <<: [{below}], y{i}: {{<<: {below}}}, z{i}: [{below}, {below}]}}"
        )
    return "\n".join(lines) + "\n"


def fill(unit: str, size: int) -> str:
    return unit * (size // len(unit))


def snapshot_copies(max_nodes: int) -> str:
    """As many copies of the example snapshot (documents) as stay within ``max_nodes``."""
    acct = safeload.Accountant("x", safeload.Limits(max_nodes=10**9))
    import yaml

    acct.feed_all(yaml.parse(SNAPSHOT, Loader=yaml.CSafeLoader))
    copies = max(1, max_nodes // acct.total - 1)
    return "\n---\n".join([SNAPSHOT] * copies)


def yaml_cases() -> dict[str, str]:
    deep_block_levels = 3000
    return {
        "billion-laughs (600 B)": laughs(),
        "billion-laughs-merge-keys": laughs_merge(),
        "deep-block-mappings": "".join(" " * i + "k:\n" for i in range(deep_block_levels)),
        "deep-flow-sequences-10MB": "[" * (10 * MB - 1),
        "deep-flow-mappings-10MB": fill("{a: ", 10 * MB - 1),
        "deep-through-an-alias": "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n",
        "plain-snapshot-10MB": fill(SNAPSHOT + "\n---\n", 10 * MB - 1),
        "snapshot-largest-accepted": snapshot_copies(safeload.DEFAULT.max_nodes),
        "long-scalar-10MB": "a: " + "x" * (10 * MB - 10) + "\n",
        "long-quoted-scalar-10MB": 'a: "' + "x" * (10 * MB - 10) + '"\n',
        "long-comment-10MB": "#" + "x" * (10 * MB - 10) + "\n",
        "many-keys-10MB": "".join(f"k{i}: {i}\n" for i in range(1_000_000))[: 10 * MB - 1],
        "many-items-10MB": "[" + fill("0,", 10 * MB - 4) + "0]\n",
        "values-largest-accepted (comments)": fill("# comment line\n", safeload.VALUES.max_bytes - 20)
        + "replicas: 1\n",
        "values-keys-at-node-bound": "".join(
            f"k{i}: {i}\n" for i in range(safeload.VALUES.max_nodes // 2 - 1)
        ),
        "one-byte-over-10MB": "#" + "x" * (10 * MB) + "\n",
    }


def json_cases() -> dict[str, str]:
    doc = {"formatVersion": 1, "items": [{"k": "v" * 20, "n": i} for i in range(5)]}
    one = json.dumps(doc)
    return {
        "json-deep-arrays-10MB": "[" * (5 * MB) + "]" * (5 * MB),
        "json-deep-objects": '{"a":' * 500_000 + "1" + "}" * 500_000,
        "json-many-items-10MB": "[" + fill("0,", 10 * MB - 4) + "0]",
        "json-long-string-10MB": '{"a": "' + "x" * (10 * MB - 20) + '"}',
        "json-many-objects-10MB": "[" + ",".join([one] * ((10 * MB) // (len(one) + 1) - 1)) + "]",
    }


# --- timing ---------------------------------------------------------------------------------------------


def answer_of(fn: Callable[[], object]) -> str:
    try:
        fn()
    except RegplanError as err:
        text = str(err).splitlines()[0]
        text = text.split(": ", 1)[1] if ": " in text else text  # drop the file name
        return (text if text.startswith("refused") else "refused: " + text)[:80]
    return "read"


def timed(fn: Callable[[], object], runs: int) -> tuple[float, str]:
    times = []
    answer = ""
    for _ in range(runs):
        start = time.perf_counter()
        answer = answer_of(fn)
        times.append(time.perf_counter() - start)
    return statistics.median(times), answer


def timed_cli(cmd: list[str], runs: int) -> tuple[float, str]:
    times = []
    rc = 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - start)
        rc = proc.returncode
    return statistics.median(times), f"exit {rc}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-cli", action="store_true", help="time the readers only, not the CLI")
    ap.add_argument("--only", default="", help="only the cases whose name contains this")
    args = ap.parse_args()

    rows: list[tuple[str, str, int, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="regplan-parse-bench-") as tmp:
        for name, text in {**yaml_cases(), **json_cases()}.items():
            if args.only not in name:
                continue
            path = Path(tmp) / ("case.json" if name.startswith("json") else "case.yaml")
            path.write_text(text)
            size = path.stat().st_size
            readers: dict[str, Callable[[], object]]
            if name.startswith("json"):
                readers = {
                    "safeload.load_json": lambda p=path: safeload.load_json(
                        safeload.read_bytes(p, what="plan file"), source=str(p)
                    )
                }
            else:
                readers = {
                    "values -f": lambda p=path: values.load_values(
                        "ebs-gp2-rwo", files=[p], sets=[], profiles_dir=None, environ={}
                    ),
                    "snapshot": lambda p=path: snapshot.read_objects(p),
                }
            for reader, fn in readers.items():
                median, answer = timed(fn, args.runs)
                rows.append((name, reader, size, median, answer))
                print(f"{name:46} {reader:20} {size / MB:7.2f} MB {median:7.3f} s  {answer}", flush=True)
            if args.no_cli or name.startswith("json"):
                continue
            for reader, cmd in {
                "cli validate -f": [REGPLAN, "validate", "-p", "ebs-gp2-rwo", "-f", str(path)],
                "cli plan --snapshot": [REGPLAN, "plan", "-p", "ebs-gp2-rwo", "--snapshot", str(path)],
            }.items():
                median, answer = timed_cli(cmd, args.runs)
                rows.append((name, reader, size, median, answer))
                print(f"{name:46} {reader:20} {size / MB:7.2f} MB {median:7.3f} s  {answer}", flush=True)

    print()
    for group in ("values -f", "snapshot", "safeload.load_json", "cli validate -f", "cli plan --snapshot"):
        mine = [r for r in rows if r[1] == group]
        if mine:
            worst = max(mine, key=lambda r: r[3])
            print(f"worst {group:20} {worst[3]:6.3f} s  ({worst[0]}, {worst[4]})")
    worst_all = max(rows, key=lambda r: r[3]) if rows else None
    if worst_all is None:
        return 0
    verdict = "met" if worst_all[3] < AIM_S else "MISSED"
    print(
        f"worst case overall: {worst_all[3]:.3f} s ({worst_all[0]}, {worst_all[1]}): aim < {AIM_S} s", verdict
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
