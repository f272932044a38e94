#!/usr/bin/env bash
# regplan render -p glusterfs --target ocp4 -o oc
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 4.x).
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

# Claim image-registry-storage: its access modes and class cannot change once it exists; checked before anything
# is written (a claim to replace stops the script here unless REGPLAN_ALLOW_REPLACE=1).
claim_0=$(regplan_claim openshift-image-registry image-registry-storage ReadWriteMany glusterfs-storage)

# PersistentVolumeClaim image-registry-storage (a replace allowed above: delete, wait, create)
if [ "$claim_0" = replace ]; then
  # the Config first: while it names no claim ("") the operator recreates a deleted one
  oc patch configs.imageregistry.operator.openshift.io/cluster --type=merge -p '{"spec":{"replicas":2,"rolloutStrategy":"RollingUpdate","storage":{"azure":null,"emptyDir":null,"gcs":null,"ibmcos":null,"managementState":"Unmanaged","oss":null,"pvc":{"claim":"image-registry-storage"},"s3":null,"swift":null}}}'
  oc -n openshift-image-registry delete pvc image-registry-storage --wait=true --timeout=300s \
    || regplan_fail 4 'the old claim is still there (a pod using it keeps it Terminating): stop the registry or wait, then run this script again'
fi
oc -n openshift-image-registry apply -f - <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: image-registry-storage
  namespace: openshift-image-registry
  labels:
    app.kubernetes.io/managed-by: regplan
  annotations:
    imageregistry.openshift.io: 'true'
spec:
  accessModes:
  - ReadWriteMany
  resources:
    requests:
      storage: 100Gi
  storageClassName: glusterfs-storage
EOF

# The operator config: the new backend, every other backend removed (null)
oc patch configs.imageregistry.operator.openshift.io/cluster --type=merge -p '{"spec":{"replicas":2,"rolloutStrategy":"RollingUpdate","storage":{"azure":null,"emptyDir":null,"gcs":null,"ibmcos":null,"managementState":"Unmanaged","oss":null,"pvc":{"claim":"image-registry-storage"},"s3":null,"swift":null}}}'
