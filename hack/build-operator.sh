#!/usr/bin/env bash
# Build the real OpenShift cluster-image-registry-operator for the `operator` test tier, into the
# testbin cache, and copy the openshift/api CRDs it needs from the Go module its go.mod requires.
#
# Test infrastructure only: the product stays pure Python and never imports this. Idempotent:
# skipped when the binary for this source (keyed by the sha256 of its go.mod + go.sum) is present.
# The source is only read: it is copied to a temp dir first, so a read-only checkout works.
#
# Source (first that exists):
#   $REGPLAN_OPERATOR_SRC
#   $REGPLAN_SHARED/third_party/cluster-image-registry-operator
#   <repo>/../shared/third_party/cluster-image-registry-operator
# None -> prints one line and exits 0: the operator tier then skips, naming REGPLAN_OPERATOR_SRC.
# A user with internet access: git clone https://github.com/openshift/cluster-image-registry-operator
# and check out the commit recorded in docs/control-plane.md, then REGPLAN_OPERATOR_SRC=<clone>.
#
# Environment:
#   REGPLAN_TESTBIN   cache root (default ~/.cache/regplan/testbin)
#
# Layout produced:
#   $REGPLAN_TESTBIN/operator/<key>/cluster-image-registry-operator
#   $REGPLAN_TESTBIN/operator/<key>/openshift-api-version         (the module version it was built with)
#   $REGPLAN_TESTBIN/operator/<key>/crds/*.yaml                    (from that openshift/api module)
#   $REGPLAN_TESTBIN/operator/current -> <key>                      (symlink)
set -euo pipefail

CACHE_ROOT="${REGPLAN_TESTBIN:-$HOME/.cache/regplan/testbin}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GOFLAGS="-mod=mod"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

log() { printf '[build-operator %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

SRC=""
for cand in "${REGPLAN_OPERATOR_SRC:-}" \
            "${REGPLAN_SHARED:+$REGPLAN_SHARED/third_party/cluster-image-registry-operator}" \
            "$REPO/../shared/third_party/cluster-image-registry-operator"; do
    if [[ -n "$cand" && -f "$cand/go.mod" ]]; then SRC="$(cd "$cand" && pwd)"; break; fi
done
if [[ -z "$SRC" ]]; then
    log "no operator source (set REGPLAN_OPERATOR_SRC to a cluster-image-registry-operator checkout); operator tier will skip"
    exit 0
fi

# The CRDs the operator watches or reads, as paths inside the openshift/api module.
CRDS=(
    imageregistry/v1/zz_generated.crd-manifests/00_configs.crd.yaml
    imageregistry/v1/zz_generated.crd-manifests/01_imagepruners.crd.yaml
    config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_infrastructures-Default.crd.yaml
    config/v1/zz_generated.crd-manifests/0000_00_cluster-version-operator_01_clusteroperators.crd.yaml
    config/v1/zz_generated.crd-manifests/0000_00_cluster-version-operator_01_clusterversions-Default.crd.yaml
    config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_featuregates.crd.yaml
    config/v1/zz_generated.crd-manifests/0000_03_config-operator_01_proxies.crd.yaml
    config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_images.crd.yaml
    config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_apiservers-Default.crd.yaml
    route/v1/zz_generated.crd-manifests/routes.crd.yaml
)

KEY="$(cat "$SRC/go.mod" "$SRC/go.sum" | sha256sum | cut -c1-12)"
DIR="$CACHE_ROOT/operator/$KEY"
BIN="$DIR/cluster-image-registry-operator"
API_VERSION="$(awk '$1 == "github.com/openshift/api" {print $2; exit}' "$SRC/go.mod")"
[[ -n "$API_VERSION" ]] || { log "no github.com/openshift/api in $SRC/go.mod"; exit 1; }

mkdir -p "$DIR"
if [[ -x "$BIN" ]]; then
    log "operator present in $DIR, skipping build"
else
    t0=$(date +%s)
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/regplan-operator.XXXXXX")"
    trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
    cp -r "$SRC/." "$WORK/src"
    chmod -R u+w "$WORK/src"
    log "building the operator from $SRC (openshift/api $API_VERSION)"
    (cd "$WORK/src" && go build -trimpath -ldflags="-s -w" -o "$BIN.tmp" ./cmd/cluster-image-registry-operator)
    mv "$BIN.tmp" "$BIN"
    log "operator built in $(( $(date +%s) - t0 ))s"
fi

if [[ ! -s "$DIR/crds/${CRDS[0]##*/}" || ! -s "$DIR/openshift-api-version" ]]; then
    # `go mod download` outside any module: the module cache dir of exactly the version go.mod requires.
    api_dir="$(cd "${TMPDIR:-/tmp}" && go mod download -json "github.com/openshift/api@$API_VERSION" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["Dir"])')"
    mkdir -p "$DIR/crds"
    for f in "${CRDS[@]}"; do
        install -m 644 "$api_dir/$f" "$DIR/crds/${f##*/}"
    done
    echo "$API_VERSION" >"$DIR/openshift-api-version"
    log "${#CRDS[@]} CRDs copied from $api_dir"
fi
ln -sfn "$KEY" "$CACHE_ROOT/operator/current"
log "done; operator in $DIR"
