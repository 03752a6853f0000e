#!/usr/bin/env bash
# bench/scaling_bench.sh — horizontal scaling of the workers on the real local stack.
#
#   eval "$(scripts/stack env)"
#   bench/scaling_bench.sh bench [--replicas "1 2 4"] [--stage memory-writer|brain-worker|brain-llm|all] [-n N]
#                                [--small]
#       For each replica count: fresh topics (own BRAINFLEET_TOPIC_PREFIX) and consumer group,
#       N messages produced up front, R replicas started at once; prints the time to drain and
#       the throughput (whole run, group join included, and steady state between 10% and 90%),
#       and where the CPU went (workers, broker, PostgreSQL, whole machine). brain-llm is
#       brain-worker against a fake LLM with BF_BENCH_LLM_LATENCY_MS (100) per decision and
#       BRAINFLEET_MAX_IN_FLIGHT=BF_BENCH_LLM_IN_FLIGHT (16): the latency-bound production case.
#       Messages per run (unless -n): memory-writer 200000, brain-worker 40000, brain-llm 8000;
#       --small (what bench/run uses, to fit its 10 minutes): 10000, 5000 and 2000.
#   bench/scaling_bench.sh scale-test [-n N]
#       The proof: memory-writer replicas go 1 -> 2 -> 4 -> 3 (the last by SIGTERM) in one group
#       while messages keep arriving. Asserts every message was processed exactly once in PostgreSQL (each project's
#       evidence_count equals its updates: a lost or doubled update changes it; one messages row
#       per message; one processed_events row per event id), that the group ended balanced (the
#       18 input partitions spread over the 3 live replicas, each /readyz ready) and nothing was
#       dead-lettered. Exit 0 when all hold.
#
# Needs BRAINFLEET_KAFKA_BROKERS and BRAINFLEET_PG_DSN (scripts/stack env), kcat, psql,
# python3, and the binaries in BF_BUILD_DIR (default build/deploy). Everything it creates is named
# after a unique run id (topics, group, projects); it never touches the shared stack otherwise.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD=$(cd "${BF_BUILD_DIR:-$REPO/build/deploy}" && pwd -P)
MODE=${1:-bench}; shift || true
REPLICAS="1 2 4"
STAGE=all
N=""
SMALL=""
while (($#)); do
    case $1 in
        --replicas) REPLICAS=$2; shift 2 ;;
        --stage) STAGE=$2; shift 2 ;;
        -n) N=$2; shift 2 ;;
        --small) SMALL=1; shift ;;
        *) echo "usage: $0 bench|scale-test [--replicas LIST] [--stage S] [-n N] [--small]" >&2; exit 2 ;;
    esac
done
: "${BRAINFLEET_KAFKA_BROKERS:?run: eval \"\$(scripts/stack env)\"}"
: "${BRAINFLEET_PG_DSN:?run: eval \"\$(scripts/stack env)\"}"
for t in kcat psql python3; do command -v $t >/dev/null || { echo "$t not found" >&2; exit 1; }; done

RUN="sb$(date +%s)$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scaling-bench.XXXXXX")
PIDS=()
EXTRA_ENV=()
FAKE_PID=""
LLM_LATENCY_MS=${BF_BENCH_LLM_LATENCY_MS:-100}
LLM_IN_FLIGHT=${BF_BENCH_LLM_IN_FLIGHT:-16}
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ -n $FAKE_PID ]]; then kill -TERM "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
    [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"
    drop_private_db
}
trap cleanup EXIT
now() { date +%s.%N; }

# gen KIND PREFIX_PROJECTS N PROJECTS > lines "key<TAB>json" (UUIDv7 event ids)
gen() {
    python3 - "$@" <<'PY'
import json, os, sys, time, uuid
kind, proj, n, nproj = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def uuid7():
    ms = int(time.time() * 1000)
    b = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))
out = sys.stdout
for i in range(n):
    p = f"{proj}-{i % nproj}"
    env = {"schema": kind, "schema_version": 1, "event_id": uuid7(), "trace_id": os.urandom(16).hex(),
           "project_id": p, "produced_at_ms": int(time.time() * 1000), "producer": "scaling-bench"}
    if kind == "memoryUpdates":
        env["payload"] = {"request_id": str(uuid.uuid4()),
            "items": [{"memory_type": "user_preference", "key": "bench_mood", "value": "calm",
                       "confidence": 0.01, "source": "scaling-bench", "explicit": False}],
            "messages": [{"message_id": uuid7(), "role": "user", "content": f"bench message {i}",
                          "conversation_id": "bench"}]}
    else:
        env["payload"] = {"request_id": str(uuid.uuid4()), "prompt": "add a title scene with calm colours",
                          "image_urls": []}
    out.write(p + "\t" + json.dumps(env, separators=(",", ":")) + "\n")
PY
}

produce() { # topic file
    kcat -P -b "$BRAINFLEET_KAFKA_BROKERS" -t "$1" -K $'\t' -z lz4 -X linger.ms=20 -l "$2"
}

ensure_topics() { # prefix
    BRAINFLEET_TOPIC_PREFIX=$1 "$BUILD/fleetctl/fleetctl" topics ensure --manifest "$REPO/schemas/topics.tsv" \
        >"$WORK/topics-$1.log" 2>&1 || { cat "$WORK/topics-$1.log" >&2; exit 1; }
}

# start_replica STAGE PREFIX GROUP INDEX -> pid in PIDS, metrics port in $WORK/<group>-<i>.port
start_replica() {
    local stage=$1 prefix=$2 group=$3 i=$4 logf="$WORK/$3-$4.log"
    env "${EXTRA_ENV[@]}" BRAINFLEET_TOPIC_PREFIX="$prefix" BRAINFLEET_GROUP_ID="$group" BRAINFLEET_HTTP_PORT=0 \
        BRAINFLEET_HTTP_BIND=127.0.0.1 BRAINFLEET_LOG_LEVEL=info BRAINFLEET_KAFKA_STATS_INTERVAL=1s \
        BRAINFLEET_KAFKA_CLIENT_ID="$group-$i" \
        "$BUILD/$stage/$stage" 2>"$logf" &
    PIDS+=($!)
    local k port=""
    for ((k = 0; k < 100; k++)); do
        # The log may not exist yet: the background job opens it (set -e and pipefail would end
        # the script on sed's "No such file", as one CI run did).
        port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$logf" 2>/dev/null | head -n1 || true)
        [[ -n $port ]] && break
        sleep 0.05
    done
    [[ -n $port ]] || { cat "$logf" >&2; echo "replica $group-$i did not start" >&2; exit 1; }
    echo "$port" >"$WORK/$group-$i.port"
}

# http_get PORT PATH: the body from 127.0.0.1 (bash /dev/tcp: curl is not a dependency)
http_get() {
    local body
    # shellcheck disable=SC2016 # expanded by the inner bash
    body=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
        cat <&3' _ "$1" "$2" 2>/dev/null) || return 0
    printf '%s\n' "${body#*$'\r\n\r\n'}"
}

# metric_sum GROUP METRIC_REGEX: sums the samples of all replicas of the group
metric_sum() {
    local f total=0 v
    for f in "$WORK/$1"-*.port; do
        v=$(http_get "$(<"$f")" /metrics \
            | awk -v re="$2" '$1 ~ re {s += $2} END {printf "%d", s}')
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

stop_group() { # group: SIGTERM every replica of the group, wait for all
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}

psqlq() { psql "$BRAINFLEET_PG_DSN" -XAtq -v ON_ERROR_STOP=1 "$@"; }

# A private database per run: the stack's database is shared with tests that drop and re-create
# the schema (test_migrate), which would make this run's writes fail for reasons of theirs.
# libpq keeps the last of repeated keywords, so appending dbname= retargets the DSN.
private_db() {
    BENCH_DB="bench_${RUN}"
    BASE_DSN=$BRAINFLEET_PG_DSN
    psql "$BASE_DSN" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$BENCH_DB\"" >/dev/null
    export BRAINFLEET_PG_DSN="$BASE_DSN dbname=$BENCH_DB"
    "$BUILD/memory-writer/memory-writer" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; exit 1; }
}
drop_private_db() {
    [[ -n ${BENCH_DB:-} ]] || return 0
    psql "$BASE_DSN" -XAtq -c "DROP DATABASE IF EXISTS \"$BENCH_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
}

# CPU accounting, in clock ticks: the whole machine's busy time, one process's user+system time.
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
kafka_pid() { cat "${BF_STACK_DIR:-$REPO/.stack}/kafka/kafka.pid" 2>/dev/null || echo 0; }
pg_cpu() { # all postgres server processes (the stack's PostgreSQL serves only this machine's tests)
    local p t=0
    for p in $(pgrep -x postgres || true); do t=$((t + $(proc_cpu "$p"))); done
    echo "$t"
}

# ---- bench ------------------------------------------------------------------------------------
# The LLM-bound brain: fake_openai answers every decision after LLM_LATENCY_MS, and each replica
# holds at most LLM_IN_FLIGHT requests (BRAINFLEET_MAX_IN_FLIGHT), as a pod's concurrency bound
# does in production. Per replica that is at most LLM_IN_FLIGHT * 1000 / LLM_LATENCY_MS decisions/s,
# so this stage shows what replicas add when the stage waits instead of computing.
# shellcheck source=../scripts/lib/fake.sh
. "$REPO/scripts/lib/fake.sh"
start_fake_llm() {
    [[ -n $FAKE_PID ]] && return 0
    bf_start_fake "$BUILD/tests/fake_openai" "$WORK" FAKE_URL --latency-ms "$LLM_LATENCY_MS" \
        --answer tool --tool-calls '[{"name":"addScene","arguments":{"instruction":"a title","summary":"Add a title scene"}}]'
    FAKE_PID=$BF_FAKE_PID
}

bench_one() { # stage R N
    local stage=$1 r=$2 n=$3 prefix group input done_re start t0 t10="" t90="" c i label=$1
    prefix="bench.${RUN}.${stage%%-*}${r}."
    EXTRA_ENV=()
    if [[ $stage == brain-llm ]]; then
        start_fake_llm
        stage=brain-worker
        EXTRA_ENV=(BRAINFLEET_LLM_URL="$FAKE_URL" BRAINFLEET_MAX_IN_FLIGHT="$LLM_IN_FLIGHT")
    fi
    group="${prefix}${stage}"
    ensure_topics "$prefix"
    if [[ $stage == memory-writer ]]; then
        input=memoryUpdates; done_re='^bf_memory_messages_committed_total'
    else
        input=brainRequests; done_re='^bf_messages_out_total\{topic="[^"]*brainDecisions"\}'
    fi
    gen "$input" "${RUN}${stage%%-*}${r}" "$n" 240 >"$WORK/in.tsv"
    produce "${prefix}${input}" "$WORK/in.tsv"
    local busy0 kafka0 pg0 kpid
    kpid=$(kafka_pid)
    busy0=$(machine_busy); kafka0=$(proc_cpu "$kpid"); pg0=$(pg_cpu)
    start=$(now)
    for ((i = 0; i < r; i++)); do start_replica "$stage" "$prefix" "$group" "$i"; done
    while :; do
        c=$(metric_sum "$group" "$done_re")
        t0=$(now)
        [[ -z $t10 ]] && ((c >= n / 10)) && t10=$t0
        [[ -z $t90 ]] && ((c >= n * 9 / 10)) && t90=$t0
        ((c >= n)) && break
        if (($(python3 -c "print(int($t0 - $start > 600))"))); then
            echo "timeout: $stage x$r processed $c of $n" >&2; exit 1
        fi
        sleep 0.2
    done
    local rebal wcpu=0 p busy kafka pg
    busy=$(( $(machine_busy) - busy0 )); kafka=$(( $(proc_cpu "$kpid") - kafka0 )); pg=$(( $(pg_cpu) - pg0 ))
    for p in "${PIDS[@]}"; do wcpu=$((wcpu + $(proc_cpu "$p"))); done
    sleep 2  # the last joiners' assignments: every replica must have been in the group
    rebal=$(metric_sum "$group" '^bf_rebalances_total')
    stop_group
    python3 - "$label" "$r" "$n" "$start" "$t0" "$t10" "$t90" "$rebal" "$wcpu" "$kafka" "$pg" "$busy" "$(getconf CLK_TCK)" "$(nproc)" <<'PY'
import sys
a = sys.argv[1:]
stage, r, n = a[0], int(a[1]), int(a[2])
start, end, t10, t90 = map(float, a[3:7])
rebal, wcpu, kafka, pg, busy, hz, ncpu = map(int, a[7:14])
wall = end - start
steady = (0.8 * n) / (t90 - t10) if t90 > t10 else float("nan")
print(f"{stage:14s} {r:8d} {n:9d} {wall:8.2f} {n / wall:9.0f} {steady:9.0f} {rebal:6d}"
      f" {wcpu / hz:8.1f} {kafka / hz:8.1f} {pg / hz:8.1f} {100 * busy / hz / wall / ncpu:7.0f}%")
PY
}

cmd_bench() {
    local stages r
    case $STAGE in all) stages="memory-writer brain-worker brain-llm" ;; *) stages=$STAGE ;; esac
    echo "# scaling bench, run $RUN, $(nproc) CPUs, broker $BRAINFLEET_KAFKA_BROKERS; 6 partitions per input topic"
    echo "# msgs/s: whole run (group join included); steady: between 10% and 90% done;"
    echo "# rebal: assignment/revocation events summed over replicas; CPU seconds of the workers,"
    echo "# the broker JVM and PostgreSQL during the run; busy: the whole machine's CPU use"
    printf '%-14s %8s %9s %8s %9s %9s %6s %8s %8s %8s %8s\n' stage replicas messages seconds "msgs/s" steady rebal "wrk cpu" "kafka" "pg" busy
    for s in $stages; do
        local n=$N
        if [[ -z $n && -n $SMALL ]]; then
            case $s in memory-writer) n=10000 ;; brain-worker) n=5000 ;; *) n=2000 ;; esac
        elif [[ -z $n ]]; then
            case $s in memory-writer) n=200000 ;; brain-worker) n=40000 ;; *) n=8000 ;; esac
        fi
        for r in $REPLICAS; do bench_one "$s" "$r" "$n"; done
    done
}

# ---- scale-test -------------------------------------------------------------------------------
cmd_scale_test() {
    local n=${N:-12000} projects=60 chunks=24 prefix group i c fail=0
    prefix="scaletest.${RUN}."
    group="${prefix}memory-writer"
    ensure_topics "$prefix"
    gen memoryUpdates "${RUN}" "$n" "$projects" >"$WORK/all.tsv"
    cut -f2 "$WORK/all.tsv" | python3 -c 'import json,sys; [print(json.loads(l)["event_id"]) for l in sys.stdin]' >"$WORK/events.txt"
    split -n "l/$chunks" -d "$WORK/all.tsv" "$WORK/chunk."
    log "run $RUN: $n memoryUpdates for $projects projects in $chunks chunks over ~12 s; replicas 1 -> 2 -> 4 -> 3"
    local chunk_files=("$WORK"/chunk.*) k=0
    start_replica memory-writer "$prefix" "$group" 0
    for f in "${chunk_files[@]}"; do
        produce "${prefix}memoryUpdates" "$f"
        k=$((k + 1))
        if ((k == 8)); then log "scaling to 2 replicas"; start_replica memory-writer "$prefix" "$group" 1; fi
        if ((k == 16)); then
            log "scaling to 4 replicas"
            start_replica memory-writer "$prefix" "$group" 2
            start_replica memory-writer "$prefix" "$group" 3
        fi
        if ((k == 21)); then
            # Scale-down as a pod eviction does it: SIGTERM, drain, commit, leave the group.
            log "scaling down to 3 replicas (SIGTERM to replica 3 while messages flow)"
            kill -TERM "${PIDS[3]}"
            wait "${PIDS[3]}" || { log "FAIL: replica 3 exited with status $? on SIGTERM"; fail=1; }
            rm -f "$WORK/$group-3.port"
        fi
        sleep 0.5
    done
    log "all produced; waiting for the group to drain"
    local deadline=$((SECONDS + 180)) rows
    while :; do
        rows=$(psqlq -c "SELECT count(*) FROM messages WHERE project_id LIKE '${RUN}-%'")
        ((rows >= n)) && break
        ((SECONDS < deadline)) || { log "timeout: $rows of $n messages persisted"; fail=1; break; }
        sleep 0.5
    done
    sleep 3  # let offsets commit and the gauges refresh before reading them
    # balance: every live replica ready, the 18 input partitions (imageFactsReady, memoryUpdates and
    # editorEvents, 6 each) all assigned
    local assigned=0 a ready
    for i in 0 1 2; do
        ready=$(http_get "$(<"$WORK/$group-$i.port")" /readyz)
        a=$(sed -n 's/.*ready: \([0-9]*\) partitions assigned.*/\1/p' <<<"$ready")
        log "replica $i: ${ready:-no answer}"
        [[ -n $a ]] || { log "FAIL: replica $i is not ready"; fail=1; a=0; }
        assigned=$((assigned + a))
    done
    ((assigned == 18)) || { log "FAIL: $assigned of 18 input partitions assigned after the rebalances"; fail=1; }
    local rebal dup dead consumed
    rebal=$(metric_sum "$group" '^bf_rebalances_total')
    dup=$(metric_sum "$group" '^bf_memory_duplicates_total')
    dead=$(metric_sum "$group" '^bf_messages_failed_total')
    consumed=$(metric_sum "$group" '^bf_messages_in_total')
    log "consumed by the live replicas $consumed (the stopped one is not counted; redeliveries would be), ledger duplicates $dup, rebalance events $rebal, dead letters $dead"
    ((dead == 0)) || { log "FAIL: $dead messages dead-lettered"; fail=1; }
    ((rebal >= 4)) || { log "FAIL: only $rebal rebalance events: the replicas did not join one group"; fail=1; }
    # exactly-once effects in PostgreSQL
    local per=$((n / projects)) bad msgs ledger
    bad=$(psqlq -c "SELECT count(*) FROM project_memory WHERE project_id LIKE '${RUN}-%' AND key = 'bench_mood' AND evidence_count <> $per")
    local nproj
    nproj=$(psqlq -c "SELECT count(*) FROM project_memory WHERE project_id LIKE '${RUN}-%' AND key = 'bench_mood'")
    msgs=$(psqlq -c "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE project_id LIKE '${RUN}-%'")
    ledger=$(psqlq <<SQL
CREATE TEMP TABLE bench_events (event_id uuid PRIMARY KEY);
\copy bench_events FROM '$WORK/events.txt'
SELECT count(*) FROM processed_events p JOIN bench_events b USING (event_id);
SQL
)
    log "projects with the preference: $nproj of $projects; with evidence_count <> $per: $bad; messages rows (total|distinct): $msgs; ledger rows: $ledger of $n"
    ((nproj == projects)) || { log "FAIL: $nproj of $projects projects have the preference row"; fail=1; }
    ((bad == 0)) || { log "FAIL: $bad projects saw a lost or doubled update"; fail=1; }
    [[ $msgs == "$n|$n" ]] || { log "FAIL: messages rows $msgs, want $n|$n"; fail=1; }
    ((ledger == n)) || { log "FAIL: $ledger ledger rows for $n events"; fail=1; }
    stop_group
    if ((fail)); then log "scale-test FAILED"; KEEP_WORK=1; log "logs kept in $WORK"; exit 1; fi
    log "scale-test passed: 1 -> 2 -> 4 -> 3 replicas, $n messages, each applied exactly once"
}

private_db
case $MODE in
    bench) cmd_bench ;;
    scale-test) cmd_scale_test ;;
    *) echo "usage: $0 bench|scale-test" >&2; exit 2 ;;
esac
