#!/usr/bin/env bash
# Build the Argo CD pieces of the argocd test tier from Go modules into the testbin cache:
#   argocd-cmp-server  Argo CD's Config Management Plugin server (the sidecar's entrypoint), from the
#                      command constructor of github.com/argoproj/argo-cd/v3/cmd/argocd-cmp-server (a tiny
#                      main in tests/argocd/cmpserver; not the argocd multi-binary and its UI embed)
#   cmp-client         tests/argocd/cmpclient: drives the server as the repo-server does (Argo CD's client)
#   syncdiff           tests/argocd/syncdiff: Argo CD's controller diff (gitops-engine's diff package)
#
# The versions are the ones tests/argocd/go.mod pins (with its go.sum): github.com/argoproj/argo-cd/v3 at
# its newest release on the module proxy when this was written (v3.6.2, which builds; it needs Go >= 1.27,
# fetched by GOTOOLCHAIN=auto), and github.com/argoproj/argo-cd/gitops-engine/v3 at the same version (from
# 3.x the diff library lives in the argo-cd repository; the release's go.mod requires it at its own tag).
# The replace directives are argo-cd's own (its go.mod pins every k8s.io staging module to v0.37.0).
# No automatic fallback: go.sum pins every module, so what built once builds again; the agreed fallback,
# v2.14.21, is a different module (github.com/argoproj/argo-cd/v2, gitops-engine a separate repository),
# i.e. other import paths in tests/argocd's sources.
# Bumping: set the two versions in go.mod, copy the replace block of the new release's go.mod, then
# `go mod tidy` in a copy of tests/argocd and bring back go.mod and go.sum.
#
# Test infrastructure only: the product stays pure Python. Idempotent: skipped when the binaries for this
# version and these sources (sha256 of tests/argocd's go.mod, go.sum and Go files) are present. The sources
# are copied to a temp dir first (a read-only checkout works); nothing is written inside the repository.
#
# Environment:
#   REGPLAN_TESTBIN   cache root (default ~/.cache/regplan/testbin)
#
# Layout produced:
#   $REGPLAN_TESTBIN/argocd/<version>/argocd-cmp-server
#   $REGPLAN_TESTBIN/argocd/<version>/cmp-client
#   $REGPLAN_TESTBIN/argocd/<version>/syncdiff
#   $REGPLAN_TESTBIN/argocd/<version>/source-sha256   (the key of the sources they were built from)
#   $REGPLAN_TESTBIN/argocd/current -> <version>       (symlink)
set -euo pipefail

CACHE_ROOT="${REGPLAN_TESTBIN:-$HOME/.cache/regplan/testbin}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$REPO/tests/argocd"
export GOFLAGS="-mod=readonly"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

log() { printf '[build-argocd %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

VERSION="$(awk '$1 == "github.com/argoproj/argo-cd/v3" {print $2; exit}' "$SRC/go.mod")"
if [[ ! "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    log "no github.com/argoproj/argo-cd/v3 release in $SRC/go.mod"
    exit 1
fi
KEY="$(cd "$SRC" && find go.mod go.sum cmpserver cmpclient syncdiff -type f \( -name '*.go' -o -name 'go.*' \) \
        | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
DIR="$CACHE_ROOT/argocd/$VERSION"

if [[ -x "$DIR/argocd-cmp-server" && -x "$DIR/cmp-client" && -x "$DIR/syncdiff" \
      && "$(cat "$DIR/source-sha256" 2>/dev/null)" == "$KEY" ]]; then
    ln -sfn "$VERSION" "$CACHE_ROOT/argocd/current"
    log "argo-cd $VERSION pieces present in $DIR, skipping"
    exit 0
fi

t0=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/regplan-argocd.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cp "$SRC/go.mod" "$SRC/go.sum" "$WORK/"
for d in cmpserver cmpclient syncdiff; do
    mkdir "$WORK/$d"
    cp "$SRC/$d"/*.go "$WORK/$d/"
done
mkdir -p "$DIR"
log "building argocd-cmp-server, cmp-client, syncdiff from argo-cd $VERSION"
(
    cd "$WORK"
    nice go build -trimpath -ldflags="-s -w" -o "$WORK/bin/" ./cmpserver ./cmpclient ./syncdiff
)
mv "$WORK/bin/cmpserver" "$DIR/argocd-cmp-server"
mv "$WORK/bin/cmpclient" "$DIR/cmp-client"
mv "$WORK/bin/syncdiff" "$DIR/syncdiff"
printf '%s\n' "$KEY" >"$DIR/source-sha256"
ln -sfn "$VERSION" "$CACHE_ROOT/argocd/current"
log "done in $(( $(date +%s) - t0 ))s: $DIR"
