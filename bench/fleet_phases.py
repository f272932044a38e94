"""What a workspace `regplan plan` over many contexts is made of, measured phase by phase.

Against the test control plane through the harness proxy (``--latency-ms``, default 50), with ``--clusters``
contexts (default 50) in one kubeconfig, each its own cluster entry at the one proxy (so they share one
connection pool: ``regplan/cluster/pool.py``). In a fresh interpreter per run, as the command is:

- start-up: the interpreter and the imports (what one cluster's `plan` pays too);
- the workspace: loading `regplan.yaml` and checking every context exists in the kubeconfig;
- the plans (``fleet.plan_many``): wall time, and this process's CPU time in it (one core at a time: the
  GIL), per cluster;
- the view (``-o json``);
- the floor of the harness: the same requests (7 per cluster in 3 round trips: 1, then 4 at once, then 2 at
  once, the shape of one plan: target detection reads Config/cluster, which the reads then reuse) through
  the same shared pool at the same concurrency, doing nothing else:
  the proxy (Python, TLS on both sides) and the apiserver share the machine's cores with regplan, so this
  is the least the plans can take here.

    python bench/fleet_phases.py [--runs 3] [--clusters 50] [--latency-ms 50] [--parallelism 8]

A benchmark, not a test: the figures move with the machine's load (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# An installed regplan has its bytecode compiled (pip does it); measure that, even where the environment
# sets PYTHONDONTWRITEBYTECODE (then every run of either tree would compile regplan from source, ~40-60 ms
# of CPU that no user pays). Every child of this benchmark inherits it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "bench"))

from fleet_bench import kubeconfig, workspace  # noqa: E402
from netproxy import KINDS, latency_proxy  # noqa: E402
from plan_bench import control_plane  # noqa: E402

CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
from pathlib import Path
from regplan.fleet import runs as fleet, workspace
from regplan.present import fleetviews
from regplan.engine.actions import code_of
from regplan.cluster import Cluster
t1 = time.perf_counter()
ws = workspace.load(Path("regplan.yaml"))
ctx = fleet.Context(ws=ws, environ=dict(os.environ))
fleet.check_contexts(ctx, ws.clusters)
t2 = time.perf_counter(); c2 = time.process_time()
outs = fleet.plan_many(ctx, ws.clusters, parallelism=int(sys.argv[1]))
t3 = time.perf_counter(); c3 = time.process_time()
text = fleetviews.fleet_json("FleetPlan", outs, code_of(outs), "regplan.yaml")
t4 = time.perf_counter()
# the floor: 7 GETs per cluster through one shared pool, at the same concurrency, nothing else
from concurrent.futures import ThreadPoolExecutor
from regplan.cluster.pool import Pools
pools = Pools(environ=os.environ)
clusters = [Cluster(context=s.context, pools=pools) for s in ws.clusters]
clusters[0].get_path("/version", what="warm")
def one_plan(c):  # a plan's shape: 1 request, then 4 at once, then 2 at once (3 round trips)
    get = lambda: c.get_path("/apis/imageregistry.operator.openshift.io/v1/configs/cluster", what="x")
    for width in (1, 4, 2):
        c._concurrently({str(i): get for i in range(width)})
t5 = time.perf_counter(); c5 = time.process_time()
with ThreadPoolExecutor(int(sys.argv[1])) as pool:
    list(pool.map(one_plan, clusters))
t6 = time.perf_counter(); c6 = time.process_time()
pools.close()
print(json.dumps({
    "startup": t1 + float(sys.argv[2]) - time.time() + (time.perf_counter() - t1) * 0,
    "imports": t1 - t0, "workspace": t2 - t1, "plans": t3 - t2, "plans_cpu": c3 - c2, "view": t4 - t3,
    "floor": t6 - t5, "floor_cpu": c6 - c5, "n": len(outs), "errors": sum(1 for o in outs if o.error),
    "renders": [ctx.shared.renders.hits, ctx.shared.renders.misses],
}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clusters", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--proxy", choices=KINDS, default="go", help="latency proxy")
    ap.add_argument("--parallelism", type=int, default=32)  # regplan's default for reads
    args = ap.parse_args()
    load = os.getloadavg()[0]
    runs: list[dict[str, float]] = []
    with (
        control_plane("ocp4") as c,
        latency_proxy(c, args.latency_ms, args.proxy) as p,
        tempfile.TemporaryDirectory() as t,
    ):
        d = Path(t)
        assert p.kubeconfig is not None
        names = kubeconfig(Path(p.kubeconfig), args.clusters, d / "kubeconfig")
        workspace(d, names, "ebs-gp2-rwo")
        env = {**os.environ, "KUBECONFIG": str(d / "kubeconfig")}
        for _ in range(args.runs):
            import time

            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(args.parallelism), str(time.time())],
                cwd=d, env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs.append(json.loads(out.stdout))
    n = args.clusters

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    def rng(key: str) -> str:
        vals = [r[key] * 1000 for r in runs]
        return f"{statistics.median(vals):6.0f} ms ({min(vals):.0f}-{max(vals):.0f})"

    print(
        f"\nregplan plan over {n} contexts, phase by phase ({args.runs} runs, {args.latency_ms:.0f} ms per "
        f"request, parallelism {args.parallelism}; load average {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end)"
    )
    print(f"  imports                                   {rng('imports')}")
    print(f"  workspace load + context check            {rng('workspace')}")
    per, cpu = med("plans") / n * 1000, med("plans_cpu") / n * 1000
    print(f"  plans (fleet.plan_many)                   {rng('plans')}  = {per:.1f} ms/cluster")
    print(f"    of which this process's CPU             {rng('plans_cpu')}  = {cpu:.1f} ms/cluster")
    print(f"  view (-o json)                            {rng('view')}")
    print(f"  floor: {7 * n} GETs, 3 round trips a cluster  {rng('floor')}")
    print(f"    of which this process's CPU             {rng('floor_cpu')}")
    print(f"  errors {max(r['errors'] for r in runs)}; renders (hits, misses) {runs[-1]['renders']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
