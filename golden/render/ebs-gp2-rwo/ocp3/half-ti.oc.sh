#!/usr/bin/env bash
# regplan render -p ebs-gp2-rwo --target ocp3 -o oc
# The same change as oc commands, in order; safe to run again. Secret values come from their
# sources, never this text. Needs oc logged in to the cluster (oc 3.11 or later).
set -euo pipefail

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
  - ReadWriteOnce
  resources:
    requests:
      storage: 512Gi
  storageClassName: gp3-csi
EOF

# Pause rollouts so the volume and env changes roll out once. The EXIT trap resumes them whether
# the script ends well or not (a failure part-way must not leave the registry paused); a DC that
# was already paused is left as it was found.
paused_here=
resume() { if [ -n "$paused_here" ]; then oc -n default rollout resume dc/docker-registry; fi; }
trap resume EXIT
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
