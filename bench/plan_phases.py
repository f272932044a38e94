"""Per-phase timing of `regplan plan` against the real test control plane (what the wall time is made of).

Each run is a fresh interpreter (as `regplan plan` is) that times its own phases: interpreter start-up
(until this script's first line), importing the pipeline, the cluster adapter (and the `kubernetes` client
where the kubeconfig needs it) and the kubeconfig, loading values, target detection + render + reads (one
overlapped round trip with --target auto), planning, the server-side dry run, and the view. Through the
harness proxy adding 50 ms per request. Prints the median of each phase.

    python bench/plan_phases.py [--runs 5] [--latency-ms 50] [--profile ebs-gp2-rwo]

Needs hack/build-testbin.sh. A benchmark, not a test.
"""

from __future__ import annotations

import time

STARTED = time.time()  # the first thing this interpreter does

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from netproxy import KINDS, latency_proxy  # noqa: E402

# An installed regplan has its bytecode compiled (pip does it); measure that, even where the environment
# sets PYTHONDONTWRITEBYTECODE (then every run of either tree would compile regplan from source, ~40-60 ms
# of CPU that no user pays). Every child of this benchmark inherits it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def child(kubeconfig: str, profile: str, spawned: float) -> None:
    """One `regplan plan`, phase by phase; prints {phase: ms} as JSON."""
    sys.argv = ["regplan"]  # the lean client import applies to the regplan process only
    marks: list[tuple[str, float]] = [("interpreter start-up", STARTED)]
    from regplan.engine import plan as planmod
    from regplan.engine import workflow
    from regplan.present import views

    marks.append(("import pipeline (workflow, plan, rules, values)", time.time()))
    live = workflow.Live(snapshot=None, kubeconfig=kubeconfig, context=None)
    live.cluster  # noqa: B018 - connect: the adapter's import + kubeconfig (the client's only if needed)
    marks.append(("cluster adapter + kubeconfig", time.time()))
    from regplan.core import values

    vals = values.load_values(profile, files=[], sets=[], profiles_dir=None, environ=os.environ)
    marks.append(("load values", time.time()))
    rendered, state = workflow._render_and_read(vals, "auto", live)
    marks.append(("detect + render + read (1 round trip)", time.time()))
    result = planmod.make_plan(
        rendered, state, values_digest=vals.digest(), values_record=workflow.values_record(vals)
    )
    marks.append(("make plan", time.time()))
    replaced = {w.ref for w in result.writes if w.verb.value == "delete"}  # as workflow.make_plan
    checked = [w for w in result.writes if w.ref not in replaced]
    if checked and not result.errors:
        result.diagnostics.extend(live.cluster.dry_run(checked))
    marks.append((f"server dry run ({len(checked)} writes, 1 round trip)", time.time()))
    views.plan_text(result)
    marks.append(("view", time.time()))
    live.close()
    out, prev = {}, spawned
    for name, t in marks:
        out[name] = (t - prev) * 1000
        prev = t
    out["total"] = (prev - spawned) * 1000
    print(json.dumps(out))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--proxy", choices=KINDS, default="go", help="latency proxy")
    ap.add_argument("--profile", default="ebs-gp2-rwo")
    ap.add_argument("--child", nargs=2, metavar=("KUBECONFIG", "SPAWNED"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], args.profile, float(args.child[1]))
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from plan_bench import control_plane

    runs: list[dict[str, float]] = []
    with control_plane("ocp4") as c, latency_proxy(c, args.latency_ms, args.proxy) as p:
        env = c.env(extra={"KUBECONFIG": str(p.kubeconfig)})
        for _ in range(args.runs):
            cmd = [sys.executable, __file__, "--profile", args.profile, "--child", str(p.kubeconfig)]
            spawned = time.time()
            out = subprocess.run(
                [*cmd, str(spawned)], capture_output=True, text=True, env=env, check=True
            ).stdout
            runs.append(json.loads(out.splitlines()[-1]))
    print(
        f"\nregplan plan -p {args.profile}, phases (median of {args.runs} runs, ms), "
        f"{args.latency_ms:.0f} ms added per request"
    )
    for name in runs[0]:
        print(f"  {statistics.median(r[name] for r in runs):7.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
