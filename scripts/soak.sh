#!/usr/bin/env bash
# Load and soak (bounded): CONNECTIONS concurrent connections for SECONDS seconds in
# all, across chat, stream and static routes, in four equal rounds. Fails on any
# failure but 429s, when open fds or live tasks do not come back to their start
# level, or when memory has no plateau.
#
# The leak check, and why: fds and live tokio tasks are exact counts of live
# objects, so they must return to where they started. RSS is not such a count:
# glibc keeps freed pages for reuse, so RSS jumps to a high-water mark and can stay
# there or creep a little (a "round 2 within 1.125 x round 1 + 4 MiB" check once
# failed one clean run in four on that alone). A leak instead grows with the work
# done, in every round. So round 1 is a warm-up, and memory fails only when RSS
# after each later round is above the round before by more than 2 % + 2 MiB *and*
# the last is above the warm-up's by more than 10 % + 16 MiB. A high-water mark or a
# one-off jump passes; a leak of a few hundred bytes a request fails. (The
# allocator's own statistics, mallinfo2, would need unsafe code in the server; the
# crate forbids it.)
#
# Usage: scripts/soak.sh [connections] [seconds] [--release]
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
