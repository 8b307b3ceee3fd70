#!/usr/bin/env bash
# Installs what confab needs to build and test on Debian 12, and nothing that is already there.
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config libasio-dev nlohmann-json3-dev libncurses-dev
          catch2 libssl-dev tmux netcat-openbsd)
# tmux drives the terminal UI in tests; netcat-openbsd is the baseline file_bench compares with.

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
