#!/usr/bin/env bash
# tests/deploy/selftest_check_k8s.sh — proves check_k8s.py can fail: copies what it reads into a
# scratch tree, breaks one thing at a time and expects the matching complaint.
#   tests/deploy/selftest_check_k8s.sh [SOURCE_DIR]     (BF_BUILD_DIR: the build dir)
# Exit 0 all mutations caught, 1 one slipped through, 77 skipped (no kubectl/kustomize/PyYAML).
set -euo pipefail
SRC=$(cd "${1:-${BF_SOURCE_DIR:-$(dirname "${BASH_SOURCE[0]}")/../..}}" && pwd -P)
CHECK="$SRC/tests/deploy/check_k8s.py"
export BF_BUILD_DIR=${BF_BUILD_DIR:-$SRC/build/deploy}

if ! command -v kubectl >/dev/null && ! command -v kustomize >/dev/null; then
    echo "SKIP: kubectl/kustomize not installed (see check_k8s.py)"; exit 77
fi
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not installed"; exit 77; }

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
        echo "WRONG MESSAGE for $1 (wanted /$2/):"; grep FAIL <<<"$out" | head -5; failed=1
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
exit $failed
