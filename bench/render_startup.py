"""Cold-start benchmark: regplan's start-up against the import floor of the user's stack (and helm if found).

Two budgets (docs/performance.md), each the median wall time of N fresh processes, all commands run in turn
(interleaved) so that load drifting on the machine hits every command alike:
- `regplan render -p ebs-gp2-rwo` <= 1.3x `python -c "import typer, jinja2, ruamel.yaml"` (what render
  cannot avoid importing: its CLI framework, the templates, the YAML library);
- `regplan --help` <= 1.3x `python -c "import typer"`.
The user CPU + system time of the runs is printed too (less sensitive to other jobs on the machine).

    python bench/render_startup.py [-n 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RENDER_FLOOR = "import typer, jinja2, ruamel.yaml"
HELP_FLOOR = "import typer"
BUDGET = 1.3
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: registry-storage\nversion: 0.1.0\n",
    "values.yaml": (
        "claim:\n  name: image-registry-storage\n  size: 100Gi\n  storageClass: gp2\nreplicas: 1\n"
    ),
    "templates/pvc.yaml": (
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {{ .Values.claim.name }}\n"
        '  namespace: openshift-image-registry\n  annotations:\n    imageregistry.openshift.io: "true"\n'
        "spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n"
        "      storage: {{ .Values.claim.size }}\n  storageClassName: {{ .Values.claim.storageClass }}\n"
    ),
    "templates/config.yaml": (
        "apiVersion: imageregistry.operator.openshift.io/v1\nkind: Config\nmetadata:\n  name: cluster\n"
        "spec:\n  replicas: {{ .Values.replicas }}\n  rolloutStrategy: Recreate\n  storage:\n"
        "    managementState: Unmanaged\n    pvc:\n      claim: {{ .Values.claim.name }}\n"
        "    s3: null\n    emptyDir: null\n"
    ),
}


# An installed package has its bytecode compiled (pip does it); measure that, even where the environment
# sets PYTHONDONTWRITEBYTECODE (then every run would compile regplan from source: ~20 ms more).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def medians(cmds: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) seconds per command; runs are interleaved so machine load drifts hit every command
    alike. cpu: the child's user + system time."""
    for cmd in cmds.values():
        subprocess.run(cmd, capture_output=True, check=True, env=ENV)  # warm file cache and bytecode
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in cmds}
    for _ in range(runs):
        for label, cmd in cmds.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, env=ENV)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            times[label].append((wall, cpu))
    return {
        label: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
        for label, t in times.items()
    }


def find_helm() -> str | None:
    cached = Path.home() / ".cache/regplan/testbin/tools/helm"
    return str(cached) if cached.exists() else shutil.which("helm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    args = parser.parse_args()
    regplan = shutil.which("regplan", path=os.path.dirname(sys.executable)) or shutil.which("regplan")
    cli = [regplan] if regplan else [sys.executable, "-m", "regplan"]
    render_floor = f'python -c "{RENDER_FLOOR}"'
    help_floor = f'python -c "{HELP_FLOOR}"'
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        (help_floor, [sys.executable, "-c", HELP_FLOOR]),
        (render_floor, [sys.executable, "-c", RENDER_FLOOR]),
        ("regplan --help", [*cli, "--help"]),
        ("regplan render -p ebs-gp2-rwo", [*cli, "render", "-p", "ebs-gp2-rwo"]),
    ]
    helm = find_helm()
    chart_dir = None
    if helm:
        chart_dir = tempfile.mkdtemp(prefix="regplan-bench-chart-")
        for name, text in CHART.items():
            path = Path(chart_dir) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        rows.append(("helm template (equivalent chart)", [helm, "template", "r", chart_dir]))
    results = medians(dict(rows), args.runs)
    version = sys.version.split()[0]
    print(f"median of {args.runs} interleaved cold starts ({sys.executable}, python {version})")
    print(f"  {'':<52} {'wall':>9} {'cpu':>9}")
    for label, (wall, cpu) in results.items():
        print(f"  {label:<52} {wall * 1000:6.1f} ms {cpu * 1000:6.1f} ms")
    if not helm:
        print("  helm: not found ($HOME/.cache/regplan/testbin/tools/helm or PATH), skipped")
    for what, floor in (("regplan render -p ebs-gp2-rwo", render_floor), ("regplan --help", help_floor)):
        wall = results[what][0] / results[floor][0]
        cpu = results[what][1] / results[floor][1]
        verdict = "MET" if wall <= BUDGET else "MISSED"
        print(f"{what} / floor = {wall:.2f} wall, {cpu:.2f} cpu (budget <= {BUDGET:.2f}) {verdict}")
    if chart_dir:
        shutil.rmtree(chart_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
