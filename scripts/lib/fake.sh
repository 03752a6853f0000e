# Sourced by scripts/faults and bench/{load,soak,scaling_bench}.sh: one way to start the fake
# OpenAI-compatible server and learn where it listens.
#
# bf_start_fake BIN DIR VAR [fake_openai args...]
#   Starts BIN (tests/fake_openai) on a free port with the given arguments, its output in
#   DIR/fake-VAR.out and .err, waits up to 10 s for its "listening on URL" line, sets VAR to the
#   URL and BF_FAKE_PID to its pid (the caller owns the process and stops it). Not to be called in
#   a $(...) subshell: the pid and VAR must reach the caller. Exits 2 with the fake's stderr when it
#   never listens.
bf_start_fake() {
    local bin=$1 dir=$2 var=$3 line k
    shift 3
    "$bin" --port 0 "$@" >"$dir/fake-$var.out" 2>"$dir/fake-$var.err" &
    BF_FAKE_PID=$!
    for ((k = 0; k < 200; k++)); do
        line=$(head -n1 "$dir/fake-$var.out" 2>/dev/null || true)
        [[ $line == *listening* ]] && break
        sleep 0.05
    done
    [[ $line == *listening* ]] || { kill "$BF_FAKE_PID" 2>/dev/null; cat "$dir/fake-$var.err" >&2; exit 2; }
    printf -v "$var" '%s' "${line##* }"
}
