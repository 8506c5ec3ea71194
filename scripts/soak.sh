#!/usr/bin/env bash
# Load and soak (bounded): CONNECTIONS concurrent connections for SECONDS seconds
# across chat, stream and static routes; fails on any failure but 429s, or when
# RSS, open fds or live tasks do not come back. Usage: scripts/soak.sh [connections] [seconds] [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
connections="${1:-1000}"
seconds="${2:-60}"
profile="debug"
flag=()
if [ "${3:-}" = "--release" ]; then profile="release"; flag=(--release); fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build -q --locked "${flag[@]}" --bin weld-assistant --example soak
"target/$profile/examples/soak" "target/$profile/weld-assistant" "$connections" "$seconds"
