"""Benchmark: `regplan plan` over a workspace of many clusters vs one cluster vs a `kubectl diff` loop.

All contexts point at the same test control plane (4.x seed state) through the harness proxy, which adds
``--latency-ms`` (default 50) before every request, so each context behaves like a distant cluster:

(a) one cluster: `regplan plan -p PROFILE --context c0` (the single-cluster command);
(b) the fleet: `regplan plan` in a workspace of ``--clusters`` (default 50) clusters, one context each;
(c) `xargs -P8 kubectl diff -f <rendered>` over the same contexts (kubectl from hack/get-kubectl.sh,
    else the one on PATH), what a team scripts today;
(d) wall time and peak memory (max RSS) of the fleet plan with 50 and 500 contexts.

With ``--baseline DIR`` (a checkout of another regplan, e.g. ``git worktree add /tmp/before main``), (a)
and (b) are also timed with that tree first on PYTHONPATH, interleaved run by run with the current one
(before/after on a loaded machine), and (d) for both.

Aims (issue 18): (b) at most 2x (a) and 0.15x (c); 500 contexts at most 10x (a). Prints the figures and
the ratios; exits 0 unless something could not run. A benchmark, not a test: the figures move with the
machine's load (printed).

    python bench/fleet_bench.py [--runs 3] [--clusters 50] [--latency-ms 50] [--parallelism N]
                                [--memory 50,500] [--no-kubectl] [--baseline DIR] [--output json|text]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# An installed regplan has its bytecode compiled (pip does it); measure that, even where the environment
# sets PYTHONDONTWRITEBYTECODE (then every run of either tree would compile regplan from source, ~40-60 ms
# of CPU that no user pays). Every child of this benchmark inherits it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "bench"))

import yaml  # noqa: E402
from harness.cluster import kubectl  # noqa: E402
from netproxy import KINDS, latency_proxy  # noqa: E402
from plan_bench import control_plane, regplan_argv  # noqa: E402

PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def kubeconfig(proxy_cfg: Path, n: int, out: Path) -> list[str]:
    """``n`` contexts c0..c{n-1}, each with its own cluster entry, all at the proxy (admin user)."""
    cfg: dict[str, Any] = yaml.safe_load(proxy_cfg.read_text())
    (cluster,) = cfg["clusters"]
    names = [f"c{i}" for i in range(n)]
    cfg["clusters"] = [{"name": f"cl-{c}", "cluster": cluster["cluster"]} for c in names]
    cfg["contexts"] = [{"name": c, "context": {"cluster": f"cl-{c}", "user": "admin"}} for c in names]
    cfg["users"] = [u for u in cfg["users"] if u["name"] == "admin"]
    cfg["current-context"] = names[0]
    out.write_text(yaml.safe_dump(cfg))
    return names


def workspace(d: Path, names: list[str], profile: str) -> Path:
    lines = ["defaults:", f"  profile: {profile}", "  kubeconfig: kubeconfig", "clusters:"]
    lines += [f"  - {{name: {c}, labels: {{n: '{i}'}}}}" for i, c in enumerate(names)]
    (d / "regplan.yaml").write_text("\n".join(lines) + "\n")
    return d


def timed(
    argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, int]:
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if p.returncode not in (0, 1, 2):  # kubectl diff exits 1 when there are differences
        print(f"  ! {' '.join(argv[:4])}... exit {p.returncode}: {p.stderr.strip()[-400:]}", file=sys.stderr)
    return took, p.returncode


def median_of(runs: int, argv: list[str], **kw: Any) -> tuple[float, list[float], int]:
    times, code = [], 0
    for _ in range(runs):
        t, code = timed(argv, **kw)
        times.append(t)
    return statistics.median(times), times, code


def with_tree(env: dict[str, str], tree: Path | None) -> dict[str, str]:
    """``env`` running the regplan of ``tree`` (first on PYTHONPATH), or as is."""
    if tree is None:
        return env
    return {**env, "PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])}


def fmt(times: list[float]) -> str:
    lo, hi = min(times) * 1000, max(times) * 1000
    return f"median {statistics.median(times) * 1000:7.0f} ms (min {lo:.0f}, max {hi:.0f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clusters", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--proxy", choices=KINDS, default="go", help="latency proxy")
    ap.add_argument("--profile", default="ebs-gp2-rwo")
    ap.add_argument("--parallelism", type=int, default=None, help="default: regplan's own default")
    ap.add_argument("--memory", default="50,500", help="context counts to measure peak memory for")
    ap.add_argument("--no-kubectl", action="store_true")
    ap.add_argument("--baseline", type=Path, default=None, help="another regplan tree to time beside this")
    ap.add_argument("--output", default="json", help="the fleet plan's -o (json: the whole plans)")
    ap.add_argument("--xargs", type=int, default=8, help="kubectl diffs at once (xargs -P)")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    kube = None if args.no_kubectl else kubectl()
    par = [] if args.parallelism is None else ["--parallelism", str(args.parallelism)]

    with (
        control_plane("ocp4") as c,
        latency_proxy(c, args.latency_ms, args.proxy) as p,
        tempfile.TemporaryDirectory() as tmp,
    ):
        d = Path(tmp)
        assert p.kubeconfig is not None
        names = kubeconfig(Path(p.kubeconfig), args.clusters, d / "kubeconfig")
        ws = workspace(d, names, args.profile)
        env = {**os.environ, "KUBECONFIG": str(d / "kubeconfig")}
        one_argv = regplan_argv(
            "plan", "-p", args.profile, "--kubeconfig", str(d / "kubeconfig"), "--context", "c0"
        )
        fleet_argv = regplan_argv("plan", "-o", args.output, *par)
        trees: list[tuple[str, Path | None]] = [("after", None)]
        if args.baseline is not None:
            trees.append(("before", args.baseline.resolve()))
        for _, tree in trees:
            timed(one_argv, cwd=d, env=with_tree(env, tree))  # warm the OS page cache and the apiserver
        one_t: dict[str, list[float]] = {name: [] for name, _ in trees}
        many_t: dict[str, list[float]] = {name: [] for name, _ in trees}
        code = 0
        for _ in range(args.runs):  # interleaved: each run times every variant once
            for name, tree in trees:
                one_t[name].append(timed(one_argv, cwd=d, env=with_tree(env, tree))[0])
                took, code = timed(fleet_argv, cwd=ws, env=with_tree(env, tree))
                many_t[name].append(took)
        out = subprocess.run(
            regplan_argv("plan", "-o", "json", *par), cwd=ws, env=env, capture_output=True, text=True,
            check=False,
        ).stdout  # fmt: skip
        planned = sum(1 for cl in json.loads(out)["clusters"] if cl.get("plan")) if out else 0
        loop: list[float] = []
        if kube:
            rendered = d / "rendered.yaml"
            rendered.write_text(
                subprocess.run(
                    regplan_argv("render", "-p", args.profile), capture_output=True, text=True, check=True
                ).stdout
            )
            cache = d / "kubectl-cache"
            one_diff = (
                f"{shlex.quote(kube)} --cache-dir {shlex.quote(str(cache))} --context $0 diff "
                f"-f {shlex.quote(str(rendered))} >/dev/null; exit 0"
            )
            each = f"xargs -P{args.xargs} -n1 sh -c {shlex.quote(one_diff)}"
            script = f"printf '%s\\n' {' '.join(names)} | {each}"
            timed(["sh", "-c", script.replace(" ".join(names), "c0")], env=env)  # warm discovery cache
            _, loop, _ = median_of(args.runs, ["sh", "-c", script], env=env)
        memory: list[tuple[str, int, int, int, float]] = []
        for n in [int(x) for x in args.memory.split(",") if x]:
            sub = d / f"mem{n}"
            sub.mkdir()
            mem_names = kubeconfig(Path(p.kubeconfig), n, sub / "kubeconfig")
            workspace(sub, mem_names, args.profile)
            for name, tree in trees:
                t0 = time.perf_counter()
                r = subprocess.run(
                    [sys.executable, "-c", PEAK_RSS, *regplan_argv("plan", "-o", args.output, *par)],
                    cwd=sub, env=with_tree({**os.environ, "KUBECONFIG": str(sub / "kubeconfig")}, tree),
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                took = time.perf_counter() - t0
                rc, kib = (int(x) for x in r.stdout.split())
                memory.append((name, n, kib, rc, took))

    print(
        f"\nregplan plan -p {args.profile} over {args.clusters} contexts (one test control plane behind the "
        f"harness proxy, {args.latency_ms:.0f} ms added per request), {args.runs} interleaved runs each, "
        f"fleet output -o {args.output}"
    )
    load_after = os.getloadavg()
    print(
        f"  (machine: {os.cpu_count()} cores, load average {load_before[0]:.1f} at the start, "
        f"{load_after[0]:.1f} at the end)"
    )
    for name, _ in trees:
        one, many = statistics.median(one_t[name]), statistics.median(many_t[name])
        print(f"  [{name}]")
        print(f"  (a) one cluster, regplan plan --context c0        {fmt(one_t[name])}")
        print(
            f"  (b) workspace, regplan plan ({args.clusters} clusters)      {fmt(many_t[name])}  "
            f"exit {code}, "
            f"parallelism {args.parallelism or 'default'}"
        )
        ratio = many / one
        print(f"      ratio (b)/(a): {ratio:.2f}x (aim <= 2.00x) {'OK' if ratio <= 2.0 else 'MISSED'}")
        if loop:
            r = many / statistics.median(loop)
            print(f"      ratio (b)/(c): {r:.2f}x (aim <= 0.15x) {'OK' if r <= 0.15 else 'MISSED'}")
        for tree_name, n, kib, rc, took in memory:
            if tree_name == name:
                print(
                    f"  (d) {n} contexts: {took:.2f} s ({took / one:.1f}x (a)), {kib / 1024:.0f} MiB max RSS "
                    f"(exit {rc})"
                )
    print(f"  planned: {planned} of {args.clusters} clusters (current tree)")
    if loop:
        print(f"  (c) xargs -P{args.xargs} kubectl diff over {args.clusters} contexts  {fmt(loop)}")
    else:
        print("  (c) kubectl not found (hack/get-kubectl.sh): no kubectl figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
