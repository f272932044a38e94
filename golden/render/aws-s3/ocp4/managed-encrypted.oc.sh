#!/usr/bin/env bash
# regplan render -p aws-s3 --target ocp4 -o oc -f tests/fixtures/values/aws-s3-managed-encrypted.ocp4.yaml
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 4.x).
set -euo pipefail

# The operator config: the new backend, every other backend removed (null)
oc patch configs.imageregistry.operator.openshift.io/cluster --type=merge -p '{"spec":{"replicas":3,"rolloutStrategy":"RollingUpdate","storage":{"azure":null,"emptyDir":null,"gcs":null,"ibmcos":null,"managementState":"Managed","oss":null,"pvc":null,"s3":{"encrypt":true,"keyID":"arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"},"swift":null}}}'
