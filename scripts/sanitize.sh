#!/usr/bin/env bash
# Builds with AddressSanitizer and UndefinedBehaviorSanitizer (or the sanitizers given as the
# first argument, e.g. "thread") in build-SANITIZERS/ and runs the whole test suite with them:
# the integration tests then run the sanitized confab too.
set -euo pipefail
cd "$(dirname "$0")/.."
# Arguments after the first go to ctest (e.g. -LE faults).
sanitizers="${1:-address,undefined}"
shift || true
dir="build-${sanitizers//,/-}"
bash scripts/setup.sh
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCONFAB_SANITIZE="$sanitizers" \
      -DCONFAB_BENCH=OFF >/dev/null
cmake --build "$dir"
cd "$dir"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j "$(nproc)" "$@"
