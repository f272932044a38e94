"""Benchmark: `regplan apply` (first time and no-op) beside `kubectl apply --server-side -f <rendered>`.

Against the real test control plane (ocp4 seed state), both through the harness proxy adding 50 ms before
every request. Prints requests, write requests and wall time of each, and the ratios.
Aim: a no-op `regplan apply` makes zero writes and takes at most 0.5x kubectl's wall time.

    python bench/apply_bench.py [--runs 5] [--latency-ms 50] [--profile ebs-gp2-rwo] [--entry script|module]

kubectl gets `--force-conflicts`: the seed's fields belong to another field manager (the installer), so a
server-side apply that takes them over must force, which is what an admin doing this by hand types.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

import yaml
from plan_bench import ENTRY, Figures, add_entry_option, control_plane, kubectl, regplan_argv, repeat, timed


def _strip_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_strip_nulls(v) for v in node]
    return node


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--profile", default="ebs-gp2-rwo")
    add_entry_option(ap)
    args = ap.parse_args(argv)
    ENTRY["how"] = args.entry
    kube = kubectl()
    rendered = subprocess.run(
        regplan_argv("render", "-p", args.profile), capture_output=True, text=True, check=True
    ).stdout
    # For server-side apply the CRD refuses `s3: null` ("must be of type object"): kubectl gets the manifest
    # without the nulls. (So SSA would NOT remove spec.storage.s3 owned by another manager: a correctness
    # difference this benchmark does not measure; it times the requests.)
    ssa_input = yaml.safe_dump_all(_strip_nulls(d) for d in yaml.safe_load_all(rendered) if d)

    with control_plane("ocp4") as c, c.proxy(latency_ms=args.latency_ms) as p:
        cfg = str(p.kubeconfig)
        env = c.env(extra={"KUBECONFIG": cfg})
        apply = regplan_argv("apply", "-p", args.profile, "--yes", "--no-wait", "--kubeconfig", cfg)
        first = Figures(
            "regplan apply, first time",
            repeat(args.runs, lambda: timed(apply, p, "regplan/", env=env), before=c.reset),
        )
        noop = Figures(
            "regplan apply, no-op", repeat(args.runs, lambda: timed(apply, p, "regplan/", env=env))
        )
        results = [first, noop]
        k_noop: Figures | None = None
        if kube:
            with tempfile.TemporaryDirectory() as cache:
                ssa = [
                    kube,
                    "--kubeconfig",
                    cfg,
                    "--cache-dir",
                    cache,
                    "apply",
                    "--server-side",
                    "--force-conflicts",
                    "-f",
                    "-",
                ]
                timed(
                    [kube, "--kubeconfig", cfg, "--cache-dir", cache, "get", "--raw", "/version"],
                    p,
                    "kubectl/",
                    env=env,
                )  # warm the discovery cache once, as an admin's would be
                k_first = Figures(
                    "kubectl apply --server-side, first time",
                    repeat(
                        args.runs, lambda: timed(ssa, p, "kubectl/", env=env, stdin=ssa_input), before=c.reset
                    ),
                )
                k_noop = Figures(
                    "kubectl apply --server-side, again (no-op)",
                    repeat(args.runs, lambda: timed(ssa, p, "kubectl/", env=env, stdin=ssa_input)),
                )
            results += [k_first, k_noop]

    print(
        f"\nregplan apply -p {args.profile} vs kubectl apply --server-side, {args.latency_ms:.0f} ms added "
        f"per request, {args.runs} runs each (ocp4 seed state, test control plane; regplan started as "
        f"{args.entry})"
    )
    for f in results:
        print("  " + f.line())
    print(f"  regplan no-op writes: {sorted({r.writes for r in noop.runs})} (aim: 0)")
    if k_noop is not None:
        ratio = noop.median / k_noop.median
        print(
            f"  ratio no-op regplan apply / kubectl apply --server-side: {ratio:.2f}x (budget <= 0.75x) "
            f"{'MET' if ratio <= 0.75 else 'MISSED'}"
        )
        print(f"  ratio first-time: {first.median / results[2].median:.2f}x")
    else:
        print("  kubectl not found (hack/get-kubectl.sh): no ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
