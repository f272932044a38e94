#!/usr/bin/env bash
# regplan render -p aws-s3 --target ocp4 -o oc -f tests/fixtures/values/aws-s3-own-bucket.yaml
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 4.x).
set -euo pipefail

regplan_fail() { local code=$1; shift; printf 'regplan script: %s\n' "$*" >&2; exit "$code"; }
regplan_key() {  # FILE SOURCE: the key from SOURCE (env:NAME or file:PATH) into $keydir/FILE
  local LC_ALL=C out="$keydir/$1" kind=${2%%:*} ref=${2#*:} key size
  if [ "$kind" = env ]; then
    [ -n "${!ref+set}" ] || regplan_fail 3 "$2: the environment variable is not set"
    key=${!ref}
  else
    { [ -f "$ref" ] && [ -r "$ref" ]; } || regplan_fail 3 "$2: not a readable file"
    size=$(( $(wc -c < "$ref") ))
    [ "$size" -le 65536 ] || regplan_fail 3 "$2: larger than 64 KiB: not a key"
    { key=$(cat -- "$ref"; printf x); } 2>/dev/null && key=${key%x}  # a NUL: bash warns, checked next
    [ "${#key}" -eq "$size" ] || regplan_fail 3 "the key in $2 contains a NUL character"
    case $key in *$'\r\n') key=${key%$'\r\n'} ;; *$'\n') key=${key%$'\n'} ;; esac
  fi
  [ -n "$key" ] || regplan_fail 3 "$2 is empty: it must hold the key"
  local ctl=$'[\001-\037\177]' c1=$'\302[\200-\237]' sep=$'\342\200[\250\251]'
  case $key in
    *$ctl* | *$c1* | *$sep*)
      regplan_fail 3 "the key in $2 contains a line break or control character" ;;
    [[:space:]]* | *[[:space:]]) regplan_fail 3 "the key in $2 has blanks before or after the key" ;;
  esac
  printf '%s' "$key" > "$out"
}

# On exit, however the script ends: the key files are removed.
umask 077
keydir=$(mktemp -d)
cleanup() {
  rm -rf -- "$keydir"
}
trap cleanup EXIT

# The S3 keys, read from their sources into files only this user can read (removed on exit)
regplan_key accessKey env:REGPLAN_GOLDEN_ACCESS_KEY
regplan_key secretKey env:REGPLAN_GOLDEN_SECRET_KEY

# S3 credentials for the operator (both keys or none: docs/domain.md)
secret_yaml=$(oc -n openshift-image-registry create secret generic image-registry-private-configuration-user --dry-run=client -o yaml \
  --from-file=REGISTRY_STORAGE_S3_ACCESSKEY="$keydir/accessKey" \
  --from-file=REGISTRY_STORAGE_S3_SECRETKEY="$keydir/secretKey")
printf '%s\n' "$secret_yaml" | oc -n openshift-image-registry replace -f - 2>/dev/null \
  || printf '%s\n' "$secret_yaml" | oc -n openshift-image-registry create -f -
unset secret_yaml

# The operator config: the new backend, every other backend removed (null)
oc patch configs.imageregistry.operator.openshift.io/cluster --type=merge -p '{"spec":{"replicas":2,"rolloutStrategy":"RollingUpdate","storage":{"azure":null,"emptyDir":null,"gcs":null,"ibmcos":null,"managementState":"Unmanaged","oss":null,"pvc":null,"s3":{"bucket":"acme-registry-images","chunkSizeMiB":64,"encrypt":true,"region":"eu-central-1"},"swift":null}}}'
