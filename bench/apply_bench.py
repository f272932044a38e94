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
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from netproxy import KINDS, latency_proxy
from plan_bench import (
    ENTRY,
    Figures,
    Run,
    add_baseline_option,
    add_entry_option,
    control_plane,
    interleaved,
    kubectl,
    regplan_argv,
    repeat,
    timed,
    with_tree,
)


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
    ap.add_argument("--proxy", choices=KINDS, default="go", help="latency proxy")
    ap.add_argument("--profile", default="ebs-gp2-rwo")
    add_baseline_option(ap)
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

    with control_plane("ocp4") as c, latency_proxy(c, args.latency_ms, args.proxy) as p:
        cfg = str(p.kubeconfig)
        env = c.env(extra={"KUBECONFIG": cfg})
        apply = regplan_argv("apply", "-p", args.profile, "--yes", "--no-wait", "--kubeconfig", cfg)
        first = Figures(
            "regplan apply, first time",
            repeat(args.runs, lambda: timed(apply, p, "regplan/", env=env), before=c.reset),
        )
        fns: dict[str, Callable[[], Run]] = {"after": lambda: timed(apply, p, "regplan/", env=env)}
        if args.baseline is not None:
            old_env = with_tree(env, args.baseline)
            fns["before"] = lambda: timed(apply, p, "regplan/", env=old_env)
        results = [first]
        k_noop: Figures | None = None
        before: Figures | None = None
        with tempfile.TemporaryDirectory() as cache:
            ssa = [kube or "kubectl", "--kubeconfig", cfg, "--cache-dir", cache, "apply", "--server-side"]
            ssa += ["--force-conflicts", "-f", "-"]
            if kube:
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
                fns["kubectl"] = lambda: timed(ssa, p, "kubectl/", env=env, stdin=ssa_input)
            # the no-ops, interleaved (regplan, the baseline, kubectl: one of each per round) after both
            # first-time applies (the state is applied by both)
            timed(apply, p, "regplan/", env=env)
            runs = interleaved(args.runs, fns)
        noop = Figures("regplan apply, no-op (interleaved)", runs["after"])
        results.append(noop)
        if "before" in runs:
            before = Figures("baseline regplan apply, no-op (interleaved)", runs["before"])
            results.append(before)
        if kube:
            k_noop = Figures("kubectl apply --server-side, again (no-op, interleaved)", runs["kubectl"])
            results += [k_first, k_noop]

    print(
        f"\nregplan apply -p {args.profile} vs kubectl apply --server-side, {args.latency_ms:.0f} ms added "
        f"per request, {args.runs} runs each (ocp4 seed state, test control plane; regplan started as "
        f"{args.entry})"
    )
    for f in results:
        print("  " + f.line())
    print(f"  regplan no-op writes: {sorted({r.writes for r in noop.runs})} (aim: 0)")
    print(f"  (load average {os.getloadavg()[0]:.1f} at the end)")
    if k_noop is not None:
        ratio = noop.median / k_noop.median
        print(
            f"  ratio no-op regplan apply / kubectl apply --server-side: {ratio:.2f}x (budget <= 1.00x) "
            f"{'MET' if ratio <= 1.0 else 'MISSED'}"
        )
        if before is not None:
            print(f"  ratio baseline no-op / kubectl: {before.median / k_noop.median:.2f}x")
        print(f"  ratio first-time: {first.median / k_first.median:.2f}x")
    else:
        print("  kubectl not found (hack/get-kubectl.sh): no ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
