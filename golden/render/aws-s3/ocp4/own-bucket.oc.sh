#!/usr/bin/env bash
# regplan render -p aws-s3 --target ocp4 -o oc
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 4.x).
set -euo pipefail

# S3 credentials for the operator (both keys or none: docs/domain.md)
secret_yaml=$(oc -n openshift-image-registry create secret generic image-registry-private-configuration-user --dry-run=client -o yaml \
  --from-literal=REGISTRY_STORAGE_S3_ACCESSKEY="$REGPLAN_GOLDEN_ACCESS_KEY" \
  --from-literal=REGISTRY_STORAGE_S3_SECRETKEY="$REGPLAN_GOLDEN_SECRET_KEY")
printf '%s\n' "$secret_yaml" | oc -n openshift-image-registry replace -f - 2>/dev/null \
  || printf '%s\n' "$secret_yaml" | oc -n openshift-image-registry create -f -
unset secret_yaml

# The operator config: the new backend, every other backend removed (null)
oc patch configs.imageregistry.operator.openshift.io/cluster --type=merge -p '{"spec":{"replicas":2,"rolloutStrategy":"RollingUpdate","storage":{"azure":null,"emptyDir":null,"gcs":null,"ibmcos":null,"managementState":"Unmanaged","oss":null,"pvc":null,"s3":{"bucket":"acme-registry-images","chunkSizeMiB":64,"encrypt":true,"region":"eu-central-1"},"swift":null}}}'
