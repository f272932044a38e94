#!/usr/bin/env bash
# regplan render -p ebs-gp2-rwo --target ocp3 -o oc -f tests/fixtures/values/ebs-gp2-rwo-half-ti.yaml
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 3.11 or later).
set -euo pipefail

regplan_fail() { local code=$1; shift; printf 'regplan script: %s\n' "$*" >&2; exit "$code"; }
regplan_claim() {  # NAMESPACE NAME MODES CLASS: create | keep | replace (stops with 6 unless allowed)
  local live modes class phase volume
  live=$(oc -n "$1" get pvc "$2" --ignore-not-found \
    -o jsonpath='{range .spec.accessModes[*]}{@}{" "}{end}|{.spec.storageClassName}|{.status.phase}|{.spec.volumeName}') || regplan_fail 4 "cannot read claim $1/$2 (see oc's message above)"
  if [ -z "$live" ]; then echo create; return; fi
  IFS='|' read -r modes class phase volume <<<"$live"
  modes=${modes% }
  if [ "$modes" = "$3" ] && { [ "$4" = '-' ] || [ "$class" = "$4" ]; }; then echo keep; return; fi
  local what="claim $1/$2 is $modes${class:+ of class $class}; this profile wants $3"
  [ "$4" = '-' ] || what="$what of class ${4:-(none)}"
  what="$what: access modes and class cannot change on a claim, it must be deleted and created again"
  local data
  if [ "$phase" = Pending ] && [ -z "$volume" ]; then
    data='it never bound (Pending, no volume): no data exists on it'
  else
    data="DESTRUCTIVE: it is $phase${volume:+ on volume $volume}: the images on it are lost unless \
copied first (docs/migrating-data.md)"
  fi
  if [ "${REGPLAN_ALLOW_REPLACE:-}" != 1 ]; then
    regplan_fail 6 "$what; $data. Nothing was changed. To replace it, run again with \
REGPLAN_ALLOW_REPLACE=1"
  fi
  printf 'regplan script: %s; %s. Replacing it (%s=1).\n' "$what" "$data" REGPLAN_ALLOW_REPLACE >&2
  echo replace
}

# On exit, however the script ends: a rollout this script paused is resumed (a failure
# part-way must not leave the registry paused).
paused_here=
cleanup() {
  if [ -n "$paused_here" ]; then oc -n default rollout resume dc/docker-registry; fi
}
trap cleanup EXIT

# Claim registry: its access modes and class cannot change once it exists; checked before anything
# is written (a claim to replace stops the script here unless REGPLAN_ALLOW_REPLACE=1).
claim_0=$(regplan_claim default registry ReadWriteOnce gp3-csi)

# Secret registry-config: the registry config.yml (one storage driver, auth.openshift kept)
secret_yaml=$(oc -n default create secret generic registry-config --dry-run -o yaml \
  --from-file=config.yml=/dev/stdin <<'EOF'
version: 0.1
log:
  level: info
http:
  addr: :5000
storage:
  filesystem:
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

# PersistentVolumeClaim registry (a replace allowed above: delete, wait, create)
if [ "$claim_0" = replace ]; then
  oc -n default delete pvc registry --wait=true --timeout=300s \
    || regplan_fail 4 'the old claim is still there (a pod using it keeps it Terminating): stop the registry or wait, then run this script again'
fi
oc -n default apply -f - <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: registry
  namespace: default
  labels:
    app.kubernetes.io/managed-by: regplan
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: 512Gi
  storageClassName: gp3-csi
EOF

# Pause rollouts so the volume and env changes roll out once (the EXIT trap above resumes them);
# a DC that was already paused is left as it was found.
if [ "$(oc -n default get dc/docker-registry -o jsonpath='{.spec.paused}')" != true ]; then
  oc -n default rollout pause dc/docker-registry
  paused_here=1
else
  echo 'note: dc/docker-registry was already paused; it stays paused (oc rollout resume to roll out)' >&2
fi

oc -n default set volume dc/docker-registry --add --name=registry-storage -t pvc --claim-name=registry -m /registry --overwrite
oc -n default set volume dc/docker-registry --add --name=registry-config -t secret --secret-name=registry-config -m /etc/registryconfig --overwrite

# Env: point the registry at the mounted config; drop overrides of its storage section
oc -n default set env dc/docker-registry REGISTRY_CONFIGURATION_PATH=/etc/registryconfig/config.yml REGISTRY_STORAGE- REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS-
# Check no other REGISTRY_STORAGE_* override is left: oc -n default set env dc/docker-registry --list

# Replicas and strategy (replacing the strategy drops the old one's parameters)
oc -n default patch dc/docker-registry --type=json -p '[{"op":"replace","path":"/spec/replicas","value":1},{"op":"replace","path":"/spec/strategy","value":{"type":"Recreate"}}]'

# The trap resumes the rollout (config mounted at /etc/registryconfig); watch it:
#   oc -n default rollout status dc/docker-registry
