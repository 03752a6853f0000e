#!/usr/bin/env bash
# Secrets given to the workers never appear in what they print. Each worker runs with recognisable
# values in every secret setting (BRAINFLEET_LLM_API_KEY, BRAINFLEET_VISION_API_KEY, the password
# in BRAINFLEET_PG_DSN, BRAINFLEET_KAFKA_SASL_PASSWORD), debug logging and librdkafka's own debug
# output on, against a broker and a database that refuse connections (so the error paths that
# print addresses and DSN-derived messages run too), and the test fails if any secret shows up in:
#   --help; a configuration error; `memory-writer migrate`; a few seconds of running and shutting down.
# It also fails if a run printed nothing (a vacuous pass). Needs only the built binaries.
# Usage: secrets_not_logged.sh BUILD_DIR        (ctest: unit/secrets_not_logged)
set -uo pipefail

BUILD=${1:-${BF_BUILD_DIR:-}}
[[ -n $BUILD ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

S_LLM=bfSecretLlmKey7f3a91
S_VISION=bfSecretVisionKey91c4
S_PG=bfSecretPgPass42d0e
S_SASL=bfSecretSaslPass5e8b
SECRETS=("$S_LLM" "$S_VISION" "$S_PG" "$S_SASL")

# Port 9 (discard) on loopback: nothing listens, connections are refused at once.
ENVS=(
    BRAINFLEET_KAFKA_BROKERS=127.0.0.1:9
    BRAINFLEET_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT
    BRAINFLEET_KAFKA_SASL_MECHANISMS=PLAIN
    BRAINFLEET_KAFKA_SASL_USERNAME=bf-user
    "BRAINFLEET_KAFKA_SASL_PASSWORD=$S_SASL"
    BRAINFLEET_KAFKA_DEBUG=all
    "BRAINFLEET_PG_DSN=host=127.0.0.1 port=9 dbname=brainfleet user=bf password=$S_PG connect_timeout=2"
    BRAINFLEET_LLM_URL=http://127.0.0.1:9/v1
    "BRAINFLEET_LLM_API_KEY=$S_LLM"
    BRAINFLEET_VISION_URL=http://127.0.0.1:9/v1
    BRAINFLEET_VISION_MODEL=vision-test-model
    BRAINFLEET_LLM_MODEL=llm-test-model
    "BRAINFLEET_VISION_API_KEY=$S_VISION"
    BRAINFLEET_LOG_LEVEL=debug
    BRAINFLEET_HTTP_PORT=0
    BRAINFLEET_TOPIC_PREFIX=secrets-test-
)

failures=0
runs=0

check() { # name file
    local name=$1 file=$2
    runs=$((runs + 1))
    if [[ ! -s $file ]]; then
        echo "FAIL $name: printed nothing, so the check proves nothing" >&2
        failures=$((failures + 1))
        return
    fi
    local s hit=0
    for s in "${SECRETS[@]}"; do
        if grep -aqF -- "$s" "$file"; then
            echo "FAIL $name: secret $s appears in its output:" >&2
            grep -anF -- "$s" "$file" | head -5 | cut -c1-400 >&2
            hit=1
        fi
    done
    if ((hit)); then failures=$((failures + 1)); else echo "ok   $name ($(wc -l <"$file") lines, $(wc -c <"$file") bytes)"; fi
}

run_for_a_while() { # name bin [args...]: start, wait for the runtime's start line (or exit), let it
    # retry its connections for a few seconds with debug logging, then SIGTERM.
    local name=$1
    shift
    local log=$OUT/$name.log
    env "${ENVS[@]}" "$@" >"$log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 150; i++)); do # up to 30 s for the start line under ASan
        grep -q 'http port' "$log" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    sleep 4
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if ! grep -q 'http port' "$log"; then
        echo "FAIL $name: never reached the runtime's start line (\"http port\"), so its running paths were not checked:" >&2
        tail -5 "$log" | cut -c1-300 >&2
        failures=$((failures + 1))
    fi
    check "$name: running with debug logs" "$log"
}

found=0
for w in memory-writer brain-worker image-worker; do
    bin=$BUILD/$w/$w
    if [[ ! -x $bin ]]; then
        echo "FAIL: $bin is not built" >&2
        failures=$((failures + 1))
        continue
    fi
    found=$((found + 1))
    env "${ENVS[@]}" "$bin" --help >"$OUT/$w-help.log" 2>&1
    check "$w --help" "$OUT/$w-help.log"
    env "${ENVS[@]}" BRAINFLEET_HTTP_PORT=not-a-port "$bin" >"$OUT/$w-cfgerr.log" 2>&1
    check "$w: configuration error" "$OUT/$w-cfgerr.log"
    if [[ $w == memory-writer ]]; then
        env "${ENVS[@]}" "$bin" migrate >"$OUT/$w-migrate.log" 2>&1
        check "$w migrate (database refuses)" "$OUT/$w-migrate.log"
    fi
    run_for_a_while "$w" "$bin"
done

echo "secrets_not_logged: $runs outputs of $found workers checked, $failures failure(s)"
((failures == 0))
