#!/usr/bin/env bash
# Fetch the openshift/api CRDs the image-registry operator needs (the `operator` test tier) from the Go
# module github.com/openshift/api, into the testbin cache. Prints the directory on stdout.
#
# Test infrastructure only. The operator itself is never built nor fetched here: the tier runs a binary
# the user supplies (REGPLAN_OPERATOR_BIN, docs/control-plane.md). Its CRDs must come from the
# openshift/api version that binary was built against, hence the version argument.
#
# Usage: hack/get-operator-crds.sh [VERSION]
#   VERSION  a github.com/openshift/api module version; default $REGPLAN_OPERATOR_API_VERSION, else the
#            OPENSHIFT_API_VERSION that hack/build-testbin.sh pins (the control plane's Config CRD).
# Environment:
#   REGPLAN_TESTBIN   cache root (default ~/.cache/regplan/testbin)
# Layout produced (skipped when present; written to a temp dir and renamed, so never half there):
#   $REGPLAN_TESTBIN/operator-crds/<version>/*.crd.yaml   the CRDs listed in CRDS below
#   $REGPLAN_TESTBIN/operator-crds/<version>/SOURCE        module@version and the paths taken
# Exit: 0 ok; 2 bad VERSION (nothing written); 1 anything else (go's own error on stderr).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${REGPLAN_TESTBIN:-$HOME/.cache/regplan/testbin}"
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

log() { printf '[get-operator-crds] %s\n' "$*" >&2; }

# The CRDs the operator watches or reads: the directory inside the openshift/api module and the resource
# (plural). File names differ between versions (`images.crd.yaml` here, `images-Default.crd.yaml` there),
# so the file is found by its resource: `[NN_..._]<plural>[-Default].crd.yaml`, the Default feature set
# when the CRD is split by feature set.
CRDS=(
    "imageregistry/v1 configs"
    "imageregistry/v1 imagepruners"
    "config/v1 infrastructures"
    "config/v1 clusteroperators"
    "config/v1 clusterversions"
    "config/v1 featuregates"
    "config/v1 proxies"
    "config/v1 images"
    "config/v1 apiservers"
    "route/v1 routes"
)

if [[ $# -gt 1 ]]; then
    log "usage: hack/get-operator-crds.sh [VERSION]"
    exit 2
fi
if [[ $# -eq 1 ]]; then
    VERSION="$1"; FROM="argument"
elif [[ -n "${REGPLAN_OPERATOR_API_VERSION:-}" ]]; then
    VERSION="$REGPLAN_OPERATOR_API_VERSION"; FROM="REGPLAN_OPERATOR_API_VERSION"
else
    # One home for the pin: hack/build-testbin.sh's default.
    VERSION="$(sed -n 's/^OPENSHIFT_API_VERSION="\${OPENSHIFT_API_VERSION:-\(.*\)}"$/\1/p' "$HERE/build-testbin.sh")"
    FROM="the OPENSHIFT_API_VERSION default of hack/build-testbin.sh"
fi
# A Go module version (semver, pseudo-versions included) and nothing else: it becomes a directory name
# and a `go` argument. Shown with %q so a line break or escape sequence in it stays visible and inert.
SEMVER='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z]+([.-][0-9A-Za-z]+)*)?(\+incompatible)?$'
if [[ ${#VERSION} -gt 128 || ! "$VERSION" =~ $SEMVER ]]; then
    printf '[get-operator-crds] %s: not a Go module version of github.com/openshift/api: %q (e.g. v0.0.0-20251015095338-264e80a2b6e7)\n' \
        "$FROM" "${VERSION:0:128}" >&2
    exit 2
fi

DIR="$CACHE_ROOT/operator-crds/$VERSION"
complete() {  # SOURCE: module@version, then one CRD file name per line
    local n=0 f
    [[ -s "$DIR/SOURCE" ]] || return 1
    while IFS= read -r f; do
        [[ -s "$DIR/$f" ]] || return 1
        n=$((n + 1))
    done < <(tail -n +2 "$DIR/SOURCE")
    [[ $n -eq ${#CRDS[@]} ]]
}
if complete; then
    log "openshift/api $VERSION CRDs present in $DIR, skipping"
    printf '%s\n' "$DIR"
    exit 0
fi

# `go mod download` outside any module: the module cache dir of exactly this version (Go's own error,
# e.g. "unknown revision", when the proxy does not serve it).
api_dir="$(cd "${TMPDIR:-/tmp}" && go mod download -json "github.com/openshift/api@$VERSION" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("Error") or "Dir" not in d:
    sys.exit("go mod download github.com/openshift/api@" + sys.argv[1] + ": " + str(d.get("Error", "no Dir")))
print(d["Dir"])' "$VERSION")"

mkdir -p "$CACHE_ROOT/operator-crds"
tmp="$(mktemp -d "$CACHE_ROOT/operator-crds/.tmp.XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
shopt -s nullglob
files() { local p; for p in "$@"; do if [[ -f "$p" ]]; then printf '%s\n' "$p"; fi; done; }
echo "github.com/openshift/api@$VERSION" >"$tmp/SOURCE"
for entry in "${CRDS[@]}"; do
    read -r sub plural <<<"$entry"
    d="$api_dir/$sub/zz_generated.crd-manifests"
    mapfile -t found < <(files "$d/$plural-Default.crd.yaml" "$d"/*_"$plural"-Default.crd.yaml)
    [[ ${#found[@]} -gt 0 ]] || mapfile -t found < <(files "$d/$plural.crd.yaml" "$d"/*_"$plural".crd.yaml)
    if [[ ${#found[@]} -ne 1 ]]; then
        log "github.com/openshift/api@$VERSION: ${#found[@]} CRD files for $plural in $sub/zz_generated.crd-manifests, expected 1"
        exit 1
    fi
    install -m 644 "${found[0]}" "$tmp/${found[0]##*/}"
    echo "${found[0]##*/}" >>"$tmp/SOURCE"
done
rm -rf "$DIR"
mv "$tmp" "$DIR"
trap - EXIT
log "${#CRDS[@]} CRDs of openshift/api $VERSION copied into $DIR"
printf '%s\n' "$DIR"
