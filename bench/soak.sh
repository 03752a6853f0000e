#!/usr/bin/env bash
# bench/soak.sh — memory over time: the three workers under steady traffic for a while (default
# 10 minutes), their resident memory sampled every minute. Flat RSS is the goal (bounded caches,
# no leaks); the figures belong in a report, not a test.
#
#   bench/soak.sh [MINUTES] [--small-bounds] [--heap]   default 10; needs a Release build (build/release)
#
# Private stack in .stack-soak (stopped afterwards), fake models at 20-50 ms, one request with one
# image every ~50 ms over 500 projects via fleetctl (new image URLs each time, so the caches fill
# and evict). Each sample also shows the two bounded tables that grow with traffic, from the
# workers' /metrics: image-worker's analysis cache (bf_image_cache_entries) and brain-worker's
# late-facts table (brain_late_facts_entries).
#
# --small-bounds: image-worker BRAINFLEET_CACHE_ENTRIES=1000 and brain-worker
# BRAINFLEET_LATE_FACTS_MAX=1000 (docs/configuration.md) instead of 10,000 entries / 15 minutes,
# so both tables reach their bound in the first minutes: memory that still grows after that is
# not a cache filling. SOAK_IMAGE_ENV / SOAK_BRAIN_ENV add other settings (space-separated
# NAME=VALUE).
#
# --heap: each sample also shows every worker's live heap (glibc malloc_stats "in use bytes",
# called through gdb, which pauses the worker for about a second). RSS that grows while the live
# heap stays flat is the allocator keeping freed memory, not a leak. Needs gdb and ptrace rights.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
MINUTES=10
HEAP=""
IMAGE_ENV=(${SOAK_IMAGE_ENV:-})
BRAIN_ENV=(${SOAK_BRAIN_ENV:-})
for a in "$@"; do
    case $a in
        --small-bounds) IMAGE_ENV+=(BRAINFLEET_CACHE_ENTRIES=1000); BRAIN_ENV+=(BRAINFLEET_LATE_FACTS_MAX=1000) ;;
        --heap) HEAP=1; command -v gdb >/dev/null || { echo "soak: --heap needs gdb" >&2; exit 2; } ;;
        [0-9]*) MINUTES=$a ;;
        *) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
BUILD="$REPO/build/release"
export BF_STACK_DIR="$REPO/.stack-soak"
RUN="$BF_STACK_DIR/run"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/stack down --purge >/dev/null 2>&1 || true
}
trap cleanup EXIT
BF_BIN_DIR="$BUILD/memory-writer" scripts/stack up >/dev/null
eval "$(scripts/stack env)"
export BRAINFLEET_KAFKA_BROKERS BRAINFLEET_PG_DSN
mkdir -p "$RUN"
python3 - "$RUN/img.png" <<'PY'
import struct, sys, zlib
w, h = 96, 64
raw = b"".join(b"\x00" + b"".join(bytes(((x * 3) & 255, (y * 4) & 255, 128)) for x in range(w)) for y in range(h))
def chunk(k, d):
    c = struct.pack(">I", len(d)) + k + d
    return c + struct.pack(">I", zlib.crc32(k + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
# shellcheck source=../scripts/lib/fake.sh
. "$REPO/scripts/lib/fake.sh"
start_fake() { # VAR args...: sets VAR to the fake's URL
    local var=$1
    shift
    bf_start_fake "$BUILD/tests/fake_openai" "$RUN" "$var" --images-dir "$RUN" --latency-ms 20 --latency-jitter-ms 30 "$@"
    pids+=("$BF_FAKE_PID")
}
start_fake LLM  # function calls: the fake's default addScene
start_fake VISION --content '{"objects":["shape"]}' --seed 2
declare -A wpid
start_worker() {
    env BRAINFLEET_HTTP_PORT=0 BRAINFLEET_LOG_LEVEL=warn "${@:2}" "$BUILD/$1/$1" 2>>"$RUN/$1.log" &
    wpid[$1]=$!
    pids+=($!)
}
start_worker memory-writer
start_worker image-worker BRAINFLEET_FETCH_ALLOW_CIDRS=127.0.0.1/32 BRAINFLEET_VISION_URL="$VISION/v1/chat/completions" \
    BRAINFLEET_VISION_MODEL=fake "${IMAGE_ENV[@]}"
start_worker brain-worker BRAINFLEET_LLM_URL="$LLM" "${BRAIN_ENV[@]}"
sleep 5
echo "image-worker env: ${IMAGE_ENV[*]:-defaults}; brain-worker env: ${BRAIN_ENV[*]:-defaults}"
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# gauge PID NAME: a metric of the worker's /metrics (its HTTP port is found with ss), or ?
gauge() {
    local port
    port=$(ss -ltnpH 2>/dev/null | awk -v p="pid=$1," 'index($0, p) {sub(/.*:/, "", $4); print $4; exit}')
    [[ -n $port ]] || { echo '?'; return; }
    curl -s --max-time 2 "http://127.0.0.1:$port/metrics" | awk -v m="$2" '$1 == m {printf "%d", $2; f = 1} END {if (!f) printf "?"}'
}
end=$(( $(date +%s) + MINUTES * 60 ))
sent=0
next_sample=$(date +%s)
printf '%-8s %8s %14s %14s %14s %12s %12s\n' minute sent "memory-writer" "image-worker" "brain-worker" \
    "image-cache" "late-facts"
sample() {
    printf '%-8s %8s %11s kB %11s kB %11s kB %12s %12s' "$minute" "$sent" "$(rss "${wpid[memory-writer]}")" \
        "$(rss "${wpid[image-worker]}")" "$(rss "${wpid[brain-worker]}")" \
        "$(gauge "${wpid[image-worker]}" bf_image_cache_entries)" "$(gauge "${wpid[brain-worker]}" brain_late_facts_entries)"
    [[ -z $HEAP ]] || printf '   heap in use/held kB: %s  %s  %s' "$(heap memory-writer)" "$(heap image-worker)" "$(heap brain-worker)"
    printf '\n'
}
# heap NAME: the worker's malloc heap in kB, "in use/held from the system" (malloc_stats prints
# to the worker's stderr, i.e. its log)
heap() {
    timeout 30 gdb -p "${wpid[$1]}" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || { printf '?'; return; }
    awk '/^Total \(incl. mmap\):/ {t = 1; next} t && /system bytes/ {h = $NF} t && /in use bytes/ {v = $NF; t = 0}
         END {if (v != "") printf "%d/%d", v / 1024, h / 1024; else printf "?"}' "$RUN/$1.log"
}
minute=0
while (( $(date +%s) < end )); do
    if (( $(date +%s) >= next_sample )); then
        sample
        minute=$((minute + 1))
        next_sample=$((next_sample + 60))
    fi
    p=$((sent % 500))
    "$BUILD/fleetctl/fleetctl" send --project "soak-$p" --prompt "make it like this, request $sent" \
        --image "$LLM/images/img.png?n=$sent" >/dev/null 2>&1 || true
    sent=$((sent + 1))
    sleep 0.05
done
sample
for w in memory-writer image-worker brain-worker; do
    kill -0 "${wpid[$w]}" 2>/dev/null || echo "$w died during the soak (log: $RUN/$w.log)"
done
decided=$("$BUILD/fleetctl/fleetctl" replay --topic brainDecisions --since 2h 2>/dev/null | grep -c '"kind":"decision"' || true)
echo "requests sent: $sent; decisions on brainDecisions: $decided"
