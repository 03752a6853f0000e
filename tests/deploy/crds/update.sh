#!/usr/bin/env bash
# tests/deploy/crds/update.sh — re-copy the pinned KEDA and prometheus-operator CRDs from their Go
# modules (the Go module proxy serves both as modules; nothing is built). Bump the versions here
# and in NOTICE together, then re-run tests/deploy/check_k8s.py.
set -euo pipefail
KEDA=v2.18.0
PROMOP=v0.85.0
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
dir() { (cd "$(mktemp -d)" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }
k=$(dir "github.com/kedacore/keda/v2@$KEDA")
p=$(dir "github.com/prometheus-operator/prometheus-operator@$PROMOP")
install -m 644 "$k"/config/crd/bases/keda.sh_{scaledobjects,triggerauthentications}.yaml "$HERE/"
install -m 644 "$p"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml "$HERE/"
install -m 644 "$k/LICENSE" "$HERE/LICENSE.Apache-2.0"
echo "CRDs: KEDA $KEDA, prometheus-operator $PROMOP"
