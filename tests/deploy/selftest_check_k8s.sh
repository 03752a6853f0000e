#!/usr/bin/env bash
# tests/deploy/selftest_check_k8s.sh — proves check_k8s.py can fail: copies what it reads into a
# scratch tree, breaks one thing at a time and expects the matching complaint.
#   tests/deploy/selftest_check_k8s.sh [SOURCE_DIR]     (BF_BUILD_DIR: the build dir)
# Exit 0 all mutations caught, 1 one slipped through, 77 skipped (no kustomize/Go/PyYAML) - never
# under CI=true, where scripts/setup has installed them and a missing one is a failure.
set -euo pipefail
SRC=$(cd "${1:-${BF_SOURCE_DIR:-$(dirname "${BASH_SOURCE[0]}")/../..}}" && pwd -P)
CHECK="$SRC/tests/deploy/check_k8s.py"
export BF_BUILD_DIR=${BF_BUILD_DIR:-$SRC/build/deploy}
TOOLS=${BF_TOOLS_DIR:-$HOME/.cache/brainfleet/tools}
case ${CI:-} in 1|true|TRUE|yes) in_ci=1 ;; *) in_ci=0 ;; esac
skip() { if ((in_ci)); then echo "FAIL (CI=true, nothing may skip): $*"; exit 1; fi; echo "SKIP: $*"; exit 77; }

if [[ ! -x $TOOLS/kustomize ]] && ! command -v kubectl >/dev/null && ! command -v kustomize >/dev/null; then
    skip "no kustomize in $TOOLS or on PATH (scripts/setup installs it)"
fi
command -v go >/dev/null || skip "Go not installed (k8s-validate is built with it)"
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml not installed"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fresh() {
    rm -rf "$TMP/src"
    mkdir -p "$TMP/src"
    cp -r "$SRC/deploy" "$SRC/schemas" "$SRC/common" "$SRC/brain-worker" "$SRC/image-worker" \
        "$SRC/memory-writer" "$TMP/src/"
}
failed=0
expect() { # description, expected message regex (after the mutation was applied)
    local out
    if out=$(python3 "$CHECK" "$TMP/src" 2>&1); then
        echo "NOT CAUGHT: $1"; failed=1
    elif ! grep -Eq -- "$2" <<<"$out"; then
        echo "WRONG MESSAGE for $1 (wanted /$2/):"; { grep FAIL <<<"$out" || tail -5 <<<"$out"; } | head -5; failed=1
    else
        echo "caught: $1"
    fi
}
B="$TMP/src/deploy/k8s/base"

fresh
python3 "$CHECK" "$TMP/src" >/dev/null || { echo "the unmodified copy does not pass"; python3 "$CHECK" "$TMP/src"; exit 1; }

fresh; sed -i 's/- BRAINFLEET_LOG_LEVEL=info/- BRAINFLEET_LOG_LEVEL=info\n      - BRAINFLEET_LOGLEVEL=debug/' "$B/kustomization.yaml"
expect "unknown variable in a ConfigMap" "BRAINFLEET_LOGLEVEL is not a setting"
fresh; sed -i 's/BRAINFLEET_SHUTDOWN_TIMEOUT=20s/BRAINFLEET_SHUTDOWN_TIMEOUT=20 seconds/' "$B/kustomization.yaml"
expect "unparseable duration" "rejects its settings"
fresh; sed -i 's/BRAINFLEET_SHUTDOWN_TIMEOUT=20s/BRAINFLEET_SHUTDOWN_TIMEOUT=40s/' "$B/kustomization.yaml"
expect "grace period below the shutdown bound" "terminationGracePeriodSeconds"
fresh; sed -i 's/BRAINFLEET_HTTP_PORT=8080/BRAINFLEET_HTTP_PORT=9090/' "$B/kustomization.yaml"
expect "probe port differs from the HTTP port" "port 8080 but BRAINFLEET_HTTP_PORT is 9090"
fresh; sed -i 's/BRAINFLEET_LLM_TIMEOUT=60s/BRAINFLEET_FETCH_TIMEOUT=60s/' "$B/kustomization.yaml"
expect "another worker's variable" "BRAINFLEET_FETCH_TIMEOUT is not a setting of brain-worker"
fresh; sed -i 's/BRAINFLEET_KAFKA_STATS_INTERVAL=5s/BRAINFLEET_KAFKA_STATS_INTERVAL=5s\n      - BRAINFLEET_KAFKA_NO_SUCH_PROPERTY=1/' "$B/kustomization.yaml"
expect "unknown librdkafka pass-through property" "kafka property"
fresh; sed -i 's/bf_consumer_lag_messages) > 1000/bf_consumer_lag) > 1000/' "$B/prometheusrule.yaml"
expect "alert on a metric nobody exports" "metric bf_consumer_lag is not exported"
fresh; sed -i 's/bf_memory_flush_seconds_bucket/bf_memory_flush_second_bucket/' "$B/dashboards/brainfleet.json"
expect "dashboard panel on a misspelt metric" "metric bf_memory_flush_second_bucket is not exported"
fresh; sed -i '0,/maxReplicaCount: 6/s//maxReplicaCount: 12/' "$B/scaledobjects.yaml"
expect "more replicas than partitions" "maxReplicaCount 12 above"
fresh; sed -i 's/topic: imageFactsProcessed/topic: imageFactsReady/' "$B/scaledobjects.yaml"
expect "scaling on a topic the worker does not consume" "ScaledObject brain-worker triggers on"
fresh; sed -i 's/^brainRequests\t6/brainRequests\t12/' "$TMP/src/schemas/topics.tsv"
expect "topics.yaml stale against the manifest" "does not match schemas/topics.tsv"
fresh; sed -i 's/BRAINFLEET_LOG_LEVEL: info/BRAINFLEET_LOG_LEVL: info/' "$TMP/src/deploy/docker/compose.yaml"
expect "compose sets an unknown variable" "compose: .*BRAINFLEET_LOG_LEVL"

# Issue 19: what a current cluster and a default kube-prometheus-stack would refuse or ignore.
fresh; sed -i 's#kafka.strimzi.io/v1$#kafka.strimzi.io/v1beta2#' "$B/topics.yaml"
expect "KafkaTopic on the v1beta2 API Strimzi 1.0 removed" "kafka.strimzi.io/v1beta2 is not served"
fresh; sed -i 's/        value: kube-prometheus-stack/        value: prometheus/' "$TMP/src/deploy/k8s/components/kube-prometheus-stack/kustomization.yaml"
sed -i '/^components:$/d; /^  - ..\/..\/components\/kube-prometheus-stack$/d' "$TMP/src/deploy/k8s/overlays/prod/kustomization.yaml"
expect "prod overlay without the Prometheus operator selector labels" "overlays/prod: does not include .*kube-prometheus-stack"
fresh; sed -i '/^components:$/d; /^  - ..\/..\/components\/kube-prometheus-stack$/d' "$TMP/src/deploy/k8s/overlays/dev/kustomization.yaml"
expect "ServiceMonitor without the release label" "ServiceMonitor brainfleet has release label None"
fresh; sed -i 's/command: \["memory-writer", "migrate"\]/command: ["memory-writer", "cleanup"]/' "$B/memory-writer.yaml"
expect "memory-writer without the migrate init container" "no init container running .memory-writer migrate."
fresh; sed -i '0,/                  optional: false/s//                  optional: true/' "$TMP/src/deploy/k8s/overlays/prod/credentials.yaml"
expect "an optional credential in prod" "overlays/prod: .*BRAINFLEET_KAFKA_SASL_USERNAME comes from an optional Secret"
fresh; sed -i 's/              app.kubernetes.io\/name: image-worker$/              app.kubernetes.io\/part-of: brainfleet/' "$B/image-worker.yaml"
expect "topology spread over every brainfleet pod" "Deployment image-worker: topology spread counts the pods of"
fresh; sed -i 's/minReadySeconds: 15/minReadySecond: 15/' "$B/brain-worker.yaml"
expect "a misspelt Deployment field (strict API types)" "schema: .*Deployment/brain-worker: .*unknown field .minReadySecond."
fresh; sed -i '0,/lagThreshold: "100"/s//lagThreshold: 100/' "$B/scaledobjects.yaml"
expect "a ScaledObject field of the wrong type (KEDA CRD schema)" "schema: .*ScaledObject/brain-worker: .*want string"
fresh; sed -i 's/      interval: 15s/      intervall: 15s/' "$B/servicemonitor.yaml"
expect "an unknown ServiceMonitor field (prometheus-operator CRD schema)" "schema: .*ServiceMonitor/brainfleet: .*intervall"
fresh; sed -i 's/              memory: 1280Mi/              memory: 1Gi/' "$B/image-worker.yaml"
expect "image-worker's limit below its memory budget" "base: Deployment/image-worker: memory limit 1024Mi is below BRAINFLEET_IMAGE_MEMORY_BUDGET"
fresh; sed -i 's/      - BRAINFLEET_IMAGE_MEMORY_BUDGET=320M/      - BRAINFLEET_IMAGE_MEMORY_BUDGET=400M/' "$TMP/src/deploy/k8s/overlays/dev/kustomization.yaml"
expect "a dev budget its limit cannot hold" "overlays/dev: Deployment/image-worker: memory limit 512Mi is below"
fresh; sed -i 's/      - BRAINFLEET_IMAGE_MEMORY_BUDGET=320M/      - BRAINFLEET_IMAGE_MEMORY_BUDGET=100M/' "$TMP/src/deploy/k8s/overlays/dev/kustomization.yaml"
expect "a budget that cannot hold one image" "overlays/dev: .*image-worker rejects its settings"

# Under CI a missing renderer fails the check instead of skipping it.
fresh
rc=0
mkdir -p "$TMP/bin"
for f in /usr/local/bin/* /usr/bin/* /bin/*; do
    n=${f##*/}
    [[ $n == kubectl || $n == kustomize || -e $TMP/bin/$n ]] || ln -s "$f" "$TMP/bin/$n"
done
go_bin=$(command -v go)
ln -sf "$go_bin" "$TMP/bin/go"
out=$(PATH=$TMP/bin CI=true BF_TOOLS_DIR=/nonexistent "$(command -v python3)" "$CHECK" "$TMP/src" 2>&1) || rc=$?
if ((rc == 1)) && grep -q "FAIL: no kustomize renderer" <<<"$out"; then
    echo "caught: no renderer under CI=true is a failure, not a skip"
else
    echo "NOT CAUGHT: no renderer under CI=true exited $rc:"; tail -3 <<<"$out"; failed=1
fi
exit $failed
