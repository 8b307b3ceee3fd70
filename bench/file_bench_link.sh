#!/usr/bin/env bash
# Runs file_bench where the link, not the CPU, is the limit: inside a network namespace of
# its own whose loopback is shaped to RATE (tbf), so that nc and confab both cross a link
# like a LAN's. Needs root (ip netns, tc). The namespace is deleted on the way out.
#
#   bench/file_bench_link.sh [RATE] [file_bench flags...]     RATE defaults to 1gbit
#
# Every peer, nc and the harness share the one shaped loopback, so 1 -> 5 shares RATE as a
# sender's uplink would, and the chat probes queue behind file bytes (up to the shaper's
# 20 ms): read the throughput ratios here, and chat latency from the unshaped run.
set -euo pipefail

rate=1gbit
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then rate=$1; shift; fi
here=$(cd "$(dirname "$0")/.." && pwd)
bench=${FILE_BENCH:-$here/build/bench/file_bench}
[ -x "$bench" ] || { echo "file_bench not built: cmake --build build --target file_bench confab" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (ip netns add, tc)" >&2; exit 1; }

ns=confab-bench-$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT INT TERM
ip netns exec "$ns" ip link set lo up
# A burst of 512 KB lets 64 KB loopback segments through; 20 ms bounds the queue.
ip netns exec "$ns" tc qdisc add dev lo root tbf rate "$rate" burst 512kb latency 20ms
echo "loopback shaped to $rate in network namespace $ns"
ip netns exec "$ns" "$bench" "$@"
