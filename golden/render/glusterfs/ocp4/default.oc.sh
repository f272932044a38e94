#!/usr/bin/env bash
# regplan render -p glusterfs --target ocp4 -o oc
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 4.x).
set -euo pipefail

# PersistentVolumeClaim image-registry-storage (its spec is immutable once bound)
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
