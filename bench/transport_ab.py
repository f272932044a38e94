"""Benchmark: one `regplan plan` through the standard-library transport and through the official client.

The same command, the same kubeconfig (a token user, as the harness writes it), interleaved run by run:
the default (``regplan/cluster/direct.py``) and ``REGPLAN_TRANSPORT=client`` (the `kubernetes` client's
path, as before the standard-library transport). Through the benchmarks' latency proxy (bench/netproxy.py)
adding 50 ms per request.
Prints the median wall time and the median CPU time (user + system) of each, and the requests counted.

    python bench/transport_ab.py [--runs 9] [--latency-ms 50] [--profile ebs-gp2-rwo] [--proxy go|python]

Needs hack/build-testbin.sh. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from netproxy import KINDS, latency_proxy
from plan_bench import control_plane, regplan_argv  # also: bytecode compiled, as installed

MODES = {"stdlib": {}, "client": {"REGPLAN_TRANSPORT": "client"}}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--profile", default="ebs-gp2-rwo")
    ap.add_argument("--proxy", choices=KINDS, default="go", help="latency proxy")
    args = ap.parse_args(argv)
    with control_plane("ocp4") as c, latency_proxy(c, args.latency_ms, args.proxy) as p:
        cmd = regplan_argv("plan", "-p", args.profile, "--kubeconfig", str(p.kubeconfig))
        env = c.env(extra={"KUBECONFIG": str(p.kubeconfig)})
        wall: dict[str, list[float]] = {m: [] for m in MODES}
        cpu: dict[str, list[float]] = {m: [] for m in MODES}
        requests: dict[str, int] = {}
        for extra in MODES.values():  # warm the page cache and the bytecode
            subprocess.run(cmd, env={**env, **extra}, capture_output=True, check=False)
        for _ in range(args.runs):
            for mode, extra in MODES.items():
                before = len(p.requests)
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                r = subprocess.run(cmd, env={**env, **extra}, capture_output=True, text=True, check=False)
                wall[mode].append(time.perf_counter() - t0)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[mode].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
                requests[mode] = len(p.requests) - before
                if r.returncode not in (0, 2):
                    print(f"{mode}: exit {r.returncode}: {r.stderr.strip()}", file=sys.stderr)
                    return 1
    print(
        f"\nregplan plan -p {args.profile}, {args.runs} interleaved runs each, {args.latency_ms:.0f} ms per "
        f"request (load average {os.getloadavg()[0]:.1f} at the end)"
    )
    for mode in MODES:
        w, least, used = statistics.median(wall[mode]), min(wall[mode]), statistics.median(cpu[mode])
        print(
            f"  {mode:7s} wall {w * 1000:5.0f} ms (min {least * 1000:.0f})  cpu {used * 1000:5.0f} ms"
            f"  requests {requests[mode]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
