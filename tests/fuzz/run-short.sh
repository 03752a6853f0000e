#!/usr/bin/env bash
# The fuzz targets as a ctest unit test (unit/fuzz_short): builds them with clang into
# $BF_BUILD_DIR/fuzz (or $1/fuzz) and runs each for a few seconds over its committed corpus, so a
# regression input in tests/fuzz/corpus fails the test and a shallow new crash is likely caught.
# Exit 77 (ctest SKIP) only when clang is missing. Longer runs: scripts/fuzz.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
build=${1:-${BF_BUILD_DIR:-$here/../../build/asan}}
exec "$here/../../scripts/fuzz" -t "${BF_FUZZ_SHORT_SECONDS:-5}" -b "$build/fuzz" --quiet
