"""What the lean ``kubernetes`` client import saves: median wall time of the adapter's client import.

Runs ``regplan.cluster.clientimport.client_modules()`` in fresh interpreters, lean (as in the ``regplan``
process) and full (``REGPLAN_FULL_KUBERNETES_IMPORT=1``, the documented ``from kubernetes.client import
...``), plus the bare interpreter, and prints the medians. Usage: ``python bench/kube_import.py [runs]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

PROBE = (
    "import sys, time\n"
    "sys.argv = ['regplan']\n"
    "t = time.perf_counter()\n"
    "from regplan.cluster import clientimport\n"
    "clientimport.client_modules()\n"
    "print(time.perf_counter() - t, len([m for m in sys.modules if m.split('.')[0] == 'kubernetes']))\n"
)


def sample(full: bool, runs: int) -> tuple[float, int]:
    env = dict(os.environ)
    env.pop("REGPLAN_FULL_KUBERNETES_IMPORT", None)
    if full:
        env["REGPLAN_FULL_KUBERNETES_IMPORT"] = "1"
    times, modules = [], 0
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
        )
        seconds, count = out.stdout.split()
        times.append(float(seconds))
        modules = int(count)
    return statistics.median(times), modules


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    lean, lean_mods = sample(False, runs)
    full, full_mods = sample(True, runs)
    print(f"client import, median of {runs} runs (includes importing regplan.cluster)")
    print(f"  lean: {lean * 1000:7.1f} ms  ({lean_mods} kubernetes modules)")
    print(f"  full: {full * 1000:7.1f} ms  ({full_mods} kubernetes modules)")
    print(f"  saved by the lean import: {(full - lean) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
