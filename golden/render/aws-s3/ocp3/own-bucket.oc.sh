#!/usr/bin/env bash
# regplan render -p aws-s3 --target ocp3 -o oc -f tests/fixtures/values/aws-s3-own-bucket.yaml
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 3.11 or later).
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
regplan_yaml_key() { sed -e 's/[\\"]/\\&/g' "$keydir/$1"; }

# On exit, however the script ends: the key files are removed and a rollout this script
# paused is resumed (a failure part-way must not leave the registry paused).
umask 077
keydir=$(mktemp -d)
paused_here=
cleanup() {
  rm -rf -- "$keydir"
  if [ -n "$paused_here" ]; then oc -n default rollout resume dc/docker-registry; fi
}
trap cleanup EXIT

# The S3 keys, read from their sources into files only this user can read (removed on exit)
regplan_key accessKey env:REGPLAN_GOLDEN_ACCESS_KEY
regplan_key secretKey env:REGPLAN_GOLDEN_SECRET_KEY

# Secret registry-config: the registry config.yml (one storage driver, auth.openshift kept)
secret_yaml=$(oc -n default create secret generic registry-config --dry-run -o yaml \
  --from-file=config.yml=/dev/stdin <<EOF
version: 0.1
log:
  level: info
http:
  addr: :5000
storage:
  s3:
    accesskey: "$(regplan_yaml_key accessKey)"
    secretkey: "$(regplan_yaml_key secretKey)"
    bucket: acme-registry-images
    region: eu-central-1
    encrypt: true
    chunksize: 67108864
    secure: true
    v4auth: true
    rootdirectory: /registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
auth:
  openshift:
    realm: openshift
middleware:
  registry:
  - name: openshift
  repository:
  - name: openshift
    options:
      acceptschema2: true
      pullthrough: true
      enforcequota: false
      projectcachettl: 1m
      blobrepositorycachettl: 10m
  storage:
  - name: openshift
openshift:
  version: 1.0
EOF
)
printf '%s\n' "$secret_yaml" | oc -n default replace -f - 2>/dev/null \
  || printf '%s\n' "$secret_yaml" | oc -n default create -f -
unset secret_yaml

# Pause rollouts so the volume and env changes roll out once (the EXIT trap above resumes them);
# a DC that was already paused is left as it was found.
if [ "$(oc -n default get dc/docker-registry -o jsonpath='{.spec.paused}')" != true ]; then
  oc -n default rollout pause dc/docker-registry
  paused_here=1
else
  echo 'note: dc/docker-registry was already paused; it stays paused (oc rollout resume to roll out)' >&2
fi

oc -n default set volume dc/docker-registry --add --name=registry-config -t secret --secret-name=registry-config -m /etc/registryconfig --overwrite

# Env: point the registry at the mounted config; drop overrides of its storage section
oc -n default set env dc/docker-registry REGISTRY_CONFIGURATION_PATH=/etc/registryconfig/config.yml REGISTRY_STORAGE- REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS-
# Check no other REGISTRY_STORAGE_* override is left: oc -n default set env dc/docker-registry --list

# Replicas and strategy (replacing the strategy drops the old one's parameters)
oc -n default patch dc/docker-registry --type=json -p '[{"op":"replace","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/strategy","value":{"type":"Rolling"}}]'

# The trap resumes the rollout (config mounted at /etc/registryconfig); watch it:
#   oc -n default rollout status dc/docker-registry
