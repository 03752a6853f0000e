#!/usr/bin/env bash
# bench/load.sh — load: many projects at once with mixed traffic through the whole fleet (one
# replica of each worker, fake models), for a bounded run. Prints throughput, per-stage
# p50/p95/p99 (fleetctl report over the run's topics), peak RSS per worker (VmHWM), peak
# PostgreSQL connections (pg_stat_activity sampled every second), and the fault checker's counts
# (nothing lost, nothing applied twice). Figures for a report, not a test.
#
#   bench/load.sh [--projects N] [--turns T] [--long-turns L] [--rate R] [--llm-ms MS]
#                 [--vision-ms MS] [--brain-in-flight N] [--wait S]
#
#   --projects N    distinct projects (Kafka keys), all active from the first second (default 5000)
#   --turns T       requests per project (default 3) ...
#   --long-turns L  ... except long conversations: L requests each (default 12)
#   --rate R        requests produced per second (default 250); the run is bounded: the last one
#                   is produced after about requests/R seconds
#   --llm-ms MS     brain LLM fake latency, plus up to MS/2 jitter (default 200)
#   --vision-ms MS  vision fake latency, plus up to MS/2 jitter (default 300)
#   --brain-in-flight N  brain-worker's BRAINFLEET_MAX_IN_FLIGHT (default 2048). One replica
#                   decides at most N / (time per decision) requests a second (Little's law): at
#                   the default 256 and ~0.8 s per decision under this load, about 320/s. A
#                   replica meant to take 1,000/s needs N >= 1,000 x 0.8 s, with room for spikes.
#   --wait S        longest wait after the last request for the pipeline to drain (default 600)
#
# Traffic (by project, in rounds: every project sends its first request, then every project its
# second, ...): 40% new scenes (prompts adding scenes), 25% edits of an existing scene
# (selected_scene_id; three scenes per project are seeded into the scenes table as the editor
# would), 25% image uploads (one or two image URLs per request, new URLs each time, three
# distinct images of 64x48, 320x240 and 1024x768 pixels served by a fake), 10% long conversations
# (a conversation_id, L turns, 1-2 KB prompts). Each prompt also states a preference unique to
# its request, which lets tests/faults/fault_checker count lost and duplicated effects.
#
# Private stack in BF_LOAD_STACK_DIR (default <repo>/.stack-load), purged afterwards; a Release
# build in BF_BUILD_DIR (default build/release). JSON summary in bench/out/load-<time>.json.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
PROJECTS=5000 TURNS=3 LONG_TURNS=12 RATE=250 LLM_MS=200 VISION_MS=300 BRAIN_IN_FLIGHT=2048 WAIT_S=600
usage() { sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
num() { [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "load: $1 needs a number, got '${2:-}'" >&2; exit 2; }; }
while (($#)); do
    case $1 in
        --projects) num "$1" "${2:-}"; PROJECTS=$2 ;;
        --turns) num "$1" "${2:-}"; TURNS=$2 ;;
        --long-turns) num "$1" "${2:-}"; LONG_TURNS=$2 ;;
        --rate) num "$1" "${2:-}"; RATE=$2 ;;
        --llm-ms) num "$1" "${2:-}"; LLM_MS=$2 ;;
        --vision-ms) num "$1" "${2:-}"; VISION_MS=$2 ;;
        --brain-in-flight) num "$1" "${2:-}"; BRAIN_IN_FLIGHT=$2 ;;
        --wait) num "$1" "${2:-}"; WAIT_S=$2 ;;
        *) usage ;;
    esac
    shift 2
done
((PROJECTS >= 10 && TURNS >= 1 && RATE >= 1)) || { echo "load: need --projects >= 10, --turns >= 1, --rate >= 1" >&2; exit 2; }
BUILD=$(cd "${BF_BUILD_DIR:-$REPO/build/release}" && pwd -P)
for b in brain-worker/brain-worker image-worker/image-worker memory-writer/memory-writer fleetctl/fleetctl \
         tests/fake_openai tests/fault_checker; do
    [[ -x $BUILD/$b ]] || { echo "load: $BUILD/$b not built" >&2; exit 2; }
done
for t in kcat psql python3; do command -v $t >/dev/null || { echo "load: $t not found" >&2; exit 2; }; done

export BF_STACK_DIR=$(realpath -m "${BF_LOAD_STACK_DIR:-$REPO/.stack-load}")
[[ $BF_STACK_DIR != "$(realpath -m "$REPO/.stack")" ]] || { echo "load: needs a private stack, not $BF_STACK_DIR" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bf-load.XXXXXX")
pids=()
declare -A wpid
log() { printf '[load %s] %s\n' "$(date +%T)" "$*" >&2; }
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    scripts/stack down --purge >/dev/null 2>&1 || true
    [[ -n ${KEEP_WORK:-} ]] && log "work files kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
BF_BIN_DIR="$BUILD/memory-writer" scripts/stack up >"$WORK/stack-up.log" 2>&1 || { cat "$WORK/stack-up.log" >&2; exit 2; }
eval "$(scripts/stack env)"
BASE_DSN=$BRAINFLEET_PG_DSN
RUN="load$(date +%s)"
PREFIX="$RUN."
DB=$RUN
DSN="$BASE_DSN dbname=$DB"
psql "$BASE_DSN" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB\"" >/dev/null
BRAINFLEET_PG_DSN=$DSN "$BUILD/memory-writer/memory-writer" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; exit 2; }
BRAINFLEET_TOPIC_PREFIX=$PREFIX "$BUILD/fleetctl/fleetctl" topics ensure --manifest schemas/topics.tsv >"$WORK/topics.log" 2>&1 \
    || { cat "$WORK/topics.log" >&2; exit 2; }

# --- images and fakes ----------------------------------------------------------------------------
mkdir -p "$WORK/images"
python3 - "$WORK/images" <<'PY'
import struct, sys, zlib
def png(path, w, h, seed):
    raw = b"".join(b"\x00" + bytes(v for x in range(w) for v in ((x * seed) & 255, (y * 3 + seed) & 255, (x ^ y) & 255))
                   for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png(sys.argv[1] + "/small.png", 64, 48, 5)
png(sys.argv[1] + "/medium.png", 320, 240, 7)
png(sys.argv[1] + "/large.png", 1024, 768, 11)
PY
# shellcheck source=../scripts/lib/fake.sh
. "$REPO/scripts/lib/fake.sh"
start_fake() { # VAR args...: sets VAR to the fake's base URL
    bf_start_fake "$BUILD/tests/fake_openai" "$WORK" "$@"
    pids+=("$BF_FAKE_PID")
}
start_fake IMG_URL --images-dir "$WORK/images" --max-connections 4096
start_fake LLM_URL --latency-ms "$LLM_MS" --latency-jitter-ms $((LLM_MS / 2)) --max-connections 4096 --seed 3 \
    --answer tool --tool-calls '[{"name":"addScene","arguments":{"instruction":"a scene for the request","summary":"Add a scene for the request"}}]'
start_fake VISION_URL --latency-ms "$VISION_MS" --latency-jitter-ms $((VISION_MS / 2)) --max-connections 4096 --seed 4 \
    --content '{"objects":["gradient"],"style":{"aesthetic":"flat"}}'

# --- workers -------------------------------------------------------------------------------------
start_worker() { # name VAR=VALUE...
    env BRAINFLEET_PG_DSN="$DSN" BRAINFLEET_TOPIC_PREFIX="$PREFIX" BRAINFLEET_GROUP_ID="${PREFIX}$1" \
        BRAINFLEET_HTTP_PORT=0 BRAINFLEET_HTTP_BIND=127.0.0.1 BRAINFLEET_LOG_LEVEL=warn "${@:2}" \
        "$BUILD/$1/$1" 2>>"$WORK/$1.log" &
    wpid[$1]=$!
    pids+=($!)
}
start_worker memory-writer
start_worker image-worker BRAINFLEET_FETCH_ALLOW_CIDRS=127.0.0.1/32 BRAINFLEET_VISION_URL="$VISION_URL/v1/chat/completions" \
    BRAINFLEET_VISION_MODEL=fake-vision
start_worker brain-worker BRAINFLEET_LLM_URL="$LLM_URL" BRAINFLEET_LLM_MODEL=fake-brain \
    BRAINFLEET_MAX_IN_FLIGHT="$BRAIN_IN_FLIGHT"

# --- requests ------------------------------------------------------------------------------------
python3 - "$PROJECTS" "$TURNS" "$LONG_TURNS" "$PREFIX" "$IMG_URL" "$WORK" <<'PY'
import json, os, random, sys, time, uuid
projects, turns, long_turns, prefix, img, work = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4], sys.argv[5], sys.argv[6]
rnd = random.Random(9)
def uuid7():
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))
def kind(p):  # 40% new scenes, 25% edits, 25% image uploads, 10% long conversations
    r = p % 20
    return "new" if r < 8 else "edit" if r < 13 else "image" if r < 18 else "long"
filler = ("The intro should feel calm, the colours warm, the type large and the pacing slow; keep the logo "
          "on screen for the whole scene and fade the background music in over the first two seconds. ")
counts = {"new": 0, "edit": 0, "image": 0, "long": 0}
images = 0
with open(f"{work}/requests.tsv", "w") as req, open(f"{work}/produce.tsv", "w") as out, \
        open(f"{work}/edit-projects.txt", "w") as edits:
    for p in range(projects):
        if kind(p) == "edit":
            edits.write(f"{prefix}p{p}\n")
    for t in range(max(turns, long_turns)):
        for p in range(projects):
            k = kind(p)
            if t >= (long_turns if k == "long" else turns):
                continue
            pid, rid = f"{prefix}p{p}", uuid7()
            payload = {"request_id": rid, "await_image_facts_ms": 0}
            # The stated preference is unique per request: fault_checker counts its applications.
            state = f"I prefer palette {rid}. "
            urls = []
            if k == "new":
                payload["prompt"] = state + f"Add a new scene {t + 1} with a title card and a slow zoom."
            elif k == "edit":
                payload["prompt"] = state + "Make the selected scene two seconds shorter and the text bigger."
                payload["selected_scene_id"] = f"s{rnd.randint(1, 3)}"
            elif k == "image":
                urls = [f"{img}/images/{rnd.choice(['small', 'medium', 'large'])}.png?p={p}&t={t}&i={i}"
                        for i in range(1 + (p + t) % 2)]
                payload["prompt"] = state + "Make a scene that looks like this upload."
            else:
                payload["conversation_id"] = f"c{p}"
                payload["prompt"] = state + f"Turn {t + 1} of our conversation. " + filler * rnd.randint(6, 12)
            if urls:
                payload["image_urls"] = urls
            images += len(urls)
            counts[k] += 1
            env = {"schema": "brainRequests", "schema_version": 1, "event_id": uuid7(), "trace_id": os.urandom(16).hex(),
                   "project_id": pid, "produced_at_ms": 0, "producer": "load",
                   "payload": payload}
            req.write(f"{rid}\t{pid}\t{len(urls)}\n")
            out.write(pid + "\t" + json.dumps(env, separators=(",", ":")) + "\n")
json.dump({"requests": sum(counts.values()), "images": images, **counts}, open(f"{work}/mix.json", "w"))
PY
N=$(wc -l <"$WORK/requests.tsv")
IMAGES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"])' "$WORK/mix.json")
log "run $RUN: $N requests over $PROJECTS projects, $IMAGES images, mix $(cat "$WORK/mix.json")"
# Three scenes per edit project, as the editor would have stored them.
psql "$DSN" -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TEMP TABLE ep (project_id text);
\copy ep FROM '$WORK/edit-projects.txt'
INSERT INTO scenes (project_id, scene_id, name, position, duration_ms)
SELECT project_id, 's' || n, 'scene ' || n, n, 4000 FROM ep, generate_series(1, 3) AS n;
SQL
sleep 3 # the workers join their groups

# --- samplers ------------------------------------------------------------------------------------
# Peak PostgreSQL connections: client backends of the run's database and of the whole server, the
# sampler's own excluded (autovacuum workers are not connections).
( while :; do
      psql "$BASE_DSN" -XAtq -c "SELECT count(*) FILTER (WHERE datname = '$DB' AND backend_type = 'client backend'),
                                        count(*) FILTER (WHERE backend_type = 'client backend')
                                 FROM pg_stat_activity WHERE pid <> pg_backend_pid()" 2>/dev/null | tr '|' ' '
      sleep 1
  done >"$WORK/pg-conns.txt" ) &
SAMPLER=$!
pids+=($SAMPLER)

# --- produce at RATE per second, then wait for the pipeline to drain -----------------------------
split -l "$RATE" -d -a 5 "$WORK/produce.tsv" "$WORK/sec."
start_ms=$(date +%s%3N)
for f in "$WORK"/sec.[0-9]*[0-9]; do
    t0=$(date +%s%3N)
    # produced_at_ms is when the request is sent, the start of every latency fleetctl report shows.
    sed "s/\"produced_at_ms\":0,/\"produced_at_ms\":$t0,/" "$f" >"$f.now"
    kcat -P -b "$BRAINFLEET_KAFKA_BROKERS" -t "${PREFIX}brainRequests" -K $'\t' -X linger.ms=20 \
        -X message.timeout.ms=120000 -l "$f.now" || { log "producing $f failed"; exit 2; }
    left=$((1000 - ($(date +%s%3N) - t0)))
    ((left > 0)) && sleep "$(printf '0.%03d' "$left")"
done
produced_ms=$(date +%s%3N)
log "all $N produced in $(((produced_ms - start_ms) / 1000)) s; waiting for $N decisions persisted and $IMAGES image facts"
deadline=$(($(date +%s) + WAIT_S))
done_ms=""
while (($(date +%s) < deadline)); do
    read -r msgs facts < <(psql "$DSN" -XAtq -F ' ' -c "SELECT (SELECT count(*) FROM messages WHERE role = 'assistant'),
                                                               (SELECT count(DISTINCT trace_id) FROM image_analysis)")
    for w in memory-writer image-worker brain-worker; do
        kill -0 "${wpid[$w]}" 2>/dev/null || { log "$w died (log $WORK/$w.log)"; tail -n 5 "$WORK/$w.log" >&2; exit 1; }
    done
    if ((msgs >= N && facts >= IMAGES)); then done_ms=$(date +%s%3N); break; fi
    sleep 1
done
[[ -n $done_ms ]] || log "not drained after $WAIT_S s: $msgs of $N decisions persisted, $facts of $IMAGES facts"
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
declare -A HWM
for w in memory-writer image-worker brain-worker; do HWM[$w]=$(hwm "${wpid[$w]}"); done
kill -TERM "$SAMPLER" 2>/dev/null || true
read -r pg_run pg_all < <(awk '$1 > a {a = $1} $2 > b {b = $2} END {print a + 0, b + 0}' "$WORK/pg-conns.txt")

# --- figures -------------------------------------------------------------------------------------
end_ms=${done_ms:-$(date +%s%3N)}
secs=$(awk -v a="$start_ms" -v b="$end_ms" 'BEGIN {printf "%.1f", (b - a) / 1000}')
echo "== load: $N requests ($(cat "$WORK/mix.json")), $PROJECTS projects, rate $RATE/s, LLM ${LLM_MS} ms, vision ${VISION_MS} ms, brain in flight $BRAIN_IN_FLIGHT"
drained="drained (every decision persisted, every image fact stored) after $secs s"
[[ -n $done_ms ]] || drained="NOT drained after $secs s"
echo "produced in $(awk -v a="$start_ms" -v b="$produced_ms" 'BEGIN {printf "%.1f", (b - a) / 1000}') s; $drained"
echo "throughput: $(awk -v n="$N" -v s="$secs" 'BEGIN {printf "%.0f", n / s}') requests/s end to end (first produced -> last assistant message persisted)"
# Issue 16's target: at 1,000 offered the fleet keeps up, i.e. >= 0.9 x the offered rate.
echo "target: offered $RATE/s, kept up at $(awk -v n="$N" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')/s end to end (>= $((RATE * 9 / 10))/s)$([[ -n $done_ms ]] || echo ', NOT drained')"
echo "peak RSS (VmHWM): memory-writer ${HWM[memory-writer]} kB, image-worker ${HWM[image-worker]} kB, brain-worker ${HWM[brain-worker]} kB"
echo "peak PostgreSQL connections: $pg_run to the run's database, $pg_all client backends in the server (sampled every 1 s)"
echo "== fleetctl report (the run's topics, from the first request to the drain + 3 s)"
sleep 3 # the last enrichments
window=(--from-time "$(date -u -d "@$((start_ms / 1000 - 1))" +%FT%TZ)" --to-time "$(date -u +%FT%TZ)")
BRAINFLEET_TOPIC_PREFIX=$PREFIX "$BUILD/fleetctl/fleetctl" report "${window[@]}" | tee "$WORK/report.txt"
BRAINFLEET_TOPIC_PREFIX=$PREFIX "$BUILD/fleetctl/fleetctl" report "${window[@]}" -o json >"$WORK/report.json" 2>/dev/null || true
echo "== fault_checker (nothing lost, nothing applied twice)"
rc=0
BRAINFLEET_PG_DSN=$DSN "$BUILD/tests/fault_checker" --prefix "$PREFIX" --requests "$WORK/requests.tsv" --wait-ms 60000 \
    | tee "$WORK/check.txt" || rc=$?
mkdir -p bench/out
out="bench/out/load-$(date +%Y%m%dT%H%M%S).json"
python3 - "$out" "$WORK" "$N" "$PROJECTS" "$RATE" "$LLM_MS" "$VISION_MS" "$secs" "${done_ms:+1}" "${HWM[memory-writer]}" \
    "${HWM[image-worker]}" "${HWM[brain-worker]}" "$pg_run" "$pg_all" <<'PY'
import json, sys
a = sys.argv
check = next((json.loads(l) for l in open(a[2] + "/check.txt") if l.startswith("{")), None)
try:
    report = json.load(open(a[2] + "/report.json"))
except Exception:
    report = None
json.dump({"bench": "load", "requests": int(a[3]), "mix": json.load(open(a[2] + "/mix.json")), "projects": int(a[4]),
           "rate": int(a[5]), "llm_ms": int(a[6]), "vision_ms": int(a[7]), "seconds": float(a[8]), "drained": a[9] == "1",
           "throughput_rps": round(int(a[3]) / float(a[8]), 1),
           "vmhwm_kb": {"memory-writer": int(a[10]), "image-worker": int(a[11]), "brain-worker": int(a[12])},
           "pg_connections_peak": {"run_db": int(a[13]), "server": int(a[14])}, "checker": check, "report": report},
          open(a[1], "w"))
PY
cat "$out"
echo
echo "summary: $out"
exit "$rc"
