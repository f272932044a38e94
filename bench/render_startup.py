"""Cold-start benchmark: `regplan render -p ebs-gp2-rwo` against the Python import floor (and helm if found).

Prints the median wall time of N fresh processes for each command and the ratio to the floor
(`python -c "import jinja2, ruamel.yaml"`: what render cannot avoid importing). Aim: within 1.3x.

    python bench/render_startup.py [-n 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = "import jinja2, ruamel.yaml"
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


def medians(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time per command; runs are interleaved so machine load drifts hit every command alike."""
    for cmd in cmds.values():
        subprocess.run(cmd, capture_output=True, check=True, env=ENV)  # warm file cache and bytecode
    times: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(runs):
        for label, cmd in cmds.items():
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, env=ENV)
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(t) for label, t in times.items()}


def find_helm() -> str | None:
    cached = Path.home() / ".cache/regplan/testbin/tools/helm"
    return str(cached) if cached.exists() else shutil.which("helm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    args = parser.parse_args()
    regplan = shutil.which("regplan", path=os.path.dirname(sys.executable)) or shutil.which("regplan")
    render = [regplan] if regplan else [sys.executable, "-m", "regplan.cli"]
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        (
            'python -c "import jinja2, ruamel.yaml" (floor)',
            [sys.executable, "-c", "import jinja2, ruamel.yaml"],
        ),
        ("regplan render -p ebs-gp2-rwo", [*render, "render", "-p", "ebs-gp2-rwo"]),
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
    floor = results[rows[1][0]]
    print(f"median of {args.runs} cold starts ({sys.executable}, python {sys.version.split()[0]})")
    for label, seconds in results.items():
        print(f"  {label:<48} {seconds * 1000:7.1f} ms  {seconds / floor:5.2f}x floor")
    if not helm:
        print("  helm: not found ($HOME/.cache/regplan/testbin/tools/helm or PATH), skipped")
    ratio = results[rows[2][0]] / floor
    print(f"render / floor = {ratio:.2f} (budget <= 1.30) {'MET' if ratio <= 1.3 else 'MISSED'}")
    if chart_dir:
        shutil.rmtree(chart_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
