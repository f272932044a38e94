"""Benchmark: requests and wall time of `regplan plan` against the real test control plane.

(a) with N unrelated PVCs and N unrelated Secrets in other namespaces, N = 10 and N = 10,000: the number
    of requests regplan makes must not change (it reads by name, never lists the cluster);
(b) beside `kubectl diff -f <rendered>` (kubectl v1.37 from hack/get-kubectl.sh) on the same objects;
both through the harness proxy adding 50 ms before every request. Prints the figures and the ratio.
Aim: regplan plan at most 0.5x kubectl diff's wall time at 50 ms.

    python bench/plan_bench.py [--runs 5] [--latency-ms 50] [--noise 10000] [--profile ebs-gp2-rwo]
                               [--entry script|module]

Needs hack/build-testbin.sh (and hack/get-kubectl.sh for the kubectl column). A benchmark, not a test:
it prints figures and exits 0 unless something could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# An installed regplan has its bytecode compiled (pip does it); measure that, even where the environment
# sets PYTHONDONTWRITEBYTECODE (then every run of either tree would compile regplan from source, ~40-60 ms
# of CPU that no user pays). Every child of this benchmark inherits it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "cluster"))

from harness import ApiProxy, ClusterPool, TargetCluster, find_binaries, is_write  # noqa: E402
from harness.cluster import kubectl  # noqa: E402
from netproxy import KINDS, latency_proxy  # noqa: E402


@dataclass
class Run:
    seconds: float
    requests: int
    writes: int  # real writes (not dryRun=All)
    dry_runs: int
    code: int


@dataclass
class Figures:
    label: str
    runs: list[Run]

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def line(self) -> str:
        r = self.runs[-1]
        reqs = sorted({x.requests for x in self.runs})
        lo, hi = (f(x.seconds for x in self.runs) * 1000 for f in (min, max))
        return (
            f"{self.label:<48} median {self.median * 1000:7.0f} ms  (min {lo:.0f}, max {hi:.0f})  "
            f"requests {'/'.join(map(str, reqs)):>5}  writes {r.writes}  dry-runs {r.dry_runs}  exit {r.code}"
        )


@contextlib.contextmanager
def control_plane(target: str = "ocp4") -> Iterator[TargetCluster]:
    with tempfile.TemporaryDirectory(prefix="regplan-bench-") as tmp:
        pool = ClusterPool(Path(tmp), find_binaries())
        try:
            yield pool.get(target)
        finally:
            pool.close()


def timed(
    argv: Sequence[str],
    proxy: ApiProxy,
    agent: str,
    *,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> Run:
    """Run one command through the proxy; count the requests whose user agent starts with ``agent``."""
    before = len(proxy.requests)
    t0 = time.perf_counter()
    p = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - t0
    mine = [q for q in proxy.requests[before:] if q.user_agent.startswith(agent)]
    dry = [q for q in mine if is_write(q) and "dryRun=All" in q.path]
    real = [q for q in mine if is_write(q) and "dryRun=All" not in q.path]
    if p.returncode not in (0, 1, 2):  # kubectl diff exits 1 when there are differences
        print(f"  ! {' '.join(argv[:4])}... exit {p.returncode}: {p.stderr.strip()[:300]}", file=sys.stderr)
    return Run(seconds, len(mine), len(real), len(dry), p.returncode)


def repeat(n: int, fn: Callable[[], Run], before: Callable[[], Any] | None = None) -> list[Run]:
    out = []
    for _ in range(n):
        if before is not None:
            before()
        out.append(fn())
    return out


def interleaved(n: int, fns: dict[str, Callable[[], Run]]) -> dict[str, list[Run]]:
    """Each of ``fns`` once per round, ``n`` rounds: variants compared on a loaded machine share its load."""
    out: dict[str, list[Run]] = {name: [] for name in fns}
    for _ in range(n):
        for name, fn in fns.items():
            out[name].append(fn())
    return out


def with_tree(env: dict[str, str] | None, tree: Path | None) -> dict[str, str] | None:
    """``env`` (None: this process's) running the regplan of ``tree`` first on PYTHONPATH; as is for None."""
    if tree is None:
        return env
    base = dict(os.environ if env is None else env)
    parts = [str(tree.resolve()), *filter(None, [base.get("PYTHONPATH")])]
    return {**base, "PYTHONPATH": os.pathsep.join(parts)}


def add_baseline_option(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another regplan tree (a checkout) timed beside this one, interleaved run by run",
    )


def add_noise(c: TargetCluster, n: int, namespaces: int = 10) -> float:
    """n unrelated PVCs and n unrelated Secrets spread over other namespaces; returns seconds taken."""
    t0 = time.perf_counter()
    names = [f"noise-{i}" for i in range(namespaces)]
    for ns in names:
        if c.admin.get_or_none("Namespace", ns) is None:
            c.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    have = sum(len(c.admin.list("Secret", ns)) for ns in names)

    def one(i: int) -> None:
        ns = names[i % namespaces]
        c.admin.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"s-{i}", "namespace": ns},
                "stringData": {"k": "v"},
            }
        )
        c.admin.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": f"c-{i}", "namespace": ns},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "",
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(have, n)))
    return time.perf_counter() - t0


# How the benchmarks start regplan: "script" is the console script users run (`regplan`), "module" is
# `python -m regplan` (as the tests run it); both are the one CLI (regplan.cli.app). Set by --entry.
ENTRY = {"how": "script"}


def regplan_argv(*args: str) -> list[str]:
    if ENTRY["how"] == "script":
        script = Path(sysconfig.get_path("scripts")) / "regplan"
        if script.is_file():
            return [str(script), *args]
        print(f"  ! {script} not found (pip install -e .): timing `python -m regplan`", file=sys.stderr)
    return [sys.executable, "-m", "regplan", *args]


def add_entry_option(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--entry",
        choices=("script", "module"),
        default="script",
        help="run the `regplan` console script (default) or `python -m regplan`",
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--proxy", choices=KINDS, default="go", help="latency proxy")
    ap.add_argument("--noise", type=int, default=10_000)
    ap.add_argument("--profile", default="ebs-gp2-rwo")
    add_baseline_option(ap)
    add_entry_option(ap)
    args = ap.parse_args(argv)
    ENTRY["how"] = args.entry
    kube = kubectl()

    with control_plane("ocp4") as c, latency_proxy(c, args.latency_ms, args.proxy) as p:
        cfg = str(p.kubeconfig)
        env = c.env(extra={"KUBECONFIG": cfg})
        plan = regplan_argv("plan", "-p", args.profile, "--kubeconfig", cfg)
        results: list[Figures] = []

        add_noise(c, 10)
        results.append(
            Figures(
                "regplan plan, 10 noise objects x2",
                repeat(args.runs, lambda: timed(plan, p, "regplan/", env=env)),
            )
        )
        took = add_noise(c, args.noise)
        print(
            f"(created {args.noise} PVCs + {args.noise} Secrets in 10 namespaces in {took:.0f}s)",
            file=sys.stderr,
        )
        kubectl_fig: Figures | None = None
        before_fig: Figures | None = None
        fns: dict[str, Callable[[], Run]] = {"after": lambda: timed(plan, p, "regplan/", env=env)}
        if args.baseline is not None:
            old_env = with_tree(env, args.baseline)
            timed(plan, p, "regplan/", env=old_env)  # warm the page cache for that tree too
            fns["before"] = lambda: timed(plan, p, "regplan/", env=old_env)
        with tempfile.TemporaryDirectory() as cache:
            if kube:
                rendered = subprocess.run(
                    regplan_argv("render", "-p", args.profile), capture_output=True, text=True, check=True
                ).stdout
                diff = [kube, "--kubeconfig", cfg, "--cache-dir", cache, "diff", "-f", "-"]
                timed(
                    diff, p, "kubectl/", env=env, stdin=rendered
                )  # warm kubectl's discovery cache, like an admin's
                fns["kubectl"] = lambda: timed(diff, p, "kubectl/", env=env, stdin=rendered)
            runs = interleaved(args.runs, fns)  # regplan, (the baseline,) kubectl: one of each per round
        results.append(Figures(f"regplan plan, {args.noise} noise objects x2", runs["after"]))
        if "before" in runs:
            before_fig = Figures(f"baseline regplan plan, {args.noise} noise objects x2", runs["before"])
            results.append(before_fig)
        if "kubectl" in runs:
            kubectl_fig = Figures("kubectl diff -f <rendered> (warm cache, interleaved)", runs["kubectl"])
            results.append(kubectl_fig)

    print(
        f"\nregplan plan -p {args.profile} vs kubectl diff, {args.latency_ms:.0f} ms added per request, "
        f"{args.runs} runs each (ocp4 seed state, test control plane; regplan started as {args.entry})"
    )
    for f in results:
        print("  " + f.line())
    small, big = results[0], results[1]
    same = {r.requests for r in small.runs} == {r.requests for r in big.runs}
    print(
        f"  requests independent of cluster size: {'yes' if same else 'NO'} "
        f"({small.runs[0].requests} with 10, {big.runs[0].requests} with {args.noise})"
    )
    if kubectl_fig is not None:
        ratio = big.median / kubectl_fig.median
        print(
            f"  ratio regplan plan / kubectl diff: {ratio:.2f}x (budget <= 0.75x) "
            f"{'MET' if ratio <= 0.75 else 'MISSED'}"
        )
        if before_fig is not None:
            old = before_fig.median / kubectl_fig.median
            print(f"  ratio baseline regplan plan / kubectl diff: {old:.2f}x")
    else:
        print("  kubectl not found (hack/get-kubectl.sh): no ratio")
    print(f"  (load average {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
