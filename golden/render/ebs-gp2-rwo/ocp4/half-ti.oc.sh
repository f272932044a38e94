#!/usr/bin/env bash
# regplan render -p ebs-gp2-rwo --target ocp4 -o oc
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 4.x).
set -euo pipefail

# PersistentVolumeClaim registry (its spec is immutable once bound)
oc -n openshift-image-registry apply -f - <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: registry
  namespace: openshift-image-registry
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

# The operator config: the new backend, every other backend removed (null)
oc patch configs.imageregistry.operator.openshift.io/cluster --type=merge -p '{"spec":{"replicas":1,"rolloutStrategy":"Recreate","storage":{"azure":null,"emptyDir":null,"gcs":null,"ibmcos":null,"managementState":"Unmanaged","oss":null,"pvc":{"claim":"registry"},"s3":null,"swift":null}}}'
