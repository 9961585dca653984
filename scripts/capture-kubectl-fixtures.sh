#!/usr/bin/env bash
# Captures what kubectl really prints for Events, for the replay-format fixtures under
# test/fixtures/replay-formats/ (see the README there). Needs a fresh control plane
# (`bash test/env/kube.sh start DIR`) and kubectl:
#
#   KUBE_RUN_DIR=DIR bash scripts/capture-kubectl-fixtures.sh OUT_DIR
#
# It makes a small scenario (a namespace, a kwok node, a Deployment of 2 Pods, a Pod no node can
# take, a crash-looping Pod, a StatefulSet, a DaemonSet, a Job and a CronJob) while the watches run,
# then stops them. Timestamps, uids and
# resourceVersions are those of the run; the shapes are kubectl's and the kube-apiserver's.
set -euo pipefail
OUT="${1:?usage: capture-kubectl-fixtures.sh OUT_DIR}"
KUBE_RUN_DIR="${KUBE_RUN_DIR:?set KUBE_RUN_DIR to the run directory of test/env/kube.sh start}"
export KUBECONFIG="$KUBE_RUN_DIR/kubeconfig"
KUBECTL="${KUBECTL:-kubectl}"
WATCH_SECONDS="${WATCH_SECONDS:-40}"
NS="${NS:-shop}"
NODE="${NODE:-node-a}"
mkdir -p "$OUT"
k() { "$KUBECTL" "$@"; }
# background watches run "$KUBECTL" directly (not through k), so that $! is kubectl itself

k version -o json > "$OUT/versions.json" 2>/dev/null || true

# the watches, started before anything happens
pids=()
"$KUBECTL" get events -A -w -o json > "$OUT/watch-json.raw" & pids+=($!)
"$KUBECTL" get events -A -w -o yaml > "$OUT/watch-yaml.raw" & pids+=($!)
"$KUBECTL" get events.v1.events.k8s.io -A -w -o json > "$OUT/watch-events-k8s-io-json.raw" & pids+=($!)
"$KUBECTL" get events -A -w --output-watch-events -o json > "$OUT/watch-events-json.raw" & pids+=($!)
"$KUBECTL" get --raw '/apis/events.k8s.io/v1/events?watch=1&allowWatchBookmarks=true' > "$OUT/raw-watch-events-k8s-io.raw" & pids+=($!)
"$KUBECTL" get --raw '/api/v1/events?watch=1&allowWatchBookmarks=true' > "$OUT/raw-watch-core-v1.raw" & pids+=($!)
sleep 2

k create namespace "$NS"
cat <<YAML | k apply -f -
apiVersion: v1
kind: Node
metadata:
  name: $NODE
  labels: {kubernetes.io/arch: amd64, kubernetes.io/hostname: $NODE, kubernetes.io/os: linux, type: kwok, topology.kubernetes.io/zone: zone-a}
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
spec: {}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: checkout, namespace: $NS, labels: {app: checkout}}
spec:
  replicas: 2
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec: {containers: [{name: main, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api-unschedulable, namespace: $NS, labels: {app: api}}
spec:
  nodeSelector: {kubevents.test/no-such-node: "true"}
  containers: [{name: main, image: registry.k8s.io/pause:3.10}]
---
apiVersion: v1
kind: Pod
metadata: {name: cart-crash, namespace: $NS, labels: {app: cart}, annotations: {kubevents.test/crash: "true"}}
spec: {containers: [{name: main, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: $NS}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: main, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: $NS}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: main, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: $NS}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: main, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: $NS}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: main, image: registry.k8s.io/pause:3.10}]}
YAML
sleep "$WATCH_SECONDS"
kill "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true

# snapshots after the fact
k get events -A -o json > "$OUT/list-json.raw"
k get events -A -o yaml > "$OUT/list-yaml.raw"
k get pods,events -n "$NS" -o json > "$OUT/pods-and-events-json.raw"
# everything enrichment needs, in one List
k get nodes,deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,pods,events -A -o json > "$OUT/context-list-json.raw"
# a watch from a resourceVersion the API no longer serves (etcd compacted, watch cache refilled by a
# restart): kube-apiserver answers with one ERROR line (410 Expired)
first_rv="$(head -c 100000 "$OUT/raw-watch-core-v1.raw" | grep -o '"resourceVersion":"[0-9]*"' | head -1 | grep -o '[0-9]*')"
bash "$(dirname "$0")/../test/env/kube.sh" compact-etcd "$KUBE_RUN_DIR" >/dev/null
bash "$(dirname "$0")/../test/env/kube.sh" restart-apiserver "$KUBE_RUN_DIR" >/dev/null
timeout 10 "$KUBECTL" get --raw "/api/v1/events?watch=1&resourceVersion=$first_rv" > "$OUT/raw-watch-expired.raw" || true


# derived with jq, as users pipe kubectl's output
if command -v jq >/dev/null; then
  # one bare Event per line
  jq -c . "$OUT/watch-json.raw" > "$OUT/watch-json-compact.raw"
  # watch events whose objects carry no apiVersion/kind, as a client that decodes into typed structs writes them
  jq -c '.object |= del(.apiVersion, .kind)' "$OUT/raw-watch-core-v1.raw" > "$OUT/watch-events-no-kind-core-v1.raw"
  jq -c '.object |= del(.apiVersion, .kind)' "$OUT/raw-watch-events-k8s-io.raw" > "$OUT/watch-events-no-kind-events-k8s-io.raw"
fi
ls -la "$OUT"
