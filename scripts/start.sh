#!/usr/bin/env bash
# Sets up, builds and starts a peer; arguments go to confab (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target confab >&2
exec build/client/confab "$@"
