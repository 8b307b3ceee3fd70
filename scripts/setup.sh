#!/usr/bin/env bash
# Installs what confab needs to build and test on Debian 12, and nothing that is already there.
# With --fuzz, also clang 14 and libFuzzer for scripts/fuzz.sh (the normal build and CI never
# need clang).
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config libasio-dev nlohmann-json3-dev libncurses-dev
          catch2 libssl-dev libsodium-dev tmux netcat-openbsd iproute2 nftables ngircd
          gnuplot-nox)
# tmux drives the terminal UI in tests; netcat-openbsd is the baseline file_bench compares with;
# iproute2 and nftables build the network namespaces and the cable cut of the fault tests;
# ngircd is the IRC server bench/run compares with (it starts its own, never the system's) and
# gnuplot-nox draws bench/run's PNGs.
if [ "${1:-}" = "--fuzz" ]; then
    # -fsanitize=fuzzer links libclang_rt.fuzzer from libclang-rt-14-dev, which clang-14 only
    # recommends (and recommends are not installed below); libfuzzer-14-dev is the standalone
    # libFuzzer.a, for linking a target by hand.
    packages+=(clang-14 libclang-rt-14-dev libfuzzer-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
