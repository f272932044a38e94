# regplan render -p glusterfs --target ocp3 -o oc
# The same change as oc commands, in order. Secret values come from their sources, never this text.
set -euo pipefail

# Secret registry-config: the registry config.yml (one storage driver, auth.openshift kept)
oc -n default create secret generic registry-config --from-file=config.yml=/dev/stdin <<'EOF'
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

# PersistentVolumeClaim registry (its spec is immutable once bound)
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
  - ReadWriteMany
  resources:
    requests:
      storage: 1000Gi
  storageClassName: glusterfs-storage
EOF

# Pause rollouts so the volume and env changes roll out once
oc -n default rollout pause dc/docker-registry

oc -n default set volume dc/docker-registry --add --name=registry-storage -t pvc --claim-name=registry -m /registry --overwrite
oc -n default set volume dc/docker-registry --add --name=registry-config -t secret --secret-name=registry-config -m /etc/registryconfig --overwrite

# Env: point the registry at the mounted config; drop overrides of its storage section
oc -n default set env dc/docker-registry REGISTRY_CONFIGURATION_PATH=/etc/registryconfig/config.yml REGISTRY_STORAGE- REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS-
# Check no other REGISTRY_STORAGE_* override is left: oc -n default set env dc/docker-registry --list

# Replicas and strategy (replacing the strategy drops the old one's parameters)
oc -n default patch dc/docker-registry --type=json -p '[{"op":"replace","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/strategy","value":{"type":"Rolling"}}]'

oc -n default rollout resume dc/docker-registry
# Mounted at /etc/registryconfig; watch it: oc -n default rollout status dc/docker-registry
