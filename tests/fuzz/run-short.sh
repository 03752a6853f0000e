#!/usr/bin/env bash
# The fuzz targets as a ctest unit test (unit/fuzz_short): builds them with clang into
# $BF_BUILD_DIR/fuzz (or $1/fuzz) and runs each for a few seconds over its committed corpus, so a
# regression input in tests/fuzz/corpus fails the test and a shallow new crash is likely caught.
# The run is repeatable (fixed seed and run count, fresh work corpus), so CI does not turn red by
# luck; new discoveries are for scripts/fuzz's long runs, and each becomes a corpus file.
# Exit 77 (ctest SKIP) only when clang is missing. Longer runs: scripts/fuzz.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
build=${1:-${BF_BUILD_DIR:-$here/../../build/asan}}
export BF_FUZZ_SEED=${BF_FUZZ_SEED:-1} BF_FUZZ_RUNS=${BF_FUZZ_RUNS:-20000}
exec "$here/../../scripts/fuzz" -t "${BF_FUZZ_SHORT_SECONDS:-30}" -b "$build/fuzz" --quiet
