#!/usr/bin/env bash
# Build the real Kubernetes test control plane binaries (etcd, kube-apiserver,
# kube-controller-manager) from Go modules into a version-keyed cache outside the
# repo, and copy the openshift/api image-registry Config CRD next to them.
#
# Test infrastructure only: the product stays pure Python and never imports this.
# Idempotent: every artefact is skipped when already present, so CI can call it
# on every run. Binaries are never written inside the repository.
#
# Environment:
#   REGPLAN_TESTBIN   cache root        (default ~/.cache/regplan/testbin)
#   K8S_VERSION       k8s.io/kubernetes (default v1.37.2; fallback v1.36.3 on failure)
#   ETCD_VERSION      go.etcd.io/etcd   (default v3.6.16)
#   OPENSHIFT_API_VERSION  github.com/openshift/api version (default: a pinned pseudo-version; the
#                     module has no recent tags, so `latest` means v3.9.0+incompatible from 2018)
#
# Layout produced:
#   $REGPLAN_TESTBIN/<k8s-version>/kube-apiserver
#   $REGPLAN_TESTBIN/<k8s-version>/kube-controller-manager
#   $REGPLAN_TESTBIN/etcd-<etcd-version>/etcd
#   $REGPLAN_TESTBIN/<k8s-version>/etcd -> ../etcd-<etcd-version>/etcd   (symlink)
#   $REGPLAN_TESTBIN/<k8s-version>/crds/00_configs.crd.yaml
#   $REGPLAN_TESTBIN/<k8s-version>/openapi/apps.openshift.io_v1.definitions.json  (DeploymentConfig schema)
#   $REGPLAN_TESTBIN/current -> <k8s-version>                           (symlink)
set -euo pipefail

CACHE_ROOT="${REGPLAN_TESTBIN:-$HOME/.cache/regplan/testbin}"
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
K8S_FALLBACK="${K8S_FALLBACK:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
# The version github.com/openshift/client-go's newest pseudo-version requires. Its Config CRD has the same
# schema as ../shared/crds/ (commit 2a3d739, not on the module proxy); only toleration descriptions differ.
OPENSHIFT_API_VERSION="${OPENSHIFT_API_VERSION:-v0.0.0-20251015095338-264e80a2b6e7}"

export GOFLAGS="-mod=mod"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
LDFLAGS="-s -w"

start_all=$(date +%s)
log() { printf '[build-testbin %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# `go mod download -json MOD@VER` -> one field of its answer; Go's own error (and exit 1) if it failed.
modfield() {
    go mod download -json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("Error") or sys.argv[1] not in d:
    sys.exit("go mod download " + sys.argv[2] + ": " + str(d.get("Error", "no " + sys.argv[1])))
print(d[sys.argv[1]])' "$2" "$1"
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/regplan-testbin.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# --- etcd ---------------------------------------------------------------
build_etcd() {
    local dir="$CACHE_ROOT/etcd-$ETCD_VERSION"
    if [[ -x "$dir/etcd" ]]; then
        log "etcd $ETCD_VERSION present in $dir, skipping"
        return 0
    fi
    local t0; t0=$(date +%s)
    log "building etcd $ETCD_VERSION"
    local mod="$WORK/etcd"
    mkdir -p "$mod" "$dir"
    (
        cd "$mod"
        go mod init regplan-testbin-etcd >/dev/null 2>&1
        go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
        go build -trimpath -ldflags="$LDFLAGS" -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3
    )
    mv "$dir/etcd.tmp" "$dir/etcd"
    log "etcd built in $(( $(date +%s) - t0 ))s"
}

# --- kube-apiserver / kube-controller-manager ---------------------------
build_k8s() {
    local ver="$1"
    local staging="v0.${ver#v1.}"
    local dir="$CACHE_ROOT/$ver"
    if [[ -x "$dir/kube-apiserver" && -x "$dir/kube-controller-manager" ]]; then
        log "kubernetes $ver present in $dir, skipping"
        return 0
    fi
    local t0; t0=$(date +%s)
    log "building kubernetes $ver (staging modules at $staging)"
    local mod="$WORK/k8s-$ver"
    mkdir -p "$mod" "$dir"
    # Commands are chained with || return: this function runs inside `if`, where
    # bash ignores set -e.
    cd "$mod" || return 1
    go mod init regplan-testbin-k8s >/dev/null 2>&1 || return 1
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
    # with ./staging paths, which do not exist in the module zip; map each one
    # to its published tag instead. The list comes from its own go.mod; exact
    # v0.0.0 only (k8s.io/utils and kube-openapi use real pseudo-versions).
    local gomod
    gomod="$(modfield "k8s.io/kubernetes@$ver" GoMod)" || { rmdir "$dir" 2>/dev/null; return 1; }
    {
        echo "require k8s.io/kubernetes $ver"
        grep -E '^\s*k8s\.io/[A-Za-z0-9._/-]+ v0\.0\.0(\s|$)' "$gomod" | awk -v s="$staging" '{print "replace " $1 " => " $1 " " s}' | sort -u
    } >>go.mod || return 1
    log "$(grep -c '^replace' go.mod) replace directives generated"
    go build -trimpath -ldflags="$LDFLAGS" -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver || return 1
    log "kube-apiserver built after $(( $(date +%s) - t0 ))s"
    go build -trimpath -ldflags="$LDFLAGS" -o "$dir/kube-controller-manager.tmp" k8s.io/kubernetes/cmd/kube-controller-manager || return 1
    cd - >/dev/null || return 1
    mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver" || return 1
    mv "$dir/kube-controller-manager.tmp" "$dir/kube-controller-manager" || return 1
    log "kubernetes $ver built in $(( $(date +%s) - t0 ))s"
}

# --- openshift/api Config CRD -------------------------------------------
fetch_crd() {
    local dir="$1/crds"
    local f="$dir/00_configs.crd.yaml"
    if [[ -s "$f" ]]; then
        log "Config CRD present, skipping"
        return 0
    fi
    mkdir -p "$dir"
    local src
    src="$(modfield "github.com/openshift/api@$OPENSHIFT_API_VERSION" Dir)"
    cp "$src/imageregistry/v1/zz_generated.crd-manifests/00_configs.crd.yaml" "$f.tmp"
    chmod 644 "$f.tmp"
    mv "$f.tmp" "$f"
    log "Config CRD copied from $src"
}

# --- openshift/api DeploymentConfig definitions ------------------------
# The module's openapi/openapi.json, cut to the apps.openshift.io/v1 definitions: the DeploymentConfig
# schema the golden tests validate against and hack/gen-dc-crd.py turns into the test CRD.
fetch_dc_openapi() {
    local dir="$1/openapi"
    local f="$dir/apps.openshift.io_v1.definitions.json"
    if [[ -s "$f" ]]; then
        log "DeploymentConfig definitions present, skipping"
        return 0
    fi
    mkdir -p "$dir"
    local src
    src="$(modfield "github.com/openshift/api@$OPENSHIFT_API_VERSION" Dir)"
    python3 - "$src/openapi/openapi.json" "$f.tmp" "github.com/openshift/api@$OPENSHIFT_API_VERSION" <<'PY'
import json, sys
src, out, source = sys.argv[1:4]
defs = json.load(open(src))["definitions"]
keep = {k: v for k, v in defs.items() if k.startswith("com.github.openshift.api.apps.v1.")}
if "com.github.openshift.api.apps.v1.DeploymentConfig" not in keep:
    sys.exit(f"{src}: no DeploymentConfig definition")
json.dump({"source": source + " openapi/openapi.json", "definitions": keep}, open(out, "w"), indent=1, sort_keys=True)
PY
    mv "$f.tmp" "$f"
    log "DeploymentConfig definitions extracted from $src"
}

mkdir -p "$CACHE_ROOT"
build_etcd

built=""
if build_k8s "$K8S_VERSION"; then
    built="$K8S_VERSION"
else
    log "kubernetes $K8S_VERSION failed; trying fallback $K8S_FALLBACK"
    build_k8s "$K8S_FALLBACK"
    built="$K8S_FALLBACK"
fi

ln -sfn "../etcd-$ETCD_VERSION/etcd" "$CACHE_ROOT/$built/etcd"
fetch_crd "$CACHE_ROOT/$built"
fetch_dc_openapi "$CACHE_ROOT/$built"
ln -sfn "$built" "$CACHE_ROOT/current"

log "done in $(( $(date +%s) - start_all ))s; binaries in $CACHE_ROOT/$built"
