#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds out of
# tree twice (a normal build and an AddressSanitizer + UBSan build) and runs
# every ctest in each, then builds the libFuzzer targets with clang and runs
# each for LT_FUZZ_SECONDS (default 60). Exits non-zero on the first failure.
#
#   ./deploy/test.sh              everything
#   LT_FUZZ_SECONDS=10 ./deploy/test.sh
#   LT_TEST_ONLY=release ./deploy/test.sh     one of: release sanitize fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
"$top/deploy/deps.sh"

jobs=$(nproc 2>/dev/null || echo 2)
only=${LT_TEST_ONLY:-}
export LT_FUZZ_SECONDS=${LT_FUZZ_SECONDS:-60}

# Every ctest summary line goes here too, for the total at the end.
summary=$(mktemp /tmp/lthub-test-summary-XXXXXX)
trap 'rm -f "$summary"' EXIT

run_suite() {   # name build-type extra-cmake-args...
  local name=$1 type=$2; shift 2
  local dir="$top/build/$name"
  echo "== lthub: $name build ($type) in $dir"
  cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DLT_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  # Class self-tests in parallel; the process-level tests one at a time, so
  # their timing never depends on what else the two cores are doing.
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 900 -L selftest) | tee -a "$summary"
  (cd "$dir" && ctest --output-on-failure --timeout 900 -LE 'selftest|fuzz') | tee -a "$summary"
}

if [ -z "$only" ] || [ "$only" = release ]; then
  run_suite release RelWithDebInfo
fi
if [ -z "$only" ] || [ "$only" = sanitize ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite sanitize Sanitize
fi
if [ -z "$only" ] || [ "$only" = fuzz ]; then
  dir="$top/build/fuzz"
  echo "== lthub: fuzz targets, ${LT_FUZZ_SECONDS}s each, in $dir"
  cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DLT_FUZZ=ON -DLT_WERROR=ON >/dev/null
  cmake --build "$dir" -j"$jobs"
  # Each target runs for a fixed time on one core, so two at once do the same
  # work in half the wall time.
  (cd "$dir" && ctest --output-on-failure -j"$jobs" -L fuzz --timeout $((LT_FUZZ_SECONDS * 3 + 120))) |
    tee -a "$summary"
  # What each target did: executions, speed, coverage, peak memory.
  log="$dir/Testing/Temporary/LastTest.log"
  grep -E '^[0-9]+/[0-9]+ Test: |stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
    "$log" | sed -e 's/^[0-9]*\/[0-9]* Test: /  /' -e 's/^stat::/      /' || true
fi
echo "== lthub: all test suites passed"
# The total over every suite, in the plain form CI reads.
awk '/tests passed, [0-9]+ tests failed out of/ {
       failed += $4; total += $NF }
     END { printf "lthub: %d passed, %d failed\n", total - failed, failed }' "$summary"
