#!/usr/bin/env bash
# Fuzzes confab's parsers with libFuzzer: installs clang 14 and libFuzzer when missing
# (scripts/setup.sh --fuzz), builds the targets of tests/fuzz in build-fuzz/ and runs each for
# SECONDS_PER_TARGET seconds (default 60), one after the other, or only the TARGETs named
# (frame_decoder, message, ...). Each corpus grows in build-fuzz/corpus/TARGET from
# tests/fuzz/seeds/TARGET. An input that crashes a target is copied to
# tests/fuzz/regressions/TARGET/, where the normal test suite replays it from then on; the
# script then goes on with the other targets and exits 1. See tests/fuzz/README.md.
#
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2; }

bash scripts/setup.sh --fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCONFAB_FUZZ=ON >/dev/null
cmake --build build-fuzz --parallel "$(nproc)"

bin=build-fuzz/tests/fuzz
if [ $# -gt 0 ]; then
    targets=("$@")
else
    # Whatever tests/fuzz/CMakeLists.txt builds: that list is the one to extend.
    targets=()
    for exe in "$bin"/*_fuzz; do targets+=("$(basename "$exe" _fuzz)"); done
fi

# Longest input per target: room for a few frames or a large message, small enough to stay fast.
max_len() {
    case "$1" in
        frame_decoder) echo 16384 ;;
        command | file_name | invite) echo 1024 ;;
        *) echo 4096 ;;
    esac
}

failed=()
for target in "${targets[@]}"; do
    exe="$bin/${target}_fuzz"
    [ -x "$exe" ] || { echo "fuzz: no target $target in $bin" >&2; exit 2; }
    corpus="build-fuzz/corpus/$target"
    crashes="build-fuzz/crashes/$target"
    log="build-fuzz/logs/$target.log"
    mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
    rm -f "$crashes"/*
    inputs=("$corpus" "tests/fuzz/seeds/$target")
    [ -d "tests/fuzz/regressions/$target" ] && inputs+=("tests/fuzz/regressions/$target")
    dict=()
    case "$target" in
        message | strict_json | file_offer | file_service | envelope_signature)
            dict=(-dict=tests/fuzz/json.dict) ;;
    esac

    echo "fuzz: $target for ${seconds}s (log: $log)"
    status=0
    UBSAN_OPTIONS=print_stacktrace=1 "$exe" "${inputs[@]}" "${dict[@]}" \
        -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
        >"$log" 2>&1 || status=$?
    # The last status line: runs, coverage (cov: edges, ft: features), corpus, exec/s.
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    echo "fuzz: $target: ${last:-stopped while loading its corpus}"

    if [ "$status" -ne 0 ]; then
        mkdir -p "tests/fuzz/regressions/$target"
        saved=()
        for input in "$crashes"/*; do
            [ -f "$input" ] || continue
            cp "$input" "tests/fuzz/regressions/$target/"
            saved+=("tests/fuzz/regressions/$target/$(basename "$input")")
        done
        grep -E 'ERROR|invariant broken|SUMMARY' "$log" | head -n 5 >&2 || true
        echo "fuzz: $target FAILED (exit $status); input saved as ${saved[*]:-(none: see $log)}" >&2
        echo "fuzz: reproduce with $exe ${saved[0]:-FILE}" >&2
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]}: fix them, and commit their inputs in tests/fuzz/regressions/" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
