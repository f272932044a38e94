#!/usr/bin/env bash
# Builds regplan's container image (deploy/image/Containerfile), tags it localhost/regplan:<version> and
# prints its exact name (localhost/regplan:<version>-<inputs digest>) on the last line of stdout.
#
#   bash hack/build-image.sh            # build what is missing, reuse what is current
#   REGPLAN_IMAGE_BASE_DATE=2026-w49 bash hack/build-image.sh   # pin the base's date key (default: this ISO week)
#
# Two layers, cached apart so that CI rebuilds only the second:
# 1. The base: a Debian bookworm root filesystem made by mmdebstrap (`essential` variant + python3 and
#    ca-certificates, no docs/man/locales), a tarball under ~/.cache/regplan/image/ keyed by the package
#    list, the options and a date (the ISO week: a fresh base with the week's security updates, else reused).
# 2. regplan: its wheel (`python -m build`), the runtime dependencies as CPython 3.11 manylinux wheels (pip
#    download, pinned by constraints.txt) and pip's wheel, installed into a venv in the image by a build
#    that has no network. Rebuilt when those inputs change (their digest is a label and the exact tag).
#
# buildah runs with `--storage-driver vfs --isolation chroot` (no daemon, no overlay, no user namespaces
# needed) and keeps its storage under ~/.cache/regplan/image/containers. buildah and mmdebstrap are Debian
# packages, installed here when missing (as root). One build at a time (flock).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CACHE="${REGPLAN_IMAGE_CACHE:-$HOME/.cache/regplan/image}"
PY="${REGPLAN_IMAGE_HOST_PYTHON:-$ROOT/.venv/bin/python}"   # the venv of `make setup` (build, pip)
SUITE=bookworm
PACKAGES=python3,ca-certificates
PYVER=3.11               # bookworm's python3; the RUN step checks it
GLIBC_MINOR=36          # bookworm's glibc 2.36: wheels for it or any older manylinux
NAME=localhost/regplan
BASE_NAME=localhost/regplan-base
MMDEBSTRAP_OPTS=(
  --variant=essential --include="$PACKAGES"
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/info/*'
)

say() { echo "build-image: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# The date key names a file in the cache and an image tag: one word of tag characters, nothing else.
BASE_DATE="${REGPLAN_IMAGE_BASE_DATE:-$(date -u +%G-w%V)}"
if ! [[ $BASE_DATE =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || [[ $BASE_DATE == *..* ]]; then
  say "REGPLAN_IMAGE_BASE_DATE must be one word of letters, digits, '.', '_', '-' (e.g. 2026-w49): $(printf %q "$BASE_DATE")"
  exit 2
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# --- the tools (Debian packages) ------------------------------------------------------------------------
if ! command -v buildah >/dev/null || ! command -v mmdebstrap >/dev/null; then
  say "installing buildah and mmdebstrap (apt-get)"
  if [ "$(id -u)" != 0 ]; then
    say "buildah/mmdebstrap are missing and this is not root: apt-get install buildah mmdebstrap"
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah mmdebstrap >&2
fi
if [ ! -x "$PY" ]; then
  say "$PY is missing: run \`make setup\` first (it installs build and pip, pinned)"
  exit 1
fi

# The builds run in a network namespace of their own with only loopback (`--network none` is refused with
# chroot isolation): nothing in them can reach a registry.
OFFLINE=(unshare --net)
B=(buildah --storage-driver vfs --root "$CACHE/containers" --runroot "$CACHE/run")

# --- 1. the base ----------------------------------------------------------------------------------------
BASE_KEY=$(printf '%s\n' "$SUITE" "${MMDEBSTRAP_OPTS[@]}" "$BASE_DATE" | sha256sum | cut -c1-16)
BASE_TAR="$CACHE/base-$SUITE-$BASE_DATE-$BASE_KEY.tar"
if [ ! -s "$BASE_TAR" ]; then
  say "base: mmdebstrap $SUITE ($PACKAGES), key $BASE_DATE-$BASE_KEY"
  t=$(now)
  tmp="$CACHE/.partial-$(basename "$BASE_TAR")"   # mmdebstrap picks the format from the .tar suffix
  rm -f "$tmp"                                     # an interrupted earlier run
  mmdebstrap --quiet "${MMDEBSTRAP_OPTS[@]}" "$SUITE" "$tmp" >&2
  mv "$tmp" "$BASE_TAR"
  say "base: tarball in $(since "$t") ($(du -h "$BASE_TAR" | cut -f1))"
  find "$CACHE" -maxdepth 1 -name "base-*.tar" ! -name "$(basename "$BASE_TAR")" -delete  # older weeks
fi
BASE_IMAGE="$BASE_NAME:$BASE_DATE-$BASE_KEY"
if ! "${B[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  t=$(now)
  ctx=$(mktemp -d)
  ln "$BASE_TAR" "$ctx/base.tar" 2>/dev/null || cp "$BASE_TAR" "$ctx/base.tar"
  printf 'FROM scratch\nADD base.tar /\n' > "$ctx/Containerfile"
  "${OFFLINE[@]}" "${B[@]}" bud --quiet --isolation chroot -f "$ctx/Containerfile" -t "$BASE_IMAGE" "$ctx" >&2
  rm -rf "$ctx"
  say "base: image $BASE_IMAGE in $(since "$t")"
fi

# --- 2. regplan ------------------------------------------------------------------------------------------
t=$(now)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/wheels"
"$PY" -m build --no-isolation --wheel --outdir "$ctx/dist" . >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; exit 1; }
wheel=$(ls "$ctx"/dist/regplan-*.whl)
pip_version=$("$PY" -m pip --version | awk '{print $2}')
platforms=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
for ((n = GLIBC_MINOR; n >= 5; n--)); do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
"$PY" -m pip download --quiet --disable-pip-version-check --dest "$ctx/wheels" \
  --only-binary=:all: --python-version "$PYVER" --implementation cp --abi "cp${PYVER/./}" \
  "${platforms[@]}" -c constraints.txt "$wheel" "pip==$pip_version"
cp deploy/image/Containerfile "$ctx/Containerfile"
cp deploy/argocd/plugin.yaml "$ctx/plugin.yaml"
# What the image is made of: the base, the Containerfile, the plugin config, every wheel (by content).
inputs=$( (echo "$BASE_IMAGE"; cd "$ctx" && sha256sum Containerfile plugin.yaml wheels/*) | sha256sum | cut -c1-16)
version=$("$PY" -c 'import sys; sys.path.insert(0, "."); import regplan; print(regplan.__version__)')
# Two tags: <version> (what people push) and <version>-<inputs> (what this tree built, printed: checkouts
# that build at the same time on one machine do not take each other's image).
IMAGE="$NAME:$version"
EXACT="$NAME:$version-$inputs"
if "${B[@]}" inspect --type image "$EXACT" >/dev/null 2>&1; then
  say "regplan: $EXACT is current"
else
  say "regplan: building $EXACT"
  "${OFFLINE[@]}" "${B[@]}" bud --quiet --isolation chroot --build-arg "BASE=$BASE_IMAGE" \
    --label "org.regplan.inputs=$inputs" --label "org.opencontainers.image.version=$version" \
    -f "$ctx/Containerfile" -t "$EXACT" "$ctx" >&2
  say "regplan: image in $(since "$t")"
fi
"${B[@]}" tag "$EXACT" "$IMAGE"
# Drop images of other inputs and base images of other weeks: `rmi` without force leaves an image that a
# container (another checkout's test session) still uses.
for stale in $("${B[@]}" images --format '{{.Name}}:{{.Tag}}'); do
  case $stale in
    "$BASE_NAME:$BASE_DATE-$BASE_KEY" | "$IMAGE" | "$EXACT") ;;
    "$BASE_NAME":* | "$NAME":*) "${B[@]}" rmi "$stale" >/dev/null 2>&1 || true ;;
  esac
done
"${B[@]}" rmi --prune >/dev/null 2>&1 || true   # untagged leftovers
echo "$EXACT"
